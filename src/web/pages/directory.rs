//! The directory page (and the theme pages, which are its selections under their own
//! heading), with its selection: the same query parameters, parser and search as the API and
//! the feeds ([`DirectoryParams::parse_with`], [`Store::search_directory`]), shown as page
//! items. The home page and the map select through it too.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::facts::{ATOM, ICAL};
use super::views::{self, Choice, Label, ObjectItem};
use super::{Ctx, Lang, Meta, error_page, html};
use crate::config::ApiConfig;
use crate::domain::FieldError;
use crate::domain::territory_ref::Reference;
use crate::domain::vocab::{CallStatus, LegalForm, PoolingKind, Theme};
use crate::store::DirectoryRecord;
use crate::store::search::{CallState, DirectoryParams, PageLimits};
use crate::store::{DirectoryQuery, PoleRecord, Store, StoreError};
use crate::web::AppState;

pub const KINDS: [&str; 4] = ["pole", "project", "event", "call"];

/// The page's query string, checked with the API's page sizes; every wrong value is
/// reported with its parameter. Unknown parameters (trackers) are ignored, and the form's
/// `kind` check boxes combine.
pub fn page_query(raw: &str, api: &ApiConfig) -> Result<DirectoryQuery, Vec<FieldError>> {
    let limits = PageLimits {
        default_per_page: api.default_page_size,
        max_per_page: api.max_page_size,
    };
    DirectoryParams::from_query(raw, true)
        .and_then(|p| p.parse_with(limits))
        .map_err(|e| {
            e.0.into_iter()
                .map(|e| FieldError {
                    field: e.parameter.to_owned(),
                    message: e.message,
                })
                .collect()
        })
}

/// One page of matches, and how many there are in all.
pub struct Selection {
    pub items: Vec<ObjectItem>,
    pub total: u64,
    /// False when `total` is a lower bound.
    pub total_exact: bool,
}

/// Every local pole, page after page.
pub async fn all_poles(store: &Store) -> Result<Vec<PoleRecord>, StoreError> {
    store.all_local_poles().await
}

/// One page of what matches `query`, in the directory's order.
pub async fn select(
    store: &Store,
    query: &DirectoryQuery,
    lang: Lang,
) -> Result<Selection, StoreError> {
    let page = store.search_directory(query).await?;
    let records = store.directory_records(&page.items).await?;
    let items = records
        .items
        .iter()
        .filter_map(|record| {
            Some(match record {
                DirectoryRecord::Pole(p) => ObjectItem::pole(p, lang),
                DirectoryRecord::Project(r) => {
                    ObjectItem::project(r, records.poles.get(&r.pole_id)?, lang)
                }
                DirectoryRecord::Event(r) => {
                    ObjectItem::event(r, records.poles.get(&r.pole_id)?, lang)
                }
                DirectoryRecord::Call(r) => {
                    ObjectItem::call(r, records.poles.get(&r.pole_id)?, lang)
                }
            })
        })
        .collect();
    Ok(Selection {
        items,
        total: page.total,
        total_exact: page.total_exact,
    })
}

#[derive(Template)]
#[template(path = "directory.html")]
struct DirectoryPage {
    c: Ctx,
    meta: Meta,
    heading: String,
    errors: Vec<FieldError>,
    q: String,
    epci: String,
    commune: String,
    regions: Vec<Choice>,
    departements: Vec<Choice>,
    themes: Vec<Choice>,
    pooling: Vec<Choice>,
    legal_forms: Vec<Choice>,
    kinds: Vec<Choice>,
    call_statuses: Vec<Choice>,
    upcoming: bool,
    from: String,
    to: String,
    deadline_before: String,
    results: Vec<ObjectItem>,
    /// The number of matches, `1001+` when they were not all counted.
    total: String,
    feed_query: String,
    /// The same for the table for French spreadsheets.
    csv_fr_query: String,
    page: u64,
    pages: u64,
    prev_url: Option<String>,
    next_url: Option<String>,
}

fn area_choices<'a>(items: impl Iterator<Item = (&'a str, &'a str)>, chosen: &str) -> Vec<Choice> {
    items
        .map(|(code, name)| Choice {
            code: code.to_owned(),
            label: format!("{name} ({code})"),
            selected: code == chosen,
        })
        .collect()
}

/// `GET /directory`: the directory's search form and its results; the URL says it all, so it
/// can be shared.
pub async fn directory(
    State(state): State<AppState>,
    c: Ctx,
    RawQuery(query): RawQuery,
) -> Response {
    directory_page(&state, c, query.as_deref().unwrap_or_default(), None).await
}

