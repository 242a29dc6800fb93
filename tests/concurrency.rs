//! Concurrent writes through the API, on SQLite and PostgreSQL: every acknowledged change
//! survives, versions go 1, 2, 3… without a gap or a repeat, each change reaches the
//! followers once, and `If-Match` refuses a write based on a version someone else changed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::routing::post;
use common::{TestDb, TestServer, call};
use maillage::store::{NewRemoteActor, Store};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

/// A follower's inbox on loopback that keeps every activity posted to it.
struct Inbox {
    url: String,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Inbox {
    async fn start() -> Inbox {
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        let app = axum::Router::new().route(
            "/inbox",
            post(move |body: axum::body::Bytes| {
                let kept = kept.clone();
                async move {
                    if let Ok(activity) = serde_json::from_slice::<Value>(&body) {
                        kept.lock().expect("inbox lock").push(activity);
                    }
                    StatusCode::ACCEPTED
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Inbox {
            url: format!("http://127.0.0.1:{port}/inbox"),
            received,
        }
    }

    /// The ids of the activities received whose object is `ap_id` (or whose id starts with it).
    fn ids_about(&self, ap_id: &str) -> Vec<String> {
        self.received
            .lock()
            .expect("inbox lock")
            .iter()
            .filter_map(|a| a.get("id").and_then(Value::as_str))
            .filter(|id| id.starts_with(&format!("{ap_id}#")))
            .map(str::to_owned)
            .collect()
    }
}

/// Makes the stand-in inbox an accepted follower of the pole.
async fn follow(store: &Store, pole_ap_id: &str, pole_id: i64, inbox: &Inbox) {
    let actor = inbox.url.trim_end_matches("/inbox").to_owned() + "/actor";
    let remote = store
        .upsert_remote_actor(&NewRemoteActor {
            ap_id: actor.clone(),
            kind: "Person".into(),
            username: Some("follower".into()),
            name: None,
            domain: inbox
                .url
                .trim_start_matches("http://")
                .trim_end_matches("/inbox")
                .into(),
            inbox: inbox.url.clone(),
            shared_inbox: None,
            key_id: Some(format!("{actor}#main-key")),
            public_key_pem: None,
            url: None,
        })
        .await
        .expect("follower actor");
    store
        .add_follower(
            pole_ap_id,
            Some(pole_id),
            remote.id,
            &format!("{actor}/follows/1"),
            "accepted",
        )
        .await
        .expect("follower");
}

/// Sends the requests at once and gives each answer's status and body, in order. Each
/// request has a client of its own whose connection is open beforehand, and all wait for one
/// another before sending, so that the server really has them all at the same moment.
async fn all_at_once(
    server: &TestServer,
    requests: Vec<(Method, String, Value)>,
) -> Vec<(StatusCode, Value)> {
    let start = Arc::new(tokio::sync::Barrier::new(requests.len()));
    let tasks = requests.into_iter().map(|(method, path, body)| {
        let url = server.url(&path);
        let health = server.url("/healthz");
        let token = server.admin_token.clone();
        let start = start.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            client.get(health).send().await.expect("warm-up request");
            start.wait().await;
            let response = client
                .request(method, url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("request");
            let status = response.status();
            let body = response.json::<Value>().await.unwrap_or(Value::Null);
            (status, body)
        })
    });
    let tasks: Vec<_> = tasks.collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("request task"));
    }
    answers
}

/// The versions in the history of one object, in the order the changes were written.
async fn history(store: &Store, kind: &str, object_id: i64) -> Vec<i64> {
    let db = store.connection();
    let sql = match store.backend() {
        maillage::config::Backend::Postgres => {
            "SELECT version FROM changes WHERE object_kind = $1 AND object_id = $2 ORDER BY id"
        }
        maillage::config::Backend::Sqlite => {
            "SELECT version FROM changes WHERE object_kind = ? AND object_id = ? ORDER BY id"
        }
    };
    db.query_all_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        [kind.into(), object_id.into()],
    ))
    .await
    .expect("history")
    .iter()
    .map(|row| {
        row.try_get::<i32>("", "version")
            .map(i64::from)
            .expect("version")
    })
    .collect()
}

