//! User accounts.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text", unique)]
    pub username: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub email: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub password_hash: Option<String>,
    /// `admin` or `editor`.
    #[sea_orm(column_type = "Text")]
    pub role: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub disabled_at: Option<DateTimeUtc>,
    /// The person asked not to receive the daily digest.
    pub digest_opt_out: bool,
    /// The day (`YYYY-MM-DD`, UTC) their last digest was sent.
    #[sea_orm(column_type = "Text", nullable)]
    pub digest_sent_on: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::api_tokens::Entity")]
    ApiTokens,
    #[sea_orm(has_many = "super::user_poles::Entity")]
    UserPoles,
}

impl Related<super::api_tokens::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiTokens.def()
    }
}

impl Related<super::user_poles::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::UserPoles.def()
    }
}

impl Related<super::poles::Entity> for Entity {
    fn to() -> RelationDef {
        super::user_poles::Relation::Poles.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::user_poles::Relation::Users.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
