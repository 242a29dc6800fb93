//! Sessions of the web interface and the lock-out after repeated failed sign-ins.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

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

    /// Whether every key (an account, an address) may try to sign in now.
    pub async fn login_allowed(&self, keys: &[String]) -> Result<LoginCheck> {
        let now = Utc::now();
        let rows = login_failures::Entity::find()
            .filter(login_failures::Column::Key.is_in(keys.iter().cloned()))
            .all(&self.db)
            .await?;
        let until = rows
            .into_iter()
            .filter_map(|r| r.locked_until)
            .filter(|until| *until > now)
            .max();
        Ok(until.map_or(LoginCheck::Allowed, LoginCheck::LockedUntil))
    }

    /// Counts a failed sign-in against each key, locking those that reach the limit.
    pub async fn record_login_failure(&self, keys: &[String]) -> Result<()> {
        let now = Utc::now();
        let txn = self.write_txn().await?;
        for key in keys {
            let row = login_failures::Entity::find_by_id(key.clone())
                .one(&txn)
                .await?;
            match row {
                Some(row) if row.first_at + FAILURE_WINDOW > now => {
                    let failures = row.failures + 1;
                    let mut active = row.into_active_model();
                    active.failures = Set(failures);
                    if failures >= limit(key) {
                        active.locked_until = Set(Some(now + LOCK_DURATION));
                    }
                    active.update(&txn).await?;
                }
                Some(row) => {
                    let mut active = row.into_active_model();
                    active.failures = Set(1);
                    active.first_at = Set(now);
                    active.locked_until = Set(None);
                    active.update(&txn).await?;
                }
                None => {
                    login_failures::ActiveModel {
                        key: Set(key.clone()),
                        failures: Set(1),
                        first_at: Set(now),
                        locked_until: Set(None),
                    }
                    .insert(&txn)
                    .await?;
                }
            }
        }
        txn.commit().await?;
        Ok(())
    }

    /// Forgets the failures of an account after it signed in.
    pub async fn clear_login_failures(&self, key: &str) -> Result<()> {
        login_failures::Entity::delete_by_id(key.to_owned())
            .exec(&self.db)
            .await?;
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
