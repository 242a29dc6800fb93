//! Instances following instances: the instance actor `Announce`s the public objects of its
//! local poles to the instances that follow it, and takes in what the instances it follows
//! announce, so that every instance can serve the directory of all the poles it knows.
//! A boost of one of our objects is counted as a reaction (`like`).

use serde_json::{Value, json};
use url::Url;

use super::create::{store_event, store_object_for_pole};
use super::like::on_reaction;
use super::{Applied, object_id, origin_of};
use crate::federation::fetch::client::FetchBudget;
use crate::federation::fetch::service::{Federation, FederationError, Result};
use crate::federation::objects::actor::parse_actor;
use crate::federation::objects::context::{PUBLIC, context};
use crate::federation::objects::foreign_event::is_foreign_event;
use crate::federation::objects::group::{is_maillage_pole, parse_pole};
use crate::federation::objects::json::{first_id, type_of};
use crate::federation::objects::note::maillage_kind;
use crate::store::{Kind, PoleRecord, RemoteActor, StoreError};

fn without_context(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.remove("@context");
    }
    value
}

/// An `Announce` by the instance actor to the instances that follow it.
pub fn announce(fed: &Federation, id: String, object: Value, published: Option<&Value>) -> Value {
    let actor = fed.instance_actor_id();
    json!({
        "@context": context(),
        "id": id,
        "type": "Announce",
        "actor": actor,
        "published": published.cloned().unwrap_or_else(|| json!(chrono::Utc::now())),
        "to": [PUBLIC],
        "cc": [format!("{actor}/followers")],
        "object": without_context(object),
    })
}

/// What a local pole's activity becomes for the instances following this one: a created or
/// updated object (or profile) is announced itself, as Mobilizon and Gancio expect; a
/// `Delete` is announced as the activity, so that the follower knows who deleted what.
pub fn relay_activity(fed: &Federation, change_id: i64, activity: &Value) -> Value {
    let id = fed.store.url(&format!("/actor/announces/{change_id}"));
    let object = match type_of(activity) {
        "Create" | "Update" => activity.get("object").cloned().unwrap_or(Value::Null),
        _ => activity.clone(),
    };
    announce(fed, id, object, activity.get("published"))
}

/// Takes in what an instance this one follows announces: a pole's profile, one of its
/// objects, or the `Delete` of either. Embedded documents on the announcer's own server are
/// taken as they are (its signature vouches for them); anything else is fetched from its
/// origin.
pub async fn take_in(
    fed: &Federation,
    activity: &Value,
    announcer: &RemoteActor,
    budget: &mut FetchBudget,
) -> Result<Applied> {
    let object = activity
        .get("object")
        .ok_or_else(|| FederationError::Invalid("the Announce has no object".into()))?;
    let id = first_id(object)
        .ok_or_else(|| FederationError::Invalid("the announced object has no id".into()))?;
    let document = if object.is_object() && origin_of(id)? == origin_of(&announcer.ap_id)? {
        object.clone()
    } else {
        let url =
            Url::parse(id).map_err(|_| FederationError::Invalid(format!("`{id}` is not a URL")))?;
        fed.fetch(&url, budget).await?
    };
    match type_of(&document) {
        "Create" | "Update" => {
            let inner = document
                .get("object")
                .filter(|o| o.is_object())
                .ok_or_else(|| {
                    FederationError::Invalid("the announced activity embeds no object".into())
                })?;
            check_announced_origin(inner, &document)?;
            take_in_document(fed, inner, announcer, budget).await
        }
        "Delete" => {
            let target = document.get("object").and_then(first_id).ok_or_else(|| {
                FederationError::Invalid("the announced Delete has no object".into())
            })?;
            check_same_origin_ids(target, &document)?;
            take_in_delete(fed, target).await
        }
        _ => take_in_document(fed, &document, announcer, budget).await,
    }
}

fn check_announced_origin(object: &Value, activity: &Value) -> Result<()> {
    let id = first_id(object)
        .ok_or_else(|| FederationError::Invalid("the announced object has no id".into()))?;
    check_same_origin_ids(id, activity)
}

/// The object of an announced activity must be on the server of that activity's actor.
fn check_same_origin_ids(id: &str, activity: &Value) -> Result<()> {
    let actor = activity
        .get("actor")
        .and_then(first_id)
        .ok_or_else(|| FederationError::Invalid("the announced activity has no actor".into()))?;
    super::check_same_origin(id, actor)
}

