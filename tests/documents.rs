//! What we publish, as a receiver reads it: every link leads somewhere, hashtags and web
//! addresses are links written as Mastodon writes them, text typed with markup stays text,
//! and nothing is announced or dated that did not change.

mod common;

use std::collections::{BTreeSet, VecDeque};

use common::stand_ins::{Peers, add_followers};
use common::{TestDb, TestServer, eventually, ok};
use maillage::domain::text::escape_html;
use maillage::federation::objects::call::parse_call;
use maillage::federation::objects::event::parse_event;
use maillage::federation::objects::project::parse_project;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const AP: &str = "application/activity+json";

async fn get(server: &TestServer, url: &str, accept: &str) -> (StatusCode, String) {
    let res = server
        .client
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .expect("request");
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

async fn document(server: &TestServer, url: &str) -> Value {
    let (status, body) = get(server, url, AP).await;
    assert_eq!(status, StatusCode::OK, "{url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: {e}: {body}"))
}

/// The `href`s of the links in some HTML.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

/// Every address a document gives for something: ids, links, collections, the actors it
/// names, and the links in its HTML.
fn addresses(value: &Value, out: &mut Vec<String>) {
    const KEYS: [&str; 14] = [
        "id",
        "href",
        "url",
        "outbox",
        "followers",
        "following",
        "first",
        "last",
        "next",
        "prev",
        "partOf",
        "attributedTo",
        "owner",
        "organizer",
    ];
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match v {
                    Value::String(s) if KEYS.contains(&key.as_str()) => out.push(s.clone()),
                    Value::String(s) if matches!(key.as_str(), "content" | "summary" | "value") => {
                        out.extend(hrefs(s))
                    }
                    Value::Array(items) if key == "organizer" || key == "cc" => {
                        out.extend(items.iter().filter_map(Value::as_str).map(str::to_owned))
                    }
                    _ => addresses(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| addresses(v, out)),
        _ => {}
    }
}

fn input<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("input")
}

/// A pole with a project, an event and a call, each with themes, made through the API.
async fn publish_all(server: &TestServer) -> (Value, Value, Value, Value) {
    let pole = ok(
        server,
        Method::POST,
        "/api/v1/poles",
        Some(json!({
            "slug": "redon", "name": "Pôle Redon",
            "summary": "Coopérer, voir https://ptce-redon.example.org/charte.",
            "website": "https://ptce-redon.example.org",
            "themes": ["renewable-energy"],
        })),
    )
    .await;
    let project = ok(
        server,
        Method::POST,
        "/api/v1/poles/redon/projects",
        Some(json!({
            "title": "Parc éolien", "summary": "Le dossier : https://eolien.example.org/dossier",
            "themes": ["renewable-energy", "agriculture-food"], "start_date": "2038-01-01",
        })),
    )
    .await;
    let event = ok(
        server,
        Method::POST,
        "/api/v1/poles/redon/events",
        Some(json!({
            "title": "Marché solidaire", "starts_at": "2038-05-01T14:00",
            "online_url": "https://visio.example.org/marche",
            "registration_url": "https://billets.example.org/marche",
            "themes": ["agriculture-food"],
        })),
    )
    .await;
    let call = ok(
        server,
        Method::POST,
        "/api/v1/poles/redon/calls",
        Some(json!({
            "title": "Locaux à partager", "direction": "offering", "subjects": ["premises"],
            "how_to_answer": "Le formulaire https://forms.example.org/locaux (avant mars)",
            "themes": ["circular-economy"], "deadline": "2038-03-01",
        })),
    )
    .await;
    (pole, project, event, call)
}

