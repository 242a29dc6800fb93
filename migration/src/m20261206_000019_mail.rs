//! E-mail: one-time links (an invitation to choose a password, a password reset, a digest's
//! unsubscribe link), of which only a hash is stored, and each person's daily digest (whether
//! they want it, the day it was last sent, claimed by one process).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE mail_tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        token_hash TEXT NOT NULL UNIQUE,
        purpose TEXT NOT NULL,
        user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL,
        expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
        used_at TIMESTAMP WITH TIME ZONE NULL
    )",
    "CREATE INDEX mail_tokens_user ON mail_tokens (user_id, purpose, created_at)",
    "ALTER TABLE users ADD COLUMN digest_opt_out BOOLEAN NOT NULL DEFAULT FALSE",
    "ALTER TABLE users ADD COLUMN digest_sent_on TEXT NULL",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE TABLE mail_tokens (
        id BIGSERIAL PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        purpose TEXT NOT NULL,
        user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL,
        expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
        used_at TIMESTAMP WITH TIME ZONE NULL
    )",
    "CREATE INDEX mail_tokens_user ON mail_tokens (user_id, purpose, created_at)",
    "ALTER TABLE users ADD COLUMN digest_opt_out BOOLEAN NOT NULL DEFAULT FALSE",
    "ALTER TABLE users ADD COLUMN digest_sent_on TEXT NULL",
];

const DOWN: &[&str] = &[
    "ALTER TABLE users DROP COLUMN digest_sent_on",
    "ALTER TABLE users DROP COLUMN digest_opt_out",
    "DROP TABLE mail_tokens",
];

per_backend_migration!(up: SQLITE_UP, POSTGRES_UP; down: DOWN, DOWN);
