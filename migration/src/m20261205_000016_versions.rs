//! Versions that are never reused: members get a version of their own, the history's
//! versions are numbered again where two writers once gave the same number, and a unique
//! index keeps every object's versions distinct from then on (an activity's id is built
//! from its object's version).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Members get a version; the history of every member (all at version 1 until now) and of
/// every object with a repeated version is numbered again, 1 to N in the order the changes
/// were written, and each such row takes the version of its last change. The statements are
/// the same on both databases.
const UP: &[&str] = &[
    "ALTER TABLE members ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
    "CREATE TEMPORARY TABLE clashing AS \
     SELECT DISTINCT object_kind, object_id FROM changes \
     GROUP BY object_kind, object_id, version HAVING COUNT(*) > 1 \
     UNION SELECT DISTINCT object_kind, object_id FROM changes WHERE object_kind = 'member'",
    "CREATE TEMPORARY TABLE renumbered AS \
     SELECT c.id, ROW_NUMBER() OVER (PARTITION BY c.object_kind, c.object_id ORDER BY c.id) AS n \
     FROM changes c JOIN clashing k ON k.object_kind = c.object_kind AND k.object_id = c.object_id",
    "UPDATE changes SET version = (SELECT r.n FROM renumbered r WHERE r.id = changes.id) \
     WHERE id IN (SELECT id FROM renumbered)",
    "UPDATE poles SET version = (SELECT MAX(c.version) FROM changes c \
     WHERE c.object_kind = 'pole' AND c.object_id = poles.id) \
     WHERE id IN (SELECT object_id FROM clashing WHERE object_kind = 'pole')",
    "UPDATE projects SET version = (SELECT MAX(c.version) FROM changes c \
     WHERE c.object_kind = 'project' AND c.object_id = projects.id) \
     WHERE id IN (SELECT object_id FROM clashing WHERE object_kind = 'project')",
    "UPDATE events SET version = (SELECT MAX(c.version) FROM changes c \
     WHERE c.object_kind = 'event' AND c.object_id = events.id) \
     WHERE id IN (SELECT object_id FROM clashing WHERE object_kind = 'event')",
    "UPDATE calls SET version = (SELECT MAX(c.version) FROM changes c \
     WHERE c.object_kind = 'call' AND c.object_id = calls.id) \
     WHERE id IN (SELECT object_id FROM clashing WHERE object_kind = 'call')",
    "UPDATE members SET version = (SELECT MAX(c.version) FROM changes c \
     WHERE c.object_kind = 'member' AND c.object_id = members.id) \
     WHERE id IN (SELECT object_id FROM clashing WHERE object_kind = 'member')",
    "DROP TABLE renumbered",
    "DROP TABLE clashing",
    "CREATE UNIQUE INDEX uq_changes_object_version ON changes (object_kind, object_id, version)",
];

const DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS uq_changes_object_version",
    "ALTER TABLE members DROP COLUMN version",
];

per_backend_migration!(up: UP, UP; down: DOWN, DOWN);
