//! The outgoing delivery queue on SQLite and PostgreSQL: stored first, claimed once,
//! retried with backoff, resumed after a restart, shared by several processes.

mod common;

use chrono::{Duration, Utc};
use common::TestDb;
use maillage::store::Store;
use maillage::store::queue::{LEASE, MAX_ATTEMPTS, Outcome, UNREACHABLE_AFTER, backoff};
use serde_json::json;
use url::Url;

/// Two processes claim and send what is due on `domains`, `limit` per domain at a time, until
/// nothing is left: how many deliveries they sent, and how many distinct ones.
async fn drain_from_two_processes(
    a: &maillage::store::Store,
    b: &maillage::store::Store,
    domains: &[String],
    limit: u64,
    at: chrono::DateTime<Utc>,
) -> (usize, usize) {
    let run = |store: maillage::store::Store, worker: &'static str| async move {
        let mut mine = Vec::new();
        loop {
            let batch = store
                .claim_many(domains, worker, limit, at)
                .await
                .expect("claim");
            if batch.is_empty() {
                break;
            }
            for d in batch {
                store
                    .finish(d.id, worker, &Outcome::Delivered, at)
                    .await
                    .expect("finish");
                mine.push(d.id);
            }
        }
        mine
    };
    let (from_a, from_b) = tokio::join!(run(a.clone(), "process-a"), run(b.clone(), "process-b"));
    let mut all: Vec<i64> = from_a.into_iter().chain(from_b).collect();
    let total = all.len();
    all.sort_unstable();
    all.dedup();
    (total, all.len())
}

fn inboxes(list: &[&str]) -> Vec<Url> {
    list.iter().map(|u| Url::parse(u).expect("url")).collect()
}