/// Every `id`, `href` and `url` of every document we publish (the pole, the instance, each
/// kind of object, the outbox, the followers and following collections, and the links in
/// their HTML), followed from one to the next, answers 200 to federation clients and to
/// browsers.
#[tokio::test]
async fn every_address_in_our_documents_answers() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        let (pole, project, event, call) = publish_all(&server).await;
        let base = server.url("");
        let mut queue: VecDeque<String> = [
            server.url("/poles/redon"),
            server.url("/actor"),
            project["url"].as_str().unwrap_or_default().to_owned(),
            event["url"].as_str().unwrap_or_default().to_owned(),
            call["url"].as_str().unwrap_or_default().to_owned(),
            server.url("/poles/redon/outbox?page=1"),
        ]
        .into();
        assert_eq!(pole["slug"], "redon");
        let mut seen = BTreeSet::new();
        let mut dead = Vec::new();
        while let Some(url) = queue.pop_front() {
            let url = url.split('#').next().unwrap_or_default().to_owned();
            if !url.starts_with(&base) || !seen.insert(url.clone()) || seen.len() > 300 {
                continue;
            }
            for accept in ["text/html", AP] {
                let (status, body) = get(&server, &url, accept).await;
                if status != StatusCode::OK {
                    dead.push(format!("{url} ({accept}): {status}"));
                    continue;
                }
                if accept == AP
                    && let Ok(doc) = serde_json::from_str::<Value>(&body)
                {
                    let mut found = Vec::new();
                    addresses(&doc, &mut found);
                    queue.extend(found);
                }
            }
        }
        assert!(dead.is_empty(), "[{}] dead links: {dead:#?}", db.label);
        for expected in [
            "/themes/renewable-energy",
            "/themes/agriculture-food",
            "/themes/circular-economy",
            "/poles/redon/followers",
            "/poles/redon/following",
            "/actor/outbox",
        ] {
            assert!(
                seen.contains(&server.url(expected)),
                "[{}] {expected} was followed: {seen:#?}",
                db.label
            );
        }

        // The theme: for browsers, the directory of what carries it, with its feeds; for
        // federation clients, a paged collection of their ids.
        let (status, page) = get(
            &server,
            &server.url("/themes/agriculture-food"),
            "text/html",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            page.contains("Marché solidaire")
                && page.contains("Parc éolien")
                && !page.contains("Locaux à partager")
                && page.contains("/feeds/directory.atom?theme=agriculture-food"),
            "[{}] {page}",
            db.label
        );
        let theme_id = server.url("/themes/agriculture-food");
        let collection = document(&server, &theme_id).await;
        assert_eq!(collection["type"], "OrderedCollection");
        assert_eq!(collection["id"], theme_id);
        assert_eq!(collection["totalItems"], 2);
        let first = document(&server, &format!("{theme_id}?page=1")).await;
        assert_eq!(first["type"], "OrderedCollectionPage");
        assert_eq!(first["partOf"], theme_id);
        let items = first["orderedItems"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            items.contains(&event["url"]) && items.contains(&project["url"]),
            "[{}] {first}",
            db.label
        );
        for (path, expected) in [
            ("/themes/astrology", StatusCode::NOT_FOUND),
            ("/themes/mobility?page=0", StatusCode::UNPROCESSABLE_ENTITY),
        ] {
            let (status, body) = get(&server, &server.url(path), AP).await;
            assert_eq!(status, expected, "[{}] {path}: {body}", db.label);
        }
        let (status, page) = get(&server, &server.url("/themes/astrology"), "text/html").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            page.contains("<html"),
            "[{}] a page for browsers: {page}",
            db.label
        );

        server.stop().await;
        db.drop_now().await;
    }
}

