//! One pole exported as an archive and imported on another instance, on SQLite and
//! PostgreSQL: everything it holds arrives, checked again; an invalid archive creates
//! nothing.

mod common;

use common::{PIXEL_PNG, TestDb, TestServer, ok};
use maillage::archive::{self, ArchiveError};
use maillage::store::{PageRequest, Store};
use reqwest::Method;
use serde_json::json;

const ALL: PageRequest = PageRequest {
    page: 1,
    per_page: 100,
};

/// A pole with a logo, two members, a project with a partner, an event co-organised with
/// another pole of the same instance, and a call.
async fn source(server: &TestServer) {
    for slug in ["redon", "voisin"] {
        ok(
            server,
            Method::POST,
            "/api/v1/poles",
            Some(json!({
                "slug": slug, "name": format!("Pôle {slug}"), "summary": "Coopérer",
                "territory": {"communes": ["35236"], "kind": "rural"},
                "themes": ["renewable-energy"], "pooling": ["premises"],
                "shared_place": {"name": "La Maison", "commune": "35236"}
            })),
        )
        .await;
    }
    let logo = server
        .client
        .put(server.url("/api/v1/poles/redon/logo"))
        .bearer_auth(&server.admin_token)
        .header("content-type", "image/png")
        .body(PIXEL_PNG.to_vec())
        .send()
        .await
        .expect("logo");
    assert!(logo.status().is_success(), "{}", logo.status());
    let mut partner = 0;
    for name in ["La Légumerie", "Énergies citoyennes"] {
        let member = ok(
            server,
            Method::POST,
            "/api/v1/poles/redon/members",
            Some(json!({"name": name, "legal_form": "association", "role": "Fondatrice"})),
        )
        .await;
        partner = member["id"].as_i64().expect("id");
    }
    ok(
        server,
        Method::POST,
        "/api/v1/poles/redon/projects",
        Some(
            json!({"title": "Légumerie partagée", "partner_member_ids": [partner],
                    "themes": ["agriculture-food"], "start_date": "2026-01-15"}),
        ),
    )
    .await;
    ok(
        server,
        Method::POST,
        "/api/v1/poles/redon/events",
        Some(
            json!({"title": "Portes ouvertes", "starts_at": "2038-03-05T14:00",
                    "organiser_poles": ["voisin"], "themes": ["renewable-energy"],
                    "place": {"name": "La Maison", "commune": "35236"}}),
        ),
    )
    .await;
    ok(
        server,
        Method::POST,
        "/api/v1/poles/redon/calls",
        Some(json!({"title": "Cherche chambre froide", "direction": "seeking",
                    "subjects": ["equipment"], "how_to_answer": "Écrire à contact@redon.example.org"})),
    )
    .await;
}