#[tokio::test]
async fn deliveries_are_stored_once_per_inbox_and_claimed_once() {
    for db in TestDb::all().await {
        let store = common::store(&db).await;
        let now = Utc::now();
        let body = json!({"type": "Create", "id": "https://a.example/activities/1"});
        let targets = inboxes(&[
            "https://one.example/inbox",
            "https://one.example/users/x/inbox",
            "https://two.example/inbox",
            "https://one.example/inbox",
        ]);
        let added = store
            .enqueue(
                "https://a.example/activities/1",
                "https://a.example/poles/p",
                &body,
                &targets,
                now,
            )
            .await
            .expect("enqueue")
            .map_or(0, |queued| queued.added);
        assert_eq!(added, 3, "[{}] one delivery per distinct inbox", db.label);
        let again = store
            .enqueue(
                "https://a.example/activities/1",
                "https://a.example/poles/p",
                &body,
                &targets,
                now,
            )
            .await
            .expect("enqueue")
            .map_or(0, |queued| queued.added);
        assert_eq!(
            again, 0,
            "[{}] the same activity is not queued twice",
            db.label
        );

        let mut domains = store.due_domains(now).await.expect("domains");
        domains.sort();
        assert_eq!(domains, ["one.example", "two.example"]);

        let first = store
            .claim("one.example", "worker-a", 10, now)
            .await
            .expect("claim");
        assert_eq!(first.len(), 2, "[{}]", db.label);
        assert_eq!(
            first[0].activity, first[1].activity,
            "[{}] both deliveries send the same stored activity",
            db.label
        );
        let stored = store
            .outgoing_activities(&[first[0].activity])
            .await
            .expect("activity");
        assert_eq!(
            stored.len(),
            1,
            "[{}] the activity is stored once",
            db.label
        );
        assert_eq!(stored[0].activity_id, "https://a.example/activities/1");
        assert_eq!(stored[0].signer, "https://a.example/poles/p");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&stored[0].body).expect("JSON"),
            body,
            "[{}] the activity is sent as it was queued",
            db.label
        );
        let second = store
            .claim("one.example", "worker-b", 10, now)
            .await
            .expect("claim");
        assert!(
            second.is_empty(),
            "[{}] a claimed delivery is not handed out again",
            db.label
        );

        // A worker that died: its lease ends and another worker takes over.
        let later = now + LEASE + Duration::seconds(1);
        let taken_over = store
            .claim("one.example", "worker-b", 10, later)
            .await
            .expect("claim");
        assert_eq!(
            taken_over.len(),
            2,
            "[{}] expired leases are claimable",
            db.label
        );
        // The dead worker's late report does not overwrite the new lease.
        store
            .finish(first[0].id, "worker-a", &Outcome::Delivered, later)
            .await
            .expect("finish");
        store
            .finish(taken_over[0].id, "worker-b", &Outcome::Delivered, later)
            .await
            .expect("finish");
        store
            .finish(
                taken_over[1].id,
                "worker-b",
                &Outcome::Refused("403 Forbidden".into()),
                later,
            )
            .await
            .expect("finish");
        assert!(
            store
                .claim("one.example", "worker-c", 10, later + Duration::days(30))
                .await
                .expect("claim")
                .is_empty(),
            "[{}] delivered and refused are final",
            db.label
        );

        let state = store.queue_state().await.expect("state");
        let one = state
            .iter()
            .find(|s| s.domain == "one.example")
            .expect("one");
        assert_eq!(
            (one.pending, one.delivered, one.failed),
            (0, 1, 1),
            "[{}] {state:?}",
            db.label
        );
        let two = state
            .iter()
            .find(|s| s.domain == "two.example")
            .expect("two");
        assert_eq!(two.pending, 1);

        // Ended deliveries are forgotten after a while; the activity stays while one of
        // its deliveries still waits.
        let activity = first[0].activity;
        let pruned = store
            .prune_deliveries(later + Duration::seconds(1))
            .await
            .expect("prune");
        assert_eq!(pruned, 2, "[{}] the delivered and the refused", db.label);
        let state = store.queue_state().await.expect("state");
        assert!(
            state.iter().all(|s| s.domain != "one.example"),
            "[{}] {state:?}",
            db.label
        );
        assert_eq!(
            store
                .outgoing_activities(&[activity])
                .await
                .expect("activity")
                .len(),
            1,
            "[{}] two.example still waits for it",
            db.label
        );
        let last = store
            .claim("two.example", "worker-c", 10, later)
            .await
            .expect("claim");
        store
            .finish(last[0].id, "worker-c", &Outcome::Delivered, later)
            .await
            .expect("finish");
        store
            .prune_deliveries(later + Duration::seconds(1))
            .await
            .expect("prune");
        assert!(
            store
                .outgoing_activities(&[activity])
                .await
                .expect("activity")
                .is_empty(),
            "[{}] an activity all sent is forgotten with its deliveries",
            db.label
        );

        store.close().await.ok();
        db.drop_now().await;
    }
}

