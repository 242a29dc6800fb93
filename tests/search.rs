//! The directory: full-text search with French stemming and accent folding, every filter,
//! paging, ranking, statistics and the JSON API, on SQLite and (when configured)
//! PostgreSQL, with the same results in the same order on both.

mod common;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use maillage::domain::member::MemberInput;
use maillage::domain::place::PlaceInput;
use maillage::domain::pole::PoleInput;
use maillage::domain::territory_ref::Reference;
use maillage::domain::vocab::{
    CallDirection, CallStatus, CallSubject, EmployeeBand, LegalForm, PoolingKind, Theme,
};
use maillage::domain::{
    CallForCooperation, CallInput, Event, EventInput, Member, Pole, Project, ProjectInput,
    TerritoryInput,
};
use maillage::store::entities::{calls, events, poles, projects};
use maillage::store::search::{DirectoryHit, DirectoryKind, DirectoryParams};
use maillage::store::{DirectoryQuery, Store};
use sea_orm::EntityTrait;
use sea_orm::sea_query::Expr;

use common::TestDb;

const LYON: &str = "69123";
const RENNES: &str = "35238";
const MARSEILLE: &str = "13055";
const REMOTE_DOMAIN: &str = "ptce.example.net";

fn pole(
    slug: &str,
    name: &str,
    commune: &str,
    themes: Vec<Theme>,
    pooling: Vec<PoolingKind>,
) -> Pole {
    PoleInput {
        slug: slug.into(),
        name: name.into(),
        summary: Some("Un pôle territorial de l'économie sociale et solidaire".into()),
        territory: TerritoryInput {
            communes: vec![commune.into()],
            ..Default::default()
        },
        themes,
        pooling,
        ..Default::default()
    }
    .validate()
    .expect("valid pole")
}

fn member(name: &str, form: LegalForm, band: Option<EmployeeBand>) -> Member {
    MemberInput {
        name: name.into(),
        legal_form: Some(form),
        employee_band: band,
        ..Default::default()
    }
    .validate()
    .expect("valid member")
}

fn project(title: &str, summary: &str, themes: Vec<Theme>) -> Project {
    ProjectInput {
        title: title.into(),
        summary: Some(summary.into()),
        themes,
        ..Default::default()
    }
    .validate()
    .expect("valid project")
}

