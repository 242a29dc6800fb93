//! The HTTPS rig: a private certificate authority made at test time, names under
//! `.localhost` written to `/etc/hosts` (so that every process, whatever its resolver, finds
//! them on loopback and never asks a DNS server), and Caddy and nginx run as child processes
//! from `deploy/Caddyfile` and `deploy/nginx.conf`, changed only in names, ports,
//! certificate paths and the upstream address.
//!
//! Caddy and nginx come from the operating system's packages (`apt-get install -y caddy
//! nginx` when missing), so the tests using this rig are ignored unless asked for and need
//! `MAILLAGE_TEST_TLS=1`.

use std::fs::{self, File};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use maillage::config::Config;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};

use super::{TestDb, TestServer};

/// Set to `1` to run the tests that need Caddy, nginx or PyPI packages.
pub const TLS_ENV: &str = "MAILLAGE_TEST_TLS";

/// How long a proxy or a peer may take to start listening.
const START_WAIT: Duration = Duration::from_secs(60);

/// Panics unless `MAILLAGE_TEST_TLS=1`: the tests of this rig are `#[ignore]`d, and one run
/// with `--include-ignored` but without the variable should say what it needs rather than
/// install packages unasked.
pub fn require_enabled() {
    let on = std::env::var(TLS_ENV).is_ok_and(|v| v.trim() == "1");
    assert!(
        on,
        "this test installs Caddy and nginx (apt-get) or PyPI packages: run it with {TLS_ENV}=1"
    );
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------
// The private certificate authority.

/// A certificate and its private key, as PEM files.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub certificate: PathBuf,
    pub private_key: PathBuf,
}

/// A certificate authority that exists for one test; its files live in a temporary folder.
pub struct Ca {
    dir: tempfile::TempDir,
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    pub fn new() -> Ca {
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "Maillage test CA");
        name.push(DnType::OrganizationName, "Maillage tests");
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("a CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("the CA certificate");
        let dir = tempfile::tempdir().expect("temporary directory");
        fs::write(dir.path().join("ca.pem"), issuer.pem()).expect("write ca.pem");
        Ca { dir, issuer }
    }

    /// The CA certificate (PEM), to be trusted by clients.
    pub fn pem_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `names`, signed by this CA.
    pub fn issue(&self, names: &[&str]) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .expect("certificate names");
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, names[0]);
        params.distinguished_name = dn;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().expect("a server key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("a server certificate");
        let stem = names[0].replace('.', "_");
        let leaf = Leaf {
            certificate: self.dir.path().join(format!("{stem}.crt")),
            private_key: self.dir.path().join(format!("{stem}.key")),
        };
        fs::write(&leaf.certificate, cert.pem()).expect("write the certificate");
        fs::write(&leaf.private_key, key.serialize_pem()).expect("write the key");
        leaf
    }

    /// An HTTP client trusting this CA only, with `names` resolved to loopback.
    pub fn client(&self, names: &[(&str, u16)]) -> reqwest::Client {
        super::install_tls_provider();
        let root = reqwest::Certificate::from_pem(self.pem().as_bytes()).expect("CA certificate");
        let mut builder = reqwest::Client::builder()
            .tls_certs_only([root])
            .no_proxy()
            .timeout(Duration::from_secs(30));
        for (name, port) in names {
            builder = builder.resolve(name, SocketAddr::from(([127, 0, 0, 1], *port)));
        }
        builder.build().expect("an HTTPS client")
    }
}

// ---------------------------------------------------------------------------------------
// Names and packages.

