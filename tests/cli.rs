//! The `maillage` binary as a person runs it: configured through `MAILLAGE_*` variables and
//! `--config`, managing the instance from the command line, then serving what it set up.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::TestDb;

/// What a finished command left behind.
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The whole of it, for assertion messages.
    fn describe(&self) -> String {
        format!(
            "exit code {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// How to reach one database, and the public URL the instance is known by.
struct Setup {
    database_url: String,
    public_url: String,
    /// Working directory of every command, so nothing lands in the project's directory.
    workdir: PathBuf,
}

/// `maillage` with none of this process's `MAILLAGE_*` variables (the test suite's among them).
fn bare_command(workdir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_maillage"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MAILLAGE_") {
            cmd.env_remove(&name);
        }
    }
    cmd.current_dir(workdir).stdin(Stdio::null());
    cmd
}

impl Setup {
    fn new(db: &TestDb, port: u16, workdir: &Path) -> Setup {
        Setup {
            database_url: db.url.clone(),
            public_url: format!("http://127.0.0.1:{port}"),
            workdir: workdir.to_owned(),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = bare_command(&self.workdir);
        cmd.env("MAILLAGE_DATABASE_URL", &self.database_url)
            .env("MAILLAGE_PUBLIC_URL", &self.public_url)
            .env("MAILLAGE_DATABASE_MAX_CONNECTIONS", "4");
        cmd
    }

    fn run(&self, args: &[&str]) -> Outcome {
        run(self.command().args(args), None)
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Outcome {
        run(self.command().args(args), Some(stdin))
    }

    /// Runs a command that must succeed, and gives back its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let outcome = self.run(args);
        assert!(
            outcome.success(),
            "`maillage {}` failed:\n{}",
            args.join(" "),
            outcome.describe()
        );
        outcome.stdout
    }

    /// Runs a command that must fail with exit code 1, and gives back its standard error.
    fn fails(&self, args: &[&str]) -> String {
        let outcome = self.run(args);
        assert_eq!(
            outcome.code,
            Some(1),
            "`maillage {}` should have failed:\n{}",
            args.join(" "),
            outcome.describe()
        );
        outcome.stderr
    }
}

fn run(cmd: &mut Command, stdin: Option<&str>) -> Outcome {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("start the maillage binary");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("the child's standard input");
        pipe.write_all(text.as_bytes())
            .expect("write to the child's standard input");
        // Dropping the pipe closes it: the child sees the end of its input.
    }
    let output = child.wait_with_output().expect("wait for maillage");
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("its address").port()
}

