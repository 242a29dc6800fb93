//! The outgoing delivery queue: every activity is stored, once per destination inbox,
//! before anything is sent, and each destination domain has its health recorded.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema as col;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    ActivityId,
    Inbox,
    Domain,
    Signer,
    Body,
    State,
    Attempts,
    NextAttemptAt,
    ClaimedBy,
    ClaimedUntil,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DeliveryDomains {
    Table,
    Domain,
    FailingSince,
    Unreachable,
    NextProbeAt,
    LastSuccessAt,
    LastFailureAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Deliveries::Table)
                    .col(
                        col::big_integer(Deliveries::Id)
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(col::text(Deliveries::ActivityId))
                    .col(col::text(Deliveries::Inbox))
                    .col(col::text(Deliveries::Domain))
                    .col(col::text(Deliveries::Signer))
                    .col(col::json(Deliveries::Body))
                    .col(col::text(Deliveries::State))
                    .col(col::integer(Deliveries::Attempts))
                    .col(col::timestamp_with_time_zone(Deliveries::NextAttemptAt))
                    .col(col::text_null(Deliveries::ClaimedBy))
                    .col(col::timestamp_with_time_zone_null(Deliveries::ClaimedUntil))
                    .col(col::text_null(Deliveries::LastError))
                    .col(col::timestamp_with_time_zone(Deliveries::CreatedAt))
                    .col(col::timestamp_with_time_zone(Deliveries::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_deliveries_activity_inbox")
                    .table(Deliveries::Table)
                    .col(Deliveries::ActivityId)
                    .col(Deliveries::Inbox)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_deliveries_state_next_attempt_at")
                    .table(Deliveries::Table)
                    .col(Deliveries::State)
                    .col(Deliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_deliveries_domain_state")
                    .table(Deliveries::Table)
                    .col(Deliveries::Domain)
                    .col(Deliveries::State)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DeliveryDomains::Table)
                    .col(col::text(DeliveryDomains::Domain).primary_key())
                    .col(col::timestamp_with_time_zone_null(
                        DeliveryDomains::FailingSince,
                    ))
                    .col(col::boolean(DeliveryDomains::Unreachable))
                    .col(col::timestamp_with_time_zone_null(
                        DeliveryDomains::NextProbeAt,
                    ))
                    .col(col::timestamp_with_time_zone_null(
                        DeliveryDomains::LastSuccessAt,
                    ))
                    .col(col::timestamp_with_time_zone_null(
                        DeliveryDomains::LastFailureAt,
                    ))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DeliveryDomains::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Deliveries::Table).to_owned())
            .await?;
        Ok(())
    }
}
