//! The directory: full-text search, filters and statistics over every pole and object this instance knows.
//!
//! Each live pole, project, event and call has one row in `directory`, written in the same
//! transaction as the thing it describes, with facet rows (territory codes, themes, pooling
//! kinds, member legal forms) in `directory_facets`. Text is folded and stemmed here, in
//! Rust, so that both databases index exactly the same tokens (FTS5 on SQLite, a `tsvector`
//! on PostgreSQL), and results are ranked by rules both databases evaluate identically.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement, Value,
};
use serde::{Deserialize, Serialize};

use super::entities::{calls, events, members, poles, projects};
use super::objects::{call_from_model, event_from_model, project_from_model};
use super::{ObjectRecord, PoleRecord, Result, Store, StoreError};
use crate::domain::place::Place;
use crate::domain::territory::Territory;
use crate::domain::territory_ref::{Reference, fold};
use crate::domain::vocab::{CallSubject, EmployeeBand, LegalForm, PoolingKind, Theme};
use crate::domain::{CallForCooperation, Event, Project};

/// Bumped whenever the tokens or facets computed for a row change: the index is then
/// rebuilt when the instance next migrates.
pub const INDEX_VERSION: i32 = 3;

/// The time zone of dates given without one (`from`, `to`, `deadline_before`).
const DIRECTORY_TZ: Tz = chrono_tz::Europe::Paris;

/// Most query words used for matching; the rest are ignored.
const MAX_QUERY_TOKENS: usize = 12;
/// Longest `q` accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Largest page.
pub const MAX_PER_PAGE: u64 = 100;
pub const DEFAULT_PER_PAGE: u64 = 20;
/// Highest page number accepted.
const MAX_PAGE: u64 = 1_000_000;
/// Most rows one search returns, whatever the caller's page size (a feed's whole listing).
pub const MAX_ROWS: u64 = 10_000;
/// Longest token kept: longer "words" are noise (hashes, pasted URLs).
const MAX_TOKEN_CHARS: usize = 40;

// ---------------------------------------------------------------------------------------
// Text normalisation
// ---------------------------------------------------------------------------------------

/// Starts the tokens that stand for a facet value in the text index (`zzr84` for région
/// 84), so that a text search with territory or theme filters is one index intersection.
/// Word tokens never start with it.
const FACET_TOKEN_PREFIX: &str = "zz";

/// The text-index token of a facet value.
fn facet_token(facet: &str, value: &str) -> String {
    let letter = match facet {
        REGION => 'r',
        DEPARTEMENT => 'd',
        EPCI => 'e',
        COMMUNE => 'c',
        _ => 't',
    };
    let value: String = value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("{FACET_TOKEN_PREFIX}{letter}{value}")
}

/// The text-index token of a kind (`zzkevent`).
fn kind_token(kind: DirectoryKind) -> String {
    format!("{FACET_TOKEN_PREFIX}k{}", kind.id())
}

/// The text-index token of a word of a title or name (`zzhrecyclerie`): "every word in the
/// title" is then one index query too.
fn title_token(word: &str) -> String {
    format!("{FACET_TOKEN_PREFIX}h{word}")
}

/// Words too common to help find anything, already folded.
const STOPWORDS: &[&str] = &[
    "au", "aux", "avec", "ce", "ces", "cet", "cette", "dans", "de", "des", "du", "elle", "elles",
    "en", "est", "et", "il", "ils", "la", "le", "les", "leur", "leurs", "mais", "ne", "nous", "on",
    "ou", "par", "pas", "pour", "qu", "que", "qui", "sa", "se", "ses", "son", "sont", "sur", "un",
    "une", "vous", "the", "and", "of",
];

fn stemmer() -> &'static rust_stemmers::Stemmer {
    static STEMMER: std::sync::OnceLock<rust_stemmers::Stemmer> = std::sync::OnceLock::new();
    STEMMER.get_or_init(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::French))
}

/// The search tokens of a text: lower-cased, accents folded, split into words, stop words
/// dropped, each word reduced to its French stem.
///
/// Folding comes before stemming so that a word typed with or without its accents always
/// gives the same token ("coopérative", "cooperatives" and "COOPÉRATIVES" give `cooper`).
pub fn tokens(text: &str) -> Vec<String> {
    let folded = fold(text);
    let stemmer = stemmer();
    folded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .filter(|w| w.len() > 1 || w.bytes().all(|b| b.is_ascii_digit()))
        .filter(|w| !STOPWORDS.contains(w))
        .map(|w| {
            let stem = stemmer.stem(w);
            let stem = stem.strip_prefix(FACET_TOKEN_PREFIX).unwrap_or(&stem);
            let stem: String = stem.chars().take(MAX_TOKEN_CHARS).collect();
            stem
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The distinct tokens of a query, in the order typed, at most [`MAX_QUERY_TOKENS`].
pub fn query_tokens(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tokens(q) {
        if !out.contains(&t) {
            out.push(t);
        }
        if out.len() == MAX_QUERY_TOKENS {
            break;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Kinds, queries and their validation
// ---------------------------------------------------------------------------------------

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DirectoryKind {
    Pole,
    Project,
    Event,
    Call,
}

impl DirectoryKind {
    pub const ALL: [DirectoryKind; 4] = [
        DirectoryKind::Pole,
        DirectoryKind::Project,
        DirectoryKind::Event,
        DirectoryKind::Call,
    ];

    pub fn id(self) -> &'static str {
        match self {
            DirectoryKind::Pole => "pole",
            DirectoryKind::Project => "project",
            DirectoryKind::Event => "event",
            DirectoryKind::Call => "call",
        }
    }

    pub fn from_id(id: &str) -> Option<DirectoryKind> {
        DirectoryKind::ALL.into_iter().find(|k| k.id() == id)
    }
}

impl utoipa::PartialSchema for DirectoryKind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(["pole", "project", "event", "call"]))
            .into()
    }
}

impl utoipa::ToSchema for DirectoryKind {}

/// `call_status`: whether a call can still be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallState {
    /// Status `open` and a deadline that has not passed (or none).
    Open,
    /// Anything else: closed, fulfilled, or past its deadline.
    Closed,
}

/// A validated directory query; every field is optional and the filters combine with AND.
///
/// Filters that only make sense for one kind (`upcoming`, `from`, `to` for events;
/// `call_status`, `deadline_before` for calls) apply to that kind only; when `kinds` is
/// empty they also choose the kinds listed (asking for upcoming events lists events).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryQuery {
    pub q: Option<String>,
    pub region: Option<String>,
    pub departement: Option<String>,
    pub epci: Option<String>,
    pub commune: Option<String>,
    pub theme: Option<Theme>,
    pub pooling: Option<PoolingKind>,
    pub legal_form: Option<LegalForm>,
    pub kinds: Vec<DirectoryKind>,
    pub upcoming: bool,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub call_status: Option<CallState>,
    pub deadline_before: Option<NaiveDate>,
    /// Only this pole and what it publishes (a pole's own feeds).
    pub pole: Option<i64>,
    pub order: DirectoryOrder,
    /// 1-based.
    pub page: u64,
    /// At most [`MAX_ROWS`]; the parameters' own limit is the caller's [`PageLimits`].
    pub per_page: u64,
}

/// The order of the results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DirectoryOrder {
    /// With words, those with every word in the title first; with `upcoming`, the events
    /// by start before the other kinds asked for; then newest first.
    #[default]
    Relevance,
    /// Most recently changed first (news feeds).
    Updated,
    /// Earliest start first (calendars).
    Starts,
    /// By title or name (tables).
    Title,
}

/// The directory query parameters as they arrive in a URL, not yet checked.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DirectoryParams {
    /// Words to find, in any form ("coopérative" finds "coopératives" and "cooperative").
    pub q: Option<String>,
    /// INSEE code of a région (such as `84` for Auvergne-Rhône-Alpes).
    pub region: Option<String>,
    /// INSEE code of a département (such as `69` or `2A`).
    pub departement: Option<String>,
    /// SIREN of an EPCI.
    pub epci: Option<String>,
    /// INSEE code of a commune.
    pub commune: Option<String>,
    /// A theme code (see `/api/v1/vocabularies`).
    pub theme: Option<String>,
    /// A pooling kind code: poles that pool it, and what they publish.
    pub pooling: Option<String>,
    /// A legal form code: poles with a member of that form, and what they publish.
    pub legal_form: Option<String>,
    /// `pole`, `project`, `event`, `call`; several separated by commas.
    pub kind: Option<String>,
    /// `true`: events not yet ended.
    pub upcoming: Option<String>,
    /// YYYY-MM-DD: events ending on or after that day.
    pub from: Option<String>,
    /// YYYY-MM-DD: events starting on or before that day.
    pub to: Option<String>,
    /// `open` or `closed`.
    pub call_status: Option<String>,
    /// YYYY-MM-DD: calls whose deadline is on or before that day.
    pub deadline_before: Option<String>,
    /// Page number, from 1.
    pub page: Option<String>,
    /// Results per page, 1 to 100 (20 by default).
    pub per_page: Option<String>,
}

/// A query parameter that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parameter `{parameter}`: {message}")]
pub struct DirectoryQueryError {
    pub parameter: &'static str,
    pub message: String,
}

fn bad(parameter: &'static str, message: impl Into<String>) -> DirectoryQueryError {
    DirectoryQueryError {
        parameter,
        message: message.into(),
    }
}

/// A present, non-blank parameter value.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn parse_date(
    parameter: &'static str,
    value: &Option<String>,
) -> Result<Option<NaiveDate>, DirectoryQueryError> {
    present(value)
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| bad(parameter, format!("`{v}` is not a date written YYYY-MM-DD")))
        })
        .transpose()
}