fn one_to(n: i64) -> Vec<i64> {
    (1..=n).collect()
}

/// Patches of different fields of one record, sent at once: every answer is 200 and every
/// field holds what its patch set.
async fn different_fields_all_survive(
    server: &TestServer,
    label: &str,
    what: &str,
    path: &str,
    patches: &[(&str, Value)],
) -> Value {
    let before = common::ok(server, Method::GET, path, None).await;
    let requests = patches
        .iter()
        .map(|(field, value)| {
            let mut body = json!({});
            body[*field] = value.clone();
            (Method::PATCH, path.to_owned(), body)
        })
        .collect();
    for (status, body) in all_at_once(server, requests).await {
        assert_eq!(
            status,
            StatusCode::OK,
            "{label}: a patch of the {what}: {body}"
        );
    }
    let after = common::ok(server, Method::GET, path, None).await;
    for (field, value) in patches {
        assert_eq!(
            &after[*field], value,
            "{label}: the {what}'s `{field}` set by one of the concurrent patches is lost"
        );
    }
    assert_eq!(
        after["version"].as_i64().expect("version"),
        before["version"].as_i64().expect("version") + patches.len() as i64,
        "{label}: the {what} has one version per patch"
    );
    after
}

// Several worker threads, as the server runs: requests are handled truly at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_of_different_fields_all_survive() {
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        common::ok(
            &server,
            Method::POST,
            "/api/v1/poles",
            Some(json!({"slug": "ensemble", "name": "Pôle Ensemble"})),
        )
        .await;
        different_fields_all_survive(
            &server,
            label,
            "pole",
            "/api/v1/poles/ensemble",
            &[
                ("name", json!("Pôle Ensemble renommé")),
                ("summary", json!("Coopérer sur le territoire")),
                ("description", json!("Une description.")),
                ("website", json!("https://ensemble.example.org/")),
                ("contact_email", json!("contact@ensemble.example.org")),
                ("contact_phone", json!("+33 2 99 00 00 00")),
                ("founded_year", json!(2014)),
                ("themes", json!(["renewable-energy"])),
            ],
        )
        .await;

        let member = common::ok(
            &server,
            Method::POST,
            "/api/v1/poles/ensemble/members",
            Some(json!({"name": "Association Racines", "legal_form": "association"})),
        )
        .await;
        different_fields_all_survive(
            &server,
            label,
            "member",
            &format!("/api/v1/poles/ensemble/members/{}", member["id"]),
            &[
                ("name", json!("Racines")),
                ("role", json!("animation")),
                ("website", json!("https://racines.example.org/")),
                ("joined_year", json!(2016)),
                ("employee_band", json!("1-9")),
                // An association is ESS by law: saying so again would be no change, and a
                // write that changes nothing gives no version.
                ("ess", json!(false)),
            ],
        )
        .await;

        let project = common::ok(
            &server,
            Method::POST,
            "/api/v1/poles/ensemble/projects",
            Some(json!({"title": "Parc éolien citoyen"})),
        )
        .await;
        different_fields_all_survive(
            &server,
            label,
            "project",
            &format!("/api/v1/projects/{}", project["id"].as_str().expect("id")),
            &[
                ("title", json!("Parc éolien citoyen du pays")),
                ("summary", json!("Quatre éoliennes")),
                ("description", json!("Portées par les habitants.")),
                // Not `in-progress`, the status it has: each patch here changes something.
                ("status", json!("idea")),
                ("themes", json!(["renewable-energy"])),
                ("start_date", json!("2026-01-15")),
            ],
        )
        .await;

        let event = common::ok(
            &server,
            Method::POST,
            "/api/v1/poles/ensemble/events",
            Some(json!({"title": "Marché solidaire", "starts_at": "2038-03-06T10:00", "online_url": "https://visio.example.org/"})),
        )
        .await;
        different_fields_all_survive(
            &server,
            label,
            "event",
            &format!("/api/v1/events/{}", event["id"].as_str().expect("id")),
            &[
                ("title", json!("Grand marché solidaire")),
                ("summary", json!("Producteurs et artisans")),
                ("description", json!("Sous la halle.")),
                ("online_url", json!("https://visio.example.org/marche")),
                (
                    "registration_url",
                    json!("https://ensemble.example.org/inscription"),
                ),
                ("capacity", json!(120)),
            ],
        )
        .await;

        let call_ = common::ok(
            &server,
            Method::POST,
            "/api/v1/poles/ensemble/calls",
            Some(json!({
                "title": "Cherche un local",
                "how_to_answer": "Écrire au pôle",
                "direction": "offering",
                "subjects": ["skills"],
            })),
        )
        .await;
        different_fields_all_survive(
            &server,
            label,
            "call",
            &format!("/api/v1/calls/{}", call_["id"].as_str().expect("id")),
            &[
                ("title", json!("Cherche un local partagé")),
                ("summary", json!("Cent mètres carrés")),
                ("description", json!("Pour un atelier.")),
                ("direction", json!("seeking")),
                ("subjects", json!(["premises"])),
                (
                    "how_to_answer",
                    json!("Écrire à contact@ensemble.example.org"),
                ),
                ("deadline", json!("2038-06-30")),
            ],
        )
        .await;
        server.stop().await;
        db.drop_now().await;
    }
}

