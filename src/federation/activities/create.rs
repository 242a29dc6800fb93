//! `Create` and `Update`: replies to our objects, the objects of the poles of other
//! Maillage instances that we follow, other software's events (Mobilizon, Gancio), and
//! actors' new profiles.

use serde_json::Value;
use url::Url;

use super::{Applied, check_same_origin, embedded_object, object_id, origin_of};
use crate::domain::text::sanitize_html;
use crate::federation::fetch::client::FetchBudget;
use crate::federation::fetch::service::{Federation, FederationError, Result};
use crate::federation::objects::actor::parse_actor;
use crate::federation::objects::call::parse_call;
use crate::federation::objects::context::PUBLIC;
use crate::federation::objects::event::parse_event;
use crate::federation::objects::foreign_event::{
    is_foreign_event, organiser_of, parse_foreign_event,
};
use crate::federation::objects::group::{is_maillage_pole, parse_pole};
use crate::federation::objects::json::{all_ids, first_id, published, type_of};
use crate::federation::objects::note::maillage_kind;
use crate::federation::objects::project::parse_project;
use crate::federation::objects::reply::{in_reply_to, parse_reply};
use crate::store::{Kind, LocalObject, NewReply, PoleRecord, RemoteActor, StoreError};

/// The object of a `Create` or `Update`: embedded (and then on the actor's server) or
/// fetched from its own id.
async fn object_of(
    fed: &Federation,
    activity: &Value,
    actor: &RemoteActor,
    budget: &mut FetchBudget,
) -> Result<Value> {
    if let Some(object) = embedded_object(activity, actor)? {
        return Ok(object.clone());
    }
    let id = object_id(activity)?;
    check_same_origin(id, &actor.ap_id)?;
    let url =
        Url::parse(id).map_err(|_| FederationError::Invalid(format!("`{id}` is not a URL")))?;
    fed.fetch(&url, budget).await
}

fn check_author(object: &Value, actor: &RemoteActor) -> Result<()> {
    let authors = all_ids(object.get("attributedTo"));
    if !authors.is_empty() && !authors.contains(&actor.ap_id.as_str()) {
        return Err(FederationError::Forbidden(format!(
            "the object is attributed to someone other than `{}`",
            actor.ap_id
        )));
    }
    Ok(())
}

pub async fn on_create(
    fed: &Federation,
    activity: &Value,
    actor: &RemoteActor,
    budget: &mut FetchBudget,
) -> Result<Applied> {
    let object = object_of(fed, activity, actor, budget).await?;
    // Another software's event is checked by its origin: a Mobilizon person sends the
    // events of the group it organises them for.
    if is_foreign_event(&object) {
        return receive_event(fed, &object, actor, budget).await;
    }
    check_author(&object, actor)?;
    if let Some(parent) = in_reply_to(&object)
        && let Some(local) = fed.store.local_object(parent).await?
    {
        return store_reply(fed, &object, actor, local).await;
    }
    store_remote_object(fed, &object, actor).await
}

async fn store_reply(
    fed: &Federation,
    object: &Value,
    actor: &RemoteActor,
    local: LocalObject,
) -> Result<Applied> {
    if local.deleted {
        return Ok(Applied::Ignored("a reply to a deleted object".into()));
    }
    let reply = parse_reply(object).map_err(FederationError::Invalid)?;
    let pole = fed.store.pole_by_id(local.pole_id).await?;
    fed.store
        .add_reply(&NewReply {
            ap_id: reply.id,
            object: local,
            author_id: actor.id,
            content_html: &reply.content_html,
            url: reply.url,
            published_at: reply.published,
            needs_approval: pole.pole.replies_need_approval,
        })
        .await?;
    Ok(Applied::Done("reply stored"))
}

/// A pole of another Maillage instance that one of our actors follows, by its actor id.
async fn followed_pole(fed: &Federation, actor: &RemoteActor) -> Result<Option<PoleRecord>> {
    if !fed.store.is_followed_here(actor.id).await? {
        return Ok(None);
    }
    Ok(fed
        .store
        .pole_by_ap_id(&actor.ap_id)
        .await?
        .filter(|p| !p.local))
}

