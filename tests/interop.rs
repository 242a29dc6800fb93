//! Interoperability with an independent ActivityPub implementation: the Fedify peer of
//! `tests/peers/fedify` (Node 20, `@fedify/fedify` 1.5.9) follows a pole, receives what the
//! pole publishes (each delivery checked by Fedify and again by Misskey's signature library),
//! looks up Maillage's documents with Fedify's own parser, and unfollows.
//!
//! Runs only when `MAILLAGE_TEST_INTEROP=1` (it needs `node` and, the first time, `npm ci`).
//! With `MAILLAGE_UPDATE_FIXTURES=1` it also saves the `Follow` Fedify sent to
//! `tests/fixtures/fedify/follow.json`, and the peer's actor (the keys that verify it) to
//! `tests/fixtures/fedify/follow_actor.json`.

mod common;

use std::fs;
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use common::fedify::{self, FedifyPeer, object_id};
use common::scenario::publish;
use common::{TestDb, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Set to `1` to run the interop test.
const INTEROP_ENV: &str = "MAILLAGE_TEST_INTEROP";
/// Set to `1` to (re)write the fixtures this test captures.
const UPDATE_FIXTURES_ENV: &str = "MAILLAGE_UPDATE_FIXTURES";
/// How long to wait for something to reach the peer or Maillage.
const WAIT: Duration = Duration::from_secs(30);

fn env_is_one(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v.trim() == "1")
}

// ---------------------------------------------------------------------------
// HTTP helpers.

