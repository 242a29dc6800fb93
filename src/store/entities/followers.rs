//! Remote actors following one of our actors (a pole, or the instance).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "followers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub local_actor: String,
    pub pole_id: Option<i64>,
    pub remote_actor_id: i64,
    #[sea_orm(column_type = "Text")]
    pub follow_activity_id: String,
    /// `pending` until the pole approves, then `accepted`.
    #[sea_orm(column_type = "Text")]
    pub state: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
