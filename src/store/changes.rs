//! The change history: one row per create, update or delete of what a pole publishes.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set, prelude::Json};

use super::Result;
use super::entities::changes;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn id(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

pub(crate) struct Change<'a> {
    pub pole_id: i64,
    pub kind: &'a str,
    pub object_id: i64,
    pub ap_id: Option<&'a str>,
    pub action: Action,
    pub version: i32,
    pub snapshot: Option<Json>,
}

pub(crate) async fn record(db: &impl ConnectionTrait, change: Change<'_>) -> Result<()> {
    changes::ActiveModel {
        pole_id: Set(change.pole_id),
        object_kind: Set(change.kind.to_owned()),
        object_id: Set(change.object_id),
        object_ap_id: Set(change.ap_id.map(str::to_owned)),
        action: Set(change.action.id().to_owned()),
        version: Set(change.version),
        snapshot: Set(change.snapshot),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One row of the history, as federation lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    pub id: i64,
    pub pole_id: i64,
    pub kind: String,
    pub object_id: i64,
    pub ap_id: Option<String>,
    pub action: String,
    pub version: i32,
    pub created_at: chrono::DateTime<Utc>,
}

impl super::Store {
    /// What a pole, member or object was at `version`, as its history recorded it.
    pub async fn snapshot_at(
        &self,
        kind: &str,
        object_id: i64,
        version: i32,
    ) -> Result<Option<serde_json::Value>> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        Ok(changes::Entity::find()
            .filter(changes::Column::ObjectKind.eq(kind))
            .filter(changes::Column::ObjectId.eq(object_id))
            .filter(changes::Column::Version.eq(version))
            .one(self.connection())
            .await?
            .and_then(|m| m.snapshot))
    }

    /// The history of a pole's objects of the given kinds, newest first.
    pub async fn list_changes(
        &self,
        pole_id: i64,
        kinds: &[&str],
        page: super::PageRequest,
    ) -> Result<super::Page<ChangeRecord>> {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
        let paginator = changes::Entity::find()
            .filter(changes::Column::PoleId.eq(pole_id))
            .filter(changes::Column::ObjectKind.is_in(kinds.iter().copied()))
            .order_by_desc(changes::Column::Id)
            .paginate(self.connection(), page.per_page);
        let total = paginator.num_items().await?;
        let items = paginator
            .fetch_page(page.page.saturating_sub(1))
            .await?
            .into_iter()
            .map(|m| ChangeRecord {
                id: m.id,
                pole_id: m.pole_id,
                kind: m.object_kind,
                object_id: m.object_id,
                ap_id: m.object_ap_id,
                action: m.action,
                version: m.version,
                created_at: m.created_at,
            })
            .collect();
        Ok(super::Page {
            items,
            page: page.page,
            per_page: page.per_page,
            total,
        })
    }
}

impl super::Store {
    /// When the last project, event or call of a local pole was created, changed or
    /// deleted: the instance's last publication.
    pub async fn last_publication(&self) -> Result<Option<chrono::DateTime<Utc>>> {
        use sea_orm::sea_query::Query;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

        use super::entities::poles;
        let local_poles = Query::select()
            .column(poles::Column::Id)
            .from(poles::Entity)
            .and_where(poles::Column::Local.eq(true))
            .to_owned();
        Ok(changes::Entity::find()
            .filter(changes::Column::ObjectKind.is_in(["project", "event", "call"]))
            .filter(changes::Column::PoleId.in_subquery(local_poles))
            .order_by_desc(changes::Column::Id)
            .limit(1)
            .one(self.connection())
            .await?
            .map(|c| c.created_at))
    }

    /// The digest of the last `Group` document a pole published, if any.
    pub async fn pole_published_digest(&self, pole_id: i64) -> Result<Option<String>> {
        use sea_orm::EntityTrait;

        use super::entities::poles;
        Ok(poles::Entity::find_by_id(pole_id)
            .one(self.connection())
            .await?
            .and_then(|p| p.published_digest))
    }

    /// Notes the digest of the `Group` document a pole just published.
    pub async fn set_pole_published_digest(&self, pole_id: i64, digest: &str) -> Result<()> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

        use super::entities::poles;
        poles::Entity::update_many()
            .col_expr(poles::Column::PublishedDigest, Expr::value(digest))
            .filter(poles::Column::Id.eq(pole_id))
            .exec(self.connection())
            .await?;
        Ok(())
    }
}
