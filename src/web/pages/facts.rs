//! What the public pages draw alike: facts (a definition list's rows), the feeds' media
//! types, and the schema.org JSON-LD pieces of places.
//!
//! It uses no other page module: the pages of a pole and of an object stand above it.

use serde_json::json;

use super::Lang;
use super::views;
use crate::domain::vocab::Theme;
use crate::store::PageRequest;

pub(super) const ATOM: &str = "application/atom+xml";
pub(super) const RSS: &str = "application/rss+xml";
pub(super) const ICAL: &str = "text/calendar";

/// A label and a value in a definition list, with a link when the value is one.
#[derive(Debug, Clone)]
pub struct Fact {
    pub label: &'static str,
    pub value: String,
    pub href: Option<String>,
}

pub(super) fn fact(label: &'static str, value: impl Into<String>) -> Fact {
    Fact {
        label,
        value: value.into(),
        href: None,
    }
}

pub(super) fn link(label: &'static str, value: impl Into<String>, href: impl Into<String>) -> Fact {
    Fact {
        label,
        value: value.into(),
        href: Some(href.into()),
    }
}

/// The themes of a project, event or call, when it has some.
pub(super) fn themes_fact(facts: &mut Vec<Fact>, themes: &[Theme], lang: Lang) {
    if !themes.is_empty() {
        facts.push(fact(
            lang.t("pole.themes"),
            views::labels(themes, lang).join(", "),
        ));
    }
}

pub(super) fn first<T>(page: crate::store::Page<T>) -> Vec<T> {
    page.items
}

pub(super) const FIRST_100: PageRequest = PageRequest {
    page: 1,
    per_page: 100,
};

pub(super) fn place_ld(place: &crate::domain::place::Place) -> serde_json::Value {
    let mut value = json!({
        "@type": "Place",
        "name": place.name.clone().unwrap_or_else(|| place.one_line()),
        "address": {
            "@type": "PostalAddress",
            "streetAddress": place.street,
            "postalCode": place.postal_code,
            "addressLocality": place.locality,
            "addressCountry": "FR",
        },
    });
    if let (Some(lat), Some(lon)) = (place.latitude, place.longitude) {
        value["geo"] = json!({"@type": "GeoCoordinates", "latitude": lat, "longitude": lon});
    }
    value
}

/// JSON-LD without empty values, which validators flag.
pub(super) fn strip_nulls(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}
