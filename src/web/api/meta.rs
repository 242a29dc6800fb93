//! The instance, its vocabularies and reference data, the caller, and the OpenAPI document.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use crate::domain::territory_ref::Reference;
use crate::domain::vocab::*;
use crate::store::Role;
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult, ErrorBody};
use crate::web::extract::Auth;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstanceView {
    pub name: String,
    pub summary: Option<String>,
    pub contact_email: Option<String>,
    /// The domain in `@pole@domain` addresses.
    pub domain: String,
    pub public_url: String,
    pub software: &'static str,
    pub version: &'static str,
    pub poles: u64,
}

/// What this instance is.
#[utoipa::path(get, path = "/api/v1/instance", tag = "instance", responses((status = 200, body = InstanceView)))]
pub async fn instance(State(state): State<AppState>) -> ApiResult<Json<InstanceView>> {
    let settings = state.store.ensure_instance("Maillage").await?;
    let poles = state.store.count_poles().await?;
    Ok(Json(InstanceView {
        name: settings.name,
        summary: settings.summary,
        contact_email: settings.contact_email,
        domain: state.store.domain().to_owned(),
        public_url: state.store.url(""),
        software: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        poles,
    }))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceInput {
    pub name: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub contact_email: Option<String>,
}

/// Change the instance's name, summary and contact (administrators only).
#[utoipa::path(put, path = "/api/v1/instance", tag = "instance", request_body = InstanceInput,
    security(("token" = [])),
    responses((status = 200, body = InstanceView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_instance(
    State(state): State<AppState>,
    auth: Auth,
    crate::web::extract::ApiJson(input): crate::web::extract::ApiJson<InstanceInput>,
) -> ApiResult<Json<InstanceView>> {
    auth.require_admin()?;
    state
        .store
        .update_instance(&crate::store::InstanceSettings {
            name: input.name,
            summary: input.summary,
            contact_email: input.contact_email.filter(|e| !e.trim().is_empty()),
        })
        .await?;
    instance(State(state)).await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Vocabularies {
    pub themes: Vec<VocabularyEntry>,
    pub pooling_kinds: Vec<VocabularyEntry>,
    pub legal_forms: Vec<VocabularyEntry>,
    pub territory_kinds: Vec<VocabularyEntry>,
    pub employee_bands: Vec<VocabularyEntry>,
    pub project_statuses: Vec<VocabularyEntry>,
    pub event_statuses: Vec<VocabularyEntry>,
    pub call_directions: Vec<VocabularyEntry>,
    pub call_subjects: Vec<VocabularyEntry>,
    pub call_statuses: Vec<VocabularyEntry>,
    pub national_calls: Vec<VocabularyEntry>,
    pub text_formats: Vec<VocabularyEntry>,
}

/// The controlled vocabularies, with French and English labels.
#[utoipa::path(get, path = "/api/v1/vocabularies", tag = "instance", responses((status = 200, body = Vocabularies)))]
pub async fn vocabularies() -> Json<Vocabularies> {
    Json(Vocabularies {
        themes: Theme::entries(),
        pooling_kinds: PoolingKind::entries(),
        legal_forms: LegalForm::entries(),
        territory_kinds: TerritoryKind::entries(),
        employee_bands: EmployeeBand::entries(),
        project_statuses: ProjectStatus::entries(),
        event_statuses: EventStatus::entries(),
        call_directions: CallDirection::entries(),
        call_subjects: CallSubject::entries(),
        call_statuses: CallStatus::entries(),
        national_calls: NationalCall::entries(),
        text_formats: TextFormat::entries(),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommuneQuery {
    /// A commune's name (accents optional) or a postal code.
    pub q: String,
    /// At most this many results (1 to 50, 10 by default).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommuneView {
    pub code: String,
    pub name: String,
    pub postal_codes: Vec<String>,
    pub departement: String,
    pub departement_name: String,
    pub region: String,
    pub region_name: String,
    pub epci: Option<String>,
    pub epci_name: Option<String>,
    pub population: Option<u32>,
}

/// Find communes by name or postal code, to fill a territory with INSEE codes.
#[utoipa::path(get, path = "/api/v1/communes", tag = "instance", params(CommuneQuery),
    responses((status = 200, body = Vec<CommuneView>), (status = 422, body = ErrorBody)))]
pub async fn communes(
    query: Result<Query<CommuneQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<CommuneView>>> {
    let Query(query) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = query.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(crate::domain::ValidationErrors::single(
            "limit",
            crate::domain::Message::new(crate::domain::Code::Range)
                .arg("min", 1)
                .arg("max", 50),
        )
        .into());
    }
    if query.q.trim().chars().count() < 2 {
        return Err(crate::domain::ValidationErrors::single(
            "q",
            crate::domain::Message::new(crate::domain::Code::QueryTooShort).arg("min", 2),
        )
        .into());
    }
    let reference = Reference::get();
    Ok(Json(
        reference
            .search_communes(&query.q, limit)
            .into_iter()
            .map(|c| {
                let epci = c.epci.and_then(|e| reference.epci(e));
                CommuneView {
                    code: c.code.to_owned(),
                    name: c.name.to_owned(),
                    postal_codes: c.postal_codes.iter().map(str::to_owned).collect(),
                    departement: c.departement.to_owned(),
                    departement_name: reference
                        .departement(c.departement)
                        .map(|d| d.name.to_owned())
                        .unwrap_or_default(),
                    region: c.region.to_owned(),
                    region_name: reference
                        .region(c.region)
                        .map(|r| r.name.to_owned())
                        .unwrap_or_default(),
                    epci: epci.map(|e| e.code.to_owned()),
                    epci_name: epci.map(|e| e.name.to_owned()),
                    population: c.population,
                }
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeView {
    pub username: String,
    pub role: Role,
    /// Slugs of the poles this person may edit (every pole, for an administrator).
    pub poles: Vec<String>,
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "instance", security(("token" = [])),
    responses((status = 200, body = MeView), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<MeView>> {
    let mut poles = Vec::new();
    for id in &auth.pole_ids {
        let record = state.store.pole_by_id(*id).await?;
        if !record.local || record.pole.slug.is_empty() {
            continue;
        }
        poles.push(record.pole.slug);
    }
    Ok(Json(MeView {
        username: auth.user.username.clone(),
        role: auth.user.role,
        poles,
    }))
}

/// The OpenAPI description of this API.
pub async fn openapi(State(state): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    let mut doc = super::ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.servers = Some(vec![utoipa::openapi::Server::new(state.store.url(""))]);
    Json(doc)
}

/// Images are uploaded here but served from `/media/…`.
pub async fn no_get() -> ApiError {
    ApiError::NotFound("this address only accepts PUT and DELETE; the image is at the pole's `logo_url` or `banner_url`".into())
}

/// The outgoing delivery queue per destination domain (administrators only).
#[utoipa::path(get, path = "/api/v1/admin/deliveries", tag = "instance", security(("token" = [])),
    responses((status = 200, body = Vec<crate::store::queue::DomainQueueState>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn deliveries(
    State(state): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<crate::store::queue::DomainQueueState>>> {
    auth.require_admin()?;
    Ok(Json(state.store.queue_state().await?))
}
