//! Who signed a request: the host it was signed for, the sender's key (ours, read locally;
//! known; or fetched, once for all the requests waiting on it, within a bound), and the
//! signature checked with it, the key fetched again once if it changed.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use url::Url;

use super::client::FetchBudget;
use super::service::{Federation, FederationError, KeyError, Outcome, Result, Turn};
use crate::federation::objects::actor::parse_actor;
use crate::federation::objects::json::type_of;
use crate::federation::signatures::{SignatureError, SignedRequest, key_id, verify};
use crate::store::RemoteActor;

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
