//! The directory as feeds: renderers from stored records to Atom, RSS, iCalendar, GeoJSON, CSV and GoGoCarto bytes.
//!
//! Renderers are pure: they take records that were already selected (see
//! `crate::web::feeds`) and the instance's base URL, and never touch the database, so each
//! format is tested on its own.

pub mod atom;
pub mod csv;
pub mod geojson;
pub mod gogocarto;
pub mod ical;
pub mod rss;

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::text::{escape_html, sanitize_html};
use crate::domain::{CallForCooperation, Event, Project};
use crate::store::{MemberRecord, ObjectRecord, PoleRecord};

/// A pole with its members, as the pole listings (CSV, map, GoGoCarto) need them.
#[derive(Debug, Clone)]
pub struct PoleEntry {
    pub record: PoleRecord,
    pub members: Vec<MemberRecord>,
}

/// What one feed shows: poles and objects already filtered, plus the poles that published the
/// objects (which may be left out of `poles` by the query's `kind`).
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub poles: Vec<PoleEntry>,
    pub projects: Vec<ObjectRecord<Project>>,
    pub events: Vec<ObjectRecord<Event>>,
    pub calls: Vec<ObjectRecord<CallForCooperation>>,
    pub publishers: HashMap<i64, PoleRecord>,
}

impl Directory {
    /// The pole that published an object, when it is known.
    pub fn publisher(&self, pole_id: i64) -> Option<&PoleRecord> {
        self.publishers.get(&pole_id)
    }

    /// The latest change of anything in the feed, for `updated` and `Last-Modified`.
    pub fn last_updated(&self) -> Option<DateTime<Utc>> {
        self.poles
            .iter()
            .map(|p| {
                p.members
                    .iter()
                    .map(|m| m.updated_at)
                    .fold(p.record.updated_at, DateTime::max)
            })
            .chain(self.projects.iter().map(|o| o.updated_at))
            .chain(self.events.iter().map(|o| o.updated_at))
            .chain(self.calls.iter().map(|o| o.updated_at))
            .max()
    }
}

/// What a feed says about itself.
#[derive(Debug, Clone)]
pub struct FeedInfo {
    pub title: String,
    /// The feed's own URL, with its query: the feed's stable identifier.
    pub self_url: String,
    /// The HTML page the feed is about.
    pub html_url: String,
    pub description: String,
    /// The next page of the same feed, when the listing goes on.
    pub next_url: Option<String>,
}

/// The kind of an entry, as named in the directory's `kind` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Pole,
    Project,
    Event,
    Call,
}

impl EntryKind {
    pub fn id(self) -> &'static str {
        match self {
            EntryKind::Pole => "pole",
            EntryKind::Project => "project",
            EntryKind::Event => "event",
            EntryKind::Call => "call",
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            EntryKind::Pole => "Pôle",
            EntryKind::Project => "Projet",
            EntryKind::Event => "Événement",
            EntryKind::Call => "Appel à coopération",
        }
    }
}

/// One item of a news feed (Atom or RSS): a pole profile or an object, in the shape both
/// formats share.
#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: EntryKind,
    /// The ActivityPub id: stable across updates.
    pub id: String,
    pub title: String,
    /// The HTML page.
    pub url: String,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub summary: Option<String>,
    /// Sanitised HTML.
    pub content_html: String,
    pub author_name: Option<String>,
    pub author_url: Option<String>,
    /// Theme codes with their French labels.
    pub categories: Vec<(&'static str, &'static str)>,
}

fn paragraph(label: &str, value: &str) -> String {
    format!(
        "<p><strong>{}</strong> {}</p>",
        escape_html(label),
        escape_html(value)
    )
}

fn description_html(description: Option<&crate::domain::text::RichText>) -> String {
    description.map(|d| d.html.clone()).unwrap_or_default()
}

impl Entry {
    fn pole(record: &PoleRecord) -> Entry {
        let pole = &record.pole;
        let mut html = String::new();
        if let Some(summary) = &pole.summary {
            html.push_str(&format!("<p>{}</p>", escape_html(summary)));
        }
        if !pole.territory.is_empty() {
            let view = pole.territory.view();
            let names: Vec<String> = view
                .departements
                .iter()
                .map(|d| d.name.clone())
                .chain(pole.territory.label.clone())
                .collect();
            if !names.is_empty() {
                html.push_str(&paragraph("Territoire :", &names.join(", ")));
            }
        }
        if let Some(place) = &pole.shared_place {
            html.push_str(&paragraph("Lieu partagé :", &place.one_line()));
        }
        html.push_str(&description_html(pole.description.as_ref()));
        Entry {
            kind: EntryKind::Pole,
            id: record.ap_id.clone(),
            title: pole.name.clone(),
            url: record.ap_id.clone(),
            published: record.created_at,
            updated: record.updated_at,
            summary: pole.summary.clone(),
            content_html: sanitize_html(&html),
            author_name: Some(pole.name.clone()),
            author_url: Some(record.ap_id.clone()),
            categories: pole.themes.iter().map(|t| (t.id(), t.label_fr())).collect(),
        }
    }

