//! Who signed a request: the host it was signed for, the sender's key (ours, read locally;
//! known; or fetched, once for all the requests waiting on it, within a bound), and the
//! signature checked with it, the key fetched again once if it changed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::sync::broadcast;
use url::Url;

use super::client::{FetchBudget, FetchError};
use super::remote::{parse_actor, type_of};
use super::service::{Federation, FederationError, Result};
use super::signatures::{SignatureError, SignedRequest, key_id, verify};
use super::url_check::UrlError;
use crate::store::RemoteActor;

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
    fn from_fetch(key: &str, error: &FederationError) -> KeyError {
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

type Outcome = std::result::Result<RemoteActor, KeyError>;

/// Key fetches in flight, by key id: a request that needs a key being fetched waits for that
/// fetch instead of making its own.
#[derive(Default)]
pub struct KeyFetches {
    in_flight: Mutex<HashMap<String, broadcast::Sender<Outcome>>>,
}

/// The fetch one request makes for all: its outcome goes to every request waiting, and if
/// the request goes away first, they are let go to fetch themselves.
struct Leader<'a> {
    fetches: &'a KeyFetches,
    key: &'a str,
    done: bool,
}

impl Leader<'_> {
    fn finish(mut self, outcome: &Outcome) {
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

enum Turn<'a> {
    Fetch(Leader<'a>),
    Wait(broadcast::Receiver<Outcome>),
}

impl KeyFetches {
    fn turn<'a>(&'a self, key: &'a str) -> Turn<'a> {
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

impl Federation {
    /// How long a request waits for its sender's key.
    fn key_fetch_bound(&self) -> Duration {
        Duration::from_secs(self.config.federation.key_fetch_timeout_seconds.max(1))
    }

    fn key_timed_out(&self, key: &str) -> KeyError {
        KeyError::Unavailable {
            key: key.to_owned(),
            reason: format!(
                "its server did not answer within {} s",
                self.key_fetch_bound().as_secs()
            ),
        }
    }

    /// The stored owner of a signing key, if it is known.
    pub async fn known_key_owner(&self, key_id: &str) -> Result<Option<RemoteActor>> {
        if let Some(actor) = self.actors.get(key_id) {
            return Ok(Some(actor));
        }
        match self.store.remote_actor_by_key(key_id).await? {
            Some(actor) if !actor.deleted => {
                self.actors.put(&actor);
                Ok(Some(actor))
            }
            _ => Ok(None),
        }
    }

    /// The owner of a signing key, fetched through the key's URL (an actor document, or a key
    /// document naming its owner) and stored: one fetch for all the requests that wait on the
    /// same key, given up after `federation.key_fetch_timeout_seconds`.
    pub async fn fetch_key_owner(&self, key_id: &str, budget: &mut FetchBudget) -> Outcome {
        let bound = self.key_fetch_bound();
        loop {
            match self.key_fetches.turn(key_id) {
                Turn::Wait(mut fetching) => {
                    match tokio::time::timeout(bound, fetching.recv()).await {
                        Ok(Ok(outcome)) => return outcome,
                        // The request that was fetching went away: fetch here.
                        Ok(Err(_)) => continue,
                        Err(_) => return Err(self.key_timed_out(key_id)),
                    }
                }
                Turn::Fetch(leader) => {
                    let outcome = match tokio::time::timeout(
                        bound,
                        self.fetch_key_document(key_id, budget),
                    )
                    .await
                    {
                        Ok(Ok(actor)) => Ok(actor),
                        Ok(Err(e)) => {
                            let refused = KeyError::from_fetch(key_id, &e);
                            if matches!(refused, KeyError::Internal(_)) {
                                tracing::error!(key = key_id, error = %e, "a sender's key could not be checked");
                            } else {
                                tracing::info!(key = key_id, error = %e, "a sender's key could not be fetched");
                            }
                            Err(refused)
                        }
                        Err(_) => {
                            tracing::info!(
                                key = key_id,
                                "a sender's key server did not answer in time"
                            );
                            Err(self.key_timed_out(key_id))
                        }
                    };
                    leader.finish(&outcome);
                    return outcome;
                }
            }
        }
    }

    async fn fetch_key_document(
        &self,
        key_id: &str,
        budget: &mut FetchBudget,
    ) -> Result<RemoteActor> {
        let mut url = Url::parse(key_id)
            .map_err(|_| FederationError::Invalid(format!("the keyId `{key_id}` is not a URL")))?;
        url.set_fragment(None);
        let document = self.fetch(&url, budget).await?;
        let actor = if matches!(type_of(&document), "Key" | "CryptographicKey") {
            let owner = document
                .get("owner")
                .and_then(Value::as_str)
                .ok_or_else(|| FederationError::Invalid("the key names no owner".into()))?;
            let owner_url = Url::parse(owner)
                .map_err(|_| FederationError::Invalid("the key's owner is not a URL".into()))?;
            if owner_url.origin() != url.origin() {
                return Err(FederationError::Unauthorized(format!(
                    "the key `{key_id}` claims an owner on another server"
                )));
            }
            let document = self.fetch(&owner_url, budget).await?;
            parse_actor(&document).map_err(FederationError::Invalid)?
        } else {
            parse_actor(&document).map_err(FederationError::Invalid)?
        };
        if actor.key_id.as_deref() != Some(key_id) {
            return Err(FederationError::Unauthorized(format!(
                "`{}` does not publish the key `{key_id}`",
                actor.ap_id
            )));
        }
        let actor = self.store.upsert_remote_actor(&actor).await?;
        self.actors.forget(&actor.ap_id);
        Ok(actor)
    }
}

/// Who signed a request.
#[derive(Debug, Clone)]
pub enum Sender {
    /// An actor of another server.
    Remote(Box<RemoteActor>),
    /// One of our own actors (the instance or a local pole), by its id.
    Local(String),
}

impl Sender {
    pub fn ap_id(&self) -> &str {
        match self {
            Sender::Remote(actor) => &actor.ap_id,
            Sender::Local(id) => id,
        }
    }
}

/// The `keyId` of a signed request, refused before anything is fetched if the request was
/// signed for another host, or the key is not a URL, is on a blocked domain, a private
/// address or plain http, or its domain sent too much.
pub fn admitted_key(fed: &Federation, signed: &SignedRequest<'_>) -> Result<String> {
    let key = key_id(signed)?;
    check_host(fed, signed)?;
    let key_url = Url::parse(&key)
        .map_err(|_| FederationError::Unauthorized(format!("the keyId `{key}` is not a URL")))?;
    fed.client.check(&key_url)?;
    let key_host = crate::store::queue::inbox_domain(&key_url).unwrap_or_default();
    if !fed.limiter.allow(&key_host) {
        return Err(FederationError::RateLimited(key_host));
    }
    Ok(key)
}

/// The signed `host` must be this instance's own (that of `public_url`, with its port when it
/// is not the scheme's default), so that a request signed for another server cannot be
/// replayed here. The signature covers `host`: its value is the one verified.
fn check_host(fed: &Federation, signed: &SignedRequest<'_>) -> Result<(), SignatureError> {
    let ours = fed.store.domain();
    let signed_host = signed.headers.get("host").map(String::as_str).unwrap_or("");
    let default_port = match fed.store.url("/").starts_with("https://") {
        true => ":443",
        false => ":80",
    };
    let same = signed_host.eq_ignore_ascii_case(ours)
        || signed_host
            .strip_suffix(default_port)
            .is_some_and(|h| h.eq_ignore_ascii_case(ours));
    if same {
        Ok(())
    } else {
        Err(SignatureError::OtherHost {
            signed: signed_host.to_owned(),
            ours: ours.to_owned(),
        })
    }
}

/// One of our own keys: `(its actor's id, its public key)`; `None` for a key of another
/// server. A key on our origin that is none of our actors' is refused, never fetched.
async fn local_key(fed: &Federation, key: &str) -> Result<Option<(String, String)>> {
    let (Ok(key_url), Ok(base)) = (Url::parse(key), Url::parse(&fed.store.url("/"))) else {
        return Ok(None);
    };
    if key_url.origin() != base.origin() {
        return Ok(None);
    }
    let unknown =
        || FederationError::Unauthorized(format!("`{key}` is not a key of this instance"));
    let owner = key.strip_suffix("#main-key").ok_or_else(unknown)?;
    if owner == fed.instance_actor_id() {
        return Ok(Some((
            owner.to_owned(),
            fed.store.instance_keys().await?.public_key,
        )));
    }
    match fed.store.pole_by_ap_id(owner).await? {
        Some(pole) if pole.local => Ok(Some((
            owner.to_owned(),
            fed.store.pole_keys(pole.id).await?.public_key,
        ))),
        _ => Err(unknown()),
    }
}

/// Authenticates a signed request whose `key` was admitted: the actor whose key verifies its
/// signature. A remote key that no longer verifies is fetched once more (the sender may have
/// a new one), at most once a minute per actor.
pub async fn authenticate(
    fed: &Federation,
    signed: &SignedRequest<'_>,
    key: &str,
    budget: &mut FetchBudget,
) -> Result<Sender> {
    if let Some((owner, public_key)) = local_key(fed, key).await? {
        verify(signed, &public_key, SystemTime::now())?;
        return Ok(Sender::Local(owner));
    }
    let (owner, fetched_now) = match fed.known_key_owner(key).await? {
        Some(owner) => (owner, false),
        None => (fed.fetch_key_owner(key, budget).await?, true),
    };
    let public_key = |owner: &RemoteActor| owner.public_key_pem.clone().unwrap_or_default();
    match verify(signed, &public_key(&owner), SystemTime::now()) {
        Ok(()) => Ok(Sender::Remote(Box::new(owner))),
        Err(e @ (SignatureError::Invalid(_) | SignatureError::BadKey(_))) => {
            if fetched_now || !fed.key_refetches.allow(&owner.ap_id) {
                return Err(e.into());
            }
            let owner = fed.fetch_key_owner(key, budget).await?;
            verify(signed, &public_key(&owner), SystemTime::now())?;
            Ok(Sender::Remote(Box::new(owner)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Authenticates a signed GET of one of our documents (when fetches must be signed): the
/// actor whose key signed it. Refused: unsigned requests, requests signed for another host,
/// blocked or private key servers, signatures that do not verify.
pub async fn authenticate_fetch(
    fed: &Federation,
    method: &str,
    path_and_query: &str,
    headers: std::collections::BTreeMap<String, String>,
) -> Result<Sender> {
    let signed = SignedRequest {
        method,
        path_and_query,
        headers,
        body: None,
    };
    let key = admitted_key(fed, &signed)?;
    authenticate(fed, &signed, &key, &mut FetchBudget::default()).await
}
