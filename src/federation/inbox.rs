//! Activities in: checked (signature, key owner, origins, size, rate), applied once, and
//! answered with 202, or refused with a 4xx that says why and leaves nothing stored.

use chrono::{DateTime, Utc};
use serde_json::Value;
use url::Url;

use super::client::FetchBudget;
use super::remote::{
    all_ids, first_id, is_maillage_pole, maillage_kind, parse_actor, parse_call, parse_event,
    parse_pole, parse_project, type_of,
};
use super::senders::{KeyError, Sender, admitted_key, authenticate};
use super::service::{Federation, FederationError, Result};
use super::signatures::SignedRequest;
use crate::domain::text::sanitize_html;
use crate::store::{Kind, LocalObject, NewReply, RemoteActor, StoreError};

/// What became of an accepted activity (for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Done(&'static str),
    Duplicate,
    Ignored(String),
}

/// The parts of an inbox request.
pub struct InboxRequest<'a> {
    pub method: &'a str,
    pub path_and_query: &'a str,
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: &'a [u8],
}

/// Checks an inbox POST and applies its activity.
pub async fn receive(fed: &Federation, request: InboxRequest<'_>) -> Result<Applied> {
    let signed = SignedRequest {
        method: request.method,
        path_and_query: request.path_and_query,
        headers: request.headers,
        body: Some(request.body),
    };
    let key = admitted_key(fed, &signed)?;
    let activity: Value = serde_json::from_slice(request.body)
        .map_err(|e| FederationError::Invalid(format!("the body is not JSON: {e}")))?;
    let actor_id = activity
        .get("actor")
        .and_then(first_id)
        .ok_or_else(|| FederationError::Invalid("the activity has no actor".into()))?
        .to_owned();
    let actor_url = Url::parse(&actor_id)
        .map_err(|_| FederationError::Invalid(format!("the actor `{actor_id}` is not a URL")))?;
    fed.client.check(&actor_url)?;

    let mut budget = FetchBudget::default();
    let sender = match authenticate(fed, &signed, &key, &mut budget).await {
        Ok(sender) => sender,
        // A deleted actor's key cannot be fetched any more: its Delete is accepted only if
        // there is nothing of it here to delete.
        Err(FederationError::Key(KeyError::Gone(_)))
            if type_of(&activity) == "Delete"
                && activity.get("object").and_then(first_id) == Some(actor_id.as_str()) =>
        {
            return Ok(Applied::Ignored(
                "the Delete of an actor not known here".into(),
            ));
        }
        Err(e) => return Err(e),
    };
    if sender.ap_id() != actor_id {
        return Err(FederationError::Unauthorized(format!(
            "the request is signed by `{}` but the activity's actor is `{actor_id}`",
            sender.ap_id()
        )));
    }
    match sender {
        Sender::Remote(actor) => apply(fed, &activity, &actor, &mut budget).await,
        // What our own actors send reaches us only through a loop: it is ours already.
        Sender::Local(_) => Ok(Applied::Ignored(
            "an activity of one of this instance's own actors".into(),
        )),
    }
}

/// Applies an activity whose actor has been authenticated as `actor`; an activity seen
/// before is not applied again.
pub async fn apply(
    fed: &Federation,
    activity: &Value,
    actor: &RemoteActor,
    budget: &mut FetchBudget,
) -> Result<Applied> {
    let id = activity
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| FederationError::Invalid("the activity has no id".into()))?;
    let id_url = Url::parse(id)
        .map_err(|_| FederationError::Invalid(format!("the id `{id}` is not a URL")))?;
    let actor_url = Url::parse(&actor.ap_id)
        .map_err(|_| FederationError::Invalid("the actor id is not a URL".into()))?;
    if id_url.origin() != actor_url.origin() {
        return Err(FederationError::Forbidden(format!(
            "the activity `{id}` is not on its actor's server"
        )));
    }
    // Claimed before it is applied, so that the same activity delivered twice at once is
    // applied once; handed back if applying it fails, so that nothing of it stays.
    if !fed.store.mark_seen(id, &actor.ap_id).await? {
        return Ok(Applied::Duplicate);
    }
    match dispatch(fed, activity, actor, budget).await {
        Ok(applied) => Ok(applied),
        Err(e) => {
            fed.store.unmark_seen(id).await?;
            Err(e)
        }
    }
}

async fn dispatch(
    fed: &Federation,
    activity: &Value,
    actor: &RemoteActor,
    budget: &mut FetchBudget,
) -> Result<Applied> {
    let applied = match type_of(activity) {
        "Follow" => on_follow(fed, activity, actor).await?,
        "Undo" => on_undo(fed, activity, actor).await?,
        "Accept" => on_answer(fed, activity, actor, "accepted").await?,
        "Reject" => on_answer(fed, activity, actor, "rejected").await?,
        "Create" => on_create(fed, activity, actor, budget).await?,
        "Update" => on_update(fed, activity, actor, budget).await?,
        "Delete" => on_delete(fed, activity, actor).await?,
        "Like" => on_reaction(fed, activity, actor, "like").await?,
        "Announce" => on_announce(fed, activity, actor, budget).await?,
        other => Applied::Ignored(format!("`{other}` activities are not used here")),
    };
    Ok(applied)
}

