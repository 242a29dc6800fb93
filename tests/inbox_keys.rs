//! How an inbox gets the key of a signed request: bounded and shared fetches that fail
//! closed with a 401, keys fetched again when they change (not on every bad signature), the
//! signed host checked, our own keys read locally; and a like replayed after its undo.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::stand_ins::{BlackHoles, RemoteSender};
use common::{TestDb, TestServer};
use maillage::config::Config;
use maillage::federation::signatures::{private_key, sign_post, sign_request};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

const AP_JSON: &str = "application/activity+json";

/// A server with the pole `cible`, its configuration adjusted by `adjust`.
async fn server_with_pole(db: &TestDb, adjust: impl FnOnce(&mut Config)) -> TestServer {
    let server = TestServer::start_on(db, 0, adjust).await;
    create(
        &server,
        "/api/v1/poles",
        json!({"slug": "cible", "name": "Pôle cible"}),
    )
    .await;
    server
}

async fn create(server: &TestServer, path: &str, body: Value) -> Value {
    common::ok(server, reqwest::Method::POST, path, Some(body)).await
}

async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// POSTs `activity` to `inbox` with `client`, signed as `key_id` with `pem` for the URL
/// `signed_for` (the inbox's own URL, or one on another host), whose host is sent as `Host`.
async fn send_signed(
    client: &reqwest::Client,
    inbox: &str,
    signed_for: &str,
    activity: &Value,
    key_id: &str,
    pem: &str,
) -> (StatusCode, Value) {
    let body = serde_json::to_vec(activity).expect("json");
    let url = url::Url::parse(signed_for).expect("url");
    let headers = sign_post(&url, &body, key_id, pem, SystemTime::now()).expect("sign");
    let mut request = client
        .post(inbox)
        .header("content-type", AP_JSON)
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    answer(request.send().await.expect("post")).await
}

async fn post_signed_for(
    server: &TestServer,
    signed_for: &str,
    activity: &Value,
    key_id: &str,
    pem: &str,
) -> (StatusCode, Value) {
    let inbox = server.url("/inbox");
    send_signed(&server.client, &inbox, signed_for, activity, key_id, pem).await
}

async fn post(
    server: &TestServer,
    activity: &Value,
    key_id: &str,
    pem: &str,
) -> (StatusCode, Value) {
    post_signed_for(server, &server.url("/inbox"), activity, key_id, pem).await
}

/// A GET of `path` for federation clients, signed as `key_id` with `pem` for `signed_for`.
async fn get_signed_for(
    server: &TestServer,
    signed_for: &str,
    key_id: &str,
    pem: &str,
) -> (StatusCode, Value) {
    let url = url::Url::parse(signed_for).expect("url");
    let key = private_key(pem).expect("key");
    let headers = sign_request(&url, None, key_id, &key, SystemTime::now()).expect("sign");
    let mut request = server
        .client
        .get(server.url(url.path()))
        .header("accept", AP_JSON);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    answer(request.send().await.expect("get")).await
}

/// A `Like` by `actor` of `object`, with the id `actor/likes/n`.
fn like(actor: &str, n: u32, object: &str) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}/likes/{n}"), "type": "Like",
        "actor": actor, "object": object,
    })
}

fn message(error: &Value) -> &str {
    error["message"].as_str().unwrap_or_default()
}

/// Remote actors stored whose id is on `server` itself.
async fn ourselves_as_remote(server: &TestServer) -> i64 {
    let db = server.store.connection();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT COUNT(*) AS n FROM remote_actors WHERE ap_id LIKE '{}%'",
                server.base
            ),
        ))
        .await
        .expect("count")
        .expect("a row");
    row.try_get::<i64>("", "n").expect("n")
}

/// Maillage's events at WARN or ERROR, recorded on the thread that sets it as its default: a
/// test on the current-thread runtime sees all its server's logs. (The database driver's own
/// warnings, such as a slow `DROP DATABASE` of the test's clean-up on a busy machine, are
/// not the inbox's.)
#[derive(Clone, Default)]
struct Loud(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Loud {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() <= tracing::Level::WARN && meta.target().starts_with("maillage") {
            let mut fields = Fields(format!("{} {}:", meta.level(), meta.target()));
            event.record(&mut fields);
            if let Ok(mut events) = self.0.lock() {
                events.push(fields.0);
            }
        }
    }
}

