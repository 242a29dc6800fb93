//! The outgoing delivery queue: stored before sending, claimed by one worker at a time,
//! retried with backoff, resumed after a restart.
//!
//! Several processes may share one PostgreSQL database: a claim takes rows with
//! `FOR UPDATE SKIP LOCKED`, so no delivery is handed to two workers. SQLite runs one write
//! at a time, which gives the same guarantee. A claim is a lease: if its worker dies, the
//! delivery becomes claimable again when the lease ends.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, Set,
    Statement, prelude::Json,
};
use serde::Serialize;

use super::entities::{deliveries, delivery_domains, outgoing_activities};
use super::{Result, Store, StoreError};

/// How long a worker may hold a delivery before others may take it over, unless
/// `federation.delivery_lease_seconds` says otherwise.
pub const LEASE: Duration = Duration::minutes(5);
/// After this many failed attempts (about four days of backoff) a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 20;
/// A domain failing for this long is marked unreachable.
pub const UNREACHABLE_AFTER: Duration = Duration::days(2);
/// How often an unreachable domain is probed with one delivery.
pub const PROBE_EVERY: Duration = Duration::hours(6);

/// The wait before the next attempt: one minute, doubling, at most six hours.
pub fn backoff(attempts: i32) -> Duration {
    backoff_from(attempts, Duration::minutes(1))
}

/// The wait before the next attempt: `base`, doubling, at most six hours.
pub fn backoff_from(attempts: i32, base: Duration) -> Duration {
    let exponent = attempts.saturating_sub(1).clamp(0, 16) as u32;
    let seconds = base.num_seconds().max(1).saturating_mul(1i64 << exponent);
    Duration::seconds(seconds.min(6 * 3600))
}

/// How long a failing domain is left alone after a failure, when it has been failing for
/// `failing_for`: `base` after the first failure, then as long as it has been failing (the
/// wait doubles from one attempt to the next), at most [`PROBE_EVERY`].
pub fn domain_backoff(failing_for: Duration, base: Duration) -> Duration {
    failing_for.max(base).min(PROBE_EVERY)
}

/// A delivery handed to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    /// The activity to send: see [`Store::outgoing_activities`].
    pub activity: i64,
    pub inbox: String,
    pub domain: String,
    pub attempts: i32,
    /// Whether the domain's server was failing when the delivery was claimed.
    pub failing: bool,
}

/// A domain with deliveries due, from [`Store::due_domains_by_health`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDomain {
    pub domain: String,
    /// Whether its last attempt failed with an error worth retrying (no answer, 5xx, 429).
    pub failing: bool,
}

/// An activity to send, stored once for all its deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingActivity {
    pub id: i64,
    /// The activity's `id`.
    pub activity_id: String,
    /// The actor whose key signs it.
    pub signer: String,
    /// The document exactly as it is sent.
    pub body: String,
}

impl From<outgoing_activities::Model> for OutgoingActivity {
    fn from(m: outgoing_activities::Model) -> OutgoingActivity {
        OutgoingActivity {
            id: m.id,
            activity_id: m.activity_id,
            signer: m.signer,
            body: m.body,
        }
    }
}

/// How long delivered and abandoned deliveries are kept (for the queue's state per
/// domain), with the activities only they referred to.
pub const HISTORY_KEPT: Duration = Duration::days(14);

/// What came of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// A network error, a 5xx or a 429: worth trying again later.
    Retry(String),
    /// Any other 4xx: the receiver will never take it.
    Refused(String),
}

/// The queue of one destination domain. Ended deliveries are kept for [`HISTORY_KEPT`]:
/// `failed` and `delivered` count those of the last fourteen days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DomainQueueState {
    pub domain: String,
    pub pending: u64,
    pub failed: u64,
    pub delivered: u64,
    pub unreachable: bool,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
}

/// `host` or `host:port` of an inbox: deliveries are grouped by it.
pub fn inbox_domain(inbox: &url::Url) -> Option<String> {
    let host = inbox.host_str()?;
    Some(match inbox.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_ascii_lowercase(),
    })
}

/// What [`Store::enqueue`] queued: the activity as stored, and the deliveries added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub activity: OutgoingActivity,
    /// Deliveries added (an inbox already queued for this activity is not queued again).
    pub added: usize,
    /// The domains of the inboxes given, each once (also those whose inbox was queued
    /// before).
    pub domains: Vec<String>,
}

