//! Events get themes, as projects and calls have (empty for the events there are: they go
//! on sharing their pole's themes in the directory), and each pole remembers the digest of
//! the last `Group` document it published, so that an `Update` goes out only when that
//! document changed.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Events {
    Table,
    Themes,
}

#[derive(DeriveIden, Clone, Copy)]
enum Poles {
    Table,
    PublishedDigest,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .add_column(
                        ColumnDef::new(Events::Themes)
                            .json()
                            .not_null()
                            .default("[]"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Poles::Table)
                    .add_column(ColumnDef::new(Poles::PublishedDigest).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Poles::Table)
                    .drop_column(Poles::PublishedDigest)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .drop_column(Events::Themes)
                    .to_owned(),
            )
            .await
    }
}
