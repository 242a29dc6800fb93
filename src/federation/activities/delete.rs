//! `Delete`: of an actor, a reply, an object of a followed pole, or another software's
//! event, each by its own server.

use serde_json::Value;

use super::{Applied, check_same_origin, object_id};
use crate::federation::fetch::service::{Federation, Result};
use crate::store::RemoteActor;

pub async fn on_delete(fed: &Federation, activity: &Value, actor: &RemoteActor) -> Result<Applied> {
    let id = object_id(activity)?;
    if id == actor.ap_id {
        fed.store.delete_remote_actor(id).await?;
        fed.actors.forget(id);
        return Ok(Applied::Done("actor deleted"));
    }
    check_same_origin(id, &actor.ap_id)?;
    if fed.store.delete_reply(id, actor.id).await? {
        return Ok(Applied::Done("reply deleted"));
    }
    if let Some(pole) = fed
        .store
        .pole_by_ap_id(&actor.ap_id)
        .await?
        .filter(|p| !p.local)
    {
        let deleted = fed.store.delete_remote_project(pole.id, id).await?
            || fed.store.delete_remote_event(pole.id, id).await?
            || fed.store.delete_remote_call(pole.id, id).await?;
        if deleted {
            return Ok(Applied::Done("object deleted"));
        }
    }
    if delete_event(fed, id).await? {
        return Ok(Applied::Done("event deleted"));
    }
    Ok(Applied::Ignored("nothing to delete".into()))
}

/// Deletes a foreign event, whose server's actor sent the `Delete` (checked by the inbox
/// before); `false` if it is not a live foreign event here.
async fn delete_event(fed: &Federation, id: &str) -> Result<bool> {
    let Some((record, false)) = fed.store.event_by_ap_id(id).await? else {
        return Ok(false);
    };
    if record.local || fed.store.pole_by_id(record.pole_id).await?.ptce {
        return Ok(false);
    }
    Ok(fed.store.delete_remote_event(record.pole_id, id).await?)
}
