//! Reading the JSON of other servers: ids and types in every shape they come in, names
//! as plain text, dates, and the wording of what does not hold.

use chrono::{DateTime, Utc};
use serde_json::Value;
use url::Url;

use crate::domain::ValidationErrors;

/// The longest name or user name kept from another server.
const MAX_NAME: usize = 200;

/// A property that may be a string, an object with an `id` or `href`, or a list of those:
/// the first URL it holds.
pub fn first_id(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(o) => o
            .get("id")
            .or_else(|| o.get("href"))
            .and_then(Value::as_str),
        Value::Array(a) => a.iter().find_map(first_id),
        _ => None,
    }
}

/// Every id a property holds (string, object or list).
pub fn all_ids(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::Array(a)) => a.iter().filter_map(first_id).collect(),
        Some(v) => first_id(v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The `type` of a document; for a list of types, the first ActivityStreams one.
pub fn type_of(doc: &Value) -> &str {
    doc.get("type").map_or("", kind_of)
}

/// A `type` property's value: a string, or the first string of a list; `""` otherwise.
pub fn kind_of(kind: &Value) -> &str {
    match kind {
        Value::String(s) => s,
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .next()
            .unwrap_or_default(),
        _ => "",
    }
}

/// A name or user name as plain text: markup removed, entities decoded, at most
/// [`MAX_NAME`] characters; `None` when nothing is left.
pub(crate) fn plain(text: Option<&Value>) -> Option<String> {
    let cleaned = ammonia::Builder::empty().clean(text?.as_str()?).to_string();
    // ammonia gives HTML back: the text of it has these few entities decoded, `&amp;` last.
    let decoded = crate::domain::text::html_text(&cleaned);
    let trimmed = decoded.trim();
    if trimmed.is_empty() {
        return None;
    }
    Some(trimmed.chars().take(MAX_NAME).collect())
}

pub(super) fn url_field(doc: &Value, field: &str) -> Result<Option<Url>, String> {
    match doc.get(field).and_then(first_id) {
        None => Ok(None),
        Some(s) => Url::parse(s)
            .map(Some)
            .map_err(|_| format!("`{field}` is not a URL")),
    }
}

/// Why a document read into a domain type does not hold.
pub(super) fn invalid(what: &str, e: ValidationErrors) -> String {
    format!("the {what} does not hold: {e}")
}

/// When a document was published; now if it does not say.
pub fn published(object: &Value) -> DateTime<Utc> {
    object
        .get("published")
        .and_then(Value::as_str)
        .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
        .map_or_else(Utc::now, |p| p.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_in_every_shape() {
        assert_eq!(
            first_id(&json!("https://a.example/x")),
            Some("https://a.example/x")
        );
        assert_eq!(
            first_id(&json!({"id": "https://a.example/y"})),
            Some("https://a.example/y")
        );
        assert_eq!(
            first_id(&json!([{"type": "Link", "href": "https://a.example/z"}])),
            Some("https://a.example/z")
        );
        assert_eq!(first_id(&json!(3)), None);
    }

    #[test]
    fn names_are_text_not_html() {
        let name = |n: &str| plain(Some(&json!(n)));
        assert_eq!(
            name("Tom & Jerry \"quoted\" <3 l'été").as_deref(),
            Some("Tom & Jerry \"quoted\" <3 l'été")
        );
        assert_eq!(name("<script>x</script>"), None);
        assert_eq!(name("  "), None);
        assert_eq!(
            name(&"é".repeat(300)).map(|n| n.chars().count()),
            Some(MAX_NAME)
        );
    }
}
