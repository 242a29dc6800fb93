//! Test support: fresh databases on SQLite and, when configured, PostgreSQL; servers on loopback.
#![allow(dead_code)]

pub mod cases;
pub mod fedify;
pub mod python;
pub mod scenario;
pub mod smtp;
pub mod stand_ins;
pub mod tls;
pub mod visitor;

use std::sync::atomic::{AtomicU32, Ordering};

use maillage::config::Config;
use maillage::store::{Role, Store};
use maillage::web::{AppState, router};
use sea_orm::{ConnectionTrait, Database};
use std::future::Future;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The PostgreSQL server used for tests, e.g. `postgres://postgres@127.0.0.1:5432/maillage_test`.
pub const POSTGRES_ENV: &str = "MAILLAGE_TEST_POSTGRES";

/// A database that exists for one test and is removed afterwards.
pub struct TestDb {
    pub url: String,
    pub label: &'static str,
    _dir: Option<tempfile::TempDir>,
    pg_drop: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("maillage.db").display());
        TestDb {
            url,
            label: "sqlite",
            _dir: Some(dir),
            pg_drop: None,
        }
    }

    /// A new, empty PostgreSQL database, or `None` when no server is configured.
    pub async fn postgres() -> Option<TestDb> {
        let base = std::env::var(POSTGRES_ENV).ok()?;
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "maillage_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let admin = Database::connect(&base)
            .await
            .expect("connect to the test PostgreSQL server");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create a test database");
        admin.close().await.ok();
        let (prefix, _) = base
            .rsplit_once('/')
            .expect("a PostgreSQL URL ends with /database");
        Some(TestDb {
            url: format!("{prefix}/{name}"),
            label: "postgres",
            _dir: None,
            pg_drop: Some((base, name)),
        })
    }

    /// SQLite always; PostgreSQL too when `MAILLAGE_TEST_POSTGRES` is set.
    pub async fn all() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite()];
        match TestDb::postgres().await {
            Some(pg) => dbs.push(pg),
            None => eprintln!("{POSTGRES_ENV} is not set: PostgreSQL part skipped"),
        }
        dbs
    }

    pub fn config(&self) -> Config {
        let mut config = Config::default();
        config.database.url = self.url.clone();
        config.database.max_connections = 4;
        config
    }

    pub async fn drop_now(mut self) {
        if let Some((base, name)) = self.pg_drop.take()
            && let Ok(admin) = Database::connect(&base).await
        {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            let _ = admin.close().await;
        }
    }
}

/// A migrated store on a fresh database.
pub async fn store(db: &TestDb) -> Store {
    let store = Store::connect(&db.config()).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
}

/// A server on a loopback port, with an administrator's token and its federation workers.
/// Federation runs in development mode (loopback peers over http) with one-second retries.
pub struct TestServer {
    pub base: String,
    pub port: u16,
    pub store: Store,
    pub admin_token: String,
    pub client: reqwest::Client,
    /// What the server's handlers share (its settings, its bound on password checks…).
    pub state: AppState,
    task: tokio::task::JoinHandle<()>,
    background: Option<maillage::web::Background>,
}

impl TestServer {
    pub async fn start(db: &TestDb) -> TestServer {
        Self::start_on(db, 0, |_| {}).await
    }

    /// Starts on `port` (0: any free port), with the configuration adjusted by `adjust`.
    pub async fn start_on(db: &TestDb, port: u16, adjust: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_as(db, "127.0.0.1", port, adjust).await
    }

    /// Starts on 127.0.0.1 and `port`, known by the host `name` (a name under `localhost`,
    /// which resolves to loopback, or an address), with the configuration adjusted by `adjust`.
    pub async fn start_as(
        db: &TestDb,
        name: &str,
        port: u16,
        adjust: impl FnOnce(&mut Config),
    ) -> TestServer {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let port = address.port();
        let mut config = db.config();
        config.public_url = format!("http://{name}:{port}");
        config.listen = format!("127.0.0.1:{port}");
        config.uploads.max_bytes = 64 * 1024;
        config.federation.development_mode = true;
        config.federation.retry_base_seconds = 1;
        adjust(&mut config);
        install_tls_provider();
        // The name is this server's whatever the system resolver says of it.
        let client = reqwest::Client::builder()
            .resolve(name, address)
            .build()
            .expect("an HTTP client");
        Self::launch(
            config,
            format!("http://{name}:{port}"),
            client,
            |app| async move {
                axum::serve(listener, app).await.expect("serve");
            },
        )
        .await
    }

