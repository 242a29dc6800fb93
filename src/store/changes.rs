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
