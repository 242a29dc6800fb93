//! The plan of a search both databases run: count the matches (up to a cap), then rank
//! one page of them.
//!
//! PostgreSQL runs it for every search, planning each statement with its values; SQLite
//! runs it with the index hints of `sqlite.rs`, or hands the search to one of its own
//! plans there. Invariant: the ranking is written once, so that both databases return
//! the same hits in the same order.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend};

use super::conditions::{Context, push_conditions, starts_from_facet};
use super::params::{DirectoryKind, DirectoryOrder, DirectoryQuery};
use super::results::{DirectoryResults, HIT_COLUMNS, NEWEST, Window};
use super::sql::Sql;
use super::sqlite::{KEYS_INDEX, text_index_answers, walked_index};
use crate::store::{Result, Store};

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
        let window = Window::of(query);
        let Window {
            page,
            per_page,
            offset,
            cap,
        } = window;
        let words = !ctx.tokens.is_empty();
        let upcoming_first = query.upcoming && kinds.contains(&DirectoryKind::Event);

        // SQLite: words with filters the text index holds are answered from the text
        // index, a group of the ranking at a time.
        if text_index_answers(backend, query, words, upcoming_first) {
            return self.text_index_search(query, &kinds, &ctx, window).await;
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
            return Ok(window.empty(total, total_exact));
        }

        // Many matches in an order an index keeps: SQLite walks that index and stops at the
        // end of the page, checking each row, rather than sorting every match.
        let walk = walked_index(backend, query, &kinds, words, total_exact, upcoming_first);

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
}