#[tokio::test]
async fn failures_are_retried_with_backoff_and_dead_domains_are_probed() {
    for db in TestDb::all().await {
        let store = common::store(&db).await;
        let start = Utc::now();
        let body = json!({"type": "Update"});
        store
            .enqueue(
                "https://a.example/activities/2",
                "https://a.example/poles/p",
                &body,
                &inboxes(&["https://down.example/inbox", "https://down.example/other"]),
                start,
            )
            .await
            .expect("enqueue");

        let mut now = start;
        let claimed = store
            .claim("down.example", "w", 10, now)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 2);
        for d in &claimed {
            store
                .finish(
                    d.id,
                    "w",
                    &Outcome::Retry("503 Service Unavailable".into()),
                    now,
                )
                .await
                .expect("finish");
        }
        assert!(
            store
                .claim("down.example", "w", 10, now)
                .await
                .expect("claim")
                .is_empty(),
            "[{}] not before the backoff",
            db.label
        );
        now += backoff(1);
        let retried = store
            .claim("down.example", "w", 10, now)
            .await
            .expect("claim");
        assert_eq!(retried.len(), 2, "[{}] retried after the backoff", db.label);
        assert_eq!(retried[0].attempts, 1);

        // Failing for longer than the limit: the domain is unreachable, probed one at a time.
        for d in &retried {
            store
                .finish(
                    d.id,
                    "w",
                    &Outcome::Retry("connection refused".into()),
                    now + UNREACHABLE_AFTER,
                )
                .await
                .expect("finish");
        }
        now += UNREACHABLE_AFTER;
        let state = store.queue_state().await.expect("state");
        assert!(state[0].unreachable, "[{}] {state:?}", db.label);
        assert!(
            store
                .due_domains(now + Duration::hours(1))
                .await
                .expect("due")
                .is_empty(),
            "[{}] not contacted until the probe",
            db.label
        );
        assert!(
            store
                .claim("down.example", "w", 10, now + Duration::hours(1))
                .await
                .expect("claim")
                .is_empty(),
            "[{}] not claimed until the probe, even when asked for by name",
            db.label
        );
        now += Duration::hours(7);
        assert_eq!(store.due_domains(now).await.expect("due"), ["down.example"]);
        let probe = store
            .claim("down.example", "w", 10, now)
            .await
            .expect("claim");
        assert_eq!(
            probe.len(),
            1,
            "[{}] a probe is a single delivery",
            db.label
        );
        store
            .finish(probe[0].id, "w", &Outcome::Delivered, now)
            .await
            .expect("finish");
        let state = store.queue_state().await.expect("state");
        assert!(
            !state[0].unreachable && state[0].failing_since.is_none(),
            "[{}] back: {state:?}",
            db.label
        );
        let rest = store
            .claim("down.example", "w", 10, now + Duration::hours(7))
            .await
            .expect("claim");
        assert_eq!(rest.len(), 1, "[{}] the rest flows again", db.label);

        // After the last attempt, a delivery is given up.
        store
            .enqueue(
                "https://a.example/activities/3",
                "https://a.example/poles/p",
                &body,
                &inboxes(&["https://gone.example/inbox"]),
                now,
            )
            .await
            .expect("enqueue");
        let mut t = now;
        for attempt in 0..MAX_ATTEMPTS {
            let claimed = store.claim("gone.example", "w", 1, t).await.expect("claim");
            assert_eq!(claimed.len(), 1, "[{}] attempt {attempt}", db.label);
            store
                .finish(claimed[0].id, "w", &Outcome::Retry("timeout".into()), t)
                .await
                .expect("finish");
            t += Duration::hours(7);
        }
        assert!(
            store
                .claim("gone.example", "w", 1, t + Duration::days(30))
                .await
                .expect("claim")
                .is_empty()
        );
        let gone = store
            .queue_state()
            .await
            .expect("state")
            .into_iter()
            .find(|s| s.domain == "gone.example")
            .expect("gone");
        assert_eq!(gone.failed, 1);

        store.close().await.ok();
        db.drop_now().await;
    }
}

/// Two processes sharing one PostgreSQL database (two connection pools here) never get the
/// same delivery, however they interleave.
#[tokio::test]
async fn concurrent_claimers_share_the_queue_without_overlap() {
    for db in TestDb::all().await {
        let a = common::store(&db).await;
        let b = common::store(&db).await;
        let now = Utc::now();
        let body = json!({"type": "Create"});
        let targets: Vec<Url> = (0..200)
            .map(|i| Url::parse(&format!("https://shared.example/users/{i}/inbox")).expect("url"))
            .collect();
        a.enqueue(
            "https://a.example/activities/4",
            "https://a.example/poles/p",
            &body,
            &targets,
            now,
        )
        .await
        .expect("enqueue");

        let shared = ["shared.example".to_owned()];
        let (total, distinct) = drain_from_two_processes(&a, &b, &shared, 7, now).await;
        assert_eq!(total, 200, "[{}] every delivery was sent", db.label);
        assert_eq!(distinct, 200, "[{}] no delivery was sent twice", db.label);

        a.close().await.ok();
        b.close().await.ok();
        db.drop_now().await;
    }
}

