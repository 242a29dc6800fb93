//! Federation as production runs it: HTTPS only, certificates of a private CA, Maillage
//! behind the reverse proxies of `deploy/` (Caddy and nginx, from the distribution's
//! packages), in production mode with loopback allowed by `federation.allowed_addresses`.
//!
//! Ignored unless asked for: `MAILLAGE_TEST_TLS=1 cargo test --test https -- --include-ignored`
//! (it installs `caddy` and `nginx` with apt-get when they are missing, and adds the test
//! names under `.localhost` to `/etc/hosts`, so it runs as root).

mod common;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method as HttpMethod, StatusCode as HttpStatus, Uri};
use common::tls::{self, Ca, Proxy, ProxyKind, Site};
use maillage::federation::signatures::{self, SignedRequest};
use reqwest::StatusCode;

// ---------------------------------------------------------------------------------------
// The proxies alone: what a signed request looks like once it has gone through them.

/// A request as the upstream received it.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path_and_query: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// An upstream that records every request and answers 202 to a POST, a small JSON document
/// to a GET.
async fn recorder() -> (u16, Log, tokio::task::JoinHandle<()>) {
    let log: Log = Arc::default();
    let kept = log.clone();
    let app = axum::Router::new().fallback(
        move |method: HttpMethod, uri: Uri, headers: HeaderMap, body: Bytes| {
            let kept = kept.clone();
            async move {
                kept.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(Received {
                        method: method.to_string(),
                        path_and_query: uri
                            .path_and_query()
                            .map(|p| p.as_str().to_owned())
                            .unwrap_or_default(),
                        headers,
                        body: body.to_vec(),
                    });
                if method == HttpMethod::POST {
                    (HttpStatus::ACCEPTED, String::new())
                } else {
                    (HttpStatus::OK, "{\"type\":\"Note\"}".to_owned())
                }
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (port, log, task)
}

fn last(log: &Log) -> Received {
    log.lock()
        .unwrap_or_else(|e| e.into_inner())
        .last()
        .cloned()
        .expect("a request reached the upstream")
}

/// Checks the request with Maillage's own verifier, as its inbox and its signed-fetch check
/// would.
fn verify(received: &Received, public_key: &str) -> Result<(), signatures::SignatureError> {
    let request = SignedRequest {
        method: &received.method,
        path_and_query: &received.path_and_query,
        headers: signatures::header_map(&received.headers),
        body: (received.method == "POST").then_some(received.body.as_slice()),
    };
    signatures::verify(&request, public_key, SystemTime::now())
}

fn header<'a>(received: &'a Received, name: &str) -> Vec<&'a str> {
    received
        .headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// Sends `method` to `url` signed as `key_id`, with the headers Maillage's deliveries and
/// signed fetches carry; a client's own `X-Forwarded-*` headers are added to check that the
/// proxy replaces them.
async fn send_signed(
    client: &reqwest::Client,
    url: &str,
    body: Option<&[u8]>,
    key_id: &str,
    private_key: &str,
) -> StatusCode {
    let parsed = url::Url::parse(url).expect("url");
    let key = signatures::private_key(private_key).expect("key");
    let headers =
        signatures::sign_request(&parsed, body, key_id, &key, SystemTime::now()).expect("sign");
    let mut request = match body {
        Some(body) => client
            .post(url)
            .header("content-type", "application/activity+json")
            .body(body.to_vec()),
        None => client
            .get(url)
            .header("accept", "application/activity+json"),
    };
    for (name, value) in headers {
        // reqwest writes Host itself, from the URL, as the signature has it.
        if name != "host" {
            request = request.header(name, value);
        }
    }
    request
        .header("x-forwarded-proto", "http")
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e:?}"))
        .status()
}

/// A body larger than the proxies' in-memory buffers (nginx writes it to a temporary file),
/// with characters that an encoding change would alter.
fn large_body() -> Vec<u8> {
    let filler = "Coopération — « pôle » ✓ ".repeat(12_000);
    serde_json::to_vec(&serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://remote.example/activities/1",
        "type": "Create",
        "actor": "https://remote.example/actor",
        "object": {"type": "Note", "content": filler}
    }))
    .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MAILLAGE_TEST_TLS=1 (Caddy and nginx from the distribution, /etc/hosts)"]
async fn proxies_keep_signatures_and_forwarded_proto() {
    tls::require_enabled();
    common::init_logs();
    let ca = Ca::new();
    let keys = activitypub_federation::http_signatures::generate_actor_keypair().expect("RSA keys");
    let key_id = "https://remote.example/actor#main-key";
    let (upstream, log, task) = recorder().await;

    for kind in [ProxyKind::Caddy, ProxyKind::Nginx] {
        let name = format!("{}.maillage.localhost", kind.label());
        tls::ensure_hosts(&[&name]);
        let port = tls::free_port();
        let site = Site {
            name: name.clone(),
            port,
            upstream,
            certificate: ca.issue(&[&name]),
        };
        let proxy = tokio::task::spawn_blocking(move || Proxy::start(kind, &[site]))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let client = ca.client(&[(&name, port)]);
        let origin = format!("https://{name}:{port}");
        let what = |m: &str| format!("{} through {}:\n{}", m, kind.label(), proxy.config);

        // A signed delivery: path with an encoded character and a query, a large body.
        let path = "/poles/caf%C3%A9/inbox?page=2&from=a%2Fb";
        let body = large_body();
        let status = send_signed(
            &client,
            &format!("{origin}{path}"),
            Some(&body),
            key_id,
            &keys.private_key,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{}", what("POST"));
        let post = last(&log);
        assert_eq!(post.method, "POST");
        assert_eq!(post.path_and_query, path, "{}", what("the request target"));
        assert_eq!(post.body, body, "{}", what("the body"));
        assert_eq!(
            header(&post, "host"),
            [format!("{name}:{port}")],
            "{}",
            what("Host")
        );
        assert_eq!(
            header(&post, "x-forwarded-proto"),
            ["https"],
            "{}",
            what("X-Forwarded-Proto")
        );
        assert_eq!(
            header(&post, "x-forwarded-for"),
            ["127.0.0.1"],
            "{}",
            what("X-Forwarded-For")
        );
        verify(&post, &keys.public_key)
            .unwrap_or_else(|e| panic!("{}: {e}", what("the signed POST")));

        // A signed fetch, as Maillage and Mastodon make them in authorized-fetch mode.
        let path = "/poles/cafe/outbox?page=true";
        let status = send_signed(
            &client,
            &format!("{origin}{path}"),
            None,
            key_id,
            &keys.private_key,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}", what("GET"));
        let get = last(&log);
        assert_eq!(get.method, "GET");
        assert_eq!(get.path_and_query, path, "{}", what("the request target"));
        assert_eq!(
            header(&get, "x-forwarded-proto"),
            ["https"],
            "{}",
            what("X-Forwarded-Proto")
        );
        verify(&get, &keys.public_key)
            .unwrap_or_else(|e| panic!("{}: {e}", what("the signed GET")));

        // The same request changed in transit is refused by the verifier: the check above
        // is not vacuous.
        let mut tampered = post.clone();
        tampered.path_and_query = "/inbox".to_owned();
        assert!(verify(&tampered, &keys.public_key).is_err());
        drop(proxy);
    }
    task.abort();
}
