//! The inter-network on loopback: instances follow instances, and every object created,
//! updated or deleted on a pole's instance reaches the instances that follow it, directly or
//! through another instance, until they stop following; nothing of a blocked domain enters.
//!
//! Each instance has its own name under `localhost` (loopback, RFC 6761 §6.3), so that a
//! domain can be blocked.

mod common;

use common::{TestDb, TestServer, call, eventually, item_titles, ok, post_signed, titles};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
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
           "starts_at": "2038-12-05T14:00", "ends_at": "2038-12-05T18:00",
           "place": {"name": "La Maison", "commune": "35236"}})
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
    item_titles(&page)
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
        Some(json!({"actor": to.host()})),
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
    let (db_b, db_c, db_n, db_e) = (
        TestDb::sqlite(),
        TestDb::sqlite(),
        TestDb::sqlite(),
        TestDb::sqlite(),
    );
    let a = TestServer::start_as(&db_a, "a.localhost", 0, |_| {}).await;
    let b = TestServer::start_as(&db_b, "b.localhost", 0, |_| {}).await;
    let c = TestServer::start_as(&db_c, "c.localhost", 0, |_| {}).await;
    let e = TestServer::start_as(&db_e, "e.localhost", 0, |_| {}).await;
    // N blocks E's domain.
    let n = TestServer::start_as(&db_n, "n.localhost", 0, |config| {
        config.federation.blocked_domains = vec!["e.localhost".into()];
    })
    .await;

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
        format!("redon@{}", a.host()),
        format!("figeac@{}", b.host()),
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
    let found = ok(
        &n,
        Method::GET,
        &format!("/api/v1/admin/discover?from={}&depth=0", a.host()),
        None,
    )
    .await;
    assert_eq!(domains(&found), [(a.host(), 0)]);
    assert_eq!(found[0]["software"], "maillage");
    assert_eq!(found[0]["poles"], 1);
    assert_eq!(found[0]["followed"], true);
    assert_eq!(found[0]["actor"], a.url("/actor"));
    let found = ok(
        &n,
        Method::GET,
        &format!("/api/v1/admin/discover?from={}&depth=1", a.host()),
        None,
    )
    .await;
    let mut expected = vec![(a.host(), 0), (c.host(), 1)];
    expected.sort();
    assert_eq!(domains(&found), expected);
    let found = ok(
        &n,
        Method::GET,
        &format!("/api/v1/admin/discover?from={}&depth=2", a.host()),
        None,
    )
    .await;
    expected.push((b.host(), 2));
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
    // N's home page, with no pole of its own, says what it aggregates.
    let home = n
        .client
        .get(n.url("/"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("home page")
        .text()
        .await
        .expect("body");
    assert!(
        home.contains("Cette instance suit aussi 2 pôles de 2 autres instances"),
        "{home}"
    );
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

    blocked_domain_never_enters(&c, &e, &n).await;

    for server in [a, b, c, e, n] {
        server.stop().await;
    }
    db_a.drop_now().await;
}

/// A document of `server` as another server fetches it, without its context.
async fn document(server: &TestServer, url: &str) -> Value {
    let response = server
        .client
        .get(url)
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("a document");
    let mut document: Value = response.json().await.expect("json");
    document.as_object_mut().map(|d| d.remove("@context"));
    document
}

/// Rows on `server` whose text columns name `domain`: its actors, poles and objects.
async fn rows_from(server: &TestServer, domain: &str) -> i64 {
    let db = server.store.connection();
    let mut total = 0;
    for (table, column) in [
        ("remote_actors", "ap_id"),
        ("poles", "ap_id"),
        ("projects", "ap_id"),
        ("events", "ap_id"),
        ("calls", "ap_id"),
        ("followers", "follow_activity_id"),
        ("inbox_seen", "activity_id"),
    ] {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} LIKE '%{domain}%'"),
            ))
            .await
            .expect("count")
            .expect("a row");
        total += row.try_get::<i64>("", "n").expect("n");
    }
    total
}

