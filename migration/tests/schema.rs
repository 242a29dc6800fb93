//! Runs the migrations against real databases: SQLite always, PostgreSQL when
//! `MAILLAGE_TEST_POSTGRES` points at a server (a fresh database is created
//! there for each run and dropped afterwards).

use std::time::{SystemTime, UNIX_EPOCH};

use migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbErr, SqlErr};
use migration::*;

const TABLES: [&str; 11] = [
    "instance",
    "users",
    "media",
    "poles",
    "user_poles",
    "api_tokens",
    "members",
    "projects",
    "events",
    "calls",
    "changes",
];

#[tokio::test]
async fn sqlite_up_down_up() {
    let db = Database::connect("sqlite::memory:")
        .await
        .expect("open in-memory SQLite");
    exercise(db.clone()).await;
    db.close().await.expect("close SQLite");
}

#[tokio::test]
async fn postgres_up_down_up() {
    on_scratch_postgres("migration test", exercise).await;
}

/// Runs `test` on a new PostgreSQL database on the server of `MAILLAGE_TEST_POSTGRES`,
/// dropped afterwards, even when the test fails.
async fn on_scratch_postgres<F, Fut>(what: &str, test: F)
where
    F: FnOnce(DatabaseConnection) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Ok(admin_url) = std::env::var("MAILLAGE_TEST_POSTGRES") else {
        println!("MAILLAGE_TEST_POSTGRES is not set: PostgreSQL {what} skipped");
        return;
    };
    let admin = Database::connect(&admin_url)
        .await
        .expect("connect to MAILLAGE_TEST_POSTGRES");

    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let name = format!("maillage_mig_{}_{nanos}", std::process::id());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create scratch database");

    let mut url = url::Url::parse(&admin_url).expect("MAILLAGE_TEST_POSTGRES is a URL");
    url.set_path(&format!("/{name}"));
    let db = Database::connect(url.as_str())
        .await
        .expect("connect to scratch database");

    // Run on its own task so that a failed assertion still lets us drop the
    // scratch database before reporting it.
    let outcome = tokio::spawn(test(db.clone())).await;
    db.close().await.expect("close scratch database");
    admin
        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await
        .expect("drop scratch database");
    admin.close().await.expect("close admin connection");

    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

#[tokio::test]
async fn sqlite_versions_are_numbered_again_where_they_repeat() {
    let db = Database::connect("sqlite::memory:")
        .await
        .expect("open in-memory SQLite");
    versions_numbered_again(db.clone()).await;
    db.close().await.expect("close SQLite");
}

#[tokio::test]
async fn postgres_versions_are_numbered_again_where_they_repeat() {
    on_scratch_postgres("versions test", versions_numbered_again).await;
}

/// A history written before versions were unique (members all at version 1, a pole whose
/// two writers took the same version) is numbered 1 to N in the order it was written; a
/// clean history is left as it was; from then on a repeated version is refused.
async fn versions_numbered_again(db: DatabaseConnection) {
    let before_versions = Migrator::migrations()
        .iter()
        .position(|m| m.name().ends_with("_versions"))
        .expect("the versions migration");
    Migrator::up(&db, Some(before_versions as u32))
        .await
        .expect("migrate up to the one before");
    let raced = insert_pole(&db, "https://a.example/p/1", "a.example", "raced")
        .await
        .expect("pole");
    let clean = insert_pole(&db, "https://a.example/p/2", "a.example", "clean")
        .await
        .expect("pole");
    db.execute_unprepared(&format!(
        "UPDATE poles SET version = 3 WHERE id = {raced};
         UPDATE poles SET version = 2 WHERE id = {clean};
         INSERT INTO members (pole_id, name, legal_form, ess, created_at, updated_at)
            VALUES ({raced}, 'Membre', 'association', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    ))
    .await
    .expect("rows");
    let member: i64 = db
        .query_one_raw(migration::sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT MAX(id) AS id FROM members",
        ))
        .await
        .expect("member")
        .expect("a row")
        .try_get("", "id")
        .expect("id");
    let history = [
        (raced, "pole", raced, "create", 1),
        (raced, "pole", raced, "update", 2),
        (raced, "pole", raced, "update", 2),
        (raced, "pole", raced, "update", 3),
        (raced, "member", member, "create", 1),
        (raced, "member", member, "update", 1),
        (raced, "member", member, "update", 1),
        (clean, "pole", clean, "create", 1),
        (clean, "pole", clean, "update", 2),
    ];
    for (pole, kind, object, action, version) in history {
        db.execute_unprepared(&format!(
            "INSERT INTO changes (pole_id, object_kind, object_id, action, version, created_at) \
             VALUES ({pole}, '{kind}', {object}, '{action}', {version}, CURRENT_TIMESTAMP)"
        ))
        .await
        .expect("history row");
    }

    Migrator::up(&db, None).await.expect("migrate up");

    let versions = |kind: &'static str, object: i64| {
        let db = db.clone();
        async move {
            db.query_all_raw(migration::sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!(
                    "SELECT version FROM changes WHERE object_kind = '{kind}' \
                     AND object_id = {object} ORDER BY id"
                ),
            ))
            .await
            .expect("history")
            .iter()
            .map(|r| r.try_get::<i32>("", "version").expect("version"))
            .collect::<Vec<_>>()
        }
    };
    let current = |table: &'static str, id: i64| {
        let db = db.clone();
        async move {
            db.query_one_raw(migration::sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT version FROM {table} WHERE id = {id}"),
            ))
            .await
            .expect("row")
            .expect("a row")
            .try_get::<i32>("", "version")
            .expect("version")
        }
    };
    assert_eq!(versions("pole", raced).await, [1, 2, 3, 4]);
    assert_eq!(current("poles", raced).await, 4);
    assert_eq!(versions("member", member).await, [1, 2, 3]);
    assert_eq!(current("members", member).await, 3);
    assert_eq!(
        versions("pole", clean).await,
        [1, 2],
        "a clean history is kept"
    );
    assert_eq!(current("poles", clean).await, 2);

    let repeat = db
        .execute_unprepared(&format!(
            "INSERT INTO changes (pole_id, object_kind, object_id, action, version, created_at) \
             VALUES ({clean}, 'pole', {clean}, 'update', 2, CURRENT_TIMESTAMP)"
        ))
        .await
        .expect_err("a repeated version is refused");
    assert!(
        matches!(repeat.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
        "{repeat}"
    );
}

