//! `maillage-bench`: federation throughput and memory of the `maillage` binary on loopback.
//!
//! It measures, in one run:
//! - the machine's raw RSA-2048 signing rate, on one core and on all of them;
//! - deliveries per second when one object fans out to followers on 100 and on 1,000
//!   receiving instances (each a loopback port), and the CPU time per delivery of the
//!   server and of the stand-in instances; five fan-outs per server, each from another
//!   pole to other instances, the target judged on their median;
//! - signed inbox activities (`Like`) verified and stored per second;
//! - the server's resident memory when idle and at its peak.
//!
//! `maillage-bench dead` measures instead how long deliveries to live instances take when
//! many followers' servers take connections and never answer.
//!
//! The server is the real binary, started on a fresh SQLite database in a temporary
//! directory; nothing leaves 127.0.0.1. Run it with `cargo run --release --bin maillage-bench`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use maillage::config::Config;
use maillage::domain::{PoleInput, ProjectInput};
use maillage::federation::signatures::{private_key, sign_request};
use maillage::store::{NewRemoteActor, Role, Store};

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Inbox activities sent in the inbox part, and how many at once.
const INBOX_ACTIVITIES: usize = 6_000;
const INBOX_CONCURRENCY: usize = 32;
/// Remote actors signing those activities.
const SENDERS: usize = 20;
/// The title of the project whose deliveries are counted.
const MARK: &str = "Une légumerie partagée";

fn main() -> BenchResult<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

/// Raises the limit of open files to what the system allows: the stand-in instances of the
/// five fan-outs to 1,000 instances listen on 5,000 ports.
fn raise_open_files() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Nofile);
        if let (Some(current), Some(maximum)) = (limit.current, limit.maximum)
            && current < maximum
        {
            limit.current = Some(maximum);
            if let Err(e) = setrlimit(Resource::Nofile, limit) {
                eprintln!("cannot raise the limit of open files: {e}");
            }
        }
    }
}

async fn run() -> BenchResult<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    raise_open_files();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "maillage-bench {} on {cores} cores",
        env!("CARGO_PKG_VERSION")
    );
    println!("{}", machine());
    println!();
    if std::env::args().nth(1).as_deref() == Some("dead") {
        return dead_destinations().await;
    }

    let (one_core, all_cores) = raw_signing_rate(cores)?;
    let binary = server_binary()?;
    let mut report = Vec::new();
    for followers in [100, 1_000] {
        let run = fan_out_run(&binary, followers, followers == 1_000).await?;
        report.push(run);
    }
    // Measured again afterwards: the machine's speed drifts, and the target takes the faster
    // of the two.
    let (one_core_after, all_cores_after) = raw_signing_rate(cores)?;
    println!(
        "Raw RSA-2048 signing (PKCS#1 v1.5, SHA-256, ring, as the server signs), this machine,"
    );
    println!("before and after the fan-outs:");
    println!(
        "  one core:        {one_core:>8.0} and {one_core_after:>5.0} signatures/s ({:.3} ms each)",
        1000.0 / one_core.max(one_core_after)
    );
    println!("  all {cores} cores:     {all_cores:>8.0} and {all_cores_after:>5.0} signatures/s");
    println!();
    let one_core = one_core.max(one_core_after);
    let all_cores = all_cores.max(all_cores_after);

    println!(
        "Fan-out: one new project delivered to followers on distinct instances, {ROUNDS} times per server"
    );
    println!(
        "(each time from another pole to other instances; the first is the first after start)"
    );
    for run in &report {
        for (n, round) in run.rounds.iter().enumerate() {
            println!(
                "  {:>5} instances, {}: {:>7.0} deliveries/s ({:.2} s), server CPU {:.3} ms per delivery, stand-ins {:.3} ms",
                run.followers,
                n + 1,
                round.deliveries_per_second,
                round.seconds,
                round.cpu_ms_per_delivery,
                round.receivers_cpu_ms_per_delivery
            );
        }
    }
    println!(
        "  signing alone costs {:.3} ms per delivery; half the raw rate of all cores is {:.0}/s",
        1000.0 / one_core,
        all_cores / 2.0
    );
    println!();
    if let Some(inbox) = report.iter().find_map(|r| r.inbox) {
        println!(
            "Inbox: {INBOX_ACTIVITIES} signed Like activities from {SENDERS} actors, {INBOX_CONCURRENCY} at a time, on SQLite"
        );
        let cpu = report
            .iter()
            .find(|r| r.inbox.is_some())
            .map_or(0.0, |r| r.inbox_cpu_ms);
        println!(
            "  {inbox:>7.0} activities/s verified and stored, server CPU {cpu:.3} ms per activity"
        );
        println!();
    }
    println!("Server resident memory (the maillage process):");
    for run in &report {
        println!(
            "  {:>5} followers: idle {:>5.1} MiB, peak {:>5.1} MiB",
            run.followers, run.idle_mib, run.peak_mib
        );
    }
    println!();
    let idle = report.iter().map(|r| r.idle_mib).fold(0.0, f64::max);
    println!("Targets:");
    let mark = |ok: bool| if ok { "met" } else { "NOT met" };
    for run in &report {
        let median = run.median().map_or(0.0, |r| r.deliveries_per_second);
        println!(
            "  fan-out to {} instances (median of {ROUNDS}) >= half the raw signing rate of all cores: {median:.0} vs {:.0} — {}",
            run.followers,
            all_cores / 2.0,
            mark(median >= all_cores / 2.0)
        );
    }
    if let Some(inbox) = report.iter().find_map(|r| r.inbox) {
        println!(
            "  inbox >= 2,000 activities/s on SQLite: {inbox:.0} — {}",
            mark(inbox >= 2000.0)
        );
    }
    println!(
        "  idle memory < 30 MiB: {idle:.1} MiB — {}",
        mark(idle < 30.0)
    );
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or_else(String::new, |kb| {
            format!(", {:.0} GiB", kb / 1024.0 / 1024.0)
        });
    format!("{cpu}{memory}")
}

