//! The directory's query parameters (shared by the pages, the API and the feeds) and the
//! selection of what matches them.
//!
//! [`select`] is the one place that reads the store for a directory query: it filters the
//! local listings in memory, and is where a dedicated search query can take over.

use chrono::{NaiveDate, Utc};

use super::Lang;
use super::views::ObjectItem;
use crate::domain::ValidationErrors;
use crate::domain::territory::Territory;
use crate::domain::territory_ref::fold;
use crate::domain::vocab::{CallStatus, LegalForm, PoolingKind, Theme};
use crate::store::{PageRequest, PoleRecord, Store, StoreError};

pub const KINDS: [&str; 4] = ["pole", "project", "event", "call"];

/// `q`, `region`, `departement`, `epci`, `commune`, `theme`, `pooling`, `legal_form`, `kind`,
/// `upcoming`, `from`, `to`, `call_status`, `deadline_before`, `page`, `per_page`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirectoryParams {
    pub q: String,
    pub region: String,
    pub departement: String,
    pub epci: String,
    pub commune: String,
    pub theme: Option<Theme>,
    pub pooling: Option<PoolingKind>,
    pub legal_form: Option<LegalForm>,
    /// Empty: every kind.
    pub kinds: Vec<String>,
    pub upcoming: bool,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub call_status: Option<CallStatus>,
    pub deadline_before: Option<NaiveDate>,
    pub page: u64,
    pub per_page: u64,
}

fn parse_date(e: &mut ValidationErrors, field: &str, value: &str) -> Option<NaiveDate> {
    if value.trim().is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            e.add(field, format!("`{value}` is not a date such as 2026-12-31"));
            None
        }
    }
}

fn parse_vocab<T>(
    e: &mut ValidationErrors,
    field: &str,
    value: &str,
    from_id: fn(&str) -> Option<T>,
) -> Option<T> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let found = from_id(value);
    if found.is_none() {
        e.add(field, format!("unknown value `{value}`"));
    }
    found
}

fn parse_code(
    e: &mut ValidationErrors,
    field: &str,
    value: &str,
    len: std::ops::RangeInclusive<usize>,
) -> String {
    let value = value.trim();
    if !value.is_empty()
        && (!len.contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        e.add(field, format!("`{value}` is not a code of this kind"));
        return String::new();
    }
    value.to_ascii_uppercase()
}

