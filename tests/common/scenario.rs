//! What several federation tests do the same way: a pole and one object of each kind to
//! publish, follows made through the API, and the three-instance scenario that runs both
//! on loopback over HTTP (`tests/federation.rs`) and in production mode over HTTPS behind
//! the reverse proxies (`tests/https.rs`).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{TestServer, call, eventually, ok, post_signed, titles};

/// A pole as the API takes it, with every part that federates.
pub fn pole(slug: &str, approval: bool) -> Value {
    json!({
        "slug": slug,
        "name": format!("Pôle {slug}"),
        "summary": "Coopérer sur le territoire",
        "description": "Un **pôle** de coopération.",
        "website": "https://ptce.example.org",
        "territory": {"communes": ["35236"], "kind": "rural", "label": "Pays de Redon"},
        "themes": ["renewable-energy"],
        "pooling": ["premises"],
        "shared_place": {"name": "La Maison", "street": "1 rue de la Gare", "postal_code": "35600", "commune": "35236", "latitude": 47.65, "longitude": -2.08},
        "manually_approves_followers": approval
    })
}

/// One kind of object a pole publishes.
pub struct Kind {
    /// Its collection under a pole in the API (`/api/v1/poles/{slug}/{collection}`).
    pub collection: &'static str,
    /// The segment of an item's path, in the API (`/api/v1/{path}/{id}`) and on the wire.
    pub path: &'static str,
    /// A body the API accepts.
    pub body: Value,
    /// Its ActivityStreams type.
    pub class: &'static str,
}

/// One object of each kind, titled after `tag`.
pub fn objects(tag: &str) -> Vec<Kind> {
    vec![
        Kind {
            collection: "projects",
            path: "projects",
            body: json!({
                "title": format!("Projet {tag}"), "summary": "Une légumerie partagée",
                "description": "Des *légumes* pour les cantines.", "status": "in-progress",
                "themes": ["agriculture-food"], "territory": {"communes": ["35236"]},
                "start_date": "2026-01-15"
            }),
            class: "Note",
        },
        Kind {
            collection: "events",
            path: "events",
            body: json!({
                "title": format!("Événement {tag}"), "summary": "Portes ouvertes",
                "starts_at": "2038-12-05T14:00", "ends_at": "2038-12-05T18:00",
                "place": {"name": "La Maison", "commune": "35236"}
            }),
            class: "Event",
        },
        Kind {
            collection: "calls",
            path: "calls",
            body: json!({
                "title": format!("Appel {tag}"), "summary": "Cherche partenaires",
                "direction": "offering", "subjects": ["premises"], "deadline": "2038-03-01",
                "how_to_answer": "Écrire à contact@ptce.example.org"
            }),
            class: "Note",
        },
    ]
}

/// An object published through the API: where to change it, and its ActivityPub id.
pub struct Published {
    pub collection: &'static str,
    pub path: &'static str,
    pub id: String,
    pub ap_id: String,
    pub title: String,
    pub class: &'static str,
}

/// Publishes one object of each kind on the pole `slug`.
pub async fn publish(server: &TestServer, slug: &str, tag: &str) -> Vec<Published> {
    let mut published = Vec::new();
    for kind in objects(tag) {
        let created = ok(
            server,
            Method::POST,
            &format!("/api/v1/poles/{slug}/{}", kind.collection),
            Some(kind.body),
        )
        .await;
        let id = created["id"].as_str().expect("an id").to_owned();
        published.push(Published {
            collection: kind.collection,
            path: kind.path,
            ap_id: server.url(&format!("/{}/{id}", kind.path)),
            title: created["title"].as_str().expect("a title").to_owned(),
            id,
            class: kind.class,
        });
    }
    published
}

/// The item titled `title` among a pole's objects of one kind, as an instance lists them.
pub async fn item(
    server: &TestServer,
    handle: &str,
    collection: &str,
    title: &str,
) -> Option<Value> {
    let (_, page) = call(
        server,
        Method::GET,
        &format!("/api/v1/poles/{handle}/{collection}?per_page=100"),
        None,
    )
    .await;
    page["items"]
        .as_array()?
        .iter()
        .find(|i| i["title"] == title)
        .cloned()
}

/// Makes `from` follow `actor` (a URL or a handle); the follow's id.
pub async fn follow(from: &TestServer, actor: &str) -> i64 {
    let record = ok(
        from,
        Method::POST,
        "/api/v1/admin/follows",
        Some(json!({"actor": actor})),
    )
    .await;
    record["id"].as_i64().expect("a follow id")
}

/// The state of `from`'s follow of `actor`, if it has one.
pub async fn follow_state(from: &TestServer, actor: &str) -> Option<String> {
    let (_, list) = call(from, Method::GET, "/api/v1/admin/follows", None).await;
    list.as_array()?
        .iter()
        .find(|f| f["actor"]["ap_id"] == actor)
        .and_then(|f| f["state"].as_str().map(str::to_owned))
}

