//! Domain blocks kept in the database, on SQLite and (when configured) PostgreSQL: one row
//! per domain, seen by every check at once and by another process sharing the database once
//! it reloads them, and what came from a blocked domain forgotten.

mod common;

use std::sync::Arc;

use maillage::domain::{EventInput, PoleInput};
use maillage::federation::blocks;
use maillage::federation::fetch::service::{Federation, FederationError};
use maillage::store::{Kind, NewRemoteActor, NewReply, PageRequest, Store, StoreError};

use common::{TestDb, TestServer, call};
use maillage::store::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ALL: PageRequest = PageRequest {
    page: 1,
    per_page: 100,
};

fn pole(slug: &str) -> maillage::domain::Pole {
    PoleInput {
        slug: slug.into(),
        name: format!("Pôle {slug}"),
        ..Default::default()
    }
    .validate()
    .expect("a valid pole")
}

async fn actor(store: &Store, ap_id: &str) -> i64 {
    let url = url::Url::parse(ap_id).expect("url");
    let domain = maillage::store::queue::inbox_domain(&url).expect("domain");
    store
        .upsert_remote_actor(&NewRemoteActor {
            ap_id: ap_id.into(),
            kind: "Person".into(),
            username: Some("someone".into()),
            name: None,
            domain,
            inbox: format!("{ap_id}/inbox"),
            shared_inbox: None,
            key_id: Some(format!("{ap_id}#main-key")),
            public_key_pem: None,
            url: None,
        })
        .await
        .expect("actor")
        .id
}

fn is_gone(result: Result<maillage::store::PoleRecord, StoreError>) -> bool {
    matches!(result, Err(StoreError::Gone(_)))
}