/// An event starting `days` days from now (negative: in the past), lasting two hours.
fn event(title: &str, days: i64, commune: &str) -> Event {
    let start = (Utc::now() + Duration::days(days)).with_timezone(&chrono_tz::Europe::Paris);
    let end = start + Duration::hours(2);
    EventInput {
        title: title.into(),
        summary: Some("Rencontre ouverte à toutes et tous".into()),
        starts_at: start.format("%Y-%m-%dT%H:%M").to_string(),
        ends_at: Some(end.format("%Y-%m-%dT%H:%M").to_string()),
        timezone: Some("Europe/Paris".into()),
        place: Some(PlaceInput {
            name: Some("Salle des fêtes".into()),
            commune: Some(commune.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
    .validate()
    .expect("valid event")
}

fn call(
    title: &str,
    themes: Vec<Theme>,
    status: CallStatus,
    deadline: Option<NaiveDate>,
) -> CallForCooperation {
    CallInput {
        title: title.into(),
        summary: Some("Appel à partenaires".into()),
        direction: Some(CallDirection::Seeking),
        subjects: vec![CallSubject::Premises],
        themes,
        deadline,
        how_to_answer: "Écrire au pôle".into(),
        status: Some(status),
        ..Default::default()
    }
    .validate()
    .expect("valid call")
}

fn query(f: impl FnOnce(&mut DirectoryParams)) -> DirectoryQuery {
    let mut params = DirectoryParams {
        per_page: Some("100".into()),
        ..Default::default()
    };
    f(&mut params);
    params.parse().expect("valid query")
}

async fn search(store: &Store, q: &DirectoryQuery) -> Vec<DirectoryHit> {
    store.search_directory(q).await.expect("search").items
}

async fn titles(store: &Store, q: &DirectoryQuery) -> Vec<String> {
    search(store, q)
        .await
        .into_iter()
        .map(|h| h.title)
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

struct Fixture {
    energie: i64,
    alimentation: i64,
    remote_ap_id: String,
    past_event: String,
    today: NaiveDate,
}

/// Two local poles (Lyon, Rennes) and one remote pole (Marseille), with what they publish.
async fn fill(store: &Store) -> Fixture {
    let a = store
        .create_pole(&pole(
            "energies",
            "Pôle Énergies Citoyennes",
            LYON,
            vec![Theme::RenewableEnergy],
            vec![PoolingKind::Knowledge, PoolingKind::Premises],
        ))
        .await
        .expect("pole a");
    store
        .create_member(
            a.id,
            &member(
                "Coopérative Solaire du Rhône",
                LegalForm::Scic,
                Some(EmployeeBand::From1To9),
            ),
        )
        .await
        .expect("member");
    store
        .create_member(
            a.id,
            &member("Les Jardins partagés", LegalForm::Association, None),
        )
        .await
        .expect("member");
    let b = store
        .create_pole(&pole(
            "alimentation",
            "Pôle Alimentation Durable",
            RENNES,
            vec![Theme::AgricultureFood],
            vec![PoolingKind::Knowledge],
        ))
        .await
        .expect("pole b");
    store
        .create_member(
            b.id,
            &member(
                "Ferme des Coopératives",
                LegalForm::Scop,
                Some(EmployeeBand::From10To49),
            ),
        )
        .await
        .expect("member");

    store
        .create_project(
            a.id,
            &project(
                "Parc éolien citoyen",
                "Quatre éoliennes",
                vec![Theme::RenewableEnergy],
            ),
        )
        .await
        .expect("project");
    store
        .create_project(
            b.id,
            &project(
                "Légumerie solidaire",
                "Des légumes pour les cantines",
                vec![],
            ),
        )
        .await
        .expect("project");
    store
        .create_event(a.id, &event("Fête de l'énergie", 10, LYON))
        .await
        .expect("event");
    let past = store
        .create_event(b.id, &event("Marché solidaire", -10, RENNES))
        .await
        .expect("event");
    store
        .create_event(b.id, &event("Rencontre des coopératives", 20, RENNES))
        .await
        .expect("event");
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    store
        .create_call(
            a.id,
            &call(
                "Recherche de locaux partagés",
                vec![Theme::CircularEconomy],
                CallStatus::Open,
                Some(today + Duration::days(30)),
            ),
        )
        .await
        .expect("call");
    store
        .create_call(
            b.id,
            &call(
                "Chambre froide à partager",
                vec![],
                CallStatus::Closed,
                None,
            ),
        )
        .await
        .expect("call");
    store
        .create_call(
            b.id,
            &call(
                "Bénévoles pour la récolte",
                vec![Theme::AgricultureFood],
                CallStatus::Open,
                Some(today - Duration::days(1)),
            ),
        )
        .await
        .expect("call");

    let remote_ap_id = format!("https://{REMOTE_DOMAIN}/poles/numerique");
    let c = store
        .upsert_remote_pole(
            &remote_ap_id,
            REMOTE_DOMAIN,
            &pole(
                "numerique",
                "Pôle Numérique Solidaire",
                MARSEILLE,
                vec![Theme::Digital],
                vec![PoolingKind::Equipment],
            ),
            &[member(
                "Mutuelle du Midi",
                LegalForm::Mutual,
                Some(EmployeeBand::From250),
            )],
        )
        .await
        .expect("remote pole");
    store
        .upsert_remote_event(
            c.id,
            &format!("https://{REMOTE_DOMAIN}/events/atelier"),
            &event("Atelier réparation d'ordinateurs", 5, MARSEILLE),
            Utc::now(),
        )
        .await
        .expect("remote event");
    Fixture {
        energie: a.id,
        alimentation: b.id,
        remote_ap_id,
        past_event: past.public_id,
        today,
    }
}

/// Queries whose ordered results must be the same on every database.
fn probe_queries() -> Vec<DirectoryQuery> {
    vec![
        query(|_| {}),
        query(|p| p.q = Some("coopérative".into())),
        query(|p| p.q = Some("énergie".into())),
        query(|p| p.q = Some("solidaire".into())),
        query(|p| p.region = Some("84".into())),
        query(|p| p.upcoming = Some("true".into())),
        query(|p| p.kind = Some("pole,call".into())),
        query(|p| p.theme = Some("agriculture-food".into())),
    ]
}

async fn ordered_results(store: &Store) -> Vec<Vec<(DirectoryKind, String)>> {
    let mut out = Vec::new();
    for q in probe_queries() {
        out.push(
            search(store, &q)
                .await
                .into_iter()
                .map(|h| (h.kind, h.title))
                .collect(),
        );
    }
    out
}

/// Sets every pole's and object's creation and publication time to the same instant.
async fn pin_times(store: &Store) {
    let at = Utc
        .with_ymd_and_hms(2026, 1, 15, 9, 0, 0)
        .single()
        .expect("date");
    let db = store.connection();
    poles::Entity::update_many()
        .col_expr(poles::Column::CreatedAt, Expr::value(at))
        .exec(db)
        .await
        .expect("pin poles");
    projects::Entity::update_many()
        .col_expr(projects::Column::PublishedAt, Expr::value(at))
        .exec(db)
        .await
        .expect("pin projects");
    events::Entity::update_many()
        .col_expr(events::Column::PublishedAt, Expr::value(at))
        .exec(db)
        .await
        .expect("pin events");
    calls::Entity::update_many()
        .col_expr(calls::Column::PublishedAt, Expr::value(at))
        .exec(db)
        .await
        .expect("pin calls");
}

#[tokio::test]
async fn directory_search_filters_ranks_and_pages_on_every_database() {
    let mut orders = Vec::new();
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let fx = fill(&store).await;

        // Accents, case and plural do not matter; member names are searched.
        let accented = sorted(titles(&store, &query(|p| p.q = Some("coopérative".into()))).await);
        let plain = sorted(titles(&store, &query(|p| p.q = Some("COOPERATIVES".into()))).await);
        assert_eq!(accented, plain, "{label}");
        assert_eq!(
            accented,
            sorted(strings(&[
                "Pôle Alimentation Durable",
                "Pôle Énergies Citoyennes",
                "Rencontre des coopératives"
            ])),
            "{label}"
        );
        // A match in the title comes before one in the body.
        let hits = search(&store, &query(|p| p.q = Some("cooperative".into()))).await;
        assert_eq!(hits[0].title, "Rencontre des coopératives", "{label}");
        assert!(hits[0].title_match && !hits[1].title_match, "{label}");

        // Stemming: "énergie" finds "Énergies", and the theme label "Énergies renouvelables".
        let hits = titles(&store, &query(|p| p.q = Some("energie".into()))).await;
        assert_eq!(
            hits,
            strings(&[
                "Fête de l'énergie",
                "Pôle Énergies Citoyennes",
                "Parc éolien citoyen"
            ]),
            "{label}: title matches first (the upcoming event first), then the rest"
        );
        // Every word must be found.
        assert_eq!(
            titles(&store, &query(|p| p.q = Some("énergie légumes".into()))).await,
            Vec::<String>::new(),
            "{label}"
        );
        // Only stop words: no text filter.
        assert_eq!(
            search(&store, &query(|p| p.q = Some("de la".into())))
                .await
                .len(),
            search(&store, &query(|_| {})).await.len(),
            "{label}"
        );

        // Territory filters, derived from the communes (objects without a territory have their pole's).
        let lyon_entries = sorted(strings(&[
            "Pôle Énergies Citoyennes",
            "Parc éolien citoyen",
            "Fête de l'énergie",
            "Recherche de locaux partagés",
        ]));
        assert_eq!(
            sorted(titles(&store, &query(|p| p.region = Some("84".into()))).await),
            lyon_entries,
            "{label}"
        );
        assert_eq!(
            sorted(titles(&store, &query(|p| p.departement = Some("69".into()))).await),
            lyon_entries,
            "{label}"
        );
        assert_eq!(
            sorted(titles(&store, &query(|p| p.commune = Some(LYON.into()))).await),
            lyon_entries,
            "{label}"
        );
        let lyon_epci = Reference::get()
            .commune(LYON)
            .and_then(|c| c.epci)
            .expect("Lyon's EPCI");
        assert_eq!(
            sorted(titles(&store, &query(|p| p.epci = Some(lyon_epci.into()))).await),
            lyon_entries,
            "{label}"
        );
        assert_eq!(
            sorted(titles(&store, &query(|p| p.departement = Some("13".into()))).await),
            sorted(strings(&[
                "Pôle Numérique Solidaire",
                "Atelier réparation d'ordinateurs"
            ])),
            "{label}: remote poles and objects are in the directory"
        );
        assert_eq!(
            sorted(
                titles(
                    &store,
                    &query(|p| {
                        p.region = Some("84".into());
                        p.q = Some("citoyen".into());
                    })
                )
                .await
            ),
            sorted(strings(&[
                "Pôle Énergies Citoyennes",
                "Parc éolien citoyen"
            ])),
            "{label}"
        );

        // Themes: an object's own, else its pole's.
        assert_eq!(
            sorted(
                titles(
                    &store,
                    &query(|p| p.theme = Some("renewable-energy".into()))
                )
                .await
            ),
            sorted(strings(&[
                "Pôle Énergies Citoyennes",
                "Parc éolien citoyen",
                "Fête de l'énergie"
            ])),
            "{label}"
        );
        assert_eq!(
            sorted(
                titles(
                    &store,
                    &query(|p| {
                        p.theme = Some("agriculture-food".into());
                        p.kind = Some("project,call".into());
                    })
                )
                .await
            ),
            sorted(strings(&[
                "Légumerie solidaire",
                "Bénévoles pour la récolte",
                "Chambre froide à partager"
            ])),
            "{label}"
        );
        // Pooling and member legal form describe the pole: its objects come with it.
        assert_eq!(
            sorted(titles(&store, &query(|p| p.pooling = Some("premises".into()))).await),
            lyon_entries,
            "{label}"
        );
        assert_eq!(
            sorted(
                titles(
                    &store,
                    &query(|p| {
                        p.legal_form = Some("mutual".into());
                        p.kind = Some("pole".into());
                    })
                )
                .await
            ),
            strings(&["Pôle Numérique Solidaire"]),
            "{label}"
        );
        assert_eq!(
            titles(&store, &query(|p| p.legal_form = Some("cae".into()))).await,
            Vec::<String>::new(),
            "{label}"
        );

        // Kinds, events by date, calls by status and deadline.
        assert_eq!(
            titles(&store, &query(|p| p.kind = Some("pole".into())))
                .await
                .len(),
            3,
            "{label}"
        );
        assert_eq!(
            titles(&store, &query(|p| p.upcoming = Some("true".into()))).await,
            strings(&[
                "Atelier réparation d'ordinateurs",
                "Fête de l'énergie",
                "Rencontre des coopératives"
            ]),
            "{label}: upcoming events only, by start"
        );
        let span = |from: i64, to: i64| {
            query(|p| {
                p.from = Some((fx.today + Duration::days(from)).to_string());
                p.to = Some((fx.today + Duration::days(to)).to_string());
            })
        };
        assert_eq!(
            titles(&store, &span(-11, -9)).await,
            strings(&["Marché solidaire"]),
            "{label}"
        );
        assert_eq!(
            sorted(titles(&store, &span(4, 11)).await),
            sorted(strings(&[
                "Atelier réparation d'ordinateurs",
                "Fête de l'énergie"
            ])),
            "{label}"
        );
        assert_eq!(
            titles(&store, &query(|p| p.call_status = Some("open".into()))).await,
            strings(&["Recherche de locaux partagés"]),
            "{label}: a call past its deadline is not open"
        );
        assert_eq!(
            sorted(titles(&store, &query(|p| p.call_status = Some("closed".into()))).await),
            sorted(strings(&[
                "Chambre froide à partager",
                "Bénévoles pour la récolte"
            ])),
            "{label}"
        );
        assert_eq!(
            titles(
                &store,
                &query(|p| p.deadline_before = Some(fx.today.to_string()))
            )
            .await,
            strings(&["Bénévoles pour la récolte"]),
            "{label}"
        );
        let mixed = titles(
            &store,
            &query(|p| {
                p.kind = Some("pole,event".into());
                p.upcoming = Some("true".into());
            }),
        )
        .await;
        assert_eq!(
            mixed.len(),
            6,
            "{label}: three poles and three upcoming events: {mixed:?}"
        );
        assert_eq!(
            &mixed[..3],
            &strings(&[
                "Atelier réparation d'ordinateurs",
                "Fête de l'énergie",
                "Rencontre des coopératives"
            ])[..],
            "{label}"
        );

        // Paging: pages of three give the whole ordered list once.
        let all = search(&store, &query(|_| {})).await;
        assert_eq!(
            all.len(),
            12,
            "{label}: 3 poles, 2 projects, 4 events, 3 calls: {:?}",
            all.iter().map(|h| &h.title).collect::<Vec<_>>()
        );
        let mut paged = Vec::new();
        for page in 1..=5 {
            let result = store
                .search_directory(&query(|p| {
                    p.per_page = Some("3".into());
                    p.page = Some(page.to_string());
                }))
                .await
                .expect("page");
            assert_eq!(result.total, 12, "{label}");
            paged.extend(result.items);
        }
        assert_eq!(paged, all, "{label}");
        // Upcoming events first, by date, then the rest newest first.
        assert_eq!(all[0].title, "Atelier réparation d'ordinateurs", "{label}");
        assert_eq!(all[0].pole.domain, REMOTE_DOMAIN, "{label}");
        assert!(!all[0].local, "{label}");

        // The same data on every database: creation times are pinned to one instant (so
        // that the order rests on the tie-breaks too), then the index is rebuilt.
        pin_times(&store).await;
        store.rebuild_directory().await.expect("rebuild");
        orders.push((label, ordered_results(&store).await));

        // The statistics.
        let stats = store
            .directory_statistics(&query(|_| {}))
            .await
            .expect("statistics");
        assert_eq!(stats.poles, 3, "{label}");
        let knowledge = stats
            .pooling
            .iter()
            .find(|p| p.code == "knowledge")
            .expect("knowledge");
        assert_eq!((knowledge.poles, knowledge.percent), (2, 66.7), "{label}");
        let regions: Vec<(&str, u64)> = stats
            .poles_per_region
            .iter()
            .map(|r| (r.code.as_str(), r.count))
            .collect();
        assert_eq!(regions, vec![("53", 1), ("84", 1), ("93", 1)], "{label}");
        assert_eq!(stats.members, 4, "{label}");
        let size = |code: &str| {
            stats
                .members_by_size
                .iter()
                .find(|s| s.code == code)
                .map(|s| s.count)
        };
        assert_eq!(
            (size("1-9"), size("250+"), size("unknown")),
            (Some(1), Some(1), Some(1)),
            "{label}"
        );
        assert_eq!(stats.open_calls, 1, "{label}");
        assert_eq!(stats.open_calls_by_theme.len(), 1, "{label}");
        assert_eq!(
            stats.open_calls_by_theme[0].code, "circular-economy",
            "{label}"
        );
        assert_eq!(
            stats.events_per_month.iter().map(|m| m.count).sum::<u64>(),
            4,
            "{label}"
        );
        let lyon = store
            .directory_statistics(&query(|p| p.region = Some("84".into())))
            .await
            .expect("statistics");
        assert_eq!(
            (lyon.poles, lyon.members, lyon.open_calls),
            (1, 2, 1),
            "{label}"
        );
        assert_eq!(
            lyon.events_per_month.iter().map(|m| m.count).sum::<u64>(),
            1,
            "{label}"
        );

        // Rebuilding the index (as after its migration) gives the same results.
        let before = ordered_results(&store).await;
        let rows = store.rebuild_directory().await.expect("rebuild");
        assert_eq!(rows, 12, "{label}");
        assert_eq!(ordered_results(&store).await, before, "{label}");

        // Changes follow: a pole moving takes the objects without a territory with it.
        let mut moved = store.pole("energies").await.expect("pole").pole;
        moved.territory.communes = vec![MARSEILLE.into()];
        store.update_pole("energies", &moved).await.expect("update");
        assert_eq!(
            titles(&store, &query(|p| p.region = Some("84".into()))).await,
            strings(&["Fête de l'énergie"]),
            "{label}: the event keeps its own place"
        );
        assert!(
            titles(&store, &query(|p| p.region = Some("93".into())))
                .await
                .contains(&"Parc éolien citoyen".to_owned()),
            "{label}"
        );
        // A member leaving takes its legal form and its name with it.
        let scic = store.all_members(fx.energie).await.expect("members");
        let solaire = scic
            .iter()
            .find(|m| m.member.legal_form == LegalForm::Scic)
            .expect("scic member");
        store
            .delete_member(fx.energie, solaire.id)
            .await
            .expect("delete member");
        assert_eq!(
            titles(&store, &query(|p| p.legal_form = Some("scic".into()))).await,
            Vec::<String>::new(),
            "{label}"
        );
        assert!(
            !titles(&store, &query(|p| p.q = Some("solaire".into())))
                .await
                .contains(&"Pôle Énergies Citoyennes".to_owned()),
            "{label}"
        );

        // Deleted things leave the directory: an event, a remote pole with what it published, a local pole.
        store
            .delete_event(&fx.past_event)
            .await
            .expect("delete event");
        assert!(
            !titles(&store, &query(|_| {}))
                .await
                .contains(&"Marché solidaire".to_owned()),
            "{label}"
        );
        assert!(
            store
                .delete_remote_pole(&fx.remote_ap_id)
                .await
                .expect("delete remote")
        );
        assert_eq!(
            titles(&store, &query(|p| p.q = Some("ordinateurs".into()))).await,
            Vec::<String>::new(),
            "{label}"
        );
        store
            .delete_pole("alimentation")
            .await
            .expect("delete pole");
        let left = titles(&store, &query(|_| {})).await;
        assert_eq!(
            sorted(left),
            sorted(strings(&[
                "Pôle Énergies Citoyennes",
                "Parc éolien citoyen",
                "Fête de l'énergie",
                "Recherche de locaux partagés"
            ])),
            "{label}"
        );
        let _ = fx.alimentation;
        store.close().await.ok();
        db.drop_now().await;
    }
    same_on_every_database(&orders);
}

/// What each database gave, by label, is the same on all of them.
fn same_on_every_database<T: PartialEq + std::fmt::Debug>(given: &[(&str, T)]) {
    if let [(first, a), rest @ ..] = given {
        for (other, b) in rest {
            assert_eq!(a, b, "{first} and {other} give different results or orders");
        }
    }
}

#[tokio::test]
async fn directory_and_statistics_answer_over_http() {
    common::install_tls_provider();
    for db in TestDb::all().await {
        let label = db.label;
        let server = common::TestServer::start(&db).await;
        fill(&server.store).await;
        let get = |path: &str| server.client.get(server.url(path)).send();

        let response = get("/api/v1/directory?q=%C3%A9nergie&per_page=2")
            .await
            .expect("get");
        assert_eq!(response.status(), 200, "{label}");
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["total"], 3, "{label}: {body}");
        assert_eq!(body["pages"], 2, "{label}");
        assert_eq!(body["items"][0]["kind"], "event", "{label}");
        assert_eq!(body["items"][1]["kind"], "pole", "{label}");
        assert_eq!(
            body["items"][1]["id"],
            format!("@energies@127.0.0.1:{}", server.port),
            "{label}"
        );
        // The links lead to the records.
        let api_url = body["items"][0]["api_url"]
            .as_str()
            .expect("api_url")
            .to_owned();
        let event: serde_json::Value = server
            .client
            .get(&api_url)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(event["title"], "Fête de l'énergie", "{label}");

        let response = get("/api/v1/directory?kind=event&departement=13")
            .await
            .expect("get");
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["items"][0]["pole"]["local"], false, "{label}");
        let remote_api = body["items"][0]["pole"]["api_url"]
            .as_str()
            .expect("api_url")
            .to_owned();
        let remote: serde_json::Value = server
            .client
            .get(&remote_api)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(remote["name"], "Pôle Numérique Solidaire", "{label}");

        for (path, parameter) in [
            ("/api/v1/directory?region=00", "region"),
            ("/api/v1/directory?theme=astrologie", "theme"),
            ("/api/v1/directory?kind=poll", "kind"),
            ("/api/v1/directory?from=demain", "from"),
            ("/api/v1/directory?per_page=1000", "per_page"),
            ("/api/v1/directory?page=abc", "page"),
            ("/api/v1/directory?regoin=84", "regoin"),
            ("/api/v1/statistics?pooling=money", "pooling"),
        ] {
            let response = get(path).await.expect("get");
            assert_eq!(response.status(), 400, "{label}: {path}");
            let body: serde_json::Value = response.json().await.expect("json");
            let message = body["message"].as_str().unwrap_or_default();
            assert!(message.contains(parameter), "{label}: {path}: {message}");
        }

        let response = get("/api/v1/statistics?region=84").await.expect("get");
        assert_eq!(response.status(), 200, "{label}");
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["poles"], 1, "{label}: {body}");
        assert!(body["computed_at"].is_string(), "{label}");

        let doc: serde_json::Value = get("/api/v1/openapi.json")
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        for path in ["/api/v1/directory", "/api/v1/statistics"] {
            assert!(
                doc["paths"][path]["get"].is_object(),
                "{label}: {path} in OpenAPI"
            );
        }
        assert!(
            doc["components"]["schemas"]["DirectoryStatistics"].is_object(),
            "{label}"
        );
        server.stop().await;
        db.drop_now().await;
    }
}

/// The entry ids of an Atom feed.
fn atom_ids(body: &str) -> std::collections::BTreeSet<String> {
    let feed = feed_rs::parser::parse(body.as_bytes()).expect("feed-rs reads the feed");
    feed.entries.into_iter().map(|e| e.id).collect()
}

#[tokio::test]
async fn the_page_the_api_and_the_feeds_select_the_same() {
    common::install_tls_provider();
    for db in TestDb::all().await {
        let label = db.label;
        let server = common::TestServer::start(&db).await;
        fill(&server.store).await;
        let text = |path: String| {
            let request = server.client.get(server.url(&path)).send();
            async move {
                let response = request.await.expect("get");
                assert_eq!(response.status(), 200, "{path}");
                response.text().await.expect("body")
            }
        };
        let origin = server.url("");
        for query in [
            "q=%C3%A9nergie",
            "q=solidaire&region=84",
            "region=84",
            "upcoming=true&departement=13",
            "kind=call&call_status=open",
            "theme=agriculture-food",
            "kind=pole,event&pooling=knowledge",
            "legal_form=scic",
            "kind=event&from=2020-01-01",
        ] {
            let api: serde_json::Value = serde_json::from_str(
                &text(format!("/api/v1/directory?{query}&per_page=100")).await,
            )
            .expect("json");
            let urls: std::collections::BTreeSet<String> = api["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["url"].as_str().expect("url").to_owned())
                .collect();
            let total = api["total"].as_u64().expect("total");
            assert_eq!(total as usize, urls.len(), "{label} ?{query}");

            let atom = atom_ids(&text(format!("/feeds/directory.atom?{query}")).await);
            assert_eq!(atom, urls, "{label} ?{query}: Atom and API");

            let page = text(format!("/directory?{query}&per_page=100")).await;
            assert!(
                page.contains(&format!("({total})</h2>")),
                "{label} ?{query}: the page counts {total}"
            );
            for url in &urls {
                let href = url.strip_prefix(&origin).unwrap_or(url);
                assert!(
                    page.contains(&format!("href=\"{href}\"")),
                    "{label} ?{query}: the page lacks {href}"
                );
            }
        }
        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
async fn many_matches_are_counted_up_to_a_cap() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let p = store
            .create_pole(&pole(
                "nombreux",
                "Pôle Nombreux",
                LYON,
                vec![Theme::Digital],
                vec![],
            ))
            .await
            .expect("pole");
        let n = maillage::store::search::COUNT_CAP + 10;
        for i in 0..n {
            store
                .create_project(p.id, &project(&format!("Projet {i}"), "Atelier", vec![]))
                .await
                .expect("project");
        }
        let first = store
            .search_directory(&query(|q| {
                q.kind = Some("project".into());
                q.per_page = Some("20".into());
            }))
            .await
            .expect("search");
        assert_eq!(first.items.len(), 20, "{label}");
        assert!(!first.total_exact, "{label}");
        assert_eq!(
            first.total,
            maillage::store::search::COUNT_CAP + 1,
            "{label}"
        );
        assert_eq!(first.items[0].title, format!("Projet {}", n - 1), "{label}");
        // The page asked for is always counted to its end.
        let last = store
            .search_directory(&query(|q| {
                q.kind = Some("project".into());
                q.per_page = Some("20".into());
                q.page = Some(n.div_ceil(20).to_string());
            }))
            .await
            .expect("search");
        assert!(last.total_exact, "{label}");
        assert_eq!(last.total, n, "{label}");
        assert_eq!(last.items.len() as u64, n % 20, "{label}");
        assert_eq!(
            last.items.last().map(|h| h.title.as_str()),
            Some("Projet 0")
        );
        db.drop_now().await;
    }
}

/// Enough matches that SQLite walks its indexes instead of sorting every match: the pages
/// are those of the ranking computed here, on every database, across the boundary between
/// entries with the words in their title and the others.
#[tokio::test]
async fn many_matches_are_ranked_as_few_are() {
    use sea_orm::{ActiveValue::Set, TransactionTrait};
    const PROJECTS: i64 = 3_000;
    let mut orders = Vec::new();
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let p = store
            .create_pole(&pole(
                "grand-pole",
                "Grand pôle",
                LYON,
                vec![Theme::CircularEconomy],
                vec![],
            ))
            .await
            .expect("pole");
        let base = Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .expect("date");
        let txn = store.connection().begin().await.expect("txn");
        let mut rows = Vec::new();
        // (item id, title holds the word, published minute); ids and dates in different orders.
        let mut expected: Vec<(i64, bool, i64)> = Vec::new();
        for i in 0..PROJECTS {
            let titled = i % 4 != 0;
            let minute = (i * 7_919) % PROJECTS;
            let published = base + Duration::minutes(minute);
            rows.push(projects::ActiveModel {
                public_id: Set(format!("grand-{i}")),
                ap_id: Set(format!("https://test.example/projects/grand-{i}")),
                local: Set(true),
                pole_id: Set(p.id),
                title: Set(if titled {
                    format!("Recyclerie n°{i}")
                } else {
                    format!("Atelier n°{i}")
                }),
                summary: Set(Some("Le réemploi avec la recyclerie du quartier".into())),
                description: Set(None),
                description_format: Set(None),
                description_html: Set(None),
                status: Set("in-progress".into()),
                partner_member_ids: Set(serde_json::json!([])),
                themes: Set(serde_json::json!([])),
                communes: Set(serde_json::json!([])),
                territory_kind: Set(None),
                territory_label: Set(None),
                start_date: Set(None),
                end_date: Set(None),
                links: Set(serde_json::json!([])),
                version: Set(1),
                published_at: Set(published),
                created_at: Set(published),
                updated_at: Set(published),
                deleted_at: Set(None),
                ..Default::default()
            });
            expected.push((0, titled, minute));
            if rows.len() == 500 {
                projects::Entity::insert_many(std::mem::take(&mut rows))
                    .exec(&txn)
                    .await
                    .expect("projects");
            }
        }
        txn.commit().await.expect("commit");
        store.rebuild_directory().await.expect("rebuild");
        let ids: Vec<i64> = {
            use sea_orm::{QueryOrder, QuerySelect};
            projects::Entity::find()
                .select_only()
                .column(projects::Column::Id)
                .order_by_asc(projects::Column::Id)
                .into_tuple()
                .all(store.connection())
                .await
                .expect("ids")
        };
        for (slot, id) in expected.iter_mut().zip(&ids) {
            slot.0 = *id;
        }
        // With the word: title matches first, then newest first, then the newest id.
        let mut ranked = expected.clone();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(b.0.cmp(&a.0)));
        let by_words: Vec<i64> = ranked.iter().map(|r| r.0).collect();
        // Without words: newest first.
        let mut newest = expected.clone();
        newest.sort_by(|a, b| b.2.cmp(&a.2).then(b.0.cmp(&a.0)));
        let by_date: Vec<i64> = newest.iter().map(|r| r.0).collect();

        let page_of = |f: &dyn Fn(&mut DirectoryParams), page: u64| {
            let mut params = DirectoryParams {
                per_page: Some("20".into()),
                page: Some(page.to_string()),
                ..Default::default()
            };
            f(&mut params);
            params.parse().expect("valid query")
        };
        let ids_of = |hits: Vec<DirectoryHit>| hits.iter().map(|h| h.item_id).collect::<Vec<_>>();
        let titled = by_words.len() - PROJECTS as usize / 4;
        // Pages at the start, inside the title matches, across the boundary, at the end.
        let last_page = (PROJECTS as u64).div_ceil(20);
        let mut seen = Vec::new();
        for page in [1, 50, titled as u64 / 20 + 1, last_page] {
            let words = |p: &mut DirectoryParams| {
                p.q = Some("recyclerie".into());
                p.region = Some("84".into());
                p.kind = Some("project".into());
            };
            let got = store
                .search_directory(&page_of(&words, page))
                .await
                .expect("search");
            let from = ((page - 1) * 20) as usize;
            let to = (from + 20).min(by_words.len());
            // Counted up to the end of the page or a thousand, whichever is further.
            let cap = ((page * 20) as i64).max(1_000);
            assert_eq!(
                got.total as i64,
                PROJECTS.min(cap + 1),
                "{label}: page {page}"
            );
            assert_eq!(got.total_exact, PROJECTS <= cap, "{label}: page {page}");
            let hits = got.items;
            assert_eq!(
                hits.iter().filter(|h| h.title_match).count(),
                ranked[from..to].iter().filter(|r| r.1).count(),
                "{label}: page {page}"
            );
            let page_ids = ids_of(hits);
            assert_eq!(page_ids, by_words[from..to], "{label}: words, page {page}");
            seen.push(page_ids);

            let listing = |p: &mut DirectoryParams| p.kind = Some("project".into());
            let page_ids = ids_of(
                store
                    .search_directory(&page_of(&listing, page))
                    .await
                    .expect("search")
                    .items,
            );
            assert_eq!(
                page_ids,
                by_date[from..to],
                "{label}: newest first, page {page}"
            );
            seen.push(page_ids);

            // Several kinds, a theme checked row by row.
            let themed = |p: &mut DirectoryParams| {
                p.kind = Some("project,call".into());
                p.theme = Some("circular-economy".into());
            };
            let page_ids = ids_of(
                store
                    .search_directory(&page_of(&themed, page))
                    .await
                    .expect("search")
                    .items,
            );
            assert_eq!(
                page_ids,
                by_date[from..to],
                "{label}: by theme, page {page}"
            );
        }
        orders.push((label, seen));
        store.close().await.ok();
        db.drop_now().await;
    }
    same_on_every_database(&orders);
}

