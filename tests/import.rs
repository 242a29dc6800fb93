//! Importing poles and members, on SQLite and PostgreSQL: the CSV and GoGoCarto exports
//! round-trip into an empty instance, a French spreadsheet's variant and a Transiscope
//! export are read, a dry run lists every problem and stores nothing, one bad row stops the
//! whole import, imported poles are searched and served as actors, and the command line
//! and the administration's upload do the same.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::visitor::{PASSWORD, Visitor, csrf};
use common::{TestDb, TestServer, count_rows};
use maillage::domain::place::PlaceInput;
use maillage::domain::vocab::{EmployeeBand, LegalForm, PoolingKind, TerritoryKind, Theme};
use maillage::domain::{MemberInput, PoleInput, TerritoryInput};
use maillage::import::{self, Location, Parsed, PoleFormat, Report};
use maillage::store::{Role, Store};
use reqwest::StatusCode;
use serde_json::Value;

const TRANSISCOPE: &str = include_str!("data/transiscope.json");

/// Every table of the database with its number of rows.
async fn table_counts(store: &Store) -> BTreeMap<String, i64> {
    let db = store.connection();
    let sql = match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        _ => "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
    };
    use sea_orm::ConnectionTrait;
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await
        .expect("tables");
    let mut counts = BTreeMap::new();
    for row in rows {
        let table: String = row.try_get_by_index(0).expect("table name");
        counts.insert(table.clone(), count_rows(store, &table).await);
    }
    assert!(counts.contains_key("poles") && counts.contains_key("members"));
    counts
}

async fn get(server: &TestServer, path: &str) -> String {
    let res = server
        .client
        .get(server.url(path))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    // The bytes as sent: `text()` would drop a byte-order mark.
    String::from_utf8(res.bytes().await.expect("body").to_vec()).expect("UTF-8")
}

/// A CSV's rows as column → cell, without `skip`, sorted.
fn rows(text: &str, skip: &[&str]) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let mut out: Vec<BTreeMap<String, String>> = reader
        .records()
        .map(|r| {
            header
                .iter()
                .zip(r.expect("record").iter())
                .filter(|(h, _)| !skip.contains(&h.as_str()))
                .map(|(h, v)| (h.clone(), v.to_owned()))
                .collect()
        })
        .collect();
    out.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    out
}

async fn run(store: &Store, parsed: Parsed, dry_run: bool) -> Report {
    import::run(store, parsed, dry_run).await.expect("import")
}

fn poles_csv(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    parsed.poles(text.as_bytes(), None);
    parsed
}