    /// Migrates the database, makes sure of an administrator's token, and runs `serve` with
    /// the application and the federation workers; the server is known as `base` and called
    /// with `client`.
    pub async fn launch<F, Fut>(
        config: Config,
        base: String,
        client: reqwest::Client,
        serve: F,
    ) -> TestServer
    where
        F: FnOnce(axum::Router) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let port = url::Url::parse(&base)
            .ok()
            .and_then(|u| u.port_or_known_default())
            .expect("a base URL with a port");
        let store = Store::connect(&config).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
            .ensure_instance("Maillage test")
            .await
            .expect("instance");
        let admin_token = match store.user_by_username("admin").await.expect("users") {
            Some(user) => {
                let token = maillage::auth::new_token();
                store
                    .create_token(user.id, "tests", &token.prefix, &token.hash)
                    .await
                    .expect("token");
                token.token
            }
            None => issue_token(&store, "admin", Role::Admin).await,
        };
        let state = AppState::new(store.clone(), config).expect("federation set up");
        let background = maillage::web::Background::start(&state);
        let app = router(state.clone());
        let task = tokio::spawn(serve(app));
        TestServer {
            base,
            port,
            store,
            admin_token,
            state,
            client,
            task,
            background: Some(background),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `name:port`, the domain of this instance.
    pub fn host(&self) -> String {
        let base = self.base.as_str();
        base.strip_prefix("https://")
            .or_else(|| base.strip_prefix("http://"))
            .unwrap_or(base)
            .to_owned()
    }

    /// Stops cleanly: deliveries in flight are handed back to the queue.
    pub async fn stop(mut self) {
        if let Some(background) = self.background.take() {
            background.stop().await;
        }
        self.task.abort();
        let _ = self.task.await;
        let _ = self.store.close().await;
    }

    /// Stops at once, as a crash would: nothing is handed back.
    pub async fn kill(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
        if let Some(background) = self.background.take() {
            background.abort();
        }
        let _ = self.store.close().await;
    }
}

/// Creates a person and gives back a fresh token of theirs.
pub async fn issue_token(store: &Store, username: &str, role: Role) -> String {
    let user = store
        .create_user(username, None, None, role)
        .await
        .expect("create user");
    let token = maillage::auth::new_token();
    store
        .create_token(user.id, "tests", &token.prefix, &token.hash)
        .await
        .expect("token");
    token.token
}

/// Shows the servers' logs in test output when `RUST_LOG` is set (e.g. `RUST_LOG=maillage=debug`).
pub fn init_logs() {
    if let Ok(filter) = std::env::var("RUST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

/// The TLS provider HTTP clients need (the project's uses ring); idempotent.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

// --- calls to a test server's API ---------------------------------------------------------

pub async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = server
        .client
        .request(method, server.url(path))
        .bearer_auth(&server.admin_token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn ok(server: &TestServer, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, value) = call(server, method.clone(), path, body).await;
    assert!(status.is_success(), "{method} {path}: {status} {value}");
    value
}

/// The titles of a pole's objects of one kind as `server` knows them; empty if it does not
/// know the pole.
pub async fn titles(server: &TestServer, handle: &str, collection: &str) -> Vec<String> {
    let (status, page) = call(
        server,
        Method::GET,
        &format!("/api/v1/poles/{handle}/{collection}?per_page=100"),
        None,
    )
    .await;
    if status != StatusCode::OK {
        return Vec::new();
    }
    item_titles(&page)
}

/// The titles of a page of items, sorted.
pub fn item_titles(page: &Value) -> Vec<String> {
    let mut titles: Vec<String> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["title"].as_str().map(str::to_owned))
        .collect();
    titles.sort();
    titles
}

/// Waits until `check` holds, up to 30 seconds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// POSTs an activity signed with `private_key_pem`, as another server would.
pub async fn post_signed(
    server: &TestServer,
    path: &str,
    activity: &Value,
    key_id: &str,
    private_key_pem: &str,
) -> StatusCode {
    let body = serde_json::to_vec(activity).expect("json");
    let url = url::Url::parse(&server.url(path)).expect("url");
    let headers = maillage::federation::signatures::sign_post(
        &url,
        &body,
        key_id,
        private_key_pem,
        std::time::SystemTime::now(),
    )
    .expect("sign");
    let mut request = server
        .client
        .post(url)
        .header("content-type", "application/activity+json")
        .body(body);
    for (name, value) in headers {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    request.send().await.expect("post").status()
}

/// Runs `maillage refresh` against `server`'s database, as an administrator would.
pub async fn refresh(server: &TestServer, db: &TestDb, older_than: &str) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_maillage"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MAILLAGE_") {
            command.env_remove(&name);
        }
    }
    command
        .args(["refresh", "--older-than", older_than])
        .env("MAILLAGE_DATABASE_URL", &db.url)
        .env("MAILLAGE_PUBLIC_URL", &server.base)
        .env("MAILLAGE_FEDERATION_DEVELOPMENT_MODE", "true")
        .env("MAILLAGE_LOG_FILTER", "warn");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("run maillage refresh");
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The number a `SELECT COUNT(*) …` statement gives.
pub async fn count(store: &Store, sql: &str) -> i64 {
    let db = store.connection();
    db.query_one_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        sql,
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
    .and_then(|row| row.try_get_by_index::<i64>(0).ok())
    .unwrap_or_else(|| panic!("{sql}: no count"))
}

/// The rows of `table`.
pub async fn count_rows(store: &Store, table: &str) -> i64 {
    count(store, &format!("SELECT COUNT(*) FROM {table}")).await
}

/// A PNG of one pixel.
pub const PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];
