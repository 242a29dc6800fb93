//! A real SMTP server for the e-mail tests: aiosmtpd (PyPI, pinned in
//! `tests/peers/smtp/requirements.txt`) running `tests/peers/smtp/server.py` on a loopback
//! port, which writes every message it receives, decoded, as a JSON file the test reads.
//!
//! It needs Python 3 and PyPI, so the tests using it are ignored unless asked for and need
//! `MAILLAGE_TEST_SMTP=1`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use maillage::config::{Config, SmtpConfig, SmtpSecurity};
use serde_json::Value;

use super::python::{peer_dir, prepare_venv};
use super::tls::{Process, free_port};

/// Set to `1` to run the tests that need the SMTP server (Python 3 and PyPI).
pub const SMTP_ENV: &str = "MAILLAGE_TEST_SMTP";

/// Panics unless `MAILLAGE_TEST_SMTP=1`: a run with `--include-ignored` but without the
/// variable says what it needs rather than install packages unasked.
pub fn require_enabled() {
    let on = std::env::var(SMTP_ENV).is_ok_and(|v| v.trim() == "1");
    assert!(
        on,
        "this test installs aiosmtpd from PyPI and runs it: run it with {SMTP_ENV}=1"
    );
}

/// A message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub headers: Value,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// The first link of the body that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        self.body
            .split_whitespace()
            .find(|w| w.starts_with(prefix))
            .map(|w| w.trim_end_matches([')', '.', ',']).to_owned())
    }
}

pub struct SmtpPeer {
    pub port: u16,
    _process: Process,
    dir: tempfile::TempDir,
}

impl SmtpPeer {
    pub fn start() -> SmtpPeer {
        require_enabled();
        let venv = prepare_venv("smtp", "aiosmtpd");
        let dir = tempfile::tempdir().expect("temporary directory");
        let out = dir.path().join("messages");
        std::fs::create_dir(&out).expect("messages folder");
        let port = free_port();
        let mut command = Command::new(venv.join("bin/python"));
        command
            .arg(peer_dir("smtp").join("server.py"))
            .arg("--port")
            .arg(port.to_string())
            .arg("--dir")
            .arg(&out);
        let mut process = Process::spawn("smtp peer", command, dir.path().join("smtp.log"));
        process.wait_for_port(port);
        SmtpPeer {
            port,
            _process: process,
            dir,
        }
    }

    /// `[smtp]` for this server: loopback, no encryption, no password.
    pub fn configure(&self, config: &mut Config) {
        config.smtp = Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(self.port),
            from: "Maillage <noreply@maillage.localhost>".into(),
            security: SmtpSecurity::None,
            timeout_seconds: 10,
            ..SmtpConfig::default()
        });
    }

    fn folder(&self) -> PathBuf {
        self.dir.path().join("messages")
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.folder())
            .expect("messages folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                let v: Value = serde_json::from_str(&std::fs::read_to_string(p).expect("read"))
                    .expect("a message as JSON");
                Received {
                    to: v["rcpt_to"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                    subject: v["subject"].as_str().unwrap_or_default().to_owned(),
                    body: v["body"].as_str().unwrap_or_default().replace("\r\n", "\n"),
                    headers: v["headers"].clone(),
                }
            })
            .collect()
    }

    /// Waits until `count` messages have arrived (a message sent after the answer to a
    /// form arrives a moment later), and returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "{count} messages expected, {} received: {messages:#?}",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
