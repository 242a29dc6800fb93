//! Sessions of the web interface and the lock-out after repeated failed sign-ins.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::entities::{login_failures, users, web_sessions};
use super::users::user_from_model;
use super::{Result, Store};
use crate::store::User;

/// Failed sign-ins, within [`FAILURE_WINDOW`], that lock an account.
pub const LOCKOUT_FAILURES: i32 = 5;
/// Failed sign-ins from one address that lock it: higher, because people behind one
/// address (an office, a proxy) share it.
pub const ADDRESS_LOCKOUT_FAILURES: i32 = 20;

fn limit(key: &str) -> i32 {
    if key.starts_with("address:") {
        ADDRESS_LOCKOUT_FAILURES
    } else {
        LOCKOUT_FAILURES
    }
}
/// How long failures are counted together.
const FAILURE_WINDOW: Duration = Duration::minutes(15);
/// How long a lock lasts.
const LOCK_DURATION: Duration = Duration::minutes(15);

/// A signed-in session: the person and the token their forms must carry.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Whether a sign-in may be tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginCheck {
    Allowed,
    LockedUntil(DateTime<Utc>),
}

impl Store {
    /// Stores a new session under the hash of its cookie.
    pub async fn create_session(
        &self,
        id_hash: &str,
        user_id: i64,
        csrf_token: &str,
        lifetime: Duration,
    ) -> Result<()> {
        let now = Utc::now();
        web_sessions::ActiveModel {
            id_hash: Set(id_hash.to_owned()),
            user_id: Set(user_id),
            csrf_token: Set(csrf_token.to_owned()),
            created_at: Set(now),
            expires_at: Set(now + lifetime),
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// The live session with this cookie hash, for a person who is not disabled.
    pub async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>> {
        let Some(session) = web_sessions::Entity::find_by_id(id_hash.to_owned())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        if session.expires_at <= Utc::now() {
            self.delete_session(id_hash).await?;
            return Ok(None);
        }
        let Some(user) = users::Entity::find_by_id(session.user_id)
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let user = user_from_model(user)?;
        if user.disabled {
            return Ok(None);
        }
        Ok(Some(SessionRecord {
            user,
            csrf_token: session.csrf_token,
            expires_at: session.expires_at,
        }))
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        web_sessions::Entity::delete_by_id(id_hash.to_owned())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Removes expired sessions; returns how many.
    pub async fn prune_sessions(&self) -> Result<u64> {
        let done = web_sessions::Entity::delete_many()
            .filter(web_sessions::Column::ExpiresAt.lte(Utc::now()))
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected)
    }

    /// Counts a sign-in attempt against every key (an account, an address) before its
    /// password is checked, or refuses it when a key is locked.
    ///
    /// The attempt counts as a failure until [`Store::login_succeeded`] says otherwise, so
    /// that attempts made at the same moment cannot all be checked before the lock applies:
    /// each takes its turn under a lock of the rows, and the one that reaches the limit
    /// locks the key for those after it.
    pub async fn begin_login_attempt(&self, keys: &[String]) -> Result<LoginCheck> {
        let now = Utc::now();
        let mut keys = keys.to_vec();
        // One order for every attempt, so that two of them never wait for each other's rows.
        keys.sort();
        keys.dedup();
        let txn = self.write_txn().await?;
        login_failures::Entity::insert_many(keys.iter().map(|key| login_failures::ActiveModel {
            key: Set(key.clone()),
            failures: Set(0),
            first_at: Set(now),
            locked_until: Set(None),
        }))
        .on_conflict(
            OnConflict::column(login_failures::Column::Key)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        // PostgreSQL holds the rows until the end of the transaction; SQLite has taken the
        // whole database for writing already.
        let rows = login_failures::Entity::find()
            .filter(login_failures::Column::Key.is_in(keys.iter().cloned()))
            .order_by_asc(login_failures::Column::Key)
            .lock_exclusive()
            .all(&txn)
            .await?;
        let locked = rows
            .iter()
            .filter_map(|r| r.locked_until)
            .filter(|until| *until > now)
            .max();
        if let Some(until) = locked {
            txn.commit().await?;
            return Ok(LoginCheck::LockedUntil(until));
        }
        for row in rows {
            let key = row.key.clone();
            let fresh = row.first_at + FAILURE_WINDOW <= now;
            let failures = if fresh { 1 } else { row.failures + 1 };
            let mut active = row.into_active_model();
            active.failures = Set(failures);
            if fresh {
                active.first_at = Set(now);
            }
            active.locked_until = Set((failures >= limit(&key)).then_some(now + LOCK_DURATION));
            active.update(&txn).await?;
        }
        txn.commit().await?;
        Ok(LoginCheck::Allowed)
    }

    /// After the right password: the account's failures are forgotten, and the attempt no
    /// longer counts against the other keys (the address).
    pub async fn login_succeeded(&self, account_key: &str, other_keys: &[String]) -> Result<()> {
        let txn = self.write_txn().await?;
        login_failures::Entity::delete_by_id(account_key.to_owned())
            .exec(&txn)
            .await?;
        forgive(&txn, other_keys).await?;
        txn.commit().await?;
        Ok(())
    }

    /// An attempt counted but never checked (the server was too busy to check it): it does
    /// not count against any key.
    pub async fn forgive_login_attempt(&self, keys: &[String]) -> Result<()> {
        let txn = self.write_txn().await?;
        forgive(&txn, keys).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Sets a person's password hash (made with [`crate::auth::hash_password`]).
    pub async fn set_password_hash(&self, user_id: i64, hash: &str) -> Result<()> {
        let Some(user) = users::Entity::find_by_id(user_id).one(&self.db).await? else {
            return Err(super::StoreError::NotFound(format!("user {user_id}")));
        };
        let mut active = user.into_active_model();
        active.password_hash = Set(Some(hash.to_owned()));
        active.updated_at = Set(Utc::now());
        active.update(&self.db).await?;
        Ok(())
    }
}

/// Takes one attempt off each key, and lifts a lock that attempt had set.
async fn forgive(db: &impl ConnectionTrait, keys: &[String]) -> Result<()> {
    for key in keys {
        login_failures::Entity::update_many()
            .col_expr(
                login_failures::Column::Failures,
                Expr::col(login_failures::Column::Failures).sub(1),
            )
            .filter(login_failures::Column::Key.eq(key.as_str()))
            .filter(login_failures::Column::Failures.gt(0))
            .exec(db)
            .await?;
        login_failures::Entity::update_many()
            .col_expr(
                login_failures::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(login_failures::Column::Key.eq(key.as_str()))
            .filter(login_failures::Column::Failures.lt(limit(key)))
            .exec(db)
            .await?;
    }
    Ok(())
}
