//! An activity to send, stored once for all the inboxes it goes to.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outgoing_activities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The activity's `id`.
    #[sea_orm(column_type = "Text", unique)]
    pub activity_id: String,
    /// Actor id whose key signs the requests.
    #[sea_orm(column_type = "Text")]
    pub signer: String,
    /// The document exactly as it is sent (its digest is signed).
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
