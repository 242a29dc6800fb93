//! One account, for administrators: its poles (given and taken back), a new password (shown
//! once, or a reset link by e-mail when e-mail is configured), the lock after failed
//! sign-ins lifted, and the account deleted after a confirmation page.
//!
//! It stands on [`super::people`] (the administrators' check, the secret and confirmation
//! pages) and [`super::password`] (the reset link's message).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::access::Admin;
use super::password::reset_message;
use super::people::{
    Confirm, admin_only, confirm_page, hash_password, new_password, role_label, secret_page,
    state_label,
};
use super::submit::{Answer, FlashQuery, QueryResult, flash, run, submit};
use crate::store::{Role, StoreError, User};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::pages::{Ctx, Meta, html, views};

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    c: Ctx,
    meta: Meta,
    flash: String,
    id: i64,
    username: String,
    email: String,
    role: &'static str,
    is_admin_role: bool,
    state: &'static str,
    created: String,
    sessions: u64,
    locked_until: String,
    /// The poles given to this account, and those that could be.
    given: Vec<(String, String)>,
    others: Vec<(String, String)>,
    tokens: Vec<(String, String)>,
    is_self: bool,
    can_send_link: bool,
}

/// The account of this number, or a 404 page.
async fn user(state: &AppState, id: i64) -> Result<User, ApiError> {
    state
        .store
        .user_by_id(id)
        .await?
        .ok_or_else(|| ApiError::from(StoreError::NotFound(format!("user {id}"))))
}

pub async fn user_page(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    q: QueryResult<FlashQuery>,
) -> Response {
    run(&admin.c, async {
        admin_only(&admin)?;
        let user = user(&state, id).await?;
        let ids = state.store.user_pole_ids(user.id).await?;
        let (given, others): (Vec<_>, Vec<_>) =
            crate::web::pages::directory::all_poles(&state.store)
                .await?
                .into_iter()
                .partition(|p| ids.contains(&p.id));
        let pair = |p: crate::store::PoleRecord| (p.pole.slug, p.pole.name);
        let tokens = state
            .store
            .list_tokens(Some(user.id))
            .await?
            .into_iter()
            .filter(|t| t.revoked_at.is_none())
            .map(|t| (t.name, format!("{}…", t.prefix)))
            .collect();
        let locked_until = state
            .store
            .account_locked_until(&user.username)
            .await?
            .map(|t| views::timestamp(t, admin.lang()))
            .unwrap_or_default();
        Ok(html(
            &UserPage {
                meta: Meta::new(&user.username, "", String::new()),
                flash: flash(q.ok()),
                id: user.id,
                email: user.email.clone().unwrap_or_default(),
                role: role_label(&admin, user.role),
                is_admin_role: user.role == Role::Admin,
                state: state_label(&state, &admin, &user).await?,
                created: views::timestamp(user.created_at, admin.lang()),
                sessions: state.store.count_sessions(user.id).await?,
                locked_until,
                given: given.into_iter().map(pair).collect(),
                others: others.into_iter().map(pair).collect(),
                tokens,
                is_self: user.id == admin.auth.user.id,
                can_send_link: state.mailer.enabled() && user.email.is_some(),
                username: user.username,
                c: admin.c.clone(),
            },
            StatusCode::OK,
        ))
    })
    .await
}

fn back(id: i64) -> String {
    format!("/admin/users/{id}")
}

pub async fn pole_grant(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        admin_only(&admin)?;
        let user = user(&state, id).await?;
        let pole = match state.store.pole(&form.get("pole")).await {
            Ok(p) => p,
            Err(StoreError::NotFound(_) | StoreError::Gone(_)) => {
                return Err(ApiError::BadRequest(
                    admin.t("admin_users.unknown_pole").to_owned(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        state.store.grant_pole(user.id, pole.id).await?;
        tracing::info!(by = %admin.auth.user.username, user = %user.username, pole = %pole.pole.slug, "pole given");
        Ok(Answer::done(
            back(id),
            format!("{} {}", admin.t("admin_users.granted"), pole.pole.name),
        ))
    })
    .await
}

pub async fn pole_revoke(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, slug)): Path<(i64, String)>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |_| {
        admin_only(&admin)?;
        let user = user(&state, id).await?;
        let pole = state.store.pole(&slug).await?;
        state.store.revoke_pole(user.id, pole.id).await?;
        tracing::info!(by = %admin.auth.user.username, user = %user.username, pole = %slug, "pole taken back");
        Ok(Answer::done(
            back(id),
            format!("{} {}", admin.t("admin_users.revoked"), pole.pole.name),
        ))
    })
    .await
}

