//! Poles: public reading, and editing by administrators and the pole's editors.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use super::images::ImageBody;
use super::patched;
use super::versions::{IfMatch, Tagged, tagged};
use super::views::{MemberView, PageView, PoleView};
use crate::domain::{MemberInput, PoleInput};
use crate::store::{ImageSlot, PoleRecord};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult, ErrorBody};
use crate::web::extract::{ApiJson, Auth, PageParams, Paging};

/// Loads a pole the caller may edit.
pub(super) async fn editable_pole(
    state: &AppState,
    auth: &Auth,
    slug: &str,
) -> ApiResult<PoleRecord> {
    let record = state.store.pole(slug).await?;
    auth.require_pole(record.id)?;
    Ok(record)
}

/// List the poles of this instance.
#[utoipa::path(get, path = "/api/v1/poles", tag = "poles", params(PageParams),
    responses((status = 200, body = PageView<PoleView>), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Paging(page): Paging,
) -> ApiResult<Json<PageView<PoleView>>> {
    let page = state.store.list_poles(page).await?;
    Ok(Json(page.map(|r| PoleView::new(&state.store, r)).into()))
}

/// Create a pole (administrators only).
#[utoipa::path(post, path = "/api/v1/poles", tag = "poles", request_body = PoleInput,
    security(("token" = [])),
    responses((status = 201, body = PoleView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<PoleInput>,
) -> ApiResult<(StatusCode, Tagged<PoleView>)> {
    auth.require_admin()?;
    let pole = input.validate()?;
    let record = state.store.create_pole(&pole).await?;
    tracing::info!(slug = %pole.slug, user = %auth.user.username, "pole created");
    Ok((
        StatusCode::CREATED,
        tagged(record.version, PoleView::new(&state.store, record)),
    ))
}

/// Read a pole's profile.
#[utoipa::path(get, path = "/api/v1/poles/{slug}", tag = "poles", params(("slug" = String, Path)),
    responses((status = 200, body = PoleView, headers(("ETag" = String, description = "the version, for `If-Match`"))), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Tagged<PoleView>> {
    let record = state.store.pole_by_handle(&slug).await?;
    Ok(tagged(record.version, PoleView::new(&state.store, record)))
}

/// Replace a pole's profile (the slug cannot change).
#[utoipa::path(put, path = "/api/v1/poles/{slug}", tag = "poles", params(("slug" = String, Path)),
    request_body = PoleInput, security(("token" = [])), params(("If-Match" = Option<String>, Header, description = "the `ETag` read: refused with 412 if the pole changed since")),
    responses((status = 200, body = PoleView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    IfMatch(expected): IfMatch,
    ApiJson(input): ApiJson<PoleInput>,
) -> ApiResult<Tagged<PoleView>> {
    editable_pole(&state, &auth, &slug).await?;
    let pole = input.validate()?;
    let record = state
        .store
        .edit_pole(&slug, expected, |_| Ok::<_, ApiError>(pole.clone()))
        .await?;
    Ok(tagged(record.version, PoleView::new(&state.store, record)))
}

/// Change some fields of a pole's profile (JSON merge patch, RFC 7396).
#[utoipa::path(patch, path = "/api/v1/poles/{slug}", tag = "poles", params(("slug" = String, Path)),
    request_body(content = Object, content_type = "application/merge-patch+json"), security(("token" = [])),
    params(("If-Match" = Option<String>, Header, description = "the `ETag` read: refused with 412 if the pole changed since")),
    responses((status = 200, body = PoleView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    IfMatch(expected): IfMatch,
    ApiJson(changes): ApiJson<Value>,
) -> ApiResult<Tagged<PoleView>> {
    editable_pole(&state, &auth, &slug).await?;
    // The patch applies to the profile as stored when the write takes its lock, not as read
    // before: concurrent patches of different fields all survive.
    let record = state
        .store
        .edit_pole(&slug, expected, |current| {
            let input: PoleInput = patched(&current.to_input(), &changes)?;
            Ok::<_, ApiError>(input.validate()?)
        })
        .await?;
    Ok(tagged(record.version, PoleView::new(&state.store, record)))
}

/// Delete a pole (administrators only); its address answers 410 Gone from then on.
#[utoipa::path(delete, path = "/api/v1/poles/{slug}", tag = "poles", params(("slug" = String, Path)),
    security(("token" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> ApiResult<StatusCode> {
    auth.require_admin()?;
    state.store.delete_pole(&slug).await?;
    tracing::info!(%slug, user = %auth.user.username, "pole deleted");
    Ok(StatusCode::NO_CONTENT)
}

async fn put_image(
    state: AppState,
    auth: Auth,
    slug: String,
    body: ImageBody,
    slot: ImageSlot,
) -> ApiResult<Json<PoleView>> {
    editable_pole(&state, &auth, &slug).await?;
    let image = body.check(state.config.uploads.max_bytes).await?;
    let media = state.store.put_media(image).await?;
    let record = state
        .store
        .set_pole_image(&slug, slot, Some(media.id))
        .await?;
    Ok(Json(PoleView::new(&state.store, record)))
}

async fn delete_image(
    state: AppState,
    auth: Auth,
    slug: String,
    slot: ImageSlot,
) -> ApiResult<Json<PoleView>> {
    editable_pole(&state, &auth, &slug).await?;
    let record = state.store.set_pole_image(&slug, slot, None).await?;
    Ok(Json(PoleView::new(&state.store, record)))
}

/// Upload the pole's logo: the image itself as the body (PNG, JPEG, GIF or WebP).
#[utoipa::path(put, path = "/api/v1/poles/{slug}/logo", tag = "poles", params(("slug" = String, Path)),
    request_body(content = Vec<u8>, content_type = "image/png"), security(("token" = [])),
    responses((status = 200, body = PoleView), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_logo(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    body: ImageBody,
) -> ApiResult<Json<PoleView>> {
    put_image(state, auth, slug, body, ImageSlot::Logo).await
}

/// Remove the pole's logo.
#[utoipa::path(delete, path = "/api/v1/poles/{slug}/logo", tag = "poles", params(("slug" = String, Path)),
    security(("token" = [])), responses((status = 200, body = PoleView)))]
pub async fn delete_logo(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> ApiResult<Json<PoleView>> {
    delete_image(state, auth, slug, ImageSlot::Logo).await
}

/// Upload the pole's banner: the image itself as the body (PNG, JPEG, GIF or WebP).
#[utoipa::path(put, path = "/api/v1/poles/{slug}/banner", tag = "poles", params(("slug" = String, Path)),
    request_body(content = Vec<u8>, content_type = "image/png"), security(("token" = [])),
    responses((status = 200, body = PoleView), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_banner(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    body: ImageBody,
) -> ApiResult<Json<PoleView>> {
    put_image(state, auth, slug, body, ImageSlot::Banner).await
}

/// Remove the pole's banner.
#[utoipa::path(delete, path = "/api/v1/poles/{slug}/banner", tag = "poles", params(("slug" = String, Path)),
    security(("token" = [])), responses((status = 200, body = PoleView)))]
pub async fn delete_banner(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
) -> ApiResult<Json<PoleView>> {
    delete_image(state, auth, slug, ImageSlot::Banner).await
}

/// List a pole's members.
#[utoipa::path(get, path = "/api/v1/poles/{slug}/members", tag = "members", params(("slug" = String, Path), PageParams),
    responses((status = 200, body = PageView<MemberView>), (status = 404, body = ErrorBody)))]
pub async fn list_members(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Paging(page): Paging,
) -> ApiResult<Json<PageView<MemberView>>> {
    let pole = state.store.pole_by_handle(&slug).await?;
    let page = state.store.list_members(pole.id, page).await?;
    Ok(Json(page.map(MemberView::from).into()))
}

/// Add a member to a pole.
#[utoipa::path(post, path = "/api/v1/poles/{slug}/members", tag = "members", params(("slug" = String, Path)),
    request_body = MemberInput, security(("token" = [])),
    responses((status = 201, body = MemberView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_member(
    State(state): State<AppState>,
    auth: Auth,
    Path(slug): Path<String>,
    ApiJson(input): ApiJson<MemberInput>,
) -> ApiResult<(StatusCode, Tagged<MemberView>)> {
    let pole = editable_pole(&state, &auth, &slug).await?;
    let member = input.validate()?;
    let record = state.store.create_member(pole.id, &member).await?;
    Ok((StatusCode::CREATED, tagged(record.version, record.into())))
}

/// Read one member.
#[utoipa::path(get, path = "/api/v1/poles/{slug}/members/{id}", tag = "members",
    params(("slug" = String, Path), ("id" = i64, Path)),
    responses((status = 200, body = MemberView, headers(("ETag" = String, description = "the version, for `If-Match`"))), (status = 404, body = ErrorBody)))]
pub async fn get_member(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, i64)>,
) -> ApiResult<Tagged<MemberView>> {
    let pole = state.store.pole_by_handle(&slug).await?;
    let record = state.store.member(pole.id, id).await?;
    Ok(tagged(record.version, record.into()))
}

/// Replace a member.
#[utoipa::path(put, path = "/api/v1/poles/{slug}/members/{id}", tag = "members",
    params(("slug" = String, Path), ("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "the `ETag` read: refused with 412 if the member changed since")),
    request_body = MemberInput, security(("token" = [])),
    responses((status = 200, body = MemberView), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_member(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, i64)>,
    IfMatch(expected): IfMatch,
    ApiJson(input): ApiJson<MemberInput>,
) -> ApiResult<Tagged<MemberView>> {
    let pole = editable_pole(&state, &auth, &slug).await?;
    let member = input.validate()?;
    let record = state
        .store
        .edit_member(pole.id, id, expected, |_| Ok::<_, ApiError>(member.clone()))
        .await?;
    Ok(tagged(record.version, record.into()))
}

/// Change some fields of a member (JSON merge patch).
#[utoipa::path(patch, path = "/api/v1/poles/{slug}/members/{id}", tag = "members",
    params(("slug" = String, Path), ("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "the `ETag` read: refused with 412 if the member changed since")),
    request_body(content = Object, content_type = "application/merge-patch+json"), security(("token" = [])),
    responses((status = 200, body = MemberView), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch_member(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, i64)>,
    IfMatch(expected): IfMatch,
    ApiJson(changes): ApiJson<Value>,
) -> ApiResult<Tagged<MemberView>> {
    let pole = editable_pole(&state, &auth, &slug).await?;
    let record = state
        .store
        .edit_member(pole.id, id, expected, |current| {
            let input: MemberInput = patched(&current.to_input(), &changes)?;
            Ok::<_, ApiError>(input.validate()?)
        })
        .await?;
    Ok(tagged(record.version, record.into()))
}

/// Remove a member.
#[utoipa::path(delete, path = "/api/v1/poles/{slug}/members/{id}", tag = "members",
    params(("slug" = String, Path), ("id" = i64, Path)), security(("token" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_member(
    State(state): State<AppState>,
    auth: Auth,
    Path((slug, id)): Path<(String, i64)>,
) -> ApiResult<StatusCode> {
    let pole = editable_pole(&state, &auth, &slug).await?;
    state.store.delete_member(pole.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
