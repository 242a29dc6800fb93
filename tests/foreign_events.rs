//! Mobilizon and Gancio on loopback: a Maillage instance follows each by its bare domain, takes
//! in the public events they announce or send, keeps them exact through their `Update`s and
//! `Delete`s, and never counts their organisers as poles; and they can follow it back.
//!
//! Each peer is a small HTTP server that speaks as the software does: Mobilizon's instance
//! actor is the `Application` `relay@domain` found by WebFinger (its NodeInfo links no actor
//! here, so the WebFinger fallback is what is used), announces events by URL and sends the
//! `Update` and `Delete` of an event from its organiser; Gancio's instance actor is linked from
//! its NodeInfo and sends `Create`, `Update` and `Delete` of its events itself. Their documents
//! are the fixtures of `tests/fixtures/{mobilizon,gancio}`, rewritten to the peer's address.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::{TestDb, TestServer, call, eventually, ok};
use maillage::federation::signatures::sign_post;
use serde_json::{Value, json};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

fn fixture(path: &str) -> String {
    let file = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// What a peer serves and what it was sent.
struct PeerState {
    base: String,
    host: String,
    /// The instance actor's path and WebFinger user name.
    actor_path: String,
    username: String,
    /// Whether NodeInfo links the instance actor (FEP-2677).
    nodeinfo_links_actor: bool,
    software: &'static str,
    private_key: String,
    public_key: String,
    documents: Mutex<HashMap<String, Value>>,
    received: Mutex<Vec<Value>>,
    client: reqwest::Client,
}

#[derive(Clone)]
struct Peer(Arc<PeerState>);

impl Peer {
    async fn start(
        software: &'static str,
        username: &str,
        actor_path: &str,
        nodeinfo_links_actor: bool,
    ) -> Peer {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let keys = activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
        let peer = Peer(Arc::new(PeerState {
            base: format!("http://127.0.0.1:{port}"),
            host: format!("127.0.0.1:{port}"),
            actor_path: actor_path.to_owned(),
            username: username.to_owned(),
            nodeinfo_links_actor,
            software,
            private_key: keys.private_key,
            public_key: keys.public_key,
            documents: Mutex::new(HashMap::new()),
            received: Mutex::new(Vec::new()),
            client: reqwest::Client::new(),
        }));
        let app = axum::Router::new().fallback(serve).with_state(peer.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        peer
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0.base)
    }

    fn actor_id(&self) -> String {
        self.url(&self.0.actor_path)
    }

    fn key_id(actor: &str) -> String {
        format!("{actor}#main-key")
    }

    /// An actor document of this peer, with the peer's key.
    fn actor_document(&self, mut doc: Value) -> Value {
        let id = doc["id"].as_str().expect("an actor id").to_owned();
        doc["publicKey"] = json!({
            "id": Self::key_id(&id),
            "owner": id,
            "publicKeyPem": self.0.public_key,
        });
        doc
    }

    fn put(&self, doc: Value) {
        let id = doc["id"].as_str().expect("an id").to_owned();
        let path = id
            .strip_prefix(&self.0.base)
            .expect("a document of this peer")
            .to_owned();
        self.0
            .documents
            .lock()
            .expect("documents")
            .insert(path, doc);
    }

    fn remove(&self, id: &str) {
        let path = id.strip_prefix(&self.0.base).unwrap_or(id);
        self.0.documents.lock().expect("documents").remove(path);
    }

    fn received(&self) -> Vec<Value> {
        self.0.received.lock().expect("received").clone()
    }

    /// Posts `activity` to `inbox`, signed as `actor` the way these servers sign.
    async fn send_as(&self, actor: &str, inbox: &str, activity: &Value) -> (StatusCode, Value) {
        let body = serde_json::to_vec(activity).expect("json");
        let url = url::Url::parse(inbox).expect("inbox url");
        let headers = sign_post(
            &url,
            &body,
            &Self::key_id(actor),
            &self.0.private_key,
            SystemTime::now(),
        )
        .expect("sign");
        let mut request = self
            .0
            .client
            .post(inbox)
            .header("content-type", "application/activity+json")
            .body(body);
        for (name, value) in headers.into_iter().filter(|(n, _)| n != "host") {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("post");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn send(&self, inbox: &str, activity: &Value) -> (StatusCode, Value) {
        self.send_as(&self.actor_id(), inbox, activity).await
    }

    /// Answers a `Follow` of its instance actor with a signed `Accept`, as both do at once.
    async fn accept(&self, follow: Value) {
        let follower = follow["actor"].as_str().unwrap_or_default().to_owned();
        let Ok(response) = self
            .0
            .client
            .get(&follower)
            .header("accept", "application/activity+json")
            .send()
            .await
        else {
            return;
        };
        let Ok(actor) = response.json::<Value>().await else {
            return;
        };
        let inbox = actor["endpoints"]["sharedInbox"]
            .as_str()
            .or(actor["inbox"].as_str())
            .unwrap_or_default()
            .to_owned();
        let accept = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": self.url(&format!("/accept/{}", uuid::Uuid::now_v7())),
            "type": "Accept",
            "actor": self.actor_id(),
            "object": follow,
        });
        let (status, body) = self.send(&inbox, &accept).await;
        assert!(status.is_success(), "Accept refused: {status} {body}");
    }
}

async fn serve(State(peer): State<Peer>, method: Method, uri: Uri, body: Bytes) -> Response {
    let state = &peer.0;
    let path = uri.path();
    let json_response = |value: Value| {
        (
            [("content-type", "application/activity+json")],
            value.to_string(),
        )
            .into_response()
    };
    if method == Method::POST {
        let Ok(activity) = serde_json::from_slice::<Value>(&body) else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        state
            .received
            .lock()
            .expect("received")
            .push(activity.clone());
        if activity["type"] == "Follow" && activity["object"] == json!(peer.actor_id()) {
            let peer = peer.clone();
            tokio::spawn(async move { peer.accept(activity).await });
        }
        return StatusCode::ACCEPTED.into_response();
    }
    match path {
        "/.well-known/webfinger" => {
            let wanted = format!("acct:{}@{}", state.username, state.host);
            let asked = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                .find(|(k, _)| k == "resource")
                .map(|(_, v)| v.into_owned());
            if asked.as_deref() != Some(wanted.as_str()) {
                return StatusCode::NOT_FOUND.into_response();
            }
            json_response(json!({
                "subject": format!("acct:{}@{}", state.username, state.host),
                "links": [{"rel": "self", "type": "application/activity+json", "href": peer.actor_id()}],
            }))
        }
        "/.well-known/nodeinfo" => {
            let mut links = vec![json!({
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": peer.url("/.well-known/nodeinfo/2.1"),
            })];
            if state.nodeinfo_links_actor {
                links.push(json!({
                    "rel": "https://www.w3.org/ns/activitystreams#Application",
                    "href": peer.actor_id(),
                }));
            }
            json_response(json!({ "links": links }))
        }
        "/.well-known/nodeinfo/2.1" => json_response(json!({
            "version": "2.1",
            "software": {"name": state.software, "version": "test"},
            "protocols": ["activitypub"],
            "openRegistrations": false,
            "usage": {"users": {"total": 1}},
        })),
        _ => match state.documents.lock().expect("documents").get(path) {
            Some(doc) => json_response(doc.clone()),
            None => StatusCode::NOT_FOUND.into_response(),
        },
    }
}

/// The Mobilizon peer: its relay actor, the group of the fixture and the fixture's event,
/// organised by that group.
async fn mobilizon() -> (Peer, String) {
    let peer = Peer::start("mobilizon", "relay", "/relay", false).await;
    let base = peer.0.base.clone();
    peer.put(peer.actor_document(json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": peer.actor_id(),
        "type": "Application",
        "preferredUsername": "relay",
        "name": "Mobilizon",
        "url": peer.actor_id(),
        "inbox": format!("{base}/relay/inbox"),
        "outbox": format!("{base}/relay/outbox"),
        "followers": format!("{base}/relay/followers"),
        "following": format!("{base}/relay/following"),
        "endpoints": {"sharedInbox": format!("{base}/inbox")},
        "manuallyApprovesFollowers": false,
    })));
    let group: Value = serde_json::from_str(
        &fixture("mobilizon/group.json").replace("https://mobilizon.fr", &base),
    )
    .expect("group fixture");
    let group_id = group["id"].as_str().expect("group id").to_owned();
    peer.put(peer.actor_document(group));
    let mut event: Value = serde_json::from_str(
        &fixture("mobilizon/event.json").replace("https://rendezvous.nomagic.uk", &base),
    )
    .expect("event fixture");
    event["attributedTo"] = json!(group_id);
    let event_id = event["id"].as_str().expect("event id").to_owned();
    peer.put(event);
    (peer, event_id)
}

