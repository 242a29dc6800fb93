//! Talking to other servers: signed fetches by the instance actor and signed deliveries,
//! never to a private address (unless in development mode), never more than 1 MiB back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

use super::url_check::{DomainBlocks, NetworkMode, UrlError, check_resolved, check_url, lookup};
use crate::federation::objects::context::ACTIVITY_JSON;
use crate::federation::signatures::{
    SignatureError, SigningKey, private_key, sign_request, sign_with_digest,
};
use crate::store::queue::Outcome;

/// The largest document or activity accepted from another server.
pub const MAX_BODY: usize = 1024 * 1024;
/// How many documents one incoming activity may make us fetch.
pub const MAX_FETCHES_PER_ACTIVITY: u32 = 5;
/// How many redirects a fetch may follow.
const MAX_REDIRECTS: usize = 3;

const ACCEPT_ACTIVITY: &str = "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("fetching `{0}` failed: {1}")]
    Network(String, String),
    #[error("`{0}` answered {1}")]
    Status(String, u16),
    #[error("`{0}` is gone")]
    Gone(String),
    #[error("`{0}` sent more than 1 MiB")]
    TooLarge(String),
    #[error("`{0}` did not send JSON: {1}")]
    NotJson(String, String),
    #[error("`{url}` sent a document whose id `{id}` is on another origin")]
    OtherOrigin { url: String, id: String },
    #[error("this activity needs more than {MAX_FETCHES_PER_ACTIVITY} fetches")]
    TooManyFetches,
    #[error("cannot sign: {0}")]
    Sign(#[from] SignatureError),
}

/// Fetches one incoming activity may still make: a cap against activities that send us
/// chasing links.
#[derive(Debug)]
pub struct FetchBudget {
    left: u32,
}

impl Default for FetchBudget {
    fn default() -> Self {
        FetchBudget {
            left: MAX_FETCHES_PER_ACTIVITY,
        }
    }
}

impl FetchBudget {
    fn spend(&mut self) -> Result<(), FetchError> {
        self.left = self.left.checked_sub(1).ok_or(FetchError::TooManyFetches)?;
        Ok(())
    }
}

/// Resolves names and refuses any that points at a non-public address: the check is made on
/// the addresses the connection will use, so a name cannot be switched to 127.0.0.1 between a
/// check and a connection.
struct GuardedResolver {
    mode: NetworkMode,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let mode = self.mode.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs = lookup(&host, 0).await?;
            let addrs = check_resolved(&host, addrs, &mode)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Who signs a request: an actor's key id and its private key.
#[derive(Clone)]
pub struct Signer {
    pub key_id: String,
    pub key: Arc<SigningKey>,
}

impl Signer {
    pub fn new(key_id: String, private_key_pem: &str) -> Result<Signer, SignatureError> {
        Ok(Signer {
            key_id,
            key: Arc::new(private_key(private_key_pem)?),
        })
    }
}

/// How long the client waits for other servers. A server that is down refuses or drops
/// connections, found out within `connect`; one that takes connections and never answers
/// is only found out by `request`, which bounds the whole exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Timeouts {
    pub fn from_config(federation: &crate::config::FederationConfig) -> Timeouts {
        let connect = Duration::from_secs(federation.connect_timeout_seconds.max(1));
        Timeouts {
            connect,
            request: Duration::from_secs(federation.request_timeout_seconds).max(connect),
        }
    }
}

/// The HTTP client of federation.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    mode: NetworkMode,
    blocks: DomainBlocks,
    /// Parsed private keys by actor, so that each delivery does not parse PEM again.
    keys: Arc<Mutex<HashMap<String, Signer>>>,
}

