//! The instance's settings, its people (administrators and pole editors) and their API tokens.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Serialize;

use super::entities::{api_tokens, instance, user_poles, users};
use super::{Result, Store, StoreError};
use crate::domain::{ValidationErrors, check};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages the instance and every pole on it.
    Admin,
    /// Edits the poles they were given.
    Editor,
}

impl Role {
    pub fn id(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub disabled: bool,
    #[serde(skip)]
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// The first characters of the token, so a person can tell their tokens apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InstanceSettings {
    pub name: String,
    pub summary: Option<String>,
    pub contact_email: Option<String>,
}

pub(super) fn user_from_model(m: users::Model) -> Result<User> {
    let role = match m.role.as_str() {
        "admin" => Role::Admin,
        "editor" => Role::Editor,
        other => {
            return Err(StoreError::Corrupt(format!(
                "column role: unknown value `{other}`"
            )));
        }
    };
    Ok(User {
        id: m.id,
        username: m.username,
        email: m.email,
        role,
        created_at: m.created_at,
        disabled: m.disabled_at.is_some(),
        password_hash: m.password_hash,
    })
}

fn token_from_model(m: api_tokens::Model) -> TokenRecord {
    TokenRecord {
        id: m.id,
        user_id: m.user_id,
        name: m.name,
        prefix: m.prefix,
        created_at: m.created_at,
        last_used_at: m.last_used_at,
        revoked_at: m.revoked_at,
    }
}

/// A user name: lower-case letters, digits, `.`, `-`, `_`.
pub fn check_username(value: &str) -> Result<String, crate::domain::Message> {
    let value = value.trim();
    let ok = (1..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(crate::domain::Code::UsernameFormat.into())
    }
}

impl Store {
    /// Creates the instance's settings row on first start; later calls keep what is there.
    pub async fn ensure_instance(&self, default_name: &str) -> Result<InstanceSettings> {
        if let Some(settings) = self.instance_settings().await? {
            return Ok(settings);
        }
        let now = Utc::now();
        let result = instance::ActiveModel {
            id: Set(1),
            name: Set(default_name.to_owned()),
            summary: Set(None),
            contact_email: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            public_key: Set(None),
            private_key: Set(None),
        }
        .insert(&self.db)
        .await;
        // Another process may have created it at the same moment: its row wins.
        if let Err(e) = result
            && self.instance_settings().await?.is_none()
        {
            return Err(e.into());
        }
        self.instance_settings()
            .await?
            .ok_or_else(|| StoreError::Corrupt("instance settings missing".into()))
    }

    pub async fn instance_settings(&self) -> Result<Option<InstanceSettings>> {
        Ok(instance::Entity::find_by_id(1)
            .one(&self.db)
            .await?
            .map(|m| InstanceSettings {
                name: m.name,
                summary: m.summary,
                contact_email: m.contact_email,
            }))
    }

    pub async fn update_instance(&self, settings: &InstanceSettings) -> Result<InstanceSettings> {
        let mut errors = ValidationErrors::new();
        let name = errors.take(
            "name",
            check::required_text(&settings.name, check::MAX_NAME),
        );
        let summary = errors.take(
            "summary",
            check::optional_text(settings.summary.as_deref(), check::MAX_SUMMARY),
        );
        let contact_email = errors.take(
            "contact_email",
            settings
                .contact_email
                .as_deref()
                .map(check::email)
                .transpose(),
        );
        errors.finish(|| ())?;
        self.ensure_instance(&settings.name).await?;
        let model = instance::Entity::find_by_id(1)
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::Corrupt("instance settings missing".into()))?;
        let mut am = model.into_active_model();
        am.name = Set(name.unwrap_or_default());
        am.summary = Set(summary.flatten());
        am.contact_email = Set(contact_email.flatten());
        am.updated_at = Set(Utc::now());
        am.update(&self.db).await?;
        self.instance_settings()
            .await?
            .ok_or_else(|| StoreError::Corrupt("instance settings missing".into()))
    }