/// Hashtags and web addresses are links, as Mastodon writes its own posts (it links nothing
/// in other servers' HTML); events carry their themes as hashtags, and an instance that
/// receives them reads them back.
#[tokio::test]
async fn hashtags_and_addresses_are_links_as_mastodon_writes_them() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        let (_, project, event, call) = publish_all(&server).await;
        assert_eq!(
            event["themes"],
            json!(["agriculture-food"]),
            "the API gives them"
        );
        let tag = |id: &str, name: &str| {
            format!(
                "<a href=\"{}\" class=\"mention hashtag\" rel=\"tag\">#<span>{name}</span></a>",
                server.url(&format!("/themes/{id}"))
            )
        };
        let link = |url: &str| {
            format!("<a href=\"{url}\" target=\"_blank\" rel=\"nofollow noopener noreferrer\">")
        };

        let note = document(&server, project["url"].as_str().unwrap_or_default()).await;
        let content = note["content"].as_str().unwrap_or_default();
        for expected in [
            tag("renewable-energy", "EnergiesRenouvelables"),
            tag("agriculture-food", "AgricultureEtAlimentation"),
            link("https://eolien.example.org/dossier"),
            link(project["url"].as_str().unwrap_or_default()),
        ] {
            assert!(
                content.contains(&expected),
                "[{}] `{expected}` in {content}",
                db.label
            );
        }

        let ev = document(&server, event["url"].as_str().unwrap_or_default()).await;
        assert_eq!(
            ev["tag"],
            json!([{"type": "Hashtag", "name": "#AgricultureEtAlimentation", "href": server.url("/themes/agriculture-food")}]),
            "[{}] {ev}",
            db.label
        );
        // Mastodon shows an event's name, summary and link: the links are in the summary.
        let summary = ev["summary"].as_str().unwrap_or_default();
        for expected in [
            tag("agriculture-food", "AgricultureEtAlimentation"),
            link("https://visio.example.org/marche"),
            link("https://billets.example.org/marche"),
        ] {
            assert!(
                summary.contains(&expected),
                "[{}] `{expected}` in {summary}",
                db.label
            );
        }
        let read = parse_event(&ev).expect("another Maillage instance reads the event");
        assert_eq!(
            read.themes,
            vec![maillage::domain::vocab::Theme::AgricultureFood],
            "[{}] its themes come back",
            db.label
        );

        let call_note = document(&server, call["url"].as_str().unwrap_or_default()).await;
        let content = call_note["content"].as_str().unwrap_or_default();
        assert!(
            content.contains(&format!(
                "Pour répondre : Le formulaire {}",
                link("https://forms.example.org/locaux")
            )) && content.contains("</a> (avant mars)"),
            "[{}] {content}",
            db.label
        );
        let group = document(&server, &server.url("/poles/redon")).await;
        let summary = group["summary"].as_str().unwrap_or_default();
        assert!(
            summary.contains(&link("https://ptce-redon.example.org/charte"))
                && summary.contains("</a>.</p>"),
            "[{}] {summary}",
            db.label
        );

        server.stop().await;
        db.drop_now().await;
    }
}

