//! The directory index in newest-first order, whatever the kind: a search with many
//! matches walks it and stops at the end of the page, instead of sorting every match.

use sea_orm_migration::prelude::*;

use crate::m20261123_000005_directory::run;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] =
    &["CREATE INDEX IF NOT EXISTS idx_directory_published ON directory (published_at, item_id)"];

const DOWN: &[&str] = &["DROP INDEX IF EXISTS idx_directory_published"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, UP, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, DOWN, DOWN).await
    }
}
