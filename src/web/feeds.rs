//! The directory's feeds over HTTP: their query parameters, what they select, and caching.
//!
//! All feeds take the directory's query parameters (`q`, `region`, `departement`, `epci`,
//! `commune`, `theme`, `pooling`, `legal_form`, `kind`, `upcoming`, `from`, `to`,
//! `call_status`, `deadline_before`, `page`, `per_page`), checked by the same parser as the
//! API's and the directory page's ([`DirectoryParams::parse_with`]), and select through the
//! directory search ([`Store::search_directory`]), in [`select_directory`].

use std::collections::HashMap;

use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::domain::ValidationErrors;
use crate::domain::message::{Code, Message};
use crate::feeds::csv::Dialect;
use crate::feeds::{self, Directory, FeedInfo, PoleEntry};
use crate::store::search::{DirectoryOrder, DirectoryParams, PageLimits};
use crate::store::{
    DirectoryKind, DirectoryQuery, DirectoryRecord, DirectoryRecords, PoleRecord, Store, StoreError,
};

pub const ATOM: &str = "application/atom+xml";
pub const RSS: &str = "application/rss+xml";
pub const ICALENDAR: &str = "text/calendar; charset=utf-8";
pub const GEOJSON: &str = "application/geo+json";
pub const CSV: &str = "text/csv; charset=utf-8";
pub const JSON: &str = "application/json";

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

/// A feed's query string, checked: a whole listing (`feeds.max_items`) unless a smaller
/// page is asked for; a wrong or repeated parameter is a 400 naming it.
pub fn feed_query(raw: Option<&str>, max_items: u64) -> ApiResult<DirectoryQuery> {
    DirectoryParams::from_query(raw.unwrap_or_default(), false)
        .and_then(|p| p.parse_with(PageLimits::whole(max_items)))
        .map_err(|e| ApiError::BadParameters(e.into()))
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

/// Selects what a feed shows, one page of it, and whether more follows: the matches of
/// `query` among the kinds the format can show, from the whole directory or from one pole,
/// in the format's order.
pub async fn select_directory(
    store: &Store,
    mut query: DirectoryQuery,
    format_kinds: &[DirectoryKind],
    order: DirectoryOrder,
    scope: Option<&PoleRecord>,
) -> ApiResult<(Directory, bool)> {
    query.kinds = query
        .effective_kinds()
        .into_iter()
        .filter(|k| format_kinds.contains(k))
        .collect();
    if query.kinds.is_empty() {
        return Ok((Directory::default(), false));
    }
    query.pole = scope.map(|p| p.id);
    query.order = order;
    let page = store.search_directory(&query).await?;
    let shown = (page.page - 1)
        .saturating_mul(page.per_page)
        .saturating_add(page.items.len() as u64);
    let more = page.total > shown;
    let DirectoryRecords { items, poles } = store.directory_records(&page.items).await?;
    let mut directory = Directory {
        publishers: poles,
        ..Directory::default()
    };
    for item in items {
        match item {
            DirectoryRecord::Pole(record) => {
                let members = store.all_members(record.id).await?;
                directory.poles.push(PoleEntry {
                    record: *record,
                    members,
                });
            }
            DirectoryRecord::Project(r) => directory.projects.push(r),
            DirectoryRecord::Event(r) => directory.events.push(r),
            DirectoryRecord::Call(r) => directory.calls.push(r),
        }
    }
    Ok((directory, more))
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
    fn kinds(self) -> &'static [DirectoryKind] {
        match self {
            Format::Atom | Format::Rss => &DirectoryKind::ALL,
            Format::Calendar => &[DirectoryKind::Event],
            Format::GeoJson => &[DirectoryKind::Pole, DirectoryKind::Event],
            Format::PolesCsv | Format::MembersCsv | Format::GoGoCarto => &[DirectoryKind::Pole],
        }
    }

    /// The order of its items.
    fn order(self) -> DirectoryOrder {
        match self {
            Format::Atom | Format::Rss => DirectoryOrder::Updated,
            Format::Calendar => DirectoryOrder::Starts,
            Format::GeoJson => DirectoryOrder::Relevance,
            Format::PolesCsv | Format::MembersCsv | Format::GoGoCarto => DirectoryOrder::Title,
        }
    }
}

struct Request {
    headers: HeaderMap,
    uri: axum::http::Uri,
}

/// The turns to write a feed: two per core.
fn feed_turns() -> &'static tokio::sync::Semaphore {
    static TURNS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    TURNS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::sync::Semaphore::new(2 * cores)
    })
}