/// E is blocked on N: its poles' follows, announces and creates sent to N are refused, N
/// cannot follow it, C (which follows E) relays none of it, and an instance that tries to
/// pass E's content off to N is refused too. Nothing of E's domain is stored on N.
async fn blocked_domain_never_enters(c: &TestServer, e: &TestServer, n: &TestServer) {
    ok(
        e,
        Method::POST,
        "/api/v1/poles",
        Some(pole("causses", "12145")),
    )
    .await;
    let cave = ok(
        e,
        Method::POST,
        "/api/v1/poles/causses/projects",
        Some(project("Cave coopérative")),
    )
    .await;
    let cave = e.url(&format!(
        "/projects/{}",
        cave["id"].as_str().expect("an id")
    ));
    let causses = format!("causses@{}", e.host());

    // N cannot follow E.
    let (status, refused) = call(
        n,
        Method::POST,
        "/api/v1/admin/follows",
        Some(json!({"actor": e.host()})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");

    // C follows E and takes in its directory, and what E creates later; C relays none of it.
    follow_instance(c, e).await;
    eventually("C's follow of E to be accepted", || accepted(c, e)).await;
    // Discovery from C, on N: C follows E, which N blocks and so does not list.
    let found = ok(
        n,
        Method::GET,
        &format!("/api/v1/admin/discover?from={}&depth=1", c.host()),
        None,
    )
    .await;
    let listed: Vec<&str> = found
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|i| i["domain"].as_str())
        .collect();
    assert!(listed.contains(&c.host().as_str()), "{listed:?}");
    assert!(!listed.contains(&e.host().as_str()), "{listed:?}");
    ok(
        e,
        Method::POST,
        "/api/v1/poles/causses/projects",
        Some(project("Fromagerie")),
    )
    .await;
    eventually("C to take in E's objects", || async {
        titles(c, &causses, "projects").await == ["Cave coopérative", "Fromagerie"]
    })
    .await;

    // What E's pole sends to N itself is refused before anything is fetched.
    let pole_id = e.url("/poles/causses");
    let pole_keys = e
        .store
        .pole_keys(e.store.pole("causses").await.expect("pole").id)
        .await
        .expect("keys");
    let key_id = format!("{pole_id}#main-key");
    let inbox = "/inbox";
    let from_pole = |kind: &str, object: Value| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": e.url(&format!("/activities/{kind}-to-n")),
            "type": kind,
            "actor": pole_id,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": object,
        })
    };
    let cave_document = document(e, &cave).await;
    let pole_document = document(e, &pole_id).await;
    for activity in [
        from_pole("Follow", json!(n.url("/actor"))),
        from_pole("Create", cave_document.clone()),
        from_pole("Announce", json!(cave)),
        from_pole("Update", pole_document.clone()),
    ] {
        let status = post_signed(n, inbox, &activity, &key_id, &pole_keys.private_key).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{activity}");
    }

    // C, followed by N, announcing E's content (by reference or embedded): N would have
    // to fetch it from E, which it never contacts.
    let c_actor = c.url("/actor");
    let c_keys = c.store.instance_keys().await.expect("keys");
    for (i, object) in [json!(cave), cave_document, pole_document, json!(pole_id)]
        .into_iter()
        .enumerate()
    {
        let activity = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": c.url(&format!("/activities/relay-{i}")),
            "type": "Announce",
            "actor": c_actor,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": object,
        });
        let status = post_signed(
            n,
            inbox,
            &activity,
            &format!("{c_actor}#main-key"),
            &c_keys.private_key,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{activity}");
    }
    // Nor can C pass E's object off as one of its own: its id is C's, its pole E's.
    let mut disguised = document(e, &cave).await;
    disguised["id"] = json!(c.url("/projects/disguised"));
    let activity = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": c.url("/activities/relay-disguised"),
        "type": "Announce",
        "actor": c_actor,
        "object": disguised,
    });
    let status = post_signed(
        n,
        inbox,
        &activity,
        &format!("{c_actor}#main-key"),
        &c_keys.private_key,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{activity}");

    // C knows E's pole; N knows nothing of E, by any path.
    assert!(knows_pole(c, &causses).await);
    assert!(!knows_pole(n, &causses).await);
    assert!(search(n, "q=fromagerie").await.is_empty());
    assert!(
        rows_from(c, "e.localhost").await > 0,
        "C stores E's content"
    );
    assert_eq!(
        rows_from(n, "e.localhost").await,
        0,
        "N stores nothing of E"
    );
}