    fn object<T>(
        kind: EntryKind,
        record: &ObjectRecord<T>,
        title: &str,
        summary: Option<&String>,
        html: String,
        publisher: Option<&PoleRecord>,
        themes: &[crate::domain::vocab::Theme],
    ) -> Entry {
        Entry {
            kind,
            id: record.ap_id.clone(),
            title: title.to_owned(),
            url: record.ap_id.clone(),
            published: record.published_at,
            updated: record.updated_at,
            summary: summary.cloned(),
            content_html: sanitize_html(&html),
            author_name: publisher.map(|p| p.pole.name.clone()),
            author_url: publisher.map(|p| p.ap_id.clone()),
            categories: themes.iter().map(|t| (t.id(), t.label_fr())).collect(),
        }
    }
}

/// The news-feed entries of a directory, most recently updated first.
pub fn entries(directory: &Directory) -> Vec<Entry> {
    let mut entries: Vec<Entry> = directory
        .poles
        .iter()
        .map(|p| Entry::pole(&p.record))
        .collect();
    for p in &directory.projects {
        let data = &p.data;
        let mut html = String::new();
        html.push_str(&paragraph("Statut :", data.status.label_fr()));
        html.push_str(&description_html(data.description.as_ref()));
        entries.push(Entry::object(
            EntryKind::Project,
            p,
            &data.title,
            data.summary.as_ref(),
            html,
            directory.publisher(p.pole_id),
            &data.themes,
        ));
    }
    for e in &directory.events {
        let data = &e.data;
        let mut html = paragraph("Quand :", &data.when_in_french());
        if data.status != crate::domain::vocab::EventStatus::Scheduled {
            html.push_str(&paragraph("Statut :", data.status.label_fr()));
        }
        if let Some(place) = &data.place {
            html.push_str(&paragraph("Où :", &place.one_line()));
        }
        if let Some(url) = &data.online_url {
            html.push_str(&format!(
                "<p><strong>En ligne :</strong> <a href=\"{0}\">{0}</a></p>",
                escape_html(url)
            ));
        }
        html.push_str(&description_html(data.description.as_ref()));
        entries.push(Entry::object(
            EntryKind::Event,
            e,
            &data.title,
            data.summary.as_ref(),
            html,
            directory.publisher(e.pole_id),
            &data.themes,
        ));
    }
    for c in &directory.calls {
        let data = &c.data;
        let mut html = paragraph(
            if data.direction == crate::domain::vocab::CallDirection::Seeking {
                "Recherche :"
            } else {
                "Propose :"
            },
            &data
                .subjects
                .iter()
                .map(|s| s.label_fr())
                .collect::<Vec<_>>()
                .join(", "),
        );
        html.push_str(&paragraph("Statut :", data.status.label_fr()));
        if let Some(deadline) = data.deadline {
            html.push_str(&paragraph(
                "Date limite :",
                &crate::domain::calendar::french_date(deadline),
            ));
        }
        html.push_str(&description_html(data.description.as_ref()));
        html.push_str(&paragraph("Pour répondre :", &data.how_to_answer));
        entries.push(Entry::object(
            EntryKind::Call,
            c,
            &data.title,
            data.summary.as_ref(),
            html,
            directory.publisher(c.pole_id),
            &data.themes,
        ));
    }
    entries.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| a.id.cmp(&b.id)));
    entries
}

/// Escapes text for XML, in elements and attribute values; drops the control characters
/// XML 1.0 forbids, which would make the whole feed unreadable.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod test_entries {
    use chrono::{TimeZone, Utc};

    use super::{Entry, EntryKind, FeedInfo};

    pub fn info() -> FeedInfo {
        FeedInfo {
            title: "Annuaire <PTCE> & co".into(),
            self_url: "https://ptce.example.org/feeds/directory.atom?kind=event&q=a".into(),
            html_url: "https://ptce.example.org/".into(),
            description: "Projets & événements".into(),
            next_url: Some("https://ptce.example.org/feeds/directory.atom?page=2".into()),
        }
    }

    pub fn entry() -> Entry {
        Entry {
            kind: EntryKind::Event,
            id: "https://ptce.example.org/events/abc".into(),
            title: "Fête <b>\"solidaire\"</b> & marché \u{1}".into(),
            url: "https://ptce.example.org/events/abc".into(),
            published: Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap(),
            updated: Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
            summary: Some("Le 5 décembre & après".into()),
            content_html: "<p>Un <strong>marché</strong> &amp; des ateliers</p>".into(),
            author_name: Some("Pôle d'Ajaccio".into()),
            author_url: Some("https://ptce.example.org/poles/ajaccio".into()),
            categories: vec![("digital", "Numérique")],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escaping_covers_markup_and_forbidden_characters() {
        assert_eq!(
            escape_xml("a<b>&\"c' \u{1}d\te"),
            "a&lt;b&gt;&amp;&quot;c&apos; d\te"
        );
    }
}