/// Adds `127.0.0.1 name` to `/etc/hosts` for each name it does not list yet. Names under
/// `.localhost` are loopback by definition (RFC 6761), but the C library and Node resolve
/// them through DNS like any other name, which would leave this machine.
pub fn ensure_hosts(names: &[&str]) {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for name in names {
        assert!(
            name.ends_with(".localhost"),
            "{name}: the rig only names hosts under .localhost"
        );
    }
    let hosts = fs::read_to_string("/etc/hosts").unwrap_or_default();
    let listed = |name: &str| {
        hosts.lines().any(|line| {
            let line = line.split('#').next().unwrap_or_default();
            let mut fields = line.split_whitespace();
            fields.next() == Some("127.0.0.1") && fields.any(|f| f.eq_ignore_ascii_case(name))
        })
    };
    let missing: Vec<&str> = names.iter().copied().filter(|n| !listed(n)).collect();
    if missing.is_empty() {
        return;
    }
    let mut lines = String::new();
    if !hosts.ends_with('\n') && !hosts.is_empty() {
        lines.push('\n');
    }
    for name in &missing {
        lines.push_str(&format!("127.0.0.1 {name} # Maillage tests\n"));
    }
    // One write in append mode, so that another process appending at the same time cannot
    // interleave with it.
    let written = fs::OpenOptions::new()
        .append(true)
        .open("/etc/hosts")
        .and_then(|mut f| f.write_all(lines.as_bytes()));
    if let Err(e) = written {
        panic!(
            "cannot add {missing:?} to /etc/hosts ({e}); run the test as root or add the lines:\n{lines}"
        );
    }
}

/// Where `name` is installed: on the `PATH`, or in the system folders a non-login `PATH`
/// may leave out (nginx is in `/usr/sbin`).
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn on_path(name: &str) -> bool {
    find_program(name).is_some()
}

fn program(name: &str) -> PathBuf {
    find_program(name).unwrap_or_else(|| PathBuf::from(name))
}

/// `caddy` and `nginx` from the distribution, installed when missing. Their packages would
/// start system services; where a `policy-rc.d` forbids it (containers) they are only
/// unpacked, and the tests run their own instances anyway.
pub fn ensure_proxies_installed() {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let missing: Vec<&str> = ["caddy", "nginx"]
        .into_iter()
        .filter(|p| !on_path(p))
        .collect();
    if missing.is_empty() {
        return;
    }
    apt_install(&missing);
    for program in missing {
        assert!(
            on_path(program),
            "{program} is still missing after apt-get install"
        );
    }
}

/// `apt-get install -y` of `packages`; the package lists are updated first only if the
/// install fails without them (a fresh machine has none).
pub fn apt_install(packages: &[&str]) {
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status()
    };
    eprintln!("tls: apt-get install -y {}", packages.join(" "));
    let ok = install().is_ok_and(|s| s.success());
    if ok {
        return;
    }
    let updated = Command::new("apt-get")
        .args(["update", "-q"])
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run apt-get update: {e}"));
    assert!(updated.success(), "apt-get update failed: {updated}");
    let status = install().unwrap_or_else(|e| panic!("cannot run apt-get install: {e}"));
    assert!(
        status.success(),
        "apt-get install -y {} failed: {status}",
        packages.join(" ")
    );
}

/// A loopback port free at the time of the call, for a program that takes its port from
/// its configuration.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

// ---------------------------------------------------------------------------------------
// Child processes.

/// A child process in its own process group, stopped with its children when dropped; its
/// output goes to a file shown when the test fails.
pub struct Process {
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `command` with stdout and stderr to `log`.
    pub fn spawn(name: &str, mut command: Command, log: PathBuf) -> Process {
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own group, so that nginx's workers or the relay's delivery processes are
            // stopped with it.
            .process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Process {
            name: name.to_owned(),
            child,
            log,
        }
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `port` on loopback accepts connections; panics with the log if the
    /// process exits first or never listens.
    pub fn wait_for_port(&mut self, port: u16) {
        let deadline = Instant::now() + START_WAIT;
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before listening on {port}:\n{}",
                    self.name,
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} is not listening on {port} after {START_WAIT:?}:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        let pid = self.child.id() as i32;
        if let Some(group) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_)) | Err(_)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(group) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("---- {} output (last {} lines) ----", self.name, tail.len());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
            eprintln!("---- end of {} output ----", self.name);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The reverse proxies of deploy/.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    Caddy,
    Nginx,
}

