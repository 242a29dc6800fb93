//! A person's own account (whether they receive the daily digest), the invitation of a
//! pole's editors by e-mail (administrators), and the digest's unsubscribe link, which works
//! without signing in.
//!
//! It stands on [`super::password`] (the notice page), [`super::submit`] and [`super::access`].

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::access::Admin;
use super::password::{NoticePage, TokenQuery};
use super::submit::{Answer, FlashQuery, QueryResult, flash, run, submit};
use crate::store::{Link, LinkPurpose, PoleRecord, StoreError};
use crate::web::AppState;
use crate::web::mail::send_invitation;
use crate::web::pages::{Ctx, Meta, error_page, html};

#[derive(Template)]
#[template(path = "admin/account.html")]
struct AccountPage {
    c: Ctx,
    meta: Meta,
    flash: String,
    username: String,
    email: String,
    enabled: bool,
    digest: bool,
}

pub async fn account(
    State(state): State<AppState>,
    admin: Admin,
    q: QueryResult<FlashQuery>,
) -> Response {
    run(&admin.c, async {
        let user = &admin.auth.user;
        Ok(html(
            &AccountPage {
                meta: Meta::new(admin.t("mail.account_title"), "", String::new()),
                flash: flash(q.ok()),
                username: user.username.clone(),
                email: user.email.clone().unwrap_or_default(),
                enabled: state.mailer.enabled(),
                digest: state.store.wants_digest(user.id).await?,
                c: admin.c.clone(),
            },
            StatusCode::OK,
        ))
    })
    .await
}

pub async fn account_save(State(state): State<AppState>, admin: Admin, body: Bytes) -> Response {
    submit(&state, &admin, &body, async |form| {
        state
            .store
            .set_wants_digest(admin.auth.user.id, form.checked("digest"))
            .await?;
        Ok(Answer::done("/admin/account", admin.t("mail.saved")))
    })
    .await
}

#[derive(Template)]
#[template(path = "admin/invite.html")]
struct InvitePage {
    c: Ctx,
    meta: Meta,
    slug: String,
    name: String,
    enabled: bool,
    email: String,
    error: String,
}

fn invite_page(
    state: &AppState,
    admin: &Admin,
    pole: &PoleRecord,
    email: String,
    error: String,
    status: StatusCode,
) -> Response {
    html(
        &InvitePage {
            meta: Meta::new(admin.t("mail.invite_title"), "", String::new()),
            c: admin.c.clone(),
            slug: pole.pole.slug.clone(),
            name: pole.pole.name.clone(),
            enabled: state.mailer.enabled(),
            email,
            error,
        },
        status,
    )
}

pub async fn invite_form(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
) -> Response {
    run(&admin.c, async {
        admin.auth.require_admin()?;
        let pole = admin.pole(&state, &slug).await?;
        Ok(invite_page(
            &state,
            &admin,
            &pole,
            String::new(),
            String::new(),
            StatusCode::OK,
        ))
    })
    .await
}

pub async fn invite(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        admin.auth.require_admin()?;
        let pole = admin.pole(&state, &slug).await?;
        let email = form.get("email").trim().to_owned();
        let page = |error: String, status| {
            Ok(Answer::Page(invite_page(
                &state,
                &admin,
                &pole,
                email.clone(),
                error,
                status,
            )))
        };
        if !state.mailer.enabled() {
            return page(
                admin.t("mail.invite_not_configured").to_owned(),
                StatusCode::CONFLICT,
            );
        }
        let invited = match state.store.invite_editor(&email, pole.id).await {
            Ok(invited) => invited,
            Err(StoreError::Invalid(_)) => {
                return page(
                    admin.t("mail.bad_email").to_owned(),
                    StatusCode::UNPROCESSABLE_ENTITY,
                );
            }
            Err(e) => return Err(e.into()),
        };
        tracing::info!(by = %admin.auth.user.username, user = %invited.user.username, pole = %slug, "editor invited");
        let sent = send_invitation(
            &state.store,
            &state.mailer,
            &invited,
            &pole.pole.name,
            &[admin.lang()],
        )
        .await;
        match sent {
            Ok(()) => {
                let what = if invited.needs_password {
                    "mail.invited"
                } else {
                    "mail.granted"
                };
                Ok(Answer::done(
                    format!("/admin/poles/{slug}"),
                    format!("{} {email}", admin.t(what)),
                ))
            }
            Err(e) => page(
                format!("{} {e}", admin.t("mail.invite_send_failed")),
                StatusCode::BAD_GATEWAY,
            ),
        }
    })
    .await
}

fn unsubscribe_token(query: QueryResult<TokenQuery>) -> String {
    query
        .ok()
        .and_then(|Query(q)| q.token)
        .filter(|t| t.len() <= 100)
        .unwrap_or_default()
}

/// The digest's link: a page with one button (mail scanners follow links, so the link alone
/// changes nothing).
pub async fn unsubscribe_form(
    State(state): State<AppState>,
    c: Ctx,
    query: QueryResult<TokenQuery>,
) -> Response {
    let token = unsubscribe_token(query);
    match state
        .store
        .link(&crate::auth::hash_token(&token), LinkPurpose::Unsubscribe)
        .await
    {
        Ok(Link::Valid(_)) => {
            let mut page = NoticePage::new(
                c.clone(),
                c.t("mail.unsubscribe_title"),
                c.t("mail.unsubscribe_help"),
            );
            page.action = format!("/mail/unsubscribe?token={token}");
            page.button = c.t("mail.unsubscribe_button").into();
            html(&page, StatusCode::OK)
        }
        Ok(_) => unsubscribe_dead(c),
        Err(e) => error_page(&c, e.into()),
    }
}

fn unsubscribe_dead(c: Ctx) -> Response {
    let mut page = NoticePage::new(
        c.clone(),
        c.t("mail.link_unknown"),
        c.t("mail.link_unknown_text"),
    );
    page.link = "/admin/account".into();
    page.link_label = c.t("mail.account_link").into();
    html(&page, StatusCode::NOT_FOUND)
}

/// The button, or a mail reader's one-click `POST` (RFC 8058): the digest stops.
pub async fn unsubscribe(
    State(state): State<AppState>,
    c: Ctx,
    query: QueryResult<TokenQuery>,
) -> Response {
    let token = unsubscribe_token(query);
    let user = match state
        .store
        .link(&crate::auth::hash_token(&token), LinkPurpose::Unsubscribe)
        .await
    {
        Ok(Link::Valid(user)) => user,
        Ok(_) => return unsubscribe_dead(c),
        Err(e) => return error_page(&c, e.into()),
    };
    if let Err(e) = state.store.set_wants_digest(user.id, false).await {
        return error_page(&c, e.into());
    }
    tracing::info!(user = %user.username, "digest stopped by its link");
    let page = NoticePage::new(
        c.clone(),
        c.t("mail.unsubscribe_title"),
        c.t("mail.unsubscribed"),
    );
    html(&page, StatusCode::OK)
}