fn parse_vocab<T>(
    parameter: &'static str,
    value: &Option<String>,
    from_id: fn(&str) -> Option<T>,
    all: &[T],
    id: fn(&T) -> &'static str,
) -> Result<Option<T>, DirectoryQueryError> {
    present(value)
        .map(|v| {
            from_id(v).ok_or_else(|| {
                let known: Vec<&str> = all.iter().map(id).collect();
                bad(
                    parameter,
                    format!("unknown value `{v}`, expected one of: {}", known.join(", ")),
                )
            })
        })
        .transpose()
}

fn parse_number(
    parameter: &'static str,
    value: &Option<String>,
) -> Result<Option<u64>, DirectoryQueryError> {
    present(value)
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| bad(parameter, format!("`{v}` is not a positive whole number")))
        })
        .transpose()
}

/// How many results a caller shows at once: its default page size and the largest it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimits {
    pub default_per_page: u64,
    pub max_per_page: u64,
}

impl PageLimits {
    /// The API's limits: [`DEFAULT_PER_PAGE`], at most [`MAX_PER_PAGE`].
    pub const API: PageLimits = PageLimits {
        default_per_page: DEFAULT_PER_PAGE,
        max_per_page: MAX_PER_PAGE,
    };

    /// A listing shown whole unless a smaller page is asked for (feeds): `max` both ways.
    pub fn whole(max: u64) -> PageLimits {
        PageLimits {
            default_per_page: max,
            max_per_page: max,
        }
    }
}

/// Every query parameter that cannot be used, in the order of the parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryQueryErrors(pub Vec<DirectoryQueryError>);

impl DirectoryQueryErrors {
    /// The parameters named, in order.
    pub fn parameters(&self) -> Vec<&'static str> {
        self.0.iter().map(|e| e.parameter).collect()
    }
}

impl std::fmt::Display for DirectoryQueryErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DirectoryQueryErrors {}

/// Collects the errors of a parse, keeping the values that were good.
#[derive(Default)]
struct Checker(Vec<DirectoryQueryError>);

impl Checker {
    fn take<T: Default>(&mut self, value: Result<T, DirectoryQueryError>) -> T {
        value.unwrap_or_else(|e| {
            self.0.push(e);
            T::default()
        })
    }
}

fn parse_area(
    parameter: &'static str,
    value: &Option<String>,
    find: impl Fn(&str) -> Option<&'static str>,
    what: &str,
) -> Result<Option<String>, DirectoryQueryError> {
    present(value)
        .map(|v| {
            find(v)
                .or_else(|| find(&v.to_ascii_uppercase()))
                .map(str::to_owned)
                .ok_or_else(|| bad(parameter, format!("`{v}` is not {what}")))
        })
        .transpose()
}

impl DirectoryParams {
    /// The directory parameters of a query string; other parameters (trackers, a page's
    /// own) are left out. A parameter given twice is refused, except `kind` when
    /// `combine_kinds` is set: an HTML form sends one `kind` per ticked box.
    pub fn from_query(
        raw: &str,
        combine_kinds: bool,
    ) -> Result<DirectoryParams, DirectoryQueryErrors> {
        let mut p = DirectoryParams::default();
        let mut errors = Vec::new();
        for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            let (name, slot) = match key.as_ref() {
                "q" => ("q", &mut p.q),
                "region" => ("region", &mut p.region),
                "departement" => ("departement", &mut p.departement),
                "epci" => ("epci", &mut p.epci),
                "commune" => ("commune", &mut p.commune),
                "theme" => ("theme", &mut p.theme),
                "pooling" => ("pooling", &mut p.pooling),
                "legal_form" => ("legal_form", &mut p.legal_form),
                "kind" => ("kind", &mut p.kind),
                "upcoming" => ("upcoming", &mut p.upcoming),
                "from" => ("from", &mut p.from),
                "to" => ("to", &mut p.to),
                "call_status" => ("call_status", &mut p.call_status),
                "deadline_before" => ("deadline_before", &mut p.deadline_before),
                "page" => ("page", &mut p.page),
                "per_page" => ("per_page", &mut p.per_page),
                _ => continue,
            };
            match slot {
                None => *slot = Some(value.into_owned()),
                Some(previous) if name == "kind" && combine_kinds => {
                    previous.push(',');
                    previous.push_str(&value);
                }
                Some(_) => {
                    if !errors
                        .iter()
                        .any(|e: &DirectoryQueryError| e.parameter == name)
                    {
                        errors.push(bad(name, "is given more than once"));
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(DirectoryQueryErrors(errors))
        }
    }

    /// Checks every parameter with the API's page limits; the first wrong one is named.
    pub fn parse(&self) -> Result<DirectoryQuery, DirectoryQueryError> {
        self.parse_with(PageLimits::API)
            .map_err(|mut e| e.0.swap_remove(0))
    }

    /// Checks every parameter, with the page limits of the caller; every wrong one is named.
    pub fn parse_with(&self, limits: PageLimits) -> Result<DirectoryQuery, DirectoryQueryErrors> {
        let reference = Reference::get();
        let mut c = Checker::default();
        let q = present(&self.q).map(str::to_owned);
        if let Some(q) = &q
            && q.chars().count() > MAX_QUERY_CHARS
        {
            c.0.push(bad(
                "q",
                format!("is longer than {MAX_QUERY_CHARS} characters"),
            ));
        }
        let region = c.take(parse_area(
            "region",
            &self.region,
            |v| reference.region(v).map(|r| r.code),
            "the INSEE code of a région",
        ));
        let departement = c.take(parse_area(
            "departement",
            &self.departement,
            |v| reference.departement(v).map(|d| d.code),
            "the INSEE code of a département",
        ));
        let epci = c.take(parse_area(
            "epci",
            &self.epci,
            |v| reference.epci(v).map(|e| e.code),
            "the SIREN of an EPCI",
        ));
        let commune = c.take(parse_area(
            "commune",
            &self.commune,
            |v| reference.commune(v).map(|c| c.code),
            "the INSEE code of a current commune",
        ));
        let theme = c.take(parse_vocab(
            "theme",
            &self.theme,
            Theme::from_id,
            Theme::ALL,
            |t| t.id(),
        ));
        let pooling = c.take(parse_vocab(
            "pooling",
            &self.pooling,
            PoolingKind::from_id,
            PoolingKind::ALL,
            |t| t.id(),
        ));
        let legal_form = c.take(parse_vocab(
            "legal_form",
            &self.legal_form,
            LegalForm::from_id,
            LegalForm::ALL,
            |t| t.id(),
        ));
        let mut kinds = Vec::new();
        if let Some(list) = present(&self.kind) {
            for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match DirectoryKind::from_id(part) {
                    Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
                    Some(_) => {}
                    None => c.0.push(bad(
                        "kind",
                        format!("unknown kind `{part}`, expected pole, project, event or call"),
                    )),
                }
            }
        }
        kinds.sort();
        // `on` is what an HTML check box sends.
        let upcoming = match present(&self.upcoming) {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") | Some("on") => true,
            Some(v) => {
                c.0.push(bad("upcoming", format!("`{v}` is not `true` or `false`")));
                false
            }
        };
        let from = c.take(parse_date("from", &self.from));
        let to = c.take(parse_date("to", &self.to));
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            c.0.push(bad("to", format!("{t} is before `from` ({f})")));
        }
        let call_status = match present(&self.call_status) {
            None => None,
            Some("open") => Some(CallState::Open),
            Some("closed") => Some(CallState::Closed),
            Some(v) => {
                c.0.push(bad(
                    "call_status",
                    format!("`{v}` is not `open` or `closed`"),
                ));
                None
            }
        };
        let deadline_before = c.take(parse_date("deadline_before", &self.deadline_before));
        let page = c.take(parse_number("page", &self.page)).unwrap_or(1);
        if page == 0 {
            c.0.push(bad("page", "pages are numbered from 1"));
        } else if page > MAX_PAGE {
            c.0.push(bad("page", "is too large"));
        }
        let max = limits.max_per_page;
        let per_page = c
            .take(parse_number("per_page", &self.per_page))
            .unwrap_or(limits.default_per_page);
        if !(1..=max).contains(&per_page) {
            c.0.push(bad("per_page", format!("must be between 1 and {max}")));
        }
        if !c.0.is_empty() {
            return Err(DirectoryQueryErrors(c.0));
        }
        Ok(DirectoryQuery {
            q,
            region,
            departement,
            epci,
            commune,
            theme,
            pooling,
            legal_form,
            kinds,
            upcoming,
            from,
            to,
            call_status,
            deadline_before,
            page,
            per_page,
            ..DirectoryQuery::default()
        })
    }
}

impl DirectoryQuery {
    /// The first page of everything, [`DEFAULT_PER_PAGE`] at a time.
    pub fn new() -> DirectoryQuery {
        DirectoryQuery {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            ..Default::default()
        }
    }

