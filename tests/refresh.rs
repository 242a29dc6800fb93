//! The refresh of stale copies, with real instances on loopback: what an origin changed or
//! deleted behind its followers' back (straight in its database) is updated or deleted on
//! the follower by `maillage refresh`, and what an unreachable origin published stays.

mod common;

use common::{TestDb, TestServer, call, eventually, ok, refresh, titles};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

fn pole(slug: &str) -> Value {
    json!({
        "slug": slug,
        "name": format!("Pôle {slug}"),
        "territory": {"communes": ["35236"], "kind": "rural"},
        "themes": ["renewable-energy"],
    })
}

fn project(title: &str) -> Value {
    json!({"title": title, "summary": "Une légumerie partagée", "status": "in-progress"})
}

async fn pole_name(server: &TestServer, handle: &str) -> Option<String> {
    let (status, pole) = call(
        server,
        Method::GET,
        &format!("/api/v1/poles/{handle}"),
        None,
    )
    .await;
    (status == StatusCode::OK).then(|| pole["name"].as_str().unwrap_or_default().to_owned())
}

/// Changes the origin's database directly: no activity tells anyone.
async fn behind_the_back(server: &TestServer, sql: &str) {
    let db = server.store.connection();
    let done = db
        .execute_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("a direct change");
    assert_eq!(done.rows_affected(), 1, "{sql}");
}

async fn refresh_on(db: &TestDb) {
    let (db_a, db_b) = (TestDb::sqlite(), TestDb::sqlite());
    let a = TestServer::start_as(&db_a, "a.localhost", 0, |_| {}).await;
    let b = TestServer::start_as(&db_b, "b.localhost", 0, |_| {}).await;
    let f = TestServer::start_as(db, "f.localhost", 0, |_| {}).await;

    for slug in ["redon", "vilaine"] {
        ok(&a, Method::POST, "/api/v1/poles", Some(pole(slug))).await;
    }
    for title in ["Légumerie", "Recyclerie", "Ressourcerie"] {
        ok(
            &a,
            Method::POST,
            "/api/v1/poles/redon/projects",
            Some(project(title)),
        )
        .await;
    }
    ok(
        &a,
        Method::POST,
        "/api/v1/poles/redon/events",
        Some(
            json!({"title": "Portes ouvertes", "starts_at": "2038-12-05T14:00",
                    "ends_at": "2038-12-05T18:00",
                    "place": {"name": "La Maison", "commune": "35236"}}),
        ),
    )
    .await;
    ok(&b, Method::POST, "/api/v1/poles", Some(pole("figeac"))).await;
    ok(
        &b,
        Method::POST,
        "/api/v1/poles/figeac/projects",
        Some(project("Éolien citoyen")),
    )
    .await;
    for origin in [&a, &b] {
        ok(
            &f,
            Method::POST,
            "/api/v1/admin/follows",
            Some(json!({"actor": origin.host()})),
        )
        .await;
    }
    let (redon, vilaine, figeac) = (
        format!("redon@{}", a.host()),
        format!("vilaine@{}", a.host()),
        format!("figeac@{}", b.host()),
    );
    eventually("the directories to be announced", || async {
        titles(&f, &redon, "projects").await.len() == 3
            && titles(&f, &redon, "events").await.len() == 1
            && pole_name(&f, &vilaine).await.is_some()
            && titles(&f, &figeac, "projects").await.len() == 1
    })
    .await;

    // Fresh copies are not read again.
    assert_eq!(
        refresh(&f, db, "1h").await,
        "unchanged 0\tupdated 0\tdeleted 0\tdeferred 0\trefused 0"
    );

    // A changes and deletes things without telling anyone; B goes away.
    behind_the_back(
        &a,
        "UPDATE poles SET name = 'Pôle de Redon' WHERE slug = 'redon'",
    )
    .await;
    behind_the_back(
        &a,
        "UPDATE projects SET title = 'Légumerie partagée' WHERE title = 'Légumerie'",
    )
    .await;
    // Answers 410 Gone from now on.
    behind_the_back(
        &a,
        "UPDATE projects SET deleted_at = updated_at WHERE title = 'Recyclerie'",
    )
    .await;
    behind_the_back(
        &a,
        "UPDATE poles SET deleted_at = updated_at WHERE slug = 'vilaine'",
    )
    .await;
    // Answers 404 Not Found from now on.
    behind_the_back(
        &a,
        "UPDATE projects SET public_id = 'removed' WHERE title = 'Ressourcerie'",
    )
    .await;
    b.stop().await;
    // Whatever A still had to deliver (a late copy of the event) has arrived, so that the
    // version below is the copy's last before the refresh.
    eventually("A's deliveries to be sent", || async {
        let pending = format!(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'pending' AND domain = '{}'",
            f.host()
        );
        common::count(&a.store, &pending).await == 0
    })
    .await;
    let event = events_of(&f, &redon).await;

    // Poles redon (changed), vilaine (410) and figeac (B is down); projects Légumerie
    // (changed), Recyclerie (410), Ressourcerie (404) and B's; the event, unchanged.
    assert_eq!(
        refresh(&f, db, "0s").await,
        "unchanged 1\tupdated 2\tdeleted 3\tdeferred 2\trefused 0"
    );
    assert_eq!(
        pole_name(&f, &redon).await.as_deref(),
        Some("Pôle de Redon")
    );
    assert_eq!(titles(&f, &redon, "projects").await, ["Légumerie partagée"]);
    assert_eq!(titles(&f, &redon, "events").await, ["Portes ouvertes"]);
    assert_eq!(
        events_of(&f, &redon).await,
        event,
        "an unchanged copy is not rewritten"
    );
    assert_eq!(pole_name(&f, &vilaine).await, None, "gone at its origin");
    let (status, found) = call(&f, Method::GET, "/api/v1/directory?q=recyclerie", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["items"], json!([]), "{found}");
    // What the unreachable origin published stays.
    assert_eq!(pole_name(&f, &figeac).await.as_deref(), Some("Pôle figeac"));
    assert_eq!(titles(&f, &figeac, "projects").await, ["Éolien citoyen"]);

    // What was read is fresh again; what could not be read waits for its turn.
    assert_eq!(
        refresh(&f, db, "10m").await,
        "unchanged 0\tupdated 0\tdeleted 0\tdeferred 0\trefused 0"
    );

    a.stop().await;
    f.stop().await;
}

/// The ids and versions of a pole's events as `server` knows them.
async fn events_of(server: &TestServer, handle: &str) -> Vec<(String, i64)> {
    let page = ok(
        server,
        Method::GET,
        &format!("/api/v1/poles/{handle}/events"),
        None,
    )
    .await;
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| Some((i["url"].as_str()?.to_owned(), i["version"].as_i64()?)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_copies_are_refreshed_from_their_origin() {
    common::init_logs();
    for db in TestDb::all().await {
        refresh_on(&db).await;
        db.drop_now().await;
    }
}
