//! A number that changes whenever the directory index does, in the same transaction, so
//! that figures computed from the directory (its statistics take seconds at a million
//! entries) can be kept until it changes, whichever process changed it. SQLite bumps it once
//! per row written; PostgreSQL once per statement.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE directory_generation (id INTEGER PRIMARY KEY, generation INTEGER NOT NULL)",
    "INSERT INTO directory_generation (id, generation) VALUES (1, 0)",
    "CREATE TRIGGER directory_generation_insert AFTER INSERT ON directory BEGIN
        UPDATE directory_generation SET generation = generation + 1 WHERE id = 1;
    END",
    "CREATE TRIGGER directory_generation_update AFTER UPDATE ON directory BEGIN
        UPDATE directory_generation SET generation = generation + 1 WHERE id = 1;
    END",
    "CREATE TRIGGER directory_generation_delete AFTER DELETE ON directory BEGIN
        UPDATE directory_generation SET generation = generation + 1 WHERE id = 1;
    END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS directory_generation_insert",
    "DROP TRIGGER IF EXISTS directory_generation_update",
    "DROP TRIGGER IF EXISTS directory_generation_delete",
    "DROP TABLE IF EXISTS directory_generation",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE TABLE directory_generation (id INTEGER PRIMARY KEY, generation BIGINT NOT NULL)",
    "INSERT INTO directory_generation (id, generation) VALUES (1, 0)",
    "CREATE FUNCTION directory_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE directory_generation SET generation = generation + 1 WHERE id = 1;
        RETURN NULL;
    END
    $$",
    "CREATE TRIGGER directory_generation_bump
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON directory
        FOR EACH STATEMENT EXECUTE FUNCTION directory_generation_bump()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS directory_generation_bump ON directory",
    "DROP FUNCTION IF EXISTS directory_generation_bump()",
    "DROP TABLE IF EXISTS directory_generation",
];

per_backend_migration!(up: SQLITE_UP, POSTGRES_UP; down: SQLITE_DOWN, POSTGRES_DOWN);
