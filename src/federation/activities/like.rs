//! `Like`, and the `Announce` (boost) of one of our objects: counted once per actor and
//! object. Their `Undo` is in `undo`.

use serde_json::Value;

use super::{Applied, object_id};
use crate::federation::fetch::service::{Federation, Result};
use crate::store::RemoteActor;

pub async fn on_reaction(
    fed: &Federation,
    activity: &Value,
    actor: &RemoteActor,
    kind: &str,
) -> Result<Applied> {
    let object = object_id(activity)?;
    let Some(local) = fed.store.local_object(object).await? else {
        return Ok(Applied::Ignored(format!(
            "a {kind} of something not published here"
        )));
    };
    if local.deleted {
        return Ok(Applied::Ignored(format!("a {kind} of a deleted object")));
    }
    let id = activity
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !fed.store.add_reaction(id, kind, local, actor.id).await? {
        // Counted once per actor and object: a like sent again is a duplicate.
        return Ok(Applied::Duplicate);
    }
    Ok(Applied::Done(if kind == "like" {
        "like counted"
    } else {
        "boost counted"
    }))
}
