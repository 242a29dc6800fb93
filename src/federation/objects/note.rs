//! What projects, calls and events share on the wire, and what a `Note` is.
//!
//! Mastodon shows a `Note`'s `content` in full (and turns its `summary` into a content
//! warning), but shows only the `name`, the `summary` and a link of an `Event`. So notes
//! carry everything in `content` and no `summary`, and events carry their dates and place
//! in `summary`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::context::{PUBLIC, context};
use super::html;
use super::json::type_of;
use crate::domain::territory::TerritoryInput;
use crate::domain::territory_ref::fold;
use crate::domain::text::{escape_html as escape, unescape_html};
use crate::domain::vocab::{
    CallDirection, CallStatus, CallSubject, ProjectStatus, TerritoryKind, TextFormat, Theme,
};
use crate::store::ObjectRecord;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hashtag {
    #[serde(rename = "type")]
    pub kind: String,
    pub href: Url,
    pub name: String,
}

/// Fields every published object has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectCommon {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    pub attributed_to: Url,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub url: Url,
    pub name: String,
    pub content: String,
    pub media_type: String,
    pub tag: Vec<Hashtag>,
    pub themes: Vec<Theme>,
    pub communes: Vec<String>,
    /// The short plain-text summary, for Maillage instances (Mastodon would show a
    /// `summary` as a content warning).
    #[serde(rename = "abstract", default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
    /// The description as its author wrote it, for Maillage instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// ActivityStreams `source`: the text an object's HTML was rendered from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub content: String,
    pub media_type: String,
}

impl Source {
    pub fn from_rich_text(text: &Option<crate::domain::text::RichText>) -> Option<Source> {
        text.as_ref().map(|t| Source {
            content: t.source.clone(),
            media_type: match t.format {
                crate::domain::vocab::TextFormat::Markdown => "text/markdown".into(),
                crate::domain::vocab::TextFormat::Html => "text/html".into(),
            },
        })
    }
}

/// A project or a call for cooperation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    #[serde(flatten)]
    pub common: ObjectCommon,
    /// `project` or `call`: what this note is for Maillage instances.
    pub ptce_kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_status: Option<ProjectStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<CallDirection>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<CallSubject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_status: Option<CallStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub how_to_answer: Option<String>,
}

/// Who publishes an object, as the object's documents need it.
pub struct Author<'a> {
    pub ap_id: &'a str,
    /// Actor ids of the other organising poles (events only).
    pub co_organisers: Vec<String>,
}

/// `#AgricultureEtAlimentation`: the French label, accents and spaces removed.
pub fn hashtag_name(theme: Theme) -> String {
    let words: String = fold(theme.label_fr())
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("#{words}")
}

fn hashtags(base: &str, themes: &[Theme]) -> Result<Vec<Hashtag>, url::ParseError> {
    themes
        .iter()
        .map(|t| {
            Ok(Hashtag {
                kind: "Hashtag".into(),
                href: Url::parse(&theme_url(base, *t))?,
                name: hashtag_name(*t),
            })
        })
        .collect()
}

/// The hashtags as a paragraph of links to the themes' pages, as Mastodon writes them.
pub(super) fn hashtag_line(base: &str, themes: &[Theme]) -> String {
    if themes.is_empty() {
        return String::new();
    }
    let tags: Vec<String> = themes
        .iter()
        .map(|t| {
            let name = hashtag_name(*t);
            html::hashtag_link(&theme_url(base, *t), name.trim_start_matches('#'))
        })
        .collect();
    format!("<p>{}</p>", tags.join(" "))
}

/// The page of a theme on this instance: the directory of what carries it.
pub fn theme_url(base: &str, theme: Theme) -> String {
    format!("{}/themes/{}", base.trim_end_matches('/'), theme.id())
}

pub use crate::domain::calendar::french_date;

/// What every kind has: who, when, where it is shown, and its texts.
pub(super) struct Texts<'a> {
    pub(super) name: &'a str,
    pub(super) content: String,
    pub(super) summary: &'a Option<String>,
    pub(super) description: &'a Option<crate::domain::text::RichText>,
}