/// Markup typed in any text field stays text: `name` and `abstract` are HTML-escaped,
/// `summary` and `content` hold no markup but ours and the sanitised description, and the
/// description as typed is in `source`; another instance reads every text back as typed.
#[tokio::test]
async fn typed_markup_stays_text_in_every_field() {
    const TYPED: &str = "<script>alert(1)</script><b>gras</b> & \"cité\"";
    const DESCRIPTION: &str = "<script>alert(2)</script>Un <b>vrai</b> texte";
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        let typed = |field: &str| format!("{field} {TYPED}");
        ok(
            &server,
            Method::POST,
            "/api/v1/poles",
            Some(json!({
                "slug": "redon", "name": typed("pôle"), "summary": typed("résumé du pôle"),
                "description": DESCRIPTION, "territory": {"label": typed("territoire")},
            })),
        )
        .await;
        let project = ok(
            &server,
            Method::POST,
            "/api/v1/poles/redon/projects",
            Some(json!({"title": typed("projet"), "summary": typed("résumé du projet"), "description": DESCRIPTION})),
        )
        .await;
        let event = ok(
            &server,
            Method::POST,
            "/api/v1/poles/redon/events",
            Some(json!({
                "title": typed("événement"), "summary": typed("résumé de l'événement"), "description": DESCRIPTION,
                "starts_at": "2038-05-01T14:00", "place": {"name": typed("lieu"), "commune": "35236"},
            })),
        )
        .await;
        let call = ok(
            &server,
            Method::POST,
            "/api/v1/poles/redon/calls",
            Some(json!({
                "title": typed("appel"), "summary": typed("résumé de l'appel"), "description": DESCRIPTION,
                "direction": "seeking", "subjects": ["premises"], "how_to_answer": typed("répondre"),
            })),
        )
        .await;

        // HTML a receiver renders: nothing typed is markup in it.
        let safe_html = |what: &str, html: &str| {
            assert!(
                !html.contains("<script") && !html.contains("alert(2)"),
                "[{}] {what}: {html}",
                db.label
            );
            assert!(
                !html.contains("<b>gras"),
                "[{}] {what}: typed markup stays text: {html}",
                db.label
            );
        };
        let mut documents = Vec::new();
        for (kind, record) in [("project", &project), ("event", &event), ("call", &call)] {
            let doc = document(&server, record["url"].as_str().unwrap_or_default()).await;
            let title = record["title"].as_str().unwrap_or_default();
            let summary = record["summary"].as_str().unwrap_or_default();
            assert_eq!(
                doc["name"],
                escape_html(title),
                "[{}] {kind} name",
                db.label
            );
            assert_eq!(
                doc["abstract"],
                escape_html(summary),
                "[{}] {kind} abstract",
                db.label
            );
            assert_eq!(
                doc["source"],
                json!({"content": DESCRIPTION, "mediaType": "text/markdown"}),
                "[{}] {kind}: the description as typed",
                db.label
            );
            let content = doc["content"].as_str().unwrap_or_default();
            safe_html(kind, content);
            safe_html(kind, doc["summary"].as_str().unwrap_or_default());
            assert!(
                content.contains("&lt;b&gt;gras&lt;/b&gt; &amp; \"cité\"")
                    && content.contains("Un <b>vrai</b> texte"),
                "[{}] {kind}: the typed text shown as text, the description's markup kept: {content}",
                db.label
            );
            documents.push(doc);
        }
        assert_eq!(
            documents[2]["howToAnswer"],
            escape_html(&typed("répondre")),
            "[{}]",
            db.label
        );
        // Another Maillage instance gets back what was typed.
        let project_back = parse_project(&documents[0]).expect("project");
        assert_eq!(project_back.title, typed("projet"));
        assert_eq!(
            project_back.summary.as_deref(),
            Some(typed("résumé du projet").as_str())
        );
        let event_back = parse_event(&documents[1]).expect("event");
        assert_eq!(event_back.title, typed("événement"));
        let call_back = parse_call(&documents[2]).expect("call");
        assert_eq!(call_back.how_to_answer, typed("répondre"));
        assert_eq!(
            call_back.description.map(|d| d.source).as_deref(),
            Some(DESCRIPTION)
        );

        // The pole: its name is text (Mastodon and Mobilizon show an actor's name as text);
        // its summary and profile fields are safe HTML, its abstract escaped.
        let group = document(&server, &server.url("/poles/redon")).await;
        assert_eq!(group["name"], typed("pôle"));
        safe_html(
            "pole summary",
            group["summary"].as_str().unwrap_or_default(),
        );
        assert!(
            group["summary"].as_str().is_some_and(
                |s| s.contains("&lt;b&gt;gras&lt;/b&gt;") && s.contains("Un <b>vrai</b> texte")
            ),
            "[{}] {group}",
            db.label
        );
        for field in group["attachment"].as_array().into_iter().flatten() {
            safe_html("pole field", field["value"].as_str().unwrap_or_default());
        }
        assert_eq!(group["abstract"], escape_html(&typed("résumé du pôle")));
        let (pole_back, _) =
            maillage::federation::objects::group::parse_pole(&group).expect("pole");
        assert_eq!(
            pole_back.summary.as_deref(),
            Some(typed("résumé du pôle").as_str())
        );
        assert_eq!(pole_back.name, typed("pôle"));

        server.stop().await;
        db.drop_now().await;
    }
}