#[tokio::test]
async fn a_key_server_refusing_connections_is_a_401_without_internals() {
    use tracing_subscriber::layer::SubscriberExt;
    let loud = Loud::default();
    let _logs = tracing::subscriber::set_default(tracing_subscriber::registry().with(loud.clone()));
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        // A port nothing listens on any more.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("address").port()
        };
        let actor = format!("http://127.0.0.1:{port}/users/gone");
        let keys = activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
        let (status, error) = post(
            &server,
            &like(&actor, 1, &server.url("/poles/p")),
            &format!("{actor}#main-key"),
            &keys.private_key,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "[{label}] {error}");
        let text = message(&error);
        assert!(
            text.contains("could not be fetched") && text.contains(&actor),
            "[{label}] {text}"
        );
        for internal in [
            "tcp",
            "connect error",
            "error sending",
            "Connection refused",
        ] {
            assert!(
                !text.to_lowercase().contains(&internal.to_lowercase()),
                "[{label}] `{internal}` in {text}"
            );
        }
        server.stop().await;
        db.drop_now().await;
    }
    let loud = loud.0.lock().expect("events").clone();
    assert!(loud.is_empty(), "logged above info: {loud:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_key_server_is_given_up_within_the_bound_and_fetched_once() {
    common::init_logs();
    const WAITING: usize = 6;
    for db in TestDb::all().await {
        let label = db.label;
        let server =
            TestServer::start_on(&db, 0, |c| c.federation.key_fetch_timeout_seconds = 1).await;
        // Takes the connection and never answers: slower than any bound.
        let slow = BlackHoles::start(1).await;
        let actor = format!("http://127.0.0.1:{}/users/slow", slow.ports[0]);
        let keys = activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
        let started = Instant::now();
        let mut requests = tokio::task::JoinSet::new();
        for n in 0..WAITING as u32 {
            let client = server.client.clone();
            let activity = like(&actor, n, &server.url("/poles/p"));
            let inbox = server.url("/inbox");
            let pem = keys.private_key.clone();
            let key_id = format!("{actor}#main-key");
            requests.spawn(async move {
                send_signed(&client, &inbox, &inbox, &activity, &key_id, &pem).await
            });
        }
        while let Some(answered) = requests.join_next().await {
            let (status, error) = answered.expect("a request");
            assert_eq!(status, StatusCode::UNAUTHORIZED, "[{label}] {error}");
            assert!(
                message(&error).contains("could not be fetched")
                    && message(&error).contains("within 1 s"),
                "[{label}] {error}"
            );
        }
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(4),
            "[{label}] {WAITING} requests answered after {took:?}"
        );
        assert_eq!(
            slow.accepted(),
            1,
            "[{label}] {WAITING} requests waiting on one key share one fetch"
        );
        slow.close().await;
        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_like_sent_again_after_its_undo_is_not_counted_again() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let server = server_with_pole(&db, |_| {}).await;
        let project = create(
            &server,
            "/api/v1/poles/cible/projects",
            json!({"title": "Projet aimé"}),
        )
        .await;
        let object = server.url(&format!(
            "/projects/{}",
            project["id"].as_str().expect("id")
        ));
        let local = server
            .store
            .local_object(&object)
            .await
            .expect("read")
            .expect("the project");
        let likes = || async {
            server
                .store
                .reaction_counts(local.kind, local.id)
                .await
                .expect("counts")
                .0
        };
        let sender = RemoteSender::start().await;
        let pem = sender.private_key();
        let liked = like(&sender.id, 1, &object);
        let (status, error) = post(&server, &liked, &sender.key_id, &pem).await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {error}");
        assert_eq!(likes().await, 1, "[{label}] liked");

        let undo = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/undos/1", sender.id), "type": "Undo",
            "actor": sender.id, "object": liked,
        });
        let (status, error) = post(&server, &undo, &sender.key_id, &pem).await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {error}");
        assert_eq!(likes().await, 0, "[{label}] undone");

        // The same Like again, replayed: accepted, and not applied again.
        let (status, error) = post(&server, &liked, &sender.key_id, &pem).await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {error}");
        assert_eq!(likes().await, 0, "[{label}] a like replayed after its undo");

        // A new like of the same object counts.
        let (status, error) =
            post(&server, &like(&sender.id, 2, &object), &sender.key_id, &pem).await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {error}");
        assert_eq!(likes().await, 1, "[{label}] liked anew");
        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_fetched_at_once_and_bad_signatures_do_not_refetch() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let sender = RemoteSender::start().await;
        let elsewhere = "http://127.0.0.1:9/notes/1";
        let (status, error) = post(
            &server,
            &like(&sender.id, 1, elsewhere),
            &sender.key_id,
            &sender.private_key(),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {error}");
        assert_eq!(sender.fetches(), 1, "[{label}] the key fetched once");

        // The sender changes its key: its next request is accepted at once.
        sender.rotate();
        let (status, error) = post(
            &server,
            &like(&sender.id, 2, elsewhere),
            &sender.key_id,
            &sender.private_key(),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] rotated: {error}");
        assert_eq!(sender.fetches(), 2, "[{label}] the new key fetched");
        let (status, error) = post(
            &server,
            &like(&sender.id, 3, elsewhere),
            &sender.key_id,
            &sender.private_key(),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {error}");
        assert_eq!(sender.fetches(), 2, "[{label}] the new key kept");

        // Signatures that do not verify do not make a fetch each.
        let forger =
            activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
        for n in 4..8 {
            let (status, error) = post(
                &server,
                &like(&sender.id, n, elsewhere),
                &sender.key_id,
                &forger.private_key,
            )
            .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "[{label}] forged: {error}"
            );
        }
        assert_eq!(
            sender.fetches(),
            2,
            "[{label}] bad signatures fetch the key again at most once a minute"
        );
        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_signed_for_another_host_is_refused() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let server = server_with_pole(&db, |c| c.federation.require_signed_fetch = true).await;
        let sender = RemoteSender::start().await;
        let pem = sender.private_key();
        let other = format!("http://other.localhost:{}", server.port);

        // Captured on its way to another server and replayed here, signature intact.
        let (status, error) = post_signed_for(
            &server,
            &format!("{other}/inbox"),
            &like(&sender.id, 1, "http://127.0.0.1:9/notes/1"),
            &sender.key_id,
            &pem,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "[{label}] {error}");
        assert!(
            message(&error).contains("signed for the host `other.localhost:"),
            "[{label}] {error}"
        );
        let (status, error) = get_signed_for(
            &server,
            &format!("{other}/poles/cible"),
            &sender.key_id,
            &pem,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "[{label}] GET: {error}");
        assert_eq!(sender.fetches(), 0, "[{label}] refused before any fetch");

        // Signed for this instance, with its port: accepted.
        let (status, error) = post(
            &server,
            &like(&sender.id, 2, "http://127.0.0.1:9/notes/1"),
            &sender.key_id,
            &pem,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {error}");
        let (status, error) =
            get_signed_for(&server, &server.url("/poles/cible"), &sender.key_id, &pem).await;
        assert_eq!(status, StatusCode::OK, "[{label}] GET: {error}");
        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_own_keys_are_read_locally_and_never_stored_as_remote() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let server = server_with_pole(&db, |c| c.federation.require_signed_fetch = true).await;
        let pole = server.store.pole("cible").await.expect("pole");
        let pole_key = server
            .store
            .pole_keys(pole.id)
            .await
            .expect("keys")
            .private_key;
        let instance_key = server
            .store
            .instance_keys()
            .await
            .expect("keys")
            .private_key;
        let instance = server.url("/actor");

        // Our instance actor reads our documents with a signed fetch, as it does when it
        // follows links to this instance.
        let (status, error) = get_signed_for(
            &server,
            &server.url("/poles/cible"),
            &format!("{instance}#main-key"),
            &instance_key,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "[{label}] {error}");

        // An activity of one of our poles, come back to us: authenticated, and nothing to do.
        let follow = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/follows/1", pole.ap_id), "type": "Follow",
            "actor": pole.ap_id, "object": instance,
        });
        let (status, error) = post(
            &server,
            &follow,
            &format!("{}#main-key", pole.ap_id),
            &pole_key,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {error}");
        assert_eq!(
            server
                .store
                .count_followers(&instance)
                .await
                .expect("count"),
            0,
            "[{label}] our pole does not follow us"
        );

        // Forged with our key id: refused, from the key read locally.
        let forger =
            activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
        let (status, error) = post(
            &server,
            &follow,
            &format!("{}#main-key", pole.ap_id),
            &forger.private_key,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "[{label}] {error}");
        // A key on our origin that is not one of ours.
        let (status, error) = post(
            &server,
            &json!({"id": server.url("/poles/nobody/x"), "type": "Follow",
                    "actor": server.url("/poles/nobody"), "object": instance}),
            &server.url("/poles/nobody#main-key"),
            &forger.private_key,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "[{label}] {error}");
        assert!(
            message(&error).contains("not a key of this instance"),
            "[{label}] {error}"
        );

        assert_eq!(
            ourselves_as_remote(&server).await,
            0,
            "[{label}] nothing of ours stored as a remote actor"
        );
        server.stop().await;
        db.drop_now().await;
    }
}
