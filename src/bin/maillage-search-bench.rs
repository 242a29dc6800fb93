//! `maillage-search-bench`: latency of directory searches with 10,000 poles and 1,000,000 objects, on SQLite and PostgreSQL.
//!
//! It fills a scratch database (a temporary SQLite file; and, when
//! `MAILLAGE_SEARCH_BENCH_POSTGRES` gives a PostgreSQL URL, a scratch database created on
//! that server and dropped afterwards) with poles, members, projects, events and calls
//! written from the domain's vocabulary, builds the directory index the way a migration
//! does, then times `Store::search_directory` on typical queries and prints the median and
//! 95th-percentile latency of each. Run it with
//! `cargo run --release --bin maillage-search-bench` (`--help` for the sizes).
//!
//! Writing a million objects takes minutes: `--sqlite FILE` and `--postgres-database NAME`
//! keep the databases after the run, and a later run with the same options measures them
//! again without writing anything (the index is rebuilt only if its format changed).

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use clap::Parser;
use maillage::config::Config;
use maillage::domain::territory_ref::Reference;
use maillage::domain::vocab::{
    CallStatus, CallSubject, EmployeeBand, LegalForm, PoolingKind, Theme,
};
use maillage::store::Store;
use maillage::store::entities::{calls, events, members, poles, projects};
use maillage::store::search::DirectoryParams;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, Database, EntityTrait, QuerySelect, TransactionTrait,
};
use serde_json::json;

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Draws the parameters of one query of a kind.
type QueryMaker<'a> = Box<dyn Fn(&mut StdRng) -> DirectoryParams + 'a>;

/// The PostgreSQL server to measure too, as the URL of a database to connect to first.
const POSTGRES_ENV: &str = "MAILLAGE_SEARCH_BENCH_POSTGRES";

#[derive(Parser, Debug)]
#[command(about = "Directory search latency with a large directory, on SQLite and PostgreSQL")]
struct Args {
    /// Poles in the directory.
    #[arg(long, default_value_t = 10_000)]
    poles: usize,
    /// Projects, events and calls in the directory, together.
    #[arg(long, default_value_t = 1_000_000)]
    objects: usize,
    /// Timed runs of each kind of query.
    #[arg(long, default_value_t = 200)]
    runs: usize,
    /// Members per pole.
    #[arg(long, default_value_t = 20)]
    members: usize,
    /// The SQLite database file to use and keep (default: a temporary one). When it
    /// already holds poles, nothing is written and the sizes are those it holds.
    #[arg(long, value_name = "FILE")]
    sqlite: Option<std::path::PathBuf>,
    /// The PostgreSQL database to use and keep, on the server of
    /// MAILLAGE_SEARCH_BENCH_POSTGRES, created if missing (default: a scratch database
    /// dropped afterwards). When it already holds poles, nothing is written.
    #[arg(long, value_name = "NAME")]
    postgres_database: Option<String>,
}

fn main() -> BenchResult<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> BenchResult<()> {
    println!(
        "maillage-search-bench {}: {} poles, {} objects, {} members per pole, {} runs per query",
        env!("CARGO_PKG_VERSION"),
        args.poles,
        args.objects,
        args.members,
        args.runs
    );
    let dir = tempfile::tempdir()?;
    let file = match &args.sqlite {
        Some(file) => file.clone(),
        None => dir.path().join("bench.db"),
    };
    let url = format!("sqlite://{}", file.display());
    bench_one("SQLite", &url, &args).await?;

    match std::env::var(POSTGRES_ENV) {
        Ok(base) => {
            let admin = Database::connect(&base).await?;
            let kept = args.postgres_database.clone();
            let name = match &kept {
                Some(name) => {
                    if name.is_empty()
                        || !name
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    {
                        return Err(format!(
                            "--postgres-database `{name}`: use lower-case letters, digits and _"
                        )
                        .into());
                    }
                    name.clone()
                }
                None => format!("maillage_search_bench_{}", std::process::id()),
            };
            let exists = admin
                .query_one_raw(sea_orm::Statement::from_string(
                    admin.get_database_backend(),
                    format!("SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"),
                ))
                .await?
                .is_some();
            if !exists {
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await?;
            }
            let (prefix, _) = base
                .rsplit_once('/')
                .ok_or("the PostgreSQL URL must end with /database")?;
            let result = bench_one("PostgreSQL", &format!("{prefix}/{name}"), &args).await;
            if kept.is_none() {
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await?;
            }
            result?;
        }
        Err(_) => println!("\n{POSTGRES_ENV} is not set: PostgreSQL skipped"),
    }
    Ok(())
}

