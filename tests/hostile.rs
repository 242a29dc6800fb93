//! Hostile input to the inboxes: each request is refused (or its content sanitised) with the
//! right status, nothing is stored, and the server keeps serving.

mod common;

use std::time::{Duration, SystemTime};

use common::{TestDb, TestServer};
use maillage::federation::signatures::sign_post;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Rows in the tables an inbox writes to.
async fn stored(server: &TestServer) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in [
        "remote_actors",
        "followers",
        "inbox_seen",
        "replies",
        "reactions",
        "deliveries",
    ] {
        counts.push((table, common::count_rows(&server.store, table).await));
    }
    counts
}

struct Request {
    body: Vec<u8>,
    headers: Vec<(String, String)>,
}

/// A request signed as `key_id` with `pem`, dated `date`, for the body `signed_body`.
fn signed(
    server: &TestServer,
    path: &str,
    signed_body: &[u8],
    key_id: &str,
    pem: &str,
    date: SystemTime,
) -> Request {
    let url = url::Url::parse(&server.url(path)).expect("url");
    let headers = sign_post(&url, signed_body, key_id, pem, date).expect("sign");
    Request {
        body: signed_body.to_vec(),
        headers: headers.into_iter().filter(|(n, _)| n != "host").collect(),
    }
}

async fn post(server: &TestServer, path: &str, request: Request) -> (StatusCode, Value) {
    let mut builder = server
        .client
        .post(server.url(path))
        .header("content-type", "application/activity+json")
        .body(request.body);
    for (name, value) in request.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await.expect("post");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn pole(slug: &str) -> Value {
    json!({"slug": slug, "name": format!("Pôle {slug}"), "territory": {"communes": ["35236"]}})
}

async fn create(server: &TestServer, path: &str, body: Value) -> Value {
    let response = server
        .client
        .post(server.url(path))
        .bearer_auth(&server.admin_token)
        .json(&body)
        .send()
        .await
        .expect("create");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.expect("json")
}

async fn still_serving(server: &TestServer) {
    let response = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_activities_are_refused_and_leave_nothing() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let peer_db = TestDb::sqlite();
        let a = TestServer::start(&db).await;
        let b = TestServer::start(&peer_db).await;
        create(&a, "/api/v1/poles", pole("cible")).await;
        let project = create(
            &a,
            "/api/v1/poles/cible/projects",
            json!({"title": "Projet visé"}),
        )
        .await;
        let project_ap_id = a.url(&format!(
            "/projects/{}",
            project["id"].as_str().expect("id")
        ));
        create(&b, "/api/v1/poles", pole("alice")).await;
        create(&b, "/api/v1/poles", pole("bob")).await;
        let alice = b.store.pole("alice").await.expect("alice");
        let alice_key = b.store.pole_keys(alice.id).await.expect("keys").private_key;
        let alice_key_id = format!("{}#main-key", alice.ap_id);
        let bob = b.url("/poles/bob");
        let target = a.url("/poles/cible");

        let follow = |id: &str, actor: &str| {
            serde_json::to_vec(&json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{actor}/activities/{id}"), "type": "Follow",
                "actor": actor, "object": target,
            }))
            .expect("json")
        };
        let before = stored(&a).await;
        let now = SystemTime::now();

        // Unsigned.
        let body = follow("1", &alice.ap_id);
        let (status, error) = post(
            &a,
            "/inbox",
            Request {
                body,
                headers: Vec::new(),
            },
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "[{label}] unsigned: {error}"
        );
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains("not signed"),
            "{error}"
        );

        // Signed with another key than the actor's.
        let other =
            activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
        let body = follow("2", &alice.ap_id);
        let (status, error) = post(
            &a,
            "/inbox",
            signed(&a, "/inbox", &body, &alice_key_id, &other.private_key, now),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "[{label}] wrong key: {error}"
        );

        // A stale Date.
        let body = follow("3", &alice.ap_id);
        let stale = now - Duration::from_secs(2 * 3600);
        let (status, error) = post(
            &a,
            "/inbox",
            signed(&a, "/inbox", &body, &alice_key_id, &alice_key, stale),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "[{label}] stale: {error}");
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains("Date"),
            "{error}"
        );

        // A body that is not the one the Digest covers.
        let mut request = signed(
            &a,
            "/inbox",
            &follow("4", &alice.ap_id),
            &alice_key_id,
            &alice_key,
            now,
        );
        request.body = follow("5", &alice.ap_id);
        let (status, error) = post(&a, "/inbox", request).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "[{label}] digest: {error}"
        );
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains("Digest"),
            "{error}"
        );

        // Signed by Alice for an activity of Bob.
        let body = follow("6", &bob);
        let (status, error) = post(
            &a,
            "/inbox",
            signed(&a, "/inbox", &body, &alice_key_id, &alice_key, now),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "[{label}] owner: {error}");
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains("signed by"),
            "{error}"
        );

        // Malformed and deeply nested JSON, properly signed.
        let (status, _) = post(
            &a,
            "/inbox",
            signed(
                &a,
                "/inbox",
                b"{\"type\": \"Follow\",",
                &alice_key_id,
                &alice_key,
                now,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "[{label}] malformed");
        let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let (status, error) = post(
            &a,
            "/inbox",
            signed(
                &a,
                "/inbox",
                nested.as_bytes(),
                &alice_key_id,
                &alice_key,
                now,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "[{label}] nested: {error}");

        // Over 1 MiB.
        let big = vec![b' '; 1024 * 1024 + 1];
        let (status, _) = post(
            &a,
            "/inbox",
            signed(&a, "/inbox", &big, &alice_key_id, &alice_key, now),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "[{label}] oversized");

        // An object on another origin than its actor.
        let create_elsewhere = serde_json::to_vec(&json!({
            "id": format!("{}/activities/7", alice.ap_id), "type": "Create", "actor": alice.ap_id,
            "object": {"id": "https://elsewhere.example/notes/1", "type": "Note", "attributedTo": alice.ap_id,
                       "inReplyTo": project_ap_id, "content": "usurpé"}
        }))
        .expect("json");
        let (status, error) = post(
            &a,
            "/inbox",
            signed(
                &a,
                "/inbox",
                &create_elsewhere,
                &alice_key_id,
                &alice_key,
                now,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "[{label}] origin: {error}");

        // Only the actor's key was fetched and stored on the way (to check the signatures).
        let mut after = stored(&a).await;
        after.retain(|(t, _)| *t != "remote_actors");
        let mut expected = before.clone();
        expected.retain(|(t, _)| *t != "remote_actors");
        assert_eq!(after, expected, "[{label}] nothing stored");
        still_serving(&a).await;

        // Scripts and javascript: links in a reply are removed, the rest kept.
        let reply = serde_json::to_vec(&json!({
            "id": format!("{}/activities/8", alice.ap_id), "type": "Create", "actor": alice.ap_id,
            "object": {"id": format!("{}/notes/8", alice.ap_id), "type": "Note", "attributedTo": alice.ap_id,
                       "inReplyTo": project_ap_id,
                       "content": "<p onclick=\"steal()\">Bonjour <script>alert(1)</script><a href=\"javascript:alert(2)\">ici</a> <a href=\"https://ptce.example.org\">là</a></p>"}
        }))
        .expect("json");
        let (status, error) = post(
            &a,
            "/inbox",
            signed(&a, "/inbox", &reply, &alice_key_id, &alice_key, now),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] reply: {error}");
        let interactions: Value = a
            .client
            .get(a.url(&format!(
                "/api/v1/projects/{}/interactions",
                project["id"].as_str().expect("id")
            )))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        let html = interactions["replies"][0]["content_html"]
            .as_str()
            .expect("a reply");
        assert!(
            !html.contains("script") && !html.contains("javascript") && !html.contains("onclick"),
            "{html}"
        );
        assert!(
            html.contains("Bonjour") && html.contains("https://ptce.example.org"),
            "{html}"
        );

        a.stop().await;
        b.stop().await;
        db.drop_now().await;
    }
}

/// In production mode, a key or actor on a loopback or non-https address is refused before
/// any connection is made: a listener standing in for it sees none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_never_connects_to_loopback() {
    common::init_logs();
    let db = TestDb::sqlite();
    let a = TestServer::start_on(&db, 0, |config| config.federation.development_mode = false).await;
    create(&a, "/api/v1/poles", pole("cible")).await;
    let trap = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = trap.local_addr().expect("address").port();
    let keys = activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
    let before = stored(&a).await;
    for actor in [
        format!("https://127.0.0.1:{port}/users/x"),
        format!("https://localhost:{port}/users/x"),
        format!("http://127.0.0.1:{port}/users/x"),
        format!("https://[::1]:{port}/users/x"),
    ] {
        let body = serde_json::to_vec(&json!({
            "id": format!("{actor}/follow"), "type": "Follow", "actor": actor, "object": a.url("/poles/cible"),
        }))
        .expect("json");
        let (status, error) = post(
            &a,
            "/inbox",
            signed(
                &a,
                "/inbox",
                &body,
                &format!("{actor}#main-key"),
                &keys.private_key,
                SystemTime::now(),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{actor}: {error}");
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains("refused before any connection"),
            "{error}"
        );
    }
    // The same refusal for an administrator's follow of such an actor.
    let response = a
        .client
        .post(a.url("/api/v1/admin/follows"))
        .bearer_auth(&a.admin_token)
        .json(&json!({"actor": format!("https://127.0.0.1:{port}/users/x")}))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let accepted = tokio::time::timeout(Duration::from_millis(500), trap.accept()).await;
    assert!(
        accepted.is_err(),
        "a connection reached the loopback listener"
    );
    assert_eq!(stored(&a).await, before, "nothing stored");
    still_serving(&a).await;
    a.stop().await;
}
