//! The federation service: the store, the HTTP client and the signing keys together, with
//! what inboxes, publishing and delivery share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::{Notify, broadcast};
use url::Url;

use super::client::{Client, FetchBudget, FetchError, Signer};
use super::url_check::UrlError;
use crate::config::Config;
use crate::federation::objects::actor::parse_actor;
use crate::federation::signatures::SignatureError;
use crate::store::queue::Queued;
use crate::store::{RemoteActor, Store, StoreError};

/// Why an incoming activity or a federation action was refused.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("too many activities from `{0}`; slow down")]
    RateLimited(String),
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// What federation needs could not be set up (the HTTP client, the trusted roots).
    #[error("federation cannot start: {0}")]
    Setup(String),
}

pub type Result<T, E = FederationError> = std::result::Result<T, E>;

impl FederationError {
    /// Why an activity was refused, in a word: the label operators count refusals by.
    pub fn reason(&self) -> &'static str {
        match self {
            FederationError::Invalid(_) => "invalid_activity",
            FederationError::Unauthorized(_) => "not_the_signer",
            FederationError::Forbidden(_) => "forbidden",
            FederationError::NotFound(_) => "not_found",
            FederationError::RateLimited(_) => "rate_limited",
            FederationError::Signature(e) => match e {
                SignatureError::Missing => "unsigned",
                SignatureError::Malformed(_) => "malformed_signature",
                SignatureError::Algorithm(_) => "unsupported_algorithm",
                SignatureError::NoDate => "no_date",
                SignatureError::DateOutOfWindow => "date_out_of_window",
                SignatureError::NoDigest => "no_digest",
                SignatureError::DigestNotSigned => "digest_not_signed",
                SignatureError::DigestMismatch => "digest_mismatch",
                SignatureError::BadKey(_) => "unreadable_key",
                SignatureError::Invalid(_) => "bad_signature",
                SignatureError::OtherHost { .. } => "signed_for_another_host",
            },
            FederationError::Url(_) => "refused_address",
            FederationError::Fetch(_) => "fetch_failed",
            FederationError::Key(e) => match e {
                KeyError::Unavailable { .. } => "key_unavailable",
                KeyError::Gone(_) => "key_gone",
                KeyError::Refused { .. } => "key_refused",
                KeyError::Internal(_) => "internal",
            },
            FederationError::Store(_) | FederationError::Setup(_) => "internal",
        }
    }
}

/// Why a sender's key could not be had. It can be cloned, so that every request waiting on
/// one fetch gets its outcome; what went wrong on the network is logged, not answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the sender's key `{key}` could not be fetched: {reason}")]
    Unavailable { key: String, reason: String },
    #[error("the sender's key `{0}` is gone")]
    Gone(String),
    #[error("the sender's key `{key}` cannot be used: {reason}")]
    Refused { key: String, reason: String },
    /// A failure of this instance (its database, its own key), not of the sender.
    #[error("the sender's key `{0}` could not be checked")]
    Internal(String),
}

impl KeyError {
    pub fn from_fetch(key: &str, error: &FederationError) -> KeyError {
        let unavailable = |reason: &str| KeyError::Unavailable {
            key: key.to_owned(),
            reason: reason.to_owned(),
        };
        match error {
            FederationError::Fetch(fetch) => match fetch {
                FetchError::Gone(_) => KeyError::Gone(key.to_owned()),
                FetchError::Network(..) => unavailable("its server could not be reached"),
                FetchError::Status(_, status) => {
                    unavailable(&format!("its server answered {status}"))
                }
                FetchError::TooLarge(_) => unavailable("its document is larger than 1 MiB"),
                FetchError::NotJson(..) => unavailable("its document is not JSON"),
                FetchError::OtherOrigin { .. } => {
                    unavailable("its document's id is on another origin")
                }
                FetchError::TooManyFetches => unavailable("it needs too many fetches"),
                FetchError::Url(UrlError::Resolve(host, _)) => {
                    unavailable(&format!("the name `{host}` could not be resolved"))
                }
                FetchError::Url(url) => unavailable(&url.to_string()),
                FetchError::Sign(_) => KeyError::Internal(key.to_owned()),
            },
            FederationError::Store(_) | FederationError::Key(KeyError::Internal(_)) => {
                KeyError::Internal(key.to_owned())
            }
            FederationError::Key(e) => e.clone(),
            other => KeyError::Refused {
                key: key.to_owned(),
                reason: other.to_string(),
            },
        }
    }
}

pub type Outcome = std::result::Result<RemoteActor, KeyError>;

/// Key fetches in flight, by key id: a request that needs a key being fetched waits for that
/// fetch instead of making its own.
#[derive(Default)]
pub struct KeyFetches {
    in_flight: Mutex<HashMap<String, broadcast::Sender<Outcome>>>,
}

/// The fetch one request makes for all: its outcome goes to every request waiting, and if
/// the request goes away first, they are let go to fetch themselves.
pub struct Leader<'a> {
    fetches: &'a KeyFetches,
    key: &'a str,
    done: bool,
}

