//! API tokens, for administrators: the list (never the tokens themselves), a new one shown
//! once, and a revocation after a confirmation page.
//!
//! It stands on [`super::people`] (the administrators' check, the secret and confirmation
//! pages).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::access::Admin;
use super::people::{Confirm, admin_only, confirm_page, secret_page};
use super::submit::{Answer, FlashQuery, QueryResult, flash, run, submit};
use crate::domain::check;
use crate::store::{StoreError, TokenRecord, User};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::pages::{Ctx, Meta, html, views};

struct TokenRow {
    id: i64,
    name: String,
    owner: String,
    prefix: String,
    created: String,
    last_used: String,
    /// When it was revoked; empty while it works.
    revoked: String,
}

#[derive(Default)]
struct NewToken {
    user: String,
    name: String,
    user_error: String,
    name_error: String,
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    c: Ctx,
    meta: Meta,
    flash: String,
    rows: Vec<TokenRow>,
    users: Vec<String>,
    form: NewToken,
}

fn owner(users: &[User], token: &TokenRecord) -> String {
    users
        .iter()
        .find(|u| u.id == token.user_id)
        .map(|u| u.username.clone())
        .unwrap_or_default()
}

async fn tokens_page(
    state: &AppState,
    admin: &Admin,
    flash: String,
    form: NewToken,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let users = state.store.list_users().await?;
    let lang = admin.lang();
    let rows = state
        .store
        .list_tokens(None)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            owner: owner(&users, &t),
            id: t.id,
            name: t.name,
            prefix: format!("{}…", t.prefix),
            created: views::timestamp(t.created_at, lang),
            last_used: t
                .last_used_at
                .map(|at| views::timestamp(at, lang))
                .unwrap_or_else(|| admin.t("admin_users.never").to_owned()),
            revoked: t
                .revoked_at
                .map(|at| views::timestamp(at, lang))
                .unwrap_or_default(),
        })
        .collect();
    Ok(html(
        &TokensPage {
            meta: Meta::new(admin.t("admin_users.tokens_title"), "", String::new()),
            c: admin.c.clone(),
            flash,
            rows,
            users: users.into_iter().map(|u| u.username).collect(),
            form,
        },
        status,
    ))
}

pub async fn tokens(
    State(state): State<AppState>,
    admin: Admin,
    q: QueryResult<FlashQuery>,
) -> Response {
    run(&admin.c, async {
        admin_only(&admin)?;
        tokens_page(
            &state,
            &admin,
            flash(q.ok()),
            NewToken::default(),
            StatusCode::OK,
        )
        .await
    })
    .await
}

pub async fn token_create(State(state): State<AppState>, admin: Admin, body: Bytes) -> Response {
    submit(&state, &admin, &body, async |data| {
        admin_only(&admin)?;
        let mut form = NewToken {
            user: data.get("user"),
            name: data.get("name").trim().to_owned(),
            ..NewToken::default()
        };
        let user = state.store.user_by_username(&form.user).await?;
        if user.is_none() {
            form.user_error = admin.t("admin_users.unknown_user").to_owned();
        }
        if check::required_text(&form.name, check::MAX_NAME).is_err() {
            form.name_error = admin.t("admin_users.token_name_required").to_owned();
        }
        let Some(user) = user.filter(|_| form.name_error.is_empty()) else {
            let page = tokens_page(
                &state,
                &admin,
                String::new(),
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await?;
            return Ok(Answer::Page(page));
        };
        let token = crate::auth::new_token();
        let record = state
            .store
            .create_token(user.id, &form.name, &token.prefix, &token.hash)
            .await?;
        tracing::info!(by = %admin.auth.user.username, user = %user.username, token = record.id, "API token issued");
        Ok(Answer::Page(secret_page(
            &admin.c,
            admin.t("admin_users.token_created_title"),
            admin
                .t("admin_users.token_created_text")
                .replace("{name}", &record.name)
                .replace("{username}", &user.username),
            token.token,
            ("/admin/tokens".to_owned(), admin.t("admin_users.tokens_title")),
        )))
    })
    .await
}

/// The token of this number with its owner's name, or a 404 page.
async fn token(state: &AppState, id: i64) -> Result<(TokenRecord, String), ApiError> {
    let token = state
        .store
        .list_tokens(None)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::from(StoreError::NotFound(format!("token {id}"))))?;
    let owner = state
        .store
        .user_by_id(token.user_id)
        .await?
        .map(|u| u.username)
        .unwrap_or_default();
    Ok((token, owner))
}

pub async fn revoke_confirm(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Response {
    run(&admin.c, async {
        admin_only(&admin)?;
        let (token, owner) = token(&state, id).await?;
        if token.revoked_at.is_some() {
            return Err(ApiError::Conflict(format!(
                "{} {}",
                admin.t("admin_users.already_revoked"),
                token.name
            )));
        }
        Ok(confirm_page(
            &admin.c,
            Confirm {
                heading: admin
                    .t("admin_users.revoke_title")
                    .replace("{name}", &token.name),
                text: admin
                    .t("admin_users.revoke_text")
                    .replace("{username}", &owner),
                action: format!("/admin/tokens/{id}/revoke"),
                button: admin.t("admin_users.revoke_button"),
                cancel: "/admin/tokens".into(),
            },
        ))
    })
    .await
}

pub async fn revoke(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |_| {
        admin_only(&admin)?;
        let (token, owner) = token(&state, id).await?;
        let key = if token.revoked_at.is_some() {
            "admin_users.already_revoked"
        } else {
            state.store.revoke_token(id).await?;
            tracing::info!(by = %admin.auth.user.username, user = %owner, token = id, "API token revoked");
            "admin_users.revoked_token"
        };
        Ok(Answer::done(
            "/admin/tokens",
            format!("{} {}", admin.t(key), token.name),
        ))
    })
    .await
}