impl DirectoryParams {
    /// Reads a query string; every wrong value is reported with its parameter.
    pub fn parse(
        query: &str,
        default_per_page: u64,
        max_per_page: u64,
    ) -> Result<DirectoryParams, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let mut p = DirectoryParams {
            page: 1,
            per_page: default_per_page,
            ..DirectoryParams::default()
        };
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = value.as_ref();
            match key.as_ref() {
                "q" => p.q = value.trim().chars().take(200).collect(),
                "region" => p.region = parse_code(&mut e, "region", value, 2..=3),
                "departement" => p.departement = parse_code(&mut e, "departement", value, 2..=3),
                "epci" => p.epci = parse_code(&mut e, "epci", value, 9..=9),
                "commune" => p.commune = parse_code(&mut e, "commune", value, 5..=5),
                "theme" => p.theme = parse_vocab(&mut e, "theme", value, Theme::from_id),
                "pooling" => {
                    p.pooling = parse_vocab(&mut e, "pooling", value, PoolingKind::from_id)
                }
                "legal_form" => {
                    p.legal_form = parse_vocab(&mut e, "legal_form", value, LegalForm::from_id)
                }
                "kind" => {
                    for kind in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                        if KINDS.contains(&kind) {
                            if !p.kinds.iter().any(|k| k == kind) {
                                p.kinds.push(kind.to_owned());
                            }
                        } else {
                            e.add(
                                "kind",
                                format!("unknown kind `{kind}`: use pole, project, event or call"),
                            );
                        }
                    }
                }
                "upcoming" => match value.trim() {
                    "true" | "1" | "on" => p.upcoming = true,
                    "" | "false" | "0" => p.upcoming = false,
                    other => e.add("upcoming", format!("`{other}` is not true or false")),
                },
                "from" => p.from = parse_date(&mut e, "from", value),
                "to" => p.to = parse_date(&mut e, "to", value),
                "call_status" => {
                    p.call_status = parse_vocab(&mut e, "call_status", value, CallStatus::from_id)
                }
                "deadline_before" => {
                    p.deadline_before = parse_date(&mut e, "deadline_before", value)
                }
                "page" | "per_page" => {
                    let n = value
                        .trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n >= 1 && *n <= 1_000_000);
                    match (key.as_ref(), n) {
                        ("page", Some(n)) => p.page = n,
                        ("per_page", Some(n)) if n <= max_per_page => p.per_page = n,
                        ("per_page", Some(_)) => {
                            e.add("per_page", format!("must be at most {max_per_page}"))
                        }
                        (field, None) if !value.trim().is_empty() => e.add(
                            field,
                            format!("must be a whole number from 1, got `{value}`"),
                        ),
                        _ => {}
                    }
                }
                // Unknown parameters (trackers, future ones) are ignored rather than refused.
                _ => {}
            }
        }
        if let (Some(from), Some(to)) = (p.from, p.to)
            && to < from
        {
            e.add("to", "must not be before `from`");
        }
        e.finish(|| p)
    }

    /// The query string of these parameters, for links (pages, feeds) that keep the selection.
    pub fn to_query(&self, page: Option<u64>) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        let pairs: [(&str, String); 12] = [
            ("q", self.q.clone()),
            ("region", self.region.clone()),
            ("departement", self.departement.clone()),
            ("epci", self.epci.clone()),
            ("commune", self.commune.clone()),
            (
                "theme",
                self.theme.map(|t| t.id().to_owned()).unwrap_or_default(),
            ),
            (
                "pooling",
                self.pooling.map(|t| t.id().to_owned()).unwrap_or_default(),
            ),
            (
                "legal_form",
                self.legal_form
                    .map(|t| t.id().to_owned())
                    .unwrap_or_default(),
            ),
            ("kind", self.kinds.join(",")),
            ("from", self.from.map(|d| d.to_string()).unwrap_or_default()),
            ("to", self.to.map(|d| d.to_string()).unwrap_or_default()),
            (
                "deadline_before",
                self.deadline_before
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ),
        ];
        for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
            out.append_pair(k, v);
        }
        if self.upcoming {
            out.append_pair("upcoming", "true");
        }
        if let Some(status) = self.call_status {
            out.append_pair("call_status", status.id());
        }
        if let Some(page) = page.filter(|p| *p > 1) {
            out.append_pair("page", &page.to_string());
        }
        out.finish()
    }

    fn wants(&self, kind: &str) -> bool {
        self.kinds.is_empty() || self.kinds.iter().any(|k| k == kind)
    }

    fn text_matches(&self, texts: &[Option<&str>]) -> bool {
        if self.q.is_empty() {
            return true;
        }
        let haystack = fold(
            &texts
                .iter()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
        );
        fold(&self.q)
            .split(' ')
            .filter(|w| !w.is_empty())
            .all(|w| haystack.contains(w))
    }

    fn place_matches(&self, territory: &Territory) -> bool {
        (self.region.is_empty() || territory.region_codes().contains(&self.region.as_str()))
            && (self.departement.is_empty()
                || territory
                    .departement_codes()
                    .contains(&self.departement.as_str()))
            && (self.epci.is_empty() || territory.epci_codes().contains(&self.epci.as_str()))
            && (self.commune.is_empty() || territory.communes.contains(&self.commune))
    }

    /// Whether anything narrows the selection (the page then says how many matched).
    pub fn is_filtered(&self) -> bool {
        !self.to_query(None).is_empty()
    }
}

/// One page of matches, and how many there are in all.
pub struct Selection {
    pub items: Vec<ObjectItem>,
    pub total: u64,
}

/// Every local pole, page after page.
pub async fn all_poles(store: &Store) -> Result<Vec<PoleRecord>, StoreError> {
    store.all_local_poles().await
}

macro_rules! all_of {
    ($store:expr, $list:ident, $pole:expr) => {{
        let mut out = Vec::new();
        for page in 1.. {
            let batch = $store
                .$list(
                    $pole,
                    PageRequest {
                        page,
                        per_page: 100,
                    },
                )
                .await?;
            let done = batch.items.len() < 100;
            out.extend(batch.items);
            if done {
                break;
            }
        }
        out
    }};
}