    /// The query string of the filters (and of `page`, when given and not the first), for
    /// links that keep the selection: the next page, the same selection as a feed.
    pub fn to_query(&self, page: Option<u64>) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        let date = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
        let kinds: Vec<&str> = self.kinds.iter().map(|k| k.id()).collect();
        let pairs = [
            ("q", self.q.clone()),
            ("region", self.region.clone()),
            ("departement", self.departement.clone()),
            ("epci", self.epci.clone()),
            ("commune", self.commune.clone()),
            ("theme", self.theme.map(|t| t.id().to_owned())),
            ("pooling", self.pooling.map(|t| t.id().to_owned())),
            ("legal_form", self.legal_form.map(|t| t.id().to_owned())),
            ("kind", (!kinds.is_empty()).then(|| kinds.join(","))),
            ("upcoming", self.upcoming.then(|| "true".to_owned())),
            ("from", date(self.from)),
            ("to", date(self.to)),
            (
                "call_status",
                self.call_status.map(|s| {
                    match s {
                        CallState::Open => "open",
                        CallState::Closed => "closed",
                    }
                    .to_owned()
                }),
            ),
            ("deadline_before", date(self.deadline_before)),
            ("page", page.filter(|p| *p > 1).map(|p| p.to_string())),
        ];
        for (k, v) in pairs {
            if let Some(v) = v {
                out.append_pair(k, &v);
            }
        }
        out.finish()
    }

    /// The part of the query that [`Store::directory_statistics`] depends on: the kinds
    /// asked for and the filters on calls leave the figures as they are.
    pub fn for_statistics(&self) -> DirectoryQuery {
        let mut query = self.clone();
        query.kinds.clear();
        query.call_status = None;
        query.deadline_before = None;
        query
    }

    /// Whether anything narrows the selection.
    pub fn is_filtered(&self) -> bool {
        !self.to_query(None).is_empty()
    }

    /// Whether every filter but the words is one the text index holds (territory, theme,
    /// kind).
    fn only_indexed_filters(&self) -> bool {
        self.pole.is_none()
            && pole_facets(self).is_empty()
            && !self.has_event_filters()
            && !self.has_call_filters()
    }

    fn has_event_filters(&self) -> bool {
        self.upcoming || self.from.is_some() || self.to.is_some()
    }

    fn has_call_filters(&self) -> bool {
        self.call_status.is_some() || self.deadline_before.is_some()
    }

    /// The kinds listed: those asked for, or those the kind-specific filters imply, or all.
    pub fn effective_kinds(&self) -> Vec<DirectoryKind> {
        if !self.kinds.is_empty() {
            return self.kinds.clone();
        }
        let mut kinds = Vec::new();
        if self.has_event_filters() {
            kinds.push(DirectoryKind::Event);
        }
        if self.has_call_filters() {
            kinds.push(DirectoryKind::Call);
        }
        if kinds.is_empty() {
            kinds = DirectoryKind::ALL.to_vec();
        }
        kinds
    }
}

// ---------------------------------------------------------------------------------------
// Index rows
// ---------------------------------------------------------------------------------------

/// Facet names in `directory_facets`.
const REGION: &str = "region";
const DEPARTEMENT: &str = "departement";
const EPCI: &str = "epci";
const COMMUNE: &str = "commune";
const THEME: &str = "theme";
const POOLING: &str = "pooling";
const LEGAL_FORM: &str = "legal_form";

/// One row of `directory` with its facets, ready to be written.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    kind: DirectoryKind,
    item_id: i64,
    pole_id: i64,
    local: bool,
    title: String,
    summary: Option<String>,
    ap_id: String,
    public_id: String,
    title_tokens: String,
    tokens: String,
    published_at: i64,
    updated_at: i64,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    event_month: Option<String>,
    call_status: Option<String>,
    deadline: Option<String>,
    facets: Vec<(&'static str, String)>,
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
    fn of(m: &poles::Model) -> Result<PoleFacts> {
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
        extra.push(kind_token(self.kind));
        extra.extend(self.title_tokens.split_whitespace().map(title_token));
        for token in extra {
            self.tokens.push_str(&token);
            self.tokens.push(' ');
        }
        self
    }
}

