//! The directory's feeds over HTTP: their query parameters, what they select, and caching.
//!
//! All feeds take the directory's query parameters (`q`, `region`, `departement`, `epci`,
//! `commune`, `theme`, `pooling`, `legal_form`, `kind`, `upcoming`, `from`, `to`,
//! `call_status`, `deadline_before`, `page`, `per_page`), parsed once by [`FeedQuery::parse`].
//! What a feed shows is chosen by [`select_directory`] alone.

use std::collections::HashMap;
use std::future::Future;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::domain::Event;
use crate::domain::territory::Territory;
use crate::domain::territory_ref::{Reference, fold};
use crate::domain::vocab::{CallStatus, LegalForm, PoolingKind, Theme};
use crate::feeds::{self, Directory, EntryKind, FeedInfo, PoleEntry};
use crate::store::{Page, PageRequest, PoleRecord, Store, StoreError};

pub const ATOM: &str = "application/atom+xml";
pub const RSS: &str = "application/rss+xml";
pub const ICALENDAR: &str = "text/calendar; charset=utf-8";
pub const GEOJSON: &str = "application/geo+json";
pub const CSV: &str = "text/csv; charset=utf-8";
pub const JSON: &str = "application/json";

/// Longest full-text query accepted.
const MAX_QUERY_CHARS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/feeds/directory.atom", get(directory_atom))
        .route("/feeds/directory.rss", get(directory_rss))
        .route("/feeds/events.ics", get(directory_events))
        .route("/feeds/directory.geojson", get(directory_geojson))
        .route("/feeds/poles.csv", get(poles_csv))
        .route("/feeds/members.csv", get(members_csv))
        .route("/feeds/gogocarto.json", get(gogocarto))
        .route("/poles/{slug}/feed.atom", get(pole_atom))
        .route("/poles/{slug}/feed.rss", get(pole_rss))
        .route("/poles/{slug}/events.ics", get(pole_events))
        .route("/events/{id}/calendar.ics", get(event_calendar))
}

/// The directory's query parameters as sent, every one optional.
#[derive(Debug, Default, Deserialize)]
pub struct FeedParams {
    pub q: Option<String>,
    pub region: Option<String>,
    pub departement: Option<String>,
    pub epci: Option<String>,
    pub commune: Option<String>,
    pub theme: Option<String>,
    pub pooling: Option<String>,
    pub legal_form: Option<String>,
    pub kind: Option<String>,
    pub upcoming: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub call_status: Option<String>,
    pub deadline_before: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// Whether a call is still open or no longer is (closed or fulfilled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    Open,
    Closed,
}

/// The directory's query parameters, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedQuery {
    /// Folded words that must all appear.
    pub words: Vec<String>,
    pub region: Option<&'static str>,
    pub departement: Option<&'static str>,
    pub epci: Option<&'static str>,
    pub commune: Option<&'static str>,
    pub theme: Option<Theme>,
    pub pooling: Option<PoolingKind>,
    pub legal_form: Option<LegalForm>,
    /// Empty: every kind.
    pub kinds: Vec<EntryKind>,
    pub upcoming: bool,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub call_status: Option<CallState>,
    pub deadline_before: Option<NaiveDate>,
    pub page: u64,
    pub per_page: u64,
}

fn bad(name: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("parameter `{name}`: {message}"))
}

/// A parameter's value, trimmed; empty means absent.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn vocab<T: Copy>(
    name: &str,
    value: &Option<String>,
    from_id: fn(&str) -> Option<T>,
    all: &[T],
    id: fn(T) -> &'static str,
) -> ApiResult<Option<T>> {
    given(value)
        .map(|v| {
            from_id(v).ok_or_else(|| {
                let known: Vec<&str> = all.iter().map(|x| id(*x)).collect();
                bad(
                    name,
                    format!("unknown value `{v}`, expected one of: {}", known.join(", ")),
                )
            })
        })
        .transpose()
}

