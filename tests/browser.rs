//! The web interface in a real browser: Chromium driven by `tests/browser/run.mjs`
//! (playwright-core, axe-core), against a real server on SQLite and PostgreSQL.
//!
//! Runs only when `MAILLAGE_TEST_BROWSER=1`: it needs Node.js and npm (`npm ci` installs
//! the pinned packages the first time) and Chromium (installed with
//! `apt-get install -y chromium` when `/usr/bin/chromium` is missing). Screenshots go to
//! `target/browser-artifacts/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TestDb, TestServer};
use maillage::store::Role;
use serde_json::{Value, json};

const BROWSER_ENV: &str = "MAILLAGE_TEST_BROWSER";
const CHROMIUM: &str = "/usr/bin/chromium";
const PASSWORD: &str = "correct horse battery staple";

fn script_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn run(command: &mut Command, what: &str) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(status.success(), "{what} failed: {status}");
}

/// Chromium from the distribution, and the pinned npm packages.
fn prepare() {
    if !Path::new(CHROMIUM).exists() {
        run(
            Command::new("apt-get").args(["install", "-y", "chromium"]),
            "apt-get install -y chromium",
        );
    }
    let dir = script_dir();
    let installed = dir.join("node_modules/.package-lock.json");
    let fresh = match (
        std::fs::metadata(&installed),
        std::fs::metadata(dir.join("package-lock.json")),
    ) {
        (Ok(i), Ok(w)) => match (i.modified(), w.modified()) {
            (Ok(i), Ok(w)) => i >= w,
            _ => false,
        },
        _ => false,
    };
    if !fresh {
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir),
            "npm ci in tests/browser",
        );
    }
}

async fn api(server: &TestServer, path: &str, body: Value) {
    let res = server
        .client
        .post(server.url(path))
        .bearer_auth(&server.admin_token)
        .json(&body)
        .send()
        .await
        .expect("api");
    assert!(res.status().is_success(), "{path}: {}", res.status());
}

async fn person(server: &TestServer, name: &str, role: Role) -> i64 {
    let hash = maillage::auth::hash_password(PASSWORD).expect("hash");
    server
        .store
        .create_user(name, None, Some(hash), role)
        .await
        .expect("user")
        .id
}

async fn setup(server: &TestServer) {
    api(server, "/api/v1/poles", json!({
        "slug": "ptce-rhone", "name": "PTCE Rhône Solidaire", "summary": "Coopérer à Villeurbanne",
        "territory": {"communes": ["69266"]}, "themes": ["agriculture-food"], "pooling": ["premises"],
        "shared_place": {"name": "La Fabrique", "commune": "69266", "latitude": 45.77, "longitude": 4.88}})).await;
    api(
        server,
        "/api/v1/poles",
        json!({
        "slug": "ptce-breizh", "name": "Pôle Breizh Coop", "summary": "Coopérer à Rennes",
        "territory": {"communes": ["35238"]}}),
    )
    .await;
    api(
        server,
        "/api/v1/poles/ptce-rhone/members",
        json!({"name": "Jardins de Cocagne", "legal_form": "association"}),
    )
    .await;
    api(server, "/api/v1/poles/ptce-rhone/events", json!({
        "title": "Marché des producteurs", "summary": "Producteurs du coin",
        "starts_at": "2030-05-04T09:00", "ends_at": "2030-05-04T13:00",
        "place": {"name": "Place Lazare-Goujon", "commune": "69266", "latitude": 45.766, "longitude": 4.879}})).await;
    person(server, "webadmin", Role::Admin).await;
    let editor = person(server, "editrice", Role::Editor).await;
    let pole = server.store.pole("ptce-rhone").await.expect("pole");
    server
        .store
        .grant_pole(editor, pole.id)
        .await
        .expect("grant");
    // An instance waiting for approval to follow this one, for the federation page.
    let peer = server
        .store
        .upsert_remote_actor(&maillage::store::NewRemoteActor {
            ap_id: "https://peer.example/actor".into(),
            kind: "Application".into(),
            username: Some("relay".into()),
            name: Some("Instance voisine".into()),
            domain: "peer.example".into(),
            inbox: "https://peer.example/inbox".into(),
            shared_inbox: None,
            key_id: None,
            public_key_pem: None,
            url: None,
        })
        .await
        .expect("peer");
    server
        .store
        .add_follower(
            &server.url("/actor"),
            None,
            peer.id,
            "https://peer.example/activities/follow",
            "pending",
        )
        .await
        .expect("pending follower");
}

#[tokio::test]
#[ignore = "needs MAILLAGE_TEST_BROWSER=1 (Chromium from apt, playwright-core from npm)"]
async fn a_real_browser_goes_through_the_interface() {
    assert!(
        std::env::var(BROWSER_ENV).is_ok_and(|v| v.trim() == "1"),
        "this test installs Chromium (apt-get) and playwright-core (npm): run it with {BROWSER_ENV}=1"
    );
    common::init_logs();
    common::install_tls_provider();
    prepare();
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    for db in TestDb::all().await {
        // Map tiles would come from the internet: point them at a closed loopback port.
        let server = TestServer::start_on(&db, 0, |config| {
            config.web.tile_url = "http://127.0.0.1:9/{z}/{x}/{y}.png".into();
        })
        .await;
        setup(&server).await;
        let base = server.base.clone();
        let dir = script_dir();
        let label = db.label;
        let artifacts = artifacts.clone();
        let status = tokio::task::spawn_blocking(move || {
            Command::new("node")
                .arg("run.mjs")
                .current_dir(dir)
                .env("BASE_URL", base)
                .env("ARTIFACTS", artifacts)
                .env("DB_LABEL", label)
                .env("ADMIN_USER", "webadmin")
                .env("ADMIN_PASSWORD", PASSWORD)
                .env("EDITOR_USER", "editrice")
                .env("EDITOR_PASSWORD", PASSWORD)
                .env("CHROMIUM", CHROMIUM)
                .status()
        })
        .await
        .expect("join")
        .expect("run node");
        server.stop().await;
        db.drop_now().await;
        assert!(
            status.success(),
            "[{label}] browser scenarios failed (see the output above)"
        );
    }
}