/// Three poles, as full and as empty as a profile can be, with members.
async fn fill(store: &Store) {
    let full = PoleInput {
        slug: "pays-de-redon".into(),
        name: "Pôle Pays de Redon".into(),
        summary: Some("-30 % de déchets, « coopérer » d'abord".into()),
        website: Some("https://ptce-redon.example.org/".into()),
        contact_email: Some("contact@ptce-redon.example.org".into()),
        legal_form: Some(LegalForm::Scic),
        siren: Some("732829320".into()),
        founded_year: Some(2011),
        territory: TerritoryInput {
            communes: vec!["35236".into(), "44185".into()],
            kind: Some(TerritoryKind::Rural),
            label: Some("Pays de Redon, Bretagne sud".into()),
        },
        themes: vec![Theme::RenewableEnergy, Theme::AgricultureFood],
        pooling: vec![PoolingKind::Knowledge, PoolingKind::Premises],
        shared_place: Some(PlaceInput {
            name: Some("La Maison de la coopération".into()),
            street: Some("3 rue Charles Sillard".into()),
            postal_code: Some("35600".into()),
            commune: Some("35236".into()),
            latitude: Some(47.6523),
            longitude: Some(-2.0841),
            ..Default::default()
        }),
        ..Default::default()
    };
    let bare = PoleInput {
        slug: "ecluse".into(),
        name: "L'Écluse; \"tiers-lieu\"".into(),
        ..Default::default()
    };
    let third = PoleInput {
        slug: "rhone-solidaire".into(),
        name: "PTCE Rhône Solidaire".into(),
        territory: TerritoryInput {
            communes: vec!["69266".into()],
            ..Default::default()
        },
        themes: vec![Theme::Digital],
        shared_place: Some(PlaceInput {
            latitude: Some(45.77),
            longitude: Some(4.88),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut ids = Vec::new();
    for input in [full, bare, third] {
        let pole = input.validate().expect("valid pole");
        ids.push(store.create_pole(&pole).await.expect("pole").id);
    }
    let members = [
        MemberInput {
            name: "Énergies citoyennes du Pays de Redon".into(),
            legal_form: Some(LegalForm::Scic),
            employee_band: Some(EmployeeBand::ALL[1]),
            siret: Some("73282932000074".into()),
            website: Some("https://energies.example.org/".into()),
            role: Some("membre fondateur".into()),
            joined_year: Some(2012),
            ..Default::default()
        },
        MemberInput {
            name: "Menuiserie Le Gall".into(),
            legal_form: Some(LegalForm::Sarl),
            ess: Some(true),
            ..Default::default()
        },
    ];
    for member in &members {
        let member = member.validate().expect("valid member");
        store.create_member(ids[0], &member).await.expect("member");
    }
    let other = MemberInput {
        name: "Association Rhône Numérique".into(),
        legal_form: Some(LegalForm::Association),
        ..Default::default()
    };
    store
        .create_member(ids[2], &other.validate().expect("valid"))
        .await
        .expect("member");
}

/// What our GoGoCarto export says of each pole, without what cannot come back: ids and
/// dates, the instance (`sourceKey`, the handle's domain), and the member count (the
/// format has no members).
fn elements(text: &str) -> Vec<Value> {
    let root: Value = serde_json::from_str(text).expect("json");
    let mut out: Vec<Value> = root["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| {
            let mut e = e.clone();
            let object = e.as_object_mut().expect("object");
            for key in ["id", "sourceKey", "createdAt", "updatedAt", "members"] {
                object.remove(key);
            }
            let handle = object["fediverse"].as_str().unwrap_or_default().to_owned();
            let slug = handle
                .trim_start_matches('@')
                .split('@')
                .next()
                .unwrap_or_default();
            object.insert("fediverse".into(), Value::String(slug.to_owned()));
            e
        })
        .collect();
    out.sort_by_key(|e| e["fediverse"].to_string());
    out
}

#[tokio::test]
async fn exports_round_trip_into_an_empty_instance() {
    common::init_logs();
    let sources = TestDb::all().await;
    let csv_targets = TestDb::all().await;
    let json_targets = TestDb::all().await;
    for ((source, csv_target), json_target) in
        sources.into_iter().zip(csv_targets).zip(json_targets)
    {
        let label = source.label;
        let a = TestServer::start(&source).await;
        fill(&a.store).await;
        let poles = get(&a, "/feeds/poles.csv").await;
        let members = get(&a, "/feeds/members.csv").await;
        let gogocarto = get(&a, "/feeds/gogocarto.json").await;

        // CSV: poles and members in one import.
        let b = TestServer::start(&csv_target).await;
        let mut parsed = poles_csv(&poles);
        parsed.members(members.as_bytes());
        // The tables for French spreadsheets read back as the same rows.
        let french_poles = get(&a, "/feeds/poles.csv?spreadsheet=fr").await;
        assert!(french_poles.starts_with('\u{feff}'), "{label}");
        let mut french = poles_csv(&french_poles);
        french.members(
            get(&a, "/feeds/members.csv?spreadsheet=fr")
                .await
                .as_bytes(),
        );
        assert!(french.problems.is_empty(), "{label}: {:?}", french.problems);
        assert_eq!(
            format!("{:?}", (&french.poles, &french.members)),
            format!("{:?}", (&parsed.poles, &parsed.members)),
            "{label}"
        );
        let report = run(&b.store, parsed, false).await;
        assert!(report.created, "{label}: {:?}", report.problems);
        assert!(report.warnings.is_empty(), "{label}: {:?}", report.warnings);
        assert_eq!((report.poles.len(), report.members), (3, 3), "{label}");
        // What cannot round-trip: the pole's URL and handle (another instance) and when
        // it was last changed.
        let skip = ["url", "handle", "updated_at", "pole_url"];
        assert_eq!(
            rows(&get(&b, "/feeds/poles.csv").await, &skip),
            rows(&poles, &skip),
            "{label}"
        );
        assert_eq!(
            rows(&get(&b, "/feeds/members.csv").await, &skip),
            rows(&members, &skip),
            "{label}"
        );

        // GoGoCarto: our own export.
        let c = TestServer::start(&json_target).await;
        let mut parsed = Parsed::default();
        parsed.poles(gogocarto.as_bytes(), None);
        let report = run(&c.store, parsed, false).await;
        assert!(report.created, "{label}: {:?}", report.problems);
        assert!(report.warnings.is_empty(), "{label}: {:?}", report.warnings);
        let again = get(&c, "/feeds/gogocarto.json").await;
        let (before, after) = (elements(&gogocarto), elements(&again));
        assert_eq!(after.len(), 3, "{label}");
        for (b, a) in before.iter().zip(&after) {
            // A territory of several communes comes back as the commune of its address.
            if b["fediverse"] == "pays-de-redon" {
                assert_eq!(a["departements"], serde_json::json!(["35"]), "{label}");
                assert_eq!(a["regions"], serde_json::json!(["53"]), "{label}");
                let (mut a, mut b) = (a.clone(), b.clone());
                for key in ["departements", "regions"] {
                    a.as_object_mut().expect("object").remove(key);
                    b.as_object_mut().expect("object").remove(key);
                }
                assert_eq!(a, b, "{label}");
            } else {
                assert_eq!(a, b, "{label}");
            }
        }
        for server in [a, b, c] {
            server.stop().await;
        }
        for db in [source, csv_target, json_target] {
            db.drop_now().await;
        }
    }
}

#[tokio::test]
async fn a_french_spreadsheet_is_read() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        // Semicolons, a byte order mark, decimal commas, labels instead of identifiers,
        // columns in another order, and the export's formula guard.
        let poles = "\u{feff}name;slug;themes;latitude;longitude;legal_form;communes;summary\r\n\
            Pôle Sud Gironde;sud-gironde;Mobilité|Numérique;44,55;-0,25;Association;33227;'=Coopérer\r\n\
            ;;;;;;;\r\n\
            Pôle Haute-Loire;haute-loire;training;;;scic;43157;\r\n";
        let members = "\u{feff}pole_slug;name;legal_form;ess;employee_band;joined_year\r\n\
            @sud-gironde@ailleurs.example;Bio Gironde;SARL;oui;;2019\r\n\
            haute-loire;Les Compagnons;Association;;;\r\n";
        let mut parsed = poles_csv(poles);
        parsed.members(members.as_bytes());
        let report = run(&store, parsed, false).await;
        assert!(report.created, "{label}: {:?}", report.problems);
        let pole = store.pole("sud-gironde").await.expect("pole").pole;
        assert_eq!(
            pole.themes,
            vec![Theme::Mobility, Theme::Digital],
            "{label}"
        );
        assert_eq!(pole.legal_form, Some(LegalForm::Association), "{label}");
        assert_eq!(pole.summary.as_deref(), Some("=Coopérer"), "{label}");
        let place = pole.shared_place.expect("place");
        assert_eq!(
            (place.latitude, place.longitude),
            (Some(44.55), Some(-0.25))
        );
        let record = store.pole("sud-gironde").await.expect("pole");
        let members = store.all_members(record.id).await.expect("members");
        assert_eq!(members.len(), 1, "{label}");
        assert_eq!(members[0].member.legal_form, LegalForm::Sarl);
        assert!(members[0].member.ess, "{label}");
        assert_eq!(members[0].member.joined_year, Some(2019));
        store.close().await.ok();
        db.drop_now().await;
    }
}