/// PostgreSQL plans each statement with its values: a plan made once for any value would
/// sort every match of a common theme where the plan for that value stops at the page.
#[tokio::test]
#[ignore = "needs MAILLAGE_TEST_POSTGRES (a PostgreSQL server)"]
async fn postgres_plans_each_search_with_its_values() {
    use sea_orm::ConnectionTrait;
    let db = TestDb::postgres()
        .await
        .expect("this test runs on PostgreSQL: set MAILLAGE_TEST_POSTGRES");
    let store = common::store(&db).await;
    let row = store
        .connection()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT current_setting('plan_cache_mode') AS mode",
        ))
        .await
        .expect("query")
        .expect("a row");
    let mode: String = row.try_get("", "mode").expect("mode");
    assert_eq!(mode, "force_custom_plan");
    store.close().await.ok();
    db.drop_now().await;
}

/// A request is answered with figures that hold every change made before it came, even if
/// the directory changed again while it waited for its turn: under a steady stream of
/// writes, requests waiting for the figures do not each compute them again.
#[tokio::test]
async fn statistics_computed_after_a_request_came_answer_it() {
    use maillage::web::statistics_cache::StatisticsCache;
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let cache = StatisticsCache::default();
        let all = DirectoryParams::default().parse().expect("query");
        store
            .create_pole(&pole("rennes", "Rennes", RENNES, vec![], vec![]))
            .await
            .expect("pole");
        // A request comes; the figures are computed (by it or by another) after it came.
        let came = store.directory_generation().await.expect("generation");
        let computed = cache.get(&store, &all).await.expect("statistics");
        assert_eq!(computed.poles, 1, "[{label}]");
        // The directory changes before the request's turn.
        store
            .create_pole(&pole("lyon", "Lyon", LYON, vec![], vec![]))
            .await
            .expect("pole");
        let answered = cache
            .get_as_of(&store, &all, came)
            .await
            .expect("statistics");
        assert!(
            std::sync::Arc::ptr_eq(&computed, &answered),
            "[{label}] figures computed after the request came answer it"
        );
        // A request that comes after the change sees it.
        let later = cache.get(&store, &all).await.expect("statistics");
        assert_eq!(
            later.poles, 2,
            "[{label}] a change before a request is seen"
        );
        store.close().await.ok();
        db.drop_now().await;
    }
}

