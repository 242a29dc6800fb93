//! `maillage-network-bench`: how fast one instance takes in another's directory when it
//! starts following it.
//!
//! Two instances run in this process on loopback (`origin.localhost` and
//! `follower.localhost`, each on its own port and its own SQLite database in a temporary
//! directory; nothing leaves 127.0.0.1). The origin has one pole with 1,000 objects
//! (projects, events and calls: 40 %, 40 %, 20 %); the follower follows the origin by its
//! domain, is accepted, and is sent the whole directory as `Announce`s. The benchmark prints
//! the time from the follow until the follower's directory holds every object, the rate,
//! and the peak resident memory of the process (both instances). `--objects N` changes the
//! number of objects. Run it with `cargo run --release --bin maillage-network-bench`.

use std::time::{Duration, Instant};

use maillage::config::Config;
use maillage::domain::{CallInput, EventInput, PoleInput, ProjectInput, territory::TerritoryInput};
use maillage::store::{PageRequest, Store};
use maillage::web::{AppState, Background, router};

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// How long the follower is given to take everything in.
const TIMEOUT: Duration = Duration::from_secs(1800);

fn main() -> BenchResult<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

/// One instance serving on 127.0.0.1, known as `name`.
struct Instance {
    state: AppState,
    background: Background,
    server: tokio::task::JoinHandle<()>,
    domain: String,
}

async fn start(name: &str, dir: &std::path::Path) -> BenchResult<Instance> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.join(format!("{name}.db")).display());
    config.public_url = format!("http://{name}:{port}");
    config.listen = format!("127.0.0.1:{port}");
    // Loopback peers over http; no inbox rate limit, so that the rate measured is the
    // instances' own.
    config.federation.development_mode = true;
    config.federation.inbox_requests_per_minute = 0;
    config.log.filter = "warn".into();
    let store = Store::connect(&config).await?;
    store.migrate().await?;
    store.ensure_instance(name).await?;
    let state = AppState::new(store, config)?;
    let background = Background::start(&state);
    let app = router(state.clone());
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("the server stopped: {e}");
        }
    });
    Ok(Instance {
        state,
        background,
        server,
        domain: format!("{name}:{port}"),
    })
}

impl Instance {
    async fn stop(self) {
        self.background.stop().await;
        self.server.abort();
        let _ = self.state.store.close().await;
    }
}

/// The origin's pole and its objects: 40 % projects, 40 % events, 20 % calls.
async fn fill(store: &Store, objects: usize) -> BenchResult<()> {
    let pole = PoleInput {
        slug: "redon".into(),
        name: "Pôle de coopération de Redon".into(),
        summary: Some("Un pôle territorial de coopération économique".into()),
        territory: TerritoryInput {
            communes: vec!["35236".into()],
            ..Default::default()
        },
        ..Default::default()
    }
    .validate()?;
    let pole = store.create_pole(&pole).await?;
    let (projects, events) = (objects * 2 / 5, objects * 2 / 5);
    for i in 0..objects {
        if i < projects {
            let project = ProjectInput {
                title: format!("Projet coopératif {i}"),
                summary: Some("Porté par plusieurs membres du pôle".into()),
                description: Some("Une **légumerie** partagée, des circuits courts.".into()),
                ..Default::default()
            }
            .validate()?;
            store.create_project(pole.id, &project).await?;
        } else if i < projects + events {
            let event = EventInput {
                title: format!("Rencontre {i}"),
                starts_at: format!("2027-{:02}-{:02}T14:00", 1 + i % 12, 1 + i % 28),
                online_url: Some(format!("https://visio.example/rencontre-{i}")),
                ..Default::default()
            }
            .validate()?;
            store.create_event(pole.id, &event).await?;
        } else {
            let call = CallInput {
                title: format!("Appel à coopération {i}"),
                direction: Some(maillage::domain::vocab::CallDirection::Seeking),
                subjects: vec![maillage::domain::vocab::CallSubject::ALL[0]],
                how_to_answer: "Écrire au pôle".into(),
                ..Default::default()
            }
            .validate()?;
            store.create_call(pole.id, &call).await?;
        }
    }
    Ok(())
}

/// How many objects of the origin's pole the follower holds.
async fn held(store: &Store, domain: &str) -> BenchResult<u64> {
    let Ok(pole) = store.remote_pole("redon", domain).await else {
        return Ok(0);
    };
    let one = PageRequest {
        page: 1,
        per_page: 1,
    };
    Ok(store.list_projects(pole.id, one).await?.total
        + store.list_events(pole.id, one).await?.total
        + store.list_calls(pole.id, one).await?.total)
}

/// A field of `/proc/self/status` (`VmRSS`, `VmHWM`), in MiB.
fn memory_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
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

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn objects_from_args() -> BenchResult<usize> {
    let mut args = std::env::args().skip(1);
    let mut objects = 1_000;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--objects" => {
                objects = args
                    .next()
                    .ok_or("--objects needs a number")?
                    .parse()
                    .map_err(|_| "--objects needs a whole number")?
            }
            other => return Err(format!("unknown argument `{other}` (--objects N)").into()),
        }
    }
    if objects == 0 {
        return Err("--objects must be at least 1".into());
    }
    Ok(objects)
}

async fn run() -> BenchResult<()> {
    let objects = objects_from_args()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "maillage-network-bench {} on {cores} cores, load average {}",
        env!("CARGO_PKG_VERSION"),
        load_average()
    );
    let dir = tempfile::Builder::new()
        .prefix("maillage-network-bench")
        .tempdir()?;
    let origin = start("origin.localhost", dir.path()).await?;
    let follower = start("follower.localhost", dir.path()).await?;
    let filled = Instant::now();
    fill(&origin.state.store, objects).await?;
    println!(
        "origin {}: 1 pole, {objects} objects (written in {:.1} s)",
        origin.domain,
        filled.elapsed().as_secs_f64()
    );
    let before = memory_mib("VmRSS");

    let started = Instant::now();
    let fed = &follower.state.fed;
    let record = maillage::federation::activities::follow::follow_actor(
        fed,
        &fed.instance_actor_id(),
        &origin.domain,
        false,
    )
    .await?;
    println!(
        "follower {} follows {} (follow {} {})",
        follower.domain, record.actor.ap_id, record.id, record.state
    );
    let mut first = None;
    let mut count = 0;
    while (count as usize) < objects {
        if started.elapsed() > TIMEOUT {
            return Err(format!(
                "after {} s the follower holds {count} of {objects} objects",
                TIMEOUT.as_secs()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        count = held(&follower.state.store, &origin.domain).await?;
        if count > 0 && first.is_none() {
            first = Some(started.elapsed());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "all {objects} objects on the follower after {seconds:.2} s (first after {:.2} s): {:.0} objects/s",
        first.unwrap_or_default().as_secs_f64(),
        objects as f64 / seconds
    );
    println!(
        "memory of the process (both instances): {before:.1} MiB before the follow, {:.1} MiB at its peak",
        memory_mib("VmHWM")
    );
    println!("load average at the end {}", load_average());
    origin.stop().await;
    follower.stop().await;
    Ok(())
}
