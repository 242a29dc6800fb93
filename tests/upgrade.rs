//! Upgrades: a database made by the first migration, with the rows a first instance wrote,
//! brought to the current schema with nothing lost, on SQLite and PostgreSQL.

mod common;

use chrono::{NaiveDate, TimeZone, Utc};
use common::TestDb;
use maillage::store::{PageRequest, Store};
use migration::MigratorTrait;
use sea_orm::sea_query::{Alias, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::json;

/// Inserts one row, with its columns as migration 1 made them.
async fn insert(db: &DatabaseConnection, table: &str, row: Vec<(&str, SimpleExpr)>) {
    let (columns, values): (Vec<_>, Vec<_>) = row.into_iter().unzip();
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new(table))
        .columns(columns.into_iter().map(Alias::new))
        .values(values)
        .unwrap_or_else(|e| panic!("{table}: {e}"));
    let statement = db.get_database_backend().build(&insert);
    db.execute_raw(statement)
        .await
        .unwrap_or_else(|e| panic!("insert into {table}: {e}"));
}

fn text(value: &str) -> SimpleExpr {
    value.into()
}

fn null() -> SimpleExpr {
    SimpleExpr::Constant(sea_orm::Value::String(None))
}

fn json_value(value: serde_json::Value) -> SimpleExpr {
    SimpleExpr::Value(sea_orm::Value::Json(Some(Box::new(value))))
}

