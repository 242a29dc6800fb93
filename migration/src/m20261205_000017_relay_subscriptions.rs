//! Subscriptions to relays: a follow the instance sent the way Mastodon subscribes to a
//! relay (a `Follow` of the public collection), which its `Undo` must name the same way
//! and whose relay receives the instance's public activities.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &[&str] = &["ALTER TABLE following ADD COLUMN relay BOOLEAN NOT NULL DEFAULT FALSE"];

const DOWN: &[&str] = &["ALTER TABLE following DROP COLUMN relay"];

per_backend_migration!(up: UP, UP; down: DOWN, DOWN);