fn date(name: &str, value: &Option<String>) -> ApiResult<Option<NaiveDate>> {
    given(value)
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| bad(name, format!("`{v}` is not a date such as 2026-12-05")))
        })
        .transpose()
}

fn number(name: &str, value: &Option<String>, max: u64) -> ApiResult<Option<u64>> {
    given(value)
        .map(|v| match v.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(bad(
                name,
                format!("`{v}` is not a whole number between 1 and {max}"),
            )),
        })
        .transpose()
}

fn area(
    name: &str,
    value: &Option<String>,
    find: impl Fn(&str) -> Option<&'static str>,
    what: &str,
) -> ApiResult<Option<&'static str>> {
    given(value)
        .map(|v| {
            find(&v.to_ascii_uppercase())
                .ok_or_else(|| bad(name, format!("`{v}` is not the code of {what}")))
        })
        .transpose()
}

impl FeedQuery {
    /// Checks the parameters; `max_items` caps `per_page`, and is its default.
    pub fn parse(params: &FeedParams, max_items: u64) -> ApiResult<FeedQuery> {
        let reference = Reference::get();
        let words = match given(&params.q) {
            Some(q) if q.chars().count() > MAX_QUERY_CHARS => {
                return Err(bad("q", format!("at most {MAX_QUERY_CHARS} characters")));
            }
            Some(q) => fold(q).split_whitespace().map(str::to_owned).collect(),
            None => Vec::new(),
        };
        let mut kinds = Vec::new();
        if let Some(list) = given(&params.kind) {
            for k in list.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                let kind = match k {
                    "pole" => EntryKind::Pole,
                    "project" => EntryKind::Project,
                    "event" => EntryKind::Event,
                    "call" => EntryKind::Call,
                    other => {
                        return Err(bad(
                            "kind",
                            format!(
                                "unknown kind `{other}`, expected pole, project, event or call (several separated by commas)"
                            ),
                        ));
                    }
                };
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
        }
        let upcoming = match given(&params.upcoming) {
            None | Some("false") => false,
            Some("true") => true,
            Some(v) => return Err(bad("upcoming", format!("`{v}` is neither true nor false"))),
        };
        let call_status = match given(&params.call_status) {
            None => None,
            Some("open") => Some(CallState::Open),
            Some("closed") => Some(CallState::Closed),
            Some(v) => {
                return Err(bad(
                    "call_status",
                    format!("`{v}` is neither open nor closed"),
                ));
            }
        };
        let from = date("from", &params.from)?;
        let to = date("to", &params.to)?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(bad("to", format!("{t} is before `from` ({f})")));
        }
        Ok(FeedQuery {
            words,
            region: area(
                "region",
                &params.region,
                |c| reference.region(c).map(|r| r.code),
                "a région (INSEE code such as 53)",
            )?,
            departement: area(
                "departement",
                &params.departement,
                |c| reference.departement(c).map(|d| d.code),
                "a département (INSEE code such as 35 or 2A)",
            )?,
            epci: area(
                "epci",
                &params.epci,
                |c| reference.epci(c).map(|e| e.code),
                "an EPCI (SIREN of 9 digits)",
            )?,
            commune: area(
                "commune",
                &params.commune,
                |c| reference.commune(c).map(|c| c.code),
                "a current commune (INSEE code such as 35236)",
            )?,
            theme: vocab(
                "theme",
                &params.theme,
                Theme::from_id,
                Theme::ALL,
                Theme::id,
            )?,
            pooling: vocab(
                "pooling",
                &params.pooling,
                PoolingKind::from_id,
                PoolingKind::ALL,
                PoolingKind::id,
            )?,
            legal_form: vocab(
                "legal_form",
                &params.legal_form,
                LegalForm::from_id,
                LegalForm::ALL,
                LegalForm::id,
            )?,
            kinds,
            upcoming,
            from,
            to,
            call_status,
            deadline_before: date("deadline_before", &params.deadline_before)?,
            page: number("page", &params.page, u64::from(u32::MAX))?.unwrap_or(1),
            per_page: number("per_page", &params.per_page, max_items)?.unwrap_or(max_items),
        })
    }

    /// Whether items of `kind` are asked for.
    pub fn wants(&self, kind: EntryKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }

    fn matches_words(&self, texts: &[Option<&str>]) -> bool {
        if self.words.is_empty() {
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
        self.words.iter().all(|w| haystack.contains(w.as_str()))
    }

    fn matches_communes(&self, communes: &[String]) -> bool {
        if self.region.is_none()
            && self.departement.is_none()
            && self.epci.is_none()
            && self.commune.is_none()
        {
            return true;
        }
        let reference = Reference::get();
        communes
            .iter()
            .filter_map(|c| reference.commune(c))
            .any(|c| {
                self.commune
                    .is_none_or(|code| c.code == code || c.parent == Some(code))
                    && self.departement.is_none_or(|code| c.departement == code)
                    && self.region.is_none_or(|code| c.region == code)
                    && self.epci.is_none_or(|code| c.epci == Some(code))
            })
    }

    /// What holds for the pole and everything it publishes: pooling and members' legal forms.
    fn matches_pole_context(&self, entry: &PoleEntry) -> bool {
        let pole = &entry.record.pole;
        self.pooling.is_none_or(|k| pole.pooling.contains(&k))
            && self.legal_form.is_none_or(|f| {
                pole.legal_form == Some(f) || entry.members.iter().any(|m| m.member.legal_form == f)
            })
    }

    fn matches_theme(&self, themes: &[Theme]) -> bool {
        self.theme.is_none_or(|t| themes.contains(&t))
    }

    fn matches_event_dates(&self, event: &Event, now: DateTime<Utc>) -> bool {
        let end = event.ends_at.unwrap_or(event.starts_at);
        if self.upcoming && end < now {
            return false;
        }
        let tz = event.tz();
        let first_day = event.starts_at.with_timezone(&tz).date_naive();
        let last_day = end.with_timezone(&tz).date_naive();
        self.from.is_none_or(|from| last_day >= from) && self.to.is_none_or(|to| first_day <= to)
    }
}

