//! An outgoing activity is stored once, and its deliveries refer to it.
//!
//! Until now each delivery held its own copy of the activity: a fan-out to a thousand
//! instances wrote the same document a thousand times. `outgoing_activities` holds the
//! document as it is sent (the exact bytes, whose digest is signed) with the actor that
//! signs it; `deliveries` keeps, per inbox, only the state of the sending. Existing rows are
//! moved over: one activity per distinct `activity_id`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema as col;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutgoingActivities {
    Table,
    Id,
    ActivityId,
    Signer,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    Activity,
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

/// The table the rows are copied into before it takes the old one's name.
#[derive(DeriveIden)]
enum DeliveriesNext {
    Table,
}

/// The columns both shapes of `deliveries` share, in the order they are copied.
const SHARED: &str = "inbox, domain, state, attempts, next_attempt_at, claimed_by, \
                      claimed_until, last_error, created_at, updated_at";

/// The state columns of a delivery, after its identity columns.
fn state_columns(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(col::text(Deliveries::Inbox))
        .col(col::text(Deliveries::Domain))
        .col(col::text(Deliveries::State))
        .col(col::integer(Deliveries::Attempts))
        .col(col::timestamp_with_time_zone(Deliveries::NextAttemptAt))
        .col(col::text_null(Deliveries::ClaimedBy))
        .col(col::timestamp_with_time_zone_null(Deliveries::ClaimedUntil))
        .col(col::text_null(Deliveries::LastError))
        .col(col::timestamp_with_time_zone(Deliveries::CreatedAt))
        .col(col::timestamp_with_time_zone(Deliveries::UpdatedAt))
}

/// Replaces `deliveries` by the table just filled under the name `deliveries_next`, with
/// the queue's indexes; `identity` names the columns the unique index is over.
async fn swap_in(manager: &SchemaManager<'_>, identity: Deliveries) -> Result<(), DbErr> {
    let db = manager.get_connection();
    manager
        .drop_table(Table::drop().table(Deliveries::Table).to_owned())
        .await?;
    manager
        .rename_table(
            Table::rename()
                .table(DeliveriesNext::Table, Deliveries::Table)
                .to_owned(),
        )
        .await?;
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('deliveries', 'id'), \
             GREATEST((SELECT MAX(id) FROM deliveries), 1))",
        )
        .await?;
    }
    manager
        .create_index(
            Index::create()
                .name("uq_deliveries_activity_inbox")
                .table(Deliveries::Table)
                .col(identity)
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
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        manager
            .create_table(
                Table::create()
                    .table(OutgoingActivities::Table)
                    .col(
                        col::big_integer(OutgoingActivities::Id)
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(col::text(OutgoingActivities::ActivityId).unique_key())
                    .col(col::text(OutgoingActivities::Signer))
                    .col(col::text(OutgoingActivities::Body))
                    .col(col::timestamp_with_time_zone(OutgoingActivities::CreatedAt))
                    .to_owned(),
            )
            .await?;
        // The first copy of each activity (they are all the same).
        let first_copies = match db.get_database_backend() {
            DbBackend::Postgres => {
                "INSERT INTO outgoing_activities (activity_id, signer, body, created_at) \
                 SELECT DISTINCT ON (activity_id) activity_id, signer, body::text, created_at \
                 FROM deliveries ORDER BY activity_id, id"
            }
            _ => {
                "INSERT INTO outgoing_activities (activity_id, signer, body, created_at) \
                 SELECT d.activity_id, d.signer, d.body, d.created_at FROM deliveries d \
                 WHERE d.id = (SELECT MIN(e.id) FROM deliveries e WHERE e.activity_id = d.activity_id)"
            }
        };
        db.execute_unprepared(first_copies).await?;

        let mut next = Table::create();
        next.table(DeliveriesNext::Table)
            .col(
                col::big_integer(Deliveries::Id)
                    .auto_increment()
                    .primary_key(),
            )
            .col(col::big_integer(Deliveries::Activity))
            .foreign_key(
                ForeignKey::create()
                    .from(DeliveriesNext::Table, Deliveries::Activity)
                    .to(OutgoingActivities::Table, OutgoingActivities::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        manager
            .create_table(state_columns(&mut next).to_owned())
            .await?;
        db.execute_unprepared(&format!(
            "INSERT INTO deliveries_next (id, activity, {SHARED}) \
             SELECT d.id, a.id, {} FROM deliveries d \
             JOIN outgoing_activities a ON a.activity_id = d.activity_id",
            prefixed("d.")
        ))
        .await?;
        swap_in(manager, Deliveries::Activity).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let mut old = Table::create();
        old.table(DeliveriesNext::Table)
            .col(
                col::big_integer(Deliveries::Id)
                    .auto_increment()
                    .primary_key(),
            )
            .col(col::text(Deliveries::ActivityId))
            .col(col::text(Deliveries::Signer))
            .col(col::json(Deliveries::Body));
        manager
            .create_table(state_columns(&mut old).to_owned())
            .await?;
        let body = match db.get_database_backend() {
            DbBackend::Postgres => "a.body::json",
            _ => "a.body",
        };
        db.execute_unprepared(&format!(
            "INSERT INTO deliveries_next (id, activity_id, signer, body, {SHARED}) \
             SELECT d.id, a.activity_id, a.signer, {body}, {} FROM deliveries d \
             JOIN outgoing_activities a ON a.id = d.activity",
            prefixed("d.")
        ))
        .await?;
        swap_in(manager, Deliveries::ActivityId).await?;
        manager
            .drop_table(Table::drop().table(OutgoingActivities::Table).to_owned())
            .await
    }
}

/// [`SHARED`] with each column prefixed by a table alias.
fn prefixed(alias: &str) -> String {
    SHARED
        .split(", ")
        .map(|c| format!("{alias}{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}
