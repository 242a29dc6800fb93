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
//! `maillage-bench soak` runs instead a steady mixed load for minutes (readers of pages,
//! feeds and the API, signed inbox activities, writes through the API, fan-outs) and
//! checks that nothing fails, no delivery is lost and the server's memory does not grow.
//! `maillage-bench dead` measures instead how long deliveries to live instances take when
//! many followers' servers take connections and never answer; `maillage-bench signatures`,
//! how long checking one request's signature takes with `ring`, as the server does, and
//! with the `rsa` crate, as activitypub_federation does.
//!
//! The server is the real binary, started on a fresh SQLite database in a temporary
//! directory (the soak can use a scratch PostgreSQL database instead); nothing leaves
//! 127.0.0.1. Run it with `cargo run --release --bin maillage-bench`.

mod dead;
mod fan_out;
mod inbox;
mod instance;
mod signatures;
mod soak;
mod stand_ins;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

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
    match std::env::args().nth(1).as_deref() {
        Some("dead") => return dead::dead_destinations().await,
        Some("signatures") => return signatures::run(),
        Some("soak") => return soak::run(std::env::args().skip(2)).await,
        _ => {}
    }

    fan_out::run(cores).await
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

/// A temporary directory for a run's database and server log; MAILLAGE_BENCH_KEEP=1 keeps
/// it for a look afterwards.
fn scratch_dir(prefix: &str) -> BenchResult<tempfile::TempDir> {
    Ok(tempfile::Builder::new()
        .prefix(prefix)
        .disable_cleanup(std::env::var_os("MAILLAGE_BENCH_KEEP").is_some())
        .tempdir()?)
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

/// The value at fraction `p` (0 to 1) of sorted durations: `0.5` the median.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn free_port() -> BenchResult<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
