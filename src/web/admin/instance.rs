//! The instance's federation page, for administrators: the instances and relays it follows,
//! its followers, blocked domains and the delivery queue, with their forms. A refused
//! submission shows the page again with what was typed and its error.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::access::Admin;
use super::dashboard::FollowerRow;
use super::submit::{Answer, FlashQuery, QueryResult, flash, run, submit};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::pages::{Ctx, Lang, Meta, html, views};

/// A destination of the delivery queue as the page shows it.
struct QueueRow {
    domain: String,
    pending: u64,
    failed: u64,
    delivered: u64,
    health: String,
}

/// A stored block as the page shows it.
struct BlockRow {
    domain: String,
    reason: String,
    since: String,
    by: String,
}

#[derive(Template)]
#[template(path = "admin/federation.html")]
struct FederationPage {
    c: Ctx,
    meta: Meta,
    flash: String,
    form: FederationForm,
    follows: Vec<FollowerRow>,
    followers: Vec<FollowerRow>,
    blocks: Vec<BlockRow>,
    configured: Vec<String>,
    queue: Vec<QueueRow>,
}

/// What was typed in the page's forms and what was wrong with it, shown again after a
/// refused submission.
#[derive(Default)]
struct FederationForm {
    /// The follow form's error.
    error: String,
    actor: String,
    relay: bool,
    domain: String,
    reason: String,
    domain_error: String,
    reason_error: String,
}

/// Instance followers shown at most; the API lists them all, page by page.
const INSTANCE_FOLLOWERS_SHOWN: u64 = 500;

fn state_label(state: &str, lang: Lang) -> &'static str {
    match state {
        "pending" => lang.t("admin.pending"),
        "accepted" => lang.t("admin.accepted"),
        _ => lang.t("admin.refused"),
    }
}

fn actor_row(id: i64, actor: &crate::store::RemoteActor, state: &str, lang: Lang) -> FollowerRow {
    FollowerRow {
        id,
        handle: actor.handle(),
        url: actor.url.clone().unwrap_or_else(|| actor.ap_id.clone()),
        pending: state == "pending",
        state: state_label(state, lang),
        relay: false,
    }
}

async fn federation_view(
    state: &AppState,
    admin: &Admin,
    flash_text: String,
    form: FederationForm,
    status: StatusCode,
) -> Result<Response, ApiError> {
    admin.auth.require_admin()?;
    let lang = admin.lang();
    let instance = state.fed.instance_actor_id();
    let follows = state
        .store
        .list_following(&instance)
        .await?
        .into_iter()
        .map(|f| {
            let mut row = actor_row(f.id, &f.actor, &f.state, lang);
            row.relay = f.relay;
            row
        })
        .collect();
    let followers = state
        .store
        .list_followers(
            &instance,
            crate::store::PageRequest {
                page: 1,
                per_page: INSTANCE_FOLLOWERS_SHOWN,
            },
        )
        .await?
        .items
        .into_iter()
        .map(|f| actor_row(f.id, &f.actor, &f.state, lang))
        .collect();
    let blocks = state
        .store
        .domain_blocks()
        .await?
        .into_iter()
        .map(|b| BlockRow {
            domain: b.domain,
            reason: b.reason.unwrap_or_default(),
            since: views::timestamp(b.created_at, lang),
            by: b.created_by.unwrap_or_default(),
        })
        .collect();
    let queue = state
        .store
        .queue_state()
        .await?
        .into_iter()
        .map(|q| QueueRow {
            health: if q.unreachable {
                lang.t("admin.unreachable").to_owned()
            } else if let Some(since) = q.failing_since {
                format!(
                    "{} {}",
                    lang.t("admin.failing_since"),
                    views::timestamp(since, lang)
                )
            } else {
                lang.t("admin.healthy").to_owned()
            },
            domain: q.domain,
            pending: q.pending,
            failed: q.failed,
            delivered: q.delivered,
        })
        .collect();
    Ok(html(
        &FederationPage {
            meta: Meta::new(lang.t("admin.federation"), "", String::new()),
            flash: flash_text,
            form,
            follows,
            followers,
            blocks,
            configured: state.fed.client.blocks().configured().to_vec(),
            queue,
            c: admin.c.clone(),
        },
        status,
    ))
}

pub async fn federation_page(
    State(state): State<AppState>,
    admin: Admin,
    q: QueryResult<FlashQuery>,
) -> Response {
    run(
        &admin.c,
        federation_view(
            &state,
            &admin,
            flash(q.ok()),
            FederationForm::default(),
            StatusCode::OK,
        ),
    )
    .await
}

/// The status of a refused submission shown again with its error: that of the error for a
/// mistake of the person, 502 when the other server failed.
fn shown_error(e: &ApiError) -> Option<StatusCode> {
    let status = e.status();
    (status.is_client_error() || status == StatusCode::BAD_GATEWAY).then_some(status)
}