/// The territory an object is about: its own, or its pole's when it names none.
fn territory_or<'a>(own: &'a Territory, pole: &'a Territory) -> &'a [String] {
    if own.communes.is_empty() {
        &pole.communes
    } else {
        &own.communes
    }
}

async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, StoreError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, StoreError>>,
{
    const CHUNK: u64 = 500;
    let mut items = Vec::new();
    for page in 1.. {
        let batch = fetch(PageRequest {
            page,
            per_page: CHUNK,
        })
        .await?;
        let done = batch.items.len() < CHUNK as usize;
        items.extend(batch.items);
        if done {
            break;
        }
    }
    Ok(items)
}

/// Every pole this instance knows, its own and remote ones, that is not deleted, by name.
async fn known_poles(store: &Store) -> Result<Vec<PoleRecord>, StoreError> {
    use crate::store::entities::poles;
    let ids: Vec<i64> = poles::Entity::find()
        .select_only()
        .column(poles::Column::Id)
        .filter(poles::Column::DeletedAt.is_null())
        .order_by_asc(poles::Column::Name)
        .order_by_asc(poles::Column::Id)
        .into_tuple()
        .all(store.connection())
        .await?;
    let mut records = Vec::with_capacity(ids.len());
    for id in ids {
        records.push(store.pole_by_id(id).await?);
    }
    Ok(records)
}

/// When anything of the directory (or of one pole) last changed, deletions included: the
/// latest entry of the change history, which every write adds to.
async fn latest_change(store: &Store, pole_id: Option<i64>) -> ApiResult<Option<DateTime<Utc>>> {
    use crate::store::entities::changes;
    let mut find = changes::Entity::find().order_by_desc(changes::Column::Id);
    if let Some(id) = pole_id {
        find = find.filter(changes::Column::PoleId.eq(id));
    }
    let latest = find
        .one(store.connection())
        .await
        .map_err(StoreError::from)?;
    Ok(latest.map(|c| c.created_at))
}

