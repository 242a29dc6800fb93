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
use common::fedify::FedifyPeer;
use common::scenario::{self, follow_state, item, objects, pole, publish};
use common::tls::{self, Ca, Front, HttpsServer, Proxy, ProxyKind, Relay, Site};
use common::{TestDb, call, eventually, ok, titles};
use maillage::federation::signatures::{self, SignedRequest};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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
    let _one = ONE_AT_A_TIME.lock().await;
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

// ---------------------------------------------------------------------------------------
// Maillage instances over HTTPS, in production mode.

/// The tests below start several servers and peers each: one at a time, on two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The three-instance federation of `tests/federation.rs`, in production mode over HTTPS:
/// A behind Caddy, B behind nginx, C serving TLS itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MAILLAGE_TEST_TLS=1 (Caddy and nginx from the distribution, /etc/hosts)"]
async fn three_instances_over_https() {
    tls::require_enabled();
    let _one = ONE_AT_A_TIME.lock().await;
    common::init_logs();
    let ca = Ca::new();
    let db_a = match TestDb::postgres().await {
        Some(pg) => pg,
        None => TestDb::sqlite(),
    };
    let (db_b, db_c) = (TestDb::sqlite(), TestDb::sqlite());
    let a = HttpsServer::start(&db_a, &ca, "a.maillage.localhost", Front::Caddy, |_| {}).await;
    let b = HttpsServer::start(&db_b, &ca, "b.maillage.localhost", Front::Nginx, |_| {}).await;
    let c = HttpsServer::start(&db_c, &ca, "c.maillage.localhost", Front::Direct, |_| {}).await;
    for server in [&a, &b, &c] {
        assert!(server.base.starts_with("https://"), "{}", server.base);
    }

    scenario::three_instances(&a, &b, &c).await;

    a.stop().await;
    b.stop().await;
    c.stop().await;
    db_a.drop_now().await;
}

// ---------------------------------------------------------------------------------------
// Fedify, which speaks HTTPS only to handles.

/// Waits until the peer has verified and recorded an activity of type `kind` from `actor`
/// about `object`, then checks that the second verifier (Misskey's library) accepted it
/// too.
async fn received(
    client: &reqwest::Client,
    peer: &FedifyPeer,
    kind: &str,
    actor: &str,
    object: &str,
) -> Value {
    let find = || peer.received(client, kind, actor, object);
    eventually(
        &format!("the peer to verify {kind} of {object} from {actor}"),
        || async { find().await.is_some() },
    )
    .await;
    let record = find().await.expect("a record");
    assert_eq!(
        record["misskeyVerified"], true,
        "the second verifier refused {kind} of {object}: {}",
        record["misskeyError"]
    );
    record
}

async fn fedify_follow(
    client: &reqwest::Client,
    peer: &FedifyPeer,
    target: &str,
    signed: bool,
) -> Value {
    let answer = peer
        .control(
            client,
            "/control/follow",
            Some(json!({"target": target, "signed": signed})),
        )
        .await;
    assert!(answer["followId"].is_string(), "{answer}");
    answer
}

