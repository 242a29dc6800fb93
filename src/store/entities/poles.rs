//! Poles (PTCE), both local ones and those learnt from other instances.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "poles")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text", unique)]
    pub ap_id: String,
    /// Whether this instance is the pole's origin, as opposed to a copy
    /// received through federation.
    pub local: bool,
    #[sea_orm(column_type = "Text", unique_key = "domain_slug")]
    pub domain: String,
    #[sea_orm(column_type = "Text", unique_key = "domain_slug")]
    pub slug: String,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub summary: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub description_format: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub description_html: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub website: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub contact_email: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub contact_phone: Option<String>,
    pub founded_year: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub legal_form: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub siren: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub territory_kind: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub territory_label: Option<String>,
    #[sea_orm(column_type = "Json")]
    pub communes: Json,
    #[sea_orm(column_type = "Json")]
    pub themes: Json,
    #[sea_orm(column_type = "Json")]
    pub pooling: Json,
    #[sea_orm(column_type = "Json", nullable)]
    pub shared_place: Option<Json>,
    #[sea_orm(column_type = "Json")]
    pub national_calls: Json,
    pub charter_signed_year: Option<i32>,
    pub manually_approves_followers: bool,
    pub replies_need_approval: bool,
    pub logo_media_id: Option<i64>,
    pub banner_media_id: Option<i64>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    /// The instance actor that announced this pole, when it came through an instance follow.
    #[sea_orm(column_type = "Text", nullable)]
    pub via: Option<String>,
    pub refreshed_at: Option<DateTimeUtc>,
    /// False for an actor of other software that organises events but is not a PTCE pole.
    pub ptce: bool,
    /// PEM public key of the actor, generated on first use.
    #[sea_orm(column_type = "Text", nullable)]
    pub public_key: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub private_key: Option<String>,
    /// The digest of the last `Group` document published (local poles): an `Update` goes
    /// out only when the document differs.
    #[sea_orm(column_type = "Text", nullable)]
    pub published_digest: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::media::Entity",
        from = "Column::LogoMediaId",
        to = "super::media::Column::Id",
        on_delete = "SetNull"
    )]
    LogoMedia,
    #[sea_orm(
        belongs_to = "super::media::Entity",
        from = "Column::BannerMediaId",
        to = "super::media::Column::Id",
        on_delete = "SetNull"
    )]
    BannerMedia,
    #[sea_orm(has_many = "super::user_poles::Entity")]
    UserPoles,
    #[sea_orm(has_many = "super::members::Entity")]
    Members,
    #[sea_orm(has_many = "super::projects::Entity")]
    Projects,
    #[sea_orm(has_many = "super::events::Entity")]
    Events,
    #[sea_orm(has_many = "super::calls::Entity")]
    Calls,
    #[sea_orm(has_many = "super::changes::Entity")]
    Changes,
}

// No `Related<media::Entity>`: logo and banner are two different paths, so
// callers pick `Relation::LogoMedia` or `Relation::BannerMedia` explicitly.

impl Related<super::user_poles::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::UserPoles.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        super::user_poles::Relation::Users.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::user_poles::Relation::Poles.def().rev())
    }
}

impl Related<super::members::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Members.def()
    }
}

impl Related<super::projects::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Projects.def()
    }
}

impl Related<super::events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Events.def()
    }
}

impl Related<super::calls::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Calls.def()
    }
}

impl Related<super::changes::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Changes.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
