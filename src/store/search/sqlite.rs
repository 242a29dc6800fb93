//! SQLite's own plans: searches with words answered from the text index a group of the
//! ranking at a time, pages ranked in the keys index, and the choice of an index to walk.
//!
//! They exist because SQLite, unlike PostgreSQL, does not pick these plans by itself; the
//! shared plan in `plan.rs` calls them. Invariant: each gives the same rows, in the same
//! order, as the shared plan would for the same query.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::conditions::{Context, FacetFilters};
use super::params::{DirectoryKind, DirectoryOrder, DirectoryQuery};
use super::results::{DirectoryResults, HIT_COLUMNS, NEWEST, Window};
use super::sql::{Sql, fts_all, fts_token};
use super::text::{kind_token, title_token};
use crate::store::{Result, Store};

/// The index of the directory's filter and ranking keys by row id (SQLite), as a hint.
pub(super) const KEYS_INDEX: &str = " INDEXED BY idx_directory_keys";

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
        let facets = FacetFilters::of(query);
        let mut filters: Vec<String> = FacetFilters::tokens_of(&facets.entry)
            .iter()
            .map(|t| fts_token(t))
            .collect();
        if kinds.len() < DirectoryKind::ALL.len() {
            let any: Vec<String> = kinds
                .iter()
                .map(|k| fts_token(&kind_token(k.id())))
                .collect();
            filters.push(format!("({})", any.join(" OR ")));
        }
        let words = ctx.tokens.iter().map(|t| fts_token(t));
        let titled: Vec<String> = ctx
            .tokens
            .iter()
            .map(|t| fts_token(&title_token(t)))
            .collect();
        let all = fts_all(words.chain(filters.clone()));
        let in_title = fts_all(titled.iter().cloned().chain(filters));
        let elsewhere = format!("({all}) NOT ({})", fts_all(titled));
        TextTerms {
            all,
            in_title,
            elsewhere,
        }
    }
}

/// Whether SQLite answers `query` from the text index alone: words, ranked by relevance
/// without upcoming events first, and only filters the text index holds.
pub(super) fn text_index_answers(
    backend: DbBackend,
    query: &DirectoryQuery,
    words: bool,
    upcoming_first: bool,
) -> bool {
    backend == DbBackend::Sqlite
        && words
        && query.order == DirectoryOrder::Relevance
        && !upcoming_first
        && query.only_indexed_filters()
}

/// The index SQLite walks, stopping at the end of the page, for many matches in an order
/// an index keeps, rather than sorting every match.
pub(super) fn walked_index(
    backend: DbBackend,
    query: &DirectoryQuery,
    kinds: &[DirectoryKind],
    words: bool,
    total_exact: bool,
    upcoming_first: bool,
) -> Option<&'static str> {
    match query.order {
        _ if backend != DbBackend::Sqlite || words || total_exact || query.pole.is_some() => None,
        DirectoryOrder::Relevance if !upcoming_first => Some(if kinds.len() == 1 {
            "idx_directory_kind_published"
        } else {
            "idx_directory_published"
        }),
        DirectoryOrder::Updated => Some("idx_directory_updated"),
        _ => None,
    }
}

impl Store {
    /// One page of a search SQLite answers from the text index, a group of the ranking at
    /// a time (see [`text_index_answers`]).
    pub(super) async fn text_index_search(
        &self,
        query: &DirectoryQuery,
        kinds: &[DirectoryKind],
        ctx: &Context,
        window: Window,
    ) -> Result<DirectoryResults> {
        let (per_page, offset) = (window.per_page, window.offset);
        let terms = TextTerms::new(query, kinds, ctx);
        let counted = self.text_count(&terms.all, Some(window.cap + 1)).await?;
        let total_exact = counted <= window.cap;
        if counted == 0 || offset >= counted {
            return Ok(window.empty(counted, total_exact));
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
        Ok(DirectoryResults {
            items: self.hits(rows, true).await?,
            page: window.page,
            per_page,
            total: counted,
            total_exact,
        })
    }

    /// The directory rows (with [`HIT_COLUMNS`] and tier 0) of the ids of `ranked`, rows
    /// read with an `entry_id` column, in their order.
    pub(super) async fn rows_by_id(
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
}