impl ProxyKind {
    pub fn label(self) -> &'static str {
        match self {
            ProxyKind::Caddy => "caddy",
            ProxyKind::Nginx => "nginx",
        }
    }
}

/// One site a proxy serves: `https://name:port`, passed to `127.0.0.1:upstream`.
#[derive(Debug, Clone)]
pub struct Site {
    pub name: String,
    pub port: u16,
    pub upstream: u16,
    pub certificate: Leaf,
}

/// The domain the shipped files are written for.
const SHIPPED_DOMAIN: &str = "ptce.example.org";
/// The upstream the shipped files name.
const SHIPPED_UPSTREAM: &str = "127.0.0.1:8080";

/// Replaces `from` by `to` in `text`, which must contain it exactly `times` times: a
/// shipped file changed so that a substitution no longer applies fails here, instead of
/// leaving a test that proves nothing about it.
fn replace_exactly(text: &str, from: &str, to: &str, times: usize, file: &str) -> String {
    let found = text.matches(from).count();
    assert_eq!(
        found, times,
        "{file}: expected `{from}` {times} time(s), found it {found} time(s); update the rig with the file"
    );
    text.replace(from, to)
}

fn shipped(file: &str) -> String {
    let path = repository().join("deploy").join(file);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The configuration Caddy runs with: global options that keep it off the network (no
/// admin endpoint, no ACME, no redirect listener, no system trust store), then the
/// shipped site block once per site, with its address, upstream and certificate.
pub fn caddyfile(sites: &[Site], storage: &Path) -> String {
    let text = shipped("Caddyfile");
    let open = format!("{SHIPPED_DOMAIN} {{\n");
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("deploy/Caddyfile: no `{SHIPPED_DOMAIN} {{` site block"));
    let end = text[start..]
        .find("\n}")
        .map(|i| start + i + 2)
        .expect("deploy/Caddyfile: the site block is not closed by `}` at the start of a line");
    let (head, block, tail) = (&text[..start], &text[start..end], &text[end..]);
    assert!(
        tail.trim().is_empty(),
        "deploy/Caddyfile: something follows the site block: {tail}"
    );
    let mut out = format!(
        "{{\n\tadmin off\n\tauto_https disable_redirects\n\tskip_install_trust\n\tstorage file_system {}\n}}\n\n",
        storage.display()
    );
    out.push_str(head);
    for site in sites {
        let block = replace_exactly(
            block,
            &open,
            &format!(
                "https://{}:{} {{\n\tbind 127.0.0.1\n\ttls {} {}\n",
                site.name,
                site.port,
                site.certificate.certificate.display(),
                site.certificate.private_key.display()
            ),
            1,
            "deploy/Caddyfile",
        );
        let block = replace_exactly(
            &block,
            &format!("reverse_proxy {SHIPPED_UPSTREAM}"),
            &format!("reverse_proxy 127.0.0.1:{}", site.upstream),
            1,
            "deploy/Caddyfile",
        );
        out.push_str(&block);
        out.push_str("\n\n");
    }
    out
}

/// The configuration nginx runs with: a main file of the test's own (paths in the test's
/// folder, no daemon) whose `http` block holds the shipped server blocks once per site,
/// with names, ports, certificate paths and upstream replaced.
pub fn nginx_conf(sites: &[Site], dir: &Path) -> String {
    let text = shipped("nginx.conf");
    let file = "deploy/nginx.conf";
    let mut servers = String::new();
    for site in sites {
        let http_port = free_port();
        let mut s = replace_exactly(
            &text,
            &format!("/etc/letsencrypt/live/{SHIPPED_DOMAIN}/fullchain.pem"),
            &site.certificate.certificate.display().to_string(),
            1,
            file,
        );
        s = replace_exactly(
            &s,
            &format!("/etc/letsencrypt/live/{SHIPPED_DOMAIN}/privkey.pem"),
            &site.certificate.private_key.display().to_string(),
            1,
            file,
        );
        s = replace_exactly(
            &s,
            &format!("server_name {SHIPPED_DOMAIN};"),
            &format!("server_name {};", site.name),
            2,
            file,
        );
        s = replace_exactly(
            &s,
            "listen 80;",
            &format!("listen 127.0.0.1:{http_port};"),
            1,
            file,
        );
        s = replace_exactly(
            &s,
            "listen [::]:80;",
            &format!("listen [::1]:{http_port};"),
            1,
            file,
        );
        s = replace_exactly(
            &s,
            "listen 443 ssl",
            &format!("listen 127.0.0.1:{} ssl", site.port),
            1,
            file,
        );
        s = replace_exactly(
            &s,
            "listen [::]:443 ssl",
            &format!("listen [::1]:{} ssl", site.port),
            1,
            file,
        );
        s = replace_exactly(
            &s,
            &format!("proxy_pass http://{SHIPPED_UPSTREAM};"),
            &format!("proxy_pass http://127.0.0.1:{};", site.upstream),
            1,
            file,
        );
        servers.push_str(&s);
        servers.push('\n');
    }
    let d = dir.display();
    format!(
        "# Generated by the test rig around deploy/nginx.conf.\n\
         daemon off;\n\
         master_process on;\n\
         worker_processes 1;\n\
         pid {d}/nginx.pid;\n\
         error_log stderr info;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n\
         include /etc/nginx/mime.types;\n\
         default_type application/octet-stream;\n\
         access_log {d}/access.log;\n\
         client_body_temp_path {d}/client_body;\n\
         proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n\
         uwsgi_temp_path {d}/uwsgi;\n\
         scgi_temp_path {d}/scgi;\n\
         {servers}\n\
         }}\n"
    )
}

/// A running Caddy or nginx serving `sites`.
pub struct Proxy {
    pub kind: ProxyKind,
    process: Process,
    pub config: String,
    _dir: tempfile::TempDir,
}

impl Proxy {
    pub fn start(kind: ProxyKind, sites: &[Site]) -> Proxy {
        ensure_proxies_installed();
        let dir = tempfile::tempdir().expect("temporary directory");
        // nginx's workers run as an unprivileged user when the master is root: they must be
        // able to reach the temporary files they write request bodies to.
        let mut perms = fs::metadata(dir.path()).expect("metadata").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        fs::set_permissions(dir.path(), perms).expect("chmod");
        let log = dir.path().join(format!("{}.log", kind.label()));
        let (config, command) = match kind {
            ProxyKind::Caddy => {
                let storage = dir.path().join("storage");
                let config = caddyfile(sites, &storage);
                let path = dir.path().join("Caddyfile");
                fs::write(&path, &config).expect("write the Caddyfile");
                let mut command = Command::new(program("caddy"));
                command
                    .args(["run", "--adapter", "caddyfile", "--config"])
                    .arg(&path)
                    // Caddy keeps its state under the home and XDG folders: keep it in ours.
                    .env("HOME", dir.path())
                    .env("XDG_DATA_HOME", dir.path().join("data"))
                    .env("XDG_CONFIG_HOME", dir.path().join("config"));
                (config, command)
            }
            ProxyKind::Nginx => {
                for sub in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
                    let path = dir.path().join(sub);
                    fs::create_dir(&path).expect("nginx temporary folder");
                    let mut perms = fs::metadata(&path).expect("metadata").permissions();
                    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o777);
                    fs::set_permissions(&path, perms).expect("chmod");
                }
                let config = nginx_conf(sites, dir.path());
                let path = dir.path().join("nginx.conf");
                fs::write(&path, &config).expect("write nginx.conf");
                let mut command = Command::new(program("nginx"));
                command.arg("-p").arg(dir.path()).arg("-c").arg(&path);
                (config, command)
            }
        };
        let mut process = Process::spawn(kind.label(), command, log);
        for site in sites {
            process.wait_for_port(site.port);
        }
        Proxy {
            kind,
            process,
            config,
            _dir: dir,
        }
    }

    pub fn log(&self) -> String {
        self.process.log()
    }
}