/// The dialect a table is asked in (`spreadsheet=fr` for French spreadsheets); the other
/// formats have none and leave the parameter alone, as any parameter they do not know.
fn csv_dialect(format: Format, raw_query: Option<&str>) -> ApiResult<Dialect> {
    if !matches!(format, Format::PolesCsv | Format::MembersCsv) {
        return Ok(Dialect::default());
    }
    let mut asked = url::form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "spreadsheet")
        .map(|(_, v)| v.into_owned());
    let value = asked.next();
    let refuse = |message: Message| {
        ApiError::BadParameters(ValidationErrors::single("spreadsheet", message))
    };
    if asked.next().is_some() {
        return Err(refuse(Message::new(Code::RepeatedParameter)));
    }
    Dialect::from_parameter(value.as_deref()).ok_or_else(|| {
        refuse(
            Message::new(Code::UnknownValueExpected)
                .arg("value", value.unwrap_or_default())
                .arg("expected", "`fr`"),
        )
    })
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
    let query = feed_query(request.uri.query(), state.config.feeds.max_items)?;
    let dialect = csv_dialect(format, request.uri.query())?;
    // A feed of the whole directory holds up to `feeds.max_items` records and their text
    // while it is written: a few are written at once and the others wait their turn, so
    // that the memory they take does not grow with the readers and the directory.
    let _turn = feed_turns()
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let page_number = query.page;
    let scope = match slug {
        Some(slug) => Some(state.store.pole(slug).await?),
        None => None,
    };
    let (directory, more) = select_directory(
        &state.store,
        query,
        format.kinds(),
        format.order(),
        scope.as_ref(),
    )
    .await?;
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
    let next = more.then(|| next_page_url(&self_url, request.uri.query(), page_number));
    let body = match format {
        Format::Atom | Format::Rss => {
            let entries = feeds::entries(&directory);
            let updated = entries
                .iter()
                .map(|e| e.updated)
                .max()
                .unwrap_or(DateTime::UNIX_EPOCH);
            let info = FeedInfo {
                title,
                description: "Pôles territoriaux de coopération économique : projets, événements et appels à coopération".into(),
                next_url: next.clone(),
                self_url: self_url.clone(),
                html_url,
            };
            if format == Format::Atom {
                feeds::atom::render(&info, &entries, updated)
            } else {
                feeds::rss::render(&info, &entries, updated)
            }
        }
        Format::Calendar => feeds::ical::render(&title, &directory),
        // Only what has a point is drawn.
        Format::GeoJson => feeds::geojson::render(&directory),
        Format::PolesCsv => feeds::csv::poles(&directory.poles, dialect),
        Format::MembersCsv => feeds::csv::members(&directory.poles, dialect),
        Format::GoGoCarto => feeds::gogocarto::render(&directory.poles, state.store.domain()),
    };
    let content_type = match format {
        Format::Atom => ATOM,
        Format::Rss => RSS,
        Format::Calendar => ICALENDAR,
        Format::GeoJson => GEOJSON,
        Format::PolesCsv | Format::MembersCsv => CSV,
        Format::GoGoCarto => JSON,
    };
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
        ) -> ApiResult<Response> {
            serve_feed(&state, $format, None, Request { headers, uri }).await
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
        ) -> ApiResult<Response> {
            serve_feed(&state, $format, Some(&slug), Request { headers, uri }).await
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

    #[test]
    fn parameters_are_checked() {
        let q = feed_query(
            Some("q=F%C3%AAte+du+V%C3%A9lo&region=53&departement=2a&kind=event,call,event&upcoming=true&from=2026-12-01&to=2026-12-31&call_status=open&per_page=10&utm_source=x"),
            500,
        )
        .expect("valid");
        assert_eq!(q.q.as_deref(), Some("Fête du Vélo"));
        assert_eq!(q.region.as_deref(), Some("53"));
        assert_eq!(q.departement.as_deref(), Some("2A"));
        assert_eq!(q.kinds, vec![DirectoryKind::Event, DirectoryKind::Call]);
        assert!(q.upcoming);
        assert_eq!((q.page, q.per_page), (1, 10));
        assert_eq!(feed_query(None, 500).expect("empty").per_page, 500);
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
            let error = feed_query(Some(&format!("{name}={value}")), 500)
                .expect_err(&format!("{name}={value} must be refused"));
            assert!(
                matches!(&error, ApiError::BadParameters(e) if e.fields() == [name]),
                "{name}: {error}"
            );
        }
        assert!(feed_query(Some("from=2026-12-31&to=2026-12-01"), 5).is_err());
        assert!(feed_query(Some("kind=event&kind=pole"), 5).is_err());
    }

    #[test]
    fn the_next_page_keeps_the_query() {
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