/// The `Last-Modified` of a feed: what it shows cannot be newer than the latest change,
/// and a deletion leaves no item behind to date it.
fn last_modified(
    directory: &Directory,
    latest_change: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let shown = directory
        .publishers
        .values()
        .map(|p| p.updated_at)
        .chain(directory.last_updated())
        .max();
    shown.max(latest_change)
}

/// Selects what a feed shows: every matching pole and object of `kinds` (all of them, not
/// one page), from the whole directory or from one pole.
///
/// This is the one place that decides what feeds contain; it filters in memory on the
/// store's listings until the directory search serves the same parameters.
pub async fn select_directory(
    store: &Store,
    query: &FeedQuery,
    kinds: &[EntryKind],
    scope: Option<&PoleRecord>,
) -> ApiResult<Directory> {
    let wants = |k: EntryKind| kinds.contains(&k) && query.wants(k);
    let poles = match scope {
        Some(pole) => vec![pole.clone()],
        None => known_poles(store).await?,
    };
    let now = Utc::now();
    let mut directory = Directory::default();
    for record in poles {
        let members = store.all_members(record.id).await?;
        let entry = PoleEntry { record, members };
        if !query.matches_pole_context(&entry) {
            continue;
        }
        let pole = &entry.record.pole;
        let id = entry.record.id;
        if wants(EntryKind::Project) {
            let projects = all_pages(|p| store.list_projects(id, p)).await?;
            directory.projects.extend(projects.into_iter().filter(|o| {
                let d = &o.data;
                query.matches_words(&[Some(&d.title), d.summary.as_deref()])
                    && query.matches_communes(territory_or(&d.territory, &pole.territory))
                    && query.matches_theme(if d.themes.is_empty() {
                        &pole.themes
                    } else {
                        &d.themes
                    })
            }));
        }
        if wants(EntryKind::Event) {
            let events = all_pages(|p| store.list_events(id, p)).await?;
            directory.events.extend(events.into_iter().filter(|o| {
                let d = &o.data;
                let place_commune: Vec<String> = d
                    .place
                    .as_ref()
                    .and_then(|p| p.commune.clone())
                    .into_iter()
                    .collect();
                let communes = if place_commune.is_empty() {
                    &pole.territory.communes
                } else {
                    &place_commune
                };
                query.matches_words(&[
                    Some(&d.title),
                    d.summary.as_deref(),
                    d.place.as_ref().and_then(|p| p.locality.as_deref()),
                ]) && query.matches_communes(communes)
                    && query.matches_theme(&pole.themes)
                    && query.matches_event_dates(d, now)
            }));
        }
        if wants(EntryKind::Call) {
            let calls = all_pages(|p| store.list_calls(id, p)).await?;
            directory.calls.extend(calls.into_iter().filter(|o| {
                let d = &o.data;
                query.matches_words(&[Some(&d.title), d.summary.as_deref()])
                    && query.matches_communes(territory_or(&d.territory, &pole.territory))
                    && query.matches_theme(if d.themes.is_empty() {
                        &pole.themes
                    } else {
                        &d.themes
                    })
                    && query
                        .call_status
                        .is_none_or(|s| (s == CallState::Open) == (d.status == CallStatus::Open))
                    && query
                        .deadline_before
                        .is_none_or(|limit| d.deadline.is_some_and(|d| d <= limit))
            }));
        }
        let pole_matches = entry.record.ptce
            && wants(EntryKind::Pole)
            && query.matches_words(&[
                Some(&pole.name),
                pole.summary.as_deref(),
                pole.territory.label.as_deref(),
            ])
            && query.matches_communes(&pole.territory.communes)
            && query.matches_theme(&pole.themes);
        directory
            .publishers
            .insert(entry.record.id, entry.record.clone());
        if pole_matches {
            directory.poles.push(entry);
        }
    }
    Ok(directory)
}

