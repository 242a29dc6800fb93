//! Remote actors one of our actors follows.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "following")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub local_actor: String,
    pub remote_actor_id: i64,
    #[sea_orm(column_type = "Text", unique)]
    pub follow_activity_id: String,
    /// `pending`, `accepted` or `rejected`.
    #[sea_orm(column_type = "Text")]
    pub state: String,
    /// A subscription to a relay: the `Follow` named the public collection.
    pub relay: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
