//! Replies from other servers to a pole's projects, events and calls.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "replies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text", unique)]
    pub ap_id: String,
    pub pole_id: i64,
    #[sea_orm(column_type = "Text")]
    pub object_kind: String,
    pub object_id: i64,
    pub remote_actor_id: i64,
    /// Sanitised HTML.
    #[sea_orm(column_type = "Text")]
    pub content_html: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub url: Option<String>,
    /// `visible`, `pending` (awaiting the pole's approval) or `rejected`.
    #[sea_orm(column_type = "Text")]
    pub state: String,
    pub published_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