/// One page of `items`, and whether more follow.
fn page_of<T>(items: Vec<T>, query: &FeedQuery) -> (Vec<T>, bool) {
    let skip = (query.page - 1).saturating_mul(query.per_page);
    let total = items.len() as u64;
    let more = total > skip.saturating_add(query.per_page);
    let page = items
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(query.per_page).unwrap_or(usize::MAX))
        .collect();
    (page, more)
}

/// One page of a news feed, most recently updated first (the order of
/// [`feeds::entries`]), chosen before any entry is rendered: rendering sanitises HTML, which
/// is the costly part.
fn news_page(directory: Directory, query: &FeedQuery) -> (Directory, bool) {
    #[derive(Clone, Copy)]
    enum Item {
        Pole(usize),
        Project(usize),
        Event(usize),
        Call(usize),
    }
    let mut keys: Vec<(DateTime<Utc>, String, Item)> = Vec::new();
    keys.extend(
        directory
            .poles
            .iter()
            .enumerate()
            .map(|(i, p)| (p.record.updated_at, p.record.ap_id.clone(), Item::Pole(i))),
    );
    keys.extend(
        directory
            .projects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.updated_at, o.ap_id.clone(), Item::Project(i))),
    );
    keys.extend(
        directory
            .events
            .iter()
            .enumerate()
            .map(|(i, o)| (o.updated_at, o.ap_id.clone(), Item::Event(i))),
    );
    keys.extend(
        directory
            .calls
            .iter()
            .enumerate()
            .map(|(i, o)| (o.updated_at, o.ap_id.clone(), Item::Call(i))),
    );
    keys.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let (keys, more) = page_of(keys, query);
    let mut poles: Vec<_> = directory.poles.into_iter().map(Some).collect();
    let mut projects: Vec<_> = directory.projects.into_iter().map(Some).collect();
    let mut events: Vec<_> = directory.events.into_iter().map(Some).collect();
    let mut calls: Vec<_> = directory.calls.into_iter().map(Some).collect();
    let mut page = Directory {
        publishers: directory.publishers,
        ..Directory::default()
    };
    for (_, _, item) in keys {
        match item {
            Item::Pole(i) => page.poles.extend(poles[i].take()),
            Item::Project(i) => page.projects.extend(projects[i].take()),
            Item::Event(i) => page.events.extend(events[i].take()),
            Item::Call(i) => page.calls.extend(calls[i].take()),
        }
    }
    (page, more)
}

/// The same URL with `page` set to the next page.
fn next_page_url(self_url: &str, raw_query: Option<&str>, page: u64) -> String {
    let base = self_url.split('?').next().unwrap_or(self_url);
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes()) {
        if k != "page" {
            serializer.append_pair(&k, &v);
        }
    }
    serializer.append_pair("page", &(page + 1).to_string());
    format!("{base}?{}", serializer.finish())
}

/// Whether the client's cached copy is still good: `If-None-Match` first, as RFC 9110 wants,
/// then `If-Modified-Since`.
fn not_modified(headers: &HeaderMap, etag: &str, last_modified: Option<DateTime<Utc>>) -> bool {
    if let Some(value) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return value.split(',').map(str::trim).any(|tag| {
            tag == "*" || tag == etag || tag.strip_prefix("W/").is_some_and(|t| t == etag)
        });
    }
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    match (since, last_modified) {
        (Some(since), Some(modified)) => {
            let since: DateTime<Utc> = since.into();
            // HTTP dates have whole seconds.
            modified.timestamp() <= since.timestamp()
        }
        _ => false,
    }
}