#[tokio::test]
async fn a_fan_out_is_claimed_for_many_domains_at_once() {
    for db in TestDb::all().await {
        let a = common::store(&db).await;
        let b = common::store(&db).await;
        let now = Utc::now();
        let body = json!({"type": "Create"});
        // Forty instances with a shared inbox, and one with three personal inboxes.
        let mut targets: Vec<Url> = (0..40)
            .map(|i| Url::parse(&format!("https://i{i}.example/inbox")).expect("url"))
            .collect();
        targets.extend(inboxes(&[
            "https://big.example/users/a/inbox",
            "https://big.example/users/b/inbox",
            "https://big.example/users/c/inbox",
        ]));
        a.enqueue(
            "https://a.example/activities/5",
            "https://a.example/poles/p",
            &body,
            &targets,
            now,
        )
        .await
        .expect("enqueue");
        // One of them has been failing for days: it is probed with one delivery.
        a.enqueue(
            "https://a.example/activities/6",
            "https://a.example/poles/p",
            &body,
            &inboxes(&["https://i0.example/inbox"]),
            now,
        )
        .await
        .expect("enqueue");
        let probe = a
            .claim("i0.example", "w", 1, now)
            .await
            .expect("claim")
            .remove(0);
        a.finish(probe.id, "w", &Outcome::Retry("timeout".into()), now)
            .await
            .expect("finish");
        let much_later = now + UNREACHABLE_AFTER + Duration::hours(1);
        let again = a
            .claim("i0.example", "w", 1, much_later)
            .await
            .expect("claim")
            .remove(0);
        a.finish(again.id, "w", &Outcome::Retry("timeout".into()), much_later)
            .await
            .expect("finish");
        let at = much_later + Duration::days(1);

        let mut domains = a.due_domains(at).await.expect("domains");
        domains.sort();
        assert_eq!(domains.len(), 41, "[{}] {domains:?}", db.label);

        // One claim for every domain: two per domain at most, one for the unreachable one.
        let claimed = a.claim_many(&domains, "one", 2, at).await.expect("claim");
        let per_domain = |domain: &str| claimed.iter().filter(|d| d.domain == domain).count();
        assert_eq!(claimed.len(), 39 + 1 + 2, "[{}]", db.label);
        assert_eq!(per_domain("i1.example"), 1, "[{}]", db.label);
        assert_eq!(per_domain("big.example"), 2, "[{}]", db.label);
        assert_eq!(
            per_domain("i0.example"),
            1,
            "[{}] an unreachable domain gives one delivery, as a probe",
            db.label
        );
        assert!(
            claimed
                .windows(2)
                .all(|w| (&w[0].domain, w[0].id) < (&w[1].domain, w[1].id)),
            "[{}] ordered by domain, then as queued",
            db.label
        );
        a.release_claims("one").await.expect("release");

        // Two processes claiming for the same domains at once: each delivery sent once.
        let (total, distinct) = drain_from_two_processes(&a, &b, &domains, 2, at).await;
        assert_eq!(total, 44, "[{}] every delivery was sent", db.label);
        assert_eq!(distinct, 44, "[{}] no delivery was sent twice", db.label);

        a.close().await.ok();
        b.close().await.ok();
        db.drop_now().await;
    }
}

