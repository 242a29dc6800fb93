//! The default mode: fan-outs of one new project to followers on 100 and 1,000 stand-in
//! instances, against the machine's raw signing rate, with the inbox part and the server's
//! memory; it prints the figures and whether each target is met.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use maillage::domain::ProjectInput;
use maillage::federation::signatures::private_key;

use crate::inbox::{INBOX_ACTIVITIES, INBOX_CONCURRENCY, SENDERS, inbox_run, senders};
use crate::instance::{prepare, sqlite_url};
use crate::stand_ins::{STAND_INS, StandIns, Tally, receivers};
use crate::{BenchResult, MARK, cpu_seconds, scratch_dir, server_binary, start_server};

/// Fan-outs measured on each server, one after the other, each from its own pole to its own
/// instances: the first after the server started, then the server as it runs. A fan-out to
/// 100 instances lasts about 40 ms, during which a shared machine may pause the server for
/// several; the median of five is not moved by one or two such fan-outs.
pub(crate) const ROUNDS: usize = 5;

/// One fan-out.
pub(crate) struct Round {
    seconds: f64,
    deliveries_per_second: f64,
    cpu_ms_per_delivery: f64,
    receivers_cpu_ms_per_delivery: f64,
}

pub(crate) struct RunReport {
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

/// The default mode, on a machine of `cores` cores.
pub(crate) async fn run(cores: usize) -> BenchResult<()> {
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

/// Signatures per second on one core, and on `cores` threads together.
pub(crate) fn raw_signing_rate(cores: usize) -> BenchResult<(f64, f64)> {
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

pub(crate) async fn fan_out_run(
    binary: &Path,
    followers: usize,
    with_inbox: bool,
) -> BenchResult<RunReport> {
    let dir = scratch_dir("maillage-bench-")?;
    // The receivers take their ports first, so that the server's, chosen afterwards, cannot
    // be one of theirs. Each round has its own pole and its own instances.
    // The stand-in instances run on threads of their own, whose CPU time is theirs alone.
    let stand_ins = StandIns::start()?;
    let mut sets = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let received = Arc::new(Tally::new(followers));
        let (ports, listening) =
            receivers(stand_ins.handle()?, followers, received.clone()).await?;
        sets.push((ports, received, listening));
    }
    let ports: Vec<&[u16]> = sets.iter().map(|(ports, _, _)| ports.as_slice()).collect();
    let instance = prepare(&sqlite_url(dir.path()), &ports, &[]).await?;
    let store = &instance.store;
    let target = store
        .create_project(
            instance.poles[0].id,
            &ProjectInput {
                title: "À aimer".into(),
                ..Default::default()
            }
            .validate()?,
        )
        .await?;
    let senders = if with_inbox {
        senders(store).await?
    } else {
        Vec::new()
    };
    instance.close().await?;
    let (base, poles, token) = (&instance.base, &instance.poles, &instance.token);

    let server = start_server(binary, dir.path(), &instance.database_url, instance.port).await?;
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
            .bearer_auth(token)
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
        Some(inbox_run(&client, base, &ap_id, &senders).await?)
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
