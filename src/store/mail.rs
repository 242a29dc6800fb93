//! What e-mail needs stored: one-time links (only a hash of each), the rate of password
//! resets, the people a daily digest is for, what waits for them, and the day their last
//! digest was claimed (by one process, whatever the number sharing the database).

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::entities::{followers, mail_tokens, replies, user_poles, users, web_sessions};
use super::users::user_from_model;
use super::{Result, Store, StoreError};
use crate::domain::ValidationErrors;
use crate::store::{Role, User};

/// Password resets one account (or one e-mail address) may ask for in an hour.
pub const RESETS_PER_HOUR: u64 = 3;

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// A new editor chooses their first password.
    Invite,
    /// Someone who forgot their password chooses another.
    Reset,
    /// Stops the daily digest (it may be followed more than once).
    Unsubscribe,
}

impl LinkPurpose {
    pub fn id(self) -> &'static str {
        match self {
            LinkPurpose::Invite => "invite",
            LinkPurpose::Reset => "reset",
            LinkPurpose::Unsubscribe => "unsubscribe",
        }
    }

    /// How long a link stays valid.
    pub fn lifetime(self) -> Duration {
        match self {
            LinkPurpose::Invite => Duration::days(7),
            LinkPurpose::Reset => Duration::hours(1),
            LinkPurpose::Unsubscribe => Duration::days(60),
        }
    }
}

/// A one-time link as found from its token.
#[derive(Debug, Clone)]
pub enum Link {
    /// Valid, for this person.
    Valid(User),
    /// Already followed.
    Used,
    /// Past its expiry.
    Expired,
    /// No such link (or one for another purpose).
    Unknown,
}

/// What waits for an editor at one pole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub slug: String,
    pub name: String,
    pub followers: u64,
    pub replies: u64,
}