#[tokio::test]
async fn blocks_are_stored_shared_and_forget_what_came_from_the_domain() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let mut config = db.config();
        config.public_url = "https://ptce.example.org".into();
        config.federation.blocked_domains = vec!["configured.example".into()];
        let store = Store::connect(&config).await.expect("connect");
        store.migrate().await.expect("migrate");
        store.ensure_instance("Blocs").await.expect("instance");
        let config = Arc::new(config);
        let fed = Federation::new(
            Store::connect(&config).await.expect("connect"),
            config.clone(),
        )
        .expect("federation set up");
        // Another process sharing the database.
        let other = Federation::new(
            Store::connect(&config).await.expect("connect"),
            config.clone(),
        )
        .expect("federation set up");
        let instance = fed.instance_actor_id();

        let local = store.create_pole(&pole("ici")).await.expect("pole");
        let event = store
            .create_event(
                local.id,
                &EventInput {
                    title: "Marché".into(),
                    starts_at: "2030-05-04T09:00".into(),
                    online_url: Some("https://visio.example.org/marche".into()),
                    ..Default::default()
                }
                .validate()
                .expect("event"),
            )
            .await
            .expect("event");
        let object = store
            .local_object(&event.ap_id)
            .await
            .expect("lookup")
            .expect("a local object");
        let spam = "https://spam.example/users/a";
        let sub = "https://sub.spam.example:8443/actor";
        let good = "https://notspam.example/users/b";
        for (n, ap_id) in [spam, sub, good].into_iter().enumerate() {
            let id = actor(&store, ap_id).await;
            for local_actor in [&local.ap_id, &instance] {
                let pole_id = (local_actor == &local.ap_id).then_some(local.id);
                store
                    .add_follower(
                        local_actor,
                        pole_id,
                        id,
                        &format!("{ap_id}/follows/{n}"),
                        "accepted",
                    )
                    .await
                    .expect("follower");
            }
            store
                .add_reply(&NewReply {
                    ap_id: &format!("{ap_id}/replies/{n}"),
                    object,
                    author_id: id,
                    content_html: "<p>Bonjour</p>",
                    url: None,
                    published_at: chrono::Utc::now(),
                    needs_approval: false,
                })
                .await
                .expect("reply");
            store
                .add_reaction(&format!("{ap_id}/likes/{n}"), "like", object, id)
                .await
                .expect("like");
        }
        store
            .upsert_remote_pole(
                "https://sub.spam.example:8443/poles/spam",
                "sub.spam.example:8443",
                &pole("spam"),
                &[],
            )
            .await
            .expect("remote pole");
        // Relayed by the blocked domain, hosted elsewhere.
        let relayed = store
            .upsert_remote_pole(
                "https://elsewhere.example/poles/relaye",
                "elsewhere.example",
                &pole("relaye"),
                &[],
            )
            .await
            .expect("relayed pole");
        store
            .note_pole_source(relayed.id, Some(spam))
            .await
            .expect("source");
        store
            .upsert_remote_pole(
                "https://notspam.example/poles/voisin",
                "notspam.example",
                &pole("voisin"),
                &[],
            )
            .await
            .expect("neighbour pole");

        // Refused: not a domain, this instance's own, already blocked.
        for bad in [
            "",
            "https://x.example/",
            "x.example/path",
            "x.example:443",
            "a..example",
            "-a.example",
            "127.0.0.1",
            "[::1]",
            "spam example",
            "example.org",
        ] {
            assert!(
                matches!(
                    blocks::block(&fed, bad, None, Some("admin")).await,
                    Err(FederationError::Invalid(_))
                ),
                "[{label}] `{bad}` is refused"
            );
        }
        assert!(store.domain_blocks().await.expect("blocks").is_empty());

        // Queued before the block: given up for the domain and its subdomains only.
        let inboxes: Vec<url::Url> = [spam, sub, good]
            .iter()
            .map(|a| url::Url::parse(&format!("{a}/inbox")).expect("inbox"))
            .collect();
        store
            .enqueue(
                &format!("{}#update-1", local.ap_id),
                &local.ap_id,
                &json!({"type": "Update"}),
                &inboxes,
                chrono::Utc::now(),
            )
            .await
            .expect("enqueue");

        let record = blocks::block(&fed, " Spam.Example. ", Some(" Publicités "), Some("admin"))
            .await
            .expect("block");
        assert_eq!(
            (
                record.domain.as_str(),
                record.reason.as_deref(),
                record.created_by.as_deref()
            ),
            ("spam.example", Some("Publicités"), Some("admin")),
            "[{label}]"
        );
        assert!(
            matches!(
                blocks::block(&fed, "spam.example", None, None).await,
                Err(FederationError::Store(StoreError::Conflict(_)))
            ),
            "[{label}] blocked once"
        );
        let checks = fed.client.blocks();
        assert!(
            checks.is_blocked("spam.example")
                && checks.is_blocked("sub.spam.example")
                && checks.is_blocked("configured.example")
                && !checks.is_blocked("notspam.example"),
            "[{label}] this process sees the block at once"
        );
        assert!(
            !other.client.blocks().is_blocked("spam.example"),
            "[{label}] the other process has not reloaded yet"
        );
        assert_eq!(blocks::reload(&other).await.expect("reload"), 1);
        assert!(
            other.client.blocks().is_blocked("a.sub.spam.example"),
            "[{label}]"
        );

        let queue: Vec<(String, u64, u64)> = store
            .queue_state()
            .await
            .expect("queue")
            .into_iter()
            .map(|d| (d.domain, d.pending, d.failed))
            .collect();
        assert_eq!(
            queue,
            vec![
                ("notspam.example".to_owned(), 1, 0),
                ("spam.example".to_owned(), 0, 1),
                ("sub.spam.example:8443".to_owned(), 0, 1),
            ],
            "[{label}] the queue"
        );

        for local_actor in [&local.ap_id, &instance] {
            let left: Vec<String> = store
                .list_followers(local_actor, ALL)
                .await
                .expect("followers")
                .items
                .into_iter()
                .map(|f| f.actor.ap_id)
                .collect();
            assert_eq!(
                left,
                vec![good.to_owned()],
                "[{label}] followers of {local_actor}"
            );
        }
        let replies: Vec<String> = store
            .list_replies(Kind::Event, object.id, true)
            .await
            .expect("replies")
            .into_iter()
            .map(|r| r.author.ap_id)
            .collect();
        assert_eq!(replies, vec![good.to_owned()], "[{label}] replies");
        assert_eq!(
            store
                .reaction_counts(Kind::Event, object.id)
                .await
                .expect("counts"),
            (1, 0),
            "[{label}] likes"
        );
        assert!(
            is_gone(store.remote_pole("spam", "sub.spam.example:8443").await),
            "[{label}]"
        );
        assert!(
            is_gone(store.remote_pole("relaye", "elsewhere.example").await),
            "[{label}]"
        );
        assert!(
            store.remote_pole("voisin", "notspam.example").await.is_ok(),
            "[{label}]"
        );

        // Lifting: a configured block stays, an unknown one is not found.
        assert!(
            matches!(
                blocks::unblock(&fed, "a.configured.example", None).await,
                Err(FederationError::Store(StoreError::Conflict(_)))
            ),
            "[{label}]"
        );
        assert!(
            matches!(
                blocks::unblock(&fed, "unknown.example", None).await,
                Err(FederationError::NotFound(_))
            ),
            "[{label}]"
        );
        blocks::unblock(&fed, "SPAM.example", Some("admin"))
            .await
            .expect("unblock");
        assert!(
            store.domain_blocks().await.expect("blocks").is_empty(),
            "[{label}]"
        );
        assert!(!fed.client.blocks().is_blocked("spam.example"), "[{label}]");
        assert!(
            fed.client.blocks().is_blocked("configured.example"),
            "[{label}]"
        );
        assert_eq!(blocks::reload(&other).await.expect("reload"), 0);
        assert!(
            !other.client.blocks().is_blocked("spam.example"),
            "[{label}]"
        );

        fed.store.clone().close().await.ok();
        other.store.clone().close().await.ok();
        store.close().await.expect("close");
        db.drop_now().await;
    }
}

