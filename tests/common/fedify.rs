//! The Fedify peer of `tests/peers/fedify` (Node.js 20, `@fedify/fedify` 1.5.9, with
//! Misskey's signature library as a second verifier): an independent ActivityPub server
//! that the interoperability tests drive through its control API, over plain HTTP on
//! loopback (`tests/interop.rs`) or over HTTPS with a private authority (`tests/https.rs`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;

use super::tls::{self, Ca, InstallLock, Process};

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/fedify")
}

/// `node_modules` was installed by npm from the current `package-lock.json` (not older
/// than it), and holds Fedify.
fn installed(dir: &Path) -> bool {
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    let wanted = modified(&dir.join("package-lock.json"));
    matches!((installed, wanted), (Some(i), Some(w)) if i >= w)
        && dir
            .join("node_modules/@fedify/fedify/package.json")
            .is_file()
}

/// Checks that Node.js 20 or later is there, and installs the peer's pinned packages with
/// `npm ci` when `node_modules` is missing or older than `package-lock.json`.
pub fn prepare() {
    let why = "the Fedify peer needs Node.js 20 or later (node and npm)";
    let version = match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(out) => panic!("`node --version` failed ({}); {why}", out.status),
        Err(e) => panic!("cannot run `node` ({e}); {why}"),
    };
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(major >= 20, "node {version} is too old; {why}");
    let dir = dir();
    if installed(&dir) {
        return;
    }
    let _lock = InstallLock::acquire("fedify-peer-npm-ci.lock");
    // Another test process may have installed it while this one waited for the lock.
    if installed(&dir) {
        return;
    }
    tls::run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir),
        "npm ci in tests/peers/fedify (Node.js 20 and npm are needed)",
    );
    assert!(
        installed(&dir),
        "`npm ci` succeeded but {}/node_modules is still missing or stale",
        dir.display()
    );
}

/// The running peer; stopped when dropped, its log shown when the test fails.
pub struct FedifyPeer {
    pub process: Process,
    pub port: u16,
    /// `http://127.0.0.1:port` or `https://name:port`.
    pub origin: String,
    /// Its one actor, `{origin}/users/peer`.
    pub actor: String,
    _dir: tempfile::TempDir,
}

impl FedifyPeer {
    /// The peer on plain HTTP, as `http://127.0.0.1:port`.
    pub fn start_http() -> FedifyPeer {
        Self::start(|_| {}, None)
    }

    /// The peer on HTTPS as `https://name:port`, with a certificate of `ca` (which it
    /// trusts too), `name` resolving to 127.0.0.1.
    pub fn start_https(ca: &Ca, name: &str) -> FedifyPeer {
        tls::ensure_hosts(&[name]);
        let leaf = ca.issue(&[name]);
        Self::start(
            |command| {
                command
                    .env("PEER_HOST", name)
                    .env("TLS_CERT", &leaf.certificate)
                    .env("TLS_KEY", &leaf.private_key)
                    .env("NODE_EXTRA_CA_CERTS", ca.pem_path());
            },
            Some(name),
        )
    }

    fn start(adjust: impl FnOnce(&mut Command), https_name: Option<&str>) -> FedifyPeer {
        prepare();
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = tls::free_port();
        let mut command = Command::new("node");
        command
            .arg("peer.mjs")
            .current_dir(self::dir())
            .env("PORT", port.to_string());
        adjust(&mut command);
        let mut process = Process::spawn("fedify peer", command, dir.path().join("peer.log"));
        process.wait_for_port(port);
        let origin = match https_name {
            Some(name) => format!("https://{name}:{port}"),
            None => format!("http://127.0.0.1:{port}"),
        };
        FedifyPeer {
            process,
            port,
            actor: format!("{origin}/users/peer"),
            origin,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// A call to the peer's control API (a POST with `body`, else a GET); must answer 200.
    pub async fn control(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let request = match body {
            Some(body) => client.post(self.url(path)).json(&body),
            None => client.get(self.url(path)),
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::OK, "{path}: {value}");
        value
    }

    /// A list the control API keeps: `/control/received` (activities Fedify verified),
    /// `/control/deliveries` (what reached its inboxes), `/control/sent`.
    pub async fn control_list(&self, client: &reqwest::Client, path: &str) -> Vec<Value> {
        self.control(client, path, None)
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The first activity of type `kind` from `actor` about `object` that Fedify verified.
    pub async fn received(
        &self,
        client: &reqwest::Client,
        kind: &str,
        actor: &str,
        object: &str,
    ) -> Option<Value> {
        self.control_list(client, "/control/received")
            .await
            .into_iter()
            .find(|r| {
                r["type"] == kind
                    && r["actor"] == actor
                    && (object_id(&r["raw"]) == Some(object)
                        || r["parsed"]["object"]["id"] == object)
            })
    }
}

/// The id of an activity's object, embedded or a bare URL.
pub fn object_id(activity: &Value) -> Option<&str> {
    let object = activity.get("object")?;
    object.as_str().or_else(|| object["id"].as_str())
}