/// A feed's bytes with its type and validators, or 304 when the client has them already.
fn feed_response(
    headers: &HeaderMap,
    content_type: &'static str,
    body: Vec<u8>,
    last_modified: Option<DateTime<Utc>>,
    next: Option<&str>,
) -> Response {
    let digest = Sha256::digest(&body);
    let etag = format!("\"{}\"", hex::encode(&digest[..16]));
    let mut response = if not_modified(headers, &etag, last_modified) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = body.into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        r
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    // HTTP dates have whole seconds: a date is only given once its second is over, so that
    // a later change can never carry the same date.
    if let Some(modified) = last_modified.filter(|m| m.timestamp() < Utc::now().timestamp())
        && let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(modified.into()))
    {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Some(next) = next
        && let Ok(v) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\""))
    {
        h.insert(header::LINK, v);
    }
    response
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Atom,
    Rss,
    Calendar,
    GeoJson,
    PolesCsv,
    MembersCsv,
    GoGoCarto,
}

impl Format {
    /// The kinds of item the format can show.
    fn kinds(self) -> &'static [EntryKind] {
        match self {
            Format::Atom | Format::Rss => &[
                EntryKind::Pole,
                EntryKind::Project,
                EntryKind::Event,
                EntryKind::Call,
            ],
            Format::Calendar => &[EntryKind::Event],
            Format::GeoJson => &[EntryKind::Pole, EntryKind::Event],
            Format::PolesCsv | Format::MembersCsv | Format::GoGoCarto => &[EntryKind::Pole],
        }
    }
}

struct Request {
    headers: HeaderMap,
    uri: axum::http::Uri,
    params: Result<Query<FeedParams>, QueryRejection>,
}

async fn instance_name(store: &Store) -> ApiResult<String> {
    Ok(store
        .instance_settings()
        .await?
        .map(|s| s.name)
        .unwrap_or_else(|| "Maillage".to_owned()))
}

/// Serves one feed of the directory, or of one pole when `slug` is given.
async fn serve_feed(
    state: &AppState,
    format: Format,
    slug: Option<&str>,
    request: Request,
) -> ApiResult<Response> {
    let Query(params) = request
        .params
        .map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let query = FeedQuery::parse(&params, state.config.feeds.max_items)?;
    let scope = match slug {
        Some(slug) => Some(state.store.pole(slug).await?),
        None => None,
    };
    let mut directory =
        select_directory(&state.store, &query, format.kinds(), scope.as_ref()).await?;
    let name = instance_name(&state.store).await?;
    let self_url = state.store.url(
        &request
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| request.uri.path().to_owned()),
    );
    let (title, html_url) = match &scope {
        Some(pole) => (format!("{} — {name}", pole.pole.name), pole.ap_id.clone()),
        None => (format!("{name} — annuaire des PTCE"), state.store.url("/")),
    };
    let more: bool;
    let body = match format {
        Format::Atom | Format::Rss => {
            let (page, has_more) = news_page(std::mem::take(&mut directory), &query);
            directory = page;
            more = has_more;
            let entries = feeds::entries(&directory);
            let updated = entries
                .iter()
                .map(|e| e.updated)
                .max()
                .unwrap_or(DateTime::UNIX_EPOCH);
            let info = FeedInfo {
                title,
                description: "Pôles territoriaux de coopération économique : projets, événements et appels à coopération".into(),
                next_url: more.then(|| next_page_url(&self_url, request.uri.query(), query.page)),
                self_url: self_url.clone(),
                html_url,
            };
            if format == Format::Atom {
                feeds::atom::render(&info, &entries, updated)
            } else {
                feeds::rss::render(&info, &entries, updated)
            }
        }
        Format::Calendar => {
            let mut events = std::mem::take(&mut directory.events);
            events.sort_by(|a, b| {
                a.data
                    .starts_at
                    .cmp(&b.data.starts_at)
                    .then_with(|| a.ap_id.cmp(&b.ap_id))
            });
            let (events, has_more) = page_of(events, &query);
            more = has_more;
            directory.events = events;
            feeds::ical::render(&title, &directory)
        }
        Format::GeoJson => {
            let has_point = |p: Option<&crate::domain::place::Place>| {
                p.is_some_and(|p| p.latitude.is_some() && p.longitude.is_some())
            };
            directory
                .poles
                .retain(|p| has_point(p.record.pole.shared_place.as_ref()));
            directory
                .events
                .retain(|e| has_point(e.data.place.as_ref()));
            let poles = std::mem::take(&mut directory.poles);
            let events = std::mem::take(&mut directory.events);
            let items: Vec<Result<PoleEntry, _>> = poles
                .into_iter()
                .map(Ok)
                .chain(events.into_iter().map(Err))
                .collect();
            let (items, has_more) = page_of(items, &query);
            more = has_more;
            for item in items {
                match item {
                    Ok(pole) => directory.poles.push(pole),
                    Err(event) => directory.events.push(event),
                }
            }
            feeds::geojson::render(&directory)
        }
        Format::PolesCsv | Format::MembersCsv | Format::GoGoCarto => {
            let (poles, has_more) = page_of(std::mem::take(&mut directory.poles), &query);
            more = has_more;
            directory.poles = poles;
            match format {
                Format::PolesCsv => feeds::csv::poles(&directory.poles),
                Format::MembersCsv => feeds::csv::members(&directory.poles),
                _ => feeds::gogocarto::render(&directory.poles, state.store.domain()),
            }
        }
    };
    let content_type = match format {
        Format::Atom => ATOM,
        Format::Rss => RSS,
        Format::Calendar => ICALENDAR,
        Format::GeoJson => GEOJSON,
        Format::PolesCsv | Format::MembersCsv => CSV,
        Format::GoGoCarto => JSON,
    };
    let next = more.then(|| next_page_url(&self_url, request.uri.query(), query.page));
    let latest = latest_change(&state.store, scope.as_ref().map(|p| p.id)).await?;
    let mut response = feed_response(
        &request.headers,
        content_type,
        body,
        last_modified(&directory, latest),
        next.as_deref(),
    );
    // Tables are for spreadsheets: a browser saves them under a useful name.
    let file = match format {
        Format::PolesCsv => Some("attachment; filename=\"poles.csv\""),
        Format::MembersCsv => Some("attachment; filename=\"membres.csv\""),
        _ => None,
    };
    if let Some(file) = file
        && response.status() == StatusCode::OK
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(file));
    }
    Ok(response)
}