async fn exercise(db: DatabaseConnection) {
    assert_tables(&db, false).await;

    Migrator::up(&db, None).await.expect("first migrate up");
    assert_tables(&db, true).await;
    assert!(
        Migrator::get_pending_migrations(&db)
            .await
            .expect("read migration status")
            .is_empty()
    );
    check_constraints(&db).await;

    Migrator::down(&db, None).await.expect("migrate down");
    assert_tables(&db, false).await;

    Migrator::up(&db, None).await.expect("second migrate up");
    assert_tables(&db, true).await;
    // The second schema must be as usable as the first.
    check_constraints(&db).await;
}

async fn assert_tables(db: &DatabaseConnection, present: bool) {
    let manager = SchemaManager::new(db);
    for table in TABLES {
        let exists = manager.has_table(table).await.expect("inspect schema");
        assert_eq!(exists, present, "table {table} present: {exists}");
    }
}

async fn check_constraints(db: &DatabaseConnection) {
    let first = insert_pole(db, "https://a.example/p/1", "a.example", "alpha")
        .await
        .expect("insert first pole");
    let second = insert_pole(db, "https://a.example/p/2", "a.example", "beta")
        .await
        .expect("insert second pole");
    assert_ne!(first, second, "auto-increment ids must differ");

    // A different ap_id, so only UNIQUE(domain, slug) can reject it.
    let err = insert_pole(db, "https://a.example/p/3", "a.example", "alpha")
        .await
        .expect_err("UNIQUE(domain, slug) must reject a duplicate");
    assert!(
        matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
        "unexpected error for duplicate (domain, slug): {err}"
    );
    // Same slug on another domain is a different pole.
    insert_pole(db, "https://b.example/p/1", "b.example", "alpha")
        .await
        .expect("same slug on another domain");

    let err = db
        .execute(
            Query::insert()
                .into_table(Instance::Table)
                .columns([
                    Instance::Id,
                    Instance::Name,
                    Instance::CreatedAt,
                    Instance::UpdatedAt,
                ])
                .values_panic([2.into(), "x".into(), now().into(), now().into()]),
        )
        .await
        .expect_err("the instance row must have id 1");
    assert!(
        err.to_string().to_lowercase().contains("check constraint"),
        "expected a CHECK failure, got {err}"
    );

    // Foreign keys must really be enforced (SQLite only does so when asked).
    db.execute(
        Query::insert()
            .into_table(Members::Table)
            .columns([
                Members::PoleId,
                Members::Name,
                Members::LegalForm,
                Members::Ess,
                Members::CreatedAt,
                Members::UpdatedAt,
            ])
            .values_panic([
                first.into(),
                "Coop".into(),
                "scic".into(),
                true.into(),
                now().into(),
                now().into(),
            ]),
    )
    .await
    .expect("insert member");
    db.execute(
        Query::delete()
            .from_table(Poles::Table)
            .and_where(Expr::col(Poles::Id).eq(first)),
    )
    .await
    .expect("delete pole");
    let members = db
        .query_all(Query::select().column(Members::Id).from(Members::Table))
        .await
        .expect("list members");
    assert!(
        members.is_empty(),
        "deleting a pole cascades to its members"
    );

    // Leave the tables empty so the next up/down cycle starts clean.
    db.execute(Query::delete().from_table(Poles::Table))
        .await
        .expect("empty poles");
}

async fn insert_pole(
    db: &DatabaseConnection,
    ap_id: &str,
    domain: &str,
    slug: &str,
) -> Result<i64, DbErr> {
    let empty = serde_json::json!([]);
    let row = db
        .query_one(
            Query::insert()
                .into_table(Poles::Table)
                .columns([
                    Poles::ApId,
                    Poles::Local,
                    Poles::Domain,
                    Poles::Slug,
                    Poles::Name,
                    Poles::Communes,
                    Poles::Themes,
                    Poles::Pooling,
                    Poles::NationalCalls,
                    Poles::ManuallyApprovesFollowers,
                    Poles::Version,
                    Poles::CreatedAt,
                    Poles::UpdatedAt,
                ])
                .values_panic([
                    ap_id.into(),
                    true.into(),
                    domain.into(),
                    slug.into(),
                    format!("Pôle {slug}").into(),
                    empty.clone().into(),
                    empty.clone().into(),
                    empty.clone().into(),
                    empty.into(),
                    false.into(),
                    1.into(),
                    now().into(),
                    now().into(),
                ])
                .returning_col(Poles::Id),
        )
        .await?
        .expect("INSERT … RETURNING yields a row");
    row.try_get::<i64>("", "id")
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

#[derive(DeriveIden)]
enum Instance {
    Table,
    Id,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Poles {
    Table,
    Id,
    ApId,
    Local,
    Domain,
    Slug,
    Name,
    Communes,
    Themes,
    Pooling,
    NationalCalls,
    ManuallyApprovesFollowers,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Members {
    Table,
    Id,
    PoleId,
    Name,
    LegalForm,
    Ess,
    CreatedAt,
    UpdatedAt,
}
