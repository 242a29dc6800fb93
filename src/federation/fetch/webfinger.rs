//! Finding an actor from what an administrator typed: an actor URL, a handle looked up with
//! WebFinger, or an instance's domain, whose actor its NodeInfo names (FEP-2677).

use url::Url;

use super::client::FetchBudget;
use super::service::{Federation, FederationError, Result};

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
