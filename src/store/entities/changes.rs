//! The change history of each pole, which federation publishes in order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub pole_id: i64,
    #[sea_orm(column_type = "Text")]
    pub object_kind: String,
    /// Not a foreign key: the object may be deleted while its changes must
    /// still be published.
    pub object_id: i64,
    #[sea_orm(column_type = "Text", nullable)]
    pub object_ap_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub action: String,
    pub version: i32,
    #[sea_orm(column_type = "Json", nullable)]
    pub snapshot: Option<Json>,
    pub created_at: DateTimeUtc,
    /// When the change was handed to the delivery queue; `None` until then.
    pub federated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::poles::Entity",
        from = "Column::PoleId",
        to = "super::poles::Column::Id",
        on_delete = "Cascade"
    )]
    Poles,
}

impl Related<super::poles::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Poles.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
