//! Projects, events and calls as ActivityPub objects, and how a Mastodon follower sees them.

mod common;

use common::{TestDb, TestServer};
use maillage::domain::{CallInput, EventInput, PoleInput, ProjectInput};
use reqwest::StatusCode;
use serde_json::{Value, json};

const AP: &str = "application/activity+json";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// What Mastodon (4.x) keeps of an object it receives, after `ActivityPub::Activity` and its
/// status parser: `Note` and `Question` show their `content`, with `summary` as a content
/// warning that hides it; `Image`, `Audio`, `Video`, `Article`, `Page` and `Event` are
/// "converted": the status is the `name` as a heading, the `summary`, and a link to the
/// `url` (or the `id`), and `content` is dropped. Other types are not shown at all.
struct MastodonStatus {
    text: String,
    content_warning: Option<String>,
    public: bool,
}

fn as_str(value: &Value) -> Option<String> {
    value.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

fn mastodon_status(object: &Value) -> Option<MastodonStatus> {
    let kind = object["type"].as_str()?;
    let public = object["to"]
        .as_array()
        .is_some_and(|to| to.iter().any(|t| t == PUBLIC));
    match kind {
        "Note" | "Question" => Some(MastodonStatus {
            text: as_str(&object["content"]).unwrap_or_default(),
            content_warning: as_str(&object["summary"]),
            public,
        }),
        "Image" | "Audio" | "Video" | "Article" | "Page" | "Event" => {
            let link = as_str(&object["url"]).or_else(|| as_str(&object["id"]))?;
            let parts: Vec<String> = [
                as_str(&object["name"]).map(|n| format!("<h2>{n}</h2>")),
                as_str(&object["summary"]),
                Some(format!("<a href=\"{link}\">{link}</a>")),
            ]
            .into_iter()
            .flatten()
            .collect();
            Some(MastodonStatus {
                text: parts.join("\n\n"),
                content_warning: None,
                public,
            })
        }
        _ => None,
    }
}

/// The text a reader sees: tags removed (a space for those that break a line), entities
/// decoded.
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut tag: Option<String> = None;
    for c in html.chars() {
        match (c, &mut tag) {
            ('<', None) => tag = Some(String::new()),
            ('>', Some(name)) => {
                let name = name.trim_start_matches('/');
                let name = name.split_whitespace().next().unwrap_or_default();
                if !matches!(name, "a" | "span" | "strong" | "b" | "em" | "i") {
                    out.push(' ');
                }
                tag = None;
            }
            (_, Some(name)) => name.push(c),
            (_, None) => out.push(c),
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
}

async fn fetch(server: &TestServer, url: &str, accept: &str) -> (StatusCode, Value, String) {
    let res = server
        .client
        .get(url)
        .header("accept", accept)
        .send()
        .await
        .expect("request");
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = res.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        content_type,
    )
}

fn input<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("input")
}