macro_rules! directory_feed {
    ($name:ident, $format:expr) => {
        async fn $name(
            State(state): State<AppState>,
            OriginalUri(uri): OriginalUri,
            headers: HeaderMap,
            params: Result<Query<FeedParams>, QueryRejection>,
        ) -> ApiResult<Response> {
            serve_feed(
                &state,
                $format,
                None,
                Request {
                    headers,
                    uri,
                    params,
                },
            )
            .await
        }
    };
}

macro_rules! pole_feed {
    ($name:ident, $format:expr) => {
        async fn $name(
            State(state): State<AppState>,
            Path(slug): Path<String>,
            OriginalUri(uri): OriginalUri,
            headers: HeaderMap,
            params: Result<Query<FeedParams>, QueryRejection>,
        ) -> ApiResult<Response> {
            serve_feed(
                &state,
                $format,
                Some(&slug),
                Request {
                    headers,
                    uri,
                    params,
                },
            )
            .await
        }
    };
}

directory_feed!(directory_atom, Format::Atom);
directory_feed!(directory_rss, Format::Rss);
directory_feed!(directory_events, Format::Calendar);
directory_feed!(directory_geojson, Format::GeoJson);
directory_feed!(poles_csv, Format::PolesCsv);
directory_feed!(members_csv, Format::MembersCsv);
directory_feed!(gogocarto, Format::GoGoCarto);
pole_feed!(pole_atom, Format::Atom);
pole_feed!(pole_rss, Format::Rss);
pole_feed!(pole_events, Format::Calendar);

