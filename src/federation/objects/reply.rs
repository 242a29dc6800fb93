//! A reply to one of our objects, as Mastodon and others send it: a `Note` whose
//! `inReplyTo` is one of ours, read as its id, its HTML made safe, its page and its date.

use chrono::{DateTime, Utc};
use serde_json::Value;
use url::Url;

use super::json::{first_id, published};
use crate::domain::text::sanitize_html;

/// A reply as it is stored.
pub struct Reply<'a> {
    pub id: &'a str,
    pub content_html: String,
    /// Its page on its own server, when that is a web address.
    pub url: Option<&'a str>,
    pub published: DateTime<Utc>,
}

/// The object a document answers, if it answers one.
pub fn in_reply_to(object: &Value) -> Option<&str> {
    object.get("inReplyTo").and_then(first_id)
}

/// Reads a reply; the message says what it lacks.
pub fn parse_reply(object: &Value) -> Result<Reply<'_>, String> {
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .ok_or("the reply has no id")?;
    let content = object
        .get("content")
        .and_then(Value::as_str)
        .ok_or("the reply has no content")?;
    let url = object
        .get("url")
        .and_then(first_id)
        .filter(|u| Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "https" | "http")));
    Ok(Reply {
        id,
        content_html: sanitize_html(content),
        url,
        published: published(object),
    })
}
