//! Activities in: a POST checked (size and rate, by the web layer and here; the host it was
//! signed for, the signature, digest and date; that the actor is the signer and the ids are
//! on its server; blocks; duplicates), then handed to its handler in `activities`, chosen by
//! its type. Answered with 202, or refused with a 4xx that says why and leaves nothing
//! stored.

use activitypub_federation::kinds::activity::{
    AcceptType, AnnounceType, CreateType, DeleteType, FollowType, LikeType, RejectType, UndoType,
    UpdateType,
};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use url::Url;

use super::activities::{Applied, accept, announce, create, delete, follow, like, undo};
use super::fetch::client::FetchBudget;
use super::fetch::senders::{Sender, admitted_key, authenticate};
use super::fetch::service::{Federation, FederationError, KeyError, Result};
use super::objects::json::{first_id, kind_of, type_of};
use super::signatures::SignedRequest;
use crate::store::RemoteActor;

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

/// The activities taken in, told apart by their `type` (for a list of types, its first
/// one): a type handled here is one more variant.
#[derive(Deserialize)]
#[serde(untagged)]
enum Incoming {
    Follow(Typed<FollowType>),
    Undo(Typed<UndoType>),
    Accept(Typed<AcceptType>),
    Reject(Typed<RejectType>),
    Create(Typed<CreateType>),
    Update(Typed<UpdateType>),
    Delete(Typed<DeleteType>),
    Like(Typed<LikeType>),
    Announce(Typed<AnnounceType>),
    /// Any other type, or none, acknowledged and left alone.
    Other(Untyped),
}

/// The `type` of an activity; the handlers read the rest from the document itself.
#[derive(Deserialize)]
#[serde(bound(deserialize = "K: Deserialize<'de>"))]
struct Typed<K> {
    #[serde(rename = "type", deserialize_with = "first_type")]
    _kind: K,
}

/// The `type` of an activity not handled here, `""` when it has none.
#[derive(Deserialize)]
struct Untyped {
    #[serde(rename = "type", default, deserialize_with = "first_type")]
    kind: String,
}

/// A `type` as [`kind_of`] reads it: a string, or the first string of a list; `""` when
/// there is none.
fn first_type<'de, D, K>(deserializer: D) -> std::result::Result<K, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de>,
{
    let value = Value::deserialize(deserializer)?;
    let kind = kind_of(&value).to_owned();
    K::deserialize(serde::de::value::StringDeserializer::<D::Error>::new(kind))
}

async fn dispatch(
    fed: &Federation,
    activity: &Value,
    actor: &RemoteActor,
    budget: &mut FetchBudget,
) -> Result<Applied> {
    let incoming = Incoming::deserialize(activity)
        .map_err(|e| FederationError::Invalid(format!("the activity cannot be read: {e}")))?;
    match incoming {
        Incoming::Follow(_) => follow::on_follow(fed, activity, actor).await,
        Incoming::Undo(_) => undo::on_undo(fed, activity, actor).await,
        Incoming::Accept(_) => accept::on_answer(fed, activity, actor, "accepted").await,
        Incoming::Reject(_) => accept::on_answer(fed, activity, actor, "rejected").await,
        Incoming::Create(_) => create::on_create(fed, activity, actor, budget).await,
        Incoming::Update(_) => create::on_update(fed, activity, actor, budget).await,
        Incoming::Delete(_) => delete::on_delete(fed, activity, actor).await,
        Incoming::Like(_) => like::on_reaction(fed, activity, actor, "like").await,
        Incoming::Announce(_) => announce::on_announce(fed, activity, actor, budget).await,
        Incoming::Other(other) => Ok(Applied::Ignored(format!(
            "`{}` activities are not used here",
            other.kind
        ))),
    }
}