fn pole_entry(m: &poles::Model, member_rows: &[(String, String)]) -> Result<Entry> {
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

fn project_entry(m: &projects::Model, pole: &PoleFacts) -> Result<Entry> {
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

fn event_entry(m: &events::Model, pole: &PoleFacts) -> Result<Entry> {
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

fn call_entry(m: &calls::Model, pole: &PoleFacts) -> Result<Entry> {
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

// ---------------------------------------------------------------------------------------
// Writing the index
// ---------------------------------------------------------------------------------------

/// A statement under construction, with its placeholders numbered for the backend.
struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(backend: DbBackend) -> Sql {
        Sql {
            backend,
            text: String::new(),
            values: Vec::new(),
        }
    }

    /// Adds a value and gives its placeholder; placeholders must appear in the text in
    /// the order they were bound (SQLite's `?` are positional).
    fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_owned(),
        }
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn statement(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

const ENTRY_COLUMNS: &str = "kind, item_id, pole_id, local, title, summary, ap_id, public_id, \
     title_tokens, tokens, published_at, starts_at, ends_at, event_month, call_status, deadline, \
     updated_at";

fn bind_entry(sql: &mut Sql, e: &Entry) -> String {
    let values = [
        sql.bind(e.kind.id()),
        sql.bind(e.item_id),
        sql.bind(e.pole_id),
        sql.bind(e.local),
        sql.bind(e.title.clone()),
        sql.bind(e.summary.clone()),
        sql.bind(e.ap_id.clone()),
        sql.bind(e.public_id.clone()),
        sql.bind(e.title_tokens.clone()),
        sql.bind(e.tokens.clone()),
        sql.bind(e.published_at),
        sql.bind(e.starts_at),
        sql.bind(e.ends_at),
        sql.bind(e.event_month.clone()),
        sql.bind(e.call_status.clone()),
        sql.bind(e.deadline.clone()),
        sql.bind(e.updated_at),
    ];
    values.join(", ")
}

async fn insert_facets(db: &impl ConnectionTrait, rows: &[(i64, &Entry)]) -> Result<()> {
    let backend = db.get_database_backend();
    let all: Vec<(i64, i64, &str, &str, &str)> = rows
        .iter()
        .flat_map(|(id, e)| {
            e.facets
                .iter()
                .map(move |(facet, value)| (*id, e.pole_id, e.kind.id(), *facet, value.as_str()))
        })
        .collect();
    // Five values a row, well under both databases' limit on bound values.
    for chunk in all.chunks(4_000) {
        let mut sql = Sql::new(backend);
        sql.push("INSERT INTO directory_facets (entry_id, pole_id, kind, facet, value) VALUES ");
        for (i, (id, pole_id, kind, facet, value)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let row = [
                sql.bind(*id),
                sql.bind(*pole_id),
                sql.bind(*kind),
                sql.bind(*facet),
                sql.bind(*value),
            ]
            .join(", ");
            sql.push(&format!("({row})"));
        }
        db.execute_raw(sql.statement()).await?;
    }
    Ok(())
}

/// Writes the row of `entry`'s item, in place when it exists (an upsert: two writers of the
/// same item never meet on a row one of them deleted), then its facets.
async fn write_entry(db: &impl ConnectionTrait, entry: &Entry) -> Result<()> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(&format!("INSERT INTO directory ({ENTRY_COLUMNS}) VALUES ("));
    let values = bind_entry(&mut sql, entry);
    sql.push(&values);
    let updates = ENTRY_COLUMNS
        .split(',')
        .map(str::trim)
        .filter(|c| !matches!(*c, "kind" | "item_id"))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    sql.push(&format!(
        ") ON CONFLICT (kind, item_id) DO UPDATE SET {updates} RETURNING id"
    ));
    let row = db
        .query_one_raw(sql.statement())
        .await?
        .ok_or_else(|| StoreError::Corrupt("the directory row was not written".into()))?;
    let id: i64 = row.try_get("", "id")?;
    let mut sql = Sql::new(db.get_database_backend());
    let e = sql.bind(id);
    sql.push(&format!(
        "DELETE FROM directory_facets WHERE entry_id = {e}"
    ));
    db.execute_raw(sql.statement()).await?;
    insert_facets(db, &[(id, entry)]).await
}

async fn remove_entry(db: &impl ConnectionTrait, kind: DirectoryKind, item_id: i64) -> Result<()> {
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    let (k, i) = (sql.bind(kind.id()), sql.bind(item_id));
    sql.push(&format!(
        "DELETE FROM directory_facets WHERE entry_id IN \
         (SELECT id FROM directory WHERE kind = {k} AND item_id = {i})"
    ));
    db.execute_raw(sql.statement()).await?;
    let mut sql = Sql::new(backend);
    let (k, i) = (sql.bind(kind.id()), sql.bind(item_id));
    sql.push(&format!(
        "DELETE FROM directory WHERE kind = {k} AND item_id = {i}"
    ));
    db.execute_raw(sql.statement()).await?;
    Ok(())
}

/// Takes an object out of the directory (it was deleted).
pub(crate) async fn unindex_object(
    db: &impl ConnectionTrait,
    kind: super::Kind,
    item_id: i64,
) -> Result<()> {
    remove_entry(db, directory_kind(kind), item_id).await
}

fn directory_kind(kind: super::Kind) -> DirectoryKind {
    match kind {
        super::Kind::Project => DirectoryKind::Project,
        super::Kind::Event => DirectoryKind::Event,
        super::Kind::Call => DirectoryKind::Call,
    }
}

/// Takes a pole and everything it published out of the directory.
pub(crate) async fn unindex_pole(db: &impl ConnectionTrait, pole_id: i64) -> Result<()> {
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    let p = sql.bind(pole_id);
    sql.push(&format!(
        "DELETE FROM directory_facets WHERE entry_id IN (SELECT id FROM directory WHERE pole_id = {p})"
    ));
    db.execute_raw(sql.statement()).await?;
    let mut sql = Sql::new(backend);
    let p = sql.bind(pole_id);
    sql.push(&format!("DELETE FROM directory WHERE pole_id = {p}"));
    db.execute_raw(sql.statement()).await?;
    Ok(())
}

async fn pole_members(db: &impl ConnectionTrait, pole_id: i64) -> Result<Vec<(String, String)>> {
    Ok(members::Entity::find()
        .select_only()
        .columns([members::Column::Name, members::Column::LegalForm])
        .filter(members::Column::PoleId.eq(pole_id))
        .order_by_asc(members::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// Writes the pole's row again (its profile or members changed); with `objects`, the rows
/// of what it publishes too, since they inherit its territory and themes.
pub(crate) async fn index_pole(
    db: &impl ConnectionTrait,
    pole_id: i64,
    objects: bool,
) -> Result<()> {
    let Some(pole) = poles::Entity::find_by_id(pole_id).one(db).await? else {
        return unindex_pole(db, pole_id).await;
    };
    if pole.deleted_at.is_some() {
        return unindex_pole(db, pole_id).await;
    }
    let rows = pole_members(db, pole_id).await?;
    if pole.ptce {
        write_entry(db, &pole_entry(&pole, &rows)?).await?;
    }
    if !objects {
        return Ok(());
    }
    let facts = PoleFacts::of(&pole)?;
    for m in projects::Entity::find()
        .filter(projects::Column::PoleId.eq(pole_id))
        .filter(projects::Column::DeletedAt.is_null())
        .all(db)
        .await?
    {
        write_entry(db, &project_entry(&m, &facts)?).await?;
    }
    for m in events::Entity::find()
        .filter(events::Column::PoleId.eq(pole_id))
        .filter(events::Column::DeletedAt.is_null())
        .all(db)
        .await?
    {
        write_entry(db, &event_entry(&m, &facts)?).await?;
    }
    for m in calls::Entity::find()
        .filter(calls::Column::PoleId.eq(pole_id))
        .filter(calls::Column::DeletedAt.is_null())
        .all(db)
        .await?
    {
        write_entry(db, &call_entry(&m, &facts)?).await?;
    }
    Ok(())
}

async fn pole_facts(db: &impl ConnectionTrait, pole_id: i64) -> Result<PoleFacts> {
    match poles::Entity::find_by_id(pole_id).one(db).await? {
        Some(p) => PoleFacts::of(&p),
        None => Ok(PoleFacts::default()),
    }
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

/// Writes the object's row again after it was created or changed.
pub(crate) async fn index_object(db: &impl ConnectionTrait, model: &impl Indexed) -> Result<()> {
    if model.deleted() {
        return Ok(());
    }
    let facts = pole_facts(db, model.pole_id()).await?;
    write_entry(db, &model.entry(&facts)?).await
}

/// Writes many new rows at once, with ids from `next_id` on (the tables were emptied).
async fn bulk_insert(
    db: &impl ConnectionTrait,
    entries: &[Entry],
    next_id: &mut i64,
) -> Result<()> {
    let backend = db.get_database_backend();
    // Eighteen values a row: 1,000 rows stay under both databases' limits.
    for chunk in entries.chunks(1_000) {
        let mut sql = Sql::new(backend);
        sql.push(&format!(
            "INSERT INTO directory (id, {ENTRY_COLUMNS}) VALUES "
        ));
        let mut rows = Vec::with_capacity(chunk.len());
        for (i, e) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let id = *next_id;
            *next_id += 1;
            let idp = sql.bind(id);
            let values = bind_entry(&mut sql, e);
            sql.push(&format!("({idp}, {values})"));
            rows.push((id, e));
        }
        db.execute_raw(sql.statement()).await?;
        insert_facets(db, &rows).await?;
    }
    Ok(())
}

/// Rows read per batch when rebuilding.
const REBUILD_BATCH: u64 = 5_000;

macro_rules! rebuild_kind {
    ($db:expr, $entity:ident, $build:ident, $facts:expr, $next_id:expr, $count:expr) => {{
        let mut after = 0i64;
        loop {
            let batch = $entity::Entity::find()
                .filter($entity::Column::Id.gt(after))
                .filter($entity::Column::DeletedAt.is_null())
                .order_by_asc($entity::Column::Id)
                .limit(REBUILD_BATCH)
                .all($db)
                .await?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            let empty = PoleFacts::default();
            let entries = batch
                .iter()
                .filter(|m| $facts.contains_key(&m.pole_id))
                .map(|m| $build(m, $facts.get(&m.pole_id).unwrap_or(&empty)))
                .collect::<Result<Vec<Entry>>>()?;
            $count += entries.len() as u64;
            bulk_insert($db, &entries, $next_id).await?;
        }
    }};
}

/// Empties the directory and writes it again from the poles and objects.
async fn rebuild(db: &impl ConnectionTrait) -> Result<u64> {
    let backend = db.get_database_backend();
    db.execute_unprepared("DELETE FROM directory_facets")
        .await?;
    db.execute_unprepared("DELETE FROM directory").await?;
    let mut next_id = 1i64;
    let mut count = 0u64;
    let live_poles = poles::Entity::find()
        .filter(poles::Column::DeletedAt.is_null())
        .order_by_asc(poles::Column::Id)
        .all(db)
        .await?;
    let mut member_rows: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    let all_members: Vec<(i64, String, String)> = members::Entity::find()
        .select_only()
        .columns([
            members::Column::PoleId,
            members::Column::Name,
            members::Column::LegalForm,
        ])
        .order_by_asc(members::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    for (pole_id, name, form) in all_members {
        member_rows.entry(pole_id).or_default().push((name, form));
    }
    let mut facts: HashMap<i64, PoleFacts> = HashMap::new();
    let mut pole_entries = Vec::with_capacity(live_poles.len());
    for p in &live_poles {
        facts.insert(p.id, PoleFacts::of(p)?);
        let rows = member_rows.get(&p.id).map(Vec::as_slice).unwrap_or(&[]);
        if p.ptce {
            pole_entries.push(pole_entry(p, rows)?);
        }
    }
    drop(member_rows);
    count += pole_entries.len() as u64;
    bulk_insert(db, &pole_entries, &mut next_id).await?;
    drop(pole_entries);
    rebuild_kind!(db, projects, project_entry, facts, &mut next_id, count);
    rebuild_kind!(db, events, event_entry, facts, &mut next_id, count);
    rebuild_kind!(db, calls, call_entry, facts, &mut next_id, count);
    if backend == DbBackend::Postgres {
        db.execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('directory', 'id'), \
             GREATEST((SELECT MAX(id) FROM directory), 1))",
        )
        .await?;
        // Analysed with a vacuum once the transaction is committed.
    } else {
        db.execute_unprepared("ANALYZE").await?;
    }
    let mut sql = Sql::new(backend);
    let v = sql.bind(INDEX_VERSION);
    sql.push(&format!(
        "UPDATE directory_state SET version = {v} WHERE id = 1"
    ));
    db.execute_raw(sql.statement()).await?;
    Ok(count)
}

// ---------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------

/// The pole a hit belongs to (for a pole, itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HitPole {
    pub id: i64,
    pub slug: String,
    pub domain: String,
    pub name: String,
    pub ap_id: String,
    pub local: bool,
}

/// Matches are counted exactly up to this number (or to the end of the page asked for).
pub const COUNT_CAP: u64 = 1_000;

/// One page of a directory search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryResults {
    pub items: Vec<DirectoryHit>,
    pub page: u64,
    pub per_page: u64,
    /// The number of matches; when `total_exact` is false, a lower bound (there are more
    /// than [`COUNT_CAP`], and they were not all counted).
    pub total: u64,
    pub total_exact: bool,
}

/// One result of a directory search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryHit {
    pub kind: DirectoryKind,
    /// The row id in the table of its kind.
    pub item_id: i64,
    /// The pole's slug, or the object's public id.
    pub public_id: String,
    pub ap_id: String,
    pub local: bool,
    pub title: String,
    pub summary: Option<String>,
    /// Whether every query word is in the title or name.
    pub title_match: bool,
    pub published_at: DateTime<Utc>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// The call's status as stored (`open`, `closed`, `fulfilled`).
    pub call_status: Option<String>,
    pub deadline: Option<NaiveDate>,
    pub pole: HitPole,
}

fn timestamp(seconds: i64) -> Result<DateTime<Utc>> {
    Utc.timestamp_opt(seconds, 0)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("time {seconds} in the directory")))
}

/// The first instant of a day in the directory's time zone.
fn day_start(day: NaiveDate) -> i64 {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    DIRECTORY_TZ
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.timestamp())
        .unwrap_or_else(|| midnight.and_utc().timestamp())
}

/// Facets that describe the entry itself; the others describe its pole.
fn entry_facets(query: &DirectoryQuery) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(v) = &query.region {
        out.push((REGION, v.clone()));
    }
    if let Some(v) = &query.departement {
        out.push((DEPARTEMENT, v.clone()));
    }
    if let Some(v) = &query.epci {
        out.push((EPCI, v.clone()));
    }
    if let Some(v) = &query.commune {
        out.push((COMMUNE, v.clone()));
    }
    if let Some(v) = query.theme {
        out.push((THEME, v.id().to_owned()));
    }
    out
}

fn pole_facets(query: &DirectoryQuery) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(v) = query.pooling {
        out.push((POOLING, v.id().to_owned()));
    }
    if let Some(v) = query.legal_form {
        out.push((LEGAL_FORM, v.id().to_owned()));
    }
    out
}

/// The clock and the query words a search runs with.
struct Context {
    now: i64,
    today: String,
    tokens: Vec<String>,
}

impl Context {
    fn new(query: &DirectoryQuery, now: DateTime<Utc>) -> Context {
        Context {
            now: now.timestamp(),
            today: now
                .with_timezone(&DIRECTORY_TZ)
                .date_naive()
                .format("%Y-%m-%d")
                .to_string(),
            tokens: query.q.as_deref().map(query_tokens).unwrap_or_default(),
        }
    }
}