/// The directory page for a query string, under its own heading or the directory's.
pub async fn directory_page(
    state: &AppState,
    c: Ctx,
    query: &str,
    heading: Option<String>,
) -> Response {
    let api = &state.config.api;
    let (params, errors) = match page_query(query, api) {
        Ok(q) => (q, Vec::new()),
        Err(e) => (
            DirectoryQuery {
                page: 1,
                per_page: api.default_page_size,
                ..DirectoryQuery::default()
            },
            e,
        ),
    };
    let selection = if errors.is_empty() {
        match select(&state.store, &params, c.lang).await {
            Ok(s) => s,
            Err(e) => return error_page(&c, e.into()),
        }
    } else {
        Selection {
            items: Vec::new(),
            total: 0,
            total_exact: true,
        }
    };
    let lang = c.lang;
    let reference = Reference::get();
    let pages = selection.total.div_ceil(params.per_page).max(1);
    let total = if selection.total_exact {
        selection.total.to_string()
    } else {
        format!("{}+", selection.total)
    };
    let page_url = |n: u64| {
        let q = params.to_query(Some(n));
        if q.is_empty() {
            "/directory".to_owned()
        } else {
            format!("/directory?{q}")
        }
    };
    let (feed_query, csv_fr_query) = match params.to_query(None) {
        q if q.is_empty() => (String::new(), "?spreadsheet=fr".to_owned()),
        q => (format!("?{q}"), format!("?{q}&spreadsheet=fr")),
    };
    let kinds = KINDS
        .iter()
        .map(|k| Choice {
            code: (*k).to_owned(),
            label: lang.t(&format!("kind.{k}")).to_owned(),
            selected: params.kinds.iter().any(|p| p.id() == *k),
        })
        .collect();
    let one = |v: Option<&'static str>| v.into_iter().collect::<Vec<_>>();
    let heading = heading.unwrap_or_else(|| c.t("directory.title").to_owned());
    let title = if params.is_filtered() {
        format!("{heading} ({total})")
    } else {
        heading.clone()
    };
    let meta = Meta::new(
        title,
        c.t("directory.description"),
        state.store.url(&c.path),
    )
    .alternate(
        ATOM,
        format!("/feeds/directory.atom{feed_query}"),
        c.t("layout.feed_atom"),
    )
    .alternate(
        ICAL,
        format!("/feeds/events.ics{feed_query}"),
        c.t("layout.feed_ics"),
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = DirectoryPage {
        meta,
        heading,
        errors,
        q: params.q.clone().unwrap_or_default(),
        // A place found by its name or postal code is shown back with its code; the filter
        // reads `Name (code)` as that code.
        epci: params
            .epci
            .as_deref()
            .map(|code| match reference.epci(code) {
                Some(e) => format!("{} ({})", e.name, e.code),
                None => code.to_owned(),
            })
            .unwrap_or_default(),
        commune: params
            .commune
            .as_deref()
            .map(|code| match reference.commune(code) {
                Some(c) => format!("{} ({})", c.name, c.code),
                None => code.to_owned(),
            })
            .unwrap_or_default(),
        regions: area_choices(
            reference.regions().iter().map(|r| (r.code, r.name)),
            params.region.as_deref().unwrap_or_default(),
        ),
        departements: area_choices(
            reference.departements().iter().map(|d| (d.code, d.name)),
            params.departement.as_deref().unwrap_or_default(),
        ),
        themes: views::choices(
            Theme::ALL,
            Theme::id,
            &one(params.theme.map(Theme::id)),
            lang,
        ),
        pooling: views::choices(
            PoolingKind::ALL,
            PoolingKind::id,
            &one(params.pooling.map(PoolingKind::id)),
            lang,
        ),
        legal_forms: views::choices(
            LegalForm::ALL,
            LegalForm::id,
            &one(params.legal_form.map(LegalForm::id)),
            lang,
        ),
        // The directory's call states: open (and not past its deadline), or not.
        call_statuses: [
            (CallState::Open, CallStatus::Open),
            (CallState::Closed, CallStatus::Closed),
        ]
        .into_iter()
        .map(|(state, status)| Choice {
            code: status.id().to_owned(),
            label: status.label(lang).to_owned(),
            selected: params.call_status == Some(state),
        })
        .collect(),
        kinds,
        upcoming: params.upcoming,
        from: params.from.map(|d| d.to_string()).unwrap_or_default(),
        to: params.to.map(|d| d.to_string()).unwrap_or_default(),
        deadline_before: params
            .deadline_before
            .map(|d| d.to_string())
            .unwrap_or_default(),
        results: selection.items,
        total,
        feed_query,
        csv_fr_query,
        page: params.page,
        pages,
        prev_url: (params.page > 1).then(|| page_url(params.page - 1)),
        next_url: (params.page < pages).then(|| page_url(params.page + 1)),
        c,
    };
    html(&page, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_combine_and_bad_ones_are_named() {
        let api = ApiConfig::default();
        let q = page_query(
            "q=circuit+court&region=84&theme=agriculture-food&kind=event&kind=call&upcoming=on&from=2026-01-01&call_status=open&page=2&utm_source=x",
            &api,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(q.region.as_deref(), Some("84"));
        assert_eq!(q.kinds.len(), 2);
        assert!(q.upcoming);
        assert_eq!((q.page, q.per_page), (2, api.default_page_size));
        let again = page_query(&q.to_query(Some(2)), &api).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(again, q);
        let e = page_query("from=tomorrow&kind=shop&per_page=1000&epci=12", &api).unwrap_err();
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["epci", "kind", "from", "per_page"]);
    }
}
