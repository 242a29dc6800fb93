//! Discovery (WebFinger, host-meta, NodeInfo) and the actors' documents.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::metrics::InboxOutcome;
use crate::federation::objects::context::wants_activity_json;
use crate::federation::objects::group::Group;
use crate::federation::objects::instance::{Application, INSTANCE_ACTOR_NAME};
use crate::store::PageRequest;

/// An ActivityPub document with its media type.
fn activity_json<T: Serialize>(value: &T) -> Response {
    let mut response = Json(value).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/activity+json; charset=utf-8"),
    );
    // The same URL answers HTML to browsers: caches must keep the two apart.
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

fn bad_url(e: url::ParseError) -> ApiError {
    ApiError::Internal(format!("cannot build an actor URL: {e}"))
}

#[derive(Debug, Deserialize)]
pub struct WebfingerQuery {
    resource: Option<String>,
}

/// WebFinger (RFC 7033): `acct:slug@domain` for a pole, `acct:relay@domain` for the instance.
pub async fn webfinger(
    State(state): State<AppState>,
    query: Result<Query<WebfingerQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let resource = query
        .resource
        .ok_or_else(|| ApiError::BadRequest("the `resource` parameter is required".into()))?;
    let store = &state.store;
    let (subject, actor, kind) = if let Some(acct) = resource.strip_prefix("acct:") {
        let (user, host) = acct
            .trim_start_matches('@')
            .rsplit_once('@')
            .ok_or_else(|| ApiError::BadRequest(format!("`{resource}` is not acct:name@domain")))?;
        if !host.eq_ignore_ascii_case(store.domain()) {
            return Err(ApiError::NotFound(format!(
                "`{resource}` (this server is {})",
                store.domain()
            )));
        }
        let user = user.to_ascii_lowercase();
        if user == INSTANCE_ACTOR_NAME {
            (resource.clone(), store.url("/actor"), "Application")
        } else {
            let pole = store.pole(&user).await?;
            (
                format!("acct:{}@{}", pole.pole.slug, store.domain()),
                pole.ap_id,
                "Group",
            )
        }
    } else if resource == store.url("/actor") {
        (
            format!("acct:{INSTANCE_ACTOR_NAME}@{}", store.domain()),
            resource.clone(),
            "Application",
        )
    } else if let Some(slug) = resource.strip_prefix(&store.url("/poles/")) {
        let pole = store.pole(slug).await?;
        (
            format!("acct:{}@{}", pole.pole.slug, store.domain()),
            pole.ap_id,
            "Group",
        )
    } else {
        return Err(ApiError::NotFound(format!("`{resource}`")));
    };
    let url = url::Url::parse(&actor).map_err(bad_url)?;
    let mut document = activitypub_federation::fetch::webfinger::build_webfinger_response_with_type(
        subject,
        vec![(url.clone(), Some(kind))],
    );
    document.aliases = vec![url];
    // No `"template": null` and the like: a field that has no value is left out (RFC 7033).
    let mut document = serde_json::to_value(document)
        .map_err(|e| ApiError::Internal(format!("cannot write a WebFinger document: {e}")))?;
    if let Some(links) = document["links"].as_array_mut() {
        for link in links
            .iter_mut()
            .filter_map(serde_json::Value::as_object_mut)
        {
            link.retain(|_, v| !v.is_null());
        }
    }
    let mut response = Json(document).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jrd+json; charset=utf-8"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

/// host-meta (RFC 6415): where WebFinger is, for older software that looks here first.
pub async fn host_meta(State(state): State<AppState>) -> Response {
    let template = state.store.url("/.well-known/webfinger?resource={uri}");
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" template=\"{}\"/>\n</XRD>\n",
        template.replace('&', "&amp;").replace('"', "&quot;")
    );
    (
        [(header::CONTENT_TYPE, "application/xrd+xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The NodeInfo index, with the FEP-2677 link to the instance actor.
pub async fn nodeinfo_links(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({
        "links": [
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": state.store.url("/nodeinfo/2.1")},
            {"rel": "https://www.w3.org/ns/activitystreams#Application", "href": state.store.url("/actor")}
        ]
    }))
}

/// NodeInfo 2.1: what software this is and how much it holds.
pub async fn nodeinfo(State(state): State<AppState>) -> ApiResult<Response> {
    let settings = state.store.ensure_instance("Maillage").await?;
    let poles = state.store.count_poles().await?;
    let objects = state.store.count_local_objects().await?;
    let (regions, last_activity) = local_summary(&state).await?;
    let peers = state.store.peers(&state.fed.instance_actor_id()).await?;
    let mut response = Json(json!({
        "version": "2.1",
        "software": {
            "name": "maillage",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": false,
        "usage": {
            "users": {"total": poles, "activeHalfyear": poles, "activeMonth": poles},
            "localPosts": objects
        },
        "metadata": {
            "nodeName": settings.name,
            "nodeDescription": settings.summary,
            "poles": poles,
            "regions": regions,
            "lastActivity": last_activity,
            "peers": peers
        }
    }))
    .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
        ),
    );
    Ok(response)
}

/// The régions of the local poles and when a project, event or call of theirs was last
/// published (created, changed or deleted; not a profile edit): what an administrator
/// looking for instances to follow wants to know (see `discover`).
async fn local_summary(
    state: &AppState,
) -> ApiResult<(Vec<String>, Option<chrono::DateTime<chrono::Utc>>)> {
    let mut regions = std::collections::BTreeSet::new();
    let last = state.store.last_publication().await?;
    for pole in state.store.all_local_poles().await? {
        regions.extend(
            pole.pole
                .territory
                .view()
                .regions
                .into_iter()
                .map(|r| r.name),
        );
    }
    Ok((regions.into_iter().collect(), last))
}

/// The domains of this instance's peers (the instances it follows or that follow it), as a
/// JSON list, at the path Mastodon uses.
pub async fn peers(State(state): State<AppState>) -> ApiResult<Json<Vec<String>>> {
    Ok(Json(
        state.store.peers(&state.fed.instance_actor_id()).await?,
    ))
}

/// The instance actor, an `Application`.
pub async fn instance_actor(State(state): State<AppState>) -> ApiResult<Response> {
    let settings = state.store.ensure_instance("Maillage").await?;
    let keys = state.store.instance_keys().await?;
    let actor = Application::new(
        &state.store,
        &settings.name,
        settings.summary.as_deref(),
        &keys,
    )
    .map_err(bad_url)?;
    Ok(activity_json(&actor))
}

/// A pole: its `Group` document for federation clients, a page for browsers.
pub async fn pole(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult<Response> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    if !wants_activity_json(accept) {
        let c = crate::web::pages::Ctx::build(&state, &headers, &uri).await;
        return Ok(crate::web::pages::pole::pole_page(&state, &c, &slug).await);
    }
    let record = state.store.pole(&slug).await?;
    let keys = state.store.pole_keys(record.id).await?;
    let members = state.store.all_members(record.id).await?;
    let group = Group::new(&state.store, &record, &members, &keys).map_err(bad_url)?;
    Ok(activity_json(&group))
}

/// With `federation.require_signed_fetch`, a federation client's GET of an actor, a
/// collection or an object must be signed by an actor whose key verifies, as Mastodon's
/// secure mode asks; a browser's GET of the same URL still gets the page.
pub async fn signed_fetch(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !state.config.federation.require_signed_fetch || !wants_json(request.headers()) {
        return next.run(request).await;
    }
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| request.uri().path().to_owned());
    let headers = crate::federation::signatures::header_map(request.headers());
    let method = request.method().as_str().to_ascii_lowercase();
    match crate::federation::fetch::senders::authenticate_fetch(
        &state.fed,
        &method,
        &path_and_query,
        headers,
    )
    .await
    {
        Ok(actor) => {
            tracing::debug!(actor = %actor.ap_id(), path = %path_and_query, "signed fetch");
            next.run(request).await
        }
        Err(e) => {
            tracing::info!(path = %path_and_query, error = %e, "unsigned or unverified fetch refused");
            ApiError::from(e).into_response()
        }
    }
}

/// A deleted object, to federation clients: a `Tombstone` with 410 Gone.
fn tombstone(id: &str) -> Response {
    let mut response = activity_json(&json!({
        "@context": crate::federation::objects::context::context(),
        "id": id,
        "type": "Tombstone",
    }));
    *response.status_mut() = axum::http::StatusCode::GONE;
    response
}

fn wants_json(headers: &HeaderMap) -> bool {
    wants_activity_json(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))
}