/// A change of a pole that leaves its `Group` document as it was (a setting that is not in
/// it) sends no `Update`; one that changes it sends one.
#[tokio::test]
async fn a_pole_update_goes_out_only_when_its_document_changed() {
    for db in TestDb::all().await {
        let peers = Peers::start(1).await;
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let pole_input: maillage::domain::PoleInput =
            input(json!({"slug": "redon", "name": "Pôle Redon"}));
        let pole = store
            .create_pole(&pole_input.validate().expect("pole"))
            .await
            .expect("create pole");
        add_followers(
            store,
            &pole,
            [format!("http://127.0.0.1:{}/users/a/inbox", peers.ports[0])],
        )
        .await;
        let published = || async {
            store
                .unfederated_changes(10)
                .await
                .is_ok_and(|c| c.is_empty())
                && store
                    .queue_state()
                    .await
                    .is_ok_and(|s| s.iter().all(|d| d.pending == 0))
        };
        let updates = || {
            peers
                .received()
                .keys()
                .filter(|r| r.activity.starts_with(&format!("{}#update", pole.ap_id)))
                .count()
        };
        eventually("the pole's creation published", published).await;

        let mut quiet = pole.pole.clone();
        quiet.replies_need_approval = !quiet.replies_need_approval;
        store.update_pole("redon", &quiet).await.expect("update");
        eventually("the setting's change published", published).await;
        assert_eq!(
            updates(),
            0,
            "[{}] nothing in the document changed",
            db.label
        );

        let mut renamed = quiet.clone();
        renamed.name = "Pôle du pays de Redon".into();
        store.update_pole("redon", &renamed).await.expect("update");
        eventually("the rename delivered", || async { updates() == 1 }).await;
        assert_eq!(updates(), 1, "[{}]", db.label);

        server.stop().await;
        db.drop_now().await;
    }
}

/// NodeInfo dates the last publication (a project, event or call created, changed or
/// deleted), not the last profile edit.
#[tokio::test]
async fn nodeinfo_dates_the_last_publication() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        let last_activity = || async {
            let (_, body) = get(&server, &server.url("/nodeinfo/2.1"), "application/json").await;
            let info: Value = serde_json::from_str(&body).expect("NodeInfo");
            info["metadata"]["lastActivity"].clone()
        };
        let pole_input: maillage::domain::PoleInput =
            input(json!({"slug": "redon", "name": "Pôle Redon"}));
        let pole = server
            .store
            .create_pole(&pole_input.validate().expect("pole"))
            .await
            .expect("create pole");
        assert_eq!(
            last_activity().await,
            Value::Null,
            "[{}] nothing published yet",
            db.label
        );
        let project: maillage::domain::ProjectInput = input(json!({"title": "Parc éolien"}));
        let before = chrono::Utc::now();
        server
            .store
            .create_project(pole.id, &project.validate().expect("project"))
            .await
            .expect("project");
        let published = last_activity().await;
        let at: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(published.clone()).expect("a date");
        assert!(
            at >= before - chrono::Duration::seconds(1),
            "[{}] {published}",
            db.label
        );

        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let mut renamed = pole.pole.clone();
        renamed.name = "Pôle du pays de Redon".into();
        server
            .store
            .update_pole("redon", &renamed)
            .await
            .expect("update");
        assert_eq!(
            last_activity().await,
            published,
            "[{}] a profile edit is no publication",
            db.label
        );

        server.stop().await;
        db.drop_now().await;
    }
}

fn has_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(has_null),
        Value::Object(map) => map.values().any(has_null),
        _ => false,
    }
}

/// WebFinger leaves out what has no value (no `"template": null`).
#[tokio::test]
async fn webfinger_has_no_nulls() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db).await;
    let pole_input: maillage::domain::PoleInput =
        input(json!({"slug": "redon", "name": "Pôle Redon"}));
    server
        .store
        .create_pole(&pole_input.validate().expect("pole"))
        .await
        .expect("create pole");
    for resource in [
        format!("acct:redon@{}", server.host()),
        format!("acct:relay@{}", server.host()),
    ] {
        let (status, body) = get(
            &server,
            &server.url(&format!("/.well-known/webfinger?resource={resource}")),
            "application/jrd+json",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let jrd: Value = serde_json::from_str(&body).expect("JRD");
        assert!(!has_null(&jrd), "{resource}: {jrd:#}");
        assert!(
            jrd["links"]
                .as_array()
                .is_some_and(|l| l.iter().any(|l| l["rel"] == "self" && l["type"] == AP)),
            "{jrd:#}"
        );
    }
    server.stop().await;
    db.drop_now().await;
}