/// The Gancio peer: its instance actor from the fixture; the events are in the activities.
async fn gancio() -> Peer {
    let peer = Peer::start("gancio", "gancio", "/federation/u/gancio", true).await;
    let actor: Value = serde_json::from_str(
        &fixture("gancio/actor.json").replace("https://demo.gancio.org", &peer.0.base),
    )
    .expect("actor fixture");
    peer.put(peer.actor_document(actor));
    peer
}

/// Gancio's `Create` of its event, from the fixture.
fn gancio_create(peer: &Peer) -> Value {
    serde_json::from_str(
        &fixture("gancio/event.json").replace("https://demo.gancio.org", &peer.0.base),
    )
    .expect("event fixture")
}

/// Follows the peer by its bare domain and waits for its `Accept`; the follow's id.
async fn follow_by_domain(server: &TestServer, peer: &Peer) -> i64 {
    let record = ok(
        server,
        reqwest::Method::POST,
        "/api/v1/admin/follows",
        Some(json!({"actor": peer.0.host})),
    )
    .await;
    assert_eq!(record["actor"]["ap_id"], peer.actor_id(), "{record}");
    let actor = peer.actor_id();
    eventually("the peer's Accept", || async {
        let (_, list) = call(server, reqwest::Method::GET, "/api/v1/admin/follows", None).await;
        list.as_array().is_some_and(|l| {
            l.iter()
                .any(|f| f["actor"]["ap_id"] == actor && f["state"] == "accepted")
        })
    })
    .await;
    assert!(
        peer.received()
            .iter()
            .any(|a| a["type"] == "Follow" && a["object"] == json!(peer.actor_id())),
        "the peer got no Follow"
    );
    record["id"].as_i64().expect("a follow id")
}

