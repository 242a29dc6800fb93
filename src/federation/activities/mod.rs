//! Activities, one file per activity or family: what we send and what we take in. The
//! inbox hands each activity to its handler here. Listed from the bottom up: a file uses
//! only those above it (and what this file holds).

use serde_json::Value;
use url::Url;

use crate::federation::fetch::service::{FederationError, Result};
use crate::federation::objects::json::first_id;
use crate::store::RemoteActor;

/// `Accept` and `Reject` of follows, and what a `Follow` embeds.
pub mod accept;
/// `Announce`: instances relaying their poles to the instances that follow them.
pub mod announce;
/// `Create` and `Update`: replies, Maillage objects, other software's events, actors.
pub mod create;
/// `Delete`.
pub mod delete;
/// `Follow`, sent and taken in, and the welcome of a new follower.
pub mod follow;
/// `Like`, and the boost of one of our objects.
pub mod like;
/// What a local pole's changes become for its followers.
pub mod publish;
/// `Undo` of follows and reactions.
pub mod undo;

/// What became of an accepted activity (for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Done(&'static str),
    Duplicate,
    Ignored(String),
}

/// The id of the activity's object, which every handled type has.
pub fn object_id(activity: &Value) -> Result<&str> {
    activity
        .get("object")
        .and_then(first_id)
        .ok_or_else(|| FederationError::Invalid("the activity has no object".into()))
}

/// The embedded object of an activity, which must be on its actor's server.
pub fn embedded_object<'a>(activity: &'a Value, actor: &RemoteActor) -> Result<Option<&'a Value>> {
    let Some(object) = activity.get("object").filter(|o| o.is_object()) else {
        return Ok(None);
    };
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| FederationError::Invalid("the object has no id".into()))?;
    check_same_origin(id, &actor.ap_id)?;
    Ok(Some(object))
}

pub fn check_same_origin(id: &str, actor: &str) -> Result<()> {
    let id_url =
        Url::parse(id).map_err(|_| FederationError::Invalid(format!("`{id}` is not a URL")))?;
    let actor_url = Url::parse(actor)
        .map_err(|_| FederationError::Invalid(format!("`{actor}` is not a URL")))?;
    if id_url.origin() != actor_url.origin() {
        return Err(FederationError::Forbidden(format!(
            "the object `{id}` is not on the server of `{actor}`"
        )));
    }
    Ok(())
}

/// The origin of an id.
pub fn origin_of(id: &str) -> Result<url::Origin> {
    Url::parse(id)
        .map(|u| u.origin())
        .map_err(|_| FederationError::Invalid(format!("`{id}` is not a URL")))
}