/// Signatures per second on one core, and on `cores` threads together.
fn raw_signing_rate(cores: usize) -> BenchResult<(f64, f64)> {
    let pair = activitypub_federation::http_signatures::generate_actor_keypair()?;
    let key = Arc::new(private_key(&pair.private_key)?);
    let measure = |threads: usize| -> BenchResult<f64> {
        let window = Duration::from_secs(2);
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let key = key.clone();
                std::thread::spawn(move || {
                    let start = Instant::now();
                    let mut n = 0u64;
                    while start.elapsed() < window {
                        let text = format!(
                            "(request-target): post /inbox\nhost: instance-{t}.example\ndate: {n}\ndigest: SHA-256=x"
                        );
                        if key.sign(text.as_bytes()).is_ok() {
                            n += 1;
                        }
                    }
                    n as f64 / start.elapsed().as_secs_f64()
                })
            })
            .collect();
        let mut total = 0.0;
        for h in handles {
            total += h.join().map_err(|_| "a signing thread panicked")?;
        }
        Ok(total)
    };
    Ok((measure(1)?, measure(cores)?))
}

/// The `maillage` binary built next to this one.
fn server_binary() -> BenchResult<PathBuf> {
    let me = std::env::current_exe()?;
    let binary = me
        .parent()
        .ok_or("no directory for the benchmark binary")?
        .join(format!("maillage{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        return Err(format!(
            "{} is missing: build it first with `cargo build --release`",
            binary.display()
        )
        .into());
    }
    Ok(binary)
}

/// Fan-outs measured on each server, one after the other, each from its own pole to its own
/// instances: the first after the server started, then the server as it runs. A fan-out to
/// 100 instances lasts about 40 ms, during which a shared machine may pause the server for
/// several; the median of five is not moved by one or two such fan-outs.
const ROUNDS: usize = 5;

/// The name of the threads running the stand-in instances.
const STAND_INS: &str = "stand-in";

/// The runtime of the stand-in instances, stopped without waiting when dropped (a runtime
/// cannot be dropped from within another).
struct StandIns(Option<tokio::runtime::Runtime>);

impl StandIns {
    fn handle(&self) -> BenchResult<&tokio::runtime::Handle> {
        Ok(self
            .0
            .as_ref()
            .ok_or("the stand-in runtime stopped")?
            .handle())
    }
}

