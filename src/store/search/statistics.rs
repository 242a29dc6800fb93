//! Figures over the directory: poles per région, pooling, members by legal form and size,
//! events per month, open calls by theme.
//!
//! Invariant: the figures honour the same filters as a search, through the same
//! conditions (`conditions.rs`), so a page's figures describe what its search lists.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Statement};
use serde::Serialize;

use super::conditions::{Context, push_conditions};
use super::params::{CallState, DirectoryKind, DirectoryQuery};
use super::sql::Sql;
use super::text::{POOLING, REGION};
use crate::domain::territory_ref::Reference;
use crate::domain::vocab::{EmployeeBand, LegalForm, PoolingKind, Theme};
use crate::store::{Result, Store};

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
    crate::domain::calendar::month_in_words(code, &crate::domain::calendar::FRENCH_MONTHS)
        .unwrap_or_else(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_named_in_french() {
        assert_eq!(month_label("2026-08"), "août 2026");
        assert_eq!(month_label("bad"), "bad");
    }
}
