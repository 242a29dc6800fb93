//! Uploaded files (pole logos and banners), stored in the database itself.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "media")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text", unique)]
    pub sha256: String,
    #[sea_orm(column_type = "Text")]
    pub content_type: String,
    pub size: i64,
    #[sea_orm(column_type = "Blob")]
    pub data: Vec<u8>,
    pub created_at: DateTimeUtc,
}

// Poles point here twice (logo and banner), so each direction is named after
// the foreign key it follows rather than left to `Related`, which would be
// ambiguous.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::poles::Entity", via_rel = "Relation::LogoMedia")]
    LogoOf,
    #[sea_orm(has_many = "super::poles::Entity", via_rel = "Relation::BannerMedia")]
    BannerOf,
}

impl ActiveModelBehavior for ActiveModel {}