async fn store_remote_object(
    fed: &Federation,
    object: &Value,
    actor: &RemoteActor,
) -> Result<Applied> {
    if maillage_kind(object).is_none() {
        return Ok(Applied::Ignored(format!(
            "an object of type `{}` that is neither a reply nor a Maillage object",
            type_of(object)
        )));
    }
    let Some(pole) = followed_pole(fed, actor).await? else {
        return Ok(Applied::Ignored(
            "an object from a pole not followed here".into(),
        ));
    };
    store_object_for_pole(fed, object, &pole).await
}

/// Stores a Maillage object of a pole of another instance, created or replaced.
pub async fn store_object_for_pole(
    fed: &Federation,
    object: &Value,
    pole: &PoleRecord,
) -> Result<Applied> {
    let Some(kind) = maillage_kind(object) else {
        return Ok(Applied::Ignored(format!(
            "an object of type `{}` that is not a Maillage object",
            type_of(object)
        )));
    };
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| FederationError::Invalid("the object has no id".into()))?;
    let when = published(object);
    let result = match kind {
        Kind::Project => {
            let data = parse_project(object).map_err(FederationError::Invalid)?;
            fed.store
                .upsert_remote_project(pole.id, id, &data, when)
                .await
                .map(|_| ())
        }
        Kind::Event => {
            let data = parse_event(object).map_err(FederationError::Invalid)?;
            fed.store
                .upsert_remote_event(pole.id, id, &data, when)
                .await
                .map(|_| ())
        }
        Kind::Call => {
            let data = parse_call(object).map_err(FederationError::Invalid)?;
            fed.store
                .upsert_remote_call(pole.id, id, &data, when)
                .await
                .map(|_| ())
        }
    };
    match result {
        Ok(()) => Ok(Applied::Done("object stored")),
        Err(StoreError::Gone(_)) => Ok(Applied::Ignored("the object was deleted".into())),
        Err(e) => Err(e.into()),
    }
}

pub async fn on_update(
    fed: &Federation,
    activity: &Value,
    actor: &RemoteActor,
    budget: &mut FetchBudget,
) -> Result<Applied> {
    let Some(object) = embedded_object(activity, actor)? else {
        return Ok(Applied::Ignored("an Update without its object".into()));
    };
    let id = object.get("id").and_then(Value::as_str).unwrap_or_default();
    if id == actor.ap_id {
        let updated = parse_actor(object).map_err(FederationError::Invalid)?;
        // The key an actor signs with only changes through a fetch of the actor itself.
        let updated = crate::store::NewRemoteActor {
            key_id: actor.key_id.clone(),
            public_key_pem: actor.public_key_pem.clone(),
            ..updated
        };
        fed.store.upsert_remote_actor(&updated).await?;
        fed.actors.forget(&actor.ap_id);
        if is_maillage_pole(object) && followed_pole(fed, actor).await?.is_some() {
            let (pole, members) = parse_pole(object).map_err(FederationError::Invalid)?;
            let record = fed
                .store
                .upsert_remote_pole(&actor.ap_id, &actor.domain, &pole, &members)
                .await?;
            fed.store.note_pole_source(record.id, None).await?;
            return Ok(Applied::Done("pole updated"));
        }
        return Ok(Applied::Done("actor updated"));
    }
    if is_foreign_event(object) {
        return receive_event(fed, object, actor, budget).await;
    }
    check_author(object, actor)?;
    if let Some(content) = object.get("content").and_then(Value::as_str)
        && fed
            .store
            .edit_reply(id, actor.id, &sanitize_html(content))
            .await?
    {
        return Ok(Applied::Done("reply updated"));
    }
    store_remote_object(fed, object, actor).await
}

/// The organiser of an event, stored the first time it is seen; `None` when the actor is a
/// pole (of this instance or another), whose events are Maillage objects.
async fn organiser(
    fed: &Federation,
    ap_id: &str,
    budget: &mut FetchBudget,
) -> Result<Option<PoleRecord>> {
    if let Some(known) = fed.store.pole_by_ap_id(ap_id).await? {
        return Ok((!known.ptce).then_some(known));
    }
    let actor = fed.actor(ap_id, budget).await?;
    let name = actor
        .name
        .clone()
        .or_else(|| actor.username.clone())
        .unwrap_or_else(|| actor.domain.clone());
    Ok(fed
        .store
        .upsert_organiser(
            &actor.ap_id,
            &actor.domain,
            actor.username.as_deref(),
            &name,
        )
        .await?)
}

