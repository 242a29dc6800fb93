//! The rows of the directory index: what a pole, project, event or call puts in
//! `directory` (its text tokens, dates, status) and in `directory_facets` (territory
//! codes, themes, pooling kinds, members' legal forms).
//!
//! Invariant: an entry depends only on the stored row it describes and on its pole's
//! facts, so writing it after a change and rebuilding the whole index give the same rows.

use chrono_tz::Tz;

use super::params::{DIRECTORY_TZ, DirectoryKind};
use super::text::{
    COMMUNE, DEPARTEMENT, EPCI, LEGAL_FORM, POOLING, REGION, THEME, facet_token, kind_token,
    title_token, tokens,
};
use crate::domain::place::Place;
use crate::domain::territory::Territory;
use crate::domain::vocab::{CallSubject, PoolingKind, Theme};
use crate::store::entities::{calls, events, poles, projects};
use crate::store::{Result, StoreError};

/// One row of `directory` with its facets, ready to be written.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(super) kind: DirectoryKind,
    pub(super) item_id: i64,
    pub(super) pole_id: i64,
    pub(super) local: bool,
    pub(super) title: String,
    pub(super) summary: Option<String>,
    pub(super) ap_id: String,
    pub(super) public_id: String,
    pub(super) title_tokens: String,
    pub(super) tokens: String,
    pub(super) published_at: i64,
    pub(super) updated_at: i64,
    pub(super) starts_at: Option<i64>,
    pub(super) ends_at: Option<i64>,
    pub(super) event_month: Option<String>,
    pub(super) call_status: Option<String>,
    pub(super) deadline: Option<String>,
    pub(super) facets: Vec<(&'static str, String)>,
}

/// What the objects of a pole inherit when they say nothing themselves.
#[derive(Debug, Clone, Default)]
pub(crate) struct PoleFacts {
    communes: Vec<String>,
    themes: Vec<Theme>,
}

fn json_list<T: serde::de::DeserializeOwned>(
    what: &str,
    value: &serde_json::Value,
) -> Result<Vec<T>> {
    serde_json::from_value(value.clone())
        .map_err(|e| StoreError::Corrupt(format!("{what} of a directory row: {e}")))
}

impl PoleFacts {
    pub(super) fn of(m: &poles::Model) -> Result<PoleFacts> {
        Ok(PoleFacts {
            communes: json_list("communes", &m.communes)?,
            themes: json_list("themes", &m.themes)?,
        })
    }
}

/// Builds the space-separated token text, with spaces at both ends so that a whole token
/// can be matched with `LIKE '% token %'` on both databases.
fn token_text<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from(" ");
    for part in parts {
        for t in tokens(part) {
            out.push_str(&t);
            out.push(' ');
        }
    }
    out
}