// Several worker threads, as the server runs: requests are handled truly at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_patches_give_fifty_versions_each_federated_once() {
    const WRITERS: i64 = 50;
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let inbox = Inbox::start().await;
        common::ok(
            &server,
            Method::POST,
            "/api/v1/poles",
            Some(json!({"slug": "versions", "name": "Pôle Versions"})),
        )
        .await;
        let pole_record = server.store.pole("versions").await.expect("pole");
        follow(&server.store, &pole_record.ap_id, pole_record.id, &inbox).await;
        let project = common::ok(
            &server,
            Method::POST,
            "/api/v1/poles/versions/projects",
            Some(json!({"title": "Épicerie coopérative"})),
        )
        .await;
        let id = project["id"].as_str().expect("id").to_owned();
        let ap_id = project["url"].as_str().expect("url").to_owned();

        let requests = (0..WRITERS)
            .map(|n| {
                (
                    Method::PATCH,
                    format!("/api/v1/projects/{id}"),
                    json!({"summary": format!("Résumé numéro {n}")}),
                )
            })
            .collect();
        let answers = all_at_once(&server, requests).await;
        let mut versions = BTreeSet::new();
        for (status, body) in &answers {
            assert_eq!(
                *status,
                StatusCode::OK,
                "{label}: a concurrent patch: {body}"
            );
            versions.insert(body["version"].as_i64().expect("version"));
        }
        assert_eq!(
            versions.into_iter().collect::<Vec<_>>(),
            (2..=WRITERS + 1).collect::<Vec<_>>(),
            "{label}: each acknowledged patch got a version of its own"
        );
        let stored = server.store.project(&id).await.expect("project");
        assert_eq!(
            i64::from(stored.version),
            WRITERS + 1,
            "{label}: final version"
        );
        assert_eq!(
            history(&server.store, "project", stored.id).await,
            one_to(WRITERS + 1),
            "{label}: the history's versions go 1 to N in order, without a repeat"
        );

        // Every change reaches the follower, each under an id of its own, once.
        let expected: BTreeSet<String> = std::iter::once(format!("{ap_id}#create-1"))
            .chain((2..=WRITERS + 1).map(|v| format!("{ap_id}#update-{v}")))
            .collect();
        common::eventually(
            &format!("{label}: the follower receives every change"),
            || {
                let got: BTreeSet<String> = inbox.ids_about(&ap_id).into_iter().collect();
                let done = got == expected;
                async move { done }
            },
        )
        .await;
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for received in inbox.ids_about(&ap_id) {
            *counts.entry(received).or_default() += 1;
        }
        assert!(
            counts.values().all(|n| *n == 1),
            "{label}: no activity delivered twice: {counts:?}"
        );
        server.stop().await;
        db.drop_now().await;
    }
}

