//! The directory's search and statistics over every pole and object this instance knows, local or federated.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::store::search::{DirectoryHit, DirectoryKind, DirectoryParams, DirectoryStatistics};
use crate::store::{DirectoryQuery, Store};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult, ErrorBody};

/// The pole a hit belongs to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HitPoleView {
    pub name: String,
    /// Address to follow the pole from Mastodon and other fediverse software.
    pub handle: String,
    /// The pole's identifier and public page.
    pub url: String,
    /// The pole's profile in this API.
    pub api_url: String,
    /// Whether this instance hosts the pole (otherwise it was learnt by federation).
    pub local: bool,
}

/// One result: a compact summary with the links to the full record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DirectoryHitView {
    pub kind: DirectoryKind,
    /// The pole's handle, or the object's public id.
    pub id: String,
    pub title: String,
    pub summary: Option<String>,
    /// The identifier and public page.
    pub url: String,
    /// The full record in this API.
    pub api_url: String,
    pub local: bool,
    /// Whether every word searched for is in the title or name.
    pub title_match: bool,
    pub published_at: DateTime<Utc>,
    /// Events only.
    pub starts_at: Option<DateTime<Utc>>,
    /// Events only (the start when no end is given).
    pub ends_at: Option<DateTime<Utc>>,
    /// Calls only: `open`, `closed` or `fulfilled`.
    pub call_status: Option<String>,
    /// Calls only.
    pub deadline: Option<NaiveDate>,
    pub pole: HitPoleView,
}

fn pole_api_path(slug: &str, domain: &str, local: bool) -> String {
    if local {
        format!("/api/v1/poles/{slug}")
    } else {
        format!("/api/v1/poles/{slug}@{domain}")
    }
}

impl DirectoryHitView {
    pub fn new(store: &Store, hit: DirectoryHit) -> DirectoryHitView {
        let pole = HitPoleView {
            handle: format!("@{}@{}", hit.pole.slug, hit.pole.domain),
            api_url: store.url(&pole_api_path(
                &hit.pole.slug,
                &hit.pole.domain,
                hit.pole.local,
            )),
            name: hit.pole.name,
            url: hit.pole.ap_id,
            local: hit.pole.local,
        };
        let (id, api_url) = match hit.kind {
            DirectoryKind::Pole => (pole.handle.clone(), pole.api_url.clone()),
            DirectoryKind::Project => (
                hit.public_id.clone(),
                store.url(&format!("/api/v1/projects/{}", hit.public_id)),
            ),
            DirectoryKind::Event => (
                hit.public_id.clone(),
                store.url(&format!("/api/v1/events/{}", hit.public_id)),
            ),
            DirectoryKind::Call => (
                hit.public_id.clone(),
                store.url(&format!("/api/v1/calls/{}", hit.public_id)),
            ),
        };
        DirectoryHitView {
            kind: hit.kind,
            id,
            title: hit.title,
            summary: hit.summary,
            url: hit.ap_id,
            api_url,
            local: hit.local,
            title_match: hit.title_match,
            published_at: hit.published_at,
            starts_at: hit.starts_at,
            ends_at: hit.ends_at,
            call_status: hit.call_status,
            deadline: hit.deadline,
            pole,
        }
    }
}

/// One page of results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DirectoryResultsView {
    pub items: Vec<DirectoryHitView>,
    pub page: u64,
    pub per_page: u64,
    /// Number of results over all pages; a lower bound when `total_exact` is false.
    pub total: u64,
    /// False when there are more than 1,000 results (or than the end of the page asked
    /// for): they were not all counted, and `total` says "at least".
    pub total_exact: bool,
    /// Number of pages (at least, when `total_exact` is false).
    pub pages: u64,
}

/// The query string, checked: unknown and wrong parameters are a 400 naming them.
fn directory_query(
    params: Result<Query<DirectoryParams>, QueryRejection>,
) -> ApiResult<DirectoryQuery> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    params
        .parse()
        .map_err(|e| ApiError::BadParameters(e.into()))
}

/// Search the directory: the poles, projects, events and calls for cooperation this
/// instance knows, its own and those of the instances it follows.
///
/// With `q`, results whose title or name holds every word come first; otherwise upcoming
/// events come first by date, then the rest newest first. Filters combine with AND;
/// `upcoming`, `from` and `to` apply to events, `call_status` and `deadline_before` to
/// calls, and without `kind` they also restrict the results to those kinds.
#[utoipa::path(get, path = "/api/v1/directory", tag = "directory", params(DirectoryParams),
    responses((status = 200, body = DirectoryResultsView), (status = 400, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    params: Result<Query<DirectoryParams>, QueryRejection>,
) -> ApiResult<Json<DirectoryResultsView>> {
    let query = directory_query(params)?;
    let results = state.store.search_directory(&query).await?;
    Ok(Json(DirectoryResultsView {
        pages: results.total.div_ceil(results.per_page.max(1)),
        page: results.page,
        per_page: results.per_page,
        total: results.total,
        total_exact: results.total_exact,
        items: results
            .items
            .into_iter()
            .map(|hit| DirectoryHitView::new(&state.store, hit))
            .collect(),
    }))
}

/// Figures over the directory: poles per région, share of poles pooling each kind,
/// members by legal form and by size, events per month, open calls by theme.
///
/// Honours the territory (`region`, `departement`, `epci`, `commune`), `theme`,
/// `pooling`, `legal_form` and `q` filters; `upcoming`, `from` and `to` narrow the events
/// counted. Paging and kind parameters are accepted and ignored.
#[utoipa::path(get, path = "/api/v1/statistics", tag = "directory", params(DirectoryParams),
    responses((status = 200, body = DirectoryStatistics), (status = 400, body = ErrorBody)))]
pub async fn statistics(
    State(state): State<AppState>,
    params: Result<Query<DirectoryParams>, QueryRejection>,
) -> ApiResult<Json<DirectoryStatistics>> {
    let query = directory_query(params)?;
    let statistics = state.statistics.get(&state.store, &query).await?;
    Ok(Json(statistics.as_ref().clone()))
}
