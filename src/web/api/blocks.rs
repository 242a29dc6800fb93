//! Blocked domains through the API (administrators only): nothing is fetched from a blocked
//! domain or its subdomains, nothing is delivered to them, and their activities are refused.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::federation::blocks;
use crate::store::DomainBlockRecord;
use crate::web::AppState;
use crate::web::error::{ApiResult, ErrorBody};
use crate::web::extract::{ApiJson, Auth};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockInput {
    /// A domain such as `spam.example`; its subdomains are blocked too.
    pub domain: String,
    /// Why, for the other administrators (at most 500 characters).
    pub reason: Option<String>,
}

/// The blocked domains.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BlocksView {
    /// Blocked by an administrator, by domain.
    pub blocks: Vec<DomainBlockRecord>,
    /// Blocked by the configuration (`federation.blocked_domains`); they change only there.
    pub configured: Vec<String>,
}

/// List the blocked domains (administrators only).
#[utoipa::path(get, path = "/api/v1/admin/blocks", tag = "federation", operation_id = "list_blocks", security(("token" = [])),
    responses((status = 200, body = BlocksView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<BlocksView>> {
    auth.require_admin()?;
    Ok(Json(BlocksView {
        blocks: state.store.domain_blocks().await?,
        configured: state.fed.client.blocks().configured().to_vec(),
    }))
}

/// Block a domain and its subdomains: its followers, likes, boosts and replies are removed
/// and its poles forgotten, and from now on its activities are refused and nothing is
/// fetched from or delivered to it.
#[utoipa::path(post, path = "/api/v1/admin/blocks", tag = "federation", operation_id = "create_block", request_body = BlockInput,
    security(("token" = [])),
    responses((status = 201, body = DomainBlockRecord), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<BlockInput>,
) -> ApiResult<(StatusCode, Json<DomainBlockRecord>)> {
    auth.require_admin()?;
    let record = blocks::block(
        &state.fed,
        &input.domain,
        input.reason.as_deref(),
        Some(&auth.user.username),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// Lift a block (those of the configuration are lifted there).
#[utoipa::path(delete, path = "/api/v1/admin/blocks/{domain}", tag = "federation", operation_id = "delete_block", params(("domain" = String, Path)),
    security(("token" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(domain): Path<String>,
) -> ApiResult<StatusCode> {
    auth.require_admin()?;
    blocks::unblock(&state.fed, &domain, Some(&auth.user.username)).await?;
    Ok(StatusCode::NO_CONTENT)
}