impl Drop for StandIns {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// One fan-out.
struct Round {
    seconds: f64,
    deliveries_per_second: f64,
    cpu_ms_per_delivery: f64,
    receivers_cpu_ms_per_delivery: f64,
}

struct RunReport {
    followers: usize,
    rounds: Vec<Round>,
    idle_mib: f64,
    peak_mib: f64,
    inbox: Option<f64>,
    inbox_cpu_ms: f64,
}

impl RunReport {
    /// The round of median rate.
    fn median(&self) -> Option<&Round> {
        let mut rounds: Vec<&Round> = self.rounds.iter().collect();
        rounds.sort_by(|a, b| a.deliveries_per_second.total_cmp(&b.deliveries_per_second));
        rounds.get(rounds.len() / 2).copied()
    }
}

/// The deliveries of the marked project that one round's stand-ins received, and the
/// moment the last one expected arrived: the end of the fan-out, taken where it happens
/// rather than by a clock polling the count.
struct Tally {
    received: AtomicUsize,
    expected: usize,
    last: std::sync::OnceLock<Instant>,
    done: tokio::sync::Notify,
    /// When each delivery arrived, for the latencies of the dead-destinations mode.
    arrivals: std::sync::Mutex<Vec<Instant>>,
}

impl Tally {
    fn new(expected: usize) -> Tally {
        Tally {
            received: AtomicUsize::new(0),
            expected,
            last: std::sync::OnceLock::new(),
            done: tokio::sync::Notify::new(),
            arrivals: std::sync::Mutex::new(Vec::with_capacity(expected)),
        }
    }

    fn count(&self) {
        if let Ok(mut arrivals) = self.arrivals.lock() {
            arrivals.push(Instant::now());
        }
        if self.received.fetch_add(1, Ordering::SeqCst) + 1 == self.expected {
            let _ = self.last.set(Instant::now());
            self.done.notify_one();
        }
    }

    fn received(&self) -> usize {
        self.received.load(Ordering::SeqCst)
    }

    /// When the last expected delivery arrived, waiting for it until `deadline`.
    async fn finished(&self, deadline: Duration) -> BenchResult<Instant> {
        let wait = async {
            loop {
                if let Some(last) = self.last.get() {
                    return *last;
                }
                self.done.notified().await;
            }
        };
        tokio::time::timeout(deadline, wait).await.map_err(|_| {
            format!(
                "only {} of {} deliveries arrived in time",
                self.received(),
                self.expected
            )
            .into()
        })
    }
}

/// Stand-in instances: each a loopback port whose shared inbox counts the deliveries of
/// the marked project. They are as lean as an HTTP/1.1 server can be (read the request,
/// answer 202 and close), so that the machine's two cores go to the server measured; the
/// connection closed after each answer keeps every fan-out on new connections, as a
/// fan-out to instances not written to lately is. They stop listening when the returned
/// set is dropped.
async fn receivers(
    runtime: &tokio::runtime::Handle,
    count: usize,
    received: Arc<Tally>,
) -> BenchResult<(Vec<u16>, tokio::task::JoinSet<()>)> {
    let mut ports = Vec::with_capacity(count);
    let mut servers = tokio::task::JoinSet::new();
    for _ in 0..count {
        let received = received.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        ports.push(listener.local_addr()?.port());
        servers.spawn_on(
            async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(receive(stream, received.clone()));
                }
            },
            runtime,
        );
    }
    Ok((ports, servers))
}

/// Reads one request, counts it if it carries the marked project, answers 202 and closes.
async fn receive(mut stream: tokio::net::TcpStream, received: Arc<Tally>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    let mut expected = None;
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        request.extend_from_slice(&chunk[..n]);
        if expected.is_none()
            && let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n")
        {
            let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            expected = Some(end + 4 + length);
        }
        if expected.is_some_and(|total| request.len() >= total) {
            break;
        }
    }
    if request.windows(MARK.len()).any(|w| w == MARK.as_bytes()) {
        received.count();
    }
    let _ = stream
        .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await;
    let _ = stream.shutdown().await;
}

/// The running server, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `VmRSS` or `VmHWM` (the peak) of the process, in MiB.
    fn memory_mib(&self, field: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0)
    }

    /// User and system CPU time of the process so far, in seconds.
    fn cpu_seconds(&self) -> f64 {
        cpu_seconds(&self.pid().to_string(), None)
    }
}

