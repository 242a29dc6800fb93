//! sea-orm entities: the stored shape of each table.
//!
//! They mirror the schema built by the `migration` crate, which stays the
//! authority: change a table there first, then follow it here.

pub mod api_tokens;
pub mod calls;
pub mod changes;
pub mod deliveries;
pub mod delivery_domains;
pub mod domain_blocks;
pub mod events;
pub mod followers;
pub mod following;
pub mod inbox_seen;
pub mod instance;
pub mod login_failures;
pub mod mail_tokens;
pub mod media;
pub mod members;
pub mod outgoing_activities;
pub mod poles;
pub mod projects;
pub mod reactions;
pub mod remote_actors;
pub mod replies;
pub mod user_poles;
pub mod users;
pub mod web_sessions;

pub mod prelude {
    pub use super::api_tokens::Entity as ApiTokens;
    pub use super::calls::Entity as Calls;
    pub use super::changes::Entity as Changes;
    pub use super::deliveries::Entity as Deliveries;
    pub use super::delivery_domains::Entity as DeliveryDomains;
    pub use super::events::Entity as Events;
    pub use super::instance::Entity as Instance;
    pub use super::media::Entity as Media;
    pub use super::members::Entity as Members;
    pub use super::poles::Entity as Poles;
    pub use super::projects::Entity as Projects;
    pub use super::user_poles::Entity as UserPoles;
    pub use super::users::Entity as Users;
}
