//! What a local pole's changes become for its followers (`Create`, `Update`, `Delete`),
//! announced to the instances that follow this one too; the current documents of poles
//! and objects. Everything goes through the delivery queue.

use serde_json::{Value, json};

use super::announce::relay_activity;
use crate::federation::fetch::service::{Federation, FederationError, Result};
use crate::federation::objects::call::call_note;
use crate::federation::objects::context::{PUBLIC, context};
use crate::federation::objects::event::{event_object, organiser_ids};
use crate::federation::objects::group::Group;
use crate::federation::objects::note::Author;
use crate::federation::objects::project::project_note;
use crate::store::{PendingChange, PoleRecord, StoreError};

fn bad_url(e: url::ParseError) -> FederationError {
    FederationError::Invalid(format!("a stored URL is invalid: {e}"))
}

/// The document of one of a pole's objects as it is now, or `None` if it is deleted.
pub async fn object_document(
    fed: &Federation,
    pole_ap_id: &str,
    kind: &str,
    ap_id: &str,
) -> Result<Option<Value>> {
    let store = &fed.store;
    let public_id = ap_id.rsplit('/').next().unwrap_or_default();
    let author = Author {
        ap_id: pole_ap_id,
        co_organisers: Vec::new(),
    };
    let document = match kind {
        "project" => store.project(public_id).await.map(|r| {
            project_note(&r, &author).map(|d| serde_json::to_value(d).unwrap_or_default())
        }),
        "event" => store.event(public_id).await.map(|r| {
            let author = Author {
                co_organisers: organiser_ids(store, &r.data),
                ..author
            };
            event_object(&r, &author).map(|d| serde_json::to_value(d).unwrap_or_default())
        }),
        "call" => store
            .call(public_id)
            .await
            .map(|r| call_note(&r, &author).map(|d| serde_json::to_value(d).unwrap_or_default())),
        other => {
            return Err(FederationError::Invalid(format!(
                "`{other}` is not a kind of object"
            )));
        }
    };
    match document {
        Ok(doc) => Ok(Some(doc.map_err(bad_url)?)),
        Err(StoreError::Gone(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The `Group` document of a local pole.
pub async fn pole_document(fed: &Federation, pole: &PoleRecord) -> Result<Value> {
    let keys = fed.store.pole_keys(pole.id).await?;
    let members = fed.store.all_members(pole.id).await?;
    let group = Group::new(&fed.store, pole, &members, &keys).map_err(bad_url)?;
    Ok(serde_json::to_value(group).unwrap_or_default())
}

/// The activity a change of a local pole becomes, if any.
pub async fn change_activity(
    fed: &Federation,
    pole: &PoleRecord,
    change: &PendingChange,
) -> Result<Option<Value>> {
    let followers = format!("{}/followers", pole.ap_id);
    let envelope = |id: String, kind: &str, object: Value| {
        json!({
            "@context": context(),
            "id": id,
            "type": kind,
            "actor": pole.ap_id,
            "published": change.created_at,
            "to": [PUBLIC],
            "cc": [followers],
            "object": object,
        })
    };
    match (change.kind.as_str(), change.action.as_str()) {
        ("project" | "event" | "call", action) => {
            let Some(ap_id) = &change.ap_id else {
                return Ok(None);
            };
            let id = format!("{ap_id}#{action}-{}", change.version);
            if action == "delete" {
                return Ok(Some(envelope(
                    id,
                    "Delete",
                    json!({"id": ap_id, "type": "Tombstone"}),
                )));
            }
            // An object deleted since: its own Delete follows.
            let Some(mut object) = object_document(fed, &pole.ap_id, &change.kind, ap_id).await?
            else {
                return Ok(None);
            };
            if let Some(map) = object.as_object_mut() {
                map.remove("@context");
            }
            let kind = if action == "create" {
                "Create"
            } else {
                "Update"
            };
            Ok(Some(envelope(id, kind, object)))
        }
        ("pole", "delete") => Ok(Some(envelope(
            format!("{}#delete", pole.ap_id),
            "Delete",
            json!(pole.ap_id),
        ))),
        ("pole", "update") | ("member", _) => {
            if !pole.local || pole_is_deleted(fed, pole).await? {
                return Ok(None);
            }
            let mut document = pole_document(fed, pole).await?;
            if let Some(map) = document.as_object_mut() {
                map.remove("@context");
            }
            Ok(Some(envelope(
                format!("{}#update-{}", pole.ap_id, change.id),
                "Update",
                document,
            )))
        }
        _ => Ok(None),
    }
}

async fn pole_is_deleted(fed: &Federation, pole: &PoleRecord) -> Result<bool> {
    match fed.store.pole(&pole.pole.slug).await {
        Ok(_) => Ok(false),
        Err(StoreError::Gone(_)) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

/// What identifies a `Group` document's content: the SHA-256 of the document without its
/// `updated` (which changes with every write to the pole, even one that is not in it).
fn document_digest(document: &Value) -> String {
    use sha2::{Digest, Sha256};
    let mut document = document.clone();
    if let Some(map) = document.as_object_mut() {
        map.remove("updated");
    }
    hex::encode(Sha256::digest(document.to_string().as_bytes()))
}

/// For a change of a local pole's profile or members, the digest of its `Group` document
/// now; `None` for other changes.
async fn pole_digest(
    fed: &Federation,
    pole: &PoleRecord,
    change: &PendingChange,
) -> Result<Option<String>> {
    let profile = matches!(
        (change.kind.as_str(), change.action.as_str()),
        ("pole", "create" | "update") | ("member", _)
    );
    if !profile || !pole.local || pole_is_deleted(fed, pole).await? {
        return Ok(None);
    }
    Ok(Some(document_digest(&pole_document(fed, pole).await?)))
}

/// Hands one change to the delivery queue, addressed to the pole's followers. A change of
/// a pole's profile or members that leaves its `Group` document as it was last published
/// (a setting that is not in it, such as `replies_need_approval`) sends nothing.
pub async fn publish_change(fed: &Federation, change: &PendingChange) -> Result<usize> {
    let pole = fed.store.pole_by_id(change.pole_id).await?;
    let digest = pole_digest(fed, &pole, change).await?;
    if let Some(digest) = &digest
        && fed.store.pole_published_digest(pole.id).await?.as_ref() == Some(digest)
    {
        fed.store.mark_federated(change.id).await?;
        tracing::debug!(change = change.id, pole = %pole.ap_id, "the pole's document is unchanged: no Update");
        return Ok(0);
    }
    let inboxes = fed.store.follower_inboxes(&pole.ap_id).await?;
    // The instances following this one, and the relays it subscribed to, get the local
    // poles' changes announced.
    let relays = if pole.local {
        let instance = fed.instance_actor_id();
        let mut relays = fed.store.follower_inboxes(&instance).await?;
        relays.extend(fed.store.relay_inboxes(&instance).await?);
        relays.sort_unstable();
        relays.dedup();
        relays
    } else {
        Vec::new()
    };
    let mut sent = 0;
    if (!inboxes.is_empty() || !relays.is_empty())
        && let Some(activity) = change_activity(fed, &pole, change).await?
    {
        if !inboxes.is_empty() {
            sent += fed.send(&activity, &pole.ap_id, &inboxes).await?;
        }
        if !relays.is_empty() {
            let announce = relay_activity(fed, change.id, &activity);
            sent += fed
                .send(&announce, &fed.instance_actor_id(), &relays)
                .await?;
        }
    }
    if let Some(digest) = &digest {
        fed.store.set_pole_published_digest(pole.id, digest).await?;
    }
    fed.store.mark_federated(change.id).await?;
    tracing::debug!(change = change.id, kind = %change.kind, queued = sent, "change published");
    Ok(sent)
}

/// Publishes every change not yet published, oldest first; returns how many.
pub async fn publish_pending(fed: &Federation) -> Result<usize> {
    let mut done = 0;
    loop {
        let changes = fed.store.unfederated_changes(100).await?;
        if changes.is_empty() {
            return Ok(done);
        }
        for change in &changes {
            if let Err(e) = publish_change(fed, change).await {
                tracing::error!(change = change.id, error = %e, "cannot publish a change; it will be tried again");
                return Err(e);
            }
            done += 1;
        }
    }
}
