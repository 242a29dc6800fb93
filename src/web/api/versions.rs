//! Optimistic concurrency: every pole, member and object answers with its version as an
//! `ETag`, and a `PUT` or `PATCH` that sends `If-Match` with that tag is refused with 412
//! if someone else changed the record since.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::header::{ETAG, IF_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};

use crate::web::error::ApiError;

/// The entity tag of a version: `"7"`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// A response body with its version as `ETag`.
pub type Tagged<T> = ([(HeaderName, HeaderValue); 1], Json<T>);

pub fn tagged<T>(version: i32, body: T) -> Tagged<T> {
    let value =
        HeaderValue::from_str(&etag(version)).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    ([(ETAG, value)], Json(body))
}

/// The version the client last read, from `If-Match`: none without the header (or with
/// `*`, which any existing record matches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(pub Option<i32>);

impl IfMatch {
    /// Reads the header's value. A tag that is not one of ours (weak, or not a version) can
    /// match no version: it gives a version no record has, so the write is refused with 412
    /// as RFC 9110 asks, rather than applied blindly.
    pub fn parse(value: &str) -> IfMatch {
        let value = value.trim();
        if value == "*" {
            return IfMatch(None);
        }
        let version = value
            .split(',')
            .map(str::trim)
            .find_map(|tag| {
                tag.strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .and_then(|t| t.parse::<i32>().ok())
            })
            .unwrap_or(-1);
        IfMatch(Some(version))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        match parts.headers.get(IF_MATCH) {
            None => Ok(IfMatch(None)),
            Some(value) => value.to_str().map(IfMatch::parse).map_err(|_| {
                ApiError::BadRequest(
                    "the If-Match header must be an entity tag such as \"3\"".into(),
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_reads_our_tags_and_refuses_what_cannot_match() {
        assert_eq!(IfMatch::parse("\"7\""), IfMatch(Some(7)));
        assert_eq!(IfMatch::parse(" \"12\" "), IfMatch(Some(12)));
        assert_eq!(IfMatch::parse("*"), IfMatch(None));
        assert_eq!(IfMatch::parse("\"x\", \"4\""), IfMatch(Some(4)));
        // Weak tags never match for If-Match; nor does a tag that is not a version.
        assert_eq!(IfMatch::parse("W/\"7\""), IfMatch(Some(-1)));
        assert_eq!(IfMatch::parse("\"abc\""), IfMatch(Some(-1)));
        assert_eq!(etag(3), "\"3\"");
    }
}