/// Whether a SQLite search starts from the matches of its first facet, checking the other
/// filters row by row: one without words that filters on a facet of the entries. Both the
/// conditions and the choice of index follow it.
fn starts_from_facet(backend: DbBackend, query: &DirectoryQuery, words: bool) -> bool {
    backend == DbBackend::Sqlite && !words && !entry_facets(query).is_empty()
}

/// The columns of a hit, as [`Store::hits`] reads them.
const HIT_COLUMNS: &str = "d.kind, d.item_id, d.pole_id, d.local, d.title, d.summary, d.ap_id, \
     d.public_id, d.published_at, d.starts_at, d.ends_at, d.call_status, d.deadline";

/// Newest first, the ranking's last keys.
const NEWEST: &str = "d.published_at DESC, d.item_id DESC, d.kind";

/// The index of the directory's filter and ranking keys by row id (SQLite), as a hint.
const KEYS_INDEX: &str = " INDEXED BY idx_directory_keys";

/// A group of the ranking with at most this many matches is sorted; a larger one is read
/// by walking the entries newest first.
const SORT_AT_MOST: u64 = 2_000;

/// The text-index queries of a search with words and only filters the text index holds.
struct TextTerms {
    /// Every match.
    all: String,
    /// The matches with every word in the title.
    in_title: String,
    /// The others.
    elsewhere: String,
}

impl TextTerms {
    fn new(query: &DirectoryQuery, kinds: &[DirectoryKind], ctx: &Context) -> TextTerms {
        let quoted = |t: &str| format!("\"{t}\"");
        let mut filters: Vec<String> = entry_facets(query)
            .iter()
            .map(|(f, v)| quoted(&facet_token(f, v)))
            .collect();
        if kinds.len() < DirectoryKind::ALL.len() {
            let any: Vec<String> = kinds.iter().map(|k| quoted(&kind_token(*k))).collect();
            filters.push(format!("({})", any.join(" OR ")));
        }
        let words: Vec<String> = ctx.tokens.iter().map(|t| quoted(t)).collect();
        let titled: Vec<String> = ctx.tokens.iter().map(|t| quoted(&title_token(t))).collect();
        let and = |parts: Vec<String>| parts.join(" AND ");
        let all = and(words.into_iter().chain(filters.clone()).collect());
        let in_title = and(titled.iter().cloned().chain(filters).collect());
        let elsewhere = format!("({all}) NOT ({})", and(titled));
        TextTerms {
            all,
            in_title,
            elsewhere,
        }
    }
}

/// Appends the WHERE conditions of `query` restricted to `kinds`.
/// With `walk`, the facets are checked row by row, as the rows come in the order of an
/// index, rather than driving the search.
fn push_conditions(
    sql: &mut Sql,
    query: &DirectoryQuery,
    kinds: &[DirectoryKind],
    ctx: &Context,
    walk: bool,
) {
    let mut conds: Vec<String> = Vec::new();
    if let Some(pole) = query.pole {
        let p = sql.bind(pole);
        conds.push(format!("d.pole_id = {p}"));
    }
    let list: Vec<String> = kinds.iter().map(|k| format!("'{}'", k.id())).collect();
    if kinds.len() < DirectoryKind::ALL.len() {
        conds.push(format!("d.kind IN ({})", list.join(", ")));
    }
    let single_kind = (kinds.len() == 1).then(|| kinds[0]);
    // The text match comes first: when present it is what the database starts from, and
    // the territory and theme filters join it as facet tokens (one index intersection).
    let facets = entry_facets(query);
    if !ctx.tokens.is_empty() {
        let mut terms = ctx.tokens.clone();
        terms.extend(facets.iter().map(|(f, v)| facet_token(f, v)));
        match sql.backend {
            DbBackend::Postgres => {
                let p = sql.bind(terms.join(" & "));
                conds.push(format!("d.tsv @@ to_tsquery('simple', {p})"));
            }
            _ => {
                let expr: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
                let p = sql.bind(expr.join(" AND "));
                conds.push(format!(
                    "d.id IN (SELECT rowid FROM directory_fts WHERE directory_fts MATCH {p})"
                ));
            }
        }
    }
    let facets = if ctx.tokens.is_empty() {
        facets
    } else {
        Vec::new()
    };
    let from_facet = !walk && starts_from_facet(sql.backend, query, !ctx.tokens.is_empty());
    for (i, (facet, value)) in facets.into_iter().enumerate() {
        let drive = i == 0 && from_facet;
        let f = sql.bind(facet);
        let v = sql.bind(value);
        let kind_filter = match single_kind {
            Some(k) => format!(" AND f.kind = '{}'", k.id()),
            None => String::new(),
        };
        if drive {
            conds.push(format!(
                "d.id IN (SELECT f.entry_id FROM directory_facets f WHERE f.facet = {f} AND f.value = {v}{kind_filter})"
            ));
        } else {
            conds.push(format!(
                "EXISTS (SELECT 1 FROM directory_facets f WHERE f.entry_id = d.id AND f.facet = {f} AND f.value = {v}{kind_filter})"
            ));
        }
    }
    for (facet, value) in pole_facets(query) {
        let f = sql.bind(facet);
        let v = sql.bind(value);
        conds.push(format!(
            "d.pole_id IN (SELECT f.pole_id FROM directory_facets f WHERE f.facet = {f} AND f.value = {v} AND f.kind = 'pole')"
        ));
    }
    // Kind-specific filters: alone they constrain their kind directly (so that the
    // database can use the kind's indexes); mixed with other kinds, only rows of theirs.
    let mut event_conds = Vec::new();
    if query.upcoming {
        let p = sql.bind(ctx.now);
        event_conds.push(format!("d.ends_at >= {p}"));
    }
    if let Some(from) = query.from {
        let p = sql.bind(day_start(from));
        event_conds.push(format!("d.ends_at >= {p}"));
    }
    if let Some(to) = query.to {
        let p = sql.bind(day_start(to + chrono::Days::new(1)));
        event_conds.push(format!("d.starts_at < {p}"));
    }
    if !event_conds.is_empty() && kinds.contains(&DirectoryKind::Event) {
        let all = event_conds.join(" AND ");
        if single_kind == Some(DirectoryKind::Event) {
            conds.push(all);
        } else {
            conds.push(format!("(d.kind <> 'event' OR ({all}))"));
        }
    }
    let mut call_conds = Vec::new();
    match query.call_status {
        Some(CallState::Open) => {
            let p = sql.bind(ctx.today.clone());
            call_conds.push(format!(
                "d.call_status = 'open' AND (d.deadline IS NULL OR d.deadline >= {p})"
            ));
        }
        Some(CallState::Closed) => {
            let p = sql.bind(ctx.today.clone());
            call_conds.push(format!("(d.call_status <> 'open' OR d.deadline < {p})"));
        }
        None => {}
    }
    if let Some(day) = query.deadline_before {
        let p = sql.bind(day.format("%Y-%m-%d").to_string());
        call_conds.push(format!("d.deadline <= {p}"));
    }
    if !call_conds.is_empty() && kinds.contains(&DirectoryKind::Call) {
        let all = call_conds.join(" AND ");
        if single_kind == Some(DirectoryKind::Call) {
            conds.push(all);
        } else {
            conds.push(format!("(d.kind <> 'call' OR ({all}))"));
        }
    }
    if conds.is_empty() {
        sql.push(" WHERE 1 = 1");
    } else {
        sql.push(" WHERE ");
        sql.push(&conds.join(" AND "));
    }
}

impl Store {
    /// The directory entries matching `query`, ranked, one page of them.
    ///
    /// Ranking, identical on both databases: with words, entries whose title or name holds
    /// every word come first; when upcoming events are asked for, they come by start (and
    /// the other kinds asked for after them); then newest first; ties broken by item id
    /// (newest first) and kind.
    pub async fn search_directory(&self, query: &DirectoryQuery) -> Result<DirectoryResults> {
        self.search_directory_at(query, Utc::now()).await
    }

