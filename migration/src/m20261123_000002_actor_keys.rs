//! Signing keys of the ActivityPub actors: each local pole, and the instance itself.
//!
//! Keys are generated the first time an actor is needed, then kept for ever: other servers
//! cache them, and a changed key would make them refuse our signatures.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Poles {
    Table,
    PublicKey,
    PrivateKey,
}

#[derive(DeriveIden)]
enum Instance {
    Table,
    PublicKey,
    PrivateKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite accepts one change per ALTER TABLE.
        for column in [Poles::PublicKey, Poles::PrivateKey] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Poles::Table)
                        .add_column(ColumnDef::new(column).text().null())
                        .to_owned(),
                )
                .await?;
        }
        for column in [Instance::PublicKey, Instance::PrivateKey] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Instance::Table)
                        .add_column(ColumnDef::new(column).text().null())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Instance::PrivateKey, Instance::PublicKey] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Instance::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for column in [Poles::PrivateKey, Poles::PublicKey] {
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