impl Store {
    /// Stores the activity once and one delivery of it per distinct inbox; an inbox already
    /// queued for this activity is skipped. Gives what was queued, for a sender to pass on
    /// to its delivery workers rather than have them read it back; `None` if there was no
    /// inbox.
    pub async fn enqueue(
        &self,
        activity_id: &str,
        signer: &str,
        body: &Json,
        inboxes: &[url::Url],
        now: DateTime<Utc>,
    ) -> Result<Option<Queued>> {
        let mut seen = std::collections::HashSet::new();
        let mut targets = Vec::new();
        for inbox in inboxes {
            if !seen.insert(inbox.as_str()) {
                continue;
            }
            let domain = inbox_domain(inbox)
                .ok_or_else(|| StoreError::Conflict(format!("inbox `{inbox}` names no host")))?;
            targets.push((inbox.to_string(), domain));
        }
        if targets.is_empty() {
            return Ok(None);
        }
        let mut domains: Vec<String> = targets.iter().map(|(_, d)| d.clone()).collect();
        domains.sort_unstable();
        domains.dedup();
        let document = serde_json::to_string(body)
            .map_err(|e| StoreError::Corrupt(format!("activity `{activity_id}`: {e}")))?;
        // One transaction, many rows per statement: a fan-out to thousands of inboxes is
        // queued in a few statements, and the activity itself is written once.
        let txn = self.write_txn().await?;
        let inserted = outgoing_activities::Entity::insert(outgoing_activities::ActiveModel {
            activity_id: Set(activity_id.to_owned()),
            signer: Set(signer.to_owned()),
            body: Set(document.clone()),
            created_at: Set(now),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::column(outgoing_activities::Column::ActivityId)
                .do_nothing()
                .to_owned(),
        )
        .exec(&txn)
        .await;
        let stored = match inserted {
            Ok(inserted) => OutgoingActivity {
                id: inserted.last_insert_id,
                activity_id: activity_id.to_owned(),
                signer: signer.to_owned(),
                body: document,
            },
            // Queued before (to other inboxes): its deliveries refer to the stored one.
            Err(sea_orm::DbErr::RecordNotInserted) => outgoing_activities::Entity::find()
                .filter(outgoing_activities::Column::ActivityId.eq(activity_id))
                .one(&txn)
                .await?
                .map(OutgoingActivity::from)
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("activity `{activity_id}` not stored"))
                })?,
            Err(e) => return Err(e.into()),
        };
        let activity = stored.id;
        let mut added = 0;
        let mut rows = targets.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<deliveries::ActiveModel> = rows
                .by_ref()
                .take(500)
                .map(|(inbox, domain)| deliveries::ActiveModel {
                    activity: Set(activity),
                    inbox: Set(inbox),
                    domain: Set(domain),
                    state: Set("pending".into()),
                    attempts: Set(0),
                    next_attempt_at: Set(now),
                    claimed_by: Set(None),
                    claimed_until: Set(None),
                    last_error: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                })
                .collect();
            let result = deliveries::Entity::insert_many(chunk)
                .on_conflict(
                    OnConflict::columns([deliveries::Column::Activity, deliveries::Column::Inbox])
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
            added += usize::try_from(result).unwrap_or(0);
        }
        txn.commit().await?;
        Ok(Some(Queued {
            activity: stored,
            added,
            domains,
        }))
    }

    /// The activities of these rows of `outgoing_activities` (those that exist).
    pub async fn outgoing_activities(&self, ids: &[i64]) -> Result<Vec<OutgoingActivity>> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows = outgoing_activities::Entity::find()
                .filter(outgoing_activities::Column::Id.is_in(chunk.iter().copied()))
                .all(&self.db)
                .await?;
            found.extend(rows.into_iter().map(OutgoingActivity::from));
        }
        Ok(found)
    }

    /// Forgets deliveries that ended (delivered or given up) before `before`, and the
    /// activities no delivery refers to any more. Returns how many deliveries went.
    pub async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        let txn = self.write_txn().await?;
        let gone = deliveries::Entity::delete_many()
            .filter(deliveries::Column::State.is_in(["done", "failed"]))
            .filter(deliveries::Column::UpdatedAt.lt(before))
            .exec(&txn)
            .await?
            .rows_affected;
        let mark = match self.backend {
            crate::config::Backend::Postgres => "$1",
            crate::config::Backend::Sqlite => "?1",
        };
        txn.execute_raw(Statement::from_sql_and_values(
            self.db_backend(),
            format!(
                "DELETE FROM outgoing_activities WHERE created_at < {mark} AND NOT EXISTS \
                 (SELECT 1 FROM deliveries d WHERE d.activity = outgoing_activities.id)"
            ),
            [before.into()],
        ))
        .await?;
        txn.commit().await?;
        Ok(gone)
    }

    /// Domains with deliveries due now, leaving out those whose server is failing until
    /// their next attempt falls due.
    pub async fn due_domains(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        Ok(self
            .due_domains_by_health(now)
            .await?
            .into_iter()
            .map(|due| due.domain)
            .collect())
    }

    /// Domains with deliveries due now, as [`Store::due_domains`], each with whether its
    /// server is failing: the workers keep those apart, so that they never hold up the others.
    pub async fn due_domains_by_health(&self, now: DateTime<Utc>) -> Result<Vec<DueDomain>> {
        let sql = match self.backend {
            crate::config::Backend::Postgres => {
                "SELECT DISTINCT d.domain, \
                   CASE WHEN h.failing_since IS NULL THEN 0 ELSE 1 END AS failing \
                 FROM deliveries d \
                 LEFT JOIN delivery_domains h ON h.domain = d.domain \
                 WHERE ((d.state = 'pending' AND d.next_attempt_at <= $1) \
                        OR (d.state = 'sending' AND d.claimed_until < $1)) \
                   AND (h.next_probe_at IS NULL OR h.next_probe_at <= $1)"
            }
            crate::config::Backend::Sqlite => {
                "SELECT DISTINCT d.domain, \
                   CASE WHEN h.failing_since IS NULL THEN 0 ELSE 1 END AS failing \
                 FROM deliveries d \
                 LEFT JOIN delivery_domains h ON h.domain = d.domain \
                 WHERE ((d.state = 'pending' AND d.next_attempt_at <= ?1) \
                        OR (d.state = 'sending' AND d.claimed_until < ?1)) \
                   AND (h.next_probe_at IS NULL OR h.next_probe_at <= ?1)"
            }
        };
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                self.db_backend(),
                sql,
                [now.into()],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DueDomain {
                    domain: r.try_get("", "domain")?,
                    failing: r.try_get::<i32>("", "failing")? != 0,
                })
            })
            .collect()
    }

    /// Takes up to `limit` due deliveries of one domain for `worker`, as a lease.
    /// An unreachable domain gives one delivery at a time, as a probe.
    pub async fn claim(
        &self,
        domain: &str,
        worker: &str,
        limit: u64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Delivery>> {
        self.claim_many(&[domain.to_owned()], worker, limit, now)
            .await
    }

    /// Takes, in one statement, up to `limit` due deliveries of each of `domains` for
    /// `worker`, as a lease: a fan-out to many instances claims its work in a few statements,
    /// not one per instance. An unreachable domain gives one delivery at a time, as a probe.
    /// The deliveries come ordered by domain, then as they were queued.
    pub async fn claim_many(
        &self,
        domains: &[String],
        worker: &str,
        limit: u64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Delivery>> {
        if domains.is_empty() {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
        let until = now + self.lease;
        // $1 worker, $2 lease end, $3 now, $4 limit per domain, then the domains.
        let mark = match self.backend {
            crate::config::Backend::Postgres => '$',
            crate::config::Backend::Sqlite => '?',
        };
        let list = (0..domains.len())
            .map(|n| format!("{mark}{}", 5 + n))
            .collect::<Vec<_>>()
            .join(", ");
        // Due now: pending and its time come, or claimed by a worker whose lease ended.
        let due = |t: &str| {
            format!(
                "(({t}state = 'pending' AND {t}next_attempt_at <= {mark}3) \
                 OR ({t}state = 'sending' AND {t}claimed_until < {mark}3))"
            )
        };
        // A failing domain is left alone until its next attempt falls due, whoever asks; an
        // unreachable one gives a single delivery then, as a probe.
        let ranked = format!(
            "SELECT id FROM (SELECT d.id AS id, \
               row_number() OVER (PARTITION BY d.domain ORDER BY d.next_attempt_at, d.id) AS n, \
               CASE WHEN h.unreachable THEN 1 ELSE {mark}4 END AS cap \
             FROM deliveries d LEFT JOIN delivery_domains h ON h.domain = d.domain \
             WHERE d.domain IN ({list}) AND {} \
               AND (h.next_probe_at IS NULL OR h.next_probe_at <= {mark}3)) \
             ranked WHERE n <= cap",
            due("d.")
        );
        let chosen = match self.backend {
            // The ranking reads without locks; the rows are then locked, skipping those
            // another process holds, and checked again as they are now.
            crate::config::Backend::Postgres => format!(
                "SELECT id FROM deliveries WHERE id IN ({ranked}) AND {} FOR UPDATE SKIP LOCKED",
                due("")
            ),
            // SQLite runs one write at a time: nothing can change between the two.
            crate::config::Backend::Sqlite => ranked,
        };
        let sql = format!(
            "UPDATE deliveries SET state = 'sending', claimed_by = {mark}1, claimed_until = {mark}2, \
             updated_at = {mark}3 WHERE id IN ({chosen}) \
             RETURNING id, activity, inbox, domain, attempts, \
               CASE WHEN EXISTS (SELECT 1 FROM delivery_domains h \
                 WHERE h.domain = deliveries.domain AND h.failing_since IS NOT NULL) \
               THEN 1 ELSE 0 END AS failing"
        );
        let mut values: Vec<sea_orm::Value> =
            vec![worker.into(), until.into(), now.into(), limit.into()];
        values.extend(domains.iter().map(|d| d.as_str().into()));
        let statement = Statement::from_sql_and_values(self.db_backend(), sql, values);
        // The columns are named: a statement prepared on a connection that has not seen a
        // migration yet could otherwise keep the columns of the table's old shape.
        let rows = self.db.query_all_raw(statement).await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            claimed.push(Delivery {
                id: row.try_get("", "id")?,
                activity: row.try_get("", "activity")?,
                inbox: row.try_get("", "inbox")?,
                domain: row.try_get("", "domain")?,
                attempts: row.try_get("", "attempts")?,
                failing: row.try_get::<i32>("", "failing")? != 0,
            });
        }
        claimed.sort_by(|a, b| a.domain.cmp(&b.domain).then(a.id.cmp(&b.id)));
        Ok(claimed)
    }

    /// Records the outcome of an attempt by `worker`; a lease that passed to another worker is
    /// left to that worker.
    pub async fn finish(
        &self,
        id: i64,
        worker: &str,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if *outcome == Outcome::Delivered {
            // The common case in one statement, then the domain's health in another.
            let sql = match self.backend {
                crate::config::Backend::Postgres => {
                    "UPDATE deliveries SET state = 'done', attempts = attempts + 1, claimed_by = NULL, \
                     claimed_until = NULL, last_error = NULL, updated_at = $1 \
                     WHERE id = $2 AND claimed_by = $3 AND state = 'sending' RETURNING domain"
                }
                crate::config::Backend::Sqlite => {
                    "UPDATE deliveries SET state = 'done', attempts = attempts + 1, claimed_by = NULL, \
                     claimed_until = NULL, last_error = NULL, updated_at = ?1 \
                     WHERE id = ?2 AND claimed_by = ?3 AND state = 'sending' RETURNING domain"
                }
            };
            let row = self
                .db
                .query_one_raw(Statement::from_sql_and_values(
                    self.db_backend(),
                    sql,
                    [now.into(), id.into(), worker.into()],
                ))
                .await?;
            if let Some(row) = row {
                let domain: String = row.try_get("", "domain")?;
                self.record_domain_health(&domain, outcome, now).await?;
            }
            return Ok(());
        }
        let Some(model) = deliveries::Entity::find_by_id(id)
            .filter(deliveries::Column::ClaimedBy.eq(worker))
            .filter(deliveries::Column::State.eq("sending"))
            .one(&self.db)
            .await?
        else {
            return Ok(());
        };
        let domain = model.domain.clone();
        let attempts = model.attempts + 1;
        let mut am = model.into_active_model();
        am.attempts = Set(attempts);
        am.claimed_by = Set(None);
        am.claimed_until = Set(None);
        am.updated_at = Set(now);
        match outcome {
            Outcome::Retry(error) if attempts < MAX_ATTEMPTS => {
                am.state = Set("pending".into());
                am.next_attempt_at = Set(now + backoff_from(attempts, self.retry_base));
                am.last_error = Set(Some(error.clone()));
            }
            Outcome::Retry(error) | Outcome::Refused(error) => {
                am.state = Set("failed".into());
                am.last_error = Set(Some(error.clone()));
            }
            Outcome::Delivered => {}
        }
        sea_orm::ActiveModelTrait::update(am, &self.db).await?;
        self.record_domain_health(&domain, outcome, now).await
    }

    /// Records that the deliveries `ids`, to the given domains, were delivered: the
    /// queue's common case, written for many deliveries at once in two statements.
    /// Deliveries whose lease passed to another worker are left to that worker.
    pub async fn finish_delivered(
        &self,
        ids: &[i64],
        domains: &[String],
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        use sea_orm::sea_query::{Expr, ExprTrait};
        if ids.is_empty() {
            return Ok(());
        }
        // One transaction: one commit for the whole batch.
        let txn = self.write_txn().await?;
        for chunk in ids.chunks(500) {
            deliveries::Entity::update_many()
                .col_expr(deliveries::Column::State, Expr::value("done"))
                .col_expr(
                    deliveries::Column::Attempts,
                    Expr::col(deliveries::Column::Attempts).add(1),
                )
                .col_expr(deliveries::Column::ClaimedBy, Expr::value(None::<String>))
                .col_expr(
                    deliveries::Column::ClaimedUntil,
                    Expr::value(None::<DateTime<Utc>>),
                )
                .col_expr(deliveries::Column::LastError, Expr::value(None::<String>))
                .col_expr(deliveries::Column::UpdatedAt, Expr::value(now))
                .filter(deliveries::Column::Id.is_in(chunk.iter().copied()))
                .filter(deliveries::Column::ClaimedBy.eq(worker))
                .filter(deliveries::Column::State.eq("sending"))
                .exec(&txn)
                .await?;
        }
        let mut domains: Vec<&String> = domains.iter().collect();
        domains.sort();
        domains.dedup();
        for chunk in domains.chunks(500) {
            // A success resets the domain's health whatever it was: no need to read it.
            let rows = chunk.iter().map(|domain| delivery_domains::ActiveModel {
                domain: Set((*domain).clone()),
                failing_since: Set(None),
                unreachable: Set(false),
                next_probe_at: Set(None),
                last_success_at: Set(Some(now)),
                last_failure_at: sea_orm::ActiveValue::NotSet,
            });
            delivery_domains::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::column(delivery_domains::Column::Domain)
                        .update_columns([
                            delivery_domains::Column::FailingSince,
                            delivery_domains::Column::Unreachable,
                            delivery_domains::Column::NextProbeAt,
                            delivery_domains::Column::LastSuccessAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    async fn record_domain_health(
        &self,
        domain: &str,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if *outcome == Outcome::Delivered {
            // A success resets the domain's health whatever it was: no need to read it.
            let am = delivery_domains::ActiveModel {
                domain: Set(domain.to_owned()),
                failing_since: Set(None),
                unreachable: Set(false),
                next_probe_at: Set(None),
                last_success_at: Set(Some(now)),
                last_failure_at: sea_orm::ActiveValue::NotSet,
            };
            delivery_domains::Entity::insert(am)
                .on_conflict(
                    OnConflict::column(delivery_domains::Column::Domain)
                        .update_columns([
                            delivery_domains::Column::FailingSince,
                            delivery_domains::Column::Unreachable,
                            delivery_domains::Column::NextProbeAt,
                            delivery_domains::Column::LastSuccessAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(&self.db)
                .await?;
            return Ok(());
        }
        let current = delivery_domains::Entity::find_by_id(domain.to_owned())
            .one(&self.db)
            .await?;
        let mut health = current.clone().unwrap_or(delivery_domains::Model {
            domain: domain.to_owned(),
            failing_since: None,
            unreachable: false,
            next_probe_at: None,
            last_success_at: None,
            last_failure_at: None,
        });
        match outcome {
            // A refusal is an answer: the server is up.
            Outcome::Delivered | Outcome::Refused(_) => {
                health.failing_since = None;
                health.unreachable = false;
                health.next_probe_at = None;
                if *outcome == Outcome::Delivered {
                    health.last_success_at = Some(now);
                }
            }
            Outcome::Retry(_) => {
                let since = *health.failing_since.get_or_insert(now);
                health.last_failure_at = Some(now);
                if now - since >= UNREACHABLE_AFTER {
                    health.unreachable = true;
                }
                // The whole domain waits, not only this delivery: what is queued for it
                // since, and what is queued next, is not sent to a server that does not
                // answer until it is tried again.
                health.next_probe_at = Some(now + domain_backoff(now - since, self.retry_base));
            }
        }
        let am = delivery_domains::ActiveModel {
            domain: Set(health.domain.clone()),
            failing_since: Set(health.failing_since),
            unreachable: Set(health.unreachable),
            next_probe_at: Set(health.next_probe_at),
            last_success_at: Set(health.last_success_at),
            last_failure_at: Set(health.last_failure_at),
        };
        if current.is_some() {
            delivery_domains::Entity::update(am).exec(&self.db).await?;
        } else {
            delivery_domains::Entity::insert(am)
                .on_conflict(
                    OnConflict::column(delivery_domains::Column::Domain)
                        .update_columns([
                            delivery_domains::Column::FailingSince,
                            delivery_domains::Column::Unreachable,
                            delivery_domains::Column::NextProbeAt,
                            delivery_domains::Column::LastSuccessAt,
                            delivery_domains::Column::LastFailureAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(&self.db)
                .await?;
        }
        Ok(())
    }

    /// Hands back the deliveries `worker` still holds (on shutdown), so that any process
    /// may send them at once instead of waiting for the lease to end.
    pub async fn release_claims(&self, worker: &str) -> Result<u64> {
        let result = deliveries::Entity::update_many()
            .col_expr(
                deliveries::Column::State,
                sea_orm::sea_query::Expr::value("pending"),
            )
            .col_expr(
                deliveries::Column::ClaimedBy,
                sea_orm::sea_query::Expr::value(Option::<String>::None),
            )
            .col_expr(
                deliveries::Column::ClaimedUntil,
                sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(deliveries::Column::ClaimedBy.eq(worker))
            .filter(deliveries::Column::State.eq("sending"))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected)
    }

    /// When the oldest delivery still to send was queued.
    pub async fn oldest_pending_delivery(&self) -> Result<Option<DateTime<Utc>>> {
        use sea_orm::{EntityTrait, QueryFilter, QueryOrder, QuerySelect};
        let oldest = super::entities::deliveries::Entity::find()
            .filter(super::entities::deliveries::Column::State.eq("pending"))
            .order_by_asc(super::entities::deliveries::Column::CreatedAt)
            .limit(1)
            .one(&self.db)
            .await?;
        Ok(oldest.map(|d| d.created_at))
    }

    /// The queue's state per destination domain, for administrators.
    pub async fn queue_state(&self) -> Result<Vec<DomainQueueState>> {
        let rows = self
            .db
            .query_all_raw(Statement::from_string(
                self.db_backend(),
                "SELECT domain, state, COUNT(*) AS n FROM deliveries GROUP BY domain, state ORDER BY domain",
            ))
            .await?;
        let health = delivery_domains::Entity::find().all(&self.db).await?;
        let mut states: Vec<DomainQueueState> = Vec::new();
        for row in rows {
            let domain: String = row.try_get("", "domain")?;
            let state: String = row.try_get("", "state")?;
            let n: i64 = row.try_get("", "n")?;
            if states.last().is_none_or(|s| s.domain != domain) {
                let h = health.iter().find(|h| h.domain == domain);
                states.push(DomainQueueState {
                    domain: domain.clone(),
                    pending: 0,
                    failed: 0,
                    delivered: 0,
                    unreachable: h.is_some_and(|h| h.unreachable),
                    failing_since: h.and_then(|h| h.failing_since),
                    last_success_at: h.and_then(|h| h.last_success_at),
                });
            }
            if let Some(s) = states.last_mut() {
                let n = u64::try_from(n).unwrap_or(0);
                match state.as_str() {
                    "done" => s.delivered += n,
                    "failed" => s.failed += n,
                    _ => s.pending += n,
                }
            }
        }
        Ok(states)
    }

    fn db_backend(&self) -> DbBackend {
        match self.backend {
            crate::config::Backend::Postgres => DbBackend::Postgres,
            crate::config::Backend::Sqlite => DbBackend::Sqlite,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_six_hours() {
        assert_eq!(backoff(1), Duration::minutes(1));
        assert_eq!(backoff(2), Duration::minutes(2));
        assert_eq!(backoff(5), Duration::minutes(16));
        assert_eq!(backoff(12), Duration::hours(6));
        assert_eq!(backoff(MAX_ATTEMPTS), Duration::hours(6));
        let total: i64 = (1..MAX_ATTEMPTS).map(|a| backoff(a).num_hours()).sum();
        assert!(
            (2 * 24..7 * 24).contains(&total),
            "a delivery is retried for days: {total} h"
        );
    }
}
