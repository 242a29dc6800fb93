//! Copies of other instances' poles and objects that have not been read from their origin
//! for a while, for the refresh to fetch again.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entities::{calls, events, poles, projects};
use super::{Kind, Result, Store};

/// What a stale copy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    Pole,
    Object(Kind),
}

/// A copy of another instance's pole or object, not refreshed since a given time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleCopy {
    pub kind: CopyKind,
    pub ap_id: String,
    /// The pole itself, or the pole the object belongs to.
    pub pole_id: i64,
    pub pole_ap_id: String,
    /// The origin's domain (`host` or `host:port`), for per-domain spacing.
    pub domain: String,
}

/// When a copy was last read from its origin: its `refreshed_at`, or for rows older than
/// that column, when it was last written.
fn last_read(refreshed_at: impl Into<Expr>, updated_at: impl Into<Expr>) -> Expr {
    Expr::expr(Func::coalesce([refreshed_at.into(), updated_at.into()]))
}

impl Store {
    /// Live poles of other instances not read from their origin since `before`, the longest
    /// unread first, leaving out the domains in `skip`.
    pub async fn stale_remote_poles(
        &self,
        before: DateTime<Utc>,
        skip: &[String],
        limit: u64,
    ) -> Result<Vec<StaleCopy>> {
        let read = || {
            last_read(
                Expr::col(poles::Column::RefreshedAt),
                Expr::col(poles::Column::UpdatedAt),
            )
        };
        Ok(poles::Entity::find()
            .filter(poles::Column::Local.eq(false))
            .filter(poles::Column::DeletedAt.is_null())
            .filter(poles::Column::Domain.is_not_in(skip.iter().cloned()))
            .filter(read().lt(before))
            .order_by(read(), sea_orm::Order::Asc)
            .order_by_asc(poles::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| StaleCopy {
                kind: CopyKind::Pole,
                pole_id: p.id,
                pole_ap_id: p.ap_id.clone(),
                ap_id: p.ap_id,
                domain: p.domain,
            })
            .collect())
    }

    /// Live objects of one kind, of live poles of other instances, not read from their
    /// origin since `before`, the longest unread first, leaving out the domains in `skip`.
    pub async fn stale_remote_objects(
        &self,
        kind: Kind,
        before: DateTime<Utc>,
        skip: &[String],
        limit: u64,
    ) -> Result<Vec<StaleCopy>> {
        let poles_here = Query::select()
            .column(poles::Column::Id)
            .from(poles::Entity)
            .and_where(poles::Column::Local.eq(false))
            .and_where(poles::Column::DeletedAt.is_null())
            .and_where(poles::Column::Domain.is_not_in(skip.iter().cloned()))
            .to_owned();
        macro_rules! stale {
            ($entity:ident) => {{
                let read = || {
                    last_read(
                        Expr::col($entity::Column::RefreshedAt),
                        Expr::col($entity::Column::UpdatedAt),
                    )
                };
                $entity::Entity::find()
                    .filter($entity::Column::Local.eq(false))
                    .filter($entity::Column::DeletedAt.is_null())
                    .filter($entity::Column::PoleId.in_subquery(poles_here))
                    .filter(read().lt(before))
                    .order_by(read(), sea_orm::Order::Asc)
                    .order_by_asc($entity::Column::Id)
                    .limit(limit)
                    .all(&self.db)
                    .await?
                    .into_iter()
                    .map(|o| (o.ap_id, o.pole_id))
                    .collect::<Vec<_>>()
            }};
        }
        let objects = match kind {
            Kind::Project => stale!(projects),
            Kind::Event => stale!(events),
            Kind::Call => stale!(calls),
        };
        let pole_ids: Vec<i64> = objects.iter().map(|(_, pole)| *pole).collect();
        let poles: HashMap<i64, poles::Model> = poles::Entity::find()
            .filter(poles::Column::Id.is_in(pole_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        Ok(objects
            .into_iter()
            .filter_map(|(ap_id, pole_id)| {
                let pole = poles.get(&pole_id)?;
                Some(StaleCopy {
                    kind: CopyKind::Object(kind),
                    ap_id,
                    pole_id,
                    pole_ap_id: pole.ap_id.clone(),
                    domain: pole.domain.clone(),
                })
            })
            .collect())
    }

    /// Notes that a copy was just read from its origin (and found unchanged, or not to be
    /// taken), so that it is not fetched again before its time.
    pub async fn mark_refreshed(&self, copy: &StaleCopy) -> Result<()> {
        let now = Utc::now();
        macro_rules! touch {
            ($entity:ident) => {
                $entity::Entity::update_many()
                    .col_expr($entity::Column::RefreshedAt, Expr::value(now))
                    .filter($entity::Column::ApId.eq(&copy.ap_id))
                    .filter($entity::Column::Local.eq(false))
                    .exec(&self.db)
                    .await?
            };
        }
        match copy.kind {
            CopyKind::Pole => touch!(poles),
            CopyKind::Object(Kind::Project) => touch!(projects),
            CopyKind::Object(Kind::Event) => touch!(events),
            CopyKind::Object(Kind::Call) => touch!(calls),
        };
        Ok(())
    }
}