pub async fn unlock(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |_| {
        admin_only(&admin)?;
        let user = user(&state, id).await?;
        let key = if state.store.unlock_account(&user.username).await? {
            tracing::info!(by = %admin.auth.user.username, user = %user.username, "account unlocked");
            "admin_users.unlocked"
        } else {
            "admin_users.not_locked"
        };
        Ok(Answer::done(
            back(id),
            format!("{} {}", admin.t(key), user.username),
        ))
    })
    .await
}

/// A new password for someone else: a reset link by e-mail (`how=link`), or one made here
/// and shown once; either way their sessions end when it changes.
pub async fn password_reset(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        admin_only(&admin)?;
        let user = user(&state, id).await?;
        if form.get("how") == "link" && state.mailer.enabled() && user.email.is_some() {
            let Some((to, mail)) = reset_message(&state, &user, admin.lang()).await? else {
                return Err(ApiError::Conflict(
                    admin.t("admin_users.reset_too_many").to_owned(),
                ));
            };
            if let Err(e) = state.mailer.send(&to, &mail).await {
                tracing::warn!(user = %user.username, error = %e, "reset link not sent");
                return Err(ApiError::BadGateway(format!(
                    "{} {e}",
                    admin.t("admin_users.reset_send_failed")
                )));
            }
            tracing::info!(by = %admin.auth.user.username, user = %user.username, "reset link sent");
            return Ok(Answer::done(
                back(id),
                format!("{} {to}", admin.t("admin_users.reset_sent")),
            ));
        }
        let password = new_password();
        let hash = hash_password(password.clone())
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        state.store.replace_password(user.id, &hash, None).await?;
        tracing::info!(by = %admin.auth.user.username, user = %user.username, "password reset by an administrator");
        Ok(Answer::Page(secret_page(
            &admin.c,
            admin.t("admin_users.reset_title"),
            admin
                .t("admin_users.reset_text")
                .replace("{username}", &user.username),
            password,
            (back(id), admin.t("admin_users.manage")),
        )))
    })
    .await
}

/// Why this account cannot be deleted by this person, if it cannot.
async fn undeletable(state: &AppState, admin: &Admin, user: &User) -> Result<(), ApiError> {
    if user.id == admin.auth.user.id {
        return Err(ApiError::Conflict(
            admin.t("admin_users.delete_self").to_owned(),
        ));
    }
    if user.role == Role::Admin && state.store.count_admins().await? <= 1 {
        return Err(ApiError::Conflict(
            admin.t("admin_users.delete_last_admin").to_owned(),
        ));
    }
    Ok(())
}

pub async fn delete_confirm(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Response {
    run(&admin.c, async {
        admin_only(&admin)?;
        let user = user(&state, id).await?;
        undeletable(&state, &admin, &user).await?;
        Ok(confirm_page(
            &admin.c,
            Confirm {
                heading: admin
                    .t("admin_users.delete_title")
                    .replace("{username}", &user.username),
                text: admin.t("admin_users.delete_text").to_owned(),
                action: format!("/admin/users/{id}/delete"),
                button: admin.t("admin_users.delete_button"),
                cancel: back(id),
            },
        ))
    })
    .await
}

pub async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |_| {
        admin_only(&admin)?;
        let user = user(&state, id).await?;
        undeletable(&state, &admin, &user).await?;
        let user = match state.store.delete_user(user.id).await {
            Ok(user) => user,
            // Another administrator was deleted meanwhile.
            Err(StoreError::Conflict(_)) => {
                return Err(ApiError::Conflict(
                    admin.t("admin_users.delete_last_admin").to_owned(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(by = %admin.auth.user.username, user = %user.username, "account deleted");
        Ok(Answer::done(
            "/admin/users",
            format!("{} {}", admin.t("admin_users.deleted"), user.username),
        ))
    })
    .await
}