/// An invitation made: the person, and whether they must still choose a password.
#[derive(Debug, Clone)]
pub struct Invited {
    pub user: User,
    pub needs_password: bool,
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A user name made from an e-mail address's local part.
fn username_from_email(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    let name: String = local
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(48)
        .collect();
    if name.is_empty() {
        "editor".to_owned()
    } else {
        name
    }
}

impl Store {
    /// Stores a link's token hash for `user_id`, valid for its purpose's lifetime.
    pub async fn create_link(
        &self,
        user_id: i64,
        purpose: LinkPurpose,
        token_hash: &str,
    ) -> Result<()> {
        let now = Utc::now();
        mail_tokens::ActiveModel {
            token_hash: Set(token_hash.to_owned()),
            purpose: Set(purpose.id().to_owned()),
            user_id: Set(user_id),
            created_at: Set(now),
            expires_at: Set(now + purpose.lifetime()),
            used_at: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    async fn link_state(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        token_hash: &str,
        purpose: LinkPurpose,
    ) -> Result<(Link, Option<mail_tokens::Model>)> {
        let Some(token) = mail_tokens::Entity::find()
            .filter(mail_tokens::Column::TokenHash.eq(token_hash))
            .filter(mail_tokens::Column::Purpose.eq(purpose.id()))
            .one(db)
            .await?
        else {
            return Ok((Link::Unknown, None));
        };
        if purpose != LinkPurpose::Unsubscribe && token.used_at.is_some() {
            return Ok((Link::Used, Some(token)));
        }
        if token.expires_at <= Utc::now() {
            return Ok((Link::Expired, Some(token)));
        }
        let Some(user) = users::Entity::find_by_id(token.user_id).one(db).await? else {
            return Ok((Link::Unknown, None));
        };
        Ok((Link::Valid(user_from_model(user)?), Some(token)))
    }

    /// The state of the link with this token hash.
    pub async fn link(&self, token_hash: &str, purpose: LinkPurpose) -> Result<Link> {
        Ok(self.link_state(&self.db, token_hash, purpose).await?.0)
    }

    /// Follows an invitation or reset link: the person's password becomes `password_hash`,
    /// their account is enabled, the link and every other of their links to choose a
    /// password are used up, and all their sessions end. Nothing changes unless the link is
    /// valid.
    pub async fn use_password_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        password_hash: &str,
    ) -> Result<Link> {
        let txn = self.write_txn().await?;
        let (link, token) = self.link_state(&txn, token_hash, purpose).await?;
        let (Link::Valid(user), Some(token)) = (&link, token) else {
            txn.rollback().await?;
            return Ok(link);
        };
        let now = Utc::now();
        // Used once: of two submissions at the same moment, only one finds it unused.
        let taken = mail_tokens::Entity::update_many()
            .col_expr(mail_tokens::Column::UsedAt, Expr::value(Some(now)))
            .filter(mail_tokens::Column::Id.eq(token.id))
            .filter(mail_tokens::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
        if taken.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(Link::Used);
        }
        mail_tokens::Entity::update_many()
            .col_expr(mail_tokens::Column::UsedAt, Expr::value(Some(now)))
            .filter(mail_tokens::Column::UserId.eq(user.id))
            .filter(mail_tokens::Column::Purpose.is_in(["invite", "reset"]))
            .filter(mail_tokens::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
        let model = users::Entity::find_by_id(user.id)
            .one(&txn)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {}", user.id)))?;
        let mut am = model.into_active_model();
        am.password_hash = Set(Some(password_hash.to_owned()));
        am.disabled_at = Set(None);
        am.updated_at = Set(now);
        let model = am.update(&txn).await?;
        web_sessions::Entity::delete_many()
            .filter(web_sessions::Column::UserId.eq(user.id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(Link::Valid(user_from_model(model)?))
    }

    /// The people with this e-mail address (compared without case), oldest first.
    pub async fn users_by_email(&self, email: &str) -> Result<Vec<User>> {
        users::Entity::find()
            .filter(
                Expr::expr(Func::lower(Expr::col(users::Column::Email)))
                    .eq(email.trim().to_lowercase()),
            )
            .order_by_asc(users::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(user_from_model)
            .collect()
    }

    /// Stores a reset link for `user` unless this account, or its e-mail address, was sent
    /// [`RESETS_PER_HOUR`] already in the last hour; returns whether it was stored.
    pub async fn create_reset_link(&self, user: &User, token_hash: &str) -> Result<bool> {
        let Some(email) = user.email.as_deref() else {
            return Ok(false);
        };
        let txn = self.write_txn().await?;
        // The accounts of this address, locked in one order (SQLite holds the whole database
        // for writing already): requests at the same moment count one after the other.
        let accounts: Vec<i64> = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .filter(
                Expr::expr(Func::lower(Expr::col(users::Column::Email))).eq(email.to_lowercase()),
            )
            .order_by_asc(users::Column::Id)
            .lock_exclusive()
            .into_tuple()
            .all(&txn)
            .await?;
        let since = Utc::now() - Duration::hours(1);
        let recent = |ids: Vec<i64>| {
            mail_tokens::Entity::find()
                .filter(mail_tokens::Column::Purpose.eq("reset"))
                .filter(mail_tokens::Column::UserId.is_in(ids))
                .filter(mail_tokens::Column::CreatedAt.gt(since))
        };
        let for_account = recent(vec![user.id]).count(&txn).await?;
        let for_address = recent(accounts).count(&txn).await?;
        if for_account >= RESETS_PER_HOUR || for_address >= RESETS_PER_HOUR {
            txn.rollback().await?;
            return Ok(false);
        }
        let now = Utc::now();
        mail_tokens::ActiveModel {
            token_hash: Set(token_hash.to_owned()),
            purpose: Set(LinkPurpose::Reset.id().to_owned()),
            user_id: Set(user.id),
            created_at: Set(now),
            expires_at: Set(now + LinkPurpose::Reset.lifetime()),
            used_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Invites the person of `email` to edit a pole: an account that exists is given the
    /// pole; otherwise an editor is created, disabled until they choose a password.
    pub async fn invite_editor(&self, email: &str, pole_id: i64) -> Result<Invited> {
        let email =
            crate::domain::check::email(email).map_err(|m| ValidationErrors::single("email", m))?;
        if let Some(user) = self.users_by_email(&email).await?.into_iter().next() {
            self.grant_pole(user.id, pole_id).await?;
            return Ok(Invited {
                needs_password: user.password_hash.is_none(),
                user,
            });
        }
        let base = username_from_email(&email);
        let mut username = base.clone();
        let mut n = 1;
        while self.user_by_username(&username).await?.is_some() {
            n += 1;
            username = format!("{base}-{n}");
        }
        let user = self
            .create_user(&username, Some(&email), None, Role::Editor)
            .await?;
        let model = users::Entity::find_by_id(user.id)
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {}", user.id)))?;
        let mut am = model.into_active_model();
        am.disabled_at = Set(Some(Utc::now()));
        let user = user_from_model(am.update(&self.db).await?)?;
        self.grant_pole(user.id, pole_id).await?;
        Ok(Invited {
            user,
            needs_password: true,
        })
    }

    /// Whether this person receives the daily digest.
    pub async fn wants_digest(&self, user_id: i64) -> Result<bool> {
        let model = users::Entity::find_by_id(user_id)
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
        Ok(!model.digest_opt_out)
    }

    pub async fn set_wants_digest(&self, user_id: i64, wanted: bool) -> Result<()> {
        let done = users::Entity::update_many()
            .col_expr(users::Column::DigestOptOut, Expr::value(!wanted))
            .filter(users::Column::Id.eq(user_id))
            .exec(&self.db)
            .await?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        Ok(())
    }

    /// The people a digest may go to: with an address, enabled, and not opted out.
    pub async fn digest_recipients(&self) -> Result<Vec<User>> {
        users::Entity::find()
            .filter(users::Column::Email.is_not_null())
            .filter(users::Column::DisabledAt.is_null())
            .filter(users::Column::DigestOptOut.eq(false))
            .order_by_asc(users::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(user_from_model)
            .collect()
    }

    /// Followers awaiting approval and replies awaiting moderation, per pole this person
    /// edits (every pole, for an administrator); poles with nothing waiting are left out.
    pub async fn waiting_for(&self, user: &User) -> Result<Vec<Waiting>> {
        let poles: Option<Vec<i64>> = match user.role {
            Role::Admin => None,
            Role::Editor => Some(
                user_poles::Entity::find()
                    .select_only()
                    .column(user_poles::Column::PoleId)
                    .filter(user_poles::Column::UserId.eq(user.id))
                    .into_tuple()
                    .all(&self.db)
                    .await?,
            ),
        };
        let mut follower_query = followers::Entity::find()
            .select_only()
            .column(followers::Column::PoleId)
            .column_as(followers::Column::Id.count(), "n")
            .filter(followers::Column::State.eq("pending"))
            .filter(followers::Column::PoleId.is_not_null())
            .group_by(followers::Column::PoleId);
        let mut reply_query = replies::Entity::find()
            .select_only()
            .column(replies::Column::PoleId)
            .column_as(replies::Column::Id.count(), "n")
            .filter(replies::Column::State.eq("pending"))
            .filter(replies::Column::DeletedAt.is_null())
            .group_by(replies::Column::PoleId);
        if let Some(ids) = &poles {
            follower_query = follower_query.filter(followers::Column::PoleId.is_in(ids.clone()));
            reply_query = reply_query.filter(replies::Column::PoleId.is_in(ids.clone()));
        }
        let follower_counts: Vec<(Option<i64>, i64)> =
            follower_query.into_tuple().all(&self.db).await?;
        let reply_counts: Vec<(i64, i64)> = reply_query.into_tuple().all(&self.db).await?;
        let mut counts: std::collections::BTreeMap<i64, (u64, u64)> = Default::default();
        for (pole, n) in follower_counts {
            if let Some(pole) = pole {
                counts.entry(pole).or_default().0 += to_u64(n);
            }
        }
        for (pole, n) in reply_counts {
            counts.entry(pole).or_default().1 += to_u64(n);
        }
        let mut out = Vec::new();
        for (pole_id, (followers, replies)) in counts {
            let pole = self.pole_by_id(pole_id).await?;
            out.push(Waiting {
                slug: pole.pole.slug,
                name: pole.pole.name,
                followers,
                replies,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Claims today's digest of this person: true for the one process (and the one run)
    /// that changed the day of their last digest to `day`.
    pub async fn claim_digest(&self, user_id: i64, day: &str) -> Result<bool> {
        let done = users::Entity::update_many()
            .col_expr(
                users::Column::DigestSentOn,
                Expr::value(Some(day.to_owned())),
            )
            .filter(users::Column::Id.eq(user_id))
            .filter(
                users::Column::DigestSentOn
                    .is_null()
                    .or(users::Column::DigestSentOn.ne(day)),
            )
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected == 1)
    }

    /// Gives back a claimed digest that could not be sent, so that a later run sends it.
    pub async fn release_digest(&self, user_id: i64, day: &str) -> Result<()> {
        users::Entity::update_many()
            .col_expr(
                users::Column::DigestSentOn,
                Expr::value(Option::<String>::None),
            )
            .filter(users::Column::Id.eq(user_id))
            .filter(users::Column::DigestSentOn.eq(day))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Forgets links expired for a day or more; returns how many.
    pub async fn prune_links(&self, now: DateTime<Utc>) -> Result<u64> {
        let done = mail_tokens::Entity::delete_many()
            .filter(mail_tokens::Column::ExpiresAt.lt(now - Duration::days(1)))
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn user_names_come_from_addresses() {
        assert_eq!(
            super::username_from_email("Jeanne.Dupont@x.org"),
            "jeanne.dupont"
        );
        assert_eq!(super::username_from_email("a+b@x.org"), "a-b");
        assert_eq!(super::username_from_email("@x.org"), "editor");
    }
}