    /// [`Store::search_directory`] as if it were `now`.
    pub async fn search_directory_at(
        &self,
        query: &DirectoryQuery,
        now: DateTime<Utc>,
    ) -> Result<DirectoryResults> {
        let backend = self.db.get_database_backend();
        let ctx = Context::new(query, now);
        let kinds = query.effective_kinds();
        let per_page = query.per_page.clamp(1, MAX_ROWS);
        let page = query.page.max(1);
        let offset = (page - 1).saturating_mul(per_page);
        // Matches are counted up to the end of the page or COUNT_CAP, whichever is
        // further: a common word does not make the database count the whole directory.
        let cap = offset.saturating_add(per_page).max(COUNT_CAP);
        let words = !ctx.tokens.is_empty();
        let upcoming_first = query.upcoming && kinds.contains(&DirectoryKind::Event);
        let empty = |total: u64, total_exact: bool| DirectoryResults {
            items: Vec::new(),
            page,
            per_page,
            total,
            total_exact,
        };

        // SQLite: words with filters the text index holds are answered from the text
        // index, a group of the ranking at a time.
        if backend == DbBackend::Sqlite
            && words
            && query.order == DirectoryOrder::Relevance
            && !upcoming_first
            && query.only_indexed_filters()
        {
            let terms = TextTerms::new(query, &kinds, &ctx);
            let counted = self.text_count(&terms.all, Some(cap + 1)).await?;
            let total_exact = counted <= cap;
            if counted == 0 || offset >= counted {
                return Ok(empty(counted, total_exact));
            }
            let in_title = self.text_count(&terms.in_title, None).await?;
            let mut rows = Vec::new();
            if offset < in_title {
                let take = per_page.min(in_title - offset);
                rows.extend(
                    self.text_group(&terms.in_title, 0, in_title <= SORT_AT_MOST, offset, take)
                        .await?,
                );
            }
            let left = per_page - rows.len() as u64;
            if left > 0 {
                let rest = self
                    .text_count(&terms.elsewhere, Some(SORT_AT_MOST + 1))
                    .await?;
                if rest > 0 {
                    let from = offset.saturating_sub(in_title);
                    rows.extend(
                        self.text_group(&terms.elsewhere, 1, rest <= SORT_AT_MOST, from, left)
                            .await?,
                    );
                }
            }
            return Ok(DirectoryResults {
                items: self.hits(rows, words).await?,
                page,
                per_page,
                total: counted,
                total_exact,
            });
        }

        // SQLite starts from the first facet's matches and looks each up by id: the keys
        // index gives what the filters and the ranking need without reading the rows.
        let by_facet = starts_from_facet(backend, query, words);
        let keys_hint = if by_facet { KEYS_INDEX } else { "" };
        let mut count = Sql::new(backend);
        count.push(&format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM directory d{keys_hint}"
        ));
        push_conditions(&mut count, query, &kinds, &ctx, false);
        count.push(&format!(" LIMIT {}) AS capped", cap + 1));
        let counted: i64 = match self.db.query_one_raw(count.statement()).await? {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        let total = u64::try_from(counted).unwrap_or(0);
        let total_exact = total <= cap;
        if total == 0 || offset >= total {
            return Ok(empty(total, total_exact));
        }

        // Many matches in an order an index keeps: SQLite walks that index and stops at the
        // end of the page, checking each row, rather than sorting every match.
        let walk = match query.order {
            _ if backend != DbBackend::Sqlite || words || total_exact || query.pole.is_some() => {
                None
            }
            DirectoryOrder::Relevance if !upcoming_first => Some(if kinds.len() == 1 {
                "idx_directory_kind_published"
            } else {
                "idx_directory_published"
            }),
            DirectoryOrder::Updated => Some("idx_directory_updated"),
            _ => None,
        };

        let mut sql = Sql::new(backend);
        let tier = if words {
            let likes: Vec<String> = ctx
                .tokens
                .clone()
                .into_iter()
                .map(|t| format!("d.title_tokens LIKE {}", sql.bind(format!("% {t} %"))))
                .collect();
            format!("CASE WHEN {} THEN 0 ELSE 1 END", likes.join(" AND "))
        } else {
            "0".to_owned()
        };
        let now1 = sql.bind(ctx.now);
        let now2 = sql.bind(ctx.now);
        // Ranked by keys alone: the page's ids are found in the keys index, then only
        // their rows are read.
        let by_keys = by_facet
            && walk.is_none()
            && matches!(
                query.order,
                DirectoryOrder::Relevance | DirectoryOrder::Starts
            );
        let (columns, hint) = match walk {
            Some(index) => (HIT_COLUMNS, format!(" INDEXED BY {index}")),
            None if by_keys => ("d.id AS entry_id", KEYS_INDEX.to_owned()),
            None => (HIT_COLUMNS, String::new()),
        };
        sql.push(&format!(
            "SELECT {columns}, {tier} AS tier, \
             CASE WHEN d.kind = 'event' AND d.ends_at >= {now1} THEN 0 ELSE 1 END AS up_group, \
             CASE WHEN d.kind = 'event' AND d.ends_at >= {now2} THEN d.starts_at ELSE 0 END AS up_start \
             FROM directory d{hint}"
        ));
        push_conditions(&mut sql, query, &kinds, &ctx, walk.is_some());
        let order = match query.order {
            // Keys that are the same for every row are left out, so that the database
            // can walk an index in order and stop at the end of the page.
            DirectoryOrder::Relevance => match (words, upcoming_first) {
                (false, false) => NEWEST.to_owned(),
                (false, true) => format!("up_group, up_start, {NEWEST}"),
                (true, false) => format!("tier, {NEWEST}"),
                (true, true) => format!("tier, up_group, up_start, {NEWEST}"),
            },
            DirectoryOrder::Updated => "d.updated_at DESC, d.item_id DESC, d.kind".to_owned(),
            DirectoryOrder::Starts => "COALESCE(d.starts_at, 0), d.item_id, d.kind".to_owned(),
            // Byte order, the same on both databases whatever PostgreSQL's collation.
            DirectoryOrder::Title if backend == DbBackend::Postgres => {
                "d.title COLLATE \"C\", d.item_id, d.kind".to_owned()
            }
            DirectoryOrder::Title => "d.title, d.item_id, d.kind".to_owned(),
        };
        sql.push(&format!(
            " ORDER BY {order} LIMIT {per_page} OFFSET {offset}"
        ));
        let mut rows = self.db.query_all_raw(sql.statement()).await?;
        if by_keys {
            rows = self.rows_by_id(&rows).await?;
        }
        Ok(DirectoryResults {
            items: self.hits(rows, words).await?,
            page,
            per_page,
            total,
            total_exact,
        })
    }

    /// The directory rows (with [`HIT_COLUMNS`] and tier 0) of the ids of `ranked`, rows
    /// read with an `entry_id` column, in their order.
    async fn rows_by_id(
        &self,
        ranked: &[sea_orm::QueryResult],
    ) -> Result<Vec<sea_orm::QueryResult>> {
        let mut ids = Vec::with_capacity(ranked.len());
        let mut rank: HashMap<i64, usize> = HashMap::with_capacity(ranked.len());
        for (at, row) in ranked.iter().enumerate() {
            let id: i64 = row.try_get("", "entry_id")?;
            ids.push(id);
            rank.insert(id, at);
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let rows = self
            .db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                format!(
                    "SELECT d.id AS entry_id, {HIT_COLUMNS}, 0 AS tier FROM directory d \
                     WHERE d.id IN ({})",
                    list.join(", ")
                ),
            ))
            .await?;
        let mut keyed = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("", "entry_id")?;
            let at = rank.get(&id).copied().unwrap_or(usize::MAX);
            keyed.push((at, row));
        }
        keyed.sort_by_key(|(at, _)| *at);
        Ok(keyed.into_iter().map(|(_, row)| row).collect())
    }

    /// How many entries match a text-index query, counted up to `limit` if given.
    async fn text_count(&self, terms: &str, limit: Option<u64>) -> Result<u64> {
        let mut sql = Sql::new(DbBackend::Sqlite);
        let p = sql.bind(terms.to_owned());
        let limit = limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
        sql.push(&format!(
            "SELECT COUNT(*) AS n FROM (SELECT rowid FROM directory_fts \
             WHERE directory_fts MATCH {p}{limit}) AS matched"
        ));
        let n: i64 = match self.db.query_one_raw(sql.statement()).await? {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// One group of the ranking (`tier` 0: every word in the title; 1: the others),
    /// newest first: a few matches are sorted, many are found by walking the entries
    /// newest first until the page is full.
    async fn text_group(
        &self,
        terms: &str,
        tier: u8,
        few: bool,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<sea_orm::QueryResult>> {
        let mut sql = Sql::new(DbBackend::Sqlite);
        let p = sql.bind(terms.to_owned());
        let access = if few {
            "NOT INDEXED"
        } else {
            "INDEXED BY idx_directory_published"
        };
        sql.push(&format!(
            "SELECT {HIT_COLUMNS}, {tier} AS tier FROM directory d {access} \
             WHERE d.id IN (SELECT rowid FROM directory_fts WHERE directory_fts MATCH {p}) \
             ORDER BY {NEWEST} LIMIT {limit} OFFSET {offset}"
        ));
        Ok(self.db.query_all_raw(sql.statement()).await?)
    }

    /// The hits of rows selected with [`HIT_COLUMNS`] and a `tier`, with their poles.
    async fn hits(
        &self,
        rows: Vec<sea_orm::QueryResult>,
        words: bool,
    ) -> Result<Vec<DirectoryHit>> {
        struct Row {
            kind: DirectoryKind,
            item_id: i64,
            pole_id: i64,
            local: bool,
            title: String,
            summary: Option<String>,
            ap_id: String,
            public_id: String,
            published_at: i64,
            starts_at: Option<i64>,
            ends_at: Option<i64>,
            call_status: Option<String>,
            deadline: Option<String>,
            tier: i64,
        }
        let mut parsed = Vec::with_capacity(rows.len());
        for r in rows {
            let kind: String = r.try_get("", "kind")?;
            let tier: i32 = r.try_get("", "tier")?;
            parsed.push(Row {
                kind: DirectoryKind::from_id(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("directory kind `{kind}`")))?,
                item_id: r.try_get("", "item_id")?,
                pole_id: r.try_get("", "pole_id")?,
                local: r.try_get("", "local")?,
                title: r.try_get("", "title")?,
                summary: r.try_get("", "summary")?,
                ap_id: r.try_get("", "ap_id")?,
                public_id: r.try_get("", "public_id")?,
                published_at: r.try_get("", "published_at")?,
                starts_at: r.try_get("", "starts_at")?,
                ends_at: r.try_get("", "ends_at")?,
                call_status: r.try_get("", "call_status")?,
                deadline: r.try_get("", "deadline")?,
                tier: i64::from(tier),
            });
        }
        // The hits' poles, in one query.
        let mut pole_ids: Vec<i64> = parsed.iter().map(|r| r.pole_id).collect();
        pole_ids.sort_unstable();
        pole_ids.dedup();
        let pole_rows: Vec<(i64, String, String, String, String, bool)> = poles::Entity::find()
            .select_only()
            .columns([
                poles::Column::Id,
                poles::Column::Slug,
                poles::Column::Domain,
                poles::Column::Name,
                poles::Column::ApId,
                poles::Column::Local,
            ])
            .filter(poles::Column::Id.is_in(pole_ids))
            .into_tuple()
            .all(&self.db)
            .await?;
        let poles_by_id: HashMap<i64, HitPole> = pole_rows
            .into_iter()
            .map(|(id, slug, domain, name, ap_id, local)| {
                (
                    id,
                    HitPole {
                        id,
                        slug,
                        domain,
                        name,
                        ap_id,
                        local,
                    },
                )
            })
            .collect();
        let mut items = Vec::with_capacity(parsed.len());
        for r in parsed {
            let pole = poles_by_id.get(&r.pole_id).cloned().ok_or_else(|| {
                StoreError::Corrupt(format!("pole {} of a directory row", r.pole_id))
            })?;
            items.push(DirectoryHit {
                kind: r.kind,
                item_id: r.item_id,
                public_id: r.public_id,
                ap_id: r.ap_id,
                local: r.local,
                title: r.title,
                summary: r.summary,
                title_match: words && r.tier == 0,
                published_at: timestamp(r.published_at)?,
                starts_at: r.starts_at.map(timestamp).transpose()?,
                ends_at: r.ends_at.map(timestamp).transpose()?,
                call_status: r.call_status,
                deadline: r
                    .deadline
                    .map(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d"))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(format!("deadline in the directory: {e}")))?,
                pole,
            });
        }
        Ok(items)
    }

    /// Rebuilds the directory if it was written by another version of the indexer (or
    /// never, right after its migration). Returns the number of rows written, if rebuilt.
    pub async fn refresh_directory(&self) -> Result<Option<u64>> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                "SELECT version FROM directory_state WHERE id = 1",
            ))
            .await?;
        let version: i32 = match row {
            Some(r) => r.try_get("", "version")?,
            None => 0,
        };
        if version == INDEX_VERSION {
            return Ok(None);
        }
        self.rebuild_directory().await.map(Some)
    }

    /// Empties and rewrites the whole directory, in one transaction.
    pub async fn rebuild_directory(&self) -> Result<u64> {
        let started = std::time::Instant::now();
        let txn = self.write_txn().await?;
        let count = rebuild(&txn).await?;
        txn.commit().await?;
        if self.db.get_database_backend() == DbBackend::Postgres {
            // Outside the transaction: the rows just written are marked all-visible, so
            // that counting by facet reads the index alone, and their statistics are fresh.
            self.db
                .execute_unprepared("VACUUM (ANALYZE) directory, directory_facets")
                .await?;
        }
        tracing::info!(
            rows = count,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "directory index rebuilt"
        );
        Ok(count)
    }
}