async fn take_in_document(
    fed: &Federation,
    document: &Value,
    announcer: &RemoteActor,
    budget: &mut FetchBudget,
) -> Result<Applied> {
    if is_maillage_pole(document) {
        store_pole(fed, document, announcer).await?;
        return Ok(Applied::Done("announced pole stored"));
    }
    if is_foreign_event(document) {
        return store_event(fed, document, Some(&announcer.ap_id), budget).await;
    }
    if maillage_kind(document).is_none() {
        return Ok(Applied::Ignored(format!(
            "an announced `{}` that is not a Maillage object",
            type_of(document)
        )));
    }
    let Some(author) = document.get("attributedTo").and_then(first_id) else {
        return Err(FederationError::Invalid(
            "the announced object names no pole".into(),
        ));
    };
    if origin_of(author)? != origin_of(first_id(document).unwrap_or_default())? {
        return Err(FederationError::Forbidden(
            "the announced object is attributed to a pole of another server".into(),
        ));
    }
    let pole = match fed.store.pole_by_ap_id(author).await? {
        Some(pole) if !pole.local && !pole.pole.slug.contains('~') => pole,
        Some(pole) if pole.local => {
            return Ok(Applied::Ignored("an object of one of our own poles".into()));
        }
        _ => {
            let url = Url::parse(author)
                .map_err(|_| FederationError::Invalid(format!("`{author}` is not a URL")))?;
            let actor = fed.fetch(&url, budget).await?;
            if !is_maillage_pole(&actor) {
                return Ok(Applied::Ignored(
                    "an announced object of an actor that is not a pole".into(),
                ));
            }
            store_pole(fed, &actor, announcer).await?
        }
    };
    store_object_for_pole(fed, document, &pole).await
}

/// Stores an announced pole's profile and its actor (for the key its own activities are
/// signed with), noting the instance it came through.
async fn store_pole(
    fed: &Federation,
    document: &Value,
    announcer: &RemoteActor,
) -> Result<PoleRecord> {
    let actor = parse_actor(document).map_err(FederationError::Invalid)?;
    let actor = fed.store.upsert_remote_actor(&actor).await?;
    fed.actors.forget(&actor.ap_id);
    let (pole, members) = parse_pole(document).map_err(FederationError::Invalid)?;
    let record = fed
        .store
        .upsert_remote_pole(&actor.ap_id, &actor.domain, &pole, &members)
        .await?;
    fed.store
        .note_pole_source(record.id, Some(&announcer.ap_id))
        .await?;
    Ok(record)
}

async fn take_in_delete(fed: &Federation, target: &str) -> Result<Applied> {
    if fed.store.delete_remote_pole(target).await? {
        return Ok(Applied::Done("announced pole deleted"));
    }
    for kind in Kind::ALL {
        fn parts<T>(
            found: crate::store::Result<Option<(crate::store::ObjectRecord<T>, bool)>>,
        ) -> crate::store::Result<Option<(i64, bool, bool)>> {
            found.map(|f| f.map(|(r, deleted)| (r.pole_id, r.local, deleted)))
        }
        let found = match kind {
            Kind::Project => parts(fed.store.project_by_ap_id(target).await),
            Kind::Event => parts(fed.store.event_by_ap_id(target).await),
            Kind::Call => parts(fed.store.call_by_ap_id(target).await),
        };
        let (pole_id, local) = match found {
            Ok(Some((pole_id, local, false))) => (pole_id, local),
            Ok(Some((_, _, true))) => return Ok(Applied::Ignored("already deleted".into())),
            Ok(None) | Err(StoreError::Gone(_) | StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        if local {
            return Ok(Applied::Ignored(
                "a Delete of one of our own objects".into(),
            ));
        }
        let deleted = match kind {
            Kind::Project => fed.store.delete_remote_project(pole_id, target).await?,
            Kind::Event => fed.store.delete_remote_event(pole_id, target).await?,
            Kind::Call => fed.store.delete_remote_call(pole_id, target).await?,
        };
        if deleted {
            return Ok(Applied::Done("announced object deleted"));
        }
    }
    Ok(Applied::Ignored("nothing to delete".into()))
}

/// A boost of one of our objects, or what an instance followed here relays.
pub async fn on_announce(
    fed: &Federation,
    activity: &Value,
    actor: &RemoteActor,
    budget: &mut FetchBudget,
) -> Result<Applied> {
    let object = object_id(activity)?;
    if object.starts_with(&fed.store.url("/")) {
        return on_reaction(fed, activity, actor, "announce").await;
    }
    if !fed
        .store
        .follows_accepted(&fed.instance_actor_id(), actor.id)
        .await?
    {
        return Ok(Applied::Ignored(
            "an Announce from an actor this instance does not follow".into(),
        ));
    }
    take_in(fed, activity, actor, budget).await
}

/// Forgets the poles and the organisers of other software's events (with their objects)
/// that came through an instance no longer followed, except those one of our actors
/// follows directly.
pub async fn purge(fed: &Federation, instance: &str) -> Result<usize> {
    let purged = forget_relayed(fed, instance).await?;
    tracing::info!(%instance, poles = purged, "forgot what came through an instance no longer followed");
    Ok(purged)
}

/// Deletes the poles that came through the instance actor `instance`, except those one of
/// our actors follows directly; returns how many.
pub async fn forget_relayed(fed: &Federation, instance: &str) -> Result<usize> {
    let mut purged = 0;
    for ap_id in fed.store.poles_via(instance).await? {
        if let Some(actor) = fed.store.remote_actor(&ap_id).await?
            && fed.store.is_followed_here(actor.id).await?
        {
            continue;
        }
        if fed.store.delete_remote_pole(&ap_id).await? {
            purged += 1;
        }
    }
    Ok(purged)
}
