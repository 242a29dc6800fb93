//! The directory index in newest-first order, whatever the kind: a search with many
//! matches walks it and stops at the end of the page, instead of sorting every match.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] =
    &["CREATE INDEX IF NOT EXISTS idx_directory_published ON directory (published_at, item_id)"];

const DOWN: &[&str] = &["DROP INDEX IF EXISTS idx_directory_published"];

per_backend_migration!(up: UP, UP; down: DOWN, DOWN);
