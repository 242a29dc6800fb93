//! Domains an administrator blocked, and forgetting what came from a domain when it is
//! blocked.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::Serialize;

use super::entities::{
    deliveries, domain_blocks, followers, poles, reactions, remote_actors, replies,
};
use super::{Result, Store, StoreError};

/// A domain blocked by an administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DomainBlockRecord {
    pub id: i64,
    /// Blocked with its subdomains.
    pub domain: String,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The administrator who blocked it; none when it was blocked from the command line.
    pub created_by: Option<String>,
}

fn record(m: domain_blocks::Model) -> DomainBlockRecord {
    DomainBlockRecord {
        id: m.id,
        domain: m.domain,
        reason: m.reason,
        created_at: m.created_at,
        created_by: m.created_by,
    }
}

/// What blocking a domain removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForgottenDomain {
    /// Followers (of poles and of the instance) removed.
    pub followers: u64,
    pub reactions: u64,
    pub replies: u64,
    /// Deliveries that were waiting to be sent there, now given up.
    pub deliveries: u64,
    /// The live remote poles of the domain, still to be deleted one by one.
    pub poles: Vec<String>,
    /// The domain's actors, whose relayed poles are still to be forgotten.
    pub actors: Vec<String>,
}

/// Rows whose `host` or `host:port` column is `domain` or one of its subdomains. `domain`
/// comes from `parse_domain`: letters, digits, `-` and `.` only, so no `LIKE` wildcard.
fn on_domain(column: impl ColumnTrait + Copy, domain: &str) -> Condition {
    Condition::any()
        .add(column.eq(domain))
        .add(column.like(format!("%.{domain}")))
        .add(column.like(format!("{domain}:%")))
        .add(column.like(format!("%.{domain}:%")))
}

impl Store {
    /// Stores a block; a domain already blocked is a conflict.
    pub async fn add_domain_block(
        &self,
        domain: &str,
        reason: Option<&str>,
        created_by: Option<&str>,
    ) -> Result<DomainBlockRecord> {
        let am = domain_blocks::ActiveModel {
            domain: Set(domain.to_owned()),
            reason: Set(reason.map(str::to_owned)),
            created_at: Set(Utc::now()),
            created_by: Set(created_by.map(str::to_owned)),
            ..Default::default()
        };
        let inserted = domain_blocks::Entity::insert(am)
            .on_conflict(
                OnConflict::column(domain_blocks::Column::Domain)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "the domain `{domain}` is already blocked"
            )));
        }
        self.domain_block(domain)
            .await?
            .ok_or_else(|| StoreError::Corrupt("domain block not stored".into()))
    }

    pub async fn domain_block(&self, domain: &str) -> Result<Option<DomainBlockRecord>> {
        Ok(domain_blocks::Entity::find()
            .filter(domain_blocks::Column::Domain.eq(domain))
            .one(&self.db)
            .await?
            .map(record))
    }

    /// Removes a block; `false` if the domain was not blocked.
    pub async fn remove_domain_block(&self, domain: &str) -> Result<bool> {
        Ok(domain_blocks::Entity::delete_many()
            .filter(domain_blocks::Column::Domain.eq(domain))
            .exec(&self.db)
            .await?
            .rows_affected
            > 0)
    }

    /// Every stored block, by domain.
    pub async fn domain_blocks(&self) -> Result<Vec<DomainBlockRecord>> {
        Ok(domain_blocks::Entity::find()
            .order_by_asc(domain_blocks::Column::Domain)
            .all(&self.db)
            .await?
            .into_iter()
            .map(record)
            .collect())
    }

    /// Removes the followers, likes and boosts of the actors of `domain` (and its
    /// subdomains) and hides their replies; gives back the domain's remote poles and actors.
    pub async fn forget_domain(&self, domain: &str) -> Result<ForgottenDomain> {
        let actors_of_domain = Query::select()
            .column(remote_actors::Column::Id)
            .from(remote_actors::Entity)
            .cond_where(on_domain(remote_actors::Column::Domain, domain))
            .to_owned();
        let txn = self.write_txn().await?;
        let followers = followers::Entity::delete_many()
            .filter(followers::Column::RemoteActorId.in_subquery(actors_of_domain.clone()))
            .exec(&txn)
            .await?
            .rows_affected;
        let reactions = reactions::Entity::delete_many()
            .filter(reactions::Column::RemoteActorId.in_subquery(actors_of_domain.clone()))
            .exec(&txn)
            .await?
            .rows_affected;
        let replies = replies::Entity::update_many()
            .col_expr(replies::Column::DeletedAt, Expr::value(Utc::now()))
            .filter(replies::Column::RemoteActorId.in_subquery(actors_of_domain))
            .filter(replies::Column::DeletedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        // Those a worker holds right now are refused when it tries them.
        let now = Utc::now();
        let deliveries = deliveries::Entity::update_many()
            .col_expr(deliveries::Column::State, Expr::value("failed"))
            .col_expr(
                deliveries::Column::LastError,
                Expr::value(format!("the domain {domain} is blocked")),
            )
            .col_expr(deliveries::Column::UpdatedAt, Expr::value(now))
            .filter(on_domain(deliveries::Column::Domain, domain))
            .filter(deliveries::Column::State.eq("pending"))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        let poles = poles::Entity::find()
            .select_only()
            .column(poles::Column::ApId)
            .filter(on_domain(poles::Column::Domain, domain))
            .filter(poles::Column::Local.eq(false))
            .filter(poles::Column::DeletedAt.is_null())
            .into_tuple::<String>()
            .all(&self.db)
            .await?;
        let actors = remote_actors::Entity::find()
            .select_only()
            .column(remote_actors::Column::ApId)
            .filter(on_domain(remote_actors::Column::Domain, domain))
            .into_tuple::<String>()
            .all(&self.db)
            .await?;
        Ok(ForgottenDomain {
            followers,
            reactions,
            replies,
            deliveries,
            poles,
            actors,
        })
    }
}
