//! `Follow`: following other actors from ours (what an administrator typed, resolved to an
//! actor), and the follows of ours that others send, answered, with an instance that
//! follows this one sent the whole directory.

use serde_json::{Value, json};
use url::Url;

use super::Applied;
use super::accept::{answer_follow, follow_object, followed};
use super::announce::announce;
use super::object_id;
use super::publish::{object_document, pole_document};
use crate::federation::fetch::client::FetchBudget;
use crate::federation::fetch::service::{Federation, FederationError, Result};
use crate::federation::fetch::webfinger::resolve_actor;
use crate::federation::objects::actor::parse_actor;
use crate::federation::objects::context::context;
use crate::federation::objects::group::{is_maillage_pole, parse_pole};
use crate::store::{FollowerRecord, FollowingRecord, Kind, PageRequest, PoleRecord, RemoteActor};

/// Follows `given` (an actor URL, a handle or an instance's domain) from `local_actor`, our
/// instance actor or one of our poles; the follow is `pending` until the actor accepts it.
/// With `relay`, the instance subscribes to a relay the way Mastodon does (a `Follow` of
/// the public collection, sent to the relay's actor).
pub async fn follow_actor(
    fed: &Federation,
    local_actor: &str,
    given: &str,
    relay: bool,
) -> Result<FollowingRecord> {
    if relay && local_actor != fed.instance_actor_id() {
        return Err(FederationError::Invalid(
            "only the instance subscribes to a relay, not a pole".into(),
        ));
    }
    let mut budget = FetchBudget::default();
    let actor_url = resolve_actor(fed, given, &mut budget).await?;
    let url = Url::parse(&actor_url)
        .map_err(|_| FederationError::Invalid(format!("`{actor_url}` is not a URL")))?;
    let document = fed.fetch(&url, &mut budget).await?;
    let actor = parse_actor(&document).map_err(FederationError::Invalid)?;
    let actor = fed.store.upsert_remote_actor(&actor).await?;
    fed.actors.forget(&actor.ap_id);
    if is_maillage_pole(&document) {
        let (pole, members) = parse_pole(&document).map_err(FederationError::Invalid)?;
        let record = fed
            .store
            .upsert_remote_pole(&actor.ap_id, &actor.domain, &pole, &members)
            .await?;
        fed.store.note_pole_source(record.id, None).await?;
    }
    follow(fed, local_actor, &actor, relay).await?;
    fed.store
        .list_following(local_actor)
        .await?
        .into_iter()
        .find(|f| f.actor.id == actor.id)
        .ok_or_else(|| FederationError::NotFound("the follow just stored".into()))
}

/// Sends a `Follow` of `target` from one of our actors; returns the follow's id. A
/// subscription to a relay follows the public collection, as Mastodon subscribes to one.
pub async fn follow(
    fed: &Federation,
    local_actor: &str,
    target: &RemoteActor,
    relay: bool,
) -> Result<String> {
    let id = fed.new_activity_id();
    let mut activity = follow_object(&id, local_actor, followed(&target.ap_id, relay));
    activity["@context"] = context();
    activity["to"] = json!([target.ap_id]);
    fed.store
        .add_following(local_actor, target.id, &id, relay)
        .await?;
    fed.send(&activity, local_actor, std::slice::from_ref(&target.inbox))
        .await?;
    Ok(id)
}

pub async fn on_follow(fed: &Federation, activity: &Value, actor: &RemoteActor) -> Result<Applied> {
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
        welcome(fed, &record).await?;
        Ok(Applied::Done("follow accepted"))
    } else {
        Ok(Applied::Done("follow awaiting approval"))
    }
}

/// Accepts a follower; an instance following this one's actor is then sent the directory.
pub async fn welcome(fed: &Federation, follower: &FollowerRecord) -> Result<()> {
    answer_follow(fed, follower, true).await?;
    if follower.local_actor == fed.instance_actor_id() {
        backfill(fed, follower.actor.delivery_inbox()).await?;
    }
    Ok(())
}

/// Announces every public object of the local poles to one follower's inbox, profiles
/// first, so that a newly accepted instance starts with the whole directory of this one.
pub async fn backfill(fed: &Federation, inbox: &str) -> Result<usize> {
    let inboxes = [inbox.to_owned()];
    let instance = fed.instance_actor_id();
    let mut sent = 0;
    let poles = fed.store.all_local_poles().await?;
    for pole in &poles {
        let document = pole_document(fed, pole).await?;
        let activity = announce(fed, fed.new_activity_id(), document, None);
        sent += fed.send(&activity, &instance, &inboxes).await?;
    }
    for pole in &poles {
        for ap_id in object_ids(fed, pole).await? {
            let (kind, ap_id) = ap_id;
            if let Some(document) = object_document(fed, &pole.ap_id, kind.id(), &ap_id).await? {
                let activity = announce(fed, fed.new_activity_id(), document, None);
                sent += fed.send(&activity, &instance, &inboxes).await?;
            }
        }
    }
    tracing::info!(%inbox, activities = sent, "announced this instance's directory to a new follower");
    Ok(sent)
}

/// The ids of a pole's live objects.
async fn object_ids(fed: &Federation, pole: &PoleRecord) -> Result<Vec<(Kind, String)>> {
    let mut ids = Vec::new();
    macro_rules! collect {
        ($list:ident, $kind:expr) => {
            let mut page = 1;
            loop {
                let batch = fed
                    .store
                    .$list(
                        pole.id,
                        PageRequest {
                            page,
                            per_page: 100,
                        },
                    )
                    .await?;
                ids.extend(batch.items.iter().map(|o| ($kind, o.ap_id.clone())));
                if page * 100 >= batch.total {
                    break;
                }
                page += 1;
            }
        };
    }
    collect!(list_projects, Kind::Project);
    collect!(list_events, Kind::Event);
    collect!(list_calls, Kind::Call);
    Ok(ids)
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