#[tokio::test]
async fn a_transiscope_export_is_imported_searched_and_federated() {
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let store = &server.store;
        // A pole already has the slug the first element's name gives.
        let taken = PoleInput {
            slug: "pole-territorial-de-cooperation-du-pays-de-redon".into(),
            name: "Déjà là".into(),
            ..Default::default()
        };
        store
            .create_pole(&taken.validate().expect("valid"))
            .await
            .expect("pole");
        let mut parsed = Parsed::default();
        parsed.poles(TRANSISCOPE.as_bytes(), None);
        let before = table_counts(store).await;
        let report = run(store, parsed.clone(), true).await;
        assert!(report.is_valid(), "{label}: {:?}", report.problems);
        assert!(!report.created);
        assert_eq!(
            table_counts(store).await,
            before,
            "{label}: a dry run writes nothing"
        );
        let warned: Vec<(Location, &str)> = report
            .warnings
            .iter()
            .map(|w| (w.at, w.column.as_str()))
            .collect();
        for expected in [
            (Location::Element(0), "name"),
            (Location::Element(0), "categories"),
            (Location::Element(0), "openHours"),
            (Location::Element(0), "images"),
            (Location::Element(2), "categories"),
            (Location::Element(2), "tags"),
        ] {
            assert!(
                warned.contains(&expected),
                "{label}: {expected:?} in {warned:?}"
            );
        }
        let slug_warning = &report.warnings[warned
            .iter()
            .position(|w| *w == (Location::Element(0), "name"))
            .expect("slug warning")];
        assert!(
            slug_warning
                .message
                .get("value")
                .is_some_and(|v| v.ends_with("-2")),
            "{}",
            slug_warning.message
        );

        let report = run(store, parsed, false).await;
        assert!(report.created, "{label}: {:?}", report.problems);
        let slugs: Vec<&str> = report.poles.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            slugs,
            vec![
                "pole-territorial-de-cooperation-du-pays-de-redon-2",
                "l-echo-des-etangs-cooperative-culturelle",
                "tiers-lieu-la-fabrique-a-projets"
            ],
            "{label}"
        );
        let redon = store
            .pole("pole-territorial-de-cooperation-du-pays-de-redon-2")
            .await
            .expect("pole")
            .pole;
        assert_eq!(redon.themes, vec![Theme::RenewableEnergy, Theme::Mobility]);
        assert_eq!(redon.territory.communes, vec!["35236".to_owned()]);
        assert_eq!(redon.contact_phone.as_deref(), Some("02 99 71 00 00"));
        let echo = store
            .pole("l-echo-des-etangs-cooperative-culturelle")
            .await
            .expect("pole")
            .pole;
        assert_eq!(echo.themes, vec![Theme::CultureCreative, Theme::Digital]);
        assert_eq!(
            echo.shared_place.as_ref().and_then(|p| p.name.as_deref()),
            Some("La Halle")
        );
        assert!(
            echo.description
                .expect("description")
                .html
                .contains("<strong>locaux</strong>")
        );
        let fabrique = store
            .pole("tiers-lieu-la-fabrique-a-projets")
            .await
            .expect("pole")
            .pole;
        assert_eq!(
            fabrique.territory.communes,
            vec!["93066".to_owned()],
            "{label}"
        );

        // Found by the directory's search, served as an actor with its key.
        let found: Value =
            serde_json::from_str(&get(&server, "/api/v1/directory?q=etangs").await).expect("json");
        let names: Vec<&str> = found["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["title"].as_str().or(i["name"].as_str()))
            .collect();
        assert!(
            names.iter().any(|n| n.contains("Écho des Étangs")),
            "{label}: {found}"
        );
        let res = server
            .client
            .get(server.url("/poles/tiers-lieu-la-fabrique-a-projets"))
            .header("accept", "application/activity+json")
            .send()
            .await
            .expect("actor");
        assert_eq!(res.status(), StatusCode::OK);
        let actor: Value = res.json().await.expect("json");
        assert_eq!(actor["type"], "Group", "{label}");
        assert!(
            actor["publicKey"]["publicKeyPem"]
                .as_str()
                .is_some_and(|k| k.contains("PUBLIC KEY")),
            "{label}: {actor}"
        );
        server.stop().await;
        db.drop_now().await;
    }
}

