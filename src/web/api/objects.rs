//! Projects, events and calls for cooperation: the same six operations for each kind.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use super::patched;
use super::poles::editable_pole;
use super::versions::{IfMatch, Tagged, tagged};
use super::views::{CallView, EventView, PageView, ProjectView};
use crate::domain::{CallInput, EventInput, ProjectInput};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult, ErrorBody};
use crate::web::extract::{ApiJson, Auth, PageParams, Paging};

/// The slug of the pole that owns an object, for links in responses.
async fn owner_slug(state: &AppState, pole_id: i64) -> ApiResult<String> {
    Ok(state.store.pole_by_id(pole_id).await?.pole.slug)
}

macro_rules! object_handlers {
    (
        tag = $tag:literal, collection = $collection:literal, item = $item:literal,
        input = $input:ty, view = $view:ident,
        store = ($create:ident, $edit:ident, $delete:ident, $get:ident, $list:ident),
        handlers = ($h_list:ident, $h_create:ident, $h_get:ident, $h_put:ident, $h_patch:ident, $h_delete:ident)
    ) => {
        #[doc = concat!("List a pole's ", $tag, ", newest first (events: soonest first).")]
        #[utoipa::path(get, path = $collection, tag = $tag,
            summary = concat!("List a pole's ", $tag, ", newest first (events: soonest first)"), params(("slug" = String, Path), PageParams),
            responses((status = 200, body = PageView<$view>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
        pub async fn $h_list(State(state): State<AppState>, Path(slug): Path<String>, Paging(page): Paging) -> ApiResult<Json<PageView<$view>>> {
            let pole = state.store.pole_by_handle(&slug).await?;
            let page = state.store.$list(pole.id, page).await?;
            Ok(Json(page.map(|r| $view::new(r, &slug)).into()))
        }

        #[doc = concat!("Publish a new item in a pole's ", $tag, ".")]
        #[utoipa::path(post, path = $collection, tag = $tag,
            summary = concat!("Publish a new item in a pole's ", $tag), params(("slug" = String, Path)),
            request_body = $input, security(("token" = [])),
            responses((status = 201, body = $view), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
        pub async fn $h_create(
            State(state): State<AppState>,
            auth: Auth,
            Path(slug): Path<String>,
            ApiJson(input): ApiJson<$input>,
        ) -> ApiResult<(StatusCode, Tagged<$view>)> {
            let pole = editable_pole(&state, &auth, &slug).await?;
            let data = input.validate()?;
            let record = state.store.$create(pole.id, &data).await?;
            Ok((StatusCode::CREATED, tagged(record.version, $view::new(record, &slug))))
        }

        #[doc = concat!("Read one of the ", $tag, ".")]
        #[utoipa::path(get, path = $item, tag = $tag,
            summary = concat!("Read one of the ", $tag), params(("id" = String, Path)),
            responses((status = 200, body = $view, headers(("ETag" = String, description = "the version, for `If-Match`"))), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
        pub async fn $h_get(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Tagged<$view>> {
            let record = state.store.$get(&id).await?;
            let slug = owner_slug(&state, record.pole_id).await?;
            Ok(tagged(record.version, $view::new(record, &slug)))
        }

        #[doc = concat!("Replace one of the ", $tag, ".")]
        #[utoipa::path(put, path = $item, tag = $tag,
            summary = concat!("Replace one of the ", $tag),
            params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "the `ETag` read: refused with 412 if it changed since")),
            request_body = $input, security(("token" = [])),
            responses((status = 200, body = $view), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
        pub async fn $h_put(
            State(state): State<AppState>,
            auth: Auth,
            Path(id): Path<String>,
            IfMatch(expected): IfMatch,
            ApiJson(input): ApiJson<$input>,
        ) -> ApiResult<Tagged<$view>> {
            let current = state.store.$get(&id).await?;
            auth.require_pole(current.pole_id)?;
            let data = input.validate()?;
            let record = state
                .store
                .$edit(&id, expected, |_| Ok::<_, ApiError>(data.clone()))
                .await?;
            let slug = owner_slug(&state, record.pole_id).await?;
            Ok(tagged(record.version, $view::new(record, &slug)))
        }

        #[doc = concat!("Change some fields of one of the ", $tag, " (JSON merge patch, RFC 7396).")]
        #[utoipa::path(patch, path = $item, tag = $tag,
            summary = concat!("Change some fields of one of the ", $tag, " (JSON merge patch, RFC 7396)"),
            params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "the `ETag` read: refused with 412 if it changed since")),
            request_body(content = Object, content_type = "application/merge-patch+json"), security(("token" = [])),
            responses((status = 200, body = $view), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
        pub async fn $h_patch(
            State(state): State<AppState>,
            auth: Auth,
            Path(id): Path<String>,
            IfMatch(expected): IfMatch,
            ApiJson(changes): ApiJson<Value>,
        ) -> ApiResult<Tagged<$view>> {
            // The owner never changes: it is checked on the object as read now, and the patch
            // applies to the object as stored when the write takes its lock.
            let current = state.store.$get(&id).await?;
            auth.require_pole(current.pole_id)?;
            let record = state
                .store
                .$edit(&id, expected, |stored| {
                    let input: $input = patched(&stored.to_input(), &changes)?;
                    Ok::<_, ApiError>(input.validate()?)
                })
                .await?;
            let slug = owner_slug(&state, record.pole_id).await?;
            Ok(tagged(record.version, $view::new(record, &slug)))
        }

        #[doc = concat!("Delete one of the ", $tag, "; its address answers 410 Gone from then on.")]
        #[utoipa::path(delete, path = $item, tag = $tag,
            summary = concat!("Delete one of the ", $tag, "; its address answers 410 Gone from then on"), params(("id" = String, Path)), security(("token" = [])),
            responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
        pub async fn $h_delete(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
            let current = state.store.$get(&id).await?;
            auth.require_pole(current.pole_id)?;
            state.store.$delete(&id).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    };
}

object_handlers!(
    tag = "projects",
    collection = "/api/v1/poles/{slug}/projects",
    item = "/api/v1/projects/{id}",
    input = ProjectInput,
    view = ProjectView,
    store = (
        create_project,
        edit_project,
        delete_project,
        project,
        list_projects
    ),
    handlers = (
        list_projects,
        create_project,
        get_project,
        put_project,
        patch_project,
        delete_project
    )
);

object_handlers!(
    tag = "events",
    collection = "/api/v1/poles/{slug}/events",
    item = "/api/v1/events/{id}",
    input = EventInput,
    view = EventView,
    store = (create_event, edit_event, delete_event, event, list_events),
    handlers = (
        list_events,
        create_event,
        get_event,
        put_event,
        patch_event,
        delete_event
    )
);

object_handlers!(
    tag = "calls",
    collection = "/api/v1/poles/{slug}/calls",
    item = "/api/v1/calls/{id}",
    input = CallInput,
    view = CallView,
    store = (create_call, edit_call, delete_call, call, list_calls),
    handlers = (
        list_calls,
        create_call,
        get_call,
        put_call,
        patch_call,
        delete_call
    )
);
