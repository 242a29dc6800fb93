//! The inter-network on loopback: instances follow instances, and every object created,
//! updated or deleted on a pole's instance reaches the instances that follow it, directly or
//! through another instance, until they stop following.

mod common;

use common::{TestDb, TestServer, call, eventually, ok};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn pole(slug: &str, commune: &str) -> Value {
    json!({
        "slug": slug,
        "name": format!("Pôle {slug}"),
        "summary": "Coopérer sur le territoire",
        "territory": {"communes": [commune], "kind": "rural"},
        "themes": ["renewable-energy"],
        "pooling": ["premises"],
    })
}

fn project(title: &str) -> Value {
    json!({"title": title, "summary": "Une légumerie partagée", "status": "in-progress",
           "themes": ["agriculture-food"]})
}

fn event(title: &str) -> Value {
    json!({"title": title, "summary": "Portes ouvertes",
           "starts_at": "2027-12-05T14:00", "ends_at": "2027-12-05T18:00",
           "place": {"name": "La Maison", "commune": "35236"}})
}

/// The titles of a pole's objects of one kind as `server` knows them; empty if it does not
/// know the pole.
async fn titles(server: &TestServer, handle: &str, collection: &str) -> Vec<String> {
    let (status, page) = call(
        server,
        Method::GET,
        &format!("/api/v1/poles/{handle}/{collection}?per_page=100"),
        None,
    )
    .await;
    if status != StatusCode::OK {
        return Vec::new();
    }
    let mut titles: Vec<String> = page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["title"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    titles.sort();
    titles
}

/// The titles a directory search on `server` finds.
async fn search(server: &TestServer, query: &str) -> Vec<String> {
    let (_, page) = call(
        server,
        Method::GET,
        &format!("/api/v1/directory?{query}"),
        None,
    )
    .await;
    let mut titles: Vec<String> = page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["title"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    titles.sort();
    titles
}

/// The directory's Atom feed on `server`.
async fn atom(server: &TestServer) -> String {
    server
        .client
        .get(server.url("/feeds/directory.atom"))
        .send()
        .await
        .expect("feed")
        .text()
        .await
        .expect("feed text")
}

async fn knows_pole(server: &TestServer, handle: &str) -> bool {
    call(
        server,
        Method::GET,
        &format!("/api/v1/poles/{handle}"),
        None,
    )
    .await
    .0 == StatusCode::OK
}

async fn follow_instance(from: &TestServer, to: &TestServer) -> i64 {
    // By its bare domain: the instance actor is found through NodeInfo.
    let record = ok(
        from,
        Method::POST,
        "/api/v1/admin/follows",
        Some(json!({"actor": format!("127.0.0.1:{}", to.port)})),
    )
    .await;
    assert_eq!(record["actor"]["ap_id"], to.url("/actor"), "{record}");
    record["id"].as_i64().expect("a follow id")
}

async fn accepted(from: &TestServer, to: &TestServer) -> bool {
    let (_, list) = call(from, Method::GET, "/api/v1/admin/follows", None).await;
    list.as_array().is_some_and(|l| {
        l.iter()
            .any(|f| f["actor"]["ap_id"] == to.url("/actor") && f["state"] == "accepted")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_follow_instances() {
    common::init_logs();
    let db_a = match TestDb::postgres().await {
        Some(pg) => pg,
        None => TestDb::sqlite(),
    };
    let (db_b, db_c, db_n) = (TestDb::sqlite(), TestDb::sqlite(), TestDb::sqlite());
    let a = TestServer::start(&db_a).await;
    let b = TestServer::start(&db_b).await;
    let c = TestServer::start(&db_c).await;
    let n = TestServer::start(&db_n).await;

    // A and B each have a pole with objects before anyone follows them.
    ok(
        &a,
        Method::POST,
        "/api/v1/poles",
        Some(pole("redon", "35236")),
    )
    .await;
    ok(
        &b,
        Method::POST,
        "/api/v1/poles",
        Some(pole("figeac", "46102")),
    )
    .await;
    ok(
        &a,
        Method::POST,
        "/api/v1/poles/redon/projects",
        Some(project("Légumerie")),
    )
    .await;
    ok(
        &a,
        Method::POST,
        "/api/v1/poles/redon/events",
        Some(event("Portes ouvertes")),
    )
    .await;
    ok(
        &b,
        Method::POST,
        "/api/v1/poles/figeac/projects",
        Some(project("Éolien citoyen")),
    )
    .await;
    let (redon, figeac) = (
        format!("redon@127.0.0.1:{}", a.port),
        format!("figeac@127.0.0.1:{}", b.port),
    );

    // C follows A and B; N, with no pole of its own, follows A, B and C.
    follow_instance(&c, &a).await;
    follow_instance(&c, &b).await;
    follow_instance(&n, &a).await;
    let n_follows_b = follow_instance(&n, &b).await;
    follow_instance(&n, &c).await;
    for (from, to) in [(&c, &a), (&c, &b), (&n, &a), (&n, &b), (&n, &c)] {
        eventually("the instance follows to be accepted", || accepted(from, to)).await;
    }

    // Discovery from A, as seen by N: A's peers are C and N (its followers), C's are A, B
    // and N; N itself is left out, and the depth bounds the walk.
    let domains = |found: &Value| -> Vec<(String, u64)> {
        let mut d: Vec<(String, u64)> = found
            .as_array()
            .expect("a list")
            .iter()
            .map(|i| {
                (
                    i["domain"].as_str().unwrap_or_default().to_owned(),
                    i["depth"].as_u64().unwrap_or(99),
                )
            })
            .collect();
        d.sort();
        d
    };
    let host = |s: &TestServer| format!("127.0.0.1:{}", s.port);
    let found = ok(
        &n,
        Method::GET,
        &format!("/api/v1/admin/discover?from={}&depth=0", host(&a)),
        None,
    )
    .await;
    assert_eq!(domains(&found), [(host(&a), 0)]);
    assert_eq!(found[0]["software"], "maillage");
    assert_eq!(found[0]["poles"], 1);
    assert_eq!(found[0]["followed"], true);
    assert_eq!(found[0]["actor"], a.url("/actor"));
    let found = ok(
        &n,
        Method::GET,
        &format!("/api/v1/admin/discover?from={}&depth=1", host(&a)),
        None,
    )
    .await;
    let mut expected = vec![(host(&a), 0), (host(&c), 1)];
    expected.sort();
    assert_eq!(domains(&found), expected);
    let found = ok(
        &n,
        Method::GET,
        &format!("/api/v1/admin/discover?from={}&depth=2", host(&a)),
        None,
    )
    .await;
    expected.push((host(&b), 2));
    expected.sort();
    assert_eq!(domains(&found), expected);
    let (status, _) = call(
        &n,
        Method::GET,
        "/api/v1/admin/discover?from=x&depth=9",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // What existed before the follows is announced to the followers.
    for server in [&c, &n] {
        eventually("the poles to be announced", || async {
            knows_pole(server, &redon).await && knows_pole(server, &figeac).await
        })
        .await;
        eventually("the existing objects to be announced", || async {
            titles(server, &redon, "projects").await == ["Légumerie"]
                && titles(server, &redon, "events").await == ["Portes ouvertes"]
                && titles(server, &figeac, "projects").await == ["Éolien citoyen"]
        })
        .await;
    }
    let pole_on_n = ok(&n, Method::GET, &format!("/api/v1/poles/{redon}"), None).await;
    assert_eq!(pole_on_n["name"], "Pôle redon");
    // N, with no pole of its own, serves the directory, feeds and statistics of both.
    assert_eq!(
        search(&n, "q=eoliens&kind=project").await,
        ["Éolien citoyen"]
    );
    assert_eq!(search(&n, "kind=pole").await, ["Pôle figeac", "Pôle redon"]);
    assert_eq!(search(&n, "kind=pole&region=53").await, ["Pôle redon"]);
    let feed = atom(&n).await;
    assert!(
        feed.contains("Légumerie") && feed.contains("Éolien citoyen"),
        "{feed}"
    );
    let statistics = ok(&n, Method::GET, "/api/v1/statistics", None).await;
    assert_eq!(statistics["poles"], 2, "{statistics}");

    // Created, updated and deleted on A: the same on C and N.
    let created = ok(
        &a,
        Method::POST,
        "/api/v1/poles/redon/projects",
        Some(project("Recyclerie")),
    )
    .await;
    let id = created["id"].as_str().expect("an id").to_owned();
    for server in [&c, &n] {
        eventually("a new object to be announced", || async {
            titles(server, &redon, "projects").await == ["Légumerie", "Recyclerie"]
        })
        .await;
    }
    ok(
        &a,
        Method::PATCH,
        &format!("/api/v1/projects/{id}"),
        Some(json!({"title": "Ressourcerie"})),
    )
    .await;
    for server in [&c, &n] {
        eventually("an update to be announced", || async {
            titles(server, &redon, "projects").await == ["Légumerie", "Ressourcerie"]
        })
        .await;
        assert_eq!(search(server, "q=ressourcerie").await, ["Ressourcerie"]);
        assert!(search(server, "q=recyclerie").await.is_empty());
        assert!(atom(server).await.contains("Ressourcerie"));
    }
    let (status, _) = call(&a, Method::DELETE, &format!("/api/v1/projects/{id}"), None).await;
    assert!(status.is_success(), "delete: {status}");
    for server in [&c, &n] {
        eventually("a delete to be announced", || async {
            titles(server, &redon, "projects").await == ["Légumerie"]
        })
        .await;
        assert!(search(server, "q=ressourcerie").await.is_empty());
        assert!(!atom(server).await.contains("Ressourcerie"));
    }

    // N stops following B and forgets what came through it; C still gets B's news.
    let (status, _) = call(
        &n,
        Method::DELETE,
        &format!("/api/v1/admin/follows/{n_follows_b}?purge=true"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!knows_pole(&n, &figeac).await, "B's pole is forgotten on N");
    assert_eq!(search(&n, "kind=pole").await, ["Pôle redon"]);
    assert!(!atom(&n).await.contains("Éolien citoyen"));
    let statistics = ok(&n, Method::GET, "/api/v1/statistics", None).await;
    assert_eq!(statistics["poles"], 1, "{statistics}");
    eventually("B to have processed the unfollow", || async {
        let (_, followers) = call(&b, Method::GET, "/actor/followers", None).await;
        followers["totalItems"] == 1
    })
    .await;
    ok(
        &b,
        Method::POST,
        "/api/v1/poles/figeac/projects",
        Some(project("Tiers-lieu")),
    )
    .await;
    eventually("C to get B's new object", || async {
        titles(&c, &figeac, "projects").await == ["Tiers-lieu", "Éolien citoyen"]
    })
    .await;
    assert!(
        !knows_pole(&n, &figeac).await,
        "nothing more of B reaches N"
    );
    // A's pole, followed through A itself, is still there.
    assert_eq!(titles(&n, &redon, "projects").await, ["Légumerie"]);

    for server in [a, b, c, n] {
        server.stop().await;
    }
    db_a.drop_now().await;
}
