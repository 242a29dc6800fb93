//! Where a pole of another instance came from: the instance actor that announced it, if it
//! came through an instance follow, and when it was last refreshed from its origin.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Poles {
    Table,
    Via,
    RefreshedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Poles::Table)
                    .add_column(ColumnDef::new(Poles::Via).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Poles::Table)
                    .add_column(
                        ColumnDef::new(Poles::RefreshedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Poles::RefreshedAt, Poles::Via] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Poles::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