fn territory_facets(communes: &[String], facets: &mut Vec<(&'static str, String)>) {
    let territory = Territory {
        communes: communes.to_vec(),
        kind: None,
        label: None,
    };
    for code in territory.region_codes() {
        facets.push((REGION, code.to_owned()));
    }
    for code in territory.departement_codes() {
        facets.push((DEPARTEMENT, code.to_owned()));
    }
    for code in territory.epci_codes() {
        facets.push((EPCI, code.to_owned()));
    }
    let mut seen: Vec<&str> = Vec::new();
    for code in communes {
        if !seen.contains(&code.as_str()) {
            seen.push(code);
            facets.push((COMMUNE, code.clone()));
        }
    }
}

fn theme_facets(themes: &[Theme], facets: &mut Vec<(&'static str, String)>) {
    for theme in themes {
        let value = (THEME, theme.id().to_owned());
        if !facets.contains(&value) {
            facets.push(value);
        }
    }
}

impl Entry {
    /// Adds to the text tokens those of the territory and themes, of the kind, and the
    /// title's words again as title tokens.
    fn with_facet_tokens(mut self) -> Entry {
        let mut extra: Vec<String> = self
            .facets
            .iter()
            .filter(|(facet, _)| matches!(*facet, REGION | DEPARTEMENT | EPCI | COMMUNE | THEME))
            .map(|(facet, value)| facet_token(facet, value))
            .collect();
        extra.push(kind_token(self.kind.id()));
        extra.extend(self.title_tokens.split_whitespace().map(title_token));
        for token in extra {
            self.tokens.push_str(&token);
            self.tokens.push(' ');
        }
        self
    }
}

pub(super) fn pole_entry(m: &poles::Model, member_rows: &[(String, String)]) -> Result<Entry> {
    let facts = PoleFacts::of(m)?;
    let pooling: Vec<PoolingKind> = json_list("pooling", &m.pooling)?;
    let theme_labels: Vec<&str> = facts.themes.iter().map(|t| t.label_fr()).collect();
    let mut body: Vec<&str> = vec![m.name.as_str()];
    body.extend(m.summary.as_deref());
    body.extend(m.description.as_deref());
    body.extend(m.territory_label.as_deref());
    body.extend(member_rows.iter().map(|(name, _)| name.as_str()));
    body.extend(theme_labels.iter().copied());
    let mut facets = Vec::new();
    territory_facets(&facts.communes, &mut facets);
    theme_facets(&facts.themes, &mut facets);
    for kind in pooling {
        let value = (POOLING, kind.id().to_owned());
        if !facets.contains(&value) {
            facets.push(value);
        }
    }
    for (_, form) in member_rows {
        let value = (LEGAL_FORM, form.clone());
        if !facets.contains(&value) {
            facets.push(value);
        }
    }
    Ok(Entry {
        kind: DirectoryKind::Pole,
        item_id: m.id,
        pole_id: m.id,
        local: m.local,
        title: m.name.clone(),
        summary: m.summary.clone(),
        ap_id: m.ap_id.clone(),
        public_id: m.slug.clone(),
        title_tokens: token_text([m.name.as_str()]),
        tokens: token_text(body),
        published_at: m.created_at.timestamp(),
        updated_at: m.updated_at.timestamp(),
        starts_at: None,
        ends_at: None,
        event_month: None,
        call_status: None,
        deadline: None,
        facets,
    }
    .with_facet_tokens())
}

/// Facets of an object: its own territory and themes, or its pole's when it has none.
fn object_facets(
    communes: &[String],
    themes: &[Theme],
    pole: &PoleFacts,
) -> Vec<(&'static str, String)> {
    let mut facets = Vec::new();
    territory_facets(
        if communes.is_empty() {
            &pole.communes
        } else {
            communes
        },
        &mut facets,
    );
    theme_facets(
        if themes.is_empty() {
            &pole.themes
        } else {
            themes
        },
        &mut facets,
    );
    facets
}

pub(super) fn project_entry(m: &projects::Model, pole: &PoleFacts) -> Result<Entry> {
    let themes: Vec<Theme> = json_list("themes", &m.themes)?;
    let communes: Vec<String> = json_list("communes", &m.communes)?;
    let labels: Vec<&str> = themes.iter().map(|t| t.label_fr()).collect();
    let mut body: Vec<&str> = vec![m.title.as_str()];
    body.extend(m.summary.as_deref());
    body.extend(m.description.as_deref());
    body.extend(m.territory_label.as_deref());
    body.extend(labels.iter().copied());
    Ok(Entry {
        kind: DirectoryKind::Project,
        item_id: m.id,
        pole_id: m.pole_id,
        local: m.local,
        title: m.title.clone(),
        summary: m.summary.clone(),
        ap_id: m.ap_id.clone(),
        public_id: m.public_id.clone(),
        title_tokens: token_text([m.title.as_str()]),
        tokens: token_text(body),
        published_at: m.published_at.timestamp(),
        updated_at: m.updated_at.timestamp(),
        starts_at: None,
        ends_at: None,
        event_month: None,
        call_status: None,
        deadline: None,
        facets: object_facets(&communes, &themes, pole),
    }
    .with_facet_tokens())
}

pub(super) fn event_entry(m: &events::Model, pole: &PoleFacts) -> Result<Entry> {
    let themes: Vec<Theme> = json_list("themes", &m.themes)?;
    let labels: Vec<&str> = themes.iter().map(|t| t.label_fr()).collect();
    let place: Option<Place> = m
        .place
        .as_ref()
        .map(|p| serde_json::from_value(p.clone()))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("place of a directory row: {e}")))?;
    let mut body: Vec<&str> = vec![m.title.as_str()];
    body.extend(m.summary.as_deref());
    body.extend(m.description.as_deref());
    if let Some(place) = &place {
        body.extend(place.name.as_deref());
        body.extend(place.locality.as_deref());
    }
    body.extend(labels.iter().copied());
    let communes: Vec<String> = place
        .as_ref()
        .and_then(|p| p.commune.clone())
        .into_iter()
        .collect();
    let tz: Tz = m.timezone.parse().unwrap_or(DIRECTORY_TZ);
    let ends = m.ends_at.unwrap_or(m.starts_at);
    Ok(Entry {
        kind: DirectoryKind::Event,
        item_id: m.id,
        pole_id: m.pole_id,
        local: m.local,
        title: m.title.clone(),
        summary: m.summary.clone(),
        ap_id: m.ap_id.clone(),
        public_id: m.public_id.clone(),
        title_tokens: token_text([m.title.as_str()]),
        tokens: token_text(body),
        published_at: m.published_at.timestamp(),
        updated_at: m.updated_at.timestamp(),
        starts_at: Some(m.starts_at.timestamp()),
        ends_at: Some(ends.timestamp()),
        event_month: Some(m.starts_at.with_timezone(&tz).format("%Y-%m").to_string()),
        call_status: None,
        deadline: None,
        facets: object_facets(&communes, &themes, pole),
    }
    .with_facet_tokens())
}