// ---------------------------------------------------------------------------------------
// Full records of the hits
// ---------------------------------------------------------------------------------------

/// The stored record of a hit, for the pages and feeds that show more than the hit.
#[derive(Debug, Clone)]
pub enum DirectoryRecord {
    Pole(Box<PoleRecord>),
    Project(ObjectRecord<Project>),
    Event(ObjectRecord<Event>),
    Call(ObjectRecord<CallForCooperation>),
}

/// The records of some hits, in the hits' order, with the poles that published them.
#[derive(Debug, Clone, Default)]
pub struct DirectoryRecords {
    pub items: Vec<DirectoryRecord>,
    /// Every pole a record belongs to (for a pole, itself), by id.
    pub poles: HashMap<i64, PoleRecord>,
}

/// The ids of the hits of one kind.
fn ids_of(hits: &[DirectoryHit], kind: DirectoryKind) -> Vec<i64> {
    hits.iter()
        .filter(|h| h.kind == kind)
        .map(|h| h.item_id)
        .collect()
}

macro_rules! records_by_id {
    ($db:expr, $entity:ident, $from:ident, $ids:expr) => {{
        let mut out = HashMap::new();
        for chunk in $ids.chunks(500) {
            for m in $entity::Entity::find()
                .filter($entity::Column::Id.is_in(chunk.iter().copied()))
                .filter($entity::Column::DeletedAt.is_null())
                .all($db)
                .await?
            {
                out.insert(m.id, $from(m)?);
            }
        }
        out
    }};
}

impl Store {
    /// The records of `hits`, in their order; a hit deleted since the search is left out.
    pub async fn directory_records(&self, hits: &[DirectoryHit]) -> Result<DirectoryRecords> {
        let db = &self.db;
        let mut projects = records_by_id!(
            db,
            projects,
            project_from_model,
            ids_of(hits, DirectoryKind::Project)
        );
        let mut events = records_by_id!(
            db,
            events,
            event_from_model,
            ids_of(hits, DirectoryKind::Event)
        );
        let mut calls = records_by_id!(
            db,
            calls,
            call_from_model,
            ids_of(hits, DirectoryKind::Call)
        );
        let mut pole_ids: Vec<i64> = hits.iter().map(|h| h.pole.id).collect();
        pole_ids.sort_unstable();
        pole_ids.dedup();
        let mut poles = HashMap::with_capacity(pole_ids.len());
        for chunk in pole_ids.chunks(500) {
            for m in poles::Entity::find()
                .filter(poles::Column::Id.is_in(chunk.iter().copied()))
                .filter(poles::Column::DeletedAt.is_null())
                .all(db)
                .await?
            {
                let record = self.pole_record(db, m).await?;
                poles.insert(record.id, record);
            }
        }
        let mut items = Vec::with_capacity(hits.len());
        for hit in hits {
            let record = match hit.kind {
                DirectoryKind::Pole => poles
                    .get(&hit.item_id)
                    .map(|p| DirectoryRecord::Pole(Box::new(p.clone()))),
                DirectoryKind::Project => {
                    projects.remove(&hit.item_id).map(DirectoryRecord::Project)
                }
                DirectoryKind::Event => events.remove(&hit.item_id).map(DirectoryRecord::Event),
                DirectoryKind::Call => calls.remove(&hit.item_id).map(DirectoryRecord::Call),
            };
            if poles.contains_key(&hit.pole.id) {
                items.extend(record);
            }
        }
        Ok(DirectoryRecords { items, poles })
    }
}

// ---------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------

/// A count under a code of a vocabulary or of the territorial reference.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CountBy {
    pub code: String,
    /// French label of the code.
    pub label: String,
    pub count: u64,
}

/// How many poles pool one kind of thing, and their share of the poles counted.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PoolingShare {
    pub code: String,
    pub label: String,
    pub poles: u64,
    /// Percentage of the poles counted, one decimal.
    pub percent: f64,
}

/// Figures over the directory, for the filters given.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DirectoryStatistics {
    /// When the figures were computed.
    pub computed_at: DateTime<Utc>,
    /// The number of poles the figures rest on.
    pub poles: u64,
    /// Poles per région (a pole spanning two régions counts in each).
    pub poles_per_region: Vec<CountBy>,
    /// Share of the poles pooling each kind, every kind listed.
    pub pooling: Vec<PoolingShare>,
    pub members: u64,
    pub members_by_legal_form: Vec<CountBy>,
    /// Members by number of employees; `unknown` when not given.
    pub members_by_size: Vec<CountBy>,
    /// Events per month of their start (YYYY-MM), in order.
    pub events_per_month: Vec<CountBy>,
    /// Calls that can still be answered, in total and per theme.
    pub open_calls: u64,
    pub open_calls_by_theme: Vec<CountBy>,
}

fn sorted_counts(mut rows: Vec<CountBy>) -> Vec<CountBy> {
    rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
    rows
}

impl Store {
    async fn grouped(&self, sql: Sql) -> Result<Vec<(String, u64)>> {
        let rows = self.db.query_all_raw(sql.statement()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let code: Option<String> = r.try_get("", "code")?;
            let n: i64 = r.try_get("", "n")?;
            out.push((
                code.unwrap_or_else(|| "unknown".to_owned()),
                u64::try_from(n).unwrap_or(0),
            ));
        }
        Ok(out)
    }

    /// Figures over the directory, honouring the query's territory, theme, pooling,
    /// legal-form and text filters (and, for events per month, its dates).
    pub async fn directory_statistics(
        &self,
        query: &DirectoryQuery,
    ) -> Result<DirectoryStatistics> {
        self.directory_statistics_at(query, Utc::now()).await
    }

