//! The soak mode (`maillage-bench soak`): minutes of a steady mixed load on the real
//! server — readers of the pages, the feeds and the read API, signed inbox activities,
//! writes through the API, a fan-out every few seconds — that prints each minute what was
//! done and the server's memory, then a table per route, the deliveries of the fan-outs,
//! and fails if a request failed, a delivery was lost or the memory grew.

mod load;
mod record;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use reqwest::Method;
use serde_json::{Value, json};

use self::load::{Site, call};
use self::record::{
    Counts, Ledger, MEMORY_TOLERANCE, Memory, Recorder, memory_grew, route_rows, route_table,
};
use crate::inbox::senders_at;
use crate::instance::{ScratchPostgres, prepare, sqlite_url};
use crate::stand_ins::{StandIns, receivers};
use crate::{BenchResult, Server, scratch_dir, server_binary, start_server};

/// A request not answered in this time is an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the deliveries of the fan-outs may take to arrive after the load stops.
const DRAIN: Duration = Duration::from_secs(120);
/// Remote actors posting to the inbox, each on a stand-in instance of its own.
const SENDERS: usize = 20;
/// The scratch database made on a PostgreSQL server.
const POSTGRES_DATABASE: &str = "maillage_soak";

#[derive(Parser, Debug)]
#[command(
    name = "maillage-bench soak",
    about = "A steady mixed load on the real server for minutes: nothing may fail, no delivery may be lost, memory may not grow"
)]
struct SoakArgs {
    /// How long the load lasts, in minutes.
    #[arg(long, default_value_t = 5)]
    minutes: u64,
    /// Concurrent readers of pages, feeds and the read API.
    #[arg(long, default_value_t = 200)]
    readers: usize,
    /// Run on PostgreSQL: the URL of a database on the server, where the soak creates (and
    /// drops afterwards) a database `maillage_soak` of its own. SQLite by default.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Signed inbox activities a second.
    #[arg(long, default_value_t = 50.0)]
    inbox_per_second: f64,
    /// Writes through the API a second (each a creation and a change, or a change).
    #[arg(long, default_value_t = 4.0)]
    writes_per_second: f64,
    /// Seconds between two fan-outs.
    #[arg(long, default_value_t = 5)]
    fan_out_seconds: u64,
    /// Stand-in instances following the pole that fans out.
    #[arg(long, default_value_t = 100)]
    followers: usize,
    /// Projects and events (half each), and as many members, published before the load on
    /// a pole of their own: a directory as an instance has after months, whose feeds are
    /// full (`feeds.max_items`, 500) from the first minute. 0 for the bare seed.
    #[arg(long, default_value_t = 600)]
    directory: usize,
}

pub(crate) async fn run(args: impl Iterator<Item = String>) -> BenchResult<()> {
    let args = match SoakArgs::try_parse_from(std::iter::once("soak".to_owned()).chain(args)) {
        Ok(args) => args,
        Err(e) => {
            e.print()?;
            return if e.use_stderr() {
                Err("wrong arguments".into())
            } else {
                Ok(())
            };
        }
    };
    if args.minutes == 0 || args.readers == 0 || args.followers == 0 || args.fan_out_seconds == 0 {
        return Err(
            "--minutes, --readers, --followers and --fan-out-seconds must be at least 1".into(),
        );
    }
    if !(args.inbox_per_second > 0.0 && args.writes_per_second > 0.0) {
        return Err("--inbox-per-second and --writes-per-second must be above 0".into());
    }
    let dir = scratch_dir("maillage-soak-")?;
    let (database_url, scratch) = match &args.postgres {
        Some(server) => {
            let scratch = ScratchPostgres::create(server, POSTGRES_DATABASE).await?;
            (scratch.url.clone(), Some(scratch))
        }
        None => (sqlite_url(dir.path()), None),
    };
    let result = soak(&args, dir.path(), &database_url).await;
    if let Some(scratch) = scratch {
        scratch.drop_database().await?;
    }
    result
}

