//! Following other actors from ours: resolving what an administrator typed (an actor URL,
//! a handle, or an instance's domain) to an actor, and sending the `Follow`.

use url::Url;

use super::client::FetchBudget;
use super::publish::follow;
use super::remote::{is_maillage_pole, parse_actor, parse_pole};
use super::service::{Federation, FederationError, Result};
use crate::store::FollowingRecord;

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

/// Finds an actor's URL from a handle with WebFinger, or takes the URL as given.
pub async fn resolve_actor(
    fed: &Federation,
    given: &str,
    budget: &mut FetchBudget,
) -> Result<String> {
    let given = given.trim();
    if given.starts_with("https://") || given.starts_with("http://") {
        return Url::parse(given)
            .map(|u| u.to_string())
            .map_err(|_| FederationError::Invalid(format!("`{given}` {}", "is not a URL")));
    }
    let scheme = fed.client.mode().scheme();
    // A bare domain names an instance: its actor is the one NodeInfo links (FEP-2677), or
    // else `relay@domain`, as Mobilizon names it.
    if !given.contains('@') && !given.contains('/') && !given.is_empty() {
        if let Some(actor) = instance_actor_of(fed, scheme, given, budget).await? {
            return Ok(actor);
        }
        return Box::pin(resolve_actor(fed, &format!("relay@{given}"), budget)).await;
    }
    let handle = given.trim_start_matches('@');
    let Some((_, host)) = handle
        .rsplit_once('@')
        .filter(|(u, h)| !u.is_empty() && !h.is_empty())
    else {
        return Err(FederationError::Invalid(format!(
            "`{given}` {}",
            "must be an actor URL or a handle such as `pole@instance.example`"
        )));
    };
    let mut url = Url::parse(&format!("{scheme}://{host}/.well-known/webfinger"))
        .map_err(|_| FederationError::Invalid(format!("`{given}` {}", "names no valid host")))?;
    url.query_pairs_mut()
        .append_pair("resource", &format!("acct:{handle}"));
    let document = fed
        .client
        .fetch_json_unsigned(&url, budget)
        .await
        .map_err(FederationError::from)?;
    document
        .get("links")
        .and_then(serde_json::Value::as_array)
        .and_then(|links| {
            links.iter().find(|l| {
                l.get("rel").and_then(serde_json::Value::as_str) == Some("self")
                    && l.get("type")
                        .and_then(serde_json::Value::as_str)
                        .is_some_and(|t| t.contains("activity+json") || t.contains("ld+json"))
            })
        })
        .and_then(|l| l.get("href"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| FederationError::NotFound(format!("an ActivityPub actor for `{handle}`")))
}

/// The instance actor that an instance's NodeInfo links to (FEP-2677), if it names one.
async fn instance_actor_of(
    fed: &Federation,
    scheme: &str,
    domain: &str,
    budget: &mut FetchBudget,
) -> Result<Option<String>> {
    let url = Url::parse(&format!("{scheme}://{domain}/.well-known/nodeinfo"))
        .map_err(|_| FederationError::Invalid(format!("`{domain}` is not a valid domain")))?;
    let document = fed
        .client
        .fetch_json_unsigned(&url, budget)
        .await
        .map_err(FederationError::from)?;
    Ok(document
        .get("links")
        .and_then(serde_json::Value::as_array)
        .and_then(|links| {
            links.iter().find(|l| {
                l.get("rel").and_then(serde_json::Value::as_str)
                    == Some("https://www.w3.org/ns/activitystreams#Application")
            })
        })
        .and_then(|l| l.get("href"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned))
}