async fn directory(server: &TestServer, query: &str) -> Vec<Value> {
    let (status, page) = call(
        server,
        reqwest::Method::GET,
        &format!("/api/v1/directory?{query}&per_page=100"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn event_titles(server: &TestServer) -> Vec<String> {
    let mut titles: Vec<String> = directory(server, "kind=event")
        .await
        .iter()
        .filter_map(|i| i["title"].as_str().map(str::to_owned))
        .collect();
    titles.sort();
    titles
}

async fn calendar(server: &TestServer) -> String {
    let response = server
        .client
        .get(server.url("/feeds/events.ics"))
        .send()
        .await
        .expect("calendar");
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.expect("calendar text")
}

fn inbox(server: &TestServer) -> String {
    server.url("/inbox")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mobilizon_and_gancio_events_are_taken_in_and_kept_exact() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        // One pole of our own, so that pole counts have something to count.
        ok(
            &server,
            reqwest::Method::POST,
            "/api/v1/poles",
            Some(json!({
                "slug": "redon", "name": "Pôle Pays de Redon",
                "territory": {"communes": ["35236"]}, "themes": ["renewable-energy"],
            })),
        )
        .await;

        // --- Mobilizon: followed through relay@domain, announces its event by URL. ---------
        let (m, m_event) = mobilizon().await;
        let follows_m = follow_by_domain(&server, &m).await;
        let announce = json!({
            "@context": ["https://www.w3.org/ns/activitystreams"],
            "id": format!("{m_event}/announces/1"),
            "type": "Announce",
            "actor": m.actor_id(),
            "object": m_event,
            "to": [m.url("/relay/followers"), m.url("/@emorrp1")],
            "cc": [PUBLIC],
        });
        let (status, body) = m.send(&inbox(&server), &announce).await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {body}");
        assert_eq!(
            event_titles(&server).await,
            vec!["Caledonian scottish dance class"],
            "[{label}]"
        );
        let hits = directory(&server, "kind=event").await;
        assert_eq!(
            hits[0]["pole"]["name"], "Framasoft",
            "[{label}] {}",
            hits[0]
        );
        assert_eq!(hits[0]["url"], m_event.as_str(), "[{label}]");
        let api_url = hits[0]["api_url"].as_str().expect("api url").to_owned();
        let event = ok(
            &server,
            reqwest::Method::GET,
            api_url.trim_start_matches(&server.base),
            None,
        )
        .await;
        assert_eq!(event["timezone"], "Europe/London", "[{label}] {event}");
        assert_eq!(event["starts_at"], "2022-12-11T19:00:00+00:00", "[{label}]");
        assert_eq!(event["place"]["name"], "The Kenn Centre", "[{label}]");
        assert_eq!(event["place"]["locality"], "Teignbridge", "[{label}]");
        let html = event["description_html"].as_str().unwrap_or_default();
        assert!(html.contains("posh ceilidh"), "[{label}] {event}");

        // Its organiser (a Mobilizon group) updates the event itself.
        let mut changed = m.0.documents.lock().expect("documents")
            [m_event.strip_prefix(&m.0.base).expect("path")]
        .clone();
        changed["name"] = json!("Caledonian dance class (new hall)");
        changed["location"]["name"] = json!("Exeter Guildhall");
        let group = changed["attributedTo"].as_str().expect("group").to_owned();
        m.put(changed.clone());
        let update = json!({
            "@context": ["https://www.w3.org/ns/activitystreams"],
            "id": format!("{m_event}/update/1"),
            "type": "Update",
            "actor": group,
            "object": changed,
            "to": [PUBLIC],
        });
        let (status, body) = m.send_as(&group, &inbox(&server), &update).await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {body}");
        assert_eq!(
            event_titles(&server).await,
            vec!["Caledonian dance class (new hall)"],
            "[{label}]"
        );
        assert!(
            calendar(&server).await.contains("Exeter Guildhall"),
            "[{label}]"
        );

        // Changed at its source without a word: the refresh reads it again as a Mobilizon
        // event (its organiser, not a pole, is kept as it is).
        changed["content"] = json!("<p>Bring soft shoes: the hall has a wooden floor.</p>");
        m.put(changed.clone());
        let report = common::refresh(&server, &db, "0s").await;
        assert!(
            report.contains("updated 1") && report.contains("deleted 0"),
            "[{label}] {report}"
        );
        let event = ok(
            &server,
            reqwest::Method::GET,
            api_url.trim_start_matches(&server.base),
            None,
        )
        .await;
        let html = event["description_html"].as_str().unwrap_or_default();
        assert!(html.contains("wooden floor"), "[{label}] {event}");
        assert_eq!(
            event["title"], "Caledonian dance class (new hall)",
            "[{label}]"
        );

        // --- Gancio: followed through NodeInfo, sends its events itself. -------------------
        let g = gancio().await;
        let follows_g = follow_by_domain(&server, &g).await;
        let create = gancio_create(&g);
        let (status, body) = g.send(&inbox(&server), &create).await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {body}");
        // And an event announced with the event embedded, as it relays them.
        let mut second = create["object"].clone();
        second["id"] = json!(g.url("/federation/m/2"));
        second["name"] = json!("Assemblée des habitants");
        second["url"] = json!(g.url("/event/assemblee"));
        let relayed = json!({
            "id": g.url("/federation/m/2#announce"),
            "type": "Announce",
            "actor": g.actor_id(),
            "object": second,
            "to": [PUBLIC],
        });
        let (status, body) = g.send(&inbox(&server), &relayed).await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {body}");
        assert_eq!(
            event_titles(&server).await,
            vec![
                "Assemblée des habitants",
                "Caledonian dance class (new hall)",
                "Demo event"
            ],
            "[{label}]"
        );
        let ics = calendar(&server).await;
        assert!(ics.contains("SUMMARY:Demo event"), "[{label}] {ics}");
        assert!(ics.contains("LOCATION:Colosseo"), "[{label}] {ics}");
        assert!(
            ics.contains(&format!("URL:{}", g.url("/event/demo-event"))),
            "[{label}] the source page: {ics}"
        );

        // An event embedded from Gancio's server but organised by an actor of Mobilizon's is
        // refused, and fetches nothing from either.
        let mut forged = create["object"].clone();
        forged["id"] = json!(g.url("/federation/m/99"));
        forged["attributedTo"] = json!(group);
        let forged = json!({
            "id": g.url("/federation/m/99#announce"),
            "type": "Announce",
            "actor": g.actor_id(),
            "object": forged,
            "to": [PUBLIC],
        });
        let (status, body) = g.send(&inbox(&server), &forged).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "[{label}] {body}");
        assert_eq!(event_titles(&server).await.len(), 3, "[{label}]");

        // The organisers are never poles.
        let poles: Vec<String> = directory(&server, "kind=pole")
            .await
            .iter()
            .filter_map(|p| p["title"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(poles, vec!["Pôle Pays de Redon"], "[{label}]");
        let statistics = ok(&server, reqwest::Method::GET, "/api/v1/statistics", None).await;
        assert_eq!(statistics["poles"], 1, "[{label}] {statistics}");
        let events_counted: u64 = statistics["events_per_month"]
            .as_array()
            .map(|months| months.iter().filter_map(|m| m["count"].as_u64()).sum())
            .unwrap_or(0);
        assert_eq!(events_counted, 3, "[{label}] {statistics}");
        let nodeinfo = ok(&server, reqwest::Method::GET, "/nodeinfo/2.1", None).await;
        assert_eq!(
            nodeinfo["usage"]["users"]["total"], 1,
            "[{label}] {nodeinfo}"
        );
        let csv = server
            .client
            .get(server.url("/feeds/poles.csv"))
            .send()
            .await
            .expect("csv")
            .text()
            .await
            .expect("csv text");
        assert!(csv.contains("Pôle Pays de Redon"), "[{label}] {csv}");
        assert!(
            !csv.contains("Framasoft") && !csv.contains("gancio"),
            "[{label}] organisers among poles: {csv}"
        );

        // Gancio updates, then deletes, its first event; the second stays.
        let mut update = gancio_create(&g);
        update["id"] = json!(g.url("/federation/m/1#Update-1700000000000"));
        update["type"] = json!("Update");
        update["object"]["name"] = json!("Demo event, moved");
        update["object"]["startTime"] = json!("2021-07-15T18:00:00+02:00");
        update["object"]["endTime"] = json!("2021-07-15T19:00:00+02:00");
        let (status, body) = g.send(&inbox(&server), &update).await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {body}");
        let hit = directory(&server, "kind=event&q=moved").await;
        assert_eq!(hit.len(), 1, "[{label}]");
        assert_eq!(hit[0]["title"], "Demo event, moved", "[{label}]");
        assert_eq!(hit[0]["starts_at"], "2021-07-15T16:00:00Z", "[{label}]");
        let mut delete = gancio_create(&g);
        delete["id"] = json!(g.url("/federation/m/1#Delete-1700000001000"));
        delete["type"] = json!("Delete");
        let (status, body) = g.send(&inbox(&server), &delete).await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {body}");
        assert_eq!(
            event_titles(&server).await,
            vec![
                "Assemblée des habitants",
                "Caledonian dance class (new hall)"
            ],
            "[{label}]"
        );

        // Mobilizon deletes its event: the organiser sends the Delete.
        m.remove(&m_event);
        let delete = json!({
            "@context": ["https://www.w3.org/ns/activitystreams"],
            "id": format!("{m_event}/delete/1"),
            "type": "Delete",
            "actor": group,
            "object": m_event,
            "to": [PUBLIC],
        });
        let (status, body) = m.send_as(&group, &inbox(&server), &delete).await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {body}");
        assert_eq!(
            event_titles(&server).await,
            vec!["Assemblée des habitants"],
            "[{label}]"
        );
        assert!(!calendar(&server).await.contains("Caledonian"), "[{label}]");

        // Unfollowing Mobilizon keeps Gancio's event; unfollowing Gancio with `purge`
        // forgets it with its organiser.
        for (follow, purge) in [(follows_m, false), (follows_g, true)] {
            let (status, body) = call(
                &server,
                reqwest::Method::DELETE,
                &format!("/api/v1/admin/follows/{follow}?purge={purge}"),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::NO_CONTENT, "[{label}] {body}");
        }
        assert!(event_titles(&server).await.is_empty(), "[{label}]");
        assert!(!calendar(&server).await.contains("Assembl"), "[{label}]");

        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gancio_and_mobilizon_can_follow_this_instance() {
    common::init_logs();
    let db = TestDb::sqlite();
    let server = TestServer::start(&db).await;
    ok(
        &server,
        reqwest::Method::POST,
        "/api/v1/poles",
        Some(json!({
            "slug": "redon", "name": "Pôle Pays de Redon",
            "territory": {"communes": ["35236"]},
        })),
    )
    .await;
    ok(
        &server,
        reqwest::Method::POST,
        "/api/v1/poles/redon/events",
        Some(json!({
            "title": "Marché solidaire", "starts_at": "2038-12-04T14:00",
            "place": {"name": "La Halle", "commune": "35236"},
        })),
    )
    .await;

    // What both read first: NodeInfo's link to the instance actor, and WebFinger's
    // relay@domain, which is what Mobilizon falls back to.
    let host = format!("127.0.0.1:{}", server.port);
    let links = ok(&server, reqwest::Method::GET, "/.well-known/nodeinfo", None).await;
    let application = links["links"]
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|l| l["rel"] == "https://www.w3.org/ns/activitystreams#Application")
        })
        .and_then(|l| l["href"].as_str())
        .expect("an Application link")
        .to_owned();
    let finger = ok(
        &server,
        reqwest::Method::GET,
        &format!("/.well-known/webfinger?resource=acct:relay@{host}"),
        None,
    )
    .await;
    assert!(
        finger["links"]
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l["href"] == application.as_str())),
        "{finger}"
    );
    let actor = server
        .client
        .get(&application)
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("actor")
        .json::<Value>()
        .await
        .expect("actor json");
    assert_eq!(actor["type"], "Application", "{actor}");
    assert_eq!(actor["preferredUsername"], "relay", "{actor}");
    assert!(actor["endpoints"]["sharedInbox"].is_string(), "{actor}");
    assert!(actor["publicKey"]["publicKeyPem"].is_string(), "{actor}");

    for (peer, label) in [
        (gancio().await, "gancio"),
        (mobilizon().await.0, "mobilizon"),
    ] {
        let follow = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": peer.url(&format!("/follow/{}", uuid::Uuid::now_v7())),
            "type": "Follow",
            "actor": peer.actor_id(),
            "object": application,
        });
        let (status, body) = peer.send(&inbox(&server), &follow).await;
        assert_eq!(status, StatusCode::ACCEPTED, "[{label}] {body}");
        eventually("the Accept and the announced event", || async {
            let received = peer.received();
            received
                .iter()
                .any(|a| a["type"] == "Accept" && a["object"]["id"] == follow["id"])
                && received.iter().any(|a| {
                    a["type"] == "Announce"
                        && a["object"]["type"] == "Event"
                        && a["object"]["name"] == "Marché solidaire"
                })
        })
        .await;
        let announce = peer
            .received()
            .into_iter()
            .find(|a| a["type"] == "Announce" && a["object"]["type"] == "Event")
            .expect("an announced event");
        // What Gancio and Mobilizon read of it: a start with its offset, a place with a
        // name, and the organiser in attributedTo.
        assert_eq!(announce["actor"], application.as_str(), "[{label}]");
        assert_eq!(
            announce["object"]["startTime"], "2038-12-04T14:00:00+01:00",
            "[{label}]"
        );
        assert_eq!(
            announce["object"]["attributedTo"],
            server.url("/poles/redon"),
            "[{label}]"
        );
        // One `Place`: Mobilizon reads `location` as one object, never a list.
        assert_eq!(
            announce["object"]["location"]["type"], "Place",
            "[{label}] {announce}"
        );
        assert_eq!(
            announce["object"]["location"]["name"], "La Halle",
            "[{label}] {announce}"
        );
    }
    server.stop().await;
}