/// CPU time so far of the threads of a process (`self` for this one), or of those of its
/// threads with a given name, in seconds: the sum of the time the scheduler ran them
/// (`/proc/PID/task/*/schedstat`, in nanoseconds), finer than the 10 ms ticks of
/// `/proc/PID/stat`. Threads that ended are not counted.
fn cpu_seconds(pid: &str, named: Option<&str>) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    let nanos: u64 = tasks
        .filter_map(|task| {
            let task = task.ok()?.path();
            if let Some(name) = named
                && std::fs::read_to_string(task.join("comm")).ok()?.trim() != name
            {
                return None;
            }
            let text = std::fs::read_to_string(task.join("schedstat")).ok()?;
            text.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum();
    nanos as f64 / 1e9
}

async fn start_server(
    binary: &Path,
    dir: &Path,
    database_url: &str,
    port: u16,
) -> BenchResult<Server> {
    let log = std::fs::File::create(dir.join("server.log"))?;
    let child = Command::new(binary)
        .current_dir(dir)
        .env("MAILLAGE_DATABASE_URL", database_url)
        .env("MAILLAGE_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("MAILLAGE_LISTEN", format!("127.0.0.1:{port}"))
        .env("MAILLAGE_FEDERATION_DEVELOPMENT_MODE", "true")
        .env("MAILLAGE_FEDERATION_INBOX_REQUESTS_PER_MINUTE", "0")
        .env(
            "MAILLAGE_LOG_FILTER",
            std::env::var("MAILLAGE_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await
            && r.status().is_success()
        {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    Err(format!("the server did not start:\n{log}").into())
}

fn free_port() -> BenchResult<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A signed `Like` ready to post.
struct SignedPost {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn fan_out_run(binary: &Path, followers: usize, with_inbox: bool) -> BenchResult<RunReport> {
    // MAILLAGE_BENCH_KEEP=1 keeps the databases and server logs for a look afterwards.
    let dir = tempfile::Builder::new()
        .prefix("maillage-bench-")
        .disable_cleanup(std::env::var_os("MAILLAGE_BENCH_KEEP").is_some())
        .tempdir()?;
    // The receivers take their ports first, so that the server's, chosen afterwards, cannot
    // be one of theirs. Each round has its own pole and its own instances.
    // The stand-in instances run on threads of their own, whose CPU time is theirs alone.
    let stand_ins = StandIns(Some(
        tokio::runtime::Builder::new_multi_thread()
            .thread_name(STAND_INS)
            .enable_all()
            .build()?,
    ));
    let mut sets = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let received = Arc::new(Tally::new(followers));
        let (ports, listening) =
            receivers(stand_ins.handle()?, followers, received.clone()).await?;
        sets.push((ports, received, listening));
    }
    let port = free_port()?;
    let database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let base = format!("http://127.0.0.1:{port}");
    let mut config = Config::default();
    config.database.url = database_url.clone();
    config.public_url = base.clone();

    // The instance as it would be after followers came: poles, their keys, their followers.
    let store = Store::connect(&config).await?;
    store.migrate().await?;
    store.ensure_instance("Maillage bench").await?;
    store.instance_keys().await?;
    let mut poles = Vec::with_capacity(ROUNDS);
    for (round, (ports, _, _)) in sets.iter().enumerate() {
        let pole = store
            .create_pole(
                &PoleInput {
                    slug: format!("banc-{round}"),
                    name: format!("Pôle banc d'essai {round}"),
                    ..Default::default()
                }
                .validate()?,
            )
            .await?;
        store.pole_keys(pole.id).await?;
        for port in ports {
            let actor = store
                .upsert_remote_actor(&NewRemoteActor {
                    ap_id: format!("http://127.0.0.1:{port}/users/f"),
                    kind: "Person".into(),
                    username: Some("f".into()),
                    name: None,
                    domain: format!("127.0.0.1:{port}"),
                    inbox: format!("http://127.0.0.1:{port}/users/f/inbox"),
                    shared_inbox: Some(format!("http://127.0.0.1:{port}/inbox")),
                    key_id: None,
                    public_key_pem: None,
                    url: None,
                })
                .await?;
            store
                .add_follower(
                    &pole.ap_id,
                    Some(pole.id),
                    actor.id,
                    &format!("http://127.0.0.1:{port}/follows/{round}"),
                    "accepted",
                )
                .await?;
        }
        poles.push(pole);
    }
    let user = store.create_user("bench", None, None, Role::Admin).await?;
    let token = maillage::auth::new_token();
    store
        .create_token(user.id, "bench", &token.prefix, &token.hash)
        .await?;
    let target = store
        .create_project(
            poles[0].id,
            &ProjectInput {
                title: "À aimer".into(),
                ..Default::default()
            }
            .validate()?,
        )
        .await?;
    let senders = if with_inbox {
        senders(&store).await?
    } else {
        Vec::new()
    };
    // What was set up here is history: only the projects created below are published.
    sea_orm::ConnectionTrait::execute_unprepared(
        store.connection(),
        "UPDATE changes SET federated_at = created_at",
    )
    .await?;
    store.close().await?;

    let server = start_server(binary, dir.path(), &database_url, port).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_mib = server.memory_mib("VmRSS:");

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let mut rounds = Vec::with_capacity(ROUNDS);
    for (pole, (_, received, _)) in poles.iter().zip(&sets) {
        let cpu_before = server.cpu_seconds();
        let own_cpu_before = cpu_seconds("self", Some(STAND_INS));
        let start = Instant::now();
        let response = client
            .post(format!("{base}/api/v1/poles/{}/projects", pole.pole.slug))
            .bearer_auth(&token.token)
            .json(&serde_json::json!({"title": MARK, "summary": "Pour les cantines du territoire"}))
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(format!("creating the project failed: {}", response.status()).into());
        }
        let last = received.finished(Duration::from_secs(300)).await?;
        let seconds = last.duration_since(start).as_secs_f64();
        let cpu = server.cpu_seconds() - cpu_before;
        let own_cpu = cpu_seconds("self", Some(STAND_INS)) - own_cpu_before;
        rounds.push(Round {
            seconds,
            deliveries_per_second: followers as f64 / seconds,
            cpu_ms_per_delivery: cpu * 1000.0 / followers as f64,
            receivers_cpu_ms_per_delivery: own_cpu * 1000.0 / followers as f64,
        });
        // The outcomes of the last deliveries are written before the next round.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let inbox_cpu_before = server.cpu_seconds();
    let inbox = if with_inbox {
        let ap_id = format!("{base}/projects/{}", target.public_id);
        Some(inbox_run(&client, &base, &ap_id, &senders).await?)
    } else {
        None
    };
    let inbox_cpu_ms = (server.cpu_seconds() - inbox_cpu_before) * 1000.0 / INBOX_ACTIVITIES as f64;
    let peak_mib = server.memory_mib("VmHWM:");
    drop(server);
    Ok(RunReport {
        followers,
        rounds,
        idle_mib,
        peak_mib,
        inbox,
        inbox_cpu_ms,
    })
}

/// Remote actors known to the instance, with the private keys they sign with.
async fn senders(
    store: &Store,
) -> BenchResult<Vec<(String, maillage::federation::signatures::SigningKey)>> {
    let mut senders = Vec::with_capacity(SENDERS);
    for n in 0..SENDERS {
        let pair = activitypub_federation::http_signatures::generate_actor_keypair()?;
        let ap_id = format!("http://127.0.0.{}:9/users/s{n}", 2 + n % 200);
        store
            .upsert_remote_actor(&NewRemoteActor {
                ap_id: ap_id.clone(),
                kind: "Person".into(),
                username: Some(format!("s{n}")),
                name: None,
                domain: format!("127.0.0.{}:9", 2 + n % 200),
                inbox: format!("{ap_id}/inbox"),
                shared_inbox: None,
                key_id: Some(format!("{ap_id}#main-key")),
                public_key_pem: Some(pair.public_key),
                url: None,
            })
            .await?;
        senders.push((ap_id, private_key(&pair.private_key)?));
    }
    Ok(senders)
}

/// Posts signed `Like`s (signed beforehand, so that only the server's work is timed).
async fn inbox_run(
    client: &reqwest::Client,
    base: &str,
    object: &str,
    senders: &[(String, maillage::federation::signatures::SigningKey)],
) -> BenchResult<f64> {
    let url = url::Url::parse(&format!("{base}/inbox"))?;
    let mut posts = Vec::with_capacity(INBOX_ACTIVITIES);
    for n in 0..INBOX_ACTIVITIES {
        let (actor, key) = &senders[n % senders.len()];
        let body = serde_json::to_vec(&serde_json::json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}/likes/{n}"),
            "type": "Like",
            "actor": actor,
            "object": object,
        }))?;
        let headers = sign_request(
            &url,
            Some(&body),
            &format!("{actor}#main-key"),
            key,
            SystemTime::now(),
        )?;
        posts.push(SignedPost {
            headers: headers.into_iter().filter(|(k, _)| k != "host").collect(),
            body,
        });
    }
    let posts = Arc::new(posts);
    let next = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..INBOX_CONCURRENCY {
        let (posts, next, accepted, client, url) = (
            posts.clone(),
            next.clone(),
            accepted.clone(),
            client.clone(),
            url.clone(),
        );
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                let Some(post) = posts.get(n) else { break };
                let mut request = client
                    .post(url.clone())
                    .header("content-type", "application/activity+json")
                    .body(post.body.clone());
                for (name, value) in &post.headers {
                    request = request.header(name, value);
                }
                if let Ok(r) = request.send().await
                    && r.status() == reqwest::StatusCode::ACCEPTED
                {
                    accepted.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let seconds = start.elapsed().as_secs_f64();
    let accepted = accepted.load(Ordering::SeqCst);
    if accepted != INBOX_ACTIVITIES {
        return Err(
            format!("only {accepted} of {INBOX_ACTIVITIES} activities were accepted").into(),
        );
    }
    Ok(accepted as f64 / seconds)
}

/// Followers' servers that take connections and never answer, in the dead-destinations
/// mode: as many as delivery slots and more.
const DEAD: usize = 70;
/// Live instances following each pole in that mode, and publications.
const LIVE: usize = 100;
const PUBLICATIONS: usize = 10;

/// Loopback ports that take connections, read what comes and never answer.
async fn black_holes(
    runtime: &tokio::runtime::Handle,
    count: usize,
) -> BenchResult<(Vec<u16>, tokio::task::JoinSet<()>)> {
    let mut ports = Vec::with_capacity(count);
    let mut servers = tokio::task::JoinSet::new();
    for _ in 0..count {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        ports.push(listener.local_addr()?.port());
        servers.spawn_on(
            async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                while let Ok((mut stream, _)) = listener.accept().await {
                    tokio::spawn(async move {
                        use tokio::io::AsyncReadExt;
                        let mut buffer = [0u8; 8192];
                        while matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {}
                    });
                }
            },
            runtime,
        );
    }
    Ok((ports, servers))
}

/// Latencies of the deliveries to live instances: from the request creating the project to
/// the delivery's arrival, per publication.
struct Latencies {
    per_publication: Vec<Vec<Duration>>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The dead-destinations mode: publications from poles followed by live instances and by
/// `DEAD` servers that never answer, against the same without them.
async fn dead_destinations() -> BenchResult<()> {
    let binary = server_binary()?;
    println!(
        "Dead destinations: {PUBLICATIONS} publications, each from its own pole to {LIVE} live instances,"
    );
    println!(
        "with and without {DEAD} more followers' servers that take connections and never answer"
    );
    println!(
        "(default settings: delivery_concurrency 64, connect_timeout_seconds 5, request_timeout_seconds 10)"
    );
    let mut summaries = Vec::new();
    for dead in [0, DEAD] {
        let latencies = dead_run(&binary, dead).await?;
        let mut all: Vec<Duration> = latencies
            .per_publication
            .iter()
            .flatten()
            .copied()
            .collect();
        all.sort_unstable();
        println!("  {dead} dead servers:");
        for (n, one) in latencies.per_publication.iter().enumerate() {
            let mut one = one.clone();
            one.sort_unstable();
            println!(
                "    publication {:>2}: p50 {:>8.1} ms, p95 {:>8.1} ms, slowest {:>8.1} ms",
                n + 1,
                ms(percentile(&one, 0.5)),
                ms(percentile(&one, 0.95)),
                ms(percentile(&one, 1.0))
            );
        }
        let p50 = percentile(&all, 0.5);
        println!(
            "    all {} deliveries to live instances: p50 {:.1} ms, p95 {:.1} ms, slowest {:.1} ms",
            all.len(),
            ms(p50),
            ms(percentile(&all, 0.95)),
            ms(percentile(&all, 1.0))
        );
        summaries.push(p50);
    }
    if let [without, with] = summaries[..] {
        let ratio = with.as_secs_f64() / without.as_secs_f64().max(1e-9);
        println!();
        println!("Target:");
        println!(
            "  p50 with {DEAD} dead servers within 2x of none: {:.1} vs {:.1} ms ({ratio:.2}x) — {}",
            ms(with),
            ms(without),
            if ratio <= 2.0 { "met" } else { "NOT met" }
        );
    }
    Ok(())
}

async fn dead_run(binary: &Path, dead: usize) -> BenchResult<Latencies> {
    let dir = tempfile::Builder::new()
        .prefix("maillage-bench-dead-")
        .disable_cleanup(std::env::var_os("MAILLAGE_BENCH_KEEP").is_some())
        .tempdir()?;
    let stand_ins = StandIns(Some(
        tokio::runtime::Builder::new_multi_thread()
            .thread_name(STAND_INS)
            .enable_all()
            .build()?,
    ));
    let (dead_ports, _holes) = black_holes(stand_ins.handle()?, dead).await?;
    let mut sets = Vec::with_capacity(PUBLICATIONS);
    for _ in 0..PUBLICATIONS {
        let received = Arc::new(Tally::new(LIVE));
        let (ports, listening) = receivers(stand_ins.handle()?, LIVE, received.clone()).await?;
        sets.push((ports, received, listening));
    }
    let port = free_port()?;
    let database_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let base = format!("http://127.0.0.1:{port}");
    let mut config = Config::default();
    config.database.url = database_url.clone();
    config.public_url = base.clone();
    let store = Store::connect(&config).await?;
    store.migrate().await?;
    store.ensure_instance("Maillage bench").await?;
    store.instance_keys().await?;
    let mut poles = Vec::with_capacity(PUBLICATIONS);
    for (round, (ports, _, _)) in sets.iter().enumerate() {
        let pole = store
            .create_pole(
                &PoleInput {
                    slug: format!("banc-{round}"),
                    name: format!("Pôle banc d'essai {round}"),
                    ..Default::default()
                }
                .validate()?,
            )
            .await?;
        store.pole_keys(pole.id).await?;
        // The dead servers follow every pole.
        for port in ports.iter().chain(&dead_ports) {
            let actor = store
                .upsert_remote_actor(&NewRemoteActor {
                    ap_id: format!("http://127.0.0.1:{port}/users/f"),
                    kind: "Person".into(),
                    username: Some("f".into()),
                    name: None,
                    domain: format!("127.0.0.1:{port}"),
                    inbox: format!("http://127.0.0.1:{port}/users/f/inbox"),
                    shared_inbox: Some(format!("http://127.0.0.1:{port}/inbox")),
                    key_id: None,
                    public_key_pem: None,
                    url: None,
                })
                .await?;
            store
                .add_follower(
                    &pole.ap_id,
                    Some(pole.id),
                    actor.id,
                    &format!("http://127.0.0.1:{port}/follows/{round}"),
                    "accepted",
                )
                .await?;
        }
        poles.push(pole);
    }
    let user = store.create_user("bench", None, None, Role::Admin).await?;
    let token = maillage::auth::new_token();
    store
        .create_token(user.id, "bench", &token.prefix, &token.hash)
        .await?;
    sea_orm::ConnectionTrait::execute_unprepared(
        store.connection(),
        "UPDATE changes SET federated_at = created_at",
    )
    .await?;
    store.close().await?;

    let server = start_server(binary, dir.path(), &database_url, port).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let mut per_publication = Vec::with_capacity(PUBLICATIONS);
    for (pole, (_, received, _)) in poles.iter().zip(&sets) {
        let start = Instant::now();
        let response = client
            .post(format!("{base}/api/v1/poles/{}/projects", pole.pole.slug))
            .bearer_auth(&token.token)
            .json(&serde_json::json!({"title": MARK, "summary": "Pour les cantines du territoire"}))
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(format!("creating the project failed: {}", response.status()).into());
        }
        received.finished(Duration::from_secs(120)).await?;
        let arrivals = received
            .arrivals
            .lock()
            .map_err(|_| "the arrivals' lock was poisoned")?
            .iter()
            .map(|at| at.duration_since(start))
            .collect();
        per_publication.push(arrivals);
        // Publications come a while apart, as people write them.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    drop(server);
    Ok(Latencies { per_publication })
}
