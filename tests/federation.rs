//! Federation between real instances on loopback: follows, publishing of every kind of object,
//! unfollows, approval of followers, replies, and deliveries that survive stopped receivers
//! and a crashed sender.

mod common;

use std::time::Duration;

use common::scenario::{self, follow, follow_state, item, pole};
use common::{TestDb, TestServer, call, eventually, ok, titles};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances() {
    common::init_logs();
    let db_a = match TestDb::postgres().await {
        Some(pg) => pg,
        None => TestDb::sqlite(),
    };
    let (db_b, db_c) = (TestDb::sqlite(), TestDb::sqlite());
    // What A is sending when it is killed below is taken over after this lease.
    let short_lease = |c: &mut maillage::config::Config| {
        c.federation.delivery_lease_seconds = 5;
        // A lease outlasts the longest request.
        c.federation.connect_timeout_seconds = 1;
        c.federation.request_timeout_seconds = 4;
    };
    let a = TestServer::start_on(&db_a, 0, short_lease).await;
    let b = TestServer::start(&db_b).await;
    let c = TestServer::start(&db_c).await;

    // Follows, every kind created, updated and deleted, a reply, an unfollow.
    let handle = scenario::three_instances(&a, &b, &c).await;

    // The approval path: B's follow waits until the pole accepts it.
    ok(
        &a,
        Method::POST,
        "/api/v1/poles",
        Some(pole("prudent", true)),
    )
    .await;
    let prudent = a.url("/poles/prudent");
    follow(&b, &prudent).await;
    eventually("the pending follower on A", || async {
        let (_, list) = call(&a, Method::GET, "/api/v1/poles/prudent/followers", None).await;
        list["items"][0]["state"] == "pending"
    })
    .await;
    assert_eq!(follow_state(&b, &prudent).await.as_deref(), Some("pending"));
    let list = ok(&a, Method::GET, "/api/v1/poles/prudent/followers", None).await;
    let follower_id = list["items"][0]["id"].as_i64().expect("id");
    ok(
        &a,
        Method::POST,
        &format!("/api/v1/poles/prudent/followers/{follower_id}/accept"),
        None,
    )
    .await;
    eventually("the approved follow on B", || async {
        follow_state(&b, &prudent).await.as_deref() == Some("accepted")
    })
    .await;

    // B is stopped during a fan-out and gets everything once it is back.
    let b_port = b.port;
    b.stop().await;
    ok(
        &a,
        Method::POST,
        "/api/v1/poles/redon/projects",
        Some(json!({"title": "Pendant la panne"})),
    )
    .await;
    eventually("a failed attempt to B", || async {
        let queue = ok(&a, Method::GET, "/api/v1/admin/deliveries", None).await;
        queue.as_array().into_iter().flatten().any(|d| {
            d["domain"] == format!("127.0.0.1:{b_port}") && d["pending"].as_u64() > Some(0)
        })
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let b = TestServer::start_on(&db_b, b_port, |_| {}).await;
    eventually("the project on B after its restart", || async {
        titles(&b, &handle, "projects")
            .await
            .contains(&"Pendant la panne".to_owned())
    })
    .await;

    // A crashes with deliveries queued; restarted, it delivers all of them, each applied once.
    b.stop().await;
    let a_port = a.port;
    let queued = ["File un", "File deux", "File trois"];
    for title in queued {
        ok(
            &a,
            Method::POST,
            "/api/v1/poles/redon/projects",
            Some(json!({"title": title})),
        )
        .await;
    }
    eventually("three deliveries waiting for B", || async {
        let queue = ok(&a, Method::GET, "/api/v1/admin/deliveries", None).await;
        queue.as_array().into_iter().flatten().any(|d| {
            d["domain"] == format!("127.0.0.1:{b_port}") && d["pending"].as_u64() >= Some(3)
        })
    })
    .await;
    a.kill().await;
    let b = TestServer::start_on(&db_b, b_port, |_| {}).await;
    let a = TestServer::start_on(&db_a, a_port, short_lease).await;
    for title in queued {
        eventually(&format!("{title} on B"), || async {
            titles(&b, &handle, "projects")
                .await
                .contains(&title.to_owned())
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    for title in queued {
        let project = item(&b, &handle, "projects", title).await.expect("project");
        assert_eq!(project["version"], 1, "{title} applied once: {project}");
    }
    let page = ok(
        &b,
        Method::GET,
        &format!("/api/v1/poles/{handle}/projects?per_page=100"),
        None,
    )
    .await;
    let count = |t: &str| {
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["title"] == t)
            .count()
    };
    for title in queued {
        assert_eq!(count(title), 1);
    }

    a.stop().await;
    b.stop().await;
    c.stop().await;
    db_a.drop_now().await;
}

/// `maillage serve` as a child process, killed (SIGKILL, as a crash) when dropped.
struct Process {
    child: std::process::Child,
}

impl Process {
    async fn start(db: &TestDb, port: u16, log: &std::path::Path, concurrency: usize) -> Process {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_maillage"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("MAILLAGE_") {
                command.env_remove(&name);
            }
        }
        let child = command
            .current_dir(log.parent().expect("the log's directory"))
            .env("MAILLAGE_DATABASE_URL", &db.url)
            .env("MAILLAGE_DATABASE_MAX_CONNECTIONS", "4")
            .env("MAILLAGE_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
            .env("MAILLAGE_LISTEN", format!("127.0.0.1:{port}"))
            .env("MAILLAGE_FEDERATION_DEVELOPMENT_MODE", "true")
            .env("MAILLAGE_FEDERATION_RETRY_BASE_SECONDS", "1")
            .env("MAILLAGE_FEDERATION_DELIVERY_LEASE_SECONDS", "5")
            .env("MAILLAGE_FEDERATION_CONNECT_TIMEOUT_SECONDS", "1")
            .env("MAILLAGE_FEDERATION_REQUEST_TIMEOUT_SECONDS", "4")
            .env(
                "MAILLAGE_FEDERATION_DELIVERY_CONCURRENCY",
                concurrency.to_string(),
            )
            .env("MAILLAGE_LOG_FILTER", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(log).expect("the server's log"))
            .spawn()
            .expect("start maillage");
        let process = Process { child };
        let client = reqwest::Client::new();
        eventually("the server to answer", || async {
            client
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        process
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sending process is killed in the middle of a fan-out of 1,000 deliveries; restarted,
/// it sends everything that was not delivered, and sends again only what may have been
/// delivered without its success being written: at most one delivery per slot, the slots
/// being `federation.delivery_concurrency`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_killed_mid_fan_out_sends_again_at_most_what_was_in_flight() {
    killed_mid_fan_out(40, 25, 1, Duration::ZERO).await;
}

/// Killed three times in a row during a fan-out to 200 followers on 50 instances that take
/// a while to answer; after the last restart every follower has the project, and each kill
/// sent again at most what was in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_killed_three_times_in_a_row_loses_nothing() {
    killed_mid_fan_out(50, 4, 3, Duration::from_millis(40)).await;
}

/// A pole followed by `inboxes` inboxes on each of `domains` stand-in instances (answering
/// after `delay`) publishes a project; the sending process is killed `kills` times while
/// it delivers, each time once a further share of the deliveries is made, and restarted.
async fn killed_mid_fan_out(domains: usize, inboxes: usize, kills: usize, delay: Duration) {
    use common::stand_ins::{Peers, add_followers};
    use maillage::domain::PoleInput;
    use maillage::store::{Role, Store};
    common::init_logs();
    common::install_tls_provider();
    const CONCURRENCY: usize = 4;
    let expected = domains * inboxes;
    for db in TestDb::all().await {
        let label = db.label;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let peers = Peers::slow(domains, delay).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let base = format!("http://127.0.0.1:{port}");

        // The instance as it is once followed: a pole with followers on many instances.
        let mut config = db.config();
        config.public_url = base.clone();
        let store = Store::connect(&config).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
            .ensure_instance("Maillage test")
            .await
            .expect("instance");
        let token = common::issue_token(&store, "admin", Role::Admin).await;
        let pole = store
            .create_pole(
                &PoleInput {
                    slug: "redon".into(),
                    name: "Pôle redon".into(),
                    ..Default::default()
                }
                .validate()
                .expect("a valid pole"),
            )
            .await
            .expect("pole");
        add_followers(
            &store,
            &pole,
            peers.ports.iter().flat_map(|port| {
                (0..inboxes).map(move |n| format!("http://127.0.0.1:{port}/users/{n}/inbox"))
            }),
        )
        .await;
        // The pole's creation is history: only the project created below is sent.
        sea_orm::ConnectionTrait::execute_unprepared(
            store.connection(),
            "UPDATE changes SET federated_at = created_at",
        )
        .await
        .expect("mark the changes sent");
        store.close().await.ok();

        let mut sender =
            Process::start(&db, port, &dir.path().join("run-0.log"), CONCURRENCY).await;
        let response = reqwest::Client::new()
            .post(format!("{base}/api/v1/poles/redon/projects"))
            .bearer_auth(&token)
            .json(&json!({"title": "En plein envoi"}))
            .send()
            .await
            .expect("create a project");
        assert!(response.status().is_success(), "{}", response.status());
        let mut kills_at = Vec::new();
        for kill in 1..=kills {
            // Killed a while into the fan-out, with deliveries still to send.
            let share = expected * kill / (kills + 3);
            for _ in 0..3000 {
                if peers.inboxes_with("En plein envoi") >= share {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            sender.kill();
            let at_kill = peers.inboxes_with("En plein envoi");
            assert!(
                (1..expected).contains(&at_kill),
                "[{label}] kill {kill} mid-fan-out: {at_kill} of {expected} delivered"
            );
            kills_at.push(at_kill);
            let log = dir.path().join(format!("run-{kill}.log"));
            sender = Process::start(&db, port, &log, CONCURRENCY).await;
        }
        eventually("every delivery made", || async {
            peers.inboxes_with("En plein envoi") == expected
        })
        .await;
        // What a killed process held waits for its lease to end; only then is the queue
        // empty and every duplicate in.
        let store = Store::connect(&config).await.expect("connect");
        eventually("the queue emptied", || async {
            store
                .queue_state()
                .await
                .is_ok_and(|state| state.iter().all(|s| s.pending == 0))
        })
        .await;
        store.close().await.ok();
        drop(sender);
        let duplicates = peers.duplicates();
        eprintln!(
            "[{label}] killed after {kills_at:?} of {expected} deliveries; {duplicates} sent twice"
        );
        assert_eq!(peers.distinct(), expected, "[{label}] nothing lost");
        assert!(
            duplicates <= kills * CONCURRENCY,
            "[{label}] {duplicates} deliveries sent again, more than the {CONCURRENCY} that can be in flight at each of {kills} kills"
        );
        db.drop_now().await;
    }
}