// Several worker threads, as the server runs: requests are handled truly at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_creates_of_members_all_succeed() {
    const WRITERS: usize = 50;
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        common::ok(
            &server,
            Method::POST,
            "/api/v1/poles",
            Some(json!({"slug": "nombreux", "name": "Pôle Nombreux"})),
        )
        .await;
        let requests = (0..WRITERS)
            .map(|n| {
                (
                    Method::POST,
                    "/api/v1/poles/nombreux/members".to_owned(),
                    json!({"name": format!("Membre {n}"), "legal_form": "association"}),
                )
            })
            .collect();
        for (status, body) in all_at_once(&server, requests).await {
            assert_eq!(
                status,
                StatusCode::CREATED,
                "{label}: a concurrent create: {body}"
            );
        }
        let pole = server.store.pole("nombreux").await.expect("pole");
        assert_eq!(
            server.store.member_count(pole.id).await.expect("count"),
            WRITERS as u64,
            "{label}: every member created is there"
        );
        // The directory's row of the pole counts them all.
        let found = common::ok(
            &server,
            Method::GET,
            "/api/v1/directory?q=Nombreux&kind=pole",
            None,
        )
        .await;
        assert_eq!(
            found["total"], 1,
            "{label}: the pole is in the directory once"
        );
        server.stop().await;
        db.drop_now().await;
    }
}

// Several worker threads, as the server runs: requests are handled truly at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn if_match_refuses_a_write_based_on_an_old_version() {
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        common::ok(
            &server,
            Method::POST,
            "/api/v1/poles",
            Some(json!({"slug": "etag", "name": "Pôle Etag"})),
        )
        .await;
        let member = common::ok(
            &server,
            Method::POST,
            "/api/v1/poles/etag/members",
            Some(json!({"name": "SCIC Bois", "legal_form": "scic"})),
        )
        .await;
        let project = common::ok(
            &server,
            Method::POST,
            "/api/v1/poles/etag/projects",
            Some(json!({"title": "Filière bois"})),
        )
        .await;
        let paths = [
            "/api/v1/poles/etag".to_owned(),
            format!("/api/v1/poles/etag/members/{}", member["id"]),
            format!("/api/v1/projects/{}", project["id"].as_str().expect("id")),
        ];
        for path in paths {
            let read = server
                .client
                .get(server.url(&path))
                .send()
                .await
                .expect("GET");
            let etag = read
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("{label}: {path} answers with an ETag"));
            let version = read.json::<Value>().await.expect("json")["version"].clone();
            assert_eq!(
                etag,
                format!("\"{version}\""),
                "{label}: the ETag is the version"
            );

            // Members have no summary: their role is the field both people change.
            let field = if path.contains("/members/") {
                "role"
            } else {
                "summary"
            };
            let patch = |value: &str, tag: &str| {
                server
                    .client
                    .patch(server.url(&path))
                    .bearer_auth(&server.admin_token)
                    .header("If-Match", tag)
                    .json(&json!({ field: value }))
                    .send()
            };
            // Someone else's change, then ours based on what we read before it.
            let first = patch("La version de Camille", &etag).await.expect("PATCH");
            assert_eq!(
                first.status(),
                StatusCode::OK,
                "{label}: {path}: first write"
            );
            let new_tag = first
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .expect("the answer carries the new ETag");
            assert_ne!(new_tag, etag, "{label}: {path}: a write gives a new ETag");
            let stale = patch("La version de Dominique", &etag)
                .await
                .expect("PATCH");
            assert_eq!(
                stale.status(),
                StatusCode::PRECONDITION_FAILED,
                "{label}: {path}: a write based on the old version"
            );
            let error = stale.json::<Value>().await.expect("json");
            assert_eq!(error["error"], "precondition_failed", "{label}: {error}");
            let (status, now) = call(&server, Method::GET, &path, None).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(
                now[field], "La version de Camille",
                "{label}: {path}: the refused write changed nothing"
            );
            // A tag that is not one of ours matches no version.
            let weak = patch("x", "W/\"1\"").await.expect("PATCH");
            assert_eq!(
                weak.status(),
                StatusCode::PRECONDITION_FAILED,
                "{label}: weak tag"
            );
            // With the current tag, the write goes through.
            let fresh = patch("La version de Dominique", &new_tag)
                .await
                .expect("PATCH");
            assert_eq!(
                fresh.status(),
                StatusCode::OK,
                "{label}: {path}: current tag"
            );
        }
        server.stop().await;
        db.drop_now().await;
    }
}

