//! `maillage-feeds-bench`: time to serve each feed of a directory the size of the French PTCE network.
//!
//! It fills a fresh SQLite database in a temporary directory with 160 poles (the number of
//! PTCE in France), each with 20 members, 5 projects, 10 events and 3 calls, serves it on
//! 127.0.0.1, and prints the median and slowest time and the size of each feed over
//! several requests. Run it with `cargo run --release --bin maillage-feeds-bench`.

use std::time::{Duration, Instant};

use maillage::config::Config;
use maillage::domain::vocab::{LegalForm, Theme};
use maillage::domain::{CallInput, EventInput, MemberInput, PoleInput, ProjectInput};
use maillage::domain::{place::PlaceInput, territory::TerritoryInput};
use maillage::store::Store;
use maillage::web::{AppState, router};

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const POLES: usize = 160;
const MEMBERS: usize = 20;
const PROJECTS: usize = 5;
const EVENTS: usize = 10;
const CALLS: usize = 3;
const REQUESTS: usize = 7;

fn main() -> BenchResult<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn fill(store: &Store) -> BenchResult<()> {
    let communes = [
        "35236", "2A004", "97411", "75056", "69123", "13055", "33063", "59350",
    ];
    for p in 0..POLES {
        let commune = communes[p % communes.len()];
        let pole = PoleInput {
            slug: format!("pole-{p}"),
            name: format!("Pôle de coopération n° {p}"),
            summary: Some("Un pôle territorial de coopération économique".into()),
            description: Some("Des **coopérations** locales, des lieux partagés.".into()),
            territory: TerritoryInput {
                communes: vec![commune.into()],
                ..Default::default()
            },
            themes: vec![Theme::ALL[p % Theme::ALL.len()]],
            shared_place: Some(PlaceInput {
                name: Some("Lieu partagé".into()),
                commune: Some(commune.into()),
                latitude: Some(47.0 + p as f64 / 100.0),
                longitude: Some(-2.0 + p as f64 / 100.0),
                ..Default::default()
            }),
            ..Default::default()
        }
        .validate()?;
        let pole = store.create_pole(&pole).await?;
        for m in 0..MEMBERS {
            let member = MemberInput {
                name: format!("Structure {m} du pôle {p}"),
                legal_form: Some(LegalForm::ALL[m % LegalForm::ALL.len()]),
                ..Default::default()
            }
            .validate()?;
            store.create_member(pole.id, &member).await?;
        }
        for i in 0..PROJECTS {
            let project = ProjectInput {
                title: format!("Projet coopératif {i}"),
                summary: Some("Porté par plusieurs membres".into()),
                ..Default::default()
            }
            .validate()?;
            store.create_project(pole.id, &project).await?;
        }
        for i in 0..EVENTS {
            let event = EventInput {
                title: format!("Rencontre {i}"),
                starts_at: format!("2026-{:02}-{:02}T14:00", 1 + i % 12, 1 + p % 28),
                place: Some(PlaceInput {
                    name: Some("Salle des fêtes".into()),
                    commune: Some(commune.into()),
                    latitude: Some(47.5),
                    longitude: Some(-1.5),
                    ..Default::default()
                }),
                ..Default::default()
            }
            .validate()?;
            store.create_event(pole.id, &event).await?;
        }
        for i in 0..CALLS {
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

async fn run() -> BenchResult<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::Builder::new()
        .prefix("maillage-feeds-bench")
        .tempdir()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.path().join("bench.db").display());
    config.public_url = format!("http://127.0.0.1:{port}");
    config.listen = format!("127.0.0.1:{port}");
    let store = Store::connect(&config).await?;
    store.migrate().await?;
    store.ensure_instance("Maillage bench").await?;
    let started = Instant::now();
    fill(&store).await?;
    println!(
        "maillage-feeds-bench: {POLES} poles, {} members, {} projects, {} events, {} calls (filled in {:.1} s)",
        POLES * MEMBERS,
        POLES * PROJECTS,
        POLES * EVENTS,
        POLES * CALLS,
        started.elapsed().as_secs_f64()
    );
    let app = router(AppState::new(store, config)?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    println!(
        "{:<40} {:>10} {:>10} {:>10}",
        "feed", "median ms", "max ms", "KiB"
    );
    for path in [
        "/feeds/directory.atom",
        "/feeds/directory.rss",
        "/feeds/events.ics",
        "/feeds/directory.geojson",
        "/feeds/poles.csv",
        "/feeds/members.csv",
        "/feeds/gogocarto.json",
        "/feeds/directory.atom?kind=event&region=53&upcoming=true",
        "/poles/pole-7/feed.atom",
        "/poles/pole-7/events.ics",
    ] {
        let mut times = Vec::with_capacity(REQUESTS);
        let mut size = 0;
        for _ in 0..REQUESTS {
            let start = Instant::now();
            let response = client
                .get(format!("http://127.0.0.1:{port}{path}"))
                .send()
                .await?;
            let status = response.status();
            let body = response.bytes().await?;
            if !status.is_success() {
                return Err(format!("{path}: {status}").into());
            }
            times.push(start.elapsed());
            size = body.len();
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{path:<40} {:>10.1} {:>10.1} {:>10.1}",
            ms(times[REQUESTS / 2]),
            ms(times[REQUESTS - 1]),
            size as f64 / 1024.0
        );
    }
    server.abort();
    Ok(())
}
