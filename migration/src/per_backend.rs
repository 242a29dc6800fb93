//! Migrations written as SQL statements per database (the directory index and what builds
//! on it), run in one transaction.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Runs the statements of the database in use.
pub(crate) async fn run(
    manager: &SchemaManager<'_>,
    sqlite: &[&str],
    postgres: &[&str],
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let statements = match db.get_database_backend() {
        DbBackend::Sqlite => sqlite,
        DbBackend::Postgres => postgres,
        other => {
            return Err(DbErr::Migration(format!(
                "the directory index supports SQLite and PostgreSQL, not {other:?}"
            )));
        }
    };
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

/// Implements `MigrationTrait` for the module's `Migration` from its statements: `up` and
/// `down`, each for SQLite then PostgreSQL.
macro_rules! per_backend_migration {
    (up: $sqlite_up:expr, $postgres_up:expr; down: $sqlite_down:expr, $postgres_down:expr $(;)?) => {
        #[async_trait::async_trait]
        impl MigrationTrait for Migration {
            fn use_transaction(&self) -> Option<bool> {
                Some(true)
            }

            async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                $crate::per_backend::run(manager, $sqlite_up, $postgres_up).await
            }

            async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
                $crate::per_backend::run(manager, $sqlite_down, $postgres_down).await
            }
        }
    };
}
