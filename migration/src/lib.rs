//! Database migrations for Maillage.
pub use sea_orm_migration::prelude::*;

#[macro_use]
mod per_backend;

mod m20261123_000001_initial;
mod m20261123_000002_actor_keys;
mod m20261123_000003_delivery_queue;
mod m20261123_000004_federation_state;
mod m20261123_000005_directory;
mod m20261123_000006_web_sessions;
mod m20261123_000007_provenance;
mod m20261123_000008_domain_blocks;
mod m20261123_000009_organisers;
mod m20261123_000010_search_facets;
mod m20261123_000011_refresh;
mod m20261123_000012_outgoing_activities;
mod m20261123_000013_directory_order;
mod m20261123_000014_directory_keys;
mod m20261123_000015_directory_generation;
mod m20261205_000016_versions;
mod m20261205_000017_relay_subscriptions;
mod m20261205_000018_event_themes;
mod m20261206_000019_mail;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261123_000002_actor_keys::Migration),
            Box::new(m20261123_000003_delivery_queue::Migration),
            Box::new(m20261123_000004_federation_state::Migration),
            Box::new(m20261123_000005_directory::Migration),
            Box::new(m20261123_000006_web_sessions::Migration),
            Box::new(m20261123_000007_provenance::Migration),
            Box::new(m20261123_000008_domain_blocks::Migration),
            Box::new(m20261123_000009_organisers::Migration),
            Box::new(m20261123_000010_search_facets::Migration),
            Box::new(m20261123_000011_refresh::Migration),
            Box::new(m20261123_000012_outgoing_activities::Migration),
            Box::new(m20261123_000013_directory_order::Migration),
            Box::new(m20261123_000014_directory_keys::Migration),
            Box::new(m20261123_000015_directory_generation::Migration),
            Box::new(m20261205_000016_versions::Migration),
            Box::new(m20261205_000017_relay_subscriptions::Migration),
            Box::new(m20261205_000018_event_themes::Migration),
            Box::new(m20261206_000019_mail::Migration),
        ]
    }
}