async fn soak(args: &SoakArgs, dir: &std::path::Path, database_url: &str) -> BenchResult<()> {
    let binary = server_binary()?;
    let backend = if args.postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "Soak: {} min on {backend}, {} readers, {} signed inbox activities/s, {} API writes/s, \
         a fan-out to {} instances every {} s",
        args.minutes,
        args.readers,
        args.inbox_per_second,
        args.writes_per_second,
        args.followers,
        args.fan_out_seconds
    );
    println!(
        "An error is a request that failed, was answered with another status than expected \
         (such as a 4xx where a 2xx was expected), or was not answered within {} s.",
        REQUEST_TIMEOUT.as_secs()
    );

    // The stand-in instances take their ports before the server.
    let stand_ins = StandIns::start()?;
    let ledger = Arc::new(Ledger::default());
    let (followers, _listening) =
        receivers(stand_ins.handle()?, args.followers, ledger.clone()).await?;
    let elsewhere = Arc::new(record::Counter::default());
    let (sender_ports, _senders_listening) =
        receivers(stand_ins.handle()?, SENDERS, elsewhere.clone()).await?;
    let instance = prepare(database_url, &[&followers], &[]).await?;
    let hosts: Vec<String> = sender_ports
        .iter()
        .map(|port| format!("127.0.0.1:{port}"))
        .collect();
    let senders = Arc::new(senders_at(&instance.store, &hosts).await?);
    instance.close().await?;
    let server = start_server(&binary, dir, database_url, instance.port).await?;

    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(args.readers + 64)
        .build()?;
    let seeded = seed(&client, &instance.base, &instance.token).await?;
    fill_directory(&client, &instance.base, &instance.token, args.directory).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = memory(&server);
    println!(
        "Server (pid {}) seeded and idle: {:.1} MiB resident",
        server.pid(),
        idle.rss
    );
    println!();

    let start = Instant::now();
    let minute = Duration::from_secs(60);
    let site = Arc::new(Site {
        client,
        base: instance.base.clone(),
        token: instance.token.clone(),
        poles: seeded.poles,
        projects: seeded.projects,
        events: seeded.events,
        written: seeded.written,
        fanned: instance
            .poles
            .first()
            .ok_or("no pole to fan out from")?
            .pole
            .slug
            .clone(),
        recorder: Recorder::default(),
        end: start + minute * u32::try_from(args.minutes)?,
    });
    let reads = Arc::new(site.reads());
    let mut readers = tokio::task::JoinSet::new();
    for n in 0..args.readers {
        readers.spawn(load::reader(site.clone(), reads.clone(), n * 7));
    }
    let inbox = tokio::spawn(load::inbox(
        site.clone(),
        senders.clone(),
        args.inbox_per_second,
    ));
    let writes = tokio::spawn(load::writes(site.clone(), args.writes_per_second));
    let fan_outs = tokio::spawn(load::fan_outs(
        site.clone(),
        Duration::from_secs(args.fan_out_seconds),
    ));

    let mut per_minute = Vec::new();
    let mut before = Counts::default();
    for m in 1..=args.minutes {
        tokio::time::sleep_until((start + minute * u32::try_from(m)?).into()).await;
        let memory = memory(&server);
        let now = site.recorder.counts();
        println!(
            "minute {m}: {} requests ({:.0}/s), {} errors, {} 5xx; resident {:.1} MiB (anonymous {:.1}, peak {:.1})",
            now.requests - before.requests,
            (now.requests - before.requests) as f64 / 60.0,
            now.errors - before.errors,
            now.server_errors - before.server_errors,
            memory.rss,
            memory.anonymous,
            memory.peak
        );
        per_minute.push(memory);
        before = now;
    }
    while readers.join_next().await.is_some() {}
    let sent = inbox.await?;
    let write_ticks = writes.await?;
    let published = fan_outs.await?;
    let load_ended = start.elapsed();

    let expected = published * args.followers as u64;
    let drain = Instant::now();
    let drained = ledger.drained(expected, DRAIN).await;
    let drain_time = drain.elapsed();
    let end_memory = memory(&server);
    drop(server);

    println!();
    println!(
        "Load ran {:.0} s: {sent} inbox activities sent, {write_ticks} writes started, {published} fan-outs published",
        load_ended.as_secs_f64()
    );
    println!();
    let rows = route_rows(&site.recorder.routes());
    print!("{}", route_table(&rows));
    let totals = site.recorder.counts();
    println!();
    println!(
        "Totals: {} requests, {} errors, {} 5xx (an error: failed, wrong status, or no answer in {} s)",
        totals.requests,
        totals.errors,
        totals.server_errors,
        REQUEST_TIMEOUT.as_secs()
    );
    for error in site.recorder.first_errors() {
        println!("  {error}");
    }
    let received = ledger.received();
    let duplicates = ledger.duplicates();
    println!(
        "Deliveries of the fan-outs: expected {expected}, received {received}, duplicates {duplicates} \
         ({} within {:.1} s of the end of the load; drain up to {} s)",
        if drained { "all" } else { "NOT all" },
        drain_time.as_secs_f64(),
        DRAIN.as_secs()
    );
    println!(
        "Requests to the senders' instances (accepts of follows): {}",
        elsewhere.get()
    );
    println!();
    println!("Server resident memory (MiB), idle then after each minute:");
    println!("  idle: {:.1} (anonymous {:.1})", idle.rss, idle.anonymous);
    for (m, memory) in per_minute.iter().enumerate() {
        println!(
            "  minute {}: {:.1} (anonymous {:.1})",
            m + 1,
            memory.rss,
            memory.anonymous
        );
    }
    println!(
        "  after the drain: {:.1} (anonymous {:.1}), peak {:.1}",
        end_memory.rss, end_memory.anonymous, end_memory.peak
    );
    let grew = memory_grew(&per_minute, MEMORY_TOLERANCE);
    if let (Some(first), Some(last)) = (per_minute.first(), per_minute.last()) {
        println!(
            "  end vs minute 1, the server's own (anonymous) memory: {:.1} vs {:.1} MiB \
             ({:+.1} %; tolerance +{:.0} %) — {}",
            last.anonymous,
            first.anonymous,
            (last.anonymous / first.anonymous - 1.0) * 100.0,
            MEMORY_TOLERANCE * 100.0,
            if grew { "GREW" } else { "did not grow" }
        );
    }

    let mut failures = Vec::new();
    if totals.errors > 0 {
        failures.push(format!("{} errors", totals.errors));
    }
    if totals.server_errors > 0 {
        failures.push(format!("{} 5xx", totals.server_errors));
    }
    if received < expected {
        failures.push(format!("{} deliveries lost", expected - received));
    }
    if duplicates > 0 {
        failures.push(format!("{duplicates} deliveries received twice"));
    }
    if grew {
        failures.push("memory grew".to_owned());
    }
    println!();
    if failures.is_empty() {
        println!(
            "Soak passed: no error, no 5xx, every delivery arrived once, memory did not grow."
        );
        Ok(())
    } else {
        Err(format!("soak failed: {}", failures.join(", ")).into())
    }
}