/// A table where every row but the first has something wrong, and members of which one
/// names no pole.
const BAD_POLES: &str = "slug,name,siren,themes,latitude,longitude,colour\n\
    bon-pole,Un bon pôle,,,,,\n\
    taken,Pôle déjà là,,,,,\n\
    mauvais,Siren faux,123456789,,,,\n\
    theme,Thème inconnu,,astrologie,,,\n\
    bon-pole,Doublon,,,95,2,\n";

const BAD_MEMBERS: &str = "pole_slug,name,legal_form\n\
    bon-pole,Membre valide,association\n\
    nulle-part,Membre orphelin,association\n\
    bon-pole,,cooperative\n";

#[tokio::test]
async fn a_dry_run_lists_every_problem_and_nothing_is_stored() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let taken = PoleInput {
            slug: "taken".into(),
            name: "Taken".into(),
            ..Default::default()
        };
        store
            .create_pole(&taken.validate().expect("valid"))
            .await
            .expect("pole");
        let before = table_counts(&store).await;
        for dry_run in [true, false] {
            let mut parsed = poles_csv(BAD_POLES);
            parsed.members(BAD_MEMBERS.as_bytes());
            let report = run(&store, parsed, dry_run).await;
            assert!(!report.created, "{label}");
            let found: Vec<(String, String)> = report
                .problems
                .iter()
                .map(|p| {
                    (
                        p.to_string()
                            .split(',')
                            .next()
                            .unwrap_or_default()
                            .to_owned(),
                        p.column.clone(),
                    )
                })
                .collect();
            let expected = [
                ("poles line 1", "colour"),
                ("poles line 5", "themes"),
                ("poles line 3", "slug"),
                ("poles line 4", "siren"),
                ("poles line 6", "slug"),
                ("poles line 6", "latitude"),
                ("members line 3", "pole_slug"),
                ("members line 4", "legal_form"),
                ("members line 4", "name"),
            ];
            for (at, column) in expected {
                assert!(
                    found.iter().any(|(a, c)| a == at && c == column),
                    "{label}: {at} {column} in {found:?}"
                );
            }
            assert_eq!(found.len(), expected.len(), "{label}: {found:?}");
            assert!(report.problems.iter().all(|p| {
                !maillage::web::pages::Lang::En
                    .message(&p.message)
                    .is_empty()
            }));
            assert_eq!(
                table_counts(&store).await,
                before,
                "{label}: dry run {dry_run}"
            );
        }
        store.close().await.ok();
        db.drop_now().await;
    }
}