async fn bench_one(label: &str, url: &str, args: &Args) -> BenchResult<()> {
    println!("\n== {label}");
    let mut config = Config::default();
    config.database.url = url.to_owned();
    config.database.max_connections = 4;
    let store = Store::connect(&config).await?;
    store.migrate().await?;

    let facts = if store.count_poles().await? > 0 {
        println!("  reusing the data already in the database");
        let started = Instant::now();
        if let Some(rows) = store.refresh_directory().await? {
            println!(
                "  directory index rebuilt in {:.1} s ({rows} rows)",
                started.elapsed().as_secs_f64()
            );
        }
        facts_of(&store).await?
    } else {
        let started = Instant::now();
        let facts = generate(&store, args).await?;
        println!("  data written in {:.1} s", started.elapsed().as_secs_f64());
        let started = Instant::now();
        let rows = store.rebuild_directory().await?;
        println!(
            "  directory index built in {:.1} s ({rows} rows)",
            started.elapsed().as_secs_f64()
        );
        facts
    };
    let held = store
        .connection()
        .query_one_raw(sea_orm::Statement::from_string(
            store.connection().get_database_backend(),
            "SELECT COUNT(*) AS n FROM directory",
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    println!("  {held} rows in the directory index");

    let mut rng = StdRng::seed_from_u64(7);
    let words = [
        "énergie",
        "alimentation locale",
        "recyclerie",
        "mobilité solidaire",
        "coopérative",
        "insertion",
        "numérique",
        "habitat participatif",
        "circuits courts",
        "tiers-lieu",
    ];
    let themes: Vec<&str> = Theme::ALL.iter().map(|t| t.id()).collect();
    let queries: [(&str, QueryMaker); 4] = [
        (
            "full text + région",
            Box::new(|rng: &mut StdRng| DirectoryParams {
                q: Some(words[rng.random_range(0..words.len())].into()),
                region: Some(facts.regions[rng.random_range(0..facts.regions.len())].clone()),
                ..Default::default()
            }),
        ),
        (
            "upcoming events in a département",
            Box::new(|rng: &mut StdRng| DirectoryParams {
                upcoming: Some("true".into()),
                departement: Some(
                    facts.departements[rng.random_range(0..facts.departements.len())].clone(),
                ),
                ..Default::default()
            }),
        ),
        (
            "open calls by theme",
            Box::new(|rng: &mut StdRng| DirectoryParams {
                call_status: Some("open".into()),
                theme: Some(themes[rng.random_range(0..themes.len())].into()),
                ..Default::default()
            }),
        ),
        (
            "full text alone",
            Box::new(|rng: &mut StdRng| DirectoryParams {
                q: Some(words[rng.random_range(0..words.len())].into()),
                ..Default::default()
            }),
        ),
    ];
    println!(
        "  {:<36} {:>9} {:>9} {:>9} {:>12}",
        "query (first page of 20)", "median", "p95", "max", "mean hits"
    );
    for (name, make) in &queries {
        // Warm the caches first, as a running instance has them warm.
        for _ in 0..10 {
            store.search_directory(&make(&mut rng).parse()?).await?;
        }
        let mut times = Vec::with_capacity(args.runs);
        let mut hits = 0u64;
        for _ in 0..args.runs {
            let query = make(&mut rng).parse()?;
            let started = Instant::now();
            let page = store.search_directory(&query).await?;
            times.push(started.elapsed());
            hits += page.total;
        }
        times.sort();
        let at =
            |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
        println!(
            "  {:<36} {:>9} {:>9} {:>9} {:>12}",
            name,
            ms(at(0.5)),
            ms(at(0.95)),
            ms(at(1.0)),
            hits / args.runs.max(1) as u64
        );
    }
    let started = Instant::now();
    let stats = store
        .directory_statistics(&DirectoryParams::default().parse()?)
        .await?;
    println!(
        "  statistics over the whole directory: {} ({} poles, {} members)",
        ms(started.elapsed()),
        stats.poles,
        stats.members
    );
    // As the server answers them: kept until the directory changes.
    let cache = maillage::web::statistics_cache::StatisticsCache::default();
    let whole = DirectoryParams::default().parse()?;
    cache.get(&store, &whole).await?;
    let started = Instant::now();
    cache.get(&store, &whole).await?;
    println!(
        "  the same statistics again, kept by the server: {}",
        ms(started.elapsed())
    );
    store.close().await?;
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The régions and départements the generated poles are in, to draw filters from.
struct Facts {
    regions: Vec<String>,
    departements: Vec<String>,
}

/// The [`Facts`] of a database written by an earlier run.
async fn facts_of(store: &Store) -> BenchResult<Facts> {
    let reference = Reference::get();
    let mut regions = Vec::new();
    let mut departements = Vec::new();
    let all: Vec<serde_json::Value> = poles::Entity::find()
        .select_only()
        .column(poles::Column::Communes)
        .into_tuple()
        .all(store.connection())
        .await?;
    for communes in all {
        for code in communes.as_array().into_iter().flatten() {
            let Some(commune) = code.as_str().and_then(|c| reference.commune(c)) else {
                continue;
            };
            if !regions.contains(&commune.region.to_owned()) {
                regions.push(commune.region.to_owned());
            }
            if !departements.contains(&commune.departement.to_owned()) {
                departements.push(commune.departement.to_owned());
            }
        }
    }
    Ok(Facts {
        regions,
        departements,
    })
}

const PREFIXES: &[&str] = &[
    "Pôle",
    "PTCE",
    "Coopérative",
    "Maison",
    "Réseau",
    "Collectif",
    "Fabrique",
    "Archipel",
];
const SUBJECTS: &[&str] = &[
    "de l'énergie citoyenne",
    "des circuits courts",
    "de la recyclerie",
    "du réemploi",
    "de la mobilité solidaire",
    "du numérique responsable",
    "de l'habitat participatif",
    "de l'insertion par l'activité",
    "des savoir-faire locaux",
    "de l'alimentation locale",
    "de l'économie circulaire",
    "des tiers-lieux",
    "de la culture en milieu rural",
    "du tourisme durable",
    "de l'éco-construction",
];
const EVENT_KINDS: &[&str] = &[
    "Atelier",
    "Forum",
    "Marché solidaire",
    "Petit-déjeuner",
    "Journée portes ouvertes",
    "Séminaire de coopération",
    "Formation",
    "Fête",
];
const PROJECT_KINDS: &[&str] = &[
    "Création",
    "Lancement",
    "Structuration",
    "Étude",
    "Développement",
    "Mutualisation",
];
const CALL_KINDS: &[&str] = &[
    "Recherche de partenaires pour",
    "Locaux à partager autour",
    "Appel à bénévoles autour",
    "Compétences recherchées autour",
    "Matériel proposé autour",
];
const SENTENCES: &[&str] = &[
    "Les membres du pôle mutualisent leurs connaissances et leurs expériences.",
    "Un projet porté par plusieurs structures de l'économie sociale et solidaire du territoire.",
    "Ouvert aux habitants, aux associations, aux entreprises et aux collectivités.",
    "Une coopérative d'intérêt collectif réunit producteurs, salariés et citoyens.",
    "Les locaux partagés accueillent des permanences et des ateliers réguliers.",
    "Des emplois partagés grâce à un groupement d'employeurs.",
    "La démarche vise un développement local durable et créateur d'emplois non délocalisables.",
    "Les collectivités locales soutiennent l'initiative depuis sa création.",
    "Un tiers-lieu où se croisent insertion, formation et culture.",
    "Les circuits courts relient les fermes du territoire aux cantines scolaires.",
];

fn pick<'a, T>(rng: &mut StdRng, list: &'a [T]) -> &'a T {
    &list[rng.random_range(0..list.len())]
}

fn text(rng: &mut StdRng, sentences: usize) -> String {
    (0..sentences)
        .map(|_| *pick(rng, SENTENCES))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes the poles and what they publish, in large transactions of multi-row inserts.
async fn generate(store: &Store, args: &Args) -> BenchResult<Facts> {
    let db = store.connection();
    let reference = Reference::get();
    // Communes with some population, as poles are in inhabited places.
    let communes: Vec<_> = reference
        .communes()
        .filter(|c| c.population.unwrap_or(0) >= 500)
        .collect();
    let mut rng = StdRng::seed_from_u64(42);
    let now = Utc::now();
    let base = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .ok_or("date")?;
    let mut regions = Vec::new();
    let mut departements = Vec::new();
    let mut pole_communes: Vec<(String, Vec<Theme>)> = Vec::with_capacity(args.poles);

    let txn = db.begin().await?;
    let mut batch = Vec::new();
    for i in 0..args.poles {
        let commune = *pick(&mut rng, &communes);
        if !regions.contains(&commune.region.to_owned()) {
            regions.push(commune.region.to_owned());
        }
        if !departements.contains(&commune.departement.to_owned()) {
            departements.push(commune.departement.to_owned());
        }
        let themes: Vec<Theme> = (0..rng.random_range(1..4))
            .map(|_| *pick(&mut rng, Theme::ALL))
            .collect();
        let pooling: Vec<PoolingKind> = PoolingKind::ALL
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.4))
            .collect();
        let slug = format!("pole-{i}");
        let created = base + chrono::Duration::minutes(i as i64 * 7);
        batch.push(poles::ActiveModel {
            ap_id: Set(format!("https://bench.example/poles/{slug}")),
            local: Set(i % 3 != 0),
            domain: Set(if i % 3 == 0 {
                "remote.example".into()
            } else {
                "bench.example".into()
            }),
            slug: Set(slug),
            name: Set(format!(
                "{} {} {}",
                pick(&mut rng, PREFIXES),
                pick(&mut rng, SUBJECTS),
                commune.name
            )),
            summary: Set(Some(text(&mut rng, 1))),
            description: Set(Some(text(&mut rng, 4))),
            description_format: Set(Some("markdown".into())),
            description_html: Set(None),
            website: Set(None),
            contact_email: Set(None),
            contact_phone: Set(None),
            founded_year: Set(Some(rng.random_range(2009..2026))),
            legal_form: Set(Some(pick(&mut rng, LegalForm::ALL).id().to_owned())),
            siren: Set(None),
            territory_kind: Set(None),
            territory_label: Set(Some(format!("Pays de {}", commune.name))),
            communes: Set(json!([commune.code])),
            themes: Set(json!(themes.iter().map(|t| t.id()).collect::<Vec<_>>())),
            pooling: Set(json!(pooling.iter().map(|p| p.id()).collect::<Vec<_>>())),
            shared_place: Set(None),
            national_calls: Set(json!([])),
            charter_signed_year: Set(None),
            manually_approves_followers: Set(false),
            replies_need_approval: Set(false),
            logo_media_id: Set(None),
            banner_media_id: Set(None),
            version: Set(1),
            created_at: Set(created),
            updated_at: Set(created),
            deleted_at: Set(None),
            public_key: Set(None),
            private_key: Set(None),
            ..Default::default()
        });
        pole_communes.push((commune.code.to_owned(), themes));
        if batch.len() == 500 {
            poles::Entity::insert_many(std::mem::take(&mut batch))
                .exec(&txn)
                .await?;
        }
    }
    if !batch.is_empty() {
        poles::Entity::insert_many(batch).exec(&txn).await?;
    }
    // Pole ids are 1..=poles on a fresh database.
    let mut batch = Vec::new();
    for pole in 0..args.poles {
        for m in 0..args.members {
            let form = if rng.random_bool(0.57) {
                LegalForm::Association
            } else {
                *pick(&mut rng, LegalForm::ALL)
            };
            batch.push(members::ActiveModel {
                pole_id: Set(pole as i64 + 1),
                name: Set(format!(
                    "{} {} n°{m}",
                    pick(&mut rng, PREFIXES),
                    pick(&mut rng, SUBJECTS)
                )),
                legal_form: Set(form.id().to_owned()),
                ess: Set(true),
                employee_band: Set(Some(pick(&mut rng, EmployeeBand::ALL).id().to_owned())),
                siret: Set(None),
                website: Set(None),
                role: Set(None),
                joined_year: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
            if batch.len() == 1_000 {
                members::Entity::insert_many(std::mem::take(&mut batch))
                    .exec(&txn)
                    .await?;
            }
        }
    }
    if !batch.is_empty() {
        members::Entity::insert_many(batch).exec(&txn).await?;
    }
    txn.commit().await?;

    let mut written = 0usize;
    while written < args.objects {
        let txn = db.begin().await?;
        let chunk = (args.objects - written).min(100_000);
        let mut projects_batch = Vec::new();
        let mut events_batch = Vec::new();
        let mut calls_batch = Vec::new();
        for n in written..written + chunk {
            let pole = rng.random_range(0..args.poles);
            let pole_id = pole as i64 + 1;
            let (commune, themes) = &pole_communes[pole];
            let subject = *pick(&mut rng, SUBJECTS);
            let published = base + chrono::Duration::seconds(n as i64 * 60);
            let id = format!("{n:08}");
            match n % 3 {
                0 => {
                    projects_batch.push(projects::ActiveModel {
                        public_id: Set(format!("p{id}")),
                        ap_id: Set(format!("https://bench.example/projects/{id}")),
                        local: Set(true),
                        pole_id: Set(pole_id),
                        title: Set(format!("{} {subject}", pick(&mut rng, PROJECT_KINDS))),
                        summary: Set(Some(text(&mut rng, 1))),
                        description: Set(Some(text(&mut rng, 3))),
                        description_format: Set(Some("markdown".into())),
                        description_html: Set(None),
                        status: Set("in-progress".into()),
                        partner_member_ids: Set(json!([])),
                        themes: Set(json!(themes.iter().map(|t| t.id()).collect::<Vec<_>>())),
                        communes: Set(json!([])),
                        territory_kind: Set(None),
                        territory_label: Set(None),
                        start_date: Set(None),
                        end_date: Set(None),
                        links: Set(json!([])),
                        version: Set(1),
                        published_at: Set(published),
                        created_at: Set(published),
                        updated_at: Set(published),
                        deleted_at: Set(None),
                        ..Default::default()
                    });
                }
                1 => {
                    // Events from two years ago to a year ahead.
                    let starts = now + chrono::Duration::hours(rng.random_range(-17_520..8_760));
                    events_batch.push(events::ActiveModel {
                        public_id: Set(format!("e{id}")),
                        ap_id: Set(format!("https://bench.example/events/{id}")),
                        local: Set(true),
                        pole_id: Set(pole_id),
                        title: Set(format!("{} {subject}", pick(&mut rng, EVENT_KINDS))),
                        summary: Set(Some(text(&mut rng, 1))),
                        description: Set(Some(text(&mut rng, 2))),
                        description_format: Set(Some("markdown".into())),
                        description_html: Set(None),
                        starts_at: Set(starts),
                        ends_at: Set(Some(starts + chrono::Duration::hours(3))),
                        timezone: Set("Europe/Paris".into()),
                        place: Set(Some(json!({
                            "name": "Salle des fêtes", "street": null, "postal_code": null,
                            "locality": null, "commune": commune, "latitude": null, "longitude": null
                        }))),
                        online_url: Set(None),
                        organiser_poles: Set(json!([])),
                        registration_url: Set(None),
                        capacity: Set(None),
                        status: Set("scheduled".into()),
                        version: Set(1),
                        published_at: Set(published),
                        created_at: Set(published),
                        updated_at: Set(published),
                        deleted_at: Set(None),
                        ..Default::default()
                    });
                }
                _ => {
                    let status = if rng.random_bool(0.6) {
                        CallStatus::Open
                    } else {
                        *pick(&mut rng, CallStatus::ALL)
                    };
                    let deadline =
                        (now + chrono::Duration::days(rng.random_range(-180..180))).date_naive();
                    let call_themes: Vec<&str> = (0..rng.random_range(1..3))
                        .map(|_| pick(&mut rng, Theme::ALL).id())
                        .collect();
                    calls_batch.push(calls::ActiveModel {
                        public_id: Set(format!("c{id}")),
                        ap_id: Set(format!("https://bench.example/calls/{id}")),
                        local: Set(true),
                        pole_id: Set(pole_id),
                        title: Set(format!("{} {subject}", pick(&mut rng, CALL_KINDS))),
                        summary: Set(Some(text(&mut rng, 1))),
                        description: Set(Some(text(&mut rng, 2))),
                        description_format: Set(Some("markdown".into())),
                        description_html: Set(None),
                        direction: Set("seeking".into()),
                        subjects: Set(json!([pick(&mut rng, CallSubject::ALL).id()])),
                        themes: Set(json!(call_themes)),
                        communes: Set(json!([])),
                        territory_kind: Set(None),
                        territory_label: Set(None),
                        deadline: Set(Some(deadline)),
                        how_to_answer: Set("Écrire au pôle".into()),
                        status: Set(status.id().to_owned()),
                        version: Set(1),
                        published_at: Set(published),
                        created_at: Set(published),
                        updated_at: Set(published),
                        deleted_at: Set(None),
                        ..Default::default()
                    });
                }
            }
            if projects_batch.len() == 1_000 {
                projects::Entity::insert_many(std::mem::take(&mut projects_batch))
                    .exec(&txn)
                    .await?;
            }
            if events_batch.len() == 1_000 {
                events::Entity::insert_many(std::mem::take(&mut events_batch))
                    .exec(&txn)
                    .await?;
            }
            if calls_batch.len() == 1_000 {
                calls::Entity::insert_many(std::mem::take(&mut calls_batch))
                    .exec(&txn)
                    .await?;
            }
        }
        if !projects_batch.is_empty() {
            projects::Entity::insert_many(projects_batch)
                .exec(&txn)
                .await?;
        }
        if !events_batch.is_empty() {
            events::Entity::insert_many(events_batch).exec(&txn).await?;
        }
        if !calls_batch.is_empty() {
            calls::Entity::insert_many(calls_batch).exec(&txn).await?;
        }
        txn.commit().await?;
        written += chunk;
    }
    Ok(Facts {
        regions,
        departements,
    })
}