/// The conflicts the database gives up on are the ones tried again: a real deadlock on
/// PostgreSQL, a busy database on SQLite; a plain error is not.
#[tokio::test]
async fn deadlocks_and_busy_databases_are_recognised_as_worth_retrying() {
    use sea_orm::{ConnectOptions, Database, TransactionTrait};
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let mut options = ConnectOptions::new(db.url.clone());
        options.max_connections(1).sqlx_logging(false);
        let first = Database::connect(options.clone()).await.expect("connect");
        let second = Database::connect(options).await.expect("connect");
        let error = match store.backend() {
            maillage::config::Backend::Postgres => {
                first
                    .execute_unprepared(
                        "CREATE TABLE meeting (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);\
                         INSERT INTO meeting VALUES (1, 0), (2, 0)",
                    )
                    .await
                    .expect("table");
                let a = first.begin().await.expect("begin");
                let b = second.begin().await.expect("begin");
                a.execute_unprepared("UPDATE meeting SET n = 1 WHERE id = 1")
                    .await
                    .expect("lock 1");
                b.execute_unprepared("UPDATE meeting SET n = 1 WHERE id = 2")
                    .await
                    .expect("lock 2");
                // Each now waits for the other's row: PostgreSQL ends one of them.
                let waits = tokio::spawn(async move {
                    let result = a
                        .execute_unprepared("UPDATE meeting SET n = 2 WHERE id = 2")
                        .await;
                    (result, a)
                });
                let other = b
                    .execute_unprepared("UPDATE meeting SET n = 2 WHERE id = 1")
                    .await;
                let (result, _a) = waits.await.expect("task");
                match (result, other) {
                    (Err(e), Ok(_)) | (Ok(_), Err(e)) => e,
                    other => panic!("{label}: one of the two is ended: {other:?}"),
                }
            }
            maillage::config::Backend::Sqlite => {
                first
                    .execute_unprepared("BEGIN IMMEDIATE")
                    .await
                    .expect("write lock");
                second
                    .execute_unprepared("PRAGMA busy_timeout = 0")
                    .await
                    .expect("no wait");
                let error = second
                    .execute_unprepared("BEGIN IMMEDIATE")
                    .await
                    .expect_err("the database is busy");
                first
                    .execute_unprepared("ROLLBACK")
                    .await
                    .expect("rollback");
                error
            }
        };
        assert!(
            maillage::store::is_transient(&error),
            "{label}: worth retrying: {error}"
        );
        let plain = first
            .execute_unprepared("SELECT * FROM no_such_table")
            .await
            .expect_err("an error");
        assert!(
            !maillage::store::is_transient(&plain),
            "{label}: not worth retrying: {plain}"
        );
        first.close().await.ok();
        second.close().await.ok();
        store.close().await.ok();
        db.drop_now().await;
    }
}