/// What matches `params`: poles first, then events (soonest first), calls and projects.
pub async fn select(
    store: &Store,
    params: &DirectoryParams,
    lang: Lang,
) -> Result<Selection, StoreError> {
    let today = Utc::now().date_naive();
    let now = Utc::now();
    let mut poles_out = Vec::new();
    let mut events_out = Vec::new();
    let mut calls_out = Vec::new();
    let mut projects_out = Vec::new();
    for pole in all_poles(store).await? {
        let p = &pole.pole;
        if let Some(theme) = params
            .theme
            .filter(|_| params.kinds.iter().all(|k| k == "pole"))
            && !p.themes.contains(&theme)
        {
            continue;
        }
        if let Some(pooling) = params.pooling
            && !p.pooling.contains(&pooling)
        {
            continue;
        }
        if let Some(form) = params.legal_form {
            let members = store.all_members(pole.id).await?;
            if !members.iter().any(|m| m.member.legal_form == form) {
                continue;
            }
        }
        let pole_place = params.place_matches(&p.territory);
        if params.wants("pole")
            && pole_place
            && params.theme.is_none_or(|t| p.themes.contains(&t))
            && params.text_matches(&[
                Some(&p.name),
                p.summary.as_deref(),
                p.description.as_ref().map(|d| d.source.as_str()),
            ])
        {
            poles_out.push(ObjectItem::pole(&pole, lang));
        }
        let place_of = |t: &Territory| {
            if t.is_empty() {
                pole_place
            } else {
                params.place_matches(t)
            }
        };
        let theme_of = |themes: &[Theme]| {
            params
                .theme
                .is_none_or(|t| themes.contains(&t) || (themes.is_empty() && p.themes.contains(&t)))
        };
        if params.wants("event") {
            for e in all_of!(store, list_events, pole.id) {
                let ev = &e.data;
                let end = ev.ends_at.unwrap_or(ev.starts_at);
                let tz = ev.tz();
                let (start_day, end_day) = (
                    ev.starts_at.with_timezone(&tz).date_naive(),
                    end.with_timezone(&tz).date_naive(),
                );
                let place_ok = match ev.place.as_ref().and_then(|pl| pl.commune.clone()) {
                    Some(code) => params.place_matches(&Territory {
                        communes: vec![code],
                        kind: None,
                        label: None,
                    }),
                    None => pole_place,
                };
                if place_ok
                    && theme_of(&[])
                    && (!params.upcoming || end >= now)
                    && params.from.is_none_or(|f| end_day >= f)
                    && params.to.is_none_or(|t| start_day <= t)
                    && params.text_matches(&[
                        Some(&ev.title),
                        ev.summary.as_deref(),
                        ev.description.as_ref().map(|d| d.source.as_str()),
                    ])
                {
                    events_out.push((ev.starts_at, ObjectItem::event(&e, &pole, lang)));
                }
            }
        }
        if params.wants("call") {
            for c in all_of!(store, list_calls, pole.id) {
                let call = &c.data;
                if place_of(&call.territory)
                    && theme_of(&call.themes)
                    && params.call_status.is_none_or(|s| s == call.status)
                    && params
                        .deadline_before
                        .is_none_or(|d| call.deadline.is_some_and(|cd| cd <= d))
                    && params.text_matches(&[
                        Some(&call.title),
                        call.summary.as_deref(),
                        call.description.as_ref().map(|d| d.source.as_str()),
                    ])
                {
                    calls_out.push((
                        call.deadline.unwrap_or(today),
                        ObjectItem::call(&c, &pole, lang),
                    ));
                }
            }
        }
        if params.wants("project") {
            for r in all_of!(store, list_projects, pole.id) {
                let project = &r.data;
                if place_of(&project.territory)
                    && theme_of(&project.themes)
                    && params.text_matches(&[
                        Some(&project.title),
                        project.summary.as_deref(),
                        project.description.as_ref().map(|d| d.source.as_str()),
                    ])
                {
                    projects_out.push(ObjectItem::project(&r, &pole, lang));
                }
            }
        }
    }
    events_out.sort_by_key(|(start, _)| *start);
    calls_out.sort_by_key(|(deadline, _)| *deadline);
    let mut all = poles_out;
    all.extend(events_out.into_iter().map(|(_, i)| i));
    all.extend(calls_out.into_iter().map(|(_, i)| i));
    all.extend(projects_out);
    let total = all.len() as u64;
    let skip =
        usize::try_from((params.page - 1).saturating_mul(params.per_page)).unwrap_or(usize::MAX);
    let take = usize::try_from(params.per_page).unwrap_or(usize::MAX);
    Ok(Selection {
        items: all.into_iter().skip(skip).take(take).collect(),
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_round_trip_and_bad_ones_are_named() {
        let p = DirectoryParams::parse(
            "q=circuit+court&region=84&theme=agriculture-food&kind=event,call&upcoming=true&from=2026-01-01&call_status=open&page=2",
            20,
            100,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.region, "84");
        assert_eq!(p.kinds, vec!["event", "call"]);
        assert_eq!(p.page, 2);
        let again =
            DirectoryParams::parse(&p.to_query(Some(2)), 20, 100).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, p);
        let e = DirectoryParams::parse("from=tomorrow&kind=shop&per_page=1000&epci=12", 20, 100)
            .unwrap_err();
        assert_eq!(e.fields(), vec!["from", "kind", "per_page", "epci"]);
    }
}