#[tokio::test]
async fn objects_read_well_on_mastodon_and_carry_their_data() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let pole_input: PoleInput = input(json!({"slug": "redon", "name": "Pôle Redon"}));
        let pole = store
            .create_pole(&pole_input.validate().expect("pole"))
            .await
            .expect("create pole");
        let other: PoleInput = input(json!({"slug": "voisin", "name": "Voisin"}));
        store
            .create_pole(&other.validate().expect("pole"))
            .await
            .expect("create pole");

        let project: ProjectInput = input(json!({
            "title": "Parc éolien citoyen", "summary": "Quatre éoliennes détenues par les habitants",
            "status": "in-progress", "themes": ["renewable-energy"], "start_date": "2012-01-01"
        }));
        let project = store
            .create_project(pole.id, &project.validate().expect("project"))
            .await
            .expect("create");
        let event: EventInput = input(json!({
            "title": "Marché solidaire", "summary": "Producteurs et artisans du pays",
            "starts_at": "2038-12-04T14:00", "ends_at": "2038-12-04T18:00",
            "place": {"name": "La Halle", "street": "Quai Surcouf", "postal_code": "35600", "commune": "35236", "latitude": 47.65, "longitude": -2.08},
            "online_url": "https://visio.example.org/marche", "organiser_poles": ["voisin"],
            "registration_url": "https://billets.example.org/marche", "capacity": 200
        }));
        let event = store
            .create_event(pole.id, &event.validate().expect("event"))
            .await
            .expect("create");
        let call: CallInput = input(json!({
            "title": "Recherche un local de stockage", "direction": "seeking", "subjects": ["premises"],
            "themes": ["circular-economy"], "deadline": "2038-01-31", "how_to_answer": "Écrire à contact@ptce.example.org"
        }));
        let call = store
            .create_call(pole.id, &call.validate().expect("call"))
            .await
            .expect("create");

        // A project: a Note, shown in full, with its title, status, link and hashtag.
        let (status, note, content_type) = fetch(&server, &project.ap_id, AP).await;
        assert_eq!(status, StatusCode::OK, "[{}] {note}", db.label);
        assert!(content_type.starts_with(AP));
        assert_eq!(note["type"], "Note");
        assert_eq!(note["id"], project.ap_id);
        assert_eq!(note["attributedTo"], pole.ap_id);
        assert_eq!(note["cc"], json!([format!("{}/followers", pole.ap_id)]));
        assert_eq!(note["tag"][0]["type"], "Hashtag");
        assert_eq!(note["tag"][0]["name"], "#EnergiesRenouvelables");
        assert_eq!(note["ptceKind"], "project");
        let seen = mastodon_status(&note).expect("Mastodon shows notes");
        assert!(
            seen.public && seen.content_warning.is_none(),
            "nothing hidden behind a content warning"
        );
        let text = visible(&seen.text);
        for expected in [
            "Parc éolien citoyen",
            "Quatre éoliennes",
            "En cours",
            "depuis le dimanche 1er janvier 2012",
            &project.ap_id,
            "#EnergiesRenouvelables",
        ] {
            assert!(
                text.contains(expected),
                "[{}] `{expected}` is visible in: {text}",
                db.label
            );
        }

        // An event: FEP-8a8e, and Mastodon's converted rendering shows the dates and the place.
        let (status, ev, _) = fetch(
            &server,
            &event.ap_id,
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{ev}");
        assert_eq!(ev["type"], "Event");
        assert_eq!(ev["name"], "Marché solidaire");
        assert_eq!(ev["startTime"], "2038-12-04T14:00:00+01:00");
        assert_eq!(ev["endTime"], "2038-12-04T18:00:00+01:00");
        assert_eq!(ev["timezone"], "Europe/Paris");
        // One `Place`, not a list (Mobilizon reads no list); the online link as Mobilizon's
        // online address.
        assert_eq!(ev["location"]["type"], "Place");
        assert_eq!(ev["location"]["address"]["addressLocality"], "Redon");
        let online = &ev["attachment"][0];
        assert_eq!(online["type"], "Link", "{ev}");
        assert_eq!(online["name"], "Website");
        assert!(
            online["href"]
                .as_str()
                .is_some_and(|h| h.starts_with("https://")),
            "{ev}"
        );
        assert_eq!(
            ev["organizer"],
            json!([pole.ap_id, server.url("/poles/voisin")])
        );
        assert_eq!(ev["maximumAttendeeCapacity"], 200);
        let seen = mastodon_status(&ev).expect("Mastodon converts events");
        let text = visible(&seen.text);
        for expected in [
            "Marché solidaire",
            "samedi 4 décembre 2038, 14 h – 18 h",
            "La Halle, Quai Surcouf, 35600 Redon",
            "https://visio.example.org/marche",
            "Inscription",
            &event.ap_id,
        ] {
            assert!(
                text.contains(expected),
                "[{}] `{expected}` is visible in: {text}",
                db.label
            );
        }

        // A call: the deadline and how to answer are in the note.
        let (_, call_note, _) = fetch(&server, &call.ap_id, AP).await;
        assert_eq!(call_note["type"], "Note");
        assert_eq!(call_note["ptceKind"], "call");
        assert_eq!(call_note["deadline"], "2038-01-31");
        let text = visible(&mastodon_status(&call_note).expect("shown").text);
        for expected in [
            "Recherche un local de stockage",
            "Recherche : locaux",
            "réponse avant le dimanche 31 janvier 2038",
            "Écrire à contact@ptce.example.org",
            &call.ap_id,
            "#DechetsEtEconomieCirculaire",
        ] {
            assert!(
                text.contains(expected),
                "[{}] `{expected}` is visible in: {text}",
                db.label
            );
        }

        // Browsers get a page; deleted objects are tombstones.
        let (status, page, content_type) = fetch(&server, &event.ap_id, "text/html").await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(
            page.as_str()
                .unwrap_or_default()
                .contains("Marché solidaire")
        );
        store.delete_event(&event.public_id).await.expect("delete");
        let (status, tomb, _) = fetch(&server, &event.ap_id, AP).await;
        assert_eq!(status, StatusCode::GONE);
        assert_eq!(tomb["type"], "Tombstone");
        assert_eq!(tomb["id"], event.ap_id);
        let (status, _, _) = fetch(&server, &server.url("/events/unknown"), AP).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
async fn outbox_is_a_paged_ordered_collection_of_the_history() {
    common::init_logs();
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let pole_input: PoleInput = input(json!({"slug": "redon", "name": "Pôle Redon"}));
        let pole = store
            .create_pole(&pole_input.validate().expect("pole"))
            .await
            .expect("create pole");
        let mut projects = Vec::new();
        for i in 0..22 {
            let project: ProjectInput = input(json!({"title": format!("Projet {i:02}")}));
            projects.push(
                store
                    .create_project(pole.id, &project.validate().expect("project"))
                    .await
                    .expect("create"),
            );
        }
        let changed: ProjectInput = input(json!({"title": "Projet 00, renommé"}));
        store
            .update_project(
                &projects[0].public_id,
                &changed.validate().expect("project"),
            )
            .await
            .expect("update");
        store
            .delete_project(&projects[1].public_id)
            .await
            .expect("delete");

        let outbox_id = format!("{}/outbox", pole.ap_id);
        let (status, outbox, content_type) = fetch(&server, &outbox_id, AP).await;
        assert_eq!(status, StatusCode::OK, "[{}] {outbox}", db.label);
        assert!(content_type.starts_with(AP));
        assert_eq!(outbox["type"], "OrderedCollection");
        assert_eq!(outbox["totalItems"], 24);
        assert_eq!(outbox["first"], format!("{outbox_id}?page=1"));
        assert_eq!(outbox["last"], format!("{outbox_id}?page=2"));

        let (_, first, _) = fetch(&server, &format!("{outbox_id}?page=1"), AP).await;
        assert_eq!(first["type"], "OrderedCollectionPage");
        assert_eq!(first["partOf"], outbox_id);
        assert_eq!(first["next"], format!("{outbox_id}?page=2"));
        let items = first["orderedItems"].as_array().expect("items");
        assert_eq!(items.len(), 20);
        assert_eq!(items[0]["type"], "Delete", "newest first");
        assert_eq!(
            items[0]["object"],
            json!({"id": projects[1].ap_id, "type": "Tombstone"})
        );
        assert_eq!(items[1]["type"], "Update");
        assert_eq!(items[1]["object"]["name"], "Projet 00, renommé");
        assert_eq!(items[2]["type"], "Create");
        assert_eq!(items[2]["object"]["name"], "Projet 21");
        assert!(
            items
                .iter()
                .all(|a| a["actor"] == pole.ap_id && a["to"] == json!([PUBLIC]))
        );
        let ids: std::collections::HashSet<&str> = items
            .iter()
            .map(|a| a["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids.len(), 20, "activity ids are distinct");

        let (status, second, _) = fetch(&server, &format!("{outbox_id}?page=2"), AP).await;
        let items = second["orderedItems"]
            .as_array()
            .unwrap_or_else(|| panic!("[{}] {status} {second}", db.label));
        assert_eq!(items.len(), 4);
        assert_eq!(second["prev"], format!("{outbox_id}?page=1"));
        assert!(second.get("next").is_none());
        let deleted_create = items
            .iter()
            .find(|a| a["object"]["id"] == projects[1].ap_id)
            .expect("create of the deleted project");
        assert_eq!(
            deleted_create["object"]["type"], "Tombstone",
            "a deleted object is never shown again"
        );

        let (status, _, _) = fetch(&server, &format!("{outbox_id}?page=zero"), AP).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, _, _) = fetch(&server, &server.url("/poles/inconnu/outbox"), AP).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        server.stop().await;
        db.drop_now().await;
    }
}

/// However many replies came, a project's page shows the latest hundred, oldest first, and
/// says how many there are; their authors are read at once.
#[tokio::test]
async fn a_page_shows_the_latest_replies_of_many() {
    use maillage::store::{NewRemoteActor, NewReply};
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let store = &server.store;
        let pole_input: PoleInput = input(json!({"slug": "redon", "name": "Pôle Redon"}));
        let pole = store
            .create_pole(&pole_input.validate().expect("pole"))
            .await
            .expect("create pole");
        let project: ProjectInput = input(json!({"title": "Recyclerie"}));
        let project = store
            .create_project(pole.id, &project.validate().expect("project"))
            .await
            .expect("create");
        let object = store
            .local_object(&project.ap_id)
            .await
            .expect("lookup")
            .expect("a local object");
        let mut authors = Vec::new();
        for n in 0..3 {
            let ap_id = format!("https://masto{n}.example/users/a");
            let actor = store
                .upsert_remote_actor(&NewRemoteActor {
                    ap_id: ap_id.clone(),
                    kind: "Person".into(),
                    username: Some(format!("lecteur{n}")),
                    name: Some(format!("Lecteur {n}")),
                    domain: format!("masto{n}.example"),
                    inbox: format!("{ap_id}/inbox"),
                    shared_inbox: None,
                    key_id: Some(format!("{ap_id}#main-key")),
                    public_key_pem: None,
                    url: None,
                })
                .await
                .expect("actor");
            authors.push((ap_id, actor.id));
        }
        let start = chrono::Utc::now() - chrono::Duration::hours(2);
        for n in 0..105 {
            let (ap_id, author_id) = &authors[n % 3];
            store
                .add_reply(&NewReply {
                    ap_id: &format!("{ap_id}/statuses/{n}"),
                    object,
                    author_id: *author_id,
                    content_html: &format!("<p>Réponse numéro {n:03}</p>"),
                    url: None,
                    published_at: start + chrono::Duration::seconds(n as i64),
                    needs_approval: false,
                })
                .await
                .expect("reply");
        }
        let (status, page, _) = fetch(&server, &project.ap_id, "text/html").await;
        assert_eq!(status, StatusCode::OK, "[{label}]");
        let page = page.as_str().expect("HTML").to_owned();
        assert!(page.contains("(105)"), "[{label}] the count of all replies");
        assert!(
            page.contains("100 / 105"),
            "[{label}] says only the latest show"
        );
        assert!(
            !page.contains("numéro 004"),
            "[{label}] the oldest are left out"
        );
        let (first, last) = (
            page.find("numéro 005").expect("the oldest shown"),
            page.find("numéro 104").expect("the latest"),
        );
        assert!(first < last, "[{label}] oldest first");
        for n in 0..3 {
            assert!(
                page.contains(&format!("Lecteur {n}")),
                "[{label}] author {n}"
            );
        }
        // The API's list for the pole's editors still has them all.
        assert_eq!(
            store
                .list_replies(object.kind, object.id, false)
                .await
                .expect("replies")
                .len(),
            105,
            "[{label}]"
        );
        server.stop().await;
        db.drop_now().await;
    }
}