macro_rules! object_document {
    ($name:ident, $get:ident, $data:ty, $path:literal, |$state:ident, $record:ident, $author:ident| $json:expr) => {
        pub async fn $name(
            State($state): State<AppState>,
            Path(id): Path<String>,
            headers: HeaderMap,
            uri: axum::http::Uri,
        ) -> ApiResult<Response> {
            if !wants_json(&headers) {
                let c = crate::web::pages::Ctx::build(&$state, &headers, &uri).await;
                let record = $state.store.$get(&id).await;
                return Ok(
                    crate::web::pages::object::object_page::<$data>(&$state, &c, record).await,
                );
            }
            let ap_id = $state.store.url(&format!(concat!("/", $path, "/{}"), id));
            let $record = match $state.store.$get(&id).await {
                Ok(record) => record,
                Err(crate::store::StoreError::Gone(_)) if wants_json(&headers) => {
                    return Ok(tombstone(&ap_id))
                }
                Err(e) => return Err(e.into()),
            };
            let pole = $state.store.pole_by_id($record.pole_id).await?;
            let $author = crate::federation::objects::note::Author {
                ap_id: &pole.ap_id,
                co_organisers: Vec::new(),
            };
            let document = $json.map_err(bad_url)?;
            Ok(activity_json(&document))
        }
    };
}

