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
    let Ok(admin_url) = std::env::var("MAILLAGE_TEST_POSTGRES") else {
        println!("MAILLAGE_TEST_POSTGRES is not set: PostgreSQL migration test skipped");
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
    let outcome = tokio::spawn(exercise(db.clone())).await;
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
