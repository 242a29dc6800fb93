//! What a pole publishes, on the wire: projects and calls as `Note`s, events as `Event`s.
//!
//! Mastodon shows a `Note`'s `content` in full (and turns its `summary` into a content
//! warning), but shows only the `name`, the `summary` and a link of an `Event`. So notes
//! carry everything in `content` and no `summary`, and events carry their dates and place
//! in `summary`.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::actors::ApPlace;
use super::html;
use crate::domain::place::Place;
use crate::domain::territory_ref::fold;
use crate::domain::text::escape_html as escape;
use crate::domain::vocab::{
    CallDirection, CallStatus, CallSubject, EventStatus, ProjectStatus, Theme,
};
use crate::domain::{CallForCooperation, Event, Project};
use crate::store::ObjectRecord;

pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualLocation {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: Url,
}

/// An event, after FEP-8a8e.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApEvent {
    #[serde(flatten)]
    pub common: ObjectCommon,
    pub summary: String,
    /// `event`: what this object is for Maillage instances.
    pub ptce_kind: String,
    pub start_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    pub timezone: String,
    /// The `Place`, or the `VirtualLocation` of an online-only event: one object, not a
    /// list, which Mobilizon cannot read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Value>,
    /// The online link again as Mobilizon's online address (a `Link` named `Website`),
    /// where Mobilizon and Gancio read it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachment: Vec<Value>,
    pub organizer: Vec<Url>,
    pub event_status: EventStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_url: Option<Url>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_attendee_capacity: Option<u32>,
}

/// Who publishes an object, as the object's documents need it.
pub struct Author<'a> {
    pub ap_id: &'a str,
    /// Actor ids of the other organising poles (events only).
    pub co_organisers: Vec<String>,
}