/// Fedify follows a pole and the instance actor by their handles, which it looks up with
/// WebFinger over HTTPS (it has no other way), through nginx; then every Create, Update and
/// Delete reaches it signed, and is verified by Fedify and by Misskey's verifier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MAILLAGE_TEST_TLS=1 (nginx from the distribution, Node.js 20, /etc/hosts)"]
async fn fedify_follows_by_handle_over_https() {
    tls::require_enabled();
    let _one = ONE_AT_A_TIME.lock().await;
    common::init_logs();
    let ca = Ca::new();
    let db = match TestDb::postgres().await {
        Some(pg) => pg,
        None => TestDb::sqlite(),
    };
    let peer_name = "peer.maillage.localhost";
    let peer = tokio::task::block_in_place(|| FedifyPeer::start_https(&ca, peer_name));
    let server = HttpsServer::start(&db, &ca, "m.maillage.localhost", Front::Nginx, |_| {}).await;
    let client = ca.client(&[(peer_name, peer.port)]);

    ok(
        &server,
        Method::POST,
        "/api/v1/poles",
        Some(pole("interop", false)),
    )
    .await;
    let pole_id = server.url("/poles/interop");
    let instance = server.url("/actor");

    // By handle: Fedify's own WebFinger look-up, over HTTPS.
    for (handle, actor) in [
        (format!("@interop@{}", server.host()), &pole_id),
        (format!("@relay@{}", server.host()), &instance),
    ] {
        let answer = fedify_follow(&client, &peer, &handle, false).await;
        assert_eq!(answer["actor"], actor.as_str(), "{handle}: {answer}");
        assert_eq!(answer["via"], "lookupObject", "{handle}: {answer}");
        let follow_id = answer["followId"].as_str().expect("followId").to_owned();
        let accept = received(&client, &peer, "Accept", actor, &follow_id).await;
        assert_eq!(accept["parsed"]["object"]["class"], "Follow", "{accept}");
    }

    // Every kind created, updated and deleted reaches the peer from the pole.
    let published = publish(&server, "interop", "fédéré").await;
    for object in &published {
        let create = received(&client, &peer, "Create", &pole_id, &object.ap_id).await;
        assert_eq!(
            create["parsed"]["object"]["class"], object.class,
            "{create}"
        );
        assert_eq!(
            create["parsed"]["object"]["name"],
            object.title.as_str(),
            "{create}"
        );
    }
    for object in &published {
        ok(
            &server,
            Method::PATCH,
            &format!("/api/v1/{}/{}", object.path, object.id),
            Some(json!({"title": format!("{} (modifié)", object.title)})),
        )
        .await;
    }
    for object in &published {
        let update = received(&client, &peer, "Update", &pole_id, &object.ap_id).await;
        let changed = format!("{} (modifié)", object.title);
        assert_eq!(
            update["parsed"]["object"]["name"],
            changed.as_str(),
            "{update}"
        );
    }
    for object in &published {
        let (status, body) = call(
            &server,
            Method::DELETE,
            &format!("/api/v1/{}/{}", object.path, object.id),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    for object in &published {
        received(&client, &peer, "Delete", &pole_id, &object.ap_id).await;
    }
    // Every delivery, to the pole's follower and to the instance's, was accepted by Fedify
    // and by the second verifier.
    let deliveries = peer.control(&client, "/control/deliveries", None).await;
    let deliveries = deliveries.as_array().cloned().unwrap_or_default();
    assert!(deliveries.len() >= 11, "{deliveries:?}");
    for delivery in &deliveries {
        let status = delivery["status"].as_u64().unwrap_or(0);
        assert!(
            (200..300).contains(&status),
            "Fedify refused a delivery: {delivery}"
        );
        assert_eq!(delivery["misskeyVerified"], true, "{delivery}");
    }

    drop(peer);
    server.stop().await;
    db.drop_now().await;
}

// ---------------------------------------------------------------------------------------
// Signed fetches required.

/// With `federation.require_signed_fetch`, federation clients get the pole, its
/// collections and its objects only on a signed request; browsers still get the pages.
/// Fedify, which signs its fetches when asked (as it does against Mastodon's secure mode),
/// looks them up and follows the pole; a client that does not sign is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MAILLAGE_TEST_TLS=1 (Caddy from the distribution, Node.js 20, /etc/hosts)"]
async fn signed_fetch_required() {
    tls::require_enabled();
    let _one = ONE_AT_A_TIME.lock().await;
    common::init_logs();
    let ca = Ca::new();
    let db = TestDb::sqlite();
    let peer_name = "peer.maillage.localhost";
    let peer = tokio::task::block_in_place(|| FedifyPeer::start_https(&ca, peer_name));
    let server = HttpsServer::start(&db, &ca, "s.maillage.localhost", Front::Caddy, |c| {
        c.federation.require_signed_fetch = true
    })
    .await;
    let client = ca.client(&[(peer_name, peer.port)]);

    ok(
        &server,
        Method::POST,
        "/api/v1/poles",
        Some(pole("ferme", false)),
    )
    .await;
    let published = publish(&server, "ferme", "gardé").await;
    let pole_id = server.url("/poles/ferme");
    let documents = [
        pole_id.clone(),
        server.url("/poles/ferme/outbox"),
        server.url("/poles/ferme/followers"),
        published[0].ap_id.clone(),
        published[1].ap_id.clone(),
    ];
    for url in &documents {
        let unsigned = server
            .client
            .get(url)
            .header("accept", "application/activity+json")
            .send()
            .await
            .expect("GET");
        assert_eq!(
            unsigned.status(),
            StatusCode::UNAUTHORIZED,
            "unsigned GET {url}"
        );
        let page = server
            .client
            .get(url)
            .header("accept", "text/html")
            .send()
            .await
            .expect("GET");
        assert_eq!(page.status(), StatusCode::OK, "the page at {url}");
    }
    // WebFinger stays public: a handle is found before anything is signed.
    let webfinger = server
        .client
        .get(server.url(&format!(
            "/.well-known/webfinger?resource=acct:ferme@{}",
            server.host()
        )))
        .send()
        .await
        .expect("GET");
    assert_eq!(webfinger.status(), StatusCode::OK);

    // Fedify unsigned is refused like any client; signed, it reads each document.
    let lookup = |url: String, signed: bool| {
        let client = &client;
        let peer = &peer;
        async move {
            peer.control(
                client,
                "/control/lookup",
                Some(json!({"url": url, "signed": signed})),
            )
            .await
        }
    };
    let refused = lookup(pole_id.clone(), false).await;
    assert_eq!(refused["ok"], false, "{refused}");
    let group = lookup(pole_id.clone(), true).await;
    assert_eq!(group["ok"], true, "{group}");
    assert_eq!(group["type"], "Group", "{group}");
    for object in &published {
        let found = lookup(object.ap_id.clone(), true).await;
        assert_eq!(found["ok"], true, "{found}");
        assert_eq!(found["type"], object.class, "{found}");
        assert_eq!(found["name"], object.title.as_str(), "{found}");
    }

    // Fedify follows with signed fetches; what the pole publishes next reaches it, and both
    // verifiers read the pole's key with a signed fetch.
    let answer = fedify_follow(&client, &peer, &format!("@ferme@{}", server.host()), true).await;
    let follow_id = answer["followId"].as_str().expect("followId").to_owned();
    received(&client, &peer, "Accept", &pole_id, &follow_id).await;
    let later = publish(&server, "ferme", "suivi").await;
    for object in &later {
        received(&client, &peer, "Create", &pole_id, &object.ap_id).await;
    }

    drop(peer);
    server.stop().await;
    db.drop_now().await;
}

// ---------------------------------------------------------------------------------------
// A real ActivityPub relay.

/// Two instances subscribe to activityrelay (from PyPI) as Mastodon subscribes to a relay:
/// a `Follow` of the public collection sent to its actor, which it accepts (and answers
/// with a `Follow` of their instance actors). An event published on A is announced by A to
/// the relay, which announces it to B; B fetches it from A over HTTPS and stores it as A's.
/// A unsubscribes with the `Undo` Mastodon sends, and the relay forgets A's inbox.
///
/// The relay looks up a subscriber's NodeInfo on its host name alone (port 443), so this
/// test serves the three on 127.0.0.1:443, through one Caddy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MAILLAGE_TEST_TLS=1 (Caddy, activityrelay from PyPI, 127.0.0.1:443, /etc/hosts)"]
async fn relay_carries_an_event_between_instances() {
    tls::require_enabled();
    let _one = ONE_AT_A_TIME.lock().await;
    common::init_logs();
    let ca = Ca::new();
    let (a_name, b_name, relay_name) = (
        "ra.maillage.localhost",
        "rb.maillage.localhost",
        "relay.maillage.localhost",
    );
    tls::ensure_hosts(&[a_name, b_name, relay_name]);
    let relay = tokio::task::block_in_place(|| Relay::start(&ca, relay_name));
    let db_a = match TestDb::postgres().await {
        Some(pg) => pg,
        None => TestDb::sqlite(),
    };
    let db_b = TestDb::sqlite();
    let listener_a = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let listener_b = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let sites = [
        (a_name, listener_a.local_addr().expect("address").port()),
        (b_name, listener_b.local_addr().expect("address").port()),
        (relay_name, relay.port),
    ]
    .map(|(name, upstream)| Site {
        name: name.to_owned(),
        port: 443,
        upstream,
        certificate: ca.issue(&[name]),
    });
    let caddy = tokio::task::block_in_place(|| Proxy::start(ProxyKind::Caddy, &sites));
    let a = tls::start_maillage(&db_a, &ca, a_name, 443, listener_a, None, |_| {}).await;
    let b = tls::start_maillage(&db_b, &ca, b_name, 443, listener_b, None, |_| {}).await;
    let relay_actor = format!("https://{relay_name}/actor");

    // B subscribes first, so that it hears what A sends once A has subscribed too.
    let mut subscriptions = Vec::new();
    for server in [&b, &a] {
        let (status, record) = call(
            server,
            Method::POST,
            "/api/v1/admin/follows",
            Some(json!({"actor": relay_name, "relay": true})),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{record}");
        assert_eq!(record["relay"], true, "{record}");
        subscriptions.push(record["id"].as_i64().expect("a follow id"));
        eventually("the relay to accept the subscription", || async {
            follow_state(server, &relay_actor).await.as_deref() == Some("accepted")
        })
        .await;
        // The relay follows the instance back, to receive what it publishes.
        eventually("the relay following the instance", || async {
            let (_, list) = call(server, Method::GET, "/api/v1/admin/followers", None).await;
            list["items"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|f| f["actor"]["ap_id"] == relay_actor.as_str() && f["state"] == "accepted")
        })
        .await;
    }

    ok(
        &a,
        Method::POST,
        "/api/v1/poles",
        Some(pole("redon", false)),
    )
    .await;
    let event = ok(
        &a,
        Method::POST,
        "/api/v1/poles/redon/events",
        Some(objects("relayé").swap_remove(1).body),
    )
    .await;
    let event_ap_id = event["url"].as_str().expect("url").to_owned();
    let handle = format!("redon@{a_name}");
    eventually("the event on B, through the relay", || async {
        titles(&b, &handle, "events")
            .await
            .contains(&"Événement relayé".to_owned())
    })
    .await;
    // Its origin is A: the pole is A's and remote, the event keeps A's identifier.
    let stored = item(&b, &handle, "events", "Événement relayé")
        .await
        .expect("the event on B");
    assert_eq!(stored["url"], event_ap_id.as_str(), "{stored}");
    assert_eq!(stored["starts_at"], "2038-12-05T14:00:00+01:00", "{stored}");
    let pole_on_b = b
        .store
        .pole_by_ap_id(&a.url("/poles/redon"))
        .await
        .expect("store")
        .expect("A's pole on B");
    assert!(!pole_on_b.local);
    assert_eq!(pole_on_b.domain, a_name);
    // Nothing was sent from A to B directly: B follows nobody on A.
    let (_, follows) = call(&b, Method::GET, "/api/v1/admin/follows", None).await;
    assert!(
        follows
            .as_array()
            .into_iter()
            .flatten()
            .all(|f| f["actor"]["ap_id"] == relay_actor.as_str()),
        "{follows}"
    );

    // The relay lists both instances' inboxes; once A unsubscribes, only B's.
    let a_inbox = a.url("/inbox");
    let b_inbox = b.url("/inbox");
    let listed = tokio::task::block_in_place(|| relay.inboxes());
    assert!(
        listed.contains(&a_inbox) && listed.contains(&b_inbox),
        "{listed}"
    );
    let (status, body) = call(
        &a,
        Method::DELETE,
        &format!("/api/v1/admin/follows/{}", subscriptions[1]),
        None,
    )
    .await;
    assert!(status.is_success(), "{status} {body}");
    eventually("the relay to forget A", || async {
        let listed = tokio::task::block_in_place(|| relay.inboxes());
        !listed.contains(&a_inbox) && listed.contains(&b_inbox)
    })
    .await;

    a.stop().await;
    b.stop().await;
    drop(caddy);
    drop(relay);
    db_a.drop_now().await;
}
