//! The results of a search: the hits with their poles, read from the rows a plan selected.
//!
//! Invariant: every plan selects [`HIT_COLUMNS`] and a `tier`, so that one reader turns
//! the rows of either database into the same hits.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;

use super::params::{DirectoryKind, DirectoryQuery, MAX_ROWS};
use crate::store::entities::poles;
use crate::store::{Result, Store, StoreError};

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

/// The page a search asks for, and how far its matches are counted.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    /// 1-based.
    pub(super) page: u64,
    pub(super) per_page: u64,
    /// The matches before the page.
    pub(super) offset: u64,
    /// Matches are counted up to here: the end of the page or [`COUNT_CAP`], whichever is
    /// further, so that a common word does not make the database count the whole
    /// directory.
    pub(super) cap: u64,
}

impl Window {
    pub(super) fn of(query: &DirectoryQuery) -> Window {
        let per_page = query.per_page.clamp(1, MAX_ROWS);
        let page = query.page.max(1);
        let offset = (page - 1).saturating_mul(per_page);
        let cap = offset.saturating_add(per_page).max(COUNT_CAP);
        Window {
            page,
            per_page,
            offset,
            cap,
        }
    }

    /// A page with no hits, of `total` matches.
    pub(super) fn empty(self, total: u64, total_exact: bool) -> DirectoryResults {
        DirectoryResults {
            items: Vec::new(),
            page: self.page,
            per_page: self.per_page,
            total,
            total_exact,
        }
    }
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

/// The columns of a hit, as [`Store::hits`] reads them.
pub(super) const HIT_COLUMNS: &str = "d.kind, d.item_id, d.pole_id, d.local, d.title, d.summary, d.ap_id, \
     d.public_id, d.published_at, d.starts_at, d.ends_at, d.call_status, d.deadline";

/// Newest first, the ranking's last keys.
pub(super) const NEWEST: &str = "d.published_at DESC, d.item_id DESC, d.kind";

impl Store {
    /// The hits of rows selected with [`HIT_COLUMNS`] and a `tier`, with their poles.
    pub(super) async fn hits(
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
}