async fn as_editor(
    server: &TestServer,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> StatusCode {
    let mut request = server
        .client
        .request(method, server.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request").status()
}

#[tokio::test]
async fn the_api_blocks_and_unblocks_for_administrators_only() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start_on(&db, 0, |c| {
            c.federation.blocked_domains = vec!["configured.example".into()];
        })
        .await;
        let editor = common::issue_token(&server.store, "editrice", Role::Editor).await;

        for bad in [
            json!({"domain": "https://spam.example/"}),
            json!({"domain": "spam example"}),
            json!({"domain": ""}),
            json!({"domain": "127.0.0.1"}),
        ] {
            let (status, body) = call(
                &server,
                Method::POST,
                "/api/v1/admin/blocks",
                Some(bad.clone()),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "[{label}] {bad}: {body}");
            assert!(
                body["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("domain"),
                "[{label}] {body}"
            );
        }
        let (status, _) = call(
            &server,
            Method::POST,
            "/api/v1/admin/blocks",
            Some(json!({"domain": "spam.example", "colour": "red"})),
        )
        .await;
        assert!(
            status.is_client_error(),
            "[{label}] unknown fields are refused"
        );
        assert_eq!(
            as_editor(
                &server,
                &editor,
                Method::POST,
                "/api/v1/admin/blocks",
                Some(json!({"domain": "spam.example"}))
            )
            .await,
            StatusCode::FORBIDDEN,
            "[{label}]"
        );
        assert_eq!(
            as_editor(&server, &editor, Method::GET, "/api/v1/admin/blocks", None).await,
            StatusCode::FORBIDDEN,
            "[{label}]"
        );
        let (_, list) = call(&server, Method::GET, "/api/v1/admin/blocks", None).await;
        assert_eq!(
            list,
            json!({"blocks": [], "configured": ["configured.example"]}),
            "[{label}] nothing stored by refused requests"
        );

        let (status, created) = call(
            &server,
            Method::POST,
            "/api/v1/admin/blocks",
            Some(json!({"domain": "Spam.Example", "reason": "Publicités"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "[{label}] {created}");
        assert_eq!(created["domain"], "spam.example");
        assert_eq!(created["reason"], "Publicités");
        assert_eq!(created["created_by"], "admin");
        let (status, _) = call(
            &server,
            Method::POST,
            "/api/v1/admin/blocks",
            Some(json!({"domain": "spam.example"})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "[{label}]");
        let (_, list) = call(&server, Method::GET, "/api/v1/admin/blocks", None).await;
        assert_eq!(
            list["blocks"][0]["domain"], "spam.example",
            "[{label}] {list}"
        );

        // Following someone on a blocked domain is refused before any request.
        let (status, body) = call(
            &server,
            Method::POST,
            "/api/v1/admin/follows",
            Some(json!({"actor": "https://www.spam.example/actor"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "[{label}] {body}");

        assert_eq!(
            as_editor(
                &server,
                &editor,
                Method::DELETE,
                "/api/v1/admin/blocks/spam.example",
                None
            )
            .await,
            StatusCode::FORBIDDEN,
            "[{label}]"
        );
        let (status, _) = call(
            &server,
            Method::DELETE,
            "/api/v1/admin/blocks/configured.example",
            None,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "[{label}] configured blocks stay"
        );
        let (status, _) = call(
            &server,
            Method::DELETE,
            "/api/v1/admin/blocks/not%20a%20domain",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "[{label}]");
        let (status, _) = call(
            &server,
            Method::DELETE,
            "/api/v1/admin/blocks/spam.example",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "[{label}]");
        let (status, _) = call(
            &server,
            Method::DELETE,
            "/api/v1/admin/blocks/spam.example",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "[{label}]");
        let (_, list) = call(&server, Method::GET, "/api/v1/admin/blocks", None).await;
        assert_eq!(list["blocks"], json!([]), "[{label}]");

        server.stop().await;
        db.drop_now().await;
    }
}