/// One event as a calendar file, for "add to my calendar".
async fn event_calendar(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let record = state.store.event(&id).await?;
    let pole = state.store.pole_by_id(record.pole_id).await?;
    let title = record.data.title.clone();
    let directory = Directory {
        publishers: HashMap::from([(pole.id, pole)]),
        events: vec![record],
        ..Directory::default()
    };
    let body = feeds::ical::render(&title, &directory);
    let mut response = feed_response(
        &headers,
        ICALENDAR,
        body,
        last_modified(&directory, None),
        None,
    );
    if response.status() == StatusCode::OK {
        response.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("inline; filename=\"evenement.ics\""),
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> FeedParams {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
        let uri: axum::http::Uri = format!("/x?{}", query.finish()).parse().expect("uri");
        Query::<FeedParams>::try_from_uri(&uri).expect("query").0
    }

    #[test]
    fn parameters_are_checked() {
        let q = FeedQuery::parse(
            &params(&[
                ("q", "Fête  du Vélo"),
                ("region", "53"),
                ("departement", "2a"),
                ("kind", "event,call,event"),
                ("upcoming", "true"),
                ("from", "2026-12-01"),
                ("to", "2026-12-31"),
                ("call_status", "open"),
                ("per_page", "10"),
            ]),
            500,
        )
        .expect("valid");
        assert_eq!(q.words, vec!["fete", "du", "velo"]);
        assert_eq!(q.region, Some("53"));
        assert_eq!(q.departement, Some("2A"));
        assert_eq!(q.kinds, vec![EntryKind::Event, EntryKind::Call]);
        assert!(q.upcoming);
        assert_eq!((q.page, q.per_page), (1, 10));
        assert_eq!(
            FeedQuery::parse(&params(&[]), 500).expect("empty").per_page,
            500
        );
        for (name, value) in [
            ("region", "99"),
            ("departement", "100"),
            ("epci", "123"),
            ("commune", "00000"),
            ("theme", "nope"),
            ("pooling", "nope"),
            ("legal_form", "nope"),
            ("kind", "pole,person"),
            ("upcoming", "yes"),
            ("from", "2026-13-01"),
            ("to", "tomorrow"),
            ("call_status", "fulfilled"),
            ("deadline_before", "31/12/2026"),
            ("page", "0"),
            ("per_page", "501"),
            ("per_page", "-1"),
        ] {
            let error = FeedQuery::parse(&params(&[(name, value)]), 500)
                .expect_err(&format!("{name}={value} must be refused"));
            assert!(
                error.to_string().contains(&format!("`{name}`")),
                "{name}: {error}"
            );
        }
        let reversed =
            FeedQuery::parse(&params(&[("from", "2026-12-31"), ("to", "2026-12-01")]), 5);
        assert!(reversed.is_err());
    }

    #[test]
    fn pages_cut_the_list() {
        let q = FeedQuery::parse(&params(&[("page", "2"), ("per_page", "3")]), 500).expect("q");
        assert_eq!(page_of((1..=7).collect(), &q), (vec![4, 5, 6], true));
        let q = FeedQuery::parse(&params(&[("page", "3"), ("per_page", "3")]), 500).expect("q");
        assert_eq!(page_of((1..=7).collect(), &q), (vec![7], false));
        assert_eq!(
            next_page_url(
                "http://x/feeds/a.atom?page=1&q=v%C3%A9lo",
                Some("page=1&q=v%C3%A9lo"),
                1
            ),
            "http://x/feeds/a.atom?q=v%C3%A9lo&page=2"
        );
    }

    #[test]
    fn validators_answer_conditional_requests() {
        let etag = "\"abc\"";
        let mut headers = HeaderMap::new();
        assert!(!not_modified(&headers, etag, None));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc\""),
        );
        assert!(not_modified(&headers, etag, None));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"x\""));
        assert!(!not_modified(&headers, etag, Some(Utc::now())));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_static("Sun, 01 Nov 2026 10:00:00 GMT"),
        );
        let before = "2026-11-01T09:59:59Z".parse().expect("date");
        let after = "2026-11-01T10:00:01Z".parse().expect("date");
        assert!(not_modified(&headers, etag, Some(before)));
        assert!(!not_modified(&headers, etag, Some(after)));
    }
}