#[tokio::test]
async fn one_bad_row_among_good_ones_imports_nothing() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let good =
            "slug,name,communes\nun,Pôle un,35236\ndeux,Pôle deux,69266\ntrois,Pôle trois,\n";
        let bad = format!("{good}quatre,Pôle quatre,99999\n");
        let before = table_counts(&store).await;
        let report = run(&store, poles_csv(&bad), false).await;
        assert!(!report.created);
        assert_eq!(report.problems.len(), 1, "{label}: {:?}", report.problems);
        assert_eq!(report.problems[0].at, Location::Line(5));
        assert_eq!(report.problems[0].column, "communes");
        assert_eq!(table_counts(&store).await, before, "{label}");
        let report = run(&store, poles_csv(good), false).await;
        assert!(report.created, "{label}: {:?}", report.problems);
        assert_eq!(count_rows(&store, "poles").await, 3);
        store.close().await.ok();
        db.drop_now().await;
    }
}

#[test]
fn formats_are_told_apart() {
    assert_eq!(
        PoleFormat::detect(TRANSISCOPE.as_bytes()),
        PoleFormat::GoGoCarto
    );
    assert_eq!(PoleFormat::detect(BAD_POLES.as_bytes()), PoleFormat::Csv);
}

/// `maillage` with the database of `db` and none of this process's `MAILLAGE_*` variables.
fn maillage(db: &TestDb, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_maillage"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MAILLAGE_") {
            cmd.env_remove(&name);
        }
    }
    cmd.current_dir(dir)
        .env("MAILLAGE_DATABASE_URL", &db.url)
        .env("MAILLAGE_PUBLIC_URL", "http://127.0.0.1:9")
        .args(args)
        .output()
        .expect("run maillage")
}