/// The id of the activity's object, which every handled type has.
fn object_id(activity: &Value) -> Result<&str> {
    activity
        .get("object")
        .and_then(first_id)
        .ok_or_else(|| FederationError::Invalid("the activity has no object".into()))
}

/// The embedded object of an activity, which must be on its actor's server.
fn embedded_object<'a>(activity: &'a Value, actor: &RemoteActor) -> Result<Option<&'a Value>> {
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

pub(crate) fn check_same_origin(id: &str, actor: &str) -> Result<()> {
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

/// One of our actors by its id: `(local actor id, pole id)`; the instance actor has no pole.
async fn local_actor(
    fed: &Federation,
    id: &str,
) -> Result<Option<(String, Option<crate::store::PoleRecord>)>> {
    if id == fed.instance_actor_id() {
        return Ok(Some((id.to_owned(), None)));
    }
    match fed.store.pole_by_ap_id(id).await? {
        Some(pole) if pole.local => {
            if fed.store.pole(&pole.pole.slug).await.is_err() {
                return Err(FederationError::NotFound(format!(
                    "the pole `{id}` is deleted"
                )));
            }
            Ok(Some((id.to_owned(), Some(pole))))
        }
        _ => Ok(None),
    }
}

async fn on_follow(fed: &Federation, activity: &Value, actor: &RemoteActor) -> Result<Applied> {
    let target = object_id(activity)?;
    let Some((local, pole)) = local_actor(fed, target).await? else {
        return Err(FederationError::NotFound(format!(
            "`{target}` is not an actor of this instance"
        )));
    };
    let follow_id = activity
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let approval = match &pole {
        Some(p) => p.pole.manually_approves_followers,
        None => fed.config.federation.approve_instance_followers,
    };
    let state = if approval { "pending" } else { "accepted" };
    let record = fed
        .store
        .add_follower(
            &local,
            pole.as_ref().map(|p| p.id),
            actor.id,
            follow_id,
            state,
        )
        .await?;
    if record.state == "accepted" {
        super::relay::welcome(fed, &record).await?;
        Ok(Applied::Done("follow accepted"))
    } else {
        Ok(Applied::Done("follow awaiting approval"))
    }
}

async fn on_undo(fed: &Federation, activity: &Value, actor: &RemoteActor) -> Result<Applied> {
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

async fn on_answer(
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

fn published(object: &Value) -> DateTime<Utc> {
    object
        .get("published")
        .and_then(Value::as_str)
        .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
        .map_or_else(Utc::now, |p| p.with_timezone(&Utc))
}

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

async fn on_create(
    fed: &Federation,
    activity: &Value,
    actor: &RemoteActor,
    budget: &mut FetchBudget,
) -> Result<Applied> {
    let object = object_of(fed, activity, actor, budget).await?;
    // Another software's event is checked by its origin: a Mobilizon person sends the
    // events of the group it organises them for.
    if super::foreign::is_foreign_event(&object) {
        return super::foreign::receive_event(fed, &object, actor, budget).await;
    }
    check_author(&object, actor)?;
    if let Some(parent) = object.get("inReplyTo").and_then(first_id)
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
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| FederationError::Invalid("the reply has no id".into()))?;
    let content = object
        .get("content")
        .and_then(Value::as_str)
        .ok_or_else(|| FederationError::Invalid("the reply has no content".into()))?;
    let content = sanitize_html(content);
    let pole = fed.store.pole_by_id(local.pole_id).await?;
    let url = object
        .get("url")
        .and_then(first_id)
        .filter(|u| Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "https" | "http")));
    fed.store
        .add_reply(&NewReply {
            ap_id: id,
            object: local,
            author_id: actor.id,
            content_html: &content,
            url,
            published_at: published(object),
            needs_approval: pole.pole.replies_need_approval,
        })
        .await?;
    Ok(Applied::Done("reply stored"))
}

/// A pole of another Maillage instance that one of our actors follows, by its actor id.
async fn followed_pole(
    fed: &Federation,
    actor: &RemoteActor,
) -> Result<Option<crate::store::PoleRecord>> {
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
pub(crate) async fn store_object_for_pole(
    fed: &Federation,
    object: &Value,
    pole: &crate::store::PoleRecord,
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

async fn on_update(
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
    if super::foreign::is_foreign_event(object) {
        return super::foreign::receive_event(fed, object, actor, budget).await;
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

async fn on_delete(fed: &Federation, activity: &Value, actor: &RemoteActor) -> Result<Applied> {
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
    if super::foreign::delete_event(fed, id).await? {
        return Ok(Applied::Done("event deleted"));
    }
    Ok(Applied::Ignored("nothing to delete".into()))
}

/// A boost of one of our objects, or what an instance followed here relays.
async fn on_announce(
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
    super::relay::take_in(fed, activity, actor, budget).await
}

async fn on_reaction(
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