fn memory(server: &Server) -> Memory {
    Memory {
        rss: server.memory_mib("VmRSS:"),
        anonymous: server.memory_mib("RssAnon:"),
        peak: server.memory_mib("VmHWM:"),
    }
}

/// What the soak reads and writes, made through the API before the load starts.
struct Seeded {
    poles: Vec<String>,
    projects: Vec<String>,
    events: Vec<String>,
    written: String,
}

/// Poles in Brittany with members, projects and events, and the pole the writes go to.
/// `count` projects and events and `count` members on a pole of their own, eight requests
/// at a time.
async fn fill_directory(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    count: usize,
) -> BenchResult<()> {
    if count == 0 {
        return Ok(());
    }
    let started = Instant::now();
    let pole = "soak-annuaire";
    let create = |path: String, body: Value| {
        let request = client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body);
        async move {
            let response = request.send().await?;
            if response.status() != reqwest::StatusCode::CREATED {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                return Err(format!("filling the directory: {status} {text}").into());
            }
            BenchResult::Ok(())
        }
    };
    create(
        "/api/v1/poles".into(),
        json!({"slug": pole, "name": "Pôle des archives", "territory": {"communes": ["29019"]},
               "themes": ["circular-economy"]}),
    )
    .await?;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..count {
        let (path, body) = if n % 2 == 0 {
            (
                format!("/api/v1/poles/{pole}/projects"),
                json!({
                    "title": format!("Recyclerie solidaire {n}"),
                    "summary": "Réemploi, réparation et vente solidaire d'objets du quotidien",
                    "description": "Une recyclerie **coopérative** portée par les habitants, \
                        les associations d'insertion et les collectivités du territoire.",
                    "themes": ["circular-economy"],
                    "territory": {"communes": ["29019"]}
                }),
            )
        } else {
            (
                format!("/api/v1/poles/{pole}/events"),
                json!({
                    "title": format!("Atelier de réparation {n}"),
                    "starts_at": format!("2037-{:02}-{:02}T14:00", 1 + n % 12, 1 + n % 28),
                    "place": {"name": "Tiers-lieu", "postal_code": "29200", "commune": "29019",
                              "latitude": 48.39, "longitude": -4.49}
                }),
            )
        };
        tasks.spawn(create(path, body));
        tasks.spawn(create(
            format!("/api/v1/poles/{pole}/members"),
            json!({"name": format!("Association {n}"), "legal_form": "association"}),
        ));
        while tasks.len() >= 8 {
            if let Some(done) = tasks.join_next().await {
                done??;
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    println!(
        "Directory filled: {count} projects and events, {count} members ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn seed(client: &reqwest::Client, base: &str, token: &str) -> BenchResult<Seeded> {
    let recorder = Recorder::default();
    let post = |path: String, body: Value| {
        let request = client
            .request(Method::POST, format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body);
        let recorder = &recorder;
        async move {
            let body = call(recorder, "seed", request, 201)
                .await
                .ok_or_else(|| format!("seeding failed: {:?}", recorder.first_errors()))?;
            let value: Value = serde_json::from_slice(&body)?;
            BenchResult::Ok(value)
        }
    };
    let communes = ["35236", "35238", "29019", "56121", "22278", "44109"];
    let themes = [
        "renewable-energy",
        "agriculture-food",
        "circular-economy",
        "mobility",
    ];
    let forms = ["scic", "scop", "association"];
    let mut seeded = Seeded {
        poles: Vec::new(),
        projects: Vec::new(),
        events: Vec::new(),
        written: "soak-ecriture".to_owned(),
    };
    for p in 0..8 {
        let slug = format!("soak-{p}");
        post(
            "/api/v1/poles".into(),
            json!({
                "slug": slug, "name": format!("Pôle coopératif {p}"),
                "summary": "Coopératives d'énergie, légumerie et mobilité solidaire",
                "territory": {"communes": [communes[p % communes.len()]]},
                "themes": [themes[p % themes.len()], themes[(p + 1) % themes.len()]],
                "pooling": ["premises", "equipment"]
            }),
        )
        .await?;
        for m in 0..3 {
            post(
                format!("/api/v1/poles/{slug}/members"),
                json!({"name": format!("Coopérative {p}-{m}"), "legal_form": forms[m % forms.len()]}),
            )
            .await?;
        }
        for o in 0..3 {
            let project = post(
                format!("/api/v1/poles/{slug}/projects"),
                json!({
                    "title": format!("Centrale villageoise {p}-{o}"),
                    "summary": "Des coopératives citoyennes d'énergie renouvelable",
                    "themes": [themes[(p + o) % themes.len()]],
                    "territory": {"communes": [communes[(p + o) % communes.len()]]}
                }),
            )
            .await?;
            seeded.projects.push(
                project["id"]
                    .as_str()
                    .ok_or("a project without id")?
                    .to_owned(),
            );
        }
        for e in 0..2 {
            let event = post(
                format!("/api/v1/poles/{slug}/events"),
                json!({
                    "title": format!("Marché solidaire {p}-{e}"), "starts_at": format!("2036-0{}-1{}T14:00", 1 + e, p),
                    "place": {"name": "Halle", "postal_code": "35600", "commune": "35236", "latitude": 47.65, "longitude": -2.08}
                }),
            )
            .await?;
            seeded.events.push(
                event["id"]
                    .as_str()
                    .ok_or("an event without id")?
                    .to_owned(),
            );
        }
        seeded.poles.push(slug);
    }
    post(
        "/api/v1/poles".into(),
        json!({"slug": seeded.written, "name": "Pôle réemploi", "territory": {"communes": ["35238"]}}),
    )
    .await?;
    Ok(seeded)
}