async fn request(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client.request(method.clone(), url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// A call to Maillage's API as its administrator; must succeed.
async fn api(server: &TestServer, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, value) = request(
        &server.client,
        method.clone(),
        &server.url(path),
        Some(&server.admin_token),
        body,
    )
    .await;
    assert!(status.is_success(), "{method} {path}: {status} {value}");
    value
}

/// Polls `check` until it gives a value, up to [`WAIT`]; `explain` says what was seen.
async fn wait_for<T, F, Fut, E, EFut>(what: &str, mut check: F, explain: E) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
    E: FnOnce() -> EFut,
    EFut: Future<Output = String>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out after {WAIT:?} waiting for {what}\n{}",
                explain().await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the peer recorded and what reached its inboxes, summarised for failure messages.
async fn peer_state(client: &reqwest::Client, peer: &FedifyPeer) -> String {
    let summary = |records: Vec<Value>| {
        records
            .iter()
            .map(|r| {
                format!(
                    "  {} {} object={} misskeyVerified={} {}{}",
                    r["type"],
                    r["id"].as_str().or(r["activityId"].as_str()).unwrap_or("?"),
                    object_id(r.get("raw").unwrap_or(&Value::Null)).unwrap_or("?"),
                    r["misskeyVerified"],
                    r["misskeyError"].as_str().unwrap_or(""),
                    r["status"]
                        .as_u64()
                        .map(|s| format!(" status={s} {}", r["response"]))
                        .unwrap_or_default(),
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let received = peer.control_list(client, "/control/received").await;
    let deliveries = peer.control_list(client, "/control/deliveries").await;
    format!(
        "peer received (verified by Fedify):\n{}\npeer inbox deliveries:\n{}",
        summary(received),
        summary(deliveries)
    )
}

/// Waits until the peer has recorded an activity of type `kind` from `actor` about `object`.
async fn received(
    client: &reqwest::Client,
    peer: &FedifyPeer,
    kind: &str,
    actor: &str,
    object: &str,
) -> Value {
    wait_for(
        &format!("the peer to receive {kind} of {object}"),
        || peer.received(client, kind, actor, object),
        || peer_state(client, peer),
    )
    .await
}

fn instant(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("not an RFC 3339 date-time ({e}): {text}"))
        .to_utc()
}

/// A JSON date-time (RFC 3339, any offset) as an instant.
fn instant_of(value: &Value) -> chrono::DateTime<chrono::Utc> {
    instant(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a date-time: {value}")),
    )
}

/// The peer's follower record on Maillage, if any.
async fn follower(server: &TestServer, slug: &str, actor: &str) -> Option<Value> {
    let list = api(
        server,
        Method::GET,
        &format!("/api/v1/poles/{slug}/followers?per_page=100"),
        None,
    )
    .await;
    list["items"]
        .as_array()?
        .iter()
        .find(|f| f["actor"]["ap_id"] == actor)
        .cloned()
}

fn assert_verified(record: &Value) {
    assert_eq!(
        record["misskeyVerified"], true,
        "Misskey's verifier refused {} {}: {}",
        record["type"], record["id"], record["misskeyError"]
    );
}

/// Writes `tests/fixtures/fedify/{name}`, pretty-printed (keys in the order received).
fn save_fixture(name: &str, value: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fedify")
        .join(name);
    let mut text = serde_json::to_string_pretty(value).expect("json");
    text.push('\n');
    fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    eprintln!("interop: wrote {}", path.display());
}

// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MAILLAGE_TEST_INTEROP=1 (Node.js 20, Fedify from npm)"]
async fn fedify_peer() {
    assert!(
        env_is_one(INTEROP_ENV),
        "this test installs the Fedify peer from npm: run it with {INTEROP_ENV}=1"
    );
    common::init_logs();
    common::install_tls_provider();
    let started = Instant::now();
    let mut phase = Instant::now();
    let mut lap = |name: &str| {
        eprintln!("interop: {name}: {:.1?}", phase.elapsed());
        phase = Instant::now();
    };

    tokio::task::spawn_blocking(fedify::prepare)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    lap("peer prepared");

    let db = match TestDb::postgres().await {
        Some(pg) => pg,
        None => {
            eprintln!(
                "{} is not set: interop runs on SQLite",
                common::POSTGRES_ENV
            );
            TestDb::sqlite()
        }
    };
    let label = db.label;
    eprintln!("interop: Maillage on {label}");
    // Node's start-up and the peer's key generation overlap with Maillage's.
    let (server, peer) = tokio::join!(
        TestServer::start(&db),
        tokio::task::spawn_blocking(FedifyPeer::start_http)
    );
    let peer = peer.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let client = reqwest::Client::builder()
        .timeout(WAIT)
        .no_proxy()
        .build()
        .expect("HTTP client");
    lap("Maillage and peer started");

    // --- The peer follows a pole; Maillage accepts it.
    let slug = "interop";
    api(
        &server,
        Method::POST,
        "/api/v1/poles",
        Some(json!({
            "slug": slug,
            "name": "Pôle interop",
            "summary": "Coopérer avec Fedify",
            "territory": {"communes": ["35236"], "kind": "rural", "label": "Pays de Redon"},
            "themes": ["renewable-energy"],
            "manually_approves_followers": false
        })),
    )
    .await;
    let pole = server.url(&format!("/poles/{slug}"));
    let instance = server.url("/actor");

    let follow = peer
        .control(&client, "/control/follow", Some(json!({"target": pole})))
        .await;
    let follow_id = follow["followId"].as_str().expect("followId").to_owned();

    // The Follow as Fedify signed and sent it, and Maillage's answer to it.
    let sent = peer.control_list(&client, "/control/sent").await;
    let sent_follow = sent
        .iter()
        .find(|s| s["body"]["type"] == "Follow" && s["body"]["id"] == follow_id.as_str())
        .unwrap_or_else(|| panic!("no Follow {follow_id} in the peer's sent log: {sent:?}"))
        .clone();
    let follow_body = &sent_follow["body"];
    assert_eq!(
        sent_follow["status"], 202,
        "Maillage's answer to Fedify's Follow: {sent_follow}"
    );
    assert_eq!(follow_body["actor"], peer.actor.as_str());
    assert_eq!(follow_body["object"], pole.as_str());
    let (has_proof, has_ld) = (
        follow_body.get("proof").is_some(),
        follow_body.get("signature").is_some(),
    );
    assert!(
        has_proof || has_ld,
        "Fedify's Follow carries neither `proof` nor `signature`: {follow_body}"
    );
    eprintln!(
        "interop: Fedify's Follow carried proof={has_proof} signature={has_ld}, Maillage answered {}",
        sent_follow["status"]
    );

    let accept = received(&client, &peer, "Accept", &pole, &follow_id).await;
    assert_verified(&accept);
    assert_eq!(accept["parsed"]["class"], "Accept", "{accept}");
    assert_eq!(accept["parsed"]["object"]["class"], "Follow", "{accept}");
    assert_eq!(
        accept["parsed"]["object"]["id"],
        follow_id.as_str(),
        "{accept}"
    );
    let record = wait_for(
        "Maillage to list the peer as an accepted follower",
        || async {
            follower(&server, slug, &peer.actor)
                .await
                .filter(|f| f["state"] == "accepted")
        },
        || async { format!("{:?}", follower(&server, slug, &peer.actor).await) },
    )
    .await;
    assert_eq!(record["follow_activity_id"], follow_id.as_str(), "{record}");
    lap("follow accepted");

    if env_is_one(UPDATE_FIXTURES_ENV) {
        // The Follow as Fedify signed it, and the peer's actor with the keys that verify its
        // `signature` (#main-key, RSA) and `proof` (#key-2, Ed25519).
        let response = client
            .get(&peer.actor)
            .header("accept", "application/activity+json")
            .send()
            .await
            .expect("GET the peer's actor");
        assert_eq!(response.status(), StatusCode::OK, "GET {}", peer.actor);
        let actor_doc: Value = response.json().await.expect("the peer's actor");
        save_fixture("follow.json", follow_body);
        save_fixture("follow_actor.json", &actor_doc);
    }

    // --- Create, Update and Delete of each kind reach the peer, signed.
    let objects = publish(&server, slug, "fédéré").await;
    for object in &objects {
        let create = received(&client, &peer, "Create", &pole, &object.ap_id).await;
        assert_verified(&create);
        // As Maillage sent it, and as Fedify's classes parsed it.
        let sent = &create["raw"]["object"];
        let parsed = &create["parsed"]["object"];
        assert_eq!(create["parsed"]["class"], "Create", "{create}");
        assert_eq!(sent["type"], object.class, "{create}");
        assert_eq!(sent["name"], object.title.as_str(), "{create}");
        assert_eq!(parsed["class"], object.class, "Fedify's view: {create}");
        assert_eq!(
            parsed["id"],
            object.ap_id.as_str(),
            "Fedify's view: {create}"
        );
        assert_eq!(
            parsed["name"],
            object.title.as_str(),
            "Fedify's view: {create}"
        );
        assert_eq!(
            parsed["attributedTo"],
            pole.as_str(),
            "Fedify's view: {create}"
        );
        if object.class == "Event" {
            // 14:00 in Paris, in winter.
            let expected = instant("2038-12-05T13:00:00Z");
            assert_eq!(instant_of(&sent["startTime"]), expected, "{create}");
            assert_eq!(instant_of(&parsed["startTime"]), expected, "{create}");
            assert_eq!(
                instant_of(&parsed["endTime"]),
                instant("2038-12-05T17:00:00Z"),
                "{create}"
            );
        }
    }
    lap("creates received");
    for object in &objects {
        api(
            &server,
            Method::PATCH,
            &format!("/api/v1/{}/{}", object.path, object.id),
            Some(json!({"title": format!("{} (modifié)", object.title)})),
        )
        .await;
    }
    for object in &objects {
        let update = received(&client, &peer, "Update", &pole, &object.ap_id).await;
        assert_verified(&update);
        let changed = format!("{} (modifié)", object.title);
        assert_eq!(update["parsed"]["class"], "Update", "{update}");
        assert_eq!(
            update["raw"]["object"]["name"],
            changed.as_str(),
            "{update}"
        );
        let parsed = &update["parsed"]["object"];
        assert_eq!(parsed["class"], object.class, "Fedify's view: {update}");
        assert_eq!(parsed["name"], changed.as_str(), "Fedify's view: {update}");
    }
    lap("updates received");
    for object in &objects {
        let (status, body) = request(
            &server.client,
            Method::DELETE,
            &server.url(&format!("/api/v1/{}/{}", object.path, object.id)),
            Some(&server.admin_token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    for object in &objects {
        let delete = received(&client, &peer, "Delete", &pole, &object.ap_id).await;
        assert_verified(&delete);
        assert_eq!(delete["parsed"]["class"], "Delete", "{delete}");
        assert_eq!(object_id(&delete["raw"]), Some(object.ap_id.as_str()));
        assert_eq!(
            delete["parsed"]["object"]["id"],
            object.ap_id.as_str(),
            "Fedify's view: {delete}"
        );
    }
    lap("deletes received");

    // Every POST to the peer's inboxes was accepted by Fedify and by Misskey's verifier.
    let deliveries = peer.control_list(&client, "/control/deliveries").await;
    assert!(deliveries.len() >= 10, "{deliveries:?}");
    for delivery in &deliveries {
        let status = delivery["status"].as_u64().unwrap_or(0);
        assert!(
            (200..300).contains(&status),
            "Fedify refused a delivery: {delivery}"
        );
        assert_eq!(delivery["misskeyVerified"], true, "{delivery}");
    }

    // --- Fedify's lookupObject() understands Maillage's documents.
    let kept = publish(&server, slug, "consulté").await;
    let mut lookups = vec![
        (pole.clone(), "Group", Some("Pôle interop".to_owned())),
        (instance.clone(), "Application", None),
    ];
    lookups.extend(
        kept.iter()
            .map(|o| (o.ap_id.clone(), o.class, Some(o.title.clone()))),
    );
    for (url, class, name) in lookups {
        let found = peer
            .control(&client, "/control/lookup", Some(json!({"url": url})))
            .await;
        assert_eq!(found["ok"], true, "Fedify's lookup of {url}: {found}");
        assert_eq!(found["type"], class, "Fedify's lookup of {url}: {found}");
        assert_eq!(found["id"], url.as_str(), "{found}");
        if let Some(name) = name {
            assert_eq!(found["name"], name.as_str(), "{found}");
        }
        if class == "Event" {
            assert_eq!(
                instant_of(&found["parsed"]["startTime"]),
                instant("2038-12-05T13:00:00Z"),
                "{found}"
            );
        }
        if matches!(class, "Note" | "Event") {
            assert_eq!(found["parsed"]["attributedTo"], pole.as_str(), "{found}");
        }
    }
    lap("lookups");

    // --- The peer unfollows; Maillage forgets it.
    let undo = peer
        .control(&client, "/control/unfollow", Some(json!({"target": pole})))
        .await;
    let undo_id = undo["undoId"].as_str().expect("undoId");
    let sent = peer.control_list(&client, "/control/sent").await;
    let sent_undo = sent
        .iter()
        .find(|s| s["body"]["id"] == undo_id)
        .unwrap_or_else(|| panic!("no Undo {undo_id} in the peer's sent log"));
    assert_eq!(sent_undo["status"], 202, "{sent_undo}");
    wait_for(
        "Maillage to drop the peer from the pole's followers",
        || async {
            follower(&server, slug, &peer.actor)
                .await
                .is_none()
                .then_some(())
        },
        || async { format!("{:?}", follower(&server, slug, &peer.actor).await) },
    )
    .await;
    lap("unfollowed");

    drop(peer);
    server.stop().await;
    db.drop_now().await;
    eprintln!(
        "interop: Fedify peer passed on {label} in {:.1?}",
        started.elapsed()
    );
}
