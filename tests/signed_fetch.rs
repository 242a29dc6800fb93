//! `federation.require_signed_fetch`: actors, collections and objects are served to
//! federation clients only on a signed request; pages, WebFinger and the instance actor stay
//! public. And `federation.allowed_addresses`: production mode opens the listed networks,
//! and nothing else.

mod common;

use std::time::{Duration, SystemTime};

use common::{TestDb, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

const AP_JSON: &str = "application/activity+json";

async fn create(server: &TestServer, path: &str, body: Value) -> Value {
    common::ok(server, reqwest::Method::POST, path, Some(body)).await
}

/// A GET signed as `key_id` with `pem`.
async fn signed_get(server: &TestServer, path: &str, key_id: &str, pem: &str) -> StatusCode {
    let url = url::Url::parse(&server.url(path)).expect("url");
    let key = maillage::federation::signatures::private_key(pem).expect("key");
    let headers =
        maillage::federation::signatures::sign_request(&url, None, key_id, &key, SystemTime::now())
            .expect("sign");
    let mut request = server.client.get(url).header("accept", AP_JSON);
    for (name, value) in headers {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    request.send().await.expect("get").status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_need_a_signed_fetch_when_asked_and_pages_stay_public() {
    common::init_logs();
    for db_b in TestDb::all().await {
        let label = db_b.label;
        let db_a = TestDb::sqlite();
        let a = TestServer::start(&db_a).await;
        let b = TestServer::start_on(&db_b, 0, |c| c.federation.require_signed_fetch = true).await;
        create(
            &b,
            "/api/v1/poles",
            json!({"slug": "secure", "name": "Pôle Secure"}),
        )
        .await;
        let project = create(
            &b,
            "/api/v1/poles/secure/projects",
            json!({"title": "Recyclerie"}),
        )
        .await;
        let project_path = format!("/projects/{}", project["id"].as_str().expect("id"));

        // Unsigned federation clients are refused, and told how to ask.
        for path in [
            "/poles/secure",
            "/poles/secure/outbox",
            "/poles/secure/followers",
            "/poles/secure/following",
            "/actor/outbox",
            "/actor/followers",
            project_path.as_str(),
        ] {
            let response = b
                .client
                .get(b.url(path))
                .header("accept", AP_JSON)
                .send()
                .await
                .expect("get");
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{label}: {path}"
            );
            assert_eq!(
                response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok()),
                Some("Signature"),
                "{label}: {path}"
            );
        }
        // Browsers, WebFinger, NodeInfo and the instance actor are not federation fetches of
        // protected documents.
        for (path, accept) in [
            ("/poles/secure", "text/html"),
            (project_path.as_str(), "text/html"),
            ("/actor", AP_JSON),
            (
                "/.well-known/webfinger?resource=acct:secure@",
                "application/jrd+json",
            ),
            ("/.well-known/nodeinfo", "application/json"),
        ] {
            let path = if path.ends_with('@') {
                format!("{path}{}", b.host())
            } else {
                path.to_owned()
            };
            let response = b
                .client
                .get(b.url(&path))
                .header("accept", accept)
                .send()
                .await
                .expect("get");
            assert_eq!(response.status(), StatusCode::OK, "{label}: {path}");
        }

        // A signature that does not verify with the signer's key is refused.
        let stranger =
            activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
        let a_key = format!("{}#main-key", a.url("/actor"));
        assert_eq!(
            signed_get(&b, "/poles/secure", &a_key, &stranger.private_key).await,
            StatusCode::UNAUTHORIZED,
            "{label}: a forged signature"
        );

        // Another instance follows the pole: it reads the pole's actor with a signed fetch,
        // and the follow goes through.
        common::ok(
            &a,
            reqwest::Method::POST,
            "/api/v1/admin/follows",
            Some(json!({"actor": b.url("/poles/secure")})),
        )
        .await;
        common::eventually(&format!("{label}: the follow is accepted"), || async {
            let follows = common::ok(&a, reqwest::Method::GET, "/api/v1/admin/follows", None).await;
            follows
                .as_array()
                .into_iter()
                .flatten()
                .any(|f| f["state"] == "accepted")
        })
        .await;
        // What the pole publishes next reaches the follower.
        create(
            &b,
            "/api/v1/poles/secure/projects",
            json!({"title": "Atelier vélo"}),
        )
        .await;
        common::eventually(&format!("{label}: the new project arrives"), || async {
            common::titles(&a, &format!("secure@{}", b.host()), "projects")
                .await
                .contains(&"Atelier vélo".to_owned())
        })
        .await;
        a.stop().await;
        b.stop().await;
        db_a.drop_now().await;
        db_b.drop_now().await;
    }
}

/// Production mode with `federation.allowed_addresses`: a listed network is contacted (over
/// https only), an unlisted one still is not. Every address here is a loopback one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_addresses_open_the_listed_networks_only() {
    common::init_logs();
    let db = TestDb::sqlite();
    let a = TestServer::start_on(&db, 0, |config| {
        config.federation.development_mode = false;
        config.federation.allowed_addresses = vec!["127.0.0.1/32".into(), "::1".into()];
    })
    .await;
    create(
        &a,
        "/api/v1/poles",
        json!({"slug": "cible", "name": "Pôle Cible"}),
    )
    .await;
    // A stand-in on loopback that counts connections and closes each at once.
    let trap = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = trap.local_addr().expect("address").port();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = trap.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    let seen = || connections.load(std::sync::atomic::Ordering::SeqCst);
    let follow = |actor: String| {
        let a = &a;
        async move {
            a.client
                .post(a.url("/api/v1/admin/follows"))
                .bearer_auth(&a.admin_token)
                .json(&json!({ "actor": actor }))
                .send()
                .await
                .expect("post")
        }
    };
    // Refused before any connection: plain http, and a loopback address not listed.
    for actor in [
        format!("http://127.0.0.1:{port}/users/x"),
        format!("https://127.0.0.2:{port}/users/x"),
    ] {
        let response = follow(actor.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{actor}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(seen(), 0, "a refused address was connected to");

    // A listed network is contacted (the stand-in closes at once, so the fetch then fails),
    // and so is a name under localhost, a loopback address.
    for (n, actor) in [
        format!("https://127.0.0.1:{port}/users/x"),
        format!("https://peer.localhost:{port}/users/x"),
    ]
    .into_iter()
    .enumerate()
    {
        let response = follow(actor.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY, "{actor}");
        assert!(seen() > n, "{actor}: the listed network was not contacted");
    }
    a.stop().await;
}

/// Federation never starts with another client than the configured one: trusted roots that
/// cannot be read stop it, instead of leaving it to trust only the usual authorities.
#[tokio::test]
async fn federation_does_not_start_without_its_configured_roots() {
    common::init_logs();
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("temporary directory");
    let store_config = db.config();
    let store = maillage::store::Store::connect(&store_config)
        .await
        .expect("connect");
    for (label, content) in [("missing", None), ("not PEM", Some("not a certificate"))] {
        let mut config = db.config();
        let path = dir.path().join(format!("{}.pem", label.replace(' ', "-")));
        if let Some(content) = content {
            std::fs::write(&path, content).expect("write");
        }
        config.federation.extra_root_certificates = Some(path.display().to_string());
        let result = maillage::federation::fetch::service::Federation::new(
            store.clone(),
            std::sync::Arc::new(config),
        );
        let Err(e) = result else {
            panic!("[{label}] federation started without its roots");
        };
        assert!(
            e.to_string().contains("extra_root_certificates"),
            "[{label}] {e}"
        );
    }
}
