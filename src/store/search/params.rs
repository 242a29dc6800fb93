//! The directory's query parameters: [`DirectoryParams`] as they arrive in a URL, checked
//! into a [`DirectoryQuery`], with the errors that name each wrong parameter.
//!
//! Invariant: a [`DirectoryQuery`] holds only checked values (known codes, dates in order,
//! pages within their limits), so the query plans never see outside input unchecked.

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::domain::territory_ref::Reference;
use crate::domain::vocab::{LegalForm, PoolingKind, Theme};
use crate::domain::{Code, Message};

/// The time zone of dates given without one (`from`, `to`, `deadline_before`).
pub(super) const DIRECTORY_TZ: Tz = chrono_tz::Europe::Paris;

/// Longest `q` accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Largest page.
pub const MAX_PER_PAGE: u64 = 100;
pub const DEFAULT_PER_PAGE: u64 = 20;
/// Highest page number accepted.
const MAX_PAGE: u64 = 1_000_000;
/// Most rows one search returns, whatever the caller's page size (a feed's whole listing).
pub const MAX_ROWS: u64 = 10_000;

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
    pub message: Message,
}

fn bad(parameter: &'static str, message: impl Into<Message>) -> DirectoryQueryError {
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
                .map_err(|_| bad(parameter, Message::new(Code::InvalidDate).arg("value", v)))
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
                    Message::new(Code::UnknownValueExpected)
                        .arg("value", v)
                        .arg("expected", known.join(", ")),
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
                .map_err(|_| bad(parameter, Message::new(Code::NotANumber).arg("value", v)))
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

impl From<DirectoryQueryError> for crate::domain::ValidationErrors {
    fn from(e: DirectoryQueryError) -> Self {
        crate::domain::ValidationErrors::single(e.parameter, e.message)
    }
}

impl From<DirectoryQueryErrors> for crate::domain::ValidationErrors {
    fn from(errors: DirectoryQueryErrors) -> Self {
        let mut out = crate::domain::ValidationErrors::new();
        for e in errors.0 {
            out.add(e.parameter, e.message);
        }
        out
    }
}

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
    code: Code,
) -> Result<Option<String>, DirectoryQueryError> {
    present(value)
        .map(|v| {
            find(v)
                .or_else(|| find(&v.to_ascii_uppercase()))
                .map(str::to_owned)
                .ok_or_else(|| bad(parameter, Message::new(code).arg("value", v)))
        })
        .transpose()
}

/// A commune or an EPCI given by its code or its name: the code of the one place `resolve`
/// finds; none is refused with `codes.0`, several with `codes.1` listing the candidates as
/// `Name (code)`.
fn parse_place(
    parameter: &'static str,
    value: &Option<String>,
    resolve: impl Fn(&str) -> Vec<(&'static str, &'static str)>,
    codes: (Code, Code),
) -> Result<Option<String>, DirectoryQueryError> {
    let Some(v) = present(value) else {
        return Ok(None);
    };
    match resolve(v).as_slice() {
        [(code, _)] => Ok(Some((*code).to_owned())),
        [] => Err(bad(parameter, Message::new(codes.0).arg("value", v))),
        many => Err(bad(
            parameter,
            Message::new(codes.1).arg("value", v).arg(
                "candidates",
                many.iter()
                    .map(|(code, name)| format!("{name} ({code})"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        )),
    }
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
                        errors.push(bad(name, Code::RepeatedParameter));
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
                Message::new(Code::QueryTooLong).arg("max", MAX_QUERY_CHARS),
            ));
        }
        let region = c.take(parse_area(
            "region",
            &self.region,
            |v| reference.region(v).map(|r| r.code),
            Code::UnknownRegion,
        ));
        let departement = c.take(parse_area(
            "departement",
            &self.departement,
            |v| reference.departement(v).map(|d| d.code),
            Code::UnknownDepartement,
        ));
        let epci = c.take(parse_place(
            "epci",
            &self.epci,
            |v| {
                reference
                    .resolve_epcis(v)
                    .into_iter()
                    .map(|e| (e.code, e.name))
                    .collect()
            },
            (Code::EpciNotFound, Code::AmbiguousEpci),
        ));
        let commune = c.take(parse_place(
            "commune",
            &self.commune,
            |v| {
                reference
                    .resolve_communes(v)
                    .into_iter()
                    .map(|c| (c.code, c.name))
                    .collect()
            },
            (Code::CommuneNotFound, Code::AmbiguousCommune),
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
                        Message::new(Code::UnknownKind).arg("value", part),
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
                c.0.push(bad(
                    "upcoming",
                    Message::new(Code::NotBoolean).arg("value", v),
                ));
                false
            }
        };
        let from = c.take(parse_date("from", &self.from));
        let to = c.take(parse_date("to", &self.to));
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            c.0.push(bad(
                "to",
                Message::new(Code::ToBeforeFrom).arg("from", f).arg("to", t),
            ));
        }
        let call_status = match present(&self.call_status) {
            None => None,
            Some("open") => Some(CallState::Open),
            Some("closed") => Some(CallState::Closed),
            Some(v) => {
                c.0.push(bad(
                    "call_status",
                    Message::new(Code::NotOpenClosed).arg("value", v),
                ));
                None
            }
        };
        let deadline_before = c.take(parse_date("deadline_before", &self.deadline_before));
        let page = c.take(parse_number("page", &self.page)).unwrap_or(1);
        if page == 0 {
            c.0.push(bad(
                "page",
                Message::new(Code::PageNumber).arg("value", page),
            ));
        } else if page > MAX_PAGE {
            c.0.push(bad("page", Code::PageTooLarge));
        }
        let max = limits.max_per_page;
        let per_page = c
            .take(parse_number("per_page", &self.per_page))
            .unwrap_or(limits.default_per_page);
        if !(1..=max).contains(&per_page) {
            c.0.push(bad(
                "per_page",
                Message::new(Code::Range).arg("min", 1).arg("max", max),
            ));
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
    ///
    /// [`Store::directory_statistics`]: crate::store::Store::directory_statistics
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
    pub(super) fn only_indexed_filters(&self) -> bool {
        self.pole.is_none()
            && self.pooling.is_none()
            && self.legal_form.is_none()
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