// ---------------------------------------------------------------------------------------
// Maillage over HTTPS, in production mode.

/// How an instance is reached: through one of the proxies of `deploy/`, or on TLS served
/// by Maillage itself (`tls.certificate` and `tls.private_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    Caddy,
    Nginx,
    Direct,
}

/// Production mode as a pole runs it, except that loopback is an allowed network and the
/// test CA is trusted: HTTPS only, the address check on resolved addresses, every
/// signature and origin check.
pub fn production(config: &mut Config, ca: &Ca) {
    config.federation.development_mode = false;
    config.federation.allowed_addresses = vec!["127.0.0.0/8".to_owned(), "::1/128".to_owned()];
    config.federation.extra_root_certificates = Some(ca.pem_path().display().to_string());
    config.federation.retry_base_seconds = 1;
    config.uploads.max_bytes = 64 * 1024;
}

/// `https://name:port`, without the port when it is 443.
pub fn origin(name: &str, port: u16) -> String {
    if port == 443 {
        format!("https://{name}")
    } else {
        format!("https://{name}:{port}")
    }
}

/// Starts Maillage in production mode, known as `https://name:public_port`: on `listener`
/// in plain HTTP for a proxy in front, or serving HTTPS with `certificate` itself.
pub async fn start_maillage(
    db: &TestDb,
    ca: &Ca,
    name: &str,
    public_port: u16,
    listener: tokio::net::TcpListener,
    certificate: Option<&Leaf>,
    adjust: impl FnOnce(&mut Config),
) -> TestServer {
    let address = listener.local_addr().expect("address");
    let mut config = db.config();
    config.public_url = origin(name, public_port);
    config.listen = address.to_string();
    production(&mut config, ca);
    if let Some(leaf) = certificate {
        config.tls.certificate = Some(leaf.certificate.display().to_string());
        config.tls.private_key = Some(leaf.private_key.display().to_string());
    }
    adjust(&mut config);
    let tls = config.tls.clone();
    let client = ca.client(&[(name, public_port)]);
    TestServer::launch(
        config,
        origin(name, public_port),
        client,
        |app| async move {
            if tls.certificate.is_some() {
                maillage::web::serve_tls(listener, app, &tls)
                    .await
                    .expect("serve HTTPS");
            } else {
                axum::serve(listener, app).await.expect("serve");
            }
        },
    )
    .await
}