/// An instance subscribes to a relay as Mastodon does: the `Follow` names the public
/// collection; once the relay accepts, what the instance's poles publish is announced to the
/// relay, though the relay follows nobody back; the `Undo` names the same `Follow`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_subscribes_to_a_relay_as_mastodon_does() {
    common::init_logs();
    const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
    for db in TestDb::all().await {
        let label = db.label;
        let relay = common::stand_ins::StandInRelay::start().await;
        let a = TestServer::start_as(&db, "a.localhost", 0, |_| {}).await;

        let record = ok(
            &a,
            Method::POST,
            "/api/v1/admin/follows",
            Some(json!({"actor": relay.actor, "relay": true})),
        )
        .await;
        assert_eq!(record["relay"], true, "[{label}] {record}");
        assert_eq!(record["state"], "pending", "[{label}] {record}");
        eventually("the relay to receive the Follow", || async {
            !relay.received("Follow").is_empty()
        })
        .await;
        let follow = relay.received("Follow").remove(0);
        assert_eq!(follow["object"], PUBLIC, "[{label}] {follow}");
        assert_eq!(
            follow["actor"],
            a.url("/actor").as_str(),
            "[{label}] {follow}"
        );
        assert_eq!(
            follow["id"], record["follow_activity_id"],
            "[{label}] {follow}"
        );

        // Before the relay accepts, nothing is sent to it.
        ok(
            &a,
            Method::POST,
            "/api/v1/poles",
            Some(pole("redon", "35236")),
        )
        .await;
        let accept = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/accept/1", relay.actor),
            "type": "Accept",
            "actor": relay.actor,
            "object": follow,
        });
        let status = post_signed(&a, "/inbox", &accept, &relay.key_id, &relay.private_key).await;
        assert!(status.is_success(), "[{label}] {status}");
        let (_, follows) = call(&a, Method::GET, "/api/v1/admin/follows", None).await;
        assert_eq!(follows[0]["state"], "accepted", "[{label}] {follows}");

        ok(
            &a,
            Method::POST,
            "/api/v1/poles/redon/events",
            Some(event("Fête des communs")),
        )
        .await;
        eventually("the event announced to the relay", || async {
            relay
                .received("Announce")
                .iter()
                .any(|a| a["object"]["name"] == "Fête des communs")
        })
        .await;
        let announces = relay.received("Announce");
        assert!(
            announces
                .iter()
                .all(|n| n["actor"] == a.url("/actor").as_str()
                    && n["to"].to_string().contains(PUBLIC)),
            "[{label}] {announces:?}"
        );
        assert!(
            !announces
                .iter()
                .any(|n| n["object"]["name"] == "Pôle redon"),
            "[{label}] the pole made before the relay accepted was sent: {announces:?}"
        );

        let (status, body) = call(
            &a,
            Method::DELETE,
            &format!("/api/v1/admin/follows/{}", record["id"]),
            None,
        )
        .await;
        assert!(status.is_success(), "[{label}] {status} {body}");
        eventually("the relay to receive the Undo", || async {
            !relay.received("Undo").is_empty()
        })
        .await;
        let undo = relay.received("Undo").remove(0);
        assert_eq!(undo["object"]["id"], follow["id"], "[{label}] {undo}");
        assert_eq!(undo["object"]["object"], PUBLIC, "[{label}] {undo}");

        a.stop().await;
        db.drop_now().await;
    }
}
