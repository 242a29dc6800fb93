//! Storage: sea-orm entities and the queries the rest of Maillage uses, on SQLite or PostgreSQL.
//!
//! Every write that changes what a pole publishes runs in one transaction with a row in
//! `changes`, the history that federation publishes.

#[macro_use]
mod write;

mod accounts;
pub mod backup;
mod blocks;
mod changes;
mod convert;
pub mod entities;
mod federation;
mod keys;
mod mail;
mod objects;
mod poles;
pub mod queue;
mod records;
mod references;
mod refresh;
pub mod search;
mod sessions;
mod users;

use std::time::Duration;

use migration::MigratorTrait;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};
use serde::Serialize;
use url::Url;

use crate::config::{Backend, Config};
use crate::domain::ValidationErrors;

pub use accounts::account_key;
pub use blocks::{DomainBlockRecord, ForgottenDomain};
pub use changes::{Action, ChangeRecord};
pub use federation::{
    FollowerRecord, FollowingRecord, LocalObject, NewRemoteActor, NewReply, PendingChange,
    RemoteActor, ReplyRecord,
};
pub use keys::ActorKeys;
pub use mail::{Invited, Link, LinkPurpose, RESETS_PER_HOUR, Waiting};
pub use objects::{Kind, ObjectRecord};
pub use poles::ImageSlot;
pub use poles::{MediaRef, MemberRecord, PoleRecord};
pub use records::{DirectoryRecord, DirectoryRecords};
pub use refresh::{CopyKind, StaleCopy};
pub use search::{
    DirectoryHit, DirectoryKind, DirectoryParams, DirectoryQuery, DirectoryStatistics,
};
pub use sessions::{ADDRESS_LOCKOUT_FAILURES, LOCKOUT_FAILURES, LoginCheck, SessionRecord};
pub use users::{InstanceSettings, Role, TokenRecord, User, check_username};
pub use write::is_transient;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("invalid data: {0}")]
    Invalid(#[from] ValidationErrors),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0} has been deleted")]
    Gone(String),
    /// The writer read another version than the stored one (`If-Match`, a form's version).
    #[error(
        "{what} was changed by someone else since version {expected}: it is at version {current}"
    )]
    Stale {
        what: String,
        expected: i32,
        current: i32,
    },
    #[error("stored data cannot be read ({0}); was the database edited by hand?")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One page of a listing, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u64,
    pub per_page: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            per_page: self.per_page,
            total: self.total,
        }
    }
}

/// Creates the directory of a SQLite file, so that a fresh path works on first start.
/// The file of a SQLite `database.url`.
pub fn sqlite_file(url: &str) -> Result<std::path::PathBuf> {
    let options: sea_orm::sqlx::sqlite::SqliteConnectOptions = url
        .parse()
        .map_err(|e| StoreError::Conflict(format!("setting `database.url`: `{url}`: {e}")))?;
    Ok(options.get_filename().to_owned())
}

fn create_sqlite_dir(url: &str) -> Result<()> {
    let file = sqlite_file(url)?;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Conflict(format!(
                "cannot create the directory {} for the SQLite database {}: {e}",
                dir.display(),
                file.display()
            ))
        })?;
    }
    Ok(())
}

/// The database and the public origin the instance's identifiers are built from.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    backend: Backend,
    base_url: Url,
    domain: String,
    /// The wait before the first retry of a failed delivery.
    retry_base: chrono::Duration,
    /// How long a claimed delivery stays with its worker.
    lease: chrono::Duration,
}

impl Store {
    /// Connects with the configured pool; SQLite files are created if missing and use WAL.
    pub async fn connect(config: &Config) -> Result<Store> {
        let backend = config
            .backend()
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        let base_url = config
            .public_url()
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        let mut options = ConnectOptions::new(config.database.url.clone());
        options
            .max_connections(config.database.max_connections)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30))
            .sqlx_logging(false);
        if backend == Backend::Sqlite {
            create_sqlite_dir(&config.database.url)?;
            let busy = Duration::from_millis(config.database.busy_timeout_ms);
            let mmap = config
                .database
                .sqlite_mmap_mib
                .saturating_mul(1024 * 1024)
                .to_string();
            options.map_sqlx_sqlite_opts(move |o| {
                o.create_if_missing(true)
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(busy)
                    .foreign_keys(true)
                    .pragma("mmap_size", mmap.clone())
            });
        }
        if backend == Backend::Postgres {
            // The directory search's statements depend on their values (a commune or a
            // whole région, a rare theme or a common one): each is planned with its values.
            // A plan made once for any value read every match of a common theme to sort
            // them, where the plan for the value walks the newest entries and stops at the
            // end of the page.
            options
                .map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_custom_plan")]));
        }
        let db = Database::connect(options).await?;
        let domain = match base_url.port() {
            Some(port) => format!("{}:{port}", base_url.host_str().unwrap_or_default()),
            None => base_url.host_str().unwrap_or_default().to_owned(),
        };
        Ok(Store {
            db,
            backend,
            base_url,
            domain,
            retry_base: chrono::Duration::seconds(
                i64::try_from(config.federation.retry_base_seconds.max(1)).unwrap_or(60),
            ),
            lease: chrono::Duration::seconds(
                i64::try_from(config.federation.delivery_lease_seconds.max(1)).unwrap_or(300),
            ),
        })
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<()> {
        migration::Migrator::up(&self.db, None).await?;
        self.refresh_directory().await?;
        Ok(())
    }

    /// Number of migrations applied and pending.
    pub async fn migration_status(&self) -> Result<(usize, usize)> {
        let applied = migration::Migrator::get_applied_migrations(&self.db)
            .await?
            .len();
        let pending = migration::Migrator::get_pending_migrations(&self.db)
            .await?
            .len();
        Ok((applied, pending))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// `host` or `host:port` of the public URL: the domain part of `@slug@domain`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// An absolute URL on this instance.
    pub fn url(&self, path: &str) -> String {
        let base = self.base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    /// A transaction that writes: on SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so that it waits for other writers instead of failing when it upgrades
    /// from reading to writing after another connection wrote.
    pub(crate) async fn write_txn(&self) -> Result<sea_orm::DatabaseTransaction> {
        use sea_orm::TransactionTrait;
        Ok(self
            .db
            .begin_with_options(sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?)
    }

    pub async fn ping(&self) -> Result<()> {
        self.db
            .execute_unprepared("SELECT 1")
            .await
            .map(|_| ())
            .map_err(StoreError::from)
    }

    /// The pool's connections: open, idle, and the most it may open.
    pub fn pool_use(&self) -> (i64, i64, i64) {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        match self.backend {
            Backend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                (
                    i64::from(pool.size()),
                    count(pool.num_idle()),
                    i64::from(pool.options().get_max_connections()),
                )
            }
            Backend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (
                    i64::from(pool.size()),
                    count(pool.num_idle()),
                    i64::from(pool.options().get_max_connections()),
                )
            }
        }
    }

    pub async fn close(self) -> Result<()> {
        self.db.close().await?;
        Ok(())
    }
}
