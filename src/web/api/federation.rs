//! Federation through the API: whom the instance follows, who follows a pole (and the
//! approval of followers), and the replies, likes and boosts of what a pole publishes.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::poles::editable_pole;
use super::views::PageView;
use crate::federation::activities::accept::answer_follow;
use crate::federation::activities::undo::unfollow;
use crate::store::{FollowerRecord, FollowingRecord, Kind, ReplyRecord};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult, ErrorBody};
use crate::web::extract::{ApiJson, Auth, PageParams, Paging};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowInput {
    /// The actor to follow: its URL, a handle such as `pole@instance.example`, or an
    /// instance's domain (its instance actor, found through NodeInfo or as `relay@domain`).
    pub actor: String,
    /// Subscribe to a relay, as Mastodon does: the `Follow` names the public collection, and
    /// the relay receives the instance's public activities. Default `false`.
    #[serde(default)]
    pub relay: bool,
}

/// List whom this instance follows (administrators only).
#[utoipa::path(get, path = "/api/v1/admin/follows", tag = "federation", security(("token" = [])),
    responses((status = 200, body = Vec<FollowingRecord>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_follows(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<FollowingRecord>>> {
    auth.require_admin()?;
    let actor = state.fed.instance_actor_id();
    Ok(Json(state.store.list_following(&actor).await?))
}

/// Follow an actor (a pole of another instance, or any ActivityPub actor) from this
/// instance; the follow is `pending` until the actor accepts it.
#[utoipa::path(post, path = "/api/v1/admin/follows", tag = "federation", request_body = FollowInput,
    security(("token" = [])),
    responses((status = 202, body = FollowingRecord), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn create_follow(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<FollowInput>,
) -> ApiResult<(StatusCode, Json<FollowingRecord>)> {
    auth.require_admin()?;
    let record = follow_instance(&state, &input.actor, input.relay, &auth.user.username).await?;
    Ok((StatusCode::ACCEPTED, Json(record)))
}

/// Follows an actor (given by URL, handle or domain) as the instance; the API and the
/// administration pages both come here.
pub(crate) async fn follow_instance(
    state: &AppState,
    given: &str,
    relay: bool,
    username: &str,
) -> ApiResult<FollowingRecord> {
    let record = crate::federation::activities::follow::follow_actor(
        &state.fed,
        &state.fed.instance_actor_id(),
        given,
        relay,
    )
    .await?;
    tracing::info!(actor = %record.actor.ap_id, relay, user = %username, "following");
    Ok(record)
}

/// Stop following an actor.
#[utoipa::path(delete, path = "/api/v1/admin/follows/{id}", tag = "federation", params(("id" = i64, Path), UnfollowOptions),
    security(("token" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_follow(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(options): Query<UnfollowOptions>,
) -> ApiResult<StatusCode> {
    auth.require_admin()?;
    let following = state.store.following(id).await?;
    if following.local_actor != state.fed.instance_actor_id() {
        return Err(ApiError::NotFound(format!("follow {id}")));
    }
    unfollow(&state.fed, id).await?;
    if options.purge.unwrap_or(false) {
        crate::federation::activities::announce::purge(&state.fed, &following.actor.ap_id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UnfollowOptions {
    /// Also forget the poles and objects that came through this instance (those one of our
    /// actors follows directly stay).
    pub purge: Option<bool>,
}

/// List who follows a pole, pending requests included (the pole's editors).
#[utoipa::path(get, path = "/api/v1/poles/{slug}/followers", tag = "federation",
    params(("slug" = String, Path), PageParams), security(("token" = [])),
    responses((status = 200, body = PageView<FollowerRecord>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_followers(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    Paging(page): Paging,
) -> ApiResult<Json<PageView<FollowerRecord>>> {
    let pole = editable_pole(&state, &auth, &slug).await?;
    Ok(Json(
        state.store.list_followers(&pole.ap_id, page).await?.into(),
    ))
}

async fn pole_follower(
    state: &AppState,
    auth: &Auth,
    slug: &str,
    id: i64,
) -> ApiResult<FollowerRecord> {
    let pole = editable_pole(state, auth, slug).await?;
    let follower = state.store.follower(id).await?;
    if follower.pole_id != Some(pole.id) {
        return Err(ApiError::NotFound(format!("follower {id} of `{slug}`")));
    }
    Ok(follower)
}

/// Accept a pending follower: it receives an `Accept`, then what the pole publishes.
#[utoipa::path(post, path = "/api/v1/poles/{slug}/followers/{id}/accept", tag = "federation",
    params(("slug" = String, Path), ("id" = i64, Path)), security(("token" = [])),
    responses((status = 200, body = FollowerRecord), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn accept_follower(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, i64)>,
) -> ApiResult<Json<FollowerRecord>> {
    pole_follower(&state, &auth, &slug, id).await?;
    let follower = state.store.set_follower_state(id, "accepted").await?;
    crate::federation::activities::follow::welcome(&state.fed, &follower).await?;
    Ok(Json(follower))
}

/// Refuse a follower, pending or not: it receives a `Reject` and nothing more.
#[utoipa::path(post, path = "/api/v1/poles/{slug}/followers/{id}/reject", tag = "federation",
    params(("slug" = String, Path), ("id" = i64, Path)), security(("token" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reject_follower(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, i64)>,
) -> ApiResult<StatusCode> {
    let follower = pole_follower(&state, &auth, &slug, id).await?;
    answer_follow(&state.fed, &follower, false).await?;
    state.store.delete_follower(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InteractionsQuery {
    /// Include replies awaiting approval or rejected (the pole's editors only).
    #[serde(default)]
    pub all: Option<bool>,
}

/// What other servers did with an object.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InteractionsView {
    pub likes: u64,
    /// Boosts (`Announce`).
    pub shares: u64,
    pub replies: Vec<ReplyRecord>,
}

async fn interactions(
    state: &AppState,
    auth: Option<&Auth>,
    kind: Kind,
    public_id: &str,
    all: bool,
) -> ApiResult<InteractionsView> {
    let (id, pole_id) = match kind {
        Kind::Project => state
            .store
            .project(public_id)
            .await
            .map(|r| (r.id, r.pole_id))?,
        Kind::Event => state
            .store
            .event(public_id)
            .await
            .map(|r| (r.id, r.pole_id))?,
        Kind::Call => state
            .store
            .call(public_id)
            .await
            .map(|r| (r.id, r.pole_id))?,
    };
    if all {
        let auth = auth.ok_or_else(|| {
            ApiError::Unauthorized(
                "replies awaiting approval are shown to the pole's editors".into(),
            )
        })?;
        auth.require_pole(pole_id)?;
    }
    let (likes, shares) = state.store.reaction_counts(kind, id).await?;
    let replies = state.store.list_replies(kind, id, all).await?;
    Ok(InteractionsView {
        likes,
        shares,
        replies,
    })
}

macro_rules! interactions_handler {
    ($name:ident, $kind:expr, $path:literal, $tag:literal) => {
        #[doc = concat!("Replies, likes and boosts from other servers of one of the ", $tag, ".")]
        #[utoipa::path(get, path = $path, tag = "federation",
            summary = concat!("Replies, likes and boosts from other servers of one of the ", $tag),
            params(("id" = String, Path), InteractionsQuery),
            responses((status = 200, body = InteractionsView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
        pub async fn $name(
            State(state): State<AppState>,
            auth: Option<Auth>,
            Path(id): Path<String>,
            query: Result<Query<InteractionsQuery>, axum::extract::rejection::QueryRejection>,
        ) -> ApiResult<Json<InteractionsView>> {
            let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
            Ok(Json(
                interactions(&state, auth.as_ref(), $kind, &id, query.all.unwrap_or(false)).await?,
            ))
        }
    };
}

interactions_handler!(
    project_interactions,
    Kind::Project,
    "/api/v1/projects/{id}/interactions",
    "projects"
);
interactions_handler!(
    event_interactions,
    Kind::Event,
    "/api/v1/events/{id}/interactions",
    "events"
);
interactions_handler!(
    call_interactions,
    Kind::Call,
    "/api/v1/calls/{id}/interactions",
    "calls"
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyModeration {
    /// `visible` to show the reply, `rejected` to hide it.
    pub state: String,
}

/// Show or hide a reply (the pole's editors).
#[utoipa::path(put, path = "/api/v1/replies/{id}/state", tag = "federation", params(("id" = i64, Path)),
    request_body = ReplyModeration, security(("token" = [])),
    responses((status = 200, body = ReplyRecord), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn moderate_reply(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ReplyModeration>,
) -> ApiResult<Json<ReplyRecord>> {
    if !matches!(input.state.as_str(), "visible" | "rejected") {
        return Err(ApiError::Invalid(crate::domain::ValidationErrors::single(
            "state",
            crate::domain::Message::new(crate::domain::Code::OneOf)
                .arg("expected", "`visible`, `rejected`"),
        )));
    }
    let reply = state.store.reply(id).await?;
    auth.require_pole(reply.pole_id)?;
    Ok(Json(state.store.set_reply_state(id, &input.state).await?))
}

/// Instances (and other actors) following this instance's actor, pending ones too
/// (administrators only).
#[utoipa::path(get, path = "/api/v1/admin/followers", tag = "federation", params(PageParams),
    security(("token" = [])),
    responses((status = 200, body = PageView<FollowerRecord>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_instance_followers(
    State(state): State<AppState>,
    auth: Auth,
    Paging(page): Paging,
) -> ApiResult<Json<PageView<FollowerRecord>>> {
    auth.require_admin()?;
    let followers = state
        .store
        .list_followers(&state.fed.instance_actor_id(), page)
        .await?;
    Ok(Json(followers.into()))
}

/// Answers an instance (or other actor) asking to follow this instance's actor: accepted, it
/// receives an `Accept`, then the directory; refused, a `Reject`, and it is removed. The API
/// and the administration pages both come here.
pub(crate) async fn answer_instance_follower(
    state: &AppState,
    id: i64,
    accept: bool,
    username: &str,
) -> ApiResult<FollowerRecord> {
    let follower = state.store.follower(id).await?;
    if follower.local_actor != state.fed.instance_actor_id() {
        return Err(ApiError::NotFound(format!(
            "follower {id} of this instance"
        )));
    }
    let follower = if accept {
        let follower = state.store.set_follower_state(id, "accepted").await?;
        crate::federation::activities::follow::welcome(&state.fed, &follower).await?;
        follower
    } else {
        answer_follow(&state.fed, &follower, false).await?;
        state.store.delete_follower(id).await?;
        follower
    };
    tracing::info!(actor = %follower.actor.ap_id, user = %username, accept, "answered an instance follower");
    Ok(follower)
}

/// Accept an instance waiting to follow this one: it receives an `Accept`, then every public
/// object of the local poles, then their changes.
#[utoipa::path(post, path = "/api/v1/admin/followers/{id}/accept", tag = "federation",
    params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 200, body = FollowerRecord), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn accept_instance_follower(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<FollowerRecord>> {
    auth.require_admin()?;
    Ok(Json(
        answer_instance_follower(&state, id, true, &auth.user.username).await?,
    ))
}

/// Refuse an instance following this one, pending or not: it receives a `Reject`.
#[utoipa::path(post, path = "/api/v1/admin/followers/{id}/reject", tag = "federation",
    params(("id" = i64, Path)), security(("token" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reject_instance_follower(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    auth.require_admin()?;
    answer_instance_follower(&state, id, false, &auth.user.username).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DiscoverQuery {
    /// The instance to start from: a domain or a URL.
    pub from: String,
    /// How many follows away to look, 0 to 3 (default 2).
    pub depth: Option<u32>,
}

/// Walk the graph of instances from one of them (whom each follows, and its peers) and list
/// what is found, with its poles, régions and last activity; nothing is followed
/// (administrators only).
#[utoipa::path(get, path = "/api/v1/admin/discover", tag = "federation", params(DiscoverQuery),
    security(("token" = [])),
    responses((status = 200, body = Vec<crate::federation::fetch::discover::FoundInstance>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn discover(
    State(state): State<AppState>,
    auth: Auth,
    Query(query): Query<DiscoverQuery>,
) -> ApiResult<Json<Vec<crate::federation::fetch::discover::FoundInstance>>> {
    auth.require_admin()?;
    let depth = query.depth.unwrap_or(2);
    if depth > 3 {
        return Err(ApiError::BadRequest(format!(
            "`depth` is {depth}; at most 3 is allowed"
        )));
    }
    if crate::federation::fetch::discover::domain_of(&query.from).is_none() {
        return Err(ApiError::BadRequest(format!(
            "`from`: `{}` is not a domain or a URL",
            query.from
        )));
    }
    Ok(Json(
        crate::federation::fetch::discover::discover(&state.fed, &query.from, depth).await,
    ))
}
