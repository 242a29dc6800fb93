//! Choosing a password by e-mail: the forgotten-password form, which sends a link to choose
//! another (the same answer whether or not an account matches, and at most a few links an
//! hour per account and per address), and the page an invitation's or a reset's link leads
//! to. Their forms carry the sign-in form's anti-forgery cookie (no session exists).
//!
//! It stands on [`super::login`] (the anti-forgery cookie) and [`super::forms`].

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::forms::FormData;
use super::login::LOGIN_CSRF_COOKIE;
use super::submit::QueryResult;
use crate::store::{Link, LinkPurpose, StoreError, User};
use crate::web::AppState;
use crate::web::mail::messages::{self, Site};
use crate::web::mail::{Mail, site_name};
use crate::web::pages::{Ctx, Lang, Meta, error_page, html, session};

#[derive(Template)]
#[template(path = "admin/forgot.html")]
struct ForgotPage {
    c: Ctx,
    meta: Meta,
    csrf: String,
    enabled: bool,
    notice: String,
    error: String,
}

#[derive(Template)]
#[template(path = "admin/choose_password.html")]
struct ChoosePage {
    c: Ctx,
    meta: Meta,
    heading: &'static str,
    action: &'static str,
    csrf: String,
    token: String,
    username: String,
    error: String,
}

/// A short page that says what happened, with a button or a link to go on.
#[derive(Template)]
#[template(path = "admin/notice.html")]
pub(super) struct NoticePage {
    pub c: Ctx,
    pub meta: Meta,
    pub heading: String,
    pub text: String,
    /// Where the button posts (none without one).
    pub action: String,
    pub button: String,
    pub link: String,
    pub link_label: String,
}

impl NoticePage {
    pub fn new(c: Ctx, heading: &str, text: &str) -> NoticePage {
        NoticePage {
            meta: Meta::new(heading, "", String::new()),
            c,
            heading: heading.to_owned(),
            text: text.to_owned(),
            action: String::new(),
            button: String::new(),
            link: String::new(),
            link_label: String::new(),
        }
    }
}