/// A Maillage instance reached over HTTPS, with the proxy in front of it if any.
pub struct HttpsServer {
    pub server: TestServer,
    pub name: String,
    pub proxy: Option<Proxy>,
}

impl std::ops::Deref for HttpsServer {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl HttpsServer {
    /// Starts an instance known as `https://name:<a free port>` behind `front`.
    pub async fn start(
        db: &TestDb,
        ca: &Ca,
        name: &str,
        front: Front,
        adjust: impl FnOnce(&mut Config),
    ) -> HttpsServer {
        ensure_hosts(&[name]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let upstream = listener.local_addr().expect("address").port();
        let leaf = ca.issue(&[name]);
        let (public_port, proxy) = match front {
            Front::Direct => (upstream, None),
            Front::Caddy | Front::Nginx => {
                let kind = if front == Front::Caddy {
                    ProxyKind::Caddy
                } else {
                    ProxyKind::Nginx
                };
                let site = Site {
                    name: name.to_owned(),
                    port: free_port(),
                    upstream,
                    certificate: leaf.clone(),
                };
                let port = site.port;
                let proxy = tokio::task::spawn_blocking(move || Proxy::start(kind, &[site]))
                    .await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
                (port, Some(proxy))
            }
        };
        let certificate = (front == Front::Direct).then_some(&leaf);
        let server = start_maillage(db, ca, name, public_port, listener, certificate, adjust).await;
        HttpsServer {
            server,
            name: name.to_owned(),
            proxy,
        }
    }

    pub async fn stop(self) {
        self.server.stop().await;
        drop(self.proxy);
    }
}

// ---------------------------------------------------------------------------------------
// Peers: Fedify (Node) and activityrelay (Python, through `super::python`).

/// A lock file created exclusively, so that two test processes do not install a peer's
/// packages in the same folder at once; removed on drop.
pub struct InstallLock(PathBuf);

impl InstallLock {
    pub fn acquire(name: &str) -> InstallLock {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        let deadline = Instant::now() + Duration::from_secs(900);
        loop {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return InstallLock(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    // A lock left by a process that died long ago is stale.
                    let stale = fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|m| m.elapsed().ok())
                        .is_some_and(|age| age > Duration::from_secs(900));
                    if stale {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "timed out waiting for the lock {} (remove it if no test is running)",
                        path.display()
                    );
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => panic!("cannot create the lock {}: {e}", path.display()),
            }
        }
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

pub fn run(command: &mut Command, what: &str) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A virtual environment with activityrelay and its pinned dependencies
/// (`tests/peers/relay/requirements.txt`).
pub fn prepare_relay() -> PathBuf {
    super::python::prepare_venv("relay", "activityrelay")
}

/// activityrelay known as `https://domain` (through a proxy on port 443), listening on
/// `127.0.0.1:port` in plain HTTP, with an SQLite database and its cache in it, one delivery
/// worker, and the test CA as its only trusted authority.
pub struct Relay {
    pub process: Process,
    pub port: u16,
    pub domain: String,
    venv: PathBuf,
    dir: tempfile::TempDir,
}

impl Relay {
    /// The inboxes subscribed to the relay, as its own command lists them.
    pub fn inboxes(&self) -> String {
        let output = Command::new(self.venv.join("bin/activityrelay"))
            .arg("-c")
            .arg(self.dir.path().join("relay.yaml"))
            .args(["inbox", "list"])
            .current_dir(self.dir.path())
            .output()
            .expect("activityrelay inbox list");
        assert!(
            output.status.success(),
            "activityrelay inbox list failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn start(ca: &Ca, domain: &str) -> Relay {
        let venv = prepare_relay();
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = free_port();
        let config = dir.path().join("relay.yaml");
        fs::write(
            &config,
            format!(
                "listen: 127.0.0.1\nport: {port}\ndomain: {domain}\nworkers: 1\n\
                 database_type: sqlite\ncache_type: database\nsqlite_path: {}\n",
                dir.path().join("relay.sqlite3").display()
            ),
        )
        .expect("write relay.yaml");
        let relay = |args: &[&str]| {
            let mut command = Command::new(venv.join("bin/activityrelay"));
            command
                .arg("-c")
                .arg(&config)
                .args(args)
                .current_dir(dir.path())
                .env("SSL_CERT_FILE", ca.pem_path())
                .env("REQUESTS_CA_BUNDLE", ca.pem_path());
            command
        };
        // `setup` creates the database and the relay's key, then asks whether to run: no.
        let mut setup = relay(&["setup", "--skip-questions"]);
        let mut child = setup
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("activityrelay setup");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(b"n\n");
        }
        let output = child.wait_with_output().expect("activityrelay setup");
        assert!(
            output.status.success(),
            "activityrelay setup failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let mut process = Process::spawn(
            "activityrelay",
            relay(&["run"]),
            dir.path().join("relay.log"),
        );
        process.wait_for_port(port);
        Relay {
            process,
            port,
            domain: domain.to_owned(),
            venv,
            dir,
        }
    }
}