/// Stores a foreign event, created or replaced. Its organiser must be on the event's own
/// server: one server's actors never organise another's events here. `via` is the instance
/// actor followed here that the event came through, noted on the organiser so that
/// unfollowing that instance can forget it.
pub async fn store_event(
    fed: &Federation,
    doc: &Value,
    via: Option<&str>,
    budget: &mut FetchBudget,
) -> Result<Applied> {
    let id = first_id(doc)
        .ok_or_else(|| FederationError::Invalid("the event has no id".into()))?
        .to_owned();
    let organiser_id = organiser_of(doc)
        .ok_or_else(|| FederationError::Invalid("the event names no organiser".into()))?;
    if origin_of(organiser_id)? != origin_of(&id)? {
        return Err(FederationError::Forbidden(format!(
            "the event `{id}` is organised by an actor of another server"
        )));
    }
    if id.starts_with(&fed.store.url("/")) {
        return Ok(Applied::Ignored("an event of this instance".into()));
    }
    let public = all_ids(doc.get("to"))
        .into_iter()
        .chain(all_ids(doc.get("cc")))
        .any(|a| matches!(a, PUBLIC | "as:Public" | "Public"));
    if !public {
        return Ok(Applied::Ignored("an event that is not public".into()));
    }
    let data = parse_foreign_event(doc).map_err(FederationError::Invalid)?;
    let Some(organiser) = organiser(fed, organiser_id, budget).await? else {
        return Ok(Applied::Ignored(
            "an event attributed to a pole that is not a Maillage object".into(),
        ));
    };
    match fed
        .store
        .upsert_remote_event(organiser.id, &id, &data, published(doc))
        .await
    {
        Ok(_) => {
            if via.is_some() {
                fed.store.note_pole_source(organiser.id, via).await?;
            }
            tracing::debug!(event = %id, organiser = %organiser.ap_id, "foreign event stored");
            Ok(Applied::Done("event stored"))
        }
        Err(StoreError::Gone(_)) => Ok(Applied::Ignored("the event was deleted".into())),
        Err(e) => Err(e.into()),
    }
}

/// Whether a foreign event sent directly by `actor` (a `Create` or `Update`, not relayed) is
/// wanted here, and through which followed instance actor: it comes from a server whose
/// instance actor this instance follows (`Some(Some(…))`), or it is already stored, or its
/// sender is followed here (`Some(None)`).
async fn wanted(fed: &Federation, id: &str, actor: &RemoteActor) -> Result<Option<Option<String>>> {
    let server = origin_of(&actor.ap_id)?;
    if let Some(instance) = fed
        .store
        .list_following(&fed.instance_actor_id())
        .await?
        .into_iter()
        .find(|f| f.state == "accepted" && origin_of(&f.actor.ap_id).is_ok_and(|o| o == server))
    {
        return Ok(Some(Some(instance.actor.ap_id)));
    }
    let stored = matches!(fed.store.event_by_ap_id(id).await?, Some((r, false)) if !r.local);
    if stored || fed.store.is_followed_here(actor.id).await? {
        return Ok(Some(None));
    }
    Ok(None)
}

/// A foreign event in a `Create` or `Update` sent by `actor`, whose server holds the event
/// (checked by the inbox before).
pub async fn receive_event(
    fed: &Federation,
    doc: &Value,
    actor: &RemoteActor,
    budget: &mut FetchBudget,
) -> Result<Applied> {
    let id = first_id(doc).ok_or_else(|| FederationError::Invalid("the event has no id".into()))?;
    let Some(via) = wanted(fed, id, actor).await? else {
        return Ok(Applied::Ignored(
            "an event from a server not followed here".into(),
        ));
    };
    store_event(fed, doc, via.as_deref(), budget).await
}
