//! The directory index keeps what the feeds sort and filter on.
//!
//! `updated_at` orders the news feeds (most recently changed first). The rows are filled
//! by the application, which rebuilds the index when its version changes (see
//! `m20261123_000005_directory`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "ALTER TABLE directory ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX idx_directory_updated ON directory (updated_at)",
    "UPDATE directory_state SET version = 0 WHERE id = 1",
];

const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE directory ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0",
    "CREATE INDEX idx_directory_updated ON directory (updated_at)",
    "UPDATE directory_state SET version = 0 WHERE id = 1",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS idx_directory_updated",
    "ALTER TABLE directory DROP COLUMN updated_at",
    "UPDATE directory_state SET version = 0 WHERE id = 1",
];

const POSTGRES_DOWN: &[&str] = SQLITE_DOWN;

per_backend_migration!(up: SQLITE_UP, POSTGRES_UP; down: SQLITE_DOWN, POSTGRES_DOWN);
