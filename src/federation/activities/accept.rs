//! `Accept` and `Reject`: our answers to follows, and the answers to ours.

use serde_json::{Value, json};

use super::Applied;
use crate::federation::fetch::service::{Federation, Result};
use crate::federation::objects::context::{PUBLIC, context};
use crate::federation::objects::json::first_id;
use crate::store::{FollowerRecord, RemoteActor};

/// A `Follow` reduced to what an answer or an `Undo` embeds.
pub fn follow_object(follow_id: &str, follower: &str, followed: &str) -> Value {
    json!({
        "id": follow_id,
        "type": "Follow",
        "actor": follower,
        "object": followed,
    })
}

/// What a `Follow` of `actor` names as its object: the public collection for a relay.
pub fn followed(actor: &str, relay: bool) -> &str {
    if relay { PUBLIC } else { actor }
}

/// Answers a follow with `Accept` or `Reject`, sent to the follower's inbox.
pub async fn answer_follow(
    fed: &Federation,
    follower: &FollowerRecord,
    accept: bool,
) -> Result<()> {
    let kind = if accept { "Accept" } else { "Reject" };
    let activity = json!({
        "@context": context(),
        "id": fed.new_activity_id(),
        "type": kind,
        "actor": follower.local_actor,
        "to": [follower.actor.ap_id],
        "object": follow_object(&follower.follow_activity_id, &follower.actor.ap_id, &follower.local_actor),
    });
    fed.send(
        &activity,
        &follower.local_actor,
        std::slice::from_ref(&follower.actor.inbox),
    )
    .await?;
    Ok(())
}

pub async fn on_answer(
    fed: &Federation,
    activity: &Value,
    actor: &RemoteActor,
    state: &str,
) -> Result<Applied> {
    let object = activity.get("object");
    let follow_id = object.and_then(first_id);
    let ours = follow_id.filter(|id| id.starts_with(&fed.store.url("/")));
    let local = object
        .filter(|o| o.is_object())
        .and_then(|o| o.get("actor"))
        .and_then(first_id);
    let settled = fed
        .store
        .settle_following(
            ours,
            local.or(Some(&fed.instance_actor_id())),
            actor.id,
            state,
        )
        .await?;
    match settled {
        Some(_) => Ok(Applied::Done(if state == "accepted" {
            "follow accepted by the remote actor"
        } else {
            "follow rejected by the remote actor"
        })),
        None => Ok(Applied::Ignored("no such follow request".into())),
    }
}