#[tokio::test]
async fn the_command_line_imports_poles_and_members() {
    for db in TestDb::all().await {
        let label = db.label;
        // The database exists, migrated, as on an instance that has run once.
        common::store(&db).await.close().await.ok();
        let dir = tempfile::tempdir().expect("directory");
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            path.display().to_string()
        };
        let bad = write("bad.csv", BAD_POLES);
        let members = write(
            "members.csv",
            "pole_slug,name,legal_form\nbon-pole,Membre,scop\n",
        );
        let good = write("poles.csv", "slug,name\nbon-pole,Un bon pôle\n");
        let json = write("transiscope.json", TRANSISCOPE);

        let out = maillage(&db, dir.path(), &["import-poles", &bad, "--dry-run"]);
        assert!(!out.status.success(), "{label}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("poles line 4, siren: "),
            "{label}: {stderr}"
        );
        assert!(
            stderr.contains("poles line 1, colour: unknown column"),
            "{label}: {stderr}"
        );

        let out = maillage(&db, dir.path(), &["import-members", &members]);
        assert!(!out.status.success(), "{label}: the pole is not there yet");
        assert!(String::from_utf8_lossy(&out.stderr).contains("members line 2, pole_slug: "));

        let out = maillage(
            &db,
            dir.path(),
            &["import-poles", &good, "--members", &members, "--dry-run"],
        );
        assert!(
            out.status.success(),
            "{label}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("would import 1 poles and 1 members")
        );
        let out = maillage(&db, dir.path(), &["import-poles", &good, "--format", "csv"]);
        assert!(
            out.status.success(),
            "{label}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = maillage(&db, dir.path(), &["import-members", &members]);
        assert!(
            out.status.success(),
            "{label}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = maillage(&db, dir.path(), &["import-poles", &json]);
        assert!(
            out.status.success(),
            "{label}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("warning: poles data[0], openHours: "),
            "{label}: {stdout}"
        );
        assert!(stdout.contains("imported 3 poles"), "{label}: {stdout}");

        let store = common::store(&db).await;
        assert_eq!(count_rows(&store, "poles").await, 4, "{label}");
        assert_eq!(count_rows(&store, "members").await, 1, "{label}");
        store.close().await.ok();
        db.drop_now().await;
    }
}

#[tokio::test]
async fn administrators_import_through_the_administration() {
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let hash = maillage::auth::hash_password(PASSWORD).expect("hash");
        for (name, role) in [("root", Role::Admin), ("editor", Role::Editor)] {
            server
                .store
                .create_user(name, None, Some(hash.clone()), role)
                .await
                .expect("user");
        }
        let mut editor = Visitor::new(&server);
        editor.sign_in("editor", PASSWORD).await;
        assert_eq!(
            editor.get("/admin/import").await.status,
            StatusCode::FORBIDDEN
        );

        let mut admin = Visitor::new(&server);
        let signed = admin.sign_in("root", PASSWORD).await;
        assert_eq!(signed.status, StatusCode::SEE_OTHER, "{label}");
        assert!(
            admin
                .get("/admin")
                .await
                .body
                .contains("href=\"/admin/import\"")
        );
        let page = admin.get("/admin/import").await;
        assert_eq!(page.status, StatusCode::OK, "{label}");
        let token = csrf(&page.body);
        let before = table_counts(&server.store).await;

        // Without the anti-forgery token: refused, nothing read.
        let refused = admin
            .post_files(
                "/admin/import",
                &[("kind", "poles-csv"), ("action", "import")],
                &[("file", "poles.csv", b"slug,name\nun,Un\n")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{label}");

        // « Vérifier » a bad table: every problem in the table, nothing stored.
        let checked = admin
            .post_files(
                "/admin/import",
                &[
                    ("_csrf", &token),
                    ("kind", "poles-csv"),
                    ("action", "check"),
                ],
                &[("file", "poles.csv", BAD_POLES.as_bytes())],
            )
            .await;
        assert_eq!(checked.status, StatusCode::UNPROCESSABLE_ENTITY, "{label}");
        assert!(checked.body.contains("Ligne"), "{label}");
        assert!(checked.body.contains("<code>colour</code>"), "{label}");
        assert!(checked.body.contains("<code>siren</code>"), "{label}");

        // « Vérifier » the Transiscope export: what would be created, with the warnings.
        let checked = admin
            .post_files(
                "/admin/import",
                &[
                    ("_csrf", &token),
                    ("kind", "gogocarto"),
                    ("action", "check"),
                ],
                &[("file", "transiscope.json", TRANSISCOPE.as_bytes())],
            )
            .await;
        assert_eq!(checked.status, StatusCode::OK, "{label}: {}", checked.body);
        assert!(
            checked.body.contains("créerait 3"),
            "{label}: {}",
            checked.body
        );
        assert!(checked.body.contains("<code>openHours</code>"), "{label}");
        assert_eq!(table_counts(&server.store).await, before, "{label}");

        // « Importer »: created, with members from the second file.
        let members =
            "pole_slug,name,legal_form\ntiers-lieu-la-fabrique-a-projets,La Cantine,scic\n";
        let imported = admin
            .post_files(
                "/admin/import",
                &[
                    ("_csrf", &token),
                    ("kind", "gogocarto"),
                    ("action", "import"),
                ],
                &[
                    ("file", "transiscope.json", TRANSISCOPE.as_bytes()),
                    ("members", "members.csv", members.as_bytes()),
                ],
            )
            .await;
        assert_eq!(
            imported.status,
            StatusCode::OK,
            "{label}: {}",
            imported.body
        );
        assert!(imported.body.contains("Importation faite"), "{label}");
        assert_eq!(count_rows(&server.store, "poles").await, 3, "{label}");
        assert_eq!(count_rows(&server.store, "members").await, 1, "{label}");
        // Editable in the administration like any other pole.
        let hub = admin
            .get("/admin/poles/tiers-lieu-la-fabrique-a-projets")
            .await;
        assert_eq!(hub.status, StatusCode::OK, "{label}");
        assert!(hub.body.contains("La Cantine"), "{label}");

        // Too large: refused with a 413, nothing stored.
        let huge = vec![b'a'; import::MAX_BYTES + 1];
        let too_large = admin
            .post_files(
                "/admin/import",
                &[
                    ("_csrf", &token),
                    ("kind", "poles-csv"),
                    ("action", "import"),
                ],
                &[("file", "big.csv", &huge)],
            )
            .await;
        assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE, "{label}");
        server.stop().await;
        db.drop_now().await;
    }
}