pub(super) fn call_entry(m: &calls::Model, pole: &PoleFacts) -> Result<Entry> {
    let themes: Vec<Theme> = json_list("themes", &m.themes)?;
    let subjects: Vec<CallSubject> = json_list("subjects", &m.subjects)?;
    let communes: Vec<String> = json_list("communes", &m.communes)?;
    let mut labels: Vec<&str> = themes.iter().map(|t| t.label_fr()).collect();
    labels.extend(subjects.iter().map(|s| s.label_fr()));
    let mut body: Vec<&str> = vec![m.title.as_str()];
    body.extend(m.summary.as_deref());
    body.extend(m.description.as_deref());
    body.extend(m.territory_label.as_deref());
    body.extend(labels.iter().copied());
    Ok(Entry {
        kind: DirectoryKind::Call,
        item_id: m.id,
        pole_id: m.pole_id,
        local: m.local,
        title: m.title.clone(),
        summary: m.summary.clone(),
        ap_id: m.ap_id.clone(),
        public_id: m.public_id.clone(),
        title_tokens: token_text([m.title.as_str()]),
        tokens: token_text(body),
        published_at: m.published_at.timestamp(),
        updated_at: m.updated_at.timestamp(),
        starts_at: None,
        ends_at: None,
        event_month: None,
        call_status: Some(m.status.clone()),
        deadline: m.deadline.map(|d| d.format("%Y-%m-%d").to_string()),
        facets: object_facets(&communes, &themes, pole),
    }
    .with_facet_tokens())
}

/// A stored object's row in the directory; `objects.rs` calls this after every write.
pub(crate) trait Indexed {
    fn deleted(&self) -> bool;
    fn pole_id(&self) -> i64;
    fn entry(&self, pole: &PoleFacts) -> Result<Entry>;
}

impl Indexed for projects::Model {
    fn deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
    fn pole_id(&self) -> i64 {
        self.pole_id
    }
    fn entry(&self, pole: &PoleFacts) -> Result<Entry> {
        project_entry(self, pole)
    }
}

impl Indexed for events::Model {
    fn deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
    fn pole_id(&self) -> i64 {
        self.pole_id
    }
    fn entry(&self, pole: &PoleFacts) -> Result<Entry> {
        event_entry(self, pole)
    }
}

impl Indexed for calls::Model {
    fn deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
    fn pole_id(&self) -> i64 {
        self.pole_id
    }
    fn entry(&self, pole: &PoleFacts) -> Result<Entry> {
        call_entry(self, pole)
    }
}
