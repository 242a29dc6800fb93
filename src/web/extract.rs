//! Request extractors whose failures are JSON errors: bodies, authentication, paging.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use super::pages::Lang;
use super::strict_json::{OBJECT_EXPECTED, Strict};
use crate::auth;
use crate::store::{PageRequest, Role, User};

/// A JSON body; a wrong one is refused naming the field at fault.
pub struct ApiJson<T>(pub T);

fn body_error(e: axum::extract::rejection::BytesRejection) -> ApiError {
    use axum::extract::rejection::BytesRejection;
    match e {
        BytesRejection::FailedToBufferBody(inner) if inner.body_text().contains("length limit") => {
            ApiError::TooLarge(0)
        }
        other => ApiError::BadRequest(format!(
            "cannot read the request body: {}",
            other.body_text()
        )),
    }
}

/// Reads the whole body, turning the size limit into a 413.
pub async fn read_body(req: Request, state: &AppState, limit: usize) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|e| match body_error(e) {
            ApiError::TooLarge(_) => ApiError::TooLarge(limit),
            other => other,
        })
}

/// Parses JSON and reports the path of the field at fault, such as `territory.communes[0]`.
///
/// A struct is read from an object only (see [`super::strict_json`]), and nothing may follow
/// the value: `{"title": "x"} garbage` is not taken for `{"title": "x"}`. Messages of these
/// two refusals are in `lang`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], lang: Lang) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(Strict(&mut de)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::BadRequest(format!("the body is not valid JSON: {inner}"))
        } else {
            let message = inner.to_string();
            // serde names a missing field in its message, with the path of the object around it.
            let missing = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned);
            let field = match (path.as_str(), missing) {
                (".", Some(name)) => name,
                (_, Some(name)) => format!("{path}.{name}"),
                (".", None) => "body".to_owned(),
                _ => path,
            };
            let message = if message.starts_with(OBJECT_EXPECTED) {
                lang.t("input.object_expected").to_owned()
            } else {
                message
                    .split(" at line ")
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            };
            ApiError::Invalid(crate::domain::ValidationErrors::single(field, message))
        }
    })?;
    de.end()
        .map_err(|_| ApiError::BadRequest(lang.t("input.trailing_data").to_owned()))?;
    Ok(value)
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| {
                let v = v.trim().to_ascii_lowercase();
                v == "application/json" || v.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".into(),
            ));
        }
        let lang = Lang::negotiate(req.headers());
        let bytes = read_body(req, state, state.config.api.max_body_bytes).await?;
        parse_json(&bytes, lang).map(ApiJson)
    }
}

/// The person behind a valid API token.
pub struct Auth {
    pub user: User,
    pub pole_ids: Vec<i64>,
}

impl Auth {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only an administrator of the instance can do this".into(),
            ))
        }
    }

    pub fn require_pole(&self, pole_id: i64) -> Result<(), ApiError> {
        if self.is_admin() || self.pole_ids.contains(&pole_id) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "you are not an editor of this pole".into(),
            ))
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized("send `Authorization: Bearer <token>`".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
        let (user, _) = state
            .store
            .user_by_token_hash(&auth::hash_token(token))
            .await?
            .ok_or_else(|| ApiError::Unauthorized("this token is unknown or revoked".into()))?;
        let pole_ids = state.store.user_pole_ids(user.id).await?;
        Ok(Auth { user, pole_ids })
    }
}

/// Signed in or not: a request without `Authorization` is anonymous, a wrong token still fails.
impl axum::extract::OptionalFromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        if parts.headers.get(AUTHORIZATION).is_none() {
            return Ok(None);
        }
        <Auth as FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1.
    pub page: Option<String>,
    /// Items per page (at most the instance's maximum, 100 by default).
    pub per_page: Option<String>,
}

/// `?page=&per_page=`, checked against the configured limits.
pub struct Paging(pub PageRequest);

impl FromRequestParts<AppState> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Query(params) = Query::<PageParams>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        let max = state.config.api.max_page_size;
        let number = |field: &str, value: Option<String>, default: u64| -> Result<u64, ApiError> {
            match value {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n >= 1 => Ok(n),
                    _ => Err(ApiError::Invalid(crate::domain::ValidationErrors::single(
                        field,
                        format!("must be a whole number from 1, got `{v}`"),
                    ))),
                },
            }
        };
        let page = number("page", params.page, 1)?;
        let per_page = number(
            "per_page",
            params.per_page,
            state.config.api.default_page_size,
        )?;
        if per_page > max {
            return Err(ApiError::Invalid(crate::domain::ValidationErrors::single(
                "per_page",
                format!("must be at most {max}"),
            )));
        }
        if page > 1_000_000 {
            return Err(ApiError::Invalid(crate::domain::ValidationErrors::single(
                "page",
                "is too large",
            )));
        }
        Ok(Paging(PageRequest { page, per_page }))
    }
}
