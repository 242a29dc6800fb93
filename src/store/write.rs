//! Writes that race other writers: each runs in one transaction that locks what it changes
//! in one order (the pole, then its object, then the directory), checks the version the
//! writer read, and is tried again when the database gives up on a conflict.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbErr, RuntimeErr, Statement};

use super::{Store, StoreError};

/// How many times a write that met a deadlock or a serialisation failure is tried.
const ATTEMPTS: u32 = 8;

/// Whether the database refused the transaction for racing another, so that trying it again
/// can succeed: PostgreSQL's serialisation failure and deadlock, SQLite's busy database
/// (after its busy timeout).
pub fn is_transient(e: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(e))
    | DbErr::Query(RuntimeErr::SqlxError(e))
    | DbErr::Conn(RuntimeErr::SqlxError(e))) = e
    else {
        return false;
    };
    let sea_orm::sqlx::Error::Database(e) = e.as_ref() else {
        return false;
    };
    matches!(
        e.code().as_deref(),
        // PostgreSQL: serialization_failure, deadlock_detected.
        Some("40001" | "40P01")
        // SQLite: SQLITE_BUSY and its extended codes.
        | Some("5" | "261" | "517" | "773")
    )
}

/// An edit's failure: the store's, or the one the caller's edit gave.
pub(crate) enum EditError<E> {
    Store(StoreError),
    Edit(E),
}

impl<E> From<StoreError> for EditError<E> {
    fn from(e: StoreError) -> Self {
        EditError::Store(e)
    }
}

impl<E> From<DbErr> for EditError<E> {
    fn from(e: DbErr) -> Self {
        EditError::Store(e.into())
    }
}

impl<E> From<crate::domain::ValidationErrors> for EditError<E> {
    fn from(e: crate::domain::ValidationErrors) -> Self {
        EditError::Store(e.into())
    }
}

impl<E: From<StoreError>> EditError<E> {
    fn into_inner(self) -> E {
        match self {
            EditError::Store(e) => e.into(),
            EditError::Edit(e) => e,
        }
    }
}

/// Refuses a write based on another version than the stored one.
pub(crate) fn check_version(
    what: impl FnOnce() -> String,
    expected: Option<i32>,
    current: i32,
) -> Result<(), StoreError> {
    match expected {
        Some(expected) if expected != current => Err(StoreError::Stale {
            what: what(),
            expected,
            current,
        }),
        _ => Ok(()),
    }
}

/// What follows an attempt of [`retrying!`]: its result, or `None` after waiting a little
/// when it met a transient conflict and may be tried again.
pub(crate) async fn settle<T, E: From<StoreError>>(
    attempt: Result<T, EditError<E>>,
    tries: &mut u32,
) -> Option<Result<T, E>> {
    match attempt {
        Ok(value) => Some(Ok(value)),
        Err(EditError::Store(StoreError::Db(e))) if is_transient(&e) && *tries + 1 < ATTEMPTS => {
            *tries += 1;
            tracing::debug!(error = %e, tries = *tries, "a write met another; trying it again");
            // Spread the writers that met, so that they do not meet again.
            let wait = rand::random_range(1..=5u64) * u64::from(*tries);
            tokio::time::sleep(Duration::from_millis(wait)).await;
            None
        }
        Err(e) => Some(Err(e.into_inner())),
    }
}

/// Runs a write (an expression giving a `Result` with [`EditError`], or with `StoreError`
/// after `store:`) until it succeeds, fails for good, or has met a transient conflict
/// [`ATTEMPTS`] times; each attempt must be a transaction of its own.
macro_rules! retrying {
    (store: $body:expr) => {
        retrying!(
            async { $body }
                .await
                .map_err($crate::store::write::EditError::Store)
        )
    };
    ($body:expr) => {{
        let mut tries = 0u32;
        loop {
            let attempt = async { $body }.await;
            if let Some(result) = $crate::store::write::settle(attempt, &mut tries).await {
                break result;
            }
        }
    }};
}

impl Store {
    /// Locks the pole's row until the transaction ends, so that writes to a pole, to its
    /// members and to what it publishes happen one after the other, each starting from what
    /// the one before wrote. SQLite needs nothing: a write transaction holds the database's
    /// only write lock from its start.
    pub(crate) async fn lock_pole(
        &self,
        db: &impl ConnectionTrait,
        pole_id: i64,
    ) -> Result<(), StoreError> {
        if self.backend == crate::config::Backend::Postgres {
            db.execute_raw(Statement::from_sql_and_values(
                sea_orm::DbBackend::Postgres,
                "SELECT id FROM poles WHERE id = $1 FOR UPDATE",
                [pole_id.into()],
            ))
            .await?;
        }
        Ok(())
    }
}
