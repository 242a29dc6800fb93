//! Member organisations of a pole.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "members")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(indexed)]
    pub pole_id: i64,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub legal_form: String,
    pub ess: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub employee_band: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub siret: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub website: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub role: Option<String>,
    pub joined_year: Option<i32>,
    /// 1 when added, one more at each change: what `ETag` and `If-Match` carry.
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
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
