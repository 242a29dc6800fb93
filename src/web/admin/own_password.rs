//! A signed-in person changes their own password: the current one (checked as a sign-in
//! is, so that guesses count towards the lock), the new one twice; their other sessions end,
//! this one stays.
//!
//! It stands on [`super::sign_in`] (the check of the current password), [`super::login`]
//! (the address it comes from) and [`super::people`] (hashing).

use std::net::SocketAddr;

use askama::Template;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::access::Admin;
use super::login::client_address;
use super::people::hash_password;
use super::sign_in::{self, Outcome};
use super::submit::{Answer, run, submit};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::pages::{Ctx, Meta, html, session, views};

#[derive(Template)]
#[template(path = "admin/password.html")]
struct PasswordPage {
    c: Ctx,
    meta: Meta,
    username: String,
    error: String,
}

fn page(admin: &Admin, error: String, status: StatusCode) -> Response {
    html(
        &PasswordPage {
            meta: Meta::new(
                admin.t("admin_users.change_password_link"),
                "",
                String::new(),
            ),
            c: admin.c.clone(),
            username: admin.auth.user.username.clone(),
            error,
        },
        status,
    )
}

pub async fn password_form(admin: Admin) -> Response {
    run(&admin.c, async {
        Ok(page(&admin, String::new(), StatusCode::OK))
    })
    .await
}

pub async fn password_change(
    State(state): State<AppState>,
    admin: Admin,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        let again = |message: String, status| Ok(Answer::Page(page(&admin, message, status)));
        let password = form.get("password");
        if password != form.get("password2") {
            return again(
                admin.t("mail.passwords_differ").to_owned(),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        if password.chars().count() < 12 {
            return again(
                admin.t("mail.weak_password").to_owned(),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        let username = admin.auth.user.username.clone();
        let address = client_address(peer.map(|Extension(ConnectInfo(a))| a), &headers);
        let outcome = sign_in::attempt(
            &state.store,
            &state.password_gate,
            &username,
            form.get("current"),
            &address,
        )
        .await?;
        match outcome {
            Outcome::SignedIn(user) if user.id == admin.auth.user.id => {}
            Outcome::SignedIn(_) | Outcome::Refused => {
                tracing::warn!(user = %username, "password change refused: wrong current password");
                return again(
                    admin.t("admin_users.wrong_current").to_owned(),
                    StatusCode::UNPROCESSABLE_ENTITY,
                );
            }
            Outcome::Locked(until) => {
                return again(
                    format!(
                        "{} {}",
                        admin.t("admin.locked"),
                        views::timestamp(until, admin.lang())
                    ),
                    StatusCode::TOO_MANY_REQUESTS,
                );
            }
            Outcome::Busy => {
                return again(
                    admin.t("admin.busy").to_owned(),
                    StatusCode::TOO_MANY_REQUESTS,
                );
            }
        }
        let hash = hash_password(password)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let current = session::cookie(&headers, session::SESSION_COOKIE)
            .map(|id| crate::auth::hash_token(&id))
            .unwrap_or_default();
        state
            .store
            .replace_password(admin.auth.user.id, &hash, Some(&current))
            .await?;
        tracing::info!(user = %username, "password changed by its owner");
        Ok(Answer::done(
            "/admin/account",
            admin.t("admin_users.password_changed"),
        ))
    })
    .await
}