    /// A number that changes, in the same transaction, whenever the directory index does
    /// (in any process sharing the database): figures computed from the directory hold
    /// while it stays the same.
    pub async fn directory_generation(&self) -> Result<i64> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                "SELECT generation FROM directory_generation WHERE id = 1",
            ))
            .await?;
        Ok(match row {
            Some(row) => row.try_get("", "generation")?,
            None => 0,
        })
    }

    /// [`Store::directory_statistics`] as if it were `now`.
    pub async fn directory_statistics_at(
        &self,
        query: &DirectoryQuery,
        now: DateTime<Utc>,
    ) -> Result<DirectoryStatistics> {
        let query = &query.for_statistics();
        let backend = self.db.get_database_backend();
        let reference = Reference::get();
        let ctx = Context::new(query, now);
        let mut base = query.clone();
        base.kinds.clear();
        base.upcoming = false;
        base.from = None;
        base.to = None;
        base.call_status = None;
        base.deadline_before = None;
        let poles_only = [DirectoryKind::Pole];

        let mut sql = Sql::new(backend);
        sql.push("SELECT 'all' AS code, COUNT(*) AS n FROM directory d");
        push_conditions(&mut sql, &base, &poles_only, &ctx, false);
        let poles = self
            .grouped(sql)
            .await?
            .first()
            .map(|(_, n)| *n)
            .unwrap_or(0);

        let facet_counts = |facet: &'static str| {
            let mut sql = Sql::new(backend);
            let f = sql.bind(facet);
            sql.push(&format!(
                "SELECT f.value AS code, COUNT(*) AS n FROM directory_facets f \
                 WHERE f.facet = {f} AND f.kind = 'pole' AND f.entry_id IN (SELECT d.id FROM directory d"
            ));
            push_conditions(&mut sql, &base, &poles_only, &ctx, false);
            sql.push(") GROUP BY f.value");
            sql
        };
        let poles_per_region = sorted_counts(
            self.grouped(facet_counts(REGION))
                .await?
                .into_iter()
                .map(|(code, count)| CountBy {
                    label: reference
                        .region(&code)
                        .map(|r| r.name.to_owned())
                        .unwrap_or_else(|| code.clone()),
                    code,
                    count,
                })
                .collect(),
        );
        let pooled: BTreeMap<String, u64> = self
            .grouped(facet_counts(POOLING))
            .await?
            .into_iter()
            .collect();
        let pooling = PoolingKind::ALL
            .iter()
            .map(|k| {
                let n = pooled.get(k.id()).copied().unwrap_or(0);
                PoolingShare {
                    code: k.id().to_owned(),
                    label: k.label_fr().to_owned(),
                    poles: n,
                    percent: if poles == 0 {
                        0.0
                    } else {
                        (n as f64 * 1000.0 / poles as f64).round() / 10.0
                    },
                }
            })
            .collect();

        let member_counts = |column: &str| {
            let mut sql = Sql::new(backend);
            sql.push(&format!(
                "SELECT m.{column} AS code, COUNT(*) AS n FROM members m WHERE m.pole_id IN (SELECT d.pole_id FROM directory d"
            ));
            push_conditions(&mut sql, &base, &poles_only, &ctx, false);
            sql.push(&format!(") GROUP BY m.{column}"));
            sql
        };
        let by_form = self.grouped(member_counts("legal_form")).await?;
        let members = by_form.iter().map(|(_, n)| n).sum();
        let members_by_legal_form = sorted_counts(
            by_form
                .into_iter()
                .map(|(code, count)| CountBy {
                    label: LegalForm::from_id(&code)
                        .map(|l| l.label_fr().to_owned())
                        .unwrap_or_else(|| code.clone()),
                    code,
                    count,
                })
                .collect(),
        );
        let members_by_size = {
            let counts: HashMap<String, u64> = self
                .grouped(member_counts("employee_band"))
                .await?
                .into_iter()
                .collect();
            let mut out: Vec<CountBy> = EmployeeBand::ALL
                .iter()
                .map(|b| CountBy {
                    code: b.id().to_owned(),
                    label: b.label_fr().to_owned(),
                    count: counts.get(b.id()).copied().unwrap_or(0),
                })
                .collect();
            if let Some(n) = counts.get("unknown") {
                out.push(CountBy {
                    code: "unknown".into(),
                    label: "Non renseigné".into(),
                    count: *n,
                });
            }
            out
        };

        let mut events_query = base.clone();
        events_query.upcoming = query.upcoming;
        events_query.from = query.from;
        events_query.to = query.to;
        let mut sql = Sql::new(backend);
        sql.push("SELECT d.event_month AS code, COUNT(*) AS n FROM directory d");
        push_conditions(
            &mut sql,
            &events_query,
            &[DirectoryKind::Event],
            &ctx,
            false,
        );
        sql.push(" GROUP BY d.event_month");
        let mut events_per_month: Vec<CountBy> = self
            .grouped(sql)
            .await?
            .into_iter()
            .map(|(code, count)| CountBy {
                label: month_label(&code),
                code,
                count,
            })
            .collect();
        events_per_month.sort_by(|a, b| a.code.cmp(&b.code));

        let mut calls_query = base.clone();
        calls_query.call_status = Some(CallState::Open);
        let mut sql = Sql::new(backend);
        sql.push("SELECT 'all' AS code, COUNT(*) AS n FROM directory d");
        push_conditions(&mut sql, &calls_query, &[DirectoryKind::Call], &ctx, false);
        let open_calls = self
            .grouped(sql)
            .await?
            .first()
            .map(|(_, n)| *n)
            .unwrap_or(0);
        let mut sql = Sql::new(backend);
        sql.push(
            "SELECT f.value AS code, COUNT(*) AS n FROM directory_facets f \
             WHERE f.facet = 'theme' AND f.kind = 'call' AND f.entry_id IN (SELECT d.id FROM directory d",
        );
        push_conditions(&mut sql, &calls_query, &[DirectoryKind::Call], &ctx, false);
        sql.push(") GROUP BY f.value");
        let open_calls_by_theme = sorted_counts(
            self.grouped(sql)
                .await?
                .into_iter()
                .map(|(code, count)| CountBy {
                    label: Theme::from_id(&code)
                        .map(|t| t.label_fr().to_owned())
                        .unwrap_or_else(|| code.clone()),
                    code,
                    count,
                })
                .collect(),
        );
        Ok(DirectoryStatistics {
            computed_at: now,
            poles,
            poles_per_region,
            pooling,
            members,
            members_by_legal_form,
            members_by_size,
            events_per_month,
            open_calls,
            open_calls_by_theme,
        })
    }
}

/// "2026-11" → "novembre 2026".
fn month_label(code: &str) -> String {
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
    NaiveDate::parse_from_str(&format!("{code}-01"), "%Y-%m-%d")
        .ok()
        .and_then(|d| {
            MONTHS
                .get(d.month0() as usize)
                .map(|m| format!("{m} {}", d.year()))
        })
        .unwrap_or_else(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_and_case_do_not_matter() {
        assert_eq!(tokens("coopérative"), tokens("COOPERATIVE"));
        assert_eq!(tokens("Énergie"), tokens("energie"));
        assert_eq!(tokens("Œuvre"), tokens("oeuvre"));
    }

    #[test]
    fn plural_and_feminine_forms_share_a_stem() {
        assert_eq!(tokens("coopérative"), tokens("cooperatives"));
        assert_eq!(tokens("énergie"), tokens("energies"));
        assert_eq!(tokens("agricoles"), tokens("agricole"));
        assert_eq!(tokens("territoires"), tokens("territoire"));
        assert_ne!(tokens("énergie"), tokens("mobilité"));
    }

    #[test]
    fn stop_words_single_letters_and_punctuation_are_dropped() {
        assert_eq!(tokens("l'économie de la ville"), tokens("économie ville"));
        assert_eq!(tokens("  ,;!  "), Vec::<String>::new());
        assert_eq!(tokens("2023"), vec!["2023".to_owned()]);
        assert_eq!(tokens("tiers-lieu"), tokens("tiers lieu"));
    }

    #[test]
    fn query_tokens_are_distinct_and_bounded() {
        assert_eq!(query_tokens("énergie energies ÉNERGIE").len(), 1);
        let long = (0..40)
            .map(|i| format!("mot{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(query_tokens(&long).len(), MAX_QUERY_TOKENS);
    }

    #[test]
    fn words_never_pass_for_facet_tokens() {
        assert_eq!(facet_token(REGION, "84"), "zzr84");
        assert_eq!(facet_token(THEME, "renewable-energy"), "zztrenewableenergy");
        assert!(!tokens("zzr84 ZZR84").contains(&"zzr84".to_owned()));
    }

    #[test]
    fn tokens_are_plain_ascii_words() {
        for t in tokens("Café-théâtre « L’Atelier » : 100 % solidaire, ça crée du lien ! 東京")
        {
            assert!(
                t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{t}"
            );
        }
    }

    #[test]
    fn parameters_are_checked_and_named() {
        let p = |f: fn(&mut DirectoryParams)| {
            let mut params = DirectoryParams::default();
            f(&mut params);
            params.parse()
        };
        assert_eq!(
            p(|_| {}).map(|q| (q.page, q.per_page)),
            Ok((1, DEFAULT_PER_PAGE))
        );
        assert_eq!(
            p(|x| x.region = Some("99".into())).unwrap_err().parameter,
            "region"
        );
        assert_eq!(
            p(|x| x.departement = Some("2a".into())).map(|q| q.departement),
            Ok(Some("2A".into()))
        );
        assert_eq!(
            p(|x| x.theme = Some("astrology".into()))
                .unwrap_err()
                .parameter,
            "theme"
        );
        assert_eq!(
            p(|x| x.kind = Some("event,poll".into()))
                .unwrap_err()
                .parameter,
            "kind"
        );
        assert_eq!(
            p(|x| x.from = Some("2026-13-01".into()))
                .unwrap_err()
                .parameter,
            "from"
        );
        assert_eq!(
            p(|x| {
                x.from = Some("2026-12-02".into());
                x.to = Some("2026-12-01".into());
            })
            .unwrap_err()
            .parameter,
            "to"
        );
        assert_eq!(
            p(|x| x.per_page = Some("500".into()))
                .unwrap_err()
                .parameter,
            "per_page"
        );
        assert_eq!(
            p(|x| x.page = Some("0".into())).unwrap_err().parameter,
            "page"
        );
        assert_eq!(
            p(|x| x.page = Some("-1".into())).unwrap_err().parameter,
            "page"
        );
        assert_eq!(
            p(|x| x.upcoming = Some("yes".into()))
                .unwrap_err()
                .parameter,
            "upcoming"
        );
        assert_eq!(
            p(|x| x.call_status = Some("pending".into()))
                .unwrap_err()
                .parameter,
            "call_status"
        );
        let q = p(|x| x.upcoming = Some("true".into())).unwrap();
        assert_eq!(q.effective_kinds(), vec![DirectoryKind::Event]);
        let q = p(|x| x.kind = Some("call, pole,call".into())).unwrap();
        assert_eq!(q.kinds, vec![DirectoryKind::Pole, DirectoryKind::Call]);
    }

    #[test]
    fn months_are_named_in_french() {
        assert_eq!(month_label("2026-08"), "août 2026");
        assert_eq!(month_label("bad"), "bad");
    }
}