/// A page with a new anti-forgery cookie for its form, kept out of caches.
fn with_form_cookie(state: &AppState, mut response: Response, csrf: &str) -> Response {
    if let Ok(v) =
        HeaderValue::from_str(&session::login_csrf_cookie(state, LOGIN_CSRF_COOKIE, csrf))
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The link's token must not leave in a `Referer`.
    response
        .headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

/// Whether the form carries the token of its cookie.
fn form_token_ok(headers: &HeaderMap, form: &FormData) -> bool {
    let expected = session::cookie(headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let given = form.get("_csrf");
    !expected.is_empty() && !given.is_empty() && session::same_token(&expected, &given)
}

fn forgot_page(
    state: &AppState,
    c: Ctx,
    notice: &str,
    error: &str,
    status: StatusCode,
) -> Response {
    let csrf = session::random_token();
    let enabled = state.mailer.enabled();
    let error = if enabled {
        error.to_owned()
    } else {
        c.t("mail.not_configured").to_owned()
    };
    let page = ForgotPage {
        meta: Meta::new(c.t("mail.forgot_title"), "", String::new()),
        c,
        csrf: csrf.clone(),
        enabled,
        notice: notice.to_owned(),
        error,
    };
    with_form_cookie(state, html(&page, status), &csrf)
}

pub async fn forgot_form(State(state): State<AppState>, c: Ctx) -> Response {
    forgot_page(&state, c, "", "", StatusCode::OK)
}

pub async fn forgot(
    State(state): State<AppState>,
    c: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    if !form_token_ok(&headers, &form) {
        tracing::warn!("password reset refused: anti-forgery token missing or wrong");
        let message = c.t("admin.csrf_refused");
        return forgot_page(&state, c, "", message, StatusCode::FORBIDDEN);
    }
    if !state.mailer.enabled() {
        return forgot_page(&state, c, "", "", StatusCode::OK);
    }
    let login = form.get("login").trim().to_lowercase();
    if !login.is_empty() && login.len() <= 254 {
        let outgoing = reset_messages(&state, &login, c.lang).await;
        // Sent after the answer, which is the same whether or not an account matched.
        let mailer = state.mailer.clone();
        tokio::spawn(async move {
            for (to, mail) in outgoing {
                if let Err(e) = mailer.send(&to, &mail).await {
                    tracing::warn!(error = %e, "password reset message not sent");
                }
            }
        });
    }
    let notice = c.t("mail.forgot_sent");
    forgot_page(&state, c, notice, "", StatusCode::OK)
}

/// A reset link, stored, and its message for each account of this user name or address,
/// unless it had too many in the last hour.
async fn reset_messages(state: &AppState, login: &str, lang: Lang) -> Vec<(String, Mail)> {
    let found = if login.contains('@') {
        state.store.users_by_email(login).await
    } else {
        state
            .store
            .user_by_username(login)
            .await
            .map(|u| u.into_iter().collect())
    };
    let users = match found {
        Ok(users) => users,
        Err(e) => {
            tracing::warn!(error = %e, "password reset: accounts unreadable");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for user in users.iter().filter(|u| u.email.is_some()) {
        match reset_message(state, user, lang).await {
            Ok(Some(message)) => out.push(message),
            Ok(None) => {
                tracing::warn!(user = %user.username, "password reset refused: too many asked for in the last hour");
            }
            Err(e) => {
                tracing::warn!(user = %user.username, error = %e, "password reset link not stored");
            }
        }
    }
    out
}

/// A reset link for `user`, stored, and its message to their address; none when they have
/// no address or had too many links in the last hour.
pub(super) async fn reset_message(
    state: &AppState,
    user: &User,
    lang: Lang,
) -> Result<Option<(String, Mail)>, StoreError> {
    let Some(email) = user.email.clone() else {
        return Ok(None);
    };
    let token = session::random_token();
    if !state
        .store
        .create_reset_link(user, &crate::auth::hash_token(&token))
        .await?
    {
        return Ok(None);
    }
    let name = site_name(&state.store).await;
    let url = state.store.url("/");
    let site = Site {
        name: &name,
        url: &url,
    };
    let link = state
        .store
        .url(&format!("/admin/login/reset?token={token}"));
    Ok(Some((
        email,
        messages::reset(&[lang], &site, &user.username, &link),
    )))
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
}

fn action(purpose: LinkPurpose) -> &'static str {
    match purpose {
        LinkPurpose::Invite => "/admin/login/invite",
        _ => "/admin/login/reset",
    }
}

fn heading(c: &Ctx, purpose: LinkPurpose) -> &'static str {
    match purpose {
        LinkPurpose::Invite => c.t("mail.choose_title_invite"),
        _ => c.t("mail.choose_title_reset"),
    }
}

/// The page of a link that cannot be followed, with the way to another one.
fn dead_link(c: Ctx, link: &Link) -> Response {
    let (heading, text, status) = match link {
        Link::Used => ("mail.link_used", "mail.link_used_text", StatusCode::GONE),
        Link::Expired => (
            "mail.link_expired",
            "mail.link_expired_text",
            StatusCode::GONE,
        ),
        _ => (
            "mail.link_unknown",
            "mail.link_unknown_text",
            StatusCode::NOT_FOUND,
        ),
    };
    let mut page = NoticePage::new(c.clone(), c.t(heading), c.t(text));
    page.link = "/admin/login/forgot".into();
    page.link_label = c.t("mail.forgot_title").into();
    let mut response = html(&page, status);
    response
        .headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

fn choose_page(
    state: &AppState,
    c: Ctx,
    purpose: LinkPurpose,
    token: String,
    username: String,
    error: &str,
    status: StatusCode,
) -> Response {
    let csrf = session::random_token();
    let heading = heading(&c, purpose);
    let page = ChoosePage {
        meta: Meta::new(heading, "", String::new()),
        heading,
        action: action(purpose),
        c,
        csrf: csrf.clone(),
        token,
        username,
        error: error.to_owned(),
    };
    with_form_cookie(state, html(&page, status), &csrf)
}

async fn choose_form(
    state: AppState,
    c: Ctx,
    query: QueryResult<TokenQuery>,
    purpose: LinkPurpose,
) -> Response {
    let token = query.ok().and_then(|Query(q)| q.token).unwrap_or_default();
    if token.is_empty() || token.len() > 100 {
        return dead_link(c, &Link::Unknown);
    }
    match state
        .store
        .link(&crate::auth::hash_token(&token), purpose)
        .await
    {
        Ok(Link::Valid(user)) => {
            choose_page(&state, c, purpose, token, user.username, "", StatusCode::OK)
        }
        Ok(other) => dead_link(c, &other),
        Err(e) => error_page(&c, e.into()),
    }
}

async fn choose(
    state: AppState,
    c: Ctx,
    headers: HeaderMap,
    body: Bytes,
    purpose: LinkPurpose,
) -> Response {
    let form = FormData::parse(&body);
    let token = form.get("token");
    if token.is_empty() || token.len() > 100 {
        return dead_link(c, &Link::Unknown);
    }
    let hash = crate::auth::hash_token(&token);
    let user = match state.store.link(&hash, purpose).await {
        Ok(Link::Valid(user)) => user,
        Ok(other) => return dead_link(c, &other),
        Err(e) => return error_page(&c, e.into()),
    };
    let again = |c: Ctx, key: &str, status| {
        let message = c.t(key);
        choose_page(
            &state,
            c,
            purpose,
            token.clone(),
            user.username.clone(),
            message,
            status,
        )
    };
    if !form_token_ok(&headers, &form) {
        tracing::warn!("password choice refused: anti-forgery token missing or wrong");
        return again(c, "admin.csrf_refused", StatusCode::FORBIDDEN);
    }
    let password = form.get("password");
    if password != form.get("password2") {
        return again(c, "mail.passwords_differ", StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Hashing takes a fraction of a second of one core: off the threads that serve requests.
    let hashed = tokio::task::spawn_blocking(move || crate::auth::hash_password(&password)).await;
    let hash_of_password = match hashed {
        Ok(Ok(h)) => h,
        Ok(Err(crate::auth::AuthError::WeakPassword)) => {
            return again(c, "mail.weak_password", StatusCode::UNPROCESSABLE_ENTITY);
        }
        Ok(Err(e)) => {
            return error_page(&c, crate::web::error::ApiError::Internal(e.to_string()));
        }
        Err(e) => {
            return error_page(&c, crate::web::error::ApiError::Internal(e.to_string()));
        }
    };
    match state
        .store
        .use_password_link(&hash, purpose, &hash_of_password)
        .await
    {
        Ok(Link::Valid(user)) => {
            tracing::info!(user = %user.username, purpose = purpose.id(), "password chosen by e-mail link");
            let mut page =
                NoticePage::new(c.clone(), heading(&c, purpose), c.t("mail.password_saved"));
            page.link = "/admin/login".into();
            page.link_label = c.t("mail.sign_in").into();
            let mut response = html(&page, StatusCode::OK);
            // This browser's session, if any, ended with the others.
            if let Ok(v) = HeaderValue::from_str(&session::session_cookie(&state, "", 0)) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Ok(other) => dead_link(c, &other),
        Err(e) => error_page(&c, e.into()),
    }
}

pub async fn invite_form(
    State(state): State<AppState>,
    c: Ctx,
    query: QueryResult<TokenQuery>,
) -> Response {
    choose_form(state, c, query, LinkPurpose::Invite).await
}

pub async fn reset_form(
    State(state): State<AppState>,
    c: Ctx,
    query: QueryResult<TokenQuery>,
) -> Response {
    choose_form(state, c, query, LinkPurpose::Reset).await
}

pub async fn invite_choose(
    State(state): State<AppState>,
    c: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    choose(state, c, headers, body, LinkPurpose::Invite).await
}

pub async fn reset_choose(
    State(state): State<AppState>,
    c: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    choose(state, c, headers, body, LinkPurpose::Reset).await
}