/// Deliveries queued before activities were stored once are moved over by the migration,
/// each activity written once, and moved back by its `down`.
#[tokio::test]
async fn queued_deliveries_survive_the_move_to_stored_activities() {
    use migration::MigratorTrait;
    use sea_orm::{ConnectionTrait, Statement};
    for db in TestDb::all().await {
        let store = Store::connect(&db.config()).await.expect("connect");
        let conn = store.connection();
        let migrations = migration::Migrator::migrations();
        let before = migrations
            .iter()
            .position(|m| m.name().ends_with("_outgoing_activities"))
            .expect("the migration that stores activities once");
        let after = migrations.len() - before;
        migration::Migrator::up(conn, Some(before as u32))
            .await
            .expect("migrate to the shape before");
        let backend = conn.get_database_backend();
        let now = Utc::now();
        let mark = |n: usize| match backend {
            sea_orm::DbBackend::Postgres => format!("${n}"),
            _ => format!("?{n}"),
        };
        let rows = [
            (
                "https://a.example/activities/1",
                "https://one.example/inbox",
                "one.example",
            ),
            (
                "https://a.example/activities/1",
                "https://two.example/inbox",
                "two.example",
            ),
            (
                "https://a.example/activities/2",
                "https://one.example/inbox",
                "one.example",
            ),
        ];
        for (activity, inbox, domain) in rows {
            let body = json!({"type": "Create", "id": activity});
            conn.execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "INSERT INTO deliveries (activity_id, inbox, domain, signer, body, state, \
                     attempts, next_attempt_at, created_at, updated_at) \
                     VALUES ({}, {}, {}, {}, {}, 'pending', 0, {}, {}, {})",
                    mark(1),
                    mark(2),
                    mark(3),
                    mark(4),
                    mark(5),
                    mark(6),
                    mark(7),
                    mark(8)
                ),
                [
                    activity.into(),
                    inbox.into(),
                    domain.into(),
                    "https://a.example/poles/p".into(),
                    body.into(),
                    now.into(),
                    now.into(),
                    now.into(),
                ],
            ))
            .await
            .expect("an old delivery");
        }
        store.migrate().await.expect("migrate");

        let mut claimed = store
            .claim_many(
                &["one.example".to_owned(), "two.example".to_owned()],
                "w",
                10,
                now,
            )
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 3, "[{}] nothing queued is lost", db.label);
        claimed.sort_by_key(|d| d.id);
        assert_eq!(claimed[0].activity, claimed[1].activity, "[{}]", db.label);
        assert_ne!(claimed[0].activity, claimed[2].activity, "[{}]", db.label);
        let ids: Vec<i64> = claimed.iter().map(|d| d.activity).collect();
        let mut stored = store.outgoing_activities(&ids).await.expect("activities");
        stored.sort_by_key(|a| a.id);
        assert_eq!(stored.len(), 2, "[{}] one row per activity", db.label);
        assert_eq!(stored[0].activity_id, "https://a.example/activities/1");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&stored[1].body).expect("JSON"),
            json!({"type": "Create", "id": "https://a.example/activities/2"}),
            "[{}]",
            db.label
        );
        // New deliveries take ids after the moved ones.
        let added = store
            .enqueue(
                "https://a.example/activities/3",
                "https://a.example/poles/p",
                &json!({"type": "Delete"}),
                &inboxes(&["https://one.example/inbox"]),
                now,
            )
            .await
            .expect("enqueue")
            .map_or(0, |queued| queued.added);
        assert_eq!(added, 1, "[{}]", db.label);

        migration::Migrator::down(store.connection(), Some(after as u32))
            .await
            .expect("migrate down");
        let back = store
            .connection()
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT activity_id, body FROM deliveries ORDER BY id",
            ))
            .await
            .expect("old shape");
        let back: Vec<String> = back
            .iter()
            .map(|r| r.try_get::<String>("", "activity_id").expect("activity_id"))
            .collect();
        assert_eq!(
            back,
            [
                "https://a.example/activities/1",
                "https://a.example/activities/1",
                "https://a.example/activities/2",
                "https://a.example/activities/3"
            ],
            "[{}] down keeps every delivery",
            db.label
        );
        store.close().await.ok();
        db.drop_now().await;
    }
}