/// Another instance on its own database, known by another address.
async fn other_instance(label: &str) -> (TestDb, Store) {
    let db = match label {
        "postgres" => TestDb::postgres().await.expect("postgres"),
        _ => TestDb::sqlite(),
    };
    let mut config = db.config();
    config.public_url = "https://autre.example".into();
    let store = Store::connect(&config).await.expect("connect");
    store.migrate().await.expect("migrate");
    (db, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pole_moves_to_another_instance_with_everything_it_holds() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let a = TestServer::start(&db).await;
        source(&a).await;
        let exported = archive::export(&a.store, "redon").await.expect("export");
        // Through its JSON, as the file carries it.
        let text = serde_json::to_string_pretty(&exported).expect("json");
        let parsed = archive::parse(&text).expect("parse");

        let (b_db, b) = other_instance(label).await;
        let imported = archive::import(&b, parsed.clone(), None, 1 << 20)
            .await
            .unwrap_or_else(|e| panic!("[{label}] import: {e}"));
        assert_eq!(
            imported.ap_id, "https://autre.example/poles/redon",
            "[{label}]"
        );
        assert_eq!(imported.left_out_organisers, vec!["voisin"], "[{label}]");

        let before = a.store.pole("redon").await.expect("pole");
        let after = b.pole("redon").await.expect("the imported pole");
        assert!(after.local, "[{label}] a local pole of its new instance");
        assert_eq!(after.pole, before.pole, "[{label}] the same profile");
        let (_, logo) = b
            .media(&after.logo.as_ref().expect("a logo").sha256)
            .await
            .expect("logo");
        assert_eq!(logo, PIXEL_PNG, "[{label}]");
        let keys_a = a.store.pole_keys(before.id).await.expect("keys");
        let keys_b = b.pole_keys(after.id).await.expect("keys");
        assert_eq!(
            keys_a.public_key, keys_b.public_key,
            "[{label}] the same keys"
        );
        assert_eq!(keys_a.private_key, keys_b.private_key, "[{label}]");

        let members = b.all_members(after.id).await.expect("members");
        let mut names: Vec<&str> = members.iter().map(|m| m.member.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            vec!["La Légumerie", "Énergies citoyennes"],
            "[{label}]"
        );
        let projects = b
            .list_projects(after.id, ALL)
            .await
            .expect("projects")
            .items;
        assert_eq!(projects.len(), 1, "[{label}]");
        let partner = projects[0].data.partner_member_ids.clone();
        assert_eq!(partner.len(), 1, "[{label}]");
        let partner = members
            .iter()
            .find(|m| m.id == partner[0])
            .expect("a member here");
        assert_eq!(
            partner.member.name, "Énergies citoyennes",
            "[{label}] the partner kept"
        );
        assert!(
            projects[0]
                .ap_id
                .starts_with("https://autre.example/projects/"),
            "[{label}]"
        );
        let events = b.list_events(after.id, ALL).await.expect("events").items;
        assert_eq!(events.len(), 1, "[{label}]");
        assert!(events[0].data.organiser_poles.is_empty(), "[{label}]");
        assert_eq!(events[0].data.themes.len(), 1, "[{label}]");
        let calls = b.list_calls(after.id, ALL).await.expect("calls").items;
        assert_eq!(
            calls[0].data.how_to_answer, "Écrire à contact@redon.example.org",
            "[{label}]"
        );
        let found = b
            .search_directory(&maillage::store::DirectoryQuery {
                q: Some("légumerie".into()),
                per_page: 10,
                ..Default::default()
            })
            .await
            .expect("search");
        assert!(
            found.items.iter().any(|h| h.ap_id == projects[0].ap_id),
            "[{label}] the project in the new instance's directory"
        );
        // Once is enough; under another slug, a second copy.
        let again = archive::import(&b, parsed.clone(), None, 1 << 20).await;
        assert!(
            matches!(again, Err(ArchiveError::Exists(_))),
            "[{label}] {again:?}"
        );
        let copy = archive::import(&b, parsed, Some("redon-bis"), 1 << 20)
            .await
            .expect("under another slug");
        assert_eq!(copy.slug, "redon-bis");

        b.close().await.expect("close");
        b_db.drop_now().await;
        a.stop().await;
        db.drop_now().await;
    }
}

/// An archive with invalid values names each of them and creates nothing; a file that is
/// not an archive is refused as such.
#[tokio::test]
async fn an_invalid_archive_creates_nothing() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db).await;
    source(&server).await;
    let exported = archive::export(&server.store, "redon")
        .await
        .expect("export");
    server.stop().await;

    let mut value = serde_json::to_value(&exported).expect("json");
    value["members"][1]["member"]["siret"] = json!("12345678901234");
    value["projects"][0]["partner_member_ids"] = json!([999]);
    value["logo"]["data"] = json!("pas du base64 !");
    let archive = archive::parse(&value.to_string()).expect("an archive");
    let (b_db, b) = other_instance("sqlite").await;
    let refused = archive::import(&b, archive, None, 1 << 20).await;
    let Err(ArchiveError::Invalid(errors)) = refused else {
        panic!("{refused:?}")
    };
    let fields = errors.fields();
    for field in [
        "logo",
        "members[1].siret",
        "projects[0].partner_member_ids[0]",
    ] {
        assert!(fields.contains(&field), "{field} not in {fields:?}");
    }
    assert!(b.pole("redon").await.is_err(), "nothing created");

    for text in [
        "{}",
        "[1, 2]",
        "pas du json",
        r#"{"format": "maillage.pole-archive", "version": 9}"#,
    ] {
        assert!(
            matches!(archive::parse(text), Err(ArchiveError::Format(_))),
            "{text}"
        );
    }
    b.close().await.expect("close");
    b_db.drop_now().await;
}
