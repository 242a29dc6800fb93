//! `Undo`: of follows (ours, sent, and others', taken in) and of reactions.

use serde_json::Value;
use serde_json::json;

use super::accept::{follow_object, followed};
use super::{Applied, object_id};
use crate::federation::fetch::service::{Federation, FederationError, Result};
use crate::federation::objects::context::context;
use crate::federation::objects::json::{first_id, type_of};
use crate::store::RemoteActor;

/// Withdraws a follow with `Undo(Follow)`.
pub async fn unfollow(fed: &Federation, following_id: i64) -> Result<()> {
    let following = fed.store.following(following_id).await?;
    let activity = json!({
        "@context": context(),
        "id": fed.new_activity_id(),
        "type": "Undo",
        "actor": following.local_actor,
        "to": [following.actor.ap_id],
        "object": follow_object(
            &following.follow_activity_id,
            &following.local_actor,
            followed(&following.actor.ap_id, following.relay),
        ),
    });
    fed.send(
        &activity,
        &following.local_actor,
        std::slice::from_ref(&following.actor.inbox),
    )
    .await?;
    fed.store.delete_following(following_id).await?;
    Ok(())
}

pub async fn on_undo(fed: &Federation, activity: &Value, actor: &RemoteActor) -> Result<Applied> {
    let undone = object_id(activity)?;
    let embedded = activity.get("object").filter(|o| o.is_object());
    if let Some(object) = embedded
        && let Some(by) = object.get("actor").and_then(first_id)
        && by != actor.ap_id
    {
        return Err(FederationError::Forbidden(
            "an actor can only undo its own activities".into(),
        ));
    }
    let kind = embedded.map(type_of).unwrap_or_default();
    match kind {
        "Follow" | "" => {
            let target = embedded.and_then(|o| o.get("object")).and_then(first_id);
            let removed = match target {
                Some(target) => fed.store.remove_follower(target, actor.id, None).await?,
                None => {
                    // Only the follow's id: find which of our actors it was for.
                    let mut removed = false;
                    for local in local_actors(fed).await? {
                        removed |= fed
                            .store
                            .remove_follower(&local, actor.id, Some(undone))
                            .await?;
                    }
                    removed
                }
            };
            if removed {
                return Ok(Applied::Done("unfollowed"));
            }
            if kind == "Follow" {
                return Ok(Applied::Ignored("no such follow".into()));
            }
            let gone = fed.store.remove_reaction(undone, actor.id, None).await?;
            Ok(if gone {
                Applied::Done("reaction withdrawn")
            } else {
                Applied::Ignored("nothing to undo".into())
            })
        }
        "Like" | "Announce" => {
            let object = embedded
                .and_then(|o| o.get("object"))
                .and_then(first_id)
                .unwrap_or_default();
            let local = fed.store.local_object(object).await?;
            let reaction = if kind == "Like" { "like" } else { "announce" };
            let gone = fed
                .store
                .remove_reaction(undone, actor.id, local.map(|l| (reaction, l)))
                .await?;
            Ok(if gone {
                Applied::Done("reaction withdrawn")
            } else {
                Applied::Ignored("nothing to undo".into())
            })
        }
        other => Ok(Applied::Ignored(format!(
            "undoing `{other}` changes nothing here"
        ))),
    }
}

/// The ids of all our actors: the instance and every local pole.
async fn local_actors(fed: &Federation) -> Result<Vec<String>> {
    let mut actors = vec![fed.instance_actor_id()];
    actors.extend(
        fed.store
            .all_local_poles()
            .await?
            .into_iter()
            .map(|p| p.ap_id),
    );
    Ok(actors)
}
