//! Request extractors whose failures are JSON errors: bodies, authentication, paging.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::{ApiError, Refusal};
use super::strict_json::{OBJECT_EXPECTED, Strict};
use crate::auth;
use crate::domain::{Code, Message};
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

/// Parses JSON and reports the path of every field at fault, such as
/// `territory.communes[0]`, all at once.
///
/// A struct is read from an object only (see [`super::strict_json`]), and nothing may follow
/// the value: `{"title": "x"} garbage` is not taken for `{"title": "x"}`. Each fault is a
/// [`Message`]: `required` for a missing field, `unknown_field`, `object_expected`, or
/// `invalid_json_value` with serde's own words as its detail.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let first = match serde_path_to_error::deserialize(Strict(&mut de)) {
        Ok(value) => {
            de.end()
                .map_err(|_| ApiError::Refused(Refusal::BadRequest, Code::TrailingData.into()))?;
            return Ok(value);
        }
        Err(e) if e.inner().is_syntax() || e.inner().is_eof() => {
            return Err(ApiError::Refused(
                Refusal::BadRequest,
                Message::new(Code::InvalidJson).arg("detail", e.into_inner()),
            ));
        }
        Err(e) => e,
    };
    let mut errors = crate::domain::ValidationErrors::new();
    // The first fault is known; the others are found by reading the body again without each
    // field found at fault, until it reads or a required field is missing.
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(mut document) => every_fault::<T>(first, &mut document, &mut errors),
        Err(_) => {
            let (field, message) = fault(&first, &[], &Removed::default());
            errors.add(field, message);
        }
    }
    Err(ApiError::Invalid(errors))
}

/// What was taken out of the document, by the original path of each array: the original
/// indices removed from it, in order.
type Removed = std::collections::HashMap<String, Vec<usize>>;

/// At most this many faults are named in one answer.
const MAX_FAULTS: usize = 50;

fn every_fault<T: DeserializeOwned>(
    first: serde_path_to_error::Error<serde_json::Error>,
    document: &mut serde_json::Value,
    errors: &mut crate::domain::ValidationErrors,
) {
    use serde_path_to_error::Segment;
    let mut removed = Removed::default();
    let mut taken_out: Vec<String> = Vec::new();
    let mut next = Some(first);
    while let Some(error) = next.take() {
        let segments: Vec<Segment> = error.path().iter().cloned().collect();
        let (field, message) = fault(&error, &segments, &removed);
        let missing = missing_field(&error).is_some();
        // A field is missing because it was taken out here: its own fault is already named.
        if missing && taken_out.contains(&field) {
            break;
        }
        errors.add(field, message);
        if errors.0.len() >= MAX_FAULTS || (missing && segments.is_empty()) {
            break;
        }
        let Some(taken) = take_out(document, &segments, &mut removed) else {
            break;
        };
        taken_out.push(taken);
        next = serde_path_to_error::deserialize::<_, T>(Strict(&*document)).err();
    }
}

/// The field's path as it was sent (indices of arrays counted before anything was taken
/// out of them) and why it is wrong.
fn fault(
    error: &serde_path_to_error::Error<serde_json::Error>,
    segments: &[serde_path_to_error::Segment],
    removed: &Removed,
) -> (String, Message) {
    let path = original_path(segments, removed);
    let message = error.inner().to_string();
    let field = match (path.is_empty(), missing_field(error)) {
        (true, Some(name)) => name,
        (false, Some(name)) => format!("{path}.{name}"),
        (true, None) => "body".to_owned(),
        (false, None) => path,
    };
    let detail = message.split(" at line ").next().unwrap_or_default();
    let message = if message.starts_with(OBJECT_EXPECTED) {
        Code::ObjectExpected.into()
    } else if missing_field(error).is_some() {
        Code::Required.into()
    } else if let Some(name) = detail
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        Message::new(Code::UnknownField).arg("value", name)
    } else {
        Message::new(Code::InvalidJsonValue).arg("detail", detail)
    };
    (field, message)
}

/// serde names a missing field in its message, with the path of the object around it.
fn missing_field(error: &serde_path_to_error::Error<serde_json::Error>) -> Option<String> {
    error
        .inner()
        .to_string()
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .map(str::to_owned)
}

/// `territory.communes[2]`: the path of `segments` in the document as sent.
fn original_path(segments: &[serde_path_to_error::Segment], removed: &Removed) -> String {
    use serde_path_to_error::Segment;
    let mut path = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => {
                let mut original = *index;
                for &gone in removed.get(&path).map(Vec::as_slice).unwrap_or_default() {
                    if gone <= original {
                        original += 1;
                    }
                }
                path.push_str(&format!("[{original}]"));
            }
            Segment::Map { key } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Segment::Enum { variant } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(variant);
            }
            Segment::Unknown => path.push_str(".?"),
        }
    }
    path
}