    pub async fn create_user(
        &self,
        username: &str,
        email: Option<&str>,
        password_hash: Option<String>,
        role: Role,
    ) -> Result<User> {
        let mut errors = ValidationErrors::new();
        let username = errors.take("username", check_username(username));
        let email = errors.take("email", email.map(check::email).transpose());
        errors.finish(|| ())?;
        let username = username.unwrap_or_default();
        if self.user_by_username(&username).await?.is_some() {
            return Err(ValidationErrors::single(
                "username",
                crate::domain::Message::new(crate::domain::Code::UsernameTaken)
                    .arg("value", &username),
            )
            .into());
        }
        let now = Utc::now();
        let model = users::ActiveModel {
            username: Set(username),
            email: Set(email.flatten()),
            password_hash: Set(password_hash),
            role: Set(role.id().to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
            disabled_at: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        user_from_model(model)
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        users::Entity::find()
            .filter(users::Column::Username.eq(username))
            .one(&self.db)
            .await?
            .map(user_from_model)
            .transpose()
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        users::Entity::find()
            .order_by_asc(users::Column::Username)
            .all(&self.db)
            .await?
            .into_iter()
            .map(user_from_model)
            .collect()
    }

    /// Lets an editor edit a pole.
    pub async fn grant_pole(&self, user_id: i64, pole_id: i64) -> Result<()> {
        let exists = user_poles::Entity::find()
            .filter(user_poles::Column::UserId.eq(user_id))
            .filter(user_poles::Column::PoleId.eq(pole_id))
            .one(&self.db)
            .await?;
        if exists.is_none() {
            user_poles::ActiveModel {
                user_id: Set(user_id),
                pole_id: Set(pole_id),
            }
            .insert(&self.db)
            .await?;
        }
        Ok(())
    }

    pub async fn user_pole_ids(&self, user_id: i64) -> Result<Vec<i64>> {
        Ok(user_poles::Entity::find()
            .select_only()
            .column(user_poles::Column::PoleId)
            .filter(user_poles::Column::UserId.eq(user_id))
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    /// Stores a new token; only its hash is kept.
    pub async fn create_token(
        &self,
        user_id: i64,
        name: &str,
        prefix: &str,
        token_hash: &str,
    ) -> Result<TokenRecord> {
        let name = check::required_text(name, check::MAX_NAME)
            .map_err(|m| ValidationErrors::single("name", m))?;
        let model = api_tokens::ActiveModel {
            user_id: Set(user_id),
            name: Set(name),
            prefix: Set(prefix.to_owned()),
            token_hash: Set(token_hash.to_owned()),
            created_at: Set(Utc::now()),
            last_used_at: Set(None),
            revoked_at: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(token_from_model(model))
    }

    /// The active user holding a live token with this hash, and records the use.
    pub async fn user_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<(User, TokenRecord)>> {
        let Some((token, Some(user))) = api_tokens::Entity::find()
            .filter(api_tokens::Column::TokenHash.eq(token_hash))
            .filter(api_tokens::Column::RevokedAt.is_null())
            .find_also_related(users::Entity)
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let user = user_from_model(user)?;
        if user.disabled {
            return Ok(None);
        }
        let now = Utc::now();
        // Writing on every request would serialise readers on SQLite: once a minute is enough.
        let stale = token
            .last_used_at
            .is_none_or(|t| now.signed_duration_since(t).num_seconds() > 60);
        let token = if stale {
            let mut am = token.into_active_model();
            am.last_used_at = Set(Some(now));
            am.update(&self.db).await?
        } else {
            token
        };
        Ok(Some((user, token_from_model(token))))
    }

    pub async fn list_tokens(&self, user_id: Option<i64>) -> Result<Vec<TokenRecord>> {
        let mut query = api_tokens::Entity::find().order_by_asc(api_tokens::Column::Id);
        if let Some(user_id) = user_id {
            query = query.filter(api_tokens::Column::UserId.eq(user_id));
        }
        Ok(query
            .all(&self.db)
            .await?
            .into_iter()
            .map(token_from_model)
            .collect())
    }

    pub async fn revoke_token(&self, id: i64) -> Result<TokenRecord> {
        let model = api_tokens::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("token {id}")))?;
        if model.revoked_at.is_some() {
            return Ok(token_from_model(model));
        }
        let mut am = model.into_active_model();
        am.revoked_at = Set(Some(Utc::now()));
        Ok(token_from_model(am.update(&self.db).await?))
    }
}