/// The rows a first instance wrote: its settings, an administrator who edits the pole, the
/// pole itself, a member, and a project (changed once), an event and a call, each with
/// its history.
async fn first_rows(db: &DatabaseConnection) {
    let then = Utc
        .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
        .single()
        .expect("a date");
    let at = |hours: i64| SimpleExpr::from(then + chrono::Duration::hours(hours));
    insert(
        db,
        "instance",
        vec![
            ("id", 1.into()),
            ("name", text("PTCE de Bretagne")),
            ("summary", text("Les pôles de la région")),
            ("contact_email", text("contact@ptce.example.org")),
            ("created_at", at(0)),
            ("updated_at", at(0)),
        ],
    )
    .await;
    insert(
        db,
        "users",
        vec![
            ("username", text("camille")),
            ("email", text("camille@ptce.example.org")),
            ("password_hash", null()),
            ("role", text("admin")),
            ("created_at", at(0)),
            ("updated_at", at(0)),
        ],
    )
    .await;
    insert(
        db,
        "poles",
        vec![
            ("ap_id", text("http://localhost:8080/poles/redon")),
            ("local", true.into()),
            ("domain", text("localhost:8080")),
            ("slug", text("redon")),
            ("name", text("Pôle Pays de Redon")),
            ("summary", text("Coopérer sur le territoire")),
            ("description", text("Un **pôle** de coopération.")),
            ("description_format", text("markdown")),
            (
                "description_html",
                text("<p>Un <strong>pôle</strong> de coopération.</p>"),
            ),
            ("website", text("https://redon.example.org")),
            ("contact_email", null()),
            ("contact_phone", null()),
            ("founded_year", 2012.into()),
            ("legal_form", text("scic")),
            ("siren", null()),
            ("territory_kind", text("rural")),
            ("territory_label", text("Pays de Redon")),
            ("communes", json_value(json!(["35236"]))),
            (
                "themes",
                json_value(json!(["renewable-energy", "agriculture-food"])),
            ),
            ("pooling", json_value(json!(["premises"]))),
            (
                "shared_place",
                json_value(json!({"name": "La Maison", "commune": "35236"})),
            ),
            ("national_calls", json_value(json!([]))),
            ("charter_signed_year", null()),
            ("manually_approves_followers", false.into()),
            ("logo_media_id", null()),
            ("banner_media_id", null()),
            ("version", 1.into()),
            ("created_at", at(1)),
            ("updated_at", at(1)),
        ],
    )
    .await;
    insert(
        db,
        "user_poles",
        vec![("user_id", 1.into()), ("pole_id", 1.into())],
    )
    .await;
    insert(
        db,
        "members",
        vec![
            ("pole_id", 1.into()),
            ("name", text("La Légumerie")),
            ("legal_form", text("association")),
            ("ess", true.into()),
            ("employee_band", null()),
            ("siret", null()),
            ("website", null()),
            ("role", text("Fondatrice")),
            ("joined_year", 2013.into()),
            ("created_at", at(2)),
            ("updated_at", at(2)),
        ],
    )
    .await;
    let project =
        json!({"title": "Légumerie partagée", "summary": "Des légumes pour les cantines"});
    insert(
        db,
        "projects",
        vec![
            ("public_id", text("01a00000-0000-7000-8000-000000000001")),
            (
                "ap_id",
                text("http://localhost:8080/projects/01a00000-0000-7000-8000-000000000001"),
            ),
            ("local", true.into()),
            ("pole_id", 1.into()),
            ("title", text("Légumerie partagée")),
            ("summary", text("Des légumes pour les cantines du pays")),
            ("description", null()),
            ("description_format", null()),
            ("description_html", null()),
            ("status", text("in-progress")),
            ("partner_member_ids", json_value(json!([1]))),
            ("themes", json_value(json!(["agriculture-food"]))),
            ("communes", json_value(json!(["35236"]))),
            ("territory_kind", null()),
            ("territory_label", null()),
            (
                "start_date",
                NaiveDate::from_ymd_opt(2026, 1, 15).expect("a date").into(),
            ),
            ("end_date", null()),
            ("links", json_value(json!([]))),
            ("version", 2.into()),
            ("published_at", at(3)),
            ("created_at", at(3)),
            ("updated_at", at(4)),
        ],
    )
    .await;
    insert(
        db,
        "events",
        vec![
            ("public_id", text("01a00000-0000-7000-8000-000000000002")),
            (
                "ap_id",
                text("http://localhost:8080/events/01a00000-0000-7000-8000-000000000002"),
            ),
            ("local", true.into()),
            ("pole_id", 1.into()),
            ("title", text("Portes ouvertes")),
            ("summary", null()),
            ("description", null()),
            ("description_format", null()),
            ("description_html", null()),
            (
                "starts_at",
                SimpleExpr::from(
                    Utc.with_ymd_and_hms(2038, 3, 5, 13, 0, 0)
                        .single()
                        .expect("a date"),
                ),
            ),
            ("ends_at", null()),
            ("timezone", text("Europe/Paris")),
            (
                "place",
                json_value(json!({"name": "La Maison", "commune": "35236"})),
            ),
            ("online_url", null()),
            ("organiser_poles", json_value(json!([]))),
            ("registration_url", null()),
            ("capacity", 40.into()),
            ("status", text("scheduled")),
            ("version", 1.into()),
            ("published_at", at(5)),
            ("created_at", at(5)),
            ("updated_at", at(5)),
        ],
    )
    .await;
    insert(
        db,
        "calls",
        vec![
            ("public_id", text("01a00000-0000-7000-8000-000000000003")),
            (
                "ap_id",
                text("http://localhost:8080/calls/01a00000-0000-7000-8000-000000000003"),
            ),
            ("local", true.into()),
            ("pole_id", 1.into()),
            ("title", text("Cherche chambre froide")),
            ("summary", null()),
            ("description", null()),
            ("description_format", null()),
            ("description_html", null()),
            ("direction", text("seeking")),
            ("subjects", json_value(json!(["equipment"]))),
            ("themes", json_value(json!([]))),
            ("communes", json_value(json!([]))),
            ("territory_kind", null()),
            ("territory_label", null()),
            (
                "deadline",
                NaiveDate::from_ymd_opt(2038, 6, 1).expect("a date").into(),
            ),
            ("how_to_answer", text("Écrire à contact@redon.example.org")),
            ("status", text("open")),
            ("version", 1.into()),
            ("published_at", at(6)),
            ("created_at", at(6)),
            ("updated_at", at(6)),
        ],
    )
    .await;
    // The history, as the first version wrote it: the project's two versions, with two
    // rows numbered 1 (what a later migration renumbers).
    let history = [
        (
            "pole",
            1,
            "http://localhost:8080/poles/redon",
            "create",
            1,
            json!({"slug": "redon"}),
        ),
        (
            "project",
            1,
            "http://localhost:8080/projects/01a00000-0000-7000-8000-000000000001",
            "create",
            1,
            project.clone(),
        ),
        (
            "project",
            1,
            "http://localhost:8080/projects/01a00000-0000-7000-8000-000000000001",
            "update",
            1,
            project,
        ),
        (
            "event",
            1,
            "http://localhost:8080/events/01a00000-0000-7000-8000-000000000002",
            "create",
            1,
            json!({"title": "Portes ouvertes"}),
        ),
        (
            "call",
            1,
            "http://localhost:8080/calls/01a00000-0000-7000-8000-000000000003",
            "create",
            1,
            json!({"title": "Cherche chambre froide"}),
        ),
    ];
    for (n, (kind, object, ap_id, action, version, snapshot)) in history.into_iter().enumerate() {
        insert(
            db,
            "changes",
            vec![
                ("pole_id", 1.into()),
                ("object_kind", text(kind)),
                ("object_id", i64::from(object).into()),
                ("object_ap_id", text(ap_id)),
                ("action", text(action)),
                ("version", version.into()),
                ("snapshot", json_value(snapshot)),
                ("created_at", at(7 + n as i64)),
            ],
        )
        .await;
    }
}