/// Statistics are kept while the directory stays the same, and computed again as soon as
/// it changes, whichever process changed it.
#[tokio::test]
async fn statistics_are_kept_until_the_directory_changes() {
    use maillage::web::statistics_cache::StatisticsCache;
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        // Another process sharing the database.
        let other = Store::connect(&db.config()).await.expect("connect");
        let cache = StatisticsCache::default();
        let all = DirectoryParams::default().parse().expect("query");
        let in_bretagne = DirectoryParams {
            region: Some("53".into()),
            ..Default::default()
        }
        .parse()
        .expect("query");

        store
            .create_pole(&pole("rennes", "Rennes", RENNES, vec![], vec![]))
            .await
            .expect("pole");
        let first = cache.get(&store, &all).await.expect("statistics");
        assert_eq!(first.poles, 1, "[{label}]");
        let again = cache.get(&store, &all).await.expect("statistics");
        assert!(std::sync::Arc::ptr_eq(&first, &again), "[{label}] kept");
        let regional = cache.get(&store, &in_bretagne).await.expect("statistics");
        assert!(
            !std::sync::Arc::ptr_eq(&first, &regional),
            "[{label}] by query"
        );
        // The kinds asked for and the filters on calls do not change the figures.
        let calls_only = DirectoryParams {
            kind: Some("call".into()),
            call_status: Some("open".into()),
            ..Default::default()
        }
        .parse()
        .expect("query");
        let shared = cache.get(&store, &calls_only).await.expect("statistics");
        assert!(
            std::sync::Arc::ptr_eq(&first, &shared),
            "[{label}] shared by queries that differ only in kinds and call filters"
        );

        let before = store.directory_generation().await.expect("generation");
        let lyon = other
            .create_pole(&pole("lyon", "Lyon", LYON, vec![], vec![]))
            .await
            .expect("pole");
        assert!(
            store.directory_generation().await.expect("generation") > before,
            "[{label}] the generation moves with the directory"
        );
        assert_eq!(
            cache.get(&store, &all).await.expect("statistics").poles,
            2,
            "[{label}] a change by another process is seen"
        );
        other.delete_pole(&lyon.pole.slug).await.expect("delete");
        assert_eq!(
            cache.get(&store, &all).await.expect("statistics").poles,
            1,
            "[{label}] a deletion is seen"
        );
        other.close().await.ok();
        store.close().await.ok();
        db.drop_now().await;
    }
}
