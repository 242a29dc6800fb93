//! Backups taken while the server writes, and their restoration, on SQLite and PostgreSQL.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{TestDb, TestServer, count, ok};
use maillage::store::Store;
use maillage::store::backup::{self, BackupError};
use reqwest::Method;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::json;

/// How many projects the writer creates, one after the other.
const WRITES: usize = 120;

/// Every row of every table (SQLite's full-text index apart: it is rebuilt from
/// `directory`), each row as text, by table.
async fn rows(db: &DatabaseConnection) -> BTreeMap<String, BTreeSet<String>> {
    let backend = db.get_database_backend();
    let tables_sql = match backend {
        DbBackend::Postgres => {
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        }
        _ => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE 'directory_fts%' ORDER BY 1"
        }
    };
    let tables: Vec<String> = db
        .query_all_raw(Statement::from_string(backend, tables_sql))
        .await
        .expect("tables")
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("a name"))
        .collect();
    let mut all = BTreeMap::new();
    for table in tables {
        let select = match backend {
            DbBackend::Postgres => format!("SELECT row_to_json(t)::text FROM \"{table}\" t"),
            _ => {
                let columns: Vec<String> = db
                    .query_all_raw(Statement::from_string(
                        backend,
                        format!("SELECT name FROM pragma_table_info('{table}')"),
                    ))
                    .await
                    .expect("columns")
                    .iter()
                    .map(|r| r.try_get_by_index::<String>(0).expect("a column"))
                    .collect();
                let quoted: Vec<String> =
                    columns.iter().map(|c| format!("quote(\"{c}\")")).collect();
                format!("SELECT {} FROM \"{table}\"", quoted.join(" || ',' || "))
            }
        };
        let found: BTreeSet<String> = db
            .query_all_raw(Statement::from_string(backend, select))
            .await
            .unwrap_or_else(|e| panic!("rows of {table}: {e}"))
            .iter()
            .map(|r| r.try_get_by_index::<String>(0).expect("a row"))
            .collect();
        all.insert(table, found);
    }
    all
}

/// What a backup file holds, read without Maillage's restore: a SQLite copy's rows, or the
/// rows per table of a PostgreSQL archive as `pg_restore` lists its data.
enum InBackup {
    Rows(BTreeMap<String, BTreeSet<String>>),
    Counts(BTreeMap<String, usize>),
}

async fn backup_rows(db: &TestDb, file: &std::path::Path) -> InBackup {
    if db.label == "sqlite" {
        let copy = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", file.display()))
            .await
            .expect("open the copy");
        let found = rows(&copy).await;
        copy.close().await.expect("close");
        return InBackup::Rows(found);
    }
    let output = std::process::Command::new("pg_restore")
        .args(["--data-only", "--file=-"])
        .arg(file)
        .output()
        .expect("pg_restore");
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).expect("text");
    let mut counts = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("COPY ") {
            let name = rest.split_whitespace().next().unwrap_or_default();
            let table = name.rsplit('.').next().unwrap_or(name).trim_matches('"');
            counts.insert(table.to_owned(), 0);
            current = Some(table.to_owned());
        } else if line == "\\." {
            current = None;
        } else if let Some(table) = &current {
            *counts.entry(table.clone()).or_insert(0) += 1;
        }
    }
    assert!(counts.contains_key("projects"), "{text}");
    InBackup::Counts(counts)
}

async fn titles(store: &Store) -> Vec<String> {
    let db = store.connection();
    let backend = db.get_database_backend();
    db.query_all_raw(Statement::from_string(
        backend,
        "SELECT title FROM projects ORDER BY title",
    ))
    .await
    .expect("projects")
    .iter()
    .map(|r| r.try_get_by_index::<String>(0).expect("a title"))
    .collect()
}

