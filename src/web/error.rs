//! API errors: every failure is a JSON body that says what is wrong, with the right status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::{Message, ValidationErrors};
use crate::store::StoreError;
use crate::web::pages::Lang;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required: {0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} has been deleted")]
    Gone(String),
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` named another version than the stored one.
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("invalid data: {0}")]
    Invalid(ValidationErrors),
    /// Query parameters that cannot be used: `bad_request`, with each one named in `fields`.
    #[error("{0}")]
    BadParameters(ValidationErrors),
    /// A refusal worded in the catalogue, answered in the reader's language.
    #[error("{1}")]
    Refused(Refusal, Message),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    BadGateway(String),
    /// A federation request without a valid HTTP signature.
    #[error("{0}")]
    Unsigned(String),
    #[error("internal error")]
    Internal(String),
}

/// The kind of a [`ApiError::Refused`], which gives its status and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    UnsupportedMediaType,
}

/// One wrong field or parameter, for programs (`code`, `params`) and people (`message`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    /// Path of the field in the submitted JSON, such as `territory.communes[2]`, or the
    /// query parameter's name.
    pub field: String,
    /// A stable code, such as `required`, `too_long`, `invalid_siret` (see the README).
    #[schema(example = "too_long")]
    pub code: &'static str,
    /// The values the message names, by name, such as `{"count": "300", "max": "200"}`.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub params: std::collections::BTreeMap<&'static str, String>,
    /// The reason in the language of the request (`Accept-Language`; French by default).
    pub message: String,
}

impl FieldErrorBody {
    pub fn list(errors: &ValidationErrors, lang: Lang) -> Vec<FieldErrorBody> {
        errors
            .0
            .iter()
            .map(|e| FieldErrorBody {
                field: e.field.clone(),
                code: e.message.code.as_str(),
                params: e.message.args.iter().cloned().collect(),
                message: lang.message(&e.message),
            })
            .collect()
    }
}

/// The JSON body of an error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code: `bad_request`, `unauthorized`, `forbidden`, `not_found`, `gone`,
    /// `conflict`, `precondition_failed`, `payload_too_large`, `unsupported_media_type`, `invalid`, `internal`.
    pub error: &'static str,
    pub message: String,
    /// For `invalid` (and `bad_request` on query parameters): each wrong field and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldErrorBody>,
}

/// The machine code of an error answer, kept with the response for the metrics.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Gone(_) => (StatusCode::GONE, "gone"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PreconditionFailed(_) => {
                (StatusCode::PRECONDITION_FAILED, "precondition_failed")
            }
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ApiError::BadParameters(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Refused(Refusal::BadRequest, _) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Refused(Refusal::Unauthorized, _) => {
                (StatusCode::UNAUTHORIZED, "unauthorized")
            }
            ApiError::Refused(Refusal::Forbidden, _) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Refused(Refusal::NotFound, _) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Refused(Refusal::UnsupportedMediaType, _) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::BadGateway(_) => (StatusCode::BAD_GATEWAY, "bad_gateway"),
            ApiError::Unsigned(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// What a person reads of this error, in `lang` where the catalogue words it.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            ApiError::Invalid(errors) => format!(
                "{}{}{}",
                lang.t("error.invalid_data"),
                lang.colon(),
                summary(errors, lang)
            ),
            ApiError::BadParameters(errors) => format!(
                "{}{}{}",
                lang.t("error.bad_parameters"),
                lang.colon(),
                summary(errors, lang)
            ),
            ApiError::Refused(_, message) => lang.message(message),
            ApiError::TooLarge(max) => lang.message(
                &crate::domain::Message::new(crate::domain::Code::BodyTooLarge).arg("max", max),
            ),
            other => other.to_string(),
        }
    }

    /// The wrong fields or parameters, if any.
    fn errors(&self) -> Option<&ValidationErrors> {
        match self {
            ApiError::Invalid(errors) | ApiError::BadParameters(errors) => Some(errors),
            _ => None,
        }
    }
}

fn summary(errors: &ValidationErrors, lang: Lang) -> String {
    errors
        .0
        .iter()
        .map(|e| format!("{}{}{}", e.field, lang.colon(), lang.message(&e.message)))
        .collect::<Vec<_>>()
        .join(lang.semicolon())
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(errors) => ApiError::Invalid(errors),
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::Gone(what) => ApiError::Gone(what),
            StoreError::Conflict(what) => ApiError::Conflict(what),
            e @ StoreError::Stale { .. } => ApiError::PreconditionFailed(e.to_string()),
            e @ (StoreError::Db(_) | StoreError::Corrupt(_)) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<crate::federation::fetch::url_check::UrlError> for ApiError {
    fn from(e: crate::federation::fetch::url_check::UrlError) -> Self {
        use crate::federation::fetch::url_check::UrlError;
        match e {
            UrlError::Blocked(_) => ApiError::Forbidden(e.to_string()),
            e @ UrlError::Resolve(..) => ApiError::BadGateway(e.to_string()),
            e => ApiError::BadRequest(format!("refused before any connection: {e}")),
        }
    }
}

impl From<crate::federation::fetch::service::FederationError> for ApiError {
    fn from(e: crate::federation::fetch::service::FederationError) -> Self {
        use crate::federation::fetch::client::FetchError;
        use crate::federation::fetch::service::FederationError as F;
        use crate::federation::fetch::service::KeyError;
        match e {
            F::Invalid(m) => ApiError::BadRequest(m),
            F::Unauthorized(m) => ApiError::Unsigned(m),
            F::Forbidden(m) => ApiError::Forbidden(m),
            F::NotFound(m) => ApiError::NotFound(m),
            e @ F::RateLimited(_) => ApiError::TooManyRequests(e.to_string()),
            F::Signature(e) => ApiError::Unsigned(e.to_string()),
            F::Url(e) => e.into(),
            F::Fetch(FetchError::Url(e)) => e.into(),
            F::Fetch(e @ FetchError::Sign(_)) => ApiError::Internal(e.to_string()),
            F::Fetch(e @ FetchError::Network(..)) => ApiError::BadGateway(e.to_string()),
            F::Fetch(FetchError::Status(url, status)) if status >= 500 => {
                ApiError::BadGateway(format!("`{url}` answered {status}"))
            }
            F::Fetch(e) => ApiError::BadRequest(e.to_string()),
            F::Key(e @ KeyError::Internal(_)) => ApiError::Internal(e.to_string()),
            F::Key(e) => ApiError::Unsigned(e.to_string()),
            F::Store(e) => e.into(),
            e @ F::Setup(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        ApiError::Invalid(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let unsigned = matches!(self, ApiError::Unsigned(_));
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let lang = Lang::current();
        let mut response = (
            status,
            Json(ErrorBody {
                error: code,
                message: self.message(lang),
                fields: self
                    .errors()
                    .map(|e| FieldErrorBody::list(e, lang))
                    .unwrap_or_default(),
            }),
        )
            .into_response();
        response.extensions_mut().insert(ErrorCode(code));
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("60"),
            );
        }
        if unsigned {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Signature"),
            );
        } else if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"maillage\""),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
