//! Signing in and out of the administration: the sign-in page with its own anti-forgery
//! cookie (no session exists yet), the attempt through the password gate ([`super::sign_in`]),
//! the session cookie, and signing out. No session is opened without a right password and a
//! right token.

use std::net::SocketAddr;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::access::Admin;
use super::forms::FormData;
use super::sign_in;
use super::submit::QueryResult;
use crate::web::AppState;
use crate::web::pages::{Ctx, Meta, error_page, html, local_target, session, views};

/// The cookie that carries the anti-forgery token of the sign-in form (no session exists yet).
pub(super) const LOGIN_CSRF_COOKIE: &str = "maillage_login_csrf";

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    c: Ctx,
    meta: Meta,
    csrf: String,
    next: String,
    username: String,
    error: String,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

fn login_page(
    state: &AppState,
    c: Ctx,
    csrf: String,
    next: String,
    username: String,
    error: String,
    status: StatusCode,
) -> Response {
    let meta = Meta::new(c.t("admin.login_title"), "", String::new());
    let mut response = html(
        &LoginPage {
            c,
            meta,
            csrf: csrf.clone(),
            next,
            username,
            error,
        },
        status,
    );
    if let Ok(v) =
        HeaderValue::from_str(&session::login_csrf_cookie(state, LOGIN_CSRF_COOKIE, &csrf))
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn login_form(
    State(state): State<AppState>,
    c: Ctx,
    query: QueryResult<LoginQuery>,
) -> Response {
    if c.user.is_some() {
        return Redirect::to("/admin").into_response();
    }
    let next = query
        .ok()
        .and_then(|Query(q)| q.next)
        .and_then(|n| local_target(&n))
        .unwrap_or_else(|| "/admin".to_owned());
    login_page(
        &state,
        c,
        session::random_token(),
        next,
        String::new(),
        String::new(),
        StatusCode::OK,
    )
}

/// The address a sign-in comes from: the peer, or the last hop a local reverse proxy added.
pub(super) fn client_address(peer: Option<SocketAddr>, headers: &HeaderMap) -> String {
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    match (peer, forwarded) {
        (Some(p), Some(f)) if p.ip().is_loopback() => f,
        (Some(p), _) => p.ip().to_string(),
        (None, Some(f)) => f,
        (None, None) => "unknown".to_owned(),
    }
}

pub async fn login(
    State(state): State<AppState>,
    c: Ctx,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    let next = local_target(&form.get("next")).unwrap_or_else(|| "/admin".to_owned());
    let username = form.get("username").to_ascii_lowercase();
    let expected = session::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let given = form.get("_csrf");
    if expected.is_empty() || given.is_empty() || !session::same_token(&expected, &given) {
        tracing::warn!("sign-in refused: anti-forgery token missing or wrong");
        let message = c.t("admin.csrf_refused").to_owned();
        return login_page(
            &state,
            c,
            session::random_token(),
            next,
            username,
            message,
            StatusCode::FORBIDDEN,
        );
    }
    let address = client_address(peer.map(|Extension(ConnectInfo(a))| a), &headers);
    let password = form.get("password");
    let outcome = sign_in::attempt(
        &state.store,
        &state.password_gate,
        &username,
        password,
        &address,
    )
    .await;
    let (message, status) = match outcome {
        Ok(sign_in::Outcome::SignedIn(user)) => {
            return signed_in(&state, &c, user, &next).await;
        }
        Ok(sign_in::Outcome::Refused) => (
            c.t("admin.bad_credentials").to_owned(),
            StatusCode::UNAUTHORIZED,
        ),
        Ok(sign_in::Outcome::Locked(until)) => (
            format!(
                "{} {}",
                c.t("admin.locked"),
                views::timestamp(until, c.lang)
            ),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Ok(sign_in::Outcome::Busy) => (c.t("admin.busy").to_owned(), StatusCode::TOO_MANY_REQUESTS),
        Err(e) => return error_page(&c, e.into()),
    };
    login_page(
        &state,
        c,
        session::random_token(),
        next,
        username,
        message,
        status,
    )
}

/// Opens a session for a person whose password was right, and sends them on.
async fn signed_in(state: &AppState, c: &Ctx, user: crate::store::User, next: &str) -> Response {
    let id = session::random_token();
    let hours = i64::from(state.config.web.session_hours.max(1));
    let created = state
        .store
        .create_session(
            &crate::auth::hash_token(&id),
            user.id,
            &session::random_token(),
            chrono::Duration::hours(hours),
        )
        .await;
    if let Err(e) = created {
        return error_page(c, e.into());
    }
    let _ = state.store.prune_sessions().await;
    tracing::info!(user = %user.username, "signed in");
    let mut response = Redirect::to(next).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::session_cookie(state, &id, hours * 3600)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

pub async fn logout(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = admin.form(&body) {
        return error_page(&admin.c, e);
    }
    if let Some(id) = session::cookie(&headers, session::SESSION_COOKIE) {
        let _ = state
            .store
            .delete_session(&crate::auth::hash_token(&id))
            .await;
    }
    tracing::info!(user = %admin.auth.user.username, "signed out");
    let mut response = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::session_cookie(&state, "", 0)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