/// A backup taken while projects are being created holds the database of one instant:
/// the first projects, each with its history row and its directory entry, and nothing
/// half-written. Restored over the database once the service is stopped (refused while it
/// runs, on SQLite) or into a new one, every row is as it was when the copy was taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_writes_restores_every_row() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let dir = tempfile::tempdir().expect("temporary directory");
        let file = dir.path().join("maillage.backup");
        let server = TestServer::start(&db).await;
        ok(
            &server,
            Method::POST,
            "/api/v1/poles",
            Some(json!({"slug": "redon", "name": "Pôle Redon", "territory": {"communes": ["35236"]}})),
        )
        .await;

        // One writer, so that the projects of any instant are the first ones.
        let writer = {
            let client = server.client.clone();
            let url = server.url("/api/v1/poles/redon/projects");
            let token = server.admin_token.clone();
            tokio::spawn(async move {
                for n in 0..WRITES {
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({"title": format!("Projet {n:03}"), "summary": "Écrit pendant la copie"}))
                        .send()
                        .await
                        .expect("a write");
                    assert_eq!(response.status(), 201, "write {n}");
                }
            })
        };
        common::eventually("some projects written", || async {
            titles(&server.store).await.len() >= 10
        })
        .await;
        let written = server
            .store
            .backup(&db.url, &file)
            .await
            .unwrap_or_else(|e| panic!("[{label}] backup: {e}"));
        assert!(written.bytes > 0);
        assert!(matches!(
            server.store.backup(&db.url, &file).await,
            Err(BackupError::Exists(_))
        ));
        writer.await.expect("the writer");
        assert_eq!(titles(&server.store).await.len(), WRITES);
        let live = rows(server.store.connection()).await;

        // While the service runs, SQLite refuses to be replaced.
        if label == "sqlite" {
            assert!(
                matches!(
                    backup::restore(&db.config(), &file).await,
                    Err(BackupError::InUse)
                ),
                "restored under a running server"
            );
        }
        server.store.clone().close().await.expect("close");
        server.stop().await;
        let in_backup = backup_rows(&db, &file).await;

        // Into a new database (a new machine), and over the original one.
        let fresh = match label {
            "postgres" => TestDb::postgres().await.expect("postgres"),
            _ => TestDb::sqlite(),
        };
        let mut restored_rows = Vec::new();
        for target in [&fresh, &db] {
            backup::restore(&target.config(), &file)
                .await
                .unwrap_or_else(|e| panic!("[{label}] restore: {e}"));
            let store = common::store(target).await;
            let restored = titles(&store).await;
            let n = restored.len();
            assert!((10..=WRITES).contains(&n), "[{label}] {n} projects");
            let first: Vec<String> = (0..n).map(|i| format!("Projet {i:03}")).collect();
            assert_eq!(
                restored, first,
                "[{label}] the first projects, none missing"
            );
            assert_eq!(
                count(
                    &store,
                    "SELECT COUNT(*) FROM changes WHERE object_kind = 'project'"
                )
                .await,
                n as i64,
                "[{label}] one history row per project"
            );
            assert_eq!(
                count(
                    &store,
                    "SELECT COUNT(*) FROM directory WHERE kind = 'project'"
                )
                .await,
                n as i64,
                "[{label}] one directory entry per project"
            );
            let page = store
                .search_directory(&maillage::store::DirectoryQuery {
                    q: Some("copie".into()),
                    per_page: 200,
                    ..Default::default()
                })
                .await
                .expect("search");
            assert_eq!(
                page.total, n as u64,
                "[{label}] every project found by its words"
            );
            // Every row of every table is the backup's.
            let restored_all = rows(store.connection()).await;
            match &in_backup {
                InBackup::Rows(copied) => assert_eq!(&restored_all, copied, "[{label}]"),
                InBackup::Counts(counts) => {
                    for (table, n) in counts {
                        assert_eq!(
                            restored_all.get(table).map(BTreeSet::len),
                            Some(*n),
                            "[{label}] rows of {table}"
                        );
                    }
                }
            }
            // Projects do not change once written: each restored one is the live one.
            let strange: Vec<&String> = restored_all["projects"]
                .difference(&live["projects"])
                .collect();
            assert!(strange.is_empty(), "[{label}] altered: {strange:?}");
            restored_rows.push(restored_all);
            store.close().await.expect("close");
        }
        assert_eq!(
            restored_rows[0], restored_rows[1],
            "[{label}] a new database and the old one restored alike"
        );
        fresh.drop_now().await;
        db.drop_now().await;
    }
}

