//! The directory index: one row per live pole, project, event and call, with its search tokens and facets.
//!
//! The long token columns come last, so that reading the short ones never walks a SQLite
//! overflow chain.
//! The tokens are French-stemmed and accent-folded by the application, so the same tokens
//! are indexed on both databases: SQLite indexes them with FTS5, PostgreSQL with a
//! `tsvector` (configuration `simple`) under a GIN index. The rows of existing data are
//! written by the application right after migrating: `directory_state.version` starts at 0,
//! which tells it that the index must be rebuilt (the tokenizer lives in the application,
//! not in the migrations).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE directory (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        item_id INTEGER NOT NULL,
        pole_id INTEGER NOT NULL REFERENCES poles(id) ON DELETE CASCADE,
        local INTEGER NOT NULL,
        title TEXT NOT NULL,
        summary TEXT,
        ap_id TEXT NOT NULL,
        public_id TEXT NOT NULL,
        published_at INTEGER NOT NULL,
        starts_at INTEGER,
        ends_at INTEGER,
        event_month TEXT,
        call_status TEXT,
        deadline TEXT,
        title_tokens TEXT NOT NULL,
        tokens TEXT NOT NULL,
        UNIQUE (kind, item_id)
    )",
    "CREATE INDEX idx_directory_pole ON directory (pole_id)",
    "CREATE INDEX idx_directory_kind_published ON directory (kind, published_at)",
    "CREATE INDEX idx_directory_kind_ends ON directory (kind, ends_at)",
    "CREATE INDEX idx_directory_kind_deadline ON directory (kind, call_status, deadline)",
    "CREATE TABLE directory_facets (
        entry_id INTEGER NOT NULL REFERENCES directory(id) ON DELETE CASCADE,
        pole_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        facet TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (entry_id, facet, value)
    ) WITHOUT ROWID",
    "CREATE INDEX idx_directory_facets_value ON directory_facets (facet, value, kind, entry_id)",
    "CREATE INDEX idx_directory_facets_pole ON directory_facets (facet, value, pole_id)",
    "CREATE VIRTUAL TABLE directory_fts USING fts5(
        tokens, content='directory', content_rowid='id', detail='none', tokenize='unicode61'
    )",
    "CREATE TRIGGER directory_fts_insert AFTER INSERT ON directory BEGIN
        INSERT INTO directory_fts (rowid, tokens) VALUES (new.id, new.tokens);
    END",
    "CREATE TRIGGER directory_fts_delete AFTER DELETE ON directory BEGIN
        INSERT INTO directory_fts (directory_fts, rowid, tokens) VALUES ('delete', old.id, old.tokens);
    END",
    "CREATE TRIGGER directory_fts_update AFTER UPDATE ON directory BEGIN
        INSERT INTO directory_fts (directory_fts, rowid, tokens) VALUES ('delete', old.id, old.tokens);
        INSERT INTO directory_fts (rowid, tokens) VALUES (new.id, new.tokens);
    END",
    "CREATE TABLE directory_state (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)",
    "INSERT INTO directory_state (id, version) VALUES (1, 0)",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE TABLE directory (
        id BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL,
        item_id BIGINT NOT NULL,
        pole_id BIGINT NOT NULL REFERENCES poles(id) ON DELETE CASCADE,
        local BOOLEAN NOT NULL,
        title TEXT NOT NULL,
        summary TEXT,
        ap_id TEXT NOT NULL,
        public_id TEXT NOT NULL,
        published_at BIGINT NOT NULL,
        starts_at BIGINT,
        ends_at BIGINT,
        event_month TEXT,
        call_status TEXT,
        deadline TEXT,
        title_tokens TEXT NOT NULL,
        tokens TEXT NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED,
        UNIQUE (kind, item_id)
    )",
    "CREATE INDEX idx_directory_pole ON directory (pole_id)",
    "CREATE INDEX idx_directory_kind_published ON directory (kind, published_at)",
    "CREATE INDEX idx_directory_kind_ends ON directory (kind, ends_at)",
    "CREATE INDEX idx_directory_kind_deadline ON directory (kind, call_status, deadline)",
    "CREATE INDEX idx_directory_tsv ON directory USING GIN (tsv)",
    "CREATE TABLE directory_facets (
        entry_id BIGINT NOT NULL REFERENCES directory(id) ON DELETE CASCADE,
        pole_id BIGINT NOT NULL,
        kind TEXT NOT NULL,
        facet TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (entry_id, facet, value)
    )",
    "CREATE INDEX idx_directory_facets_value ON directory_facets (facet, value, kind, entry_id)",
    "CREATE INDEX idx_directory_facets_pole ON directory_facets (facet, value, pole_id)",
    "CREATE TABLE directory_state (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)",
    "INSERT INTO directory_state (id, version) VALUES (1, 0)",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TABLE IF EXISTS directory_state",
    "DROP TRIGGER IF EXISTS directory_fts_update",
    "DROP TRIGGER IF EXISTS directory_fts_delete",
    "DROP TRIGGER IF EXISTS directory_fts_insert",
    "DROP TABLE IF EXISTS directory_fts",
    "DROP TABLE IF EXISTS directory_facets",
    "DROP TABLE IF EXISTS directory",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TABLE IF EXISTS directory_state",
    "DROP TABLE IF EXISTS directory_facets",
    "DROP TABLE IF EXISTS directory",
];

per_backend_migration!(up: SQLITE_UP, POSTGRES_UP; down: SQLITE_DOWN, POSTGRES_DOWN);