/// Actor ids of an event's co-organising poles, which are poles of this instance.
pub fn organiser_ids(store: &crate::store::Store, event: &Event) -> Vec<String> {
    event
        .organiser_poles
        .iter()
        .map(|slug| store.url(&format!("/poles/{slug}")))
        .collect()
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
fn hashtag_line(base: &str, themes: &[Theme]) -> String {
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

const WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// `samedi 5 décembre 2026`, `vendredi 1er janvier 2027`.
pub fn french_date(date: NaiveDate) -> String {
    let day = match date.day() {
        1 => "1er".to_owned(),
        d => d.to_string(),
    };
    format!(
        "{} {day} {} {}",
        WEEKDAYS[date.weekday().num_days_from_monday() as usize],
        MONTHS[date.month0() as usize],
        date.year()
    )
}

fn french_time<T: Timelike>(t: &T) -> String {
    format!("{} h {:02}", t.hour(), t.minute())
}

/// When an event happens, in its own zone: `samedi 5 décembre 2026, 14 h 00 – 18 h 00`.
pub fn event_when(event: &Event) -> String {
    let tz: Tz = event.tz();
    let start = event.starts_at.with_timezone(&tz);
    let mut when = format!(
        "{}, {}",
        french_date(start.date_naive()),
        french_time(&start)
    );
    if let Some(end) = event.ends_at.map(|e| e.with_timezone(&tz)) {
        if end.date_naive() == start.date_naive() {
            when.push_str(&format!(" – {}", french_time(&end)));
        } else {
            when.push_str(&format!(
                " – {}, {}",
                french_date(end.date_naive()),
                french_time(&end)
            ));
        }
    }
    if tz != chrono_tz::Europe::Paris {
        when.push_str(&format!(" ({})", tz.name()));
    }
    when
}

/// What every kind has: who, when, where it is shown, and its texts.
struct Texts<'a> {
    name: &'a str,
    content: String,
    summary: &'a Option<String>,
    description: &'a Option<crate::domain::text::RichText>,
}

fn common<T>(
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
        context: super::context(),
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
fn paragraph(text: &Option<String>) -> String {
    text.as_ref()
        .map(|t| format!("<p>{}</p>", html::linkify(t)))
        .unwrap_or_default()
}

pub fn project_note(
    record: &ObjectRecord<Project>,
    author: &Author<'_>,
) -> Result<Note, url::ParseError> {
    let p = &record.data;
    let mut facts = vec![format!("Projet · {}", p.status.label_fr())];
    match (p.start_date, p.end_date) {
        (Some(s), Some(e)) => facts.push(format!("du {} au {}", french_date(s), french_date(e))),
        (Some(s), None) => facts.push(format!("depuis le {}", french_date(s))),
        (None, Some(e)) => facts.push(format!("jusqu'au {}", french_date(e))),
        (None, None) => {}
    }
    let content = format!(
        "<p><strong>{title}</strong></p>{summary}<p>{facts}</p>{description}<p>{link}</p>{tags}",
        title = escape(&p.title),
        summary = paragraph(&p.summary),
        facts = escape(&facts.join(", ")),
        description = p
            .description
            .as_ref()
            .map(|d| d.html.as_str())
            .unwrap_or_default(),
        link = html::url_link(&record.ap_id),
        tags = hashtag_line(&base_of(record), &p.themes),
    );
    Ok(Note {
        common: common(
            record,
            author,
            "Note",
            Texts {
                name: &p.title,
                content,
                summary: &p.summary,
                description: &p.description,
            },
            &p.themes,
            &p.territory.communes,
        )?,
        ptce_kind: "project".into(),
        project_status: Some(p.status),
        start_date: p.start_date,
        end_date: p.end_date,
        direction: None,
        subjects: Vec::new(),
        deadline: None,
        call_status: None,
        how_to_answer: None,
    })
}

pub fn call_note(
    record: &ObjectRecord<CallForCooperation>,
    author: &Author<'_>,
) -> Result<Note, url::ParseError> {
    let c = &record.data;
    let subjects: Vec<&str> = c.subjects.iter().map(|s| s.label_fr()).collect();
    let mut facts = format!(
        "Appel à coopération · {} : {} · {}",
        c.direction.label_fr(),
        subjects.join(", ").to_lowercase(),
        c.status.label_fr()
    );
    if let Some(deadline) = c.deadline {
        facts.push_str(&format!(" · réponse avant le {}", french_date(deadline)));
    }
    let content = format!(
        "<p><strong>{title}</strong></p>{summary}<p>{facts}</p>{description}<p>Pour répondre : {answer}</p><p>{link}</p>{tags}",
        title = escape(&c.title),
        summary = paragraph(&c.summary),
        facts = escape(&facts),
        description = c
            .description
            .as_ref()
            .map(|d| d.html.as_str())
            .unwrap_or_default(),
        answer = html::linkify(&c.how_to_answer),
        link = html::url_link(&record.ap_id),
        tags = hashtag_line(&base_of(record), &c.themes),
    );
    Ok(Note {
        common: common(
            record,
            author,
            "Note",
            Texts {
                name: &c.title,
                content,
                summary: &c.summary,
                description: &c.description,
            },
            &c.themes,
            &c.territory.communes,
        )?,
        ptce_kind: "call".into(),
        project_status: None,
        start_date: None,
        end_date: None,
        direction: Some(c.direction),
        subjects: c.subjects.clone(),
        deadline: c.deadline,
        call_status: Some(c.status),
        how_to_answer: Some(escape(&c.how_to_answer)),
    })
}

/// `https://domain` of an object's id.
fn base_of<T>(record: &ObjectRecord<T>) -> String {
    Url::parse(&record.ap_id)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

fn place_line(place: &Place) -> String {
    place.one_line()
}

pub fn event_object(
    record: &ObjectRecord<Event>,
    author: &Author<'_>,
) -> Result<ApEvent, url::ParseError> {
    let e = &record.data;
    let mut lines = Vec::new();
    if e.status != EventStatus::Scheduled {
        lines.push(e.status.label_fr().to_uppercase());
    }
    lines.push(event_when(e));
    if let Some(place) = &e.place {
        lines.push(place_line(place));
    }
    let mut facts: Vec<String> = lines.iter().map(|l| escape(l)).collect();
    if let Some(online) = &e.online_url {
        facts.push(format!("En ligne : {}", html::url_link(online)));
    }
    if let Some(registration) = &e.registration_url {
        facts.push(format!("Inscription : {}", html::url_link(registration)));
    }
    let tags = hashtag_line(&base_of(record), &e.themes);
    let summary = format!(
        "<p>{}</p>{}{tags}",
        facts.join("<br>"),
        paragraph(&e.summary)
    );
    let content = format!(
        "<p>{}</p>{}{description}<p>{link}</p>{tags}",
        facts.join("<br>"),
        paragraph(&e.summary),
        description = e
            .description
            .as_ref()
            .map(|d| d.html.as_str())
            .unwrap_or_default(),
        link = html::url_link(&record.ap_id),
    );
    let online = e.online_url.as_deref().map(Url::parse).transpose()?;
    let location = match (&e.place, &online) {
        (Some(place), _) => {
            Some(serde_json::to_value(ApPlace::from_place(place)).unwrap_or_default())
        }
        (None, Some(url)) => Some(
            serde_json::to_value(VirtualLocation {
                kind: "VirtualLocation".into(),
                url: url.clone(),
            })
            .unwrap_or_default(),
        ),
        (None, None) => None,
    };
    let attachment = online
        .iter()
        .map(
            |url| json!({"type": "Link", "mediaType": "text/html", "name": "Website", "href": url}),
        )
        .collect();
    let mut organizer = vec![Url::parse(author.ap_id)?];
    for other in &author.co_organisers {
        organizer.push(Url::parse(other)?);
    }
    let tz = e.tz();
    Ok(ApEvent {
        common: common(
            record,
            author,
            "Event",
            Texts {
                name: &e.title,
                content,
                summary: &e.summary,
                description: &e.description,
            },
            &e.themes,
            &[],
        )?,
        summary: html::sanitize(&summary),
        ptce_kind: "event".into(),
        start_time: e.starts_at.with_timezone(&tz).to_rfc3339(),
        end_time: e.ends_at.map(|t| t.with_timezone(&tz).to_rfc3339()),
        timezone: e.timezone.clone(),
        location,
        attachment,
        organizer,
        event_status: e.status,
        registration_url: e.registration_url.as_deref().map(Url::parse).transpose()?,
        maximum_attendee_capacity: e.capacity,
    })
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