/// A database made by the first migration, with a first instance's rows, migrated to the
/// current schema: every row is read back as it was written, the history is numbered
/// again where it repeated, and the directory finds the pole and its objects.
#[tokio::test]
async fn a_database_of_the_first_schema_is_upgraded_with_nothing_lost() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = Store::connect(&db.config()).await.expect("connect");
        migration::Migrator::up(store.connection(), Some(1))
            .await
            .expect("the first migration");
        first_rows(store.connection()).await;
        store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("[{label}] upgrade: {e}"));
        let (applied, pending) = store.migration_status().await.expect("status");
        assert_eq!(
            (applied, pending),
            (migration::Migrator::migrations().len(), 0),
            "[{label}]"
        );

        let settings = store
            .instance_settings()
            .await
            .expect("settings")
            .expect("the instance");
        assert_eq!(settings.name, "PTCE de Bretagne", "[{label}]");
        let user = store
            .user_by_username("camille")
            .await
            .expect("user")
            .expect("camille");
        assert_eq!(
            store.user_pole_ids(user.id).await.expect("poles"),
            vec![1],
            "[{label}]"
        );

        let pole = store.pole("redon").await.expect("pole");
        assert_eq!(pole.pole.name, "Pôle Pays de Redon", "[{label}]");
        assert_eq!(pole.pole.founded_year, Some(2012), "[{label}]");
        assert_eq!(pole.pole.territory.communes, vec!["35236"], "[{label}]");
        assert_eq!(pole.pole.themes.len(), 2, "[{label}]");
        assert_eq!(
            pole.pole
                .shared_place
                .as_ref()
                .and_then(|p| p.name.as_deref()),
            Some("La Maison"),
            "[{label}]"
        );
        let page = PageRequest {
            page: 1,
            per_page: 50,
        };
        let members = store.list_members(pole.id, page).await.expect("members");
        assert_eq!(members.items.len(), 1, "[{label}]");
        assert_eq!(members.items[0].member.name, "La Légumerie", "[{label}]");
        assert_eq!(members.items[0].member.joined_year, Some(2013), "[{label}]");

        let project = store
            .project("01a00000-0000-7000-8000-000000000001")
            .await
            .expect("project");
        assert_eq!(project.version, 2, "[{label}]");
        assert_eq!(project.data.partner_member_ids, vec![1], "[{label}]");
        assert_eq!(
            project.data.start_date,
            NaiveDate::from_ymd_opt(2026, 1, 15),
            "[{label}]"
        );
        let event = store
            .event("01a00000-0000-7000-8000-000000000002")
            .await
            .expect("event");
        assert_eq!(event.data.capacity, Some(40), "[{label}]");
        assert!(
            event.data.themes.is_empty(),
            "[{label}] events had no themes then"
        );
        let call = store
            .call("01a00000-0000-7000-8000-000000000003")
            .await
            .expect("call");
        assert_eq!(
            call.data.how_to_answer, "Écrire à contact@redon.example.org",
            "[{label}]"
        );

        let history = store
            .list_changes(pole.id, &["project"], page)
            .await
            .expect("history");
        let mut versions: Vec<i32> = history.items.iter().map(|c| c.version).collect();
        versions.sort_unstable();
        assert_eq!(
            versions,
            vec![1, 2],
            "[{label}] the project's history numbered again"
        );

        for words in ["Redon", "légumerie", "portes", "chambre"] {
            let found = store
                .search_directory(&maillage::store::DirectoryQuery {
                    q: Some(words.into()),
                    per_page: 20,
                    ..Default::default()
                })
                .await
                .expect("search");
            assert!(found.total >= 1, "[{label}] `{words}` not found");
        }
        store.close().await.expect("close");
        db.drop_now().await;
    }
}