pub(super) fn common<T>(
    record: &ObjectRecord<T>,
    author: &Author<'_>,
    kind: &str,
    texts: Texts<'_>,
    themes: &[Theme],
    communes: &[String],
) -> Result<ObjectCommon, url::ParseError> {
    let id = Url::parse(&record.ap_id)?;
    let base = id.origin().ascii_serialization();
    Ok(ObjectCommon {
        context: context(),
        kind: kind.into(),
        attributed_to: Url::parse(author.ap_id)?,
        to: vec![PUBLIC.into()],
        cc: vec![format!("{}/followers", author.ap_id.trim_end_matches('/'))],
        published: record.published_at,
        updated: record.updated_at,
        url: id.clone(),
        // `name` and `abstract` are text, but Mastodon puts an `Event`'s `name` in a
        // heading before it sanitises: both are HTML-escaped (the text as typed is in
        // `source` and the structured fields).
        name: escape(texts.name),
        content: html::sanitize(&texts.content),
        media_type: "text/html".into(),
        excerpt: texts.summary.as_deref().map(escape),
        source: Source::from_rich_text(texts.description),
        tag: hashtags(&base, themes)?,
        themes: themes.to_vec(),
        communes: communes.to_vec(),
        id,
    })
}

/// A text people typed, as a paragraph: escaped, its web addresses linked.
pub(super) fn paragraph(text: &Option<String>) -> String {
    text.as_ref()
        .map(|t| format!("<p>{}</p>", html::linkify(t)))
        .unwrap_or_default()
}

/// `https://domain` of an object's id.
pub(super) fn base_of<T>(record: &ObjectRecord<T>) -> String {
    Url::parse(&record.ap_id)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

pub(super) fn format_of(source: &Source) -> TextFormat {
    if source.media_type.eq_ignore_ascii_case("text/html") {
        TextFormat::Html
    } else {
        TextFormat::Markdown
    }
}

/// What Maillage objects share on the wire.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RemoteCommon {
    pub(super) name: String,
    #[serde(rename = "abstract")]
    pub(super) excerpt: Option<String>,
    pub(super) source: Option<Source>,
    #[serde(default)]
    pub(super) themes: Vec<Theme>,
    #[serde(default)]
    pub(super) communes: Vec<String>,
}

impl RemoteCommon {
    /// Reads the fields; `name` and `abstract` are HTML-escaped text on the wire, and
    /// plain text here.
    pub(super) fn read(doc: &Value) -> Result<RemoteCommon, String> {
        let mut common: RemoteCommon = serde_json::from_value(doc.clone())
            .map_err(|e| format!("the object cannot be read: {e}"))?;
        common.name = unescape_html(&common.name);
        common.excerpt = common.excerpt.as_deref().map(unescape_html);
        Ok(common)
    }

    pub(super) fn territory(&self) -> TerritoryInput {
        TerritoryInput {
            communes: self.communes.clone(),
            kind: None::<TerritoryKind>,
            label: None,
        }
    }
}

/// What kind of Maillage object a document is, if it is one.
pub fn maillage_kind(doc: &Value) -> Option<crate::store::Kind> {
    use crate::store::Kind;
    match (type_of(doc), doc.get("ptceKind").and_then(Value::as_str)) {
        ("Note", Some("project")) => Some(Kind::Project),
        ("Note", Some("call")) => Some(Kind::Call),
        ("Event", Some("event")) => Some(Kind::Event),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_are_ascii_camel_case() {
        assert_eq!(
            hashtag_name(Theme::AgricultureFood),
            "#AgricultureEtAlimentation"
        );
        assert_eq!(
            hashtag_name(Theme::RenewableEnergy),
            "#EnergiesRenouvelables"
        );
        assert_eq!(hashtag_name(Theme::EcoConstruction), "#EcoConstruction");
    }

    #[test]
    fn french_dates() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap_or_default();
        assert_eq!(french_date(date), "samedi 5 décembre 2026");
        let first = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap_or_default();
        assert_eq!(french_date(first), "vendredi 1er janvier 2027");
    }
}