/// A file that is not a backup, or that is missing, is refused with a reason, and the
/// database is left as it was.
#[tokio::test]
async fn what_is_not_a_backup_is_refused_and_changes_nothing() {
    let db = TestDb::sqlite();
    let store = common::store(&db).await;
    let before = rows(store.connection()).await;
    store.close().await.expect("close");
    let dir = tempfile::tempdir().expect("temporary directory");
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, "pas une base").expect("write");
    let refused = backup::restore(&db.config(), &garbage).await;
    assert!(
        matches!(refused, Err(BackupError::NotABackup { .. })),
        "{refused:?}"
    );
    let missing = backup::restore(&db.config(), &dir.path().join("absent.db")).await;
    assert!(
        matches!(missing, Err(BackupError::Missing(_))),
        "{missing:?}"
    );
    // A copy made by a later version, which knows a migration this one does not.
    let store = common::store(&db).await;
    let newer = dir.path().join("future.db");
    store.backup(&db.url, &newer).await.expect("backup");
    store.close().await.expect("close");
    let copy = sea_orm::Database::connect(format!("sqlite://{}", newer.display()))
        .await
        .expect("open the copy");
    copy.execute_unprepared(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29990101_000001_future', 0)",
    )
    .await
    .expect("a later migration");
    copy.close().await.expect("close");
    let refused = backup::restore(&db.config(), &newer).await;
    assert!(
        matches!(refused, Err(BackupError::Newer { .. })),
        "{refused:?}"
    );

    let store = common::store(&db).await;
    assert_eq!(rows(store.connection()).await, before);
}

/// A backup made by an earlier version (its schema eleven migrations old) is restored over
/// a database of this version, whose later tables it does not have, and brought up to date.
#[tokio::test]
async fn a_backup_of_an_earlier_schema_is_restored_and_upgraded() {
    use migration::MigratorTrait;
    for db in TestDb::all().await {
        let label = db.label;
        let old = match label {
            "postgres" => TestDb::postgres().await.expect("postgres"),
            _ => TestDb::sqlite(),
        };
        let early = Store::connect(&old.config()).await.expect("connect");
        migration::Migrator::up(early.connection(), Some(11))
            .await
            .expect("the first eleven migrations");
        let dir = tempfile::tempdir().expect("temporary directory");
        let file = dir.path().join("ancienne.backup");
        early.backup(&old.url, &file).await.expect("backup");
        early.close().await.expect("close");

        let current = common::store(&db).await;
        current
            .create_pole(
                &maillage::domain::PoleInput {
                    slug: "recent".into(),
                    name: "Pôle récent".into(),
                    ..Default::default()
                }
                .validate()
                .expect("a pole"),
            )
            .await
            .expect("create");
        current.close().await.expect("close");

        backup::restore(&db.config(), &file)
            .await
            .unwrap_or_else(|e| panic!("[{label}] restore: {e}"));
        let store = Store::connect(&db.config()).await.expect("connect");
        let (applied, pending) = store.migration_status().await.expect("status");
        assert_eq!(pending, 0, "[{label}]");
        assert_eq!(
            applied,
            migration::Migrator::migrations().len(),
            "[{label}]"
        );
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM poles").await,
            0,
            "[{label}]"
        );
        store.close().await.expect("close");
        old.drop_now().await;
        db.drop_now().await;
    }
}
