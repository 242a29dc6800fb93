//! Events organised by one or more poles.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text", unique)]
    pub public_id: String,
    #[sea_orm(column_type = "Text", unique)]
    pub ap_id: String,
    pub local: bool,
    pub pole_id: i64,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub summary: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub description_format: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub description_html: Option<String>,
    pub starts_at: DateTimeUtc,
    pub ends_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text")]
    pub timezone: String,
    #[sea_orm(column_type = "Json", nullable)]
    pub place: Option<Json>,
    #[sea_orm(column_type = "Text", nullable)]
    pub online_url: Option<String>,
    #[sea_orm(column_type = "Json")]
    pub organiser_poles: Json,
    #[sea_orm(column_type = "Json")]
    pub themes: Json,
    #[sea_orm(column_type = "Text", nullable)]
    pub registration_url: Option<String>,
    pub capacity: Option<i32>,
    #[sea_orm(column_type = "Text")]
    pub status: String,
    pub version: i32,
    pub published_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    /// The event's page on the server it comes from, when that is not its id.
    #[sea_orm(column_type = "Text", nullable)]
    pub source_url: Option<String>,
    /// When a copy of another instance's object was last read from its origin.
    pub refreshed_at: Option<DateTimeUtc>,
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