fn http_client() -> reqwest::Client {
    common::install_tls_provider();
    // Only loopback is reachable: never go through a proxy from the environment.
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// `maillage serve` running as a child process; killed when dropped, even by a failing test.
struct Server {
    child: Child,
    log: PathBuf,
    base: String,
}

impl Server {
    /// Starts the binary with no subcommand (serve is the default) and waits for `/healthz`.
    async fn start(setup: &Setup, port: u16, client: &reqwest::Client) -> Server {
        let log = setup.workdir.join(format!("serve-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("create the server's log file");
        let child = setup
            .command()
            .env("MAILLAGE_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start maillage serve");
        let mut server = Server {
            child,
            log,
            base: format!("http://127.0.0.1:{port}"),
        };
        server.wait_until_healthy(client).await;
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_until_healthy(&mut self, client: &reqwest::Client) {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().expect("poll the server process") {
                panic!(
                    "maillage serve stopped before answering ({status}):\n{}",
                    self.log()
                );
            }
            if let Ok(response) = client.get(self.url("/healthz")).send().await
                && response.status() == reqwest::StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "maillage serve did not answer /healthz in time:\n{}",
            self.log()
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn migrate_then_report_the_status() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().expect("temporary directory");
        let setup = Setup::new(&db, free_port(), dir.path());

        let out = setup.ok(&["migrate"]);
        assert!(
            out.contains("0 pending"),
            "[{}] migrate said: {out}",
            db.label
        );
        let out = setup.ok(&["migrate", "--status"]);
        // Every migration the binary knows, whatever their number.
        let all = <migration::Migrator as migration::MigratorTrait>::migrations().len();
        assert_eq!(
            out.trim(),
            format!("{all} migrations applied, 0 pending"),
            "[{}]",
            db.label
        );
        // Running it again changes nothing.
        setup.ok(&["migrate"]);
        let out = setup.ok(&["migrate", "--status"]);
        let all = <migration::Migrator as migration::MigratorTrait>::migrations().len();
        assert_eq!(
            out.trim(),
            format!("{all} migrations applied, 0 pending"),
            "[{}]",
            db.label
        );

        db.drop_now().await;
    }
}

/// `backup` and `restore` from the command line: a copy that says what it holds, refused
/// over an existing file; a restore that brings back what was removed since; a pole
/// exported and imported again under another slug; a file that is not a backup refused
/// with the reason.
#[tokio::test]
async fn back_up_restore_export_and_import_from_the_command_line() {
    for db in TestDb::all().await {
        let label = db.label;
        let dir = tempfile::tempdir().expect("temporary directory");
        let setup = Setup::new(&db, free_port(), dir.path());
        setup.ok(&["migrate"]);
        setup.ok(&["init", "--name", "PTCE de Bretagne"]);
        setup.ok(&["pole", "create", "--slug", "redon", "--name", "Pôle Redon"]);
        let copy = dir.path().join("copie.backup");
        let copy = copy.to_str().expect("a UTF-8 path");
        let out = setup.ok(&["backup", copy]);
        assert!(out.starts_with("backup written to"), "[{label}] {out}");
        if label == "sqlite" {
            assert!(out.contains("poles: 1 rows"), "[{label}] {out}");
        }
        let err = setup.fails(&["backup", copy]);
        assert!(err.contains("already exists"), "[{label}] {err}");

        setup.ok(&["pole", "create", "--slug", "vitre", "--name", "Pôle Vitré"]);
        let out = setup.ok(&["restore", copy]);
        assert!(out.starts_with("restored from"), "[{label}] {out}");
        let poles = setup.ok(&["pole", "list"]);
        assert!(poles.contains("Pôle Redon"), "[{label}] {poles}");
        assert!(!poles.contains("Pôle Vitré"), "[{label}] {poles}");

        // One pole as an archive, readable by its owner only (it holds the private key).
        let archive = dir.path().join("redon.json");
        let archive = archive.to_str().expect("a UTF-8 path");
        let out = setup.ok(&["export", "--pole", "redon", archive]);
        assert!(out.contains("pole `redon` written"), "[{label}] {out}");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(archive)
                .expect("the archive")
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "[{label}]");
        let err = setup.fails(&["export", "--pole", "redon", archive]);
        assert!(err.contains("exists"), "[{label}] {err}");
        let err = setup.fails(&["import", archive]);
        assert!(err.contains("already exists"), "[{label}] {err}");
        let out = setup.ok(&["import", archive, "--slug", "redon-2"]);
        assert!(out.contains("pole `redon-2` imported"), "[{label}] {out}");
        assert!(setup.ok(&["pole", "list"]).contains("redon-2"), "[{label}]");

        let garbage = dir.path().join("pas-une-copie");
        std::fs::write(&garbage, "ceci n'est pas une sauvegarde").expect("write");
        let err = setup.fails(&["restore", garbage.to_str().expect("a UTF-8 path")]);
        assert!(
            err.contains("not a Maillage backup") || err.contains("pg_restore"),
            "[{label}] {err}"
        );
        let poles = setup.ok(&["pole", "list"]);
        assert!(
            poles.contains("Pôle Redon"),
            "[{label}] still there: {poles}"
        );
        db.drop_now().await;
    }
}

/// The whole life of an instance: name it, create a pole and its people, issue a token,
/// serve, use the token, revoke it while the server runs.
#[tokio::test]
async fn manage_from_the_command_line_then_serve() {
    for db in TestDb::all().await {
        let label = db.label;
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = free_port();
        let setup = Setup::new(&db, port, dir.path());

        // A command other than `serve` or `migrate` does not make a new, empty database
        // (run from the wrong directory, with a mistyped path) unless told to.
        let out = setup.run(&["init", "--name", "PTCE de test"]);
        assert!(
            !out.success() && out.stderr.contains("--create"),
            "[{label}] {}",
            out.describe()
        );
        if label == "sqlite" {
            assert!(
                out.stderr.contains("there is no database at"),
                "[{label}] {}",
                out.describe()
            );
            let file = db.url.trim_start_matches("sqlite://");
            assert!(!Path::new(file).exists(), "[{label}] {file} was created");
        } else {
            assert!(
                out.stderr.contains("holds no Maillage instance"),
                "[{label}] {}",
                out.describe()
            );
        }
        let out = setup.run(&["migrate", "--status"]);
        assert!(!out.success(), "[{label}] {}", out.describe());

        // The instance.
        let out = setup.ok(&["init", "--create", "--name", "PTCE de test"]);
        assert!(out.contains("PTCE de test"), "[{label}] init said: {out}");

        // Poles.
        let out = setup.ok(&[
            "pole",
            "create",
            "--slug",
            "pays-de-redon",
            "--name",
            "Pôle Pays de Redon",
            "--commune",
            "35236",
        ]);
        let handle = format!("@pays-de-redon@127.0.0.1:{port}");
        assert!(
            out.contains(&handle),
            "[{label}] pole create should print {handle}: {out}"
        );
        let out = setup.ok(&["pole", "list"]);
        assert!(
            out.lines()
                .any(|l| l.starts_with("pays-de-redon\t") && l.contains("Pôle Pays de Redon")),
            "[{label}] pole list: {out}"
        );

        // Blocked domains.
        let out = setup.ok(&["block", "Spam.Example", "--reason", "Publicités"]);
        assert!(
            out.contains("spam.example is blocked"),
            "[{label}] block: {out}"
        );
        let out = setup.ok(&["blocks"]);
        assert!(
            out.lines()
                .any(|l| l.starts_with("spam.example\t") && l.ends_with("\t-\tPublicités")),
            "[{label}] blocks: {out}"
        );
        let err = setup.fails(&["block", "spam.example"]);
        assert!(err.contains("already blocked"), "[{label}] twice: {err}");
        let err = setup.fails(&["follow", "https://www.spam.example/actor"]);
        assert!(
            err.contains("blocked"),
            "[{label}] follow a blocked domain: {err}"
        );
        let err = setup.fails(&["block", "https://spam.example/"]);
        assert!(
            err.contains("not a domain name"),
            "[{label}] bad domain: {err}"
        );
        let out = setup.ok(&["unblock", "spam.example"]);
        assert!(
            out.contains("no longer blocked"),
            "[{label}] unblock: {out}"
        );
        let err = setup.fails(&["unblock", "spam.example"]);
        assert!(
            err.contains("not blocked"),
            "[{label}] unblock twice: {err}"
        );
        assert!(
            !setup.ok(&["blocks"]).contains("spam.example"),
            "[{label}] nothing blocked any more"
        );

        let err = setup.fails(&[
            "pole",
            "create",
            "--slug",
            "pays-de-redon",
            "--name",
            "Encore Redon",
        ]);
        assert!(
            err.contains("slug") && err.contains("pays-de-redon"),
            "[{label}] duplicate slug: {err}"
        );
        let err = setup.fails(&["pole", "create", "--slug", "Pôle Redon", "--name", "Redon"]);
        assert!(err.contains("slug"), "[{label}] bad slug: {err}");
        let err = setup.fails(&[
            "pole",
            "create",
            "--slug",
            "redon-bis",
            "--name",
            "Redon bis",
            "--commune",
            "99999",
        ]);
        assert!(
            err.contains("communes") && err.contains("99999"),
            "[{label}] bad commune: {err}"
        );
        let out = setup.ok(&["pole", "list"]);
        assert_eq!(
            out.lines().count(),
            1,
            "[{label}] the refused poles must not exist: {out}"
        );

        // People.
        let out = setup.run_with_stdin(
            &[
                "user",
                "create",
                "--username",
                "admin",
                "--admin",
                "--password-stdin",
            ],
            "un mot de passe assez long\n",
        );
        assert!(out.success(), "[{label}] admin: {}", out.describe());
        assert!(out.stdout.contains("admin"), "[{label}] {}", out.describe());

        let out = setup.run_with_stdin(
            &[
                "user",
                "create",
                "--username",
                "shorty",
                "--admin",
                "--password-stdin",
            ],
            "court\n",
        );
        assert_eq!(
            out.code,
            Some(1),
            "[{label}] short password: {}",
            out.describe()
        );
        assert!(
            out.stderr.contains("12 characters"),
            "[{label}] short password: {}",
            out.describe()
        );

        // A usage error: exit code 1 today, 2 if clap ever checks it; not 0 in any case.
        let out = setup.run(&["user", "create", "--username", "nobody", "--no-password"]);
        assert!(
            matches!(out.code, Some(1 | 2))
                && out.stderr.contains("--admin")
                && out.stderr.contains("--pole"),
            "[{label}] neither --admin nor --pole: {}",
            out.describe()
        );

        let out = setup.ok(&[
            "user",
            "create",
            "--username",
            "editor",
            "--pole",
            "pays-de-redon",
            "--no-password",
        ]);
        assert!(out.contains("editor"), "[{label}] editor: {out}");

        let err = setup.fails(&[
            "user",
            "create",
            "--username",
            "ghost",
            "--pole",
            "nowhere",
            "--no-password",
        ]);
        assert!(err.contains("nowhere"), "[{label}] unknown pole: {err}");

        let out = setup.ok(&["user", "list"]);
        let users: Vec<&str> = out.lines().collect();
        assert_eq!(
            users,
            ["admin\tadmin", "editor\teditor"],
            "[{label}] user list (the refused ones must not exist): {out}"
        );

        // A token, shown once.
        let out = setup.run(&["token", "issue", "--user", "admin", "--name", "laptop"]);
        assert!(out.success(), "[{label}] token issue: {}", out.describe());
        let token = out.stdout.trim_end_matches('\n').to_owned();
        assert!(
            token.starts_with("mlg_") && !token.contains(char::is_whitespace),
            "[{label}] the token alone on stdout: {}",
            out.describe()
        );
        let listing = setup.ok(&["token", "list"]);
        let line = listing
            .lines()
            .find(|l| l.contains("laptop"))
            .unwrap_or_else(|| panic!("[{label}] token list: {listing}"));
        assert!(
            line.contains("admin") && line.ends_with("active"),
            "[{label}] token list: {listing}"
        );
        assert!(
            !listing.contains(&token),
            "[{label}] token list must not show the token: {listing}"
        );
        let id = line.split('\t').next().expect("a token number").to_owned();
        id.parse::<i64>()
            .unwrap_or_else(|_| panic!("[{label}] token number `{id}` in {listing}"));

        // Serve what was set up, with no subcommand.
        let client = http_client();
        let server = Server::start(&setup, port, &client).await;

        let instance: serde_json::Value = client
            .get(server.url("/api/v1/instance"))
            .send()
            .await
            .expect("GET /api/v1/instance")
            .json()
            .await
            .expect("instance as JSON");
        assert_eq!(instance["name"], "PTCE de test", "[{label}] {instance}");
        assert_eq!(
            instance["domain"],
            format!("127.0.0.1:{port}"),
            "[{label}] {instance}"
        );
        assert_eq!(instance["poles"], 1, "[{label}] {instance}");

        let me = client
            .get(server.url("/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET /api/v1/me");
        assert_eq!(me.status(), reqwest::StatusCode::OK, "[{label}]");
        let me: serde_json::Value = me.json().await.expect("me as JSON");
        assert_eq!(me["username"], "admin", "[{label}] {me}");
        assert_eq!(me["role"], "admin", "[{label}] {me}");

        // Revoked while the server runs: the next request is refused.
        let out = setup.ok(&["token", "revoke", &id]);
        assert!(out.contains("revoked"), "[{label}] token revoke: {out}");
        let me = client
            .get(server.url("/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET /api/v1/me");
        assert_eq!(
            me.status(),
            reqwest::StatusCode::UNAUTHORIZED,
            "[{label}] a revoked token"
        );
        let listing = setup.ok(&["token", "list"]);
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with(&format!("{id}\t")) && l.contains("revoked")),
            "[{label}] token list after revoking: {listing}"
        );
        let err = setup.fails(&["token", "revoke", "999"]);
        assert!(err.contains("999"), "[{label}] unknown token: {err}");

        drop(server);
        db.drop_now().await;
    }
}

/// A setting that cannot be used stops start-up, naming it, before touching the database.
#[tokio::test]
async fn bad_settings_stop_start_up() {
    for db in TestDb::all().await {
        let label = db.label;
        let dir = tempfile::tempdir().expect("temporary directory");
        let setup = Setup::new(&db, free_port(), dir.path());

        let out = run(
            setup
                .command()
                .env("MAILLAGE_LISTEN", "nowhere")
                .arg("serve"),
            None,
        );
        assert_eq!(out.code, Some(2), "[{label}] {}", out.describe());
        assert!(
            out.stderr.contains("`listen`") && out.stderr.contains("nowhere"),
            "[{label}] {}",
            out.describe()
        );

        let out = run(
            setup
                .command()
                .env("MAILLAGE_PUBLIC_URL", "https://ptce.example.org/maillage"),
            None,
        );
        assert_eq!(out.code, Some(2), "[{label}] {}", out.describe());
        assert!(
            out.stderr.contains("`public_url`"),
            "[{label}] {}",
            out.describe()
        );

        let out = run(
            setup
                .command()
                .env("MAILLAGE_DATABASE_MAX_CONNECTIONS", "lots")
                .args(["pole", "list"]),
            None,
        );
        assert_eq!(out.code, Some(2), "[{label}] {}", out.describe());
        assert!(
            out.stderr.contains("MAILLAGE_DATABASE_MAX_CONNECTIONS"),
            "[{label}] {}",
            out.describe()
        );

        let file = dir.path().join("maillage.toml");
        std::fs::write(
            &file,
            format!("[database]\nurl = \"{}\"\nmax_conections = 4\n", db.url),
        )
        .expect("write the configuration file");
        let out = run(
            bare_command(dir.path())
                .arg("--config")
                .arg(&file)
                .arg("serve"),
            None,
        );
        assert_eq!(out.code, Some(2), "[{label}] {}", out.describe());
        assert!(
            out.stderr.contains("max_conections") && out.stderr.contains("maillage.toml"),
            "[{label}] unknown key: {}",
            out.describe()
        );

        let missing = dir.path().join("nowhere").join("maillage.toml");
        let out = run(bare_command(dir.path()).arg("--config").arg(&missing), None);
        assert_eq!(out.code, Some(2), "[{label}] {}", out.describe());
        assert!(
            out.stderr.contains(&missing.display().to_string()),
            "[{label}] missing file: {}",
            out.describe()
        );

        // The same, given through MAILLAGE_CONFIG.
        let out = run(
            bare_command(dir.path())
                .env("MAILLAGE_CONFIG", &missing)
                .args(["migrate", "--status"]),
            None,
        );
        assert_eq!(out.code, Some(2), "[{label}] {}", out.describe());
        assert!(
            out.stderr.contains(&missing.display().to_string()),
            "[{label}] missing file: {}",
            out.describe()
        );

        // Nothing was created by the refused start-ups.
        assert!(
            !dir.path().join("maillage.db").exists(),
            "[{label}] a refused start-up created the default database"
        );

        db.drop_now().await;
    }
}

/// Settings from a file, with `MAILLAGE_*` variables taking precedence over it.
#[tokio::test]
async fn configuration_file_and_variables() {
    for db in TestDb::all().await {
        let label = db.label;
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = free_port();
        let file = dir.path().join("maillage.toml");
        std::fs::write(
            &file,
            format!(
                "listen = \"not an address\"\npublic_url = \"http://127.0.0.1:{port}\"\n\
                 [database]\nurl = \"{}\"\nmax_connections = 2\n",
                db.url
            ),
        )
        .expect("write the configuration file");

        // The file's `listen` is wrong, and is what start-up complains about.
        let out = run(bare_command(dir.path()).arg("--config").arg(&file), None);
        assert_eq!(out.code, Some(2), "[{label}] {}", out.describe());
        assert!(
            out.stderr.contains("`listen`"),
            "[{label}] {}",
            out.describe()
        );

        // A variable overrides it; the rest comes from the file.
        let out = run(
            bare_command(dir.path())
                .env("MAILLAGE_LISTEN", format!("127.0.0.1:{port}"))
                .arg("--config")
                .arg(&file)
                .args([
                    "--create",
                    "pole",
                    "create",
                    "--slug",
                    "lorient",
                    "--name",
                    "Pôle Lorient",
                ]),
            None,
        );
        assert!(out.success(), "[{label}] {}", out.describe());
        assert!(
            out.stdout.contains(&format!("@lorient@127.0.0.1:{port}")),
            "[{label}] {}",
            out.describe()
        );

        // MAILLAGE_CONFIG names the file as --config does.
        let out = run(
            bare_command(dir.path())
                .env("MAILLAGE_CONFIG", &file)
                .env("MAILLAGE_LISTEN", format!("127.0.0.1:{port}"))
                .args(["pole", "list"]),
            None,
        );
        assert!(out.success(), "[{label}] {}", out.describe());
        assert!(
            out.stdout.starts_with("lorient\t"),
            "[{label}] {}",
            out.describe()
        );

        db.drop_now().await;
    }
}

/// A SQLite file in a directory that does not exist yet is created on first use.
#[tokio::test]
async fn sqlite_database_in_a_new_directory() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("sub").join("maillage.db");
    let setup = Setup {
        database_url: format!("sqlite://{}", path.display()),
        public_url: format!("http://127.0.0.1:{}", free_port()),
        workdir: dir.path().to_owned(),
    };
    let out = setup.run(&["migrate"]);
    assert!(out.success(), "{}", out.describe());
    assert!(path.exists(), "{} was created", path.display());
}

/// Counts what a stand-in receiving server gets: POSTs by activity id.
#[derive(Default)]
struct Received {
    posts: std::sync::Mutex<Vec<String>>,
}

/// A receiving server on loopback that answers every POST 202, a little slowly.
async fn receiver(received: std::sync::Arc<Received>) -> u16 {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/inbox",
        post(move |body: axum::body::Bytes| {
            let received = received.clone();
            async move {
                // Slow enough that one process alone could not take all the work.
                tokio::time::sleep(Duration::from_millis(40)).await;
                let activity: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                if let Ok(mut posts) = received.posts.lock() {
                    posts.push(activity["id"].as_str().unwrap_or_default().to_owned());
                }
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port
}

/// Two `maillage` processes on one PostgreSQL database share the delivery queue: every
/// delivery is sent once, by one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MAILLAGE_TEST_POSTGRES (a PostgreSQL server)"]
async fn two_processes_share_the_delivery_queue() {
    let db = TestDb::postgres()
        .await
        .expect("this test runs on PostgreSQL: set MAILLAGE_TEST_POSTGRES");
    let dir = tempfile::tempdir().expect("temporary directory");
    let (port_1, port_2) = (free_port(), free_port());
    let setup = Setup::new(&db, port_1, dir.path());
    setup.ok(&["migrate"]);

    let received = std::sync::Arc::new(Received::default());
    let receivers = [
        receiver(received.clone()).await,
        receiver(received.clone()).await,
        receiver(received.clone()).await,
    ];
    let mut config = db.config();
    config.public_url = setup.public_url.clone();
    let store = maillage::store::Store::connect(&config)
        .await
        .expect("connect");
    // The instance's keys exist before either process needs them.
    store.instance_keys().await.expect("keys");
    let actor = format!("{}/actor", setup.public_url);
    let total = 150;
    for n in 0..total {
        let id = format!("{}/activities/{n}", setup.public_url);
        let inbox =
            url::Url::parse(&format!("http://127.0.0.1:{}/inbox", receivers[n % 3])).expect("url");
        let body = serde_json::json!({"id": id, "type": "Create", "actor": actor, "object": {"id": format!("{id}/object"), "type": "Note"}});
        store
            .enqueue(&id, &actor, &body, &[inbox], chrono::Utc::now())
            .await
            .expect("enqueue");
    }

    let client = http_client();
    let mut shared = Setup::new(&db, port_1, dir.path());
    shared.public_url = setup.public_url.clone();
    let start = |port: u16| {
        let log = dir.path().join(format!("serve-{port}.log"));
        let child = shared
            .command()
            .env("MAILLAGE_LISTEN", format!("127.0.0.1:{port}"))
            .env("MAILLAGE_FEDERATION_DEVELOPMENT_MODE", "true")
            .env("MAILLAGE_LOG_FILTER", "maillage=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start maillage");
        Server {
            child,
            log,
            base: format!("http://127.0.0.1:{port}"),
        }
    };
    let mut first = start(port_1);
    let mut second = start(port_2);
    first.wait_until_healthy(&client).await;
    second.wait_until_healthy(&client).await;

    for _ in 0..300 {
        if received.posts.lock().map(|p| p.len()).unwrap_or(0) >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Time for a duplicate to arrive, if any were to.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let posts = received.posts.lock().expect("posts").clone();
    let mut distinct = posts.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), total, "every delivery arrived");
    assert_eq!(posts.len(), total, "no delivery was sent twice");
    let delivered_by = |server: &Server| server.log().matches("delivered").count();
    let (by_first, by_second) = (delivered_by(&first), delivered_by(&second));
    // Should they differ, the warnings of both processes say why.
    let warnings = |server: &Server| -> Vec<String> {
        server
            .log()
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        by_first + by_second,
        total,
        "each delivery logged once; warnings: {:?} {:?}",
        warnings(&first),
        warnings(&second)
    );
    assert!(
        by_first > 0 && by_second > 0,
        "both processes took part: {by_first} and {by_second}"
    );
    drop(first);
    drop(second);
    store.close().await.ok();
    db.drop_now().await;
}