impl Leader<'_> {
    pub fn finish(mut self, outcome: &Outcome) {
        self.done = true;
        if let Ok(mut in_flight) = self.fetches.in_flight.lock()
            && let Some(waiting) = in_flight.remove(self.key)
        {
            let _ = waiting.send(outcome.clone());
        }
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        if !self.done
            && let Ok(mut in_flight) = self.fetches.in_flight.lock()
        {
            in_flight.remove(self.key);
        }
    }
}

pub enum Turn<'a> {
    Fetch(Leader<'a>),
    Wait(broadcast::Receiver<Outcome>),
}

impl KeyFetches {
    pub fn turn<'a>(&'a self, key: &'a str) -> Turn<'a> {
        let leader = || Leader {
            fetches: self,
            key,
            done: false,
        };
        let Ok(mut in_flight) = self.in_flight.lock() else {
            return Turn::Fetch(leader());
        };
        if let Some(fetching) = in_flight.get(key) {
            return Turn::Wait(fetching.subscribe());
        }
        let (sender, _) = broadcast::channel(1);
        in_flight.insert(key.to_owned(), sender);
        Turn::Fetch(leader())
    }
}

/// How long an actor looked up by its key is kept in memory. Another process sharing the
/// database may have stored a newer copy; the delay bounds how long this one can miss it,
/// and a signature that no longer verifies fetches the actor again at once.
const ACTOR_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);
const ACTOR_CACHE_SIZE: usize = 10_000;

/// Remote actors by key id, so that an inbox request from a known sender reads nothing
/// from the database to check its signature.
#[derive(Default)]
pub struct ActorCache {
    entries: Mutex<HashMap<String, (RemoteActor, Instant)>>,
}

impl ActorCache {
    pub fn get(&self, key_id: &str) -> Option<RemoteActor> {
        let entries = self.entries.lock().ok()?;
        let (actor, at) = entries.get(key_id)?;
        (at.elapsed() < ACTOR_CACHE_TTL).then(|| actor.clone())
    }

    pub fn put(&self, actor: &RemoteActor) {
        let (Some(key), Ok(mut entries)) = (actor.key_id.as_ref(), self.entries.lock()) else {
            return;
        };
        if entries.len() >= ACTOR_CACHE_SIZE {
            entries.retain(|_, (_, at)| at.elapsed() < ACTOR_CACHE_TTL);
            if entries.len() >= ACTOR_CACHE_SIZE {
                entries.clear();
            }
        }
        entries.insert(key.clone(), (actor.clone(), Instant::now()));
    }

    /// Forgets an actor that was updated or deleted.
    pub fn forget(&self, ap_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (actor, _)| actor.ap_id != ap_id);
        }
    }
}

/// A fixed-window counter per domain, for inbox rate limits.
#[derive(Default)]
pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `domain`; `false` when it is over its limit.
    pub fn allow(&self, domain: &str) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let Ok(mut windows) = self.windows.lock() else {
            return true;
        };
        let now = Instant::now();
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start).as_secs() < 60);
        }
        let entry = windows.entry(domain.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0).as_secs() >= 60 {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_minute
    }
}

/// What this process queued since the delivery workers last looked: they start on these
/// domains with the activity at hand, without reading the queue back first. Past
/// [`JustQueued::MOST`] entries (workers not running, or far behind), only the fact is kept,
/// and the workers read the queue.
#[derive(Debug, Default)]
pub struct JustQueued {
    pub entries: Vec<Queued>,
    pub overflowed: bool,
}

impl JustQueued {
    pub const MOST: usize = 1024;

    pub fn push(&mut self, queued: Queued) {
        if self.entries.len() < Self::MOST {
            self.entries.push(queued);
        } else {
            self.overflowed = true;
        }
    }
}

pub struct Federation {
    pub store: Store,
    pub config: Arc<Config>,
    pub client: Client,
    /// Woken when a change is written, so that it is published at once.
    pub publish_wakeup: Notify,
    /// Woken when deliveries are queued.
    pub deliver_wakeup: Notify,
    /// What this process queued since the delivery workers last looked.
    pub queued: Mutex<JustQueued>,
    /// Names this process in delivery leases.
    pub worker_id: String,
    pub limiter: RateLimiter,
    pub actors: ActorCache,
    /// Key fetches in flight, shared by the requests waiting on them.
    pub key_fetches: KeyFetches,
    /// Fetches of an actor again because its signature failed: once a minute per actor.
    pub key_refetches: RateLimiter,
    /// Held while the stored domain blocks are read again (see `blocks::reload`).
    pub blocks_reload: tokio::sync::Mutex<()>,
}

