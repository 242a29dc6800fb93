//! What administrators do to people's accounts: read one, delete one, take a pole from an
//! editor, lift a lock after failed sign-ins, and set a password that ends sessions.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set,
};

use super::entities::{login_failures, user_poles, users, web_sessions};
use super::users::user_from_model;
use super::{Result, Store, StoreError};
use crate::store::{Role, User};

/// The key under which an account's failed sign-ins are counted.
pub fn account_key(username: &str) -> String {
    format!("account:{username}")
}

impl Store {
    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        users::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map(user_from_model)
            .transpose()
    }

    /// How many administrators the instance has.
    pub async fn count_admins(&self) -> Result<u64> {
        Ok(users::Entity::find()
            .filter(users::Column::Role.eq(Role::Admin.id()))
            .count(&self.db)
            .await?)
    }

    /// Deletes a person with their tokens, sessions, poles and links; the last administrator
    /// is refused, so that someone can always manage the instance.
    pub async fn delete_user(&self, id: i64) -> Result<User> {
        let txn = self.write_txn().await?;
        let model = users::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
        let user = user_from_model(model)?;
        if user.role == Role::Admin {
            let admins = users::Entity::find()
                .filter(users::Column::Role.eq(Role::Admin.id()))
                .count(&txn)
                .await?;
            if admins <= 1 {
                txn.rollback().await?;
                return Err(StoreError::Conflict(format!(
                    "`{}` is the last administrator and cannot be deleted",
                    user.username
                )));
            }
        }
        // The foreign keys remove the rest (tokens, sessions, poles, e-mail links).
        users::Entity::delete_by_id(id).exec(&txn).await?;
        login_failures::Entity::delete_by_id(account_key(&user.username))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(user)
    }

    /// Takes a pole from an editor; whether they had it.
    pub async fn revoke_pole(&self, user_id: i64, pole_id: i64) -> Result<bool> {
        let done = user_poles::Entity::delete_many()
            .filter(user_poles::Column::UserId.eq(user_id))
            .filter(user_poles::Column::PoleId.eq(pole_id))
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected > 0)
    }

    /// Until when the account is locked after failed sign-ins, if it is now.
    pub async fn account_locked_until(&self, username: &str) -> Result<Option<DateTime<Utc>>> {
        let row = login_failures::Entity::find_by_id(account_key(username))
            .one(&self.db)
            .await?;
        let now = Utc::now();
        Ok(row
            .and_then(|r| r.locked_until)
            .filter(|until| *until > now))
    }

    /// Forgets the account's failed sign-ins and lifts its lock; whether it was locked.
    pub async fn unlock_account(&self, username: &str) -> Result<bool> {
        let locked = self.account_locked_until(username).await?.is_some();
        login_failures::Entity::delete_by_id(account_key(username))
            .exec(&self.db)
            .await?;
        Ok(locked)
    }

    /// Sets a person's password hash (made with [`crate::auth::hash_password`]) and ends
    /// their sessions, all of them or all but the one whose cookie hash is `keep`. A lock
    /// after failed sign-ins is lifted: the password it protected has changed.
    pub async fn replace_password(
        &self,
        user_id: i64,
        hash: &str,
        keep: Option<&str>,
    ) -> Result<User> {
        let txn = self.write_txn().await?;
        let model = users::Entity::find_by_id(user_id)
            .one(&txn)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
        let username = model.username.clone();
        let mut active = model.into_active_model();
        active.password_hash = Set(Some(hash.to_owned()));
        active.updated_at = Set(Utc::now());
        let model = active.update(&txn).await?;
        let mut ending =
            web_sessions::Entity::delete_many().filter(web_sessions::Column::UserId.eq(user_id));
        if let Some(keep) = keep {
            ending = ending.filter(web_sessions::Column::IdHash.ne(keep));
        }
        ending.exec(&txn).await?;
        login_failures::Entity::delete_by_id(account_key(&username))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        user_from_model(model)
    }

    /// How many live sessions a person has.
    pub async fn count_sessions(&self, user_id: i64) -> Result<u64> {
        Ok(web_sessions::Entity::find()
            .filter(web_sessions::Column::UserId.eq(user_id))
            .filter(web_sessions::Column::ExpiresAt.gt(Utc::now()))
            .count(&self.db)
            .await?)
    }
}
