//! Discovery without a centre: from one instance, walk the graph of whom instances follow
//! and their peers, to a bounded depth, so that an administrator can choose whom to follow.
//! Nothing is followed automatically.

use std::collections::{BTreeSet, HashSet, VecDeque};

use serde::Serialize;
use serde_json::Value;
use url::Url;

use super::client::FetchBudget;
use super::service::Federation;
use crate::federation::objects::json::first_id;

/// The most instances one walk looks at.
pub const MAX_INSTANCES: usize = 200;

/// An instance found, with what its NodeInfo says of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FoundInstance {
    pub domain: String,
    /// How many follows away from the starting instance.
    pub depth: u32,
    pub software: Option<String>,
    pub version: Option<String>,
    /// The instance actor, to follow it.
    pub actor: Option<String>,
    pub name: Option<String>,
    /// Its own poles (Maillage instances say it in NodeInfo).
    pub poles: Option<u64>,
    /// The régions of its poles.
    pub regions: Vec<String>,
    pub last_activity: Option<String>,
    /// Whether this instance already follows it.
    pub followed: bool,
    /// Why it could not be read, if it could not.
    pub error: Option<String>,
}

fn scheme(fed: &Federation) -> &'static str {
    fed.client.mode().scheme()
}

/// A domain (host, or host:port) from what was typed: a domain or a URL.
pub fn domain_of(given: &str) -> Option<String> {
    let given = given.trim().trim_start_matches('@');
    let given = given.rsplit_once('@').map_or(given, |(_, d)| d);
    let url = if given.contains("://") {
        Url::parse(given).ok()?
    } else {
        Url::parse(&format!("http://{given}")).ok()?
    };
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// Walks from `start` to `max_depth` follows away (0: the instance alone).
pub async fn discover(fed: &Federation, start: &str, max_depth: u32) -> Vec<FoundInstance> {
    let followed: HashSet<String> = match fed.store.list_following(&fed.instance_actor_id()).await {
        Ok(list) => list.into_iter().map(|f| f.actor.domain).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read whom this instance follows");
            HashSet::new()
        }
    };
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let mut queue = VecDeque::new();
    if let Some(domain) = domain_of(start) {
        seen.insert(domain.clone());
        queue.push_back((domain, 0));
    }
    let own = fed.store.domain().to_owned();
    while let Some((domain, depth)) = queue.pop_front() {
        let (mut instance, neighbours) = look_at(fed, &domain, depth).await;
        instance.followed = followed.contains(&domain);
        found.push(instance);
        if depth >= max_depth {
            continue;
        }
        for next in neighbours {
            if found.len() + queue.len() >= MAX_INSTANCES {
                break;
            }
            // A blocked domain is neither listed nor read.
            if next != own && !fed.client.blocks().is_blocked(&next) && seen.insert(next.clone()) {
                queue.push_back((next, depth + 1));
            }
        }
    }
    found
}

/// Reads one instance: its NodeInfo, and whom its instance actor follows.
async fn look_at(fed: &Federation, domain: &str, depth: u32) -> (FoundInstance, BTreeSet<String>) {
    let mut instance = FoundInstance {
        domain: domain.to_owned(),
        depth,
        software: None,
        version: None,
        actor: None,
        name: None,
        poles: None,
        regions: Vec::new(),
        last_activity: None,
        followed: false,
        error: None,
    };
    let mut neighbours = BTreeSet::new();
    let mut budget = FetchBudget::default();
    let links = match get(
        fed,
        &format!("{}://{domain}/.well-known/nodeinfo", scheme(fed)),
        &mut budget,
    )
    .await
    {
        Ok(links) => links,
        Err(e) => {
            instance.error = Some(e);
            return (instance, neighbours);
        }
    };
    let links = links
        .get("links")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let href = |rel: &dyn Fn(&str) -> bool| {
        links
            .iter()
            .find(|l| l.get("rel").and_then(Value::as_str).is_some_and(rel))
            .and_then(|l| l.get("href"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    instance.actor = href(&|r| r == "https://www.w3.org/ns/activitystreams#Application");
    if let Some(url) = href(&|r| r.starts_with("http://nodeinfo.diaspora.software/ns/schema/2.")) {
        match get(fed, &url, &mut budget).await {
            Ok(info) => {
                let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
                instance.software = text(info.pointer("/software/name"));
                instance.version = text(info.pointer("/software/version"));
                instance.name = text(info.pointer("/metadata/nodeName"));
                instance.poles = info.pointer("/metadata/poles").and_then(Value::as_u64);
                instance.last_activity = text(info.pointer("/metadata/lastActivity"));
                instance.regions = info
                    .pointer("/metadata/regions")
                    .and_then(Value::as_array)
                    .map(|r| {
                        r.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(peers) = info.pointer("/metadata/peers").and_then(Value::as_array) {
                    neighbours.extend(peers.iter().filter_map(Value::as_str).filter_map(domain_of));
                }
            }
            Err(e) => instance.error = Some(e),
        }
    }
    // Whom its instance actor follows, from the actor's `following` collection.
    if let Some(actor) = &instance.actor
        && let Ok(document) = signed_get(fed, actor, &mut budget).await
        && let Some(following) = document.get("following").and_then(first_id)
        && let Ok(collection) = signed_get(fed, following, &mut budget).await
    {
        let items = match collection
            .get("orderedItems")
            .or_else(|| collection.get("items"))
        {
            Some(items) => items.clone(),
            None => match collection.get("first") {
                Some(first) if first.is_object() => first
                    .get("orderedItems")
                    .or_else(|| first.get("items"))
                    .cloned()
                    .unwrap_or_default(),
                Some(first) => match first.as_str() {
                    Some(page) => signed_get(fed, page, &mut budget)
                        .await
                        .ok()
                        .and_then(|p| p.get("orderedItems").or_else(|| p.get("items")).cloned())
                        .unwrap_or_default(),
                    None => Value::Null,
                },
                None => Value::Null,
            },
        };
        if let Some(items) = items.as_array() {
            neighbours.extend(items.iter().filter_map(first_id).filter_map(domain_of));
        }
    }
    neighbours.remove(domain);
    (instance, neighbours)
}

async fn get(fed: &Federation, url: &str, budget: &mut FetchBudget) -> Result<Value, String> {
    let url = Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    fed.client
        .fetch_json_unsigned(&url, budget)
        .await
        .map_err(|e| e.to_string())
}

async fn signed_get(
    fed: &Federation,
    url: &str,
    budget: &mut FetchBudget,
) -> Result<Value, String> {
    let url = Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    fed.fetch(&url, budget).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::domain_of;

    #[test]
    fn domains_from_what_people_type() {
        assert_eq!(
            domain_of("ptce.example.org").as_deref(),
            Some("ptce.example.org")
        );
        assert_eq!(
            domain_of("https://PTCE.example.org/actor").as_deref(),
            Some("ptce.example.org")
        );
        assert_eq!(
            domain_of("relay@ptce.example.org").as_deref(),
            Some("ptce.example.org")
        );
        assert_eq!(
            domain_of("127.0.0.1:4001").as_deref(),
            Some("127.0.0.1:4001")
        );
        assert_eq!(
            domain_of("http://127.0.0.1:4001/actor").as_deref(),
            Some("127.0.0.1:4001")
        );
        assert_eq!(domain_of(""), None);
    }
}
