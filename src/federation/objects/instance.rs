//! The instance actor, an `Application` (FEP-2677): it signs fetches, follows other
//! instances and relays, and announces the local poles to the instances that follow it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::actor::{Endpoints, PublicKey, url};
use super::context::context;
use crate::domain::text::escape_html as escape;
use crate::store::{ActorKeys, Store};

/// The instance as other servers see it (FEP-2677): it signs fetches and follows instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    pub preferred_username: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub url: Url,
    pub inbox: Url,
    pub outbox: Url,
    pub followers: Url,
    pub following: Url,
    pub endpoints: Endpoints,
    pub public_key: PublicKey,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
}

/// The instance actor's user name, as Mobilizon expects it for instance follows.
pub const INSTANCE_ACTOR_NAME: &str = "relay";

impl Application {
    pub fn new(
        store: &Store,
        name: &str,
        summary: Option<&str>,
        keys: &ActorKeys,
    ) -> Result<Application, url::ParseError> {
        let id = url(store, "/actor")?;
        Ok(Application {
            context: context(),
            kind: "Application".into(),
            preferred_username: INSTANCE_ACTOR_NAME.into(),
            name: name.to_owned(),
            summary: summary.map(escape),
            url: url(store, "/")?,
            inbox: url(store, "/actor/inbox")?,
            outbox: url(store, "/actor/outbox")?,
            followers: url(store, "/actor/followers")?,
            following: url(store, "/actor/following")?,
            endpoints: Endpoints {
                shared_inbox: url(store, "/inbox")?,
            },
            public_key: PublicKey {
                id: url(store, "/actor#main-key")?,
                owner: id.clone(),
                public_key_pem: keys.public_key.clone(),
            },
            manually_approves_followers: false,
            discoverable: true,
            id,
        })
    }
}