impl Client {
    /// `roots`: certificate authorities trusted besides the usual ones.
    pub fn new(
        mode: NetworkMode,
        blocks: DomainBlocks,
        public_url: &str,
        roots: Vec<reqwest::Certificate>,
        timeouts: Timeouts,
    ) -> Result<Client, reqwest::Error> {
        // The process may already have a provider (tests start several instances).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let user_agent = format!(
            "Maillage/{} (+{})",
            env!("CARGO_PKG_VERSION"),
            public_url.trim_end_matches('/')
        );
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .pool_max_idle_per_host(4)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { mode: mode.clone() }))
            .tls_certs_merge(roots)
            .no_proxy()
            .build()?;
        Ok(Client {
            http,
            mode,
            blocks,
            keys: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    pub fn mode(&self) -> NetworkMode {
        self.mode.clone()
    }

    pub fn blocks(&self) -> &DomainBlocks {
        &self.blocks
    }

    /// Checks a URL before any connection: scheme, blocked domain, literal private address.
    pub fn check(&self, url: &Url) -> Result<(), UrlError> {
        check_url(url, &self.mode, &self.blocks)
    }

    /// The signer of an actor whose key was parsed before.
    pub fn cached_signer(&self, actor: &str) -> Option<Signer> {
        self.keys.lock().ok()?.get(actor).cloned()
    }

    /// The signer of an actor, its key parsed once.
    pub fn signer(&self, actor: &str, key_id: &str, pem: &str) -> Result<Signer, SignatureError> {
        if let Ok(keys) = self.keys.lock()
            && let Some(signer) = keys.get(actor)
        {
            return Ok(signer.clone());
        }
        let signer = Signer::new(key_id.to_owned(), pem)?;
        if let Ok(mut keys) = self.keys.lock() {
            keys.insert(actor.to_owned(), signer.clone());
        }
        Ok(signer)
    }

    /// GETs an ActivityPub document, signed by `signer`, following a few redirects; the
    /// document's `id` must be on the origin it was finally fetched from.
    pub async fn fetch(
        &self,
        url: &Url,
        signer: &Signer,
        budget: &mut FetchBudget,
    ) -> Result<Value, FetchError> {
        let (document, url) = self.get_json(url, Some(signer), budget).await?;
        let id = document
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let same_origin = Url::parse(id).is_ok_and(|id| id.origin() == url.origin());
        if !same_origin {
            return Err(FetchError::OtherOrigin {
                url: url.to_string(),
                id: id.to_owned(),
            });
        }
        Ok(document)
    }

    /// GETs a JSON document that is not an ActivityPub object (WebFinger), unsigned.
    pub async fn fetch_json_unsigned(
        &self,
        url: &Url,
        budget: &mut FetchBudget,
    ) -> Result<Value, FetchError> {
        Ok(self.get_json(url, None, budget).await?.0)
    }

    /// GETs JSON, following a few redirects; gives the document and where it came from.
    async fn get_json(
        &self,
        url: &Url,
        signer: Option<&Signer>,
        budget: &mut FetchBudget,
    ) -> Result<(Value, Url), FetchError> {
        budget.spend()?;
        let mut url = url.clone();
        url.set_fragment(None);
        for _ in 0..=MAX_REDIRECTS {
            self.check(&url)?;
            let headers = match signer {
                Some(signer) => header_map(&sign_request(
                    &url,
                    None,
                    &signer.key_id,
                    &signer.key,
                    SystemTime::now(),
                )?),
                None => HeaderMap::new(),
            };
            let response = self
                .http
                .get(url.clone())
                .headers(headers)
                .header(ACCEPT, ACCEPT_ACTIVITY)
                .send()
                .await
                .map_err(|e| FetchError::Network(url.to_string(), error_chain(&e)))?;
            let status = response.status();
            if status.is_redirection() {
                let next = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .ok_or_else(|| FetchError::Status(url.to_string(), status.as_u16()))?;
                url = next;
                continue;
            }
            if status == reqwest::StatusCode::GONE {
                return Err(FetchError::Gone(url.to_string()));
            }
            if !status.is_success() {
                return Err(FetchError::Status(url.to_string(), status.as_u16()));
            }
            let body = read_capped(response, &url).await?;
            let document: Value = serde_json::from_slice(&body)
                .map_err(|e| FetchError::NotJson(url.to_string(), e.to_string()))?;
            return Ok((document, url));
        }
        Err(FetchError::Network(
            url.to_string(),
            "too many redirects".into(),
        ))
    }

    /// POSTs one activity to an inbox, signed; says whether to try again.
    pub async fn deliver(
        &self,
        inbox: &str,
        body: &bytes::Bytes,
        digest: &str,
        signer: &Signer,
    ) -> Outcome {
        let url = match Url::parse(inbox) {
            Ok(url) => url,
            Err(e) => return Outcome::Refused(format!("`{inbox}` is not a URL: {e}")),
        };
        if let Err(e) = self.check(&url) {
            return Outcome::Refused(e.to_string());
        }
        let headers = match sign_with_digest(
            &url,
            Some(digest),
            &signer.key_id,
            &signer.key,
            SystemTime::now(),
        ) {
            Ok(h) => h,
            Err(e) => return Outcome::Retry(format!("cannot sign: {e}")),
        };
        let response = self
            .http
            .post(url.clone())
            .headers(header_map(&headers))
            .header(CONTENT_TYPE, ACTIVITY_JSON)
            .body(body.clone())
            .send()
            .await;
        match response {
            Err(e) => Outcome::Retry(error_chain(&e)),
            Ok(r) if r.status().is_success() => Outcome::Delivered,
            Ok(r) => {
                let status = r.status();
                if status.is_server_error()
                    || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                    || status == reqwest::StatusCode::REQUEST_TIMEOUT
                {
                    Outcome::Retry(format!("{inbox} answered {status}"))
                } else {
                    Outcome::Refused(format!("{inbox} answered {status}"))
                }
            }
        }
    }
}

fn header_map(headers: &std::collections::BTreeMap<String, String>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if name == "host" {
            // reqwest writes Host from the URL, with the same value.
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.insert(name, value);
        }
    }
    map
}

/// Reads a response body, refusing more than [`MAX_BODY`] bytes without reading them all.
async fn read_capped(mut response: reqwest::Response, url: &Url) -> Result<Vec<u8>, FetchError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(FetchError::TooLarge(url.to_string()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::Network(url.to_string(), error_chain(&e)))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(FetchError::TooLarge(url.to_string()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error with its causes, which reqwest keeps in its source chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve;
    use std::net::SocketAddr;

    async fn resolve(mode: NetworkMode, name: &str) -> Result<Vec<SocketAddr>, String> {
        let name: reqwest::dns::Name = name.parse().map_err(|e| format!("{e:?}"))?;
        GuardedResolver { mode }
            .resolve(name)
            .await
            .map(Iterator::collect)
            .map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn the_resolver_answers_localhost_names_itself_and_guards_them() {
        let loopback: Vec<SocketAddr> = vec![
            "127.0.0.1:0".parse().expect("addr"),
            "[::1]:0".parse().expect("addr"),
        ];
        for name in ["localhost", "a.localhost", "e.LOCALHOST"] {
            assert_eq!(
                resolve(NetworkMode::Development, name).await,
                Ok(loopback.clone()),
                "{name}"
            );
            let refused = resolve(NetworkMode::Production, name).await.unwrap_err();
            assert!(refused.contains("loopback"), "{name}: {refused}");
        }
    }
}