/// Removes the value at `segments` from the document; its original path, or `None` when
/// there is nothing there to remove (the whole body is at fault).
fn take_out(
    document: &mut serde_json::Value,
    segments: &[serde_path_to_error::Segment],
    removed: &mut Removed,
) -> Option<String> {
    use serde_path_to_error::Segment;
    let (last, parents) = segments.split_last()?;
    let mut here = document;
    for segment in parents {
        here = match segment {
            Segment::Seq { index } => here.get_mut(*index)?,
            Segment::Map { key } => here.get_mut(key.as_str())?,
            Segment::Enum { .. } | Segment::Unknown => return None,
        };
    }
    let original = original_path(segments, removed);
    match last {
        Segment::Seq { index } => {
            let array = here.as_array_mut().filter(|a| *index < a.len())?;
            array.remove(*index);
            let parent = original_path(parents, removed);
            let gone = original
                .rsplit_once('[')
                .and_then(|(_, i)| i.trim_end_matches(']').parse().ok())?;
            let list = removed.entry(parent).or_default();
            list.push(gone);
            list.sort_unstable();
        }
        Segment::Map { key } => {
            here.as_object_mut()?.remove(key.as_str())?;
        }
        Segment::Enum { .. } | Segment::Unknown => return None,
    }
    Some(original)
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
            return Err(ApiError::Refused(
                Refusal::UnsupportedMediaType,
                Code::JsonContentType.into(),
            ));
        }
        let bytes = read_body(req, state, state.config.api.max_body_bytes).await?;
        parse_json(&bytes).map(ApiJson)
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
            Err(ApiError::Refused(
                Refusal::Forbidden,
                Code::AdminOnly.into(),
            ))
        }
    }

    pub fn require_pole(&self, pole_id: i64) -> Result<(), ApiError> {
        if self.is_admin() || self.pole_ids.contains(&pole_id) {
            Ok(())
        } else {
            Err(ApiError::Refused(
                Refusal::Forbidden,
                Code::NotEditor.into(),
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
            .ok_or_else(|| ApiError::Refused(Refusal::Unauthorized, Code::TokenMissing.into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Refused(Refusal::Unauthorized, Code::TokenMalformed.into()))?;
        let (user, _) = state
            .store
            .user_by_token_hash(&auth::hash_token(token))
            .await?
            .ok_or_else(|| ApiError::Refused(Refusal::Unauthorized, Code::TokenUnknown.into()))?;
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
                        Message::new(Code::PageNumber).arg("value", &v),
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
                Message::new(Code::AtMost).arg("max", max),
            )));
        }
        if page > 1_000_000 {
            return Err(ApiError::Invalid(crate::domain::ValidationErrors::single(
                "page",
                Code::PageTooLarge,
            )));
        }
        Ok(Paging(PageRequest { page, per_page }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Place {
        name: String,
        commune: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        title: String,
        capacity: Option<u32>,
        #[serde(default)]
        themes: Vec<String>,
        place: Option<Place>,
        online: Option<bool>,
    }

    /// The fields named, in alphabetical order.
    fn faults(body: &str) -> Vec<String> {
        match parse_json::<Input>(body.as_bytes()) {
            Err(ApiError::Invalid(errors)) => {
                let mut fields: Vec<String> = errors.0.into_iter().map(|e| e.field).collect();
                fields.sort();
                fields
            }
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn every_wrong_field_is_named_at_once() {
        assert_eq!(
            faults(
                r#"{"title": 3, "capacity": "many", "themes": ["a", 4, "b", 5, 6],
                    "place": {"commune": "35236"}, "online": "yes"}"#
            ),
            [
                "capacity",
                "online",
                "place.name",
                "themes[1]",
                "themes[3]",
                "themes[4]",
                "title"
            ]
        );
        // A required field missing is named with the others.
        assert_eq!(
            faults(r#"{"capacity": -1, "colour": "red"}"#),
            ["capacity", "colour", "title"]
        );
        // An array for an object, in words.
        let Err(ApiError::Invalid(errors)) = parse_json::<Input>(br#"{"title": "x", "place": []}"#)
        else {
            panic!("refused")
        };
        assert_eq!(errors.0[0].field, "place");
        assert_eq!(errors.0[0].message.code, Code::ObjectExpected);
        assert!(matches!(
            parse_json::<Input>(br#"{"title": "x"} [1]"#),
            Err(ApiError::Refused(Refusal::BadRequest, m)) if m.code == Code::TrailingData
        ));
        assert!(matches!(
            parse_json::<Input>(br#"{"title": "#),
            Err(ApiError::Refused(Refusal::BadRequest, m)) if m.code == Code::InvalidJson
        ));
        assert!(parse_json::<Input>(br#"{"title": "x", "themes": ["a"]}"#).is_ok());
    }
}
