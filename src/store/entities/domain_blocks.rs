//! Domains an administrator blocked; those of the configuration are not stored.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "domain_blocks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Lower-case, without a trailing dot; its subdomains are blocked too.
    #[sea_orm(column_type = "Text", unique)]
    pub domain: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
    /// The administrator who blocked it, or `None` from the command line.
    #[sea_orm(column_type = "Text", nullable)]
    pub created_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