/// The page again after a refused submission, with what was typed and its error.
async fn again(
    state: &AppState,
    admin: &Admin,
    form: FederationForm,
    status: StatusCode,
) -> Result<Answer, ApiError> {
    let page = federation_view(state, admin, String::new(), form, status).await?;
    Ok(Answer::Page(page))
}

pub async fn follow_create(State(state): State<AppState>, admin: Admin, body: Bytes) -> Response {
    submit(&state, &admin, &body, async |form| {
        admin.auth.require_admin()?;
        let actor = form.get("actor");
        let relay = form.checked("relay");
        if actor.is_empty() {
            let form = FederationForm {
                error: admin.t("admin.follow_empty").to_owned(),
                actor,
                relay,
                ..Default::default()
            };
            return again(&state, &admin, form, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        let user = &admin.auth.user.username;
        match crate::web::api::federation::follow_instance(&state, &actor, relay, user).await {
            Ok(_) => Ok(Answer::done(
                "/admin/federation",
                admin.t("admin.follow_sent"),
            )),
            Err(e) => match shown_error(&e) {
                Some(status) => {
                    let form = FederationForm {
                        error: e.to_string(),
                        actor,
                        relay,
                        ..Default::default()
                    };
                    again(&state, &admin, form, status).await
                }
                None => Err(e),
            },
        }
    })
    .await
}

/// An administrator's federation action posted from a button: the form's token and the
/// role are checked, then `action` runs, and the federation page shows the message it gives.
async fn federation_action(
    state: &AppState,
    admin: &Admin,
    body: &[u8],
    action: impl Future<Output = Result<String, ApiError>>,
) -> Response {
    submit(state, admin, body, async |_| {
        admin.auth.require_admin()?;
        let message = action.await?;
        Ok(Answer::done("/admin/federation", message))
    })
    .await
}

pub async fn follow_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let action = async {
        let following = state.store.following(id).await?;
        if following.local_actor != state.fed.instance_actor_id() {
            return Err(ApiError::NotFound(format!("follow {id}")));
        }
        crate::federation::activities::undo::unfollow(&state.fed, id).await?;
        Ok(admin.t("admin.unfollowed").to_owned())
    };
    federation_action(&state, &admin, &body, action).await
}

async fn instance_follower_answer(
    state: &AppState,
    admin: &Admin,
    id: i64,
    body: &[u8],
    accept: bool,
) -> Response {
    let action = async {
        crate::web::api::federation::answer_instance_follower(
            state,
            id,
            accept,
            &admin.auth.user.username,
        )
        .await?;
        Ok(admin
            .t(if accept {
                "admin.accepted_instance"
            } else {
                "admin.refused_instance"
            })
            .to_owned())
    };
    federation_action(state, admin, body, action).await
}

pub async fn instance_follower_accept(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    instance_follower_answer(&state, &admin, id, &body, true).await
}

pub async fn instance_follower_reject(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    instance_follower_answer(&state, &admin, id, &body, false).await
}

pub async fn block_create(State(state): State<AppState>, admin: Admin, body: Bytes) -> Response {
    submit(&state, &admin, &body, async |form| {
        admin.auth.require_admin()?;
        let mut typed = FederationForm {
            domain: form.get("domain"),
            reason: form.get("reason"),
            ..Default::default()
        };
        if typed.domain.trim().is_empty() {
            typed.domain_error = admin.t("admin.block_empty").to_owned();
        } else if crate::federation::fetch::url_check::parse_domain(&typed.domain).is_err() {
            typed.domain_error = format!("{} {}", admin.t("admin.block_bad_domain"), typed.domain);
        }
        if typed.reason.trim().chars().count() > crate::federation::blocks::MAX_REASON {
            typed.reason_error = admin.t("admin.block_reason_long").to_owned();
        }
        if !typed.domain_error.is_empty() || !typed.reason_error.is_empty() {
            return again(&state, &admin, typed, StatusCode::BAD_REQUEST).await;
        }
        let reason = Some(typed.reason.as_str());
        match crate::federation::blocks::block(
            &state.fed,
            &typed.domain,
            reason,
            Some(&admin.auth.user.username),
        )
        .await
        .map_err(ApiError::from)
        {
            Ok(record) => Ok(Answer::done(
                "/admin/federation",
                format!("{} {}", admin.t("admin.blocked"), record.domain),
            )),
            Err(e) => match shown_error(&e) {
                Some(status) => {
                    typed.domain_error = e.to_string();
                    again(&state, &admin, typed, status).await
                }
                None => Err(e),
            },
        }
    })
    .await
}

pub async fn block_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(domain): Path<String>,
    body: Bytes,
) -> Response {
    let action = async {
        crate::federation::blocks::unblock(&state.fed, &domain, Some(&admin.auth.user.username))
            .await?;
        Ok(format!("{} {}", admin.t("admin.unblocked"), domain.trim()))
    };
    federation_action(&state, &admin, &body, action).await
}
