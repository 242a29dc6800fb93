//! The directory's ranking and filter keys in an index of their own, by row id. A search
//! that starts from a facet (the events of a département, the calls of a theme) looks up
//! each match by id; with this index it reads a few dozen bytes per match instead of the
//! whole row (title, summary, tokens), and only the rows of the page asked for are read
//! from the table. On PostgreSQL the keys are included columns, for index-only scans.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE INDEX IF NOT EXISTS idx_directory_keys ON directory \
     (id, kind, published_at, item_id, starts_at, ends_at, pole_id, call_status, deadline)",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE INDEX IF NOT EXISTS idx_directory_keys ON directory (id) \
     INCLUDE (kind, published_at, item_id, starts_at, ends_at, pole_id, call_status, deadline)",
];

const DOWN: &[&str] = &["DROP INDEX IF EXISTS idx_directory_keys"];

per_backend_migration!(up: SQLITE_UP, POSTGRES_UP; down: DOWN, DOWN);