impl Federation {
    /// Fails rather than run with another client than the configured one (one that would
    /// not check addresses, or not trust the configured roots).
    pub fn new(store: Store, config: Arc<Config>) -> Result<Arc<Federation>> {
        let roots = config
            .extra_root_certificates()
            .map_err(|e| FederationError::Setup(e.to_string()))?;
        let client = Client::new(
            config.network_mode(),
            config.domain_blocks(),
            &config.public_url,
            roots,
            super::client::Timeouts::from_config(&config.federation),
        )
        .map_err(|e| FederationError::Setup(format!("the HTTP client: {e}")))?;
        let limiter = RateLimiter::new(config.federation.inbox_requests_per_minute);
        Ok(Arc::new(Federation {
            store,
            client,
            limiter,
            actors: ActorCache::default(),
            key_fetches: KeyFetches::default(),
            key_refetches: RateLimiter::new(1),
            blocks_reload: tokio::sync::Mutex::new(()),
            publish_wakeup: Notify::new(),
            deliver_wakeup: Notify::new(),
            queued: Mutex::new(JustQueued::default()),
            worker_id: format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple()),
            config,
        }))
    }

    pub fn instance_actor_id(&self) -> String {
        self.store.url("/actor")
    }

    /// A fresh activity id on this instance.
    pub fn new_activity_id(&self) -> String {
        self.store
            .url(&format!("/activities/{}", uuid::Uuid::now_v7()))
    }

    /// The signer of one of our actors: the instance, or a pole by its actor id.
    pub async fn signer_for(&self, actor: &str) -> Result<Signer> {
        if let Some(signer) = self.client.cached_signer(actor) {
            return Ok(signer);
        }
        if actor == self.instance_actor_id() {
            let keys = self.store.instance_keys().await?;
            return Ok(self.client.signer(
                actor,
                &format!("{actor}#main-key"),
                &keys.private_key,
            )?);
        }
        let pole = self
            .store
            .pole_by_ap_id(actor)
            .await?
            .filter(|p| p.local)
            .ok_or_else(|| FederationError::NotFound(format!("no local actor `{actor}`")))?;
        let keys = self.store.pole_keys(pole.id).await?;
        Ok(self
            .client
            .signer(actor, &format!("{actor}#main-key"), &keys.private_key)?)
    }

    /// Fetches a document, signed by the instance actor.
    pub async fn fetch(&self, url: &Url, budget: &mut FetchBudget) -> Result<Value> {
        let signer = self.signer_for(&self.instance_actor_id()).await?;
        Ok(self.client.fetch(url, &signer, budget).await?)
    }

    /// Fetches an actor and stores it.
    pub async fn refresh_actor(&self, id: &str, budget: &mut FetchBudget) -> Result<RemoteActor> {
        let url =
            Url::parse(id).map_err(|_| FederationError::Invalid(format!("`{id}` is not a URL")))?;
        let document = self.fetch(&url, budget).await?;
        if document.get("id").and_then(Value::as_str) != Some(url.as_str()) {
            return Err(FederationError::Invalid(format!(
                "`{id}` answered with another document"
            )));
        }
        let actor = parse_actor(&document).map_err(FederationError::Invalid)?;
        let actor = self.store.upsert_remote_actor(&actor).await?;
        self.actors.forget(&actor.ap_id);
        Ok(actor)
    }

    /// A remote actor, from the store or else fetched.
    pub async fn actor(&self, id: &str, budget: &mut FetchBudget) -> Result<RemoteActor> {
        match self.store.remote_actor(id).await? {
            Some(actor) if !actor.deleted => Ok(actor),
            _ => self.refresh_actor(id, budget).await,
        }
    }

    /// Queues an activity of `actor` for the given inboxes and wakes the senders.
    pub async fn send(&self, activity: &Value, actor: &str, inboxes: &[String]) -> Result<usize> {
        let id = activity
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| FederationError::Invalid("an activity without id".into()))?;
        let urls: Vec<Url> = inboxes
            .iter()
            .filter_map(|i| match Url::parse(i) {
                Ok(u) => Some(u),
                Err(e) => {
                    tracing::warn!(inbox = %i, error = %e, "skipping an inbox that is not a URL");
                    None
                }
            })
            .filter(|u| {
                let blocked = u
                    .host_str()
                    .is_some_and(|host| self.client.blocks().is_blocked(host));
                if blocked {
                    tracing::debug!(inbox = %u, "not sending to a blocked domain");
                }
                !blocked
            })
            .collect();
        let Some(queued) = self
            .store
            .enqueue(id, actor, activity, &urls, chrono::Utc::now())
            .await?
        else {
            return Ok(0);
        };
        let added = queued.added;
        if added > 0 {
            if let Ok(mut just) = self.queued.lock() {
                just.push(queued);
            }
            self.deliver_wakeup.notify_one();
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::queue::OutgoingActivity;

    fn queued(n: i64) -> Queued {
        Queued {
            activity: OutgoingActivity {
                id: n,
                activity_id: format!("https://a.example/activities/{n}"),
                signer: "https://a.example/actor".into(),
                body: "{}".into(),
            },
            added: 1,
            domains: vec![format!("i{n}.example")],
        }
    }

    #[test]
    fn what_was_just_queued_is_kept_up_to_a_bound_then_only_the_fact() {
        let mut just = JustQueued::default();
        for n in 0..JustQueued::MOST as i64 {
            just.push(queued(n));
        }
        assert!(!just.overflowed);
        just.push(queued(-1));
        assert_eq!(just.entries.len(), JustQueued::MOST);
        assert!(just.overflowed, "the workers are told to read the queue");
    }
}