object_document!(
    project_document,
    project,
    crate::domain::Project,
    "projects",
    |state, record, author| { crate::federation::objects::project::project_note(&record, &author) }
);
object_document!(
    call_document,
    call,
    crate::domain::CallForCooperation,
    "calls",
    |state, record, author| { crate::federation::objects::call::call_note(&record, &author) }
);
object_document!(
    event_document,
    event,
    crate::domain::Event,
    "events",
    |state, record, author| {
        let author = crate::federation::objects::note::Author {
            co_organisers: crate::federation::objects::event::organiser_ids(
                &state.store,
                &record.data,
            ),
            ..author
        };
        crate::federation::objects::event::event_object(&record, &author)
    }
);

#[derive(Debug, Deserialize)]
pub struct OutboxQuery {
    page: Option<String>,
}

const OUTBOX_PAGE: u64 = 20;

/// A pole's outbox: the `Create`, `Update` and `Delete` of its projects, events and calls,
/// newest first, as a paged `OrderedCollection`.
pub async fn outbox(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    query: Result<Query<OutboxQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let pole = state.store.pole(&slug).await?;
    let outbox_id = format!("{}/outbox", pole.ap_id);
    let kinds = ["project", "event", "call"];
    let Some(page) = query.page else {
        let total = state
            .store
            .list_changes(
                pole.id,
                &kinds,
                PageRequest {
                    page: 1,
                    per_page: 1,
                },
            )
            .await?
            .total;
        let last = total.div_ceil(OUTBOX_PAGE).max(1);
        return Ok(activity_json(&json!({
            "@context": crate::federation::objects::context::context(),
            "id": outbox_id,
            "type": "OrderedCollection",
            "totalItems": total,
            "first": format!("{outbox_id}?page=1"),
            "last": format!("{outbox_id}?page={last}"),
        })));
    };
    let page = page_number(&page)?;
    let changes = state
        .store
        .list_changes(
            pole.id,
            &kinds,
            PageRequest {
                page,
                per_page: OUTBOX_PAGE,
            },
        )
        .await?;
    let followers = format!("{}/followers", pole.ap_id);
    let mut items = Vec::with_capacity(changes.items.len());
    for change in &changes.items {
        let Some(ap_id) = &change.ap_id else { continue };
        let kind = match change.action.as_str() {
            "create" => "Create",
            "update" => "Update",
            _ => "Delete",
        };
        let object = if kind == "Delete" {
            json!({"id": ap_id, "type": "Tombstone"})
        } else {
            crate::federation::activities::publish::object_document(
                &state.fed,
                &pole.ap_id,
                &change.kind,
                ap_id,
            )
            .await?
            .unwrap_or_else(|| json!({"id": ap_id, "type": "Tombstone"}))
        };
        items.push(json!({
            "id": format!("{ap_id}#{}-{}", change.action, change.version),
            "type": kind,
            "actor": pole.ap_id,
            "published": change.created_at,
            "to": [crate::federation::objects::context::PUBLIC],
            "cc": [followers],
            "object": object,
        }));
    }
    let mut document = json!({
        "@context": crate::federation::objects::context::context(),
        "id": format!("{outbox_id}?page={page}"),
        "type": "OrderedCollectionPage",
        "partOf": outbox_id,
        "totalItems": changes.total,
        "orderedItems": items,
    });
    if page * OUTBOX_PAGE < changes.total {
        document["next"] = json!(format!("{outbox_id}?page={}", page + 1));
    }
    if page > 1 {
        document["prev"] = json!(format!("{outbox_id}?page={}", page - 1));
    }
    Ok(activity_json(&document))
}