/// Three instances: A publishes, B follows A's pole `redon` by its handle (WebFinger), C by
/// its actor's URL. Every kind of object is created, updated and deleted on A and reaches
/// both with its content; a reply signed by one of C's poles appears once on A's project,
/// sanitised, even when sent twice; C unfollows, and what A publishes next reaches B only.
/// Returns the pole's handle, `redon@host`.
pub async fn three_instances(a: &TestServer, b: &TestServer, c: &TestServer) -> String {
    ok(a, Method::POST, "/api/v1/poles", Some(pole("redon", false))).await;
    let actor = a.url("/poles/redon");
    let handle = format!("redon@{}", a.host());

    // B follows by handle, C by actor URL; both are accepted at once.
    follow(b, &format!("@{handle}")).await;
    let c_follow = follow(c, &actor).await;
    for server in [b, c] {
        eventually("the follow to be accepted", || async {
            follow_state(server, &actor).await.as_deref() == Some("accepted")
        })
        .await;
    }
    let followers = ok(a, Method::GET, "/api/v1/poles/redon/followers", None).await;
    assert_eq!(followers["total"], 2, "{followers}");
    // The pole's profile came with the follow.
    let profile = ok(b, Method::GET, &format!("/api/v1/poles/{handle}"), None).await;
    assert_eq!(profile["name"], "Pôle redon");
    assert_eq!(profile["summary"], "Coopérer sur le territoire");

    // Create, update and delete of each kind reach both followers with their content.
    let published = publish(a, "redon", "un").await;
    for server in [b, c] {
        for object in &published {
            eventually(&format!("{} on a follower", object.title), || async {
                titles(server, &handle, object.collection)
                    .await
                    .contains(&object.title)
            })
            .await;
        }
        let project = item(server, &handle, "projects", "Projet un")
            .await
            .expect("project");
        assert_eq!(project["summary"], "Une légumerie partagée");
        assert_eq!(project["status"], "in-progress");
        assert_eq!(project["start_date"], "2026-01-15");
        assert_eq!(project["description"], "Des *légumes* pour les cantines.");
        let event = item(server, &handle, "events", "Événement un")
            .await
            .expect("event");
        assert_eq!(event["starts_at"], "2038-12-05T14:00:00+01:00");
        assert_eq!(event["ends_at"], "2038-12-05T18:00:00+01:00");
        assert_eq!(event["place"]["name"], "La Maison");
        let call_item = item(server, &handle, "calls", "Appel un")
            .await
            .expect("call");
        assert_eq!(call_item["deadline"], "2038-03-01");
        assert_eq!(call_item["direction"], "offering");
    }
    for object in &published {
        ok(
            a,
            Method::PATCH,
            &format!("/api/v1/{}/{}", object.path, object.id),
            Some(json!({"title": format!("{} (modifié)", object.title)})),
        )
        .await;
    }
    for server in [b, c] {
        for object in &published {
            let changed = format!("{} (modifié)", object.title);
            eventually(&format!("{changed} on a follower"), || async {
                let list = titles(server, &handle, object.collection).await;
                list.contains(&changed) && !list.contains(&object.title)
            })
            .await;
        }
    }
    for object in &published {
        let (status, body) = call(
            a,
            Method::DELETE,
            &format!("/api/v1/{}/{}", object.path, object.id),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    for server in [b, c] {
        for object in &published {
            eventually("deletes on a follower", || async {
                titles(server, &handle, object.collection).await.is_empty()
            })
            .await;
        }
    }

    // A reply signed by one of C's poles, sent to A's inbox; A fetches C's pole to check the
    // signature. Sent twice, it is applied once.
    ok(
        c,
        Method::POST,
        "/api/v1/poles",
        Some(pole("voisin", false)),
    )
    .await;
    let project = ok(
        a,
        Method::POST,
        "/api/v1/poles/redon/projects",
        Some(objects("réponse").swap_remove(0).body),
    )
    .await;
    let project_id = project["id"].as_str().expect("id");
    let replier = c.store.pole("voisin").await.expect("pole");
    let keys = c.store.pole_keys(replier.id).await.expect("keys");
    let reply_id = c.url("/poles/voisin/replies/1");
    let reply = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{reply_id}/activity"),
        "type": "Create",
        "actor": replier.ap_id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": reply_id, "type": "Note", "attributedTo": replier.ap_id,
            "inReplyTo": a.url(&format!("/projects/{project_id}")),
            "content": "<p>Nous avons une chambre froide à partager.<script>alert(1)</script></p>",
            "published": "2026-11-23T10:00:00Z"
        }
    });
    for _ in 0..2 {
        let status = post_signed(
            a,
            "/inbox",
            &reply,
            &format!("{}#main-key", replier.ap_id),
            &keys.private_key,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let interactions = ok(
            a,
            Method::GET,
            &format!("/api/v1/projects/{project_id}/interactions"),
            None,
        )
        .await;
        let replies = interactions["replies"].as_array().expect("replies");
        assert_eq!(replies.len(), 1, "{interactions}");
        assert_eq!(
            replies[0]["content_html"],
            "<p>Nous avons une chambre froide à partager.</p>"
        );
        assert_eq!(replies[0]["author"]["ap_id"], replier.ap_id);
    }

    // C unfollows: A forgets it, and what A publishes next reaches B only.
    let (status, _) = call(
        c,
        Method::DELETE,
        &format!("/api/v1/admin/follows/{c_follow}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    eventually("C gone from A's followers", || async {
        ok(a, Method::GET, "/api/v1/poles/redon/followers", None).await["total"] == 1
    })
    .await;
    let list = ok(
        a,
        Method::GET,
        "/api/v1/poles/redon/followers?per_page=100",
        None,
    )
    .await;
    assert!(
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|f| !f["actor"]["ap_id"]
                .as_str()
                .unwrap_or_default()
                .starts_with(&c.base)),
        "{list}"
    );
    let after = "Après le départ de C".to_owned();
    ok(
        a,
        Method::POST,
        "/api/v1/poles/redon/projects",
        Some(json!({"title": after})),
    )
    .await;
    eventually("the project on B", || async {
        titles(b, &handle, "projects").await.contains(&after)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!titles(c, &handle, "projects").await.contains(&after));
    handle
}
