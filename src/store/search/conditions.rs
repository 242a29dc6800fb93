//! The WHERE conditions of a [`DirectoryQuery`], written once for both databases.
//!
//! Territory, theme, pooling, legal form, pole, kind, event and call filters are the same
//! SQL on SQLite and PostgreSQL; only the placeholders and the text match differ, and the
//! [`Sql`] builder writes those for its backend. Invariant: a query selects the same
//! entries on both databases.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sea_orm::DbBackend;

use super::params::{CallState, DIRECTORY_TZ, DirectoryKind, DirectoryQuery};
use super::sql::Sql;
use super::text::{
    COMMUNE, DEPARTEMENT, EPCI, LEGAL_FORM, POOLING, REGION, THEME, facet_token, query_tokens,
};

/// The first instant of a day in the directory's time zone.
fn day_start(day: NaiveDate) -> i64 {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    DIRECTORY_TZ
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.timestamp())
        .unwrap_or_else(|| midnight.and_utc().timestamp())
}

/// The clock and the query words a search runs with.
pub(super) struct Context {
    pub(super) now: i64,
    pub(super) today: String,
    pub(super) tokens: Vec<String>,
}

impl Context {
    pub(super) fn new(query: &DirectoryQuery, now: DateTime<Utc>) -> Context {
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

/// The facet filters of a query: what `directory_facets` holds for the entries, and what
/// the text index holds as tokens.
pub(super) struct FacetFilters {
    /// Facets that describe the entry itself: territory and theme.
    pub(super) entry: Vec<(&'static str, String)>,
    /// Facets that describe its pole: pooling and members' legal forms.
    pub(super) pole: Vec<(&'static str, String)>,
}

impl FacetFilters {
    pub(super) fn of(query: &DirectoryQuery) -> FacetFilters {
        let mut entry = Vec::new();
        if let Some(v) = &query.region {
            entry.push((REGION, v.clone()));
        }
        if let Some(v) = &query.departement {
            entry.push((DEPARTEMENT, v.clone()));
        }
        if let Some(v) = &query.epci {
            entry.push((EPCI, v.clone()));
        }
        if let Some(v) = &query.commune {
            entry.push((COMMUNE, v.clone()));
        }
        if let Some(v) = query.theme {
            entry.push((THEME, v.id().to_owned()));
        }
        let mut pole = Vec::new();
        if let Some(v) = query.pooling {
            pole.push((POOLING, v.id().to_owned()));
        }
        if let Some(v) = query.legal_form {
            pole.push((LEGAL_FORM, v.id().to_owned()));
        }
        FacetFilters { entry, pole }
    }

    /// The text-index tokens of entry facets: with words, they join the text match.
    pub(super) fn tokens_of(entry: &[(&'static str, String)]) -> Vec<String> {
        entry.iter().map(|(f, v)| facet_token(f, v)).collect()
    }
}

/// Whether a SQLite search starts from the matches of its first facet, checking the other
/// filters row by row: one without words that filters on a facet of the entries. Both the
/// conditions and the choice of index follow it.
pub(super) fn starts_from_facet(backend: DbBackend, query: &DirectoryQuery, words: bool) -> bool {
    backend == DbBackend::Sqlite && !words && !FacetFilters::of(query).entry.is_empty()
}

/// Appends the WHERE conditions of `query` restricted to `kinds`.
/// With `walk`, the facets are checked row by row, as the rows come in the order of an
/// index, rather than driving the search.
pub(super) fn push_conditions(
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
    let FacetFilters { entry, pole } = FacetFilters::of(query);
    if !ctx.tokens.is_empty() {
        let mut terms = ctx.tokens.clone();
        terms.extend(FacetFilters::tokens_of(&entry));
        conds.push(sql.text_match(&terms));
    }
    let facets = if ctx.tokens.is_empty() {
        entry
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
    for (facet, value) in pole {
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