/// Parses `?page=N` of a paged collection.
fn page_number(page: &str) -> ApiResult<u64> {
    page.parse()
        .ok()
        .filter(|p| (1..=1_000_000).contains(p))
        .ok_or_else(|| {
            ApiError::Invalid(crate::domain::ValidationErrors::single(
                "page",
                crate::domain::Message::new(crate::domain::Code::PageNumber).arg("value", page),
            ))
        })
}

/// A theme, where every `Hashtag` we publish points: for browsers, the directory of what
/// carries the theme, with its feeds; for federation clients, an `OrderedCollection` of the
/// ids of those poles, projects, events and calls, most recently changed first, in pages
/// of 20 as the outbox.
pub async fn theme(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult<Response> {
    let theme = crate::domain::vocab::Theme::from_id(&id);
    if !wants_json(&headers) {
        let c = crate::web::pages::Ctx::build(&state, &headers, &uri).await;
        let Some(theme) = theme else {
            let unknown = ApiError::NotFound(format!("theme `{id}`"));
            return Ok(crate::web::pages::error_page(&c, unknown));
        };
        let mut query = format!("theme={}", theme.id());
        if let Some(extra) = uri.query().filter(|q| !q.is_empty()) {
            query.push('&');
            query.push_str(extra);
        }
        let heading = format!(
            "{} {}",
            c.t("theme.title"),
            crate::web::pages::views::Label::label(theme, c.lang)
        );
        return Ok(
            crate::web::pages::directory::directory_page(&state, c, &query, Some(heading)).await,
        );
    }
    let theme = theme.ok_or_else(|| ApiError::NotFound(format!("theme `{id}`")))?;
    let Query(query) = Query::<OutboxQuery>::try_from_uri(&uri)
        .map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let collection_id = crate::federation::objects::note::theme_url(&state.store.url("/"), theme);
    let select = |page: u64, per_page: u64| crate::store::DirectoryQuery {
        theme: Some(theme),
        order: crate::store::search::DirectoryOrder::Updated,
        page,
        per_page,
        ..Default::default()
    };
    let Some(page) = query.page else {
        let total = state.store.search_directory(&select(1, 1)).await?.total;
        let last = total.div_ceil(OUTBOX_PAGE).max(1);
        return Ok(activity_json(&json!({
            "@context": crate::federation::objects::context::context(),
            "id": collection_id,
            "type": "OrderedCollection",
            "url": collection_id,
            "name": crate::federation::objects::note::hashtag_name(theme),
            "totalItems": total,
            "first": format!("{collection_id}?page=1"),
            "last": format!("{collection_id}?page={last}"),
        })));
    };
    let page = page_number(&page)?;
    let found = state
        .store
        .search_directory(&select(page, OUTBOX_PAGE))
        .await?;
    let items: Vec<&str> = found.items.iter().map(|h| h.ap_id.as_str()).collect();
    let mut document = json!({
        "@context": crate::federation::objects::context::context(),
        "id": format!("{collection_id}?page={page}"),
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "totalItems": found.total,
        "orderedItems": items,
    });
    if page * OUTBOX_PAGE < found.total {
        document["next"] = json!(format!("{collection_id}?page={}", page + 1));
    }
    if page > 1 {
        document["prev"] = json!(format!("{collection_id}?page={}", page - 1));
    }
    Ok(activity_json(&document))
}

/// The shared inbox (and the instance actor's): activities for any actor of this instance.
pub async fn shared_inbox(
    State(state): State<AppState>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    inbox(&state, &method, &uri, &headers, &body).await
}

/// A pole's own inbox.
pub async fn pole_inbox(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    state.store.pole(&slug).await?;
    inbox(&state, &method, &uri, &headers, &body).await
}

async fn inbox(
    state: &AppState,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Response> {
    use crate::federation::activities::Applied;
    use crate::federation::inbox::{InboxRequest, receive};
    let request = InboxRequest {
        method: method.as_str(),
        path_and_query: uri.path_and_query().map_or("/", |p| p.as_str()),
        headers: crate::federation::signatures::header_map(headers),
        body,
    };
    let applied = match receive(&state.fed, request).await {
        Ok(applied) => applied,
        Err(e) => {
            let reason = e.reason();
            tracing::info!(error = %e, reason, "inbox refused an activity");
            let mut response = ApiError::from(e).into_response();
            response.extensions_mut().insert(InboxOutcome(reason));
            return Ok(response);
        }
    };
    let outcome = match &applied {
        Applied::Done(what) => {
            tracing::debug!(what, "inbox applied an activity");
            "accepted"
        }
        Applied::Duplicate => {
            tracing::debug!("inbox skipped an activity seen before");
            "duplicate"
        }
        Applied::Ignored(why) => {
            tracing::debug!(why, "inbox ignored an activity");
            "ignored"
        }
    };
    let mut response = axum::http::StatusCode::ACCEPTED.into_response();
    response.extensions_mut().insert(InboxOutcome(outcome));
    Ok(response)
}

/// A collection given by its size only: who follows a pole is not published.
fn counted_collection(id: &str, total: u64) -> Response {
    activity_json(&json!({
        "@context": crate::federation::objects::context::context(),
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total,
    }))
}

pub async fn pole_followers(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Response> {
    let pole = state.store.pole(&slug).await?;
    let total = state.store.count_followers(&pole.ap_id).await?;
    Ok(counted_collection(
        &format!("{}/followers", pole.ap_id),
        total,
    ))
}

pub async fn pole_following(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Response> {
    let pole = state.store.pole(&slug).await?;
    Ok(counted_collection(&format!("{}/following", pole.ap_id), 0))
}

pub async fn instance_followers(State(state): State<AppState>) -> ApiResult<Response> {
    let actor = state.fed.instance_actor_id();
    let total = state.store.count_followers(&actor).await?;
    Ok(counted_collection(&format!("{actor}/followers"), total))
}

/// Whom the instance follows is public: it is what this directory aggregates.
pub async fn instance_following(State(state): State<AppState>) -> ApiResult<Response> {
    let actor = state.fed.instance_actor_id();
    let following: Vec<String> = state
        .store
        .list_following(&actor)
        .await?
        .into_iter()
        .filter(|f| f.state == "accepted")
        .map(|f| f.actor.ap_id)
        .collect();
    Ok(activity_json(&json!({
        "@context": crate::federation::objects::context::context(),
        "id": format!("{actor}/following"),
        "type": "OrderedCollection",
        "totalItems": following.len(),
        "orderedItems": following,
    })))
}

pub async fn instance_outbox(State(state): State<AppState>) -> ApiResult<Response> {
    let actor = state.fed.instance_actor_id();
    Ok(counted_collection(&format!("{actor}/outbox"), 0))
}
