//! Deliveries to servers that take connections and never answer: they keep to a small lane
//! of the delivery slots while the servers that answer are served, and a stop does not wait
//! for them; what was being sent to them stays queued.

mod common;

use std::time::Duration;

use common::stand_ins::{BlackHoles, Peers, add_followers};
use common::{TestDb, TestServer, eventually, ok};
use reqwest::Method;
use serde_json::json;

async fn pole_with_followers(server: &TestServer, ports: impl IntoIterator<Item = u16>) {
    ok(
        server,
        Method::POST,
        "/api/v1/poles",
        Some(json!({"slug": "redon", "name": "Pôle redon"})),
    )
    .await;
    let pole = server.store.pole("redon").await.expect("pole");
    add_followers(
        &server.store,
        &pole,
        ports
            .into_iter()
            .map(|port| format!("http://127.0.0.1:{port}/inbox")),
    )
    .await;
}

async fn publish(server: &TestServer, title: &str) {
    ok(
        server,
        Method::POST,
        "/api/v1/poles/redon/projects",
        Some(json!({"title": title})),
    )
    .await;
}

/// Servers that never answer, known to be failing after their first timeout, hold at most
/// their lane (an eighth of the slots) while later publications reach every live server;
/// what they were sent stays queued for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_servers_keep_to_their_lane_while_live_ones_are_served() {
    common::init_logs();
    const DEAD: usize = 24;
    const LIVE: usize = 8;
    const CONCURRENCY: usize = 16;
    // An eighth of the slots.
    const FAILING_LANE: usize = 2;
    for db in TestDb::all().await {
        let dead = BlackHoles::start(DEAD).await;
        let live = Peers::start(LIVE).await;
        let a = TestServer::start_on(&db, 0, |c| {
            c.federation.delivery_concurrency = CONCURRENCY;
            c.federation.connect_timeout_seconds = 1;
            c.federation.request_timeout_seconds = 3;
        })
        .await;
        pole_with_followers(&a, dead.ports.iter().chain(&live.ports).copied()).await;
        let dead_domains: Vec<String> = dead
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();

        // The first publication finds out which servers do not answer.
        publish(&a, "Premier").await;
        eventually("the first publication on every live server", || async {
            live.inboxes_with("Premier") == LIVE
        })
        .await;
        eventually("every dead server known to be failing", || async {
            let state = a.store.queue_state().await.expect("state");
            dead_domains.iter().all(|domain| {
                state
                    .iter()
                    .any(|s| &s.domain == domain && s.failing_since.is_some())
            })
        })
        .await;
        eventually("the first attempts given up", || async {
            dead.open() <= FAILING_LANE
        })
        .await;

        // From now on they are tried again in their lane only, while the live servers get
        // every publication.
        dead.reset();
        let tried_before = dead.accepted();
        for title in ["Deuxième", "Troisième"] {
            publish(&a, title).await;
        }
        for title in ["Deuxième", "Troisième"] {
            eventually(&format!("{title} on every live server"), || async {
                live.inboxes_with(title) == LIVE
            })
            .await;
        }
        // Long enough for the dead servers to be tried again, a lane's worth at a time.
        eventually("the dead servers tried again", || async {
            dead.accepted() >= tried_before + 2 * FAILING_LANE
        })
        .await;
        assert!(
            dead.most_open() <= FAILING_LANE,
            "[{}] {} connections to dead servers at once, more than their lane of {FAILING_LANE}",
            db.label,
            dead.most_open()
        );
        assert_eq!(
            live.duplicates(),
            0,
            "[{}] each live inbox got each activity once",
            db.label
        );
        // Nothing given up: the three activities wait for each dead server.
        let state = a.store.queue_state().await.expect("state");
        for domain in &dead_domains {
            let queue = state
                .iter()
                .find(|s| &s.domain == domain)
                .expect("a dead domain's queue");
            assert_eq!(
                (queue.pending, queue.failed, queue.delivered),
                (3, 0, 0),
                "[{}] {queue:?}",
                db.label
            );
        }

        a.stop().await;
        db.drop_now().await;
    }
}

/// A stop while a delivery waits for a server that never answers (for up to an hour here)
/// does not wait for it: the delivery is handed back to the queue, still due and not
/// counted as a failed attempt, and sent once the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_does_not_wait_for_a_server_that_never_answers() {
    common::init_logs();
    for db in TestDb::all().await {
        let dead = BlackHoles::start(1).await;
        let port = dead.ports[0];
        let domain = format!("127.0.0.1:{port}");
        let a = TestServer::start_on(&db, 0, |c| {
            c.federation.request_timeout_seconds = 3600;
            c.federation.delivery_lease_seconds = 7200;
        })
        .await;
        let a_port = a.port;
        pole_with_followers(&a, [port]).await;
        publish(&a, "Pendant l'arrêt").await;
        eventually("the delivery sent and hanging", || async {
            dead.open() == 1
        })
        .await;

        // The grace given to deliveries in flight is a second; waiting for the hung one
        // would take an hour.
        let stopped = tokio::time::timeout(Duration::from_secs(5), a.stop()).await;
        assert!(
            stopped.is_ok(),
            "[{}] the stop waited for a server that never answers",
            db.label
        );
        eventually("the hung request given up", || async { dead.open() == 0 }).await;

        let store = common::store(&db).await;
        let state = store.queue_state().await.expect("state");
        let queue = state
            .iter()
            .find(|s| s.domain == domain)
            .expect("the queue of the dead server");
        assert_eq!(
            (queue.pending, queue.failed, queue.delivered),
            (1, 0, 0),
            "[{}] {queue:?}",
            db.label
        );
        assert!(
            queue.failing_since.is_none(),
            "[{}] a delivery given up by a stop is no failure of the server",
            db.label
        );
        let due = store
            .claim(&domain, "look", 10, chrono::Utc::now())
            .await
            .expect("claim");
        assert_eq!(due.len(), 1, "[{}] due at once", db.label);
        assert_eq!(due[0].attempts, 0, "[{}] no attempt counted", db.label);
        store.release_claims("look").await.expect("release");
        store.close().await.ok();

        // The server is back: the delivery is sent.
        dead.close().await;
        let live = Peers::on(&[port]).await;
        let a = TestServer::start_on(&db, a_port, |_| {}).await;
        eventually("the delivery after the restart", || async {
            live.inboxes_with("Pendant l'arrêt") == 1
        })
        .await;

        a.stop().await;
        db.drop_now().await;
    }
}
