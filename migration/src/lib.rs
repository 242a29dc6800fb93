//! Database migrations for Maillage.
pub use sea_orm_migration::prelude::*;

mod m20261123_000001_initial;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261123_000001_initial::Migration)]
    }
}
