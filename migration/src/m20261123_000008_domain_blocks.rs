//! Domains blocked at run time by an administrator, on top of those of the configuration.
//! A blocked domain blocks its subdomains too.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema as col;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum DomainBlocks {
    Table,
    Id,
    Domain,
    Reason,
    CreatedAt,
    CreatedBy,
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
                    .table(DomainBlocks::Table)
                    .col(
                        col::big_integer(DomainBlocks::Id)
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(col::text(DomainBlocks::Domain).unique_key())
                    .col(col::text_null(DomainBlocks::Reason))
                    .col(col::timestamp_with_time_zone(DomainBlocks::CreatedAt))
                    .col(col::text_null(DomainBlocks::CreatedBy))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DomainBlocks::Table).to_owned())
            .await
    }
}
