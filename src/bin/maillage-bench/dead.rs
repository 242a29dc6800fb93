//! The dead-destinations mode (`maillage-bench dead`): how long deliveries to live
//! instances take when many followers' servers take connections and never answer.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::instance::{prepare, sqlite_url};
use crate::stand_ins::{StandIns, Tally, black_holes, receivers};
use crate::{BenchResult, MARK, ms, percentile, scratch_dir, server_binary, start_server};

/// Followers' servers that take connections and never answer, in the dead-destinations
/// mode: as many as delivery slots and more.
pub(crate) const DEAD: usize = 70;
/// Live instances following each pole in that mode, and publications.
pub(crate) const LIVE: usize = 100;
pub(crate) const PUBLICATIONS: usize = 10;

/// Latencies of the deliveries to live instances: from the request creating the project to
/// the delivery's arrival, per publication.
pub(crate) struct Latencies {
    per_publication: Vec<Vec<Duration>>,
}

/// The dead-destinations mode: publications from poles followed by live instances and by
/// `DEAD` servers that never answer, against the same without them.
pub(crate) async fn dead_destinations() -> BenchResult<()> {
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

pub(crate) async fn dead_run(binary: &Path, dead: usize) -> BenchResult<Latencies> {
    let dir = scratch_dir("maillage-bench-dead-")?;
    let stand_ins = StandIns::start()?;
    let (dead_ports, _holes) = black_holes(stand_ins.handle()?, dead).await?;
    let mut sets = Vec::with_capacity(PUBLICATIONS);
    for _ in 0..PUBLICATIONS {
        let received = Arc::new(Tally::new(LIVE));
        let (ports, listening) = receivers(stand_ins.handle()?, LIVE, received.clone()).await?;
        sets.push((ports, received, listening));
    }
    let ports: Vec<&[u16]> = sets.iter().map(|(ports, _, _)| ports.as_slice()).collect();
    // The dead servers follow every pole.
    let instance = prepare(&sqlite_url(dir.path()), &ports, &dead_ports).await?;
    instance.close().await?;
    let (base, poles, token) = (&instance.base, &instance.poles, &instance.token);

    let server = start_server(binary, dir.path(), &instance.database_url, instance.port).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let mut per_publication = Vec::with_capacity(PUBLICATIONS);
    for (pole, (_, received, _)) in poles.iter().zip(&sets) {
        let start = Instant::now();
        let response = client
            .post(format!("{base}/api/v1/poles/{}/projects", pole.pole.slug))
            .bearer_auth(token)
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
