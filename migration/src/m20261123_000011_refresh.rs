//! When a copy of another instance's project, event or call was last read from its origin,
//! so that stale copies are fetched again.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables of objects, and the new column.
#[derive(DeriveIden, Clone, Copy)]
enum Refresh {
    Projects,
    Events,
    Calls,
    RefreshedAt,
}

const TABLES: [Refresh; 3] = [Refresh::Projects, Refresh::Events, Refresh::Calls];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(
                            ColumnDef::new(Refresh::RefreshedAt)
                                .timestamp_with_time_zone()
                                .null(),
                        )
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(Refresh::RefreshedAt)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
