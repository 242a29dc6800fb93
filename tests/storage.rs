//! Storage round trips through `maillage::store::Store`, on SQLite and (when configured)
//! PostgreSQL: what is written reads back equal, versions and the change history follow
//! every write, and refused writes leave nothing behind.

mod common;

use std::collections::HashSet;
use std::fmt::Debug;

use chrono::{NaiveDate, TimeZone, Utc};
use maillage::domain::image::CheckedImage;
use maillage::domain::member::MemberInput;
use maillage::domain::place::PlaceInput;
use maillage::domain::pole::{NationalCallWon, PoleInput, RecognitionsInput};
use maillage::domain::project::LinkInput;
use maillage::domain::vocab::{
    CallDirection, CallStatus, CallSubject, EmployeeBand, EventStatus, LegalForm, NationalCall,
    PoolingKind, ProjectStatus, TerritoryKind, TextFormat, Theme,
};
use maillage::domain::{
    CallForCooperation, CallInput, Event, EventInput, Member, Pole, Project, ProjectInput,
    TerritoryInput,
};
use maillage::store::entities::{changes, members, poles};
use maillage::store::{
    ImageSlot, InstanceSettings, ObjectRecord, Page, PageRequest, Role, Store, StoreError,
};
use sea_orm::{EntityTrait, PaginatorTrait, QueryOrder};

use common::TestDb;

// ---------------------------------------------------------------------------------------------
// Domain values with every field filled, built through the validators as the API would.

fn full_pole(slug: &str) -> Pole {
    PoleInput {
        slug: slug.into(),
        name: "Pôle Territoires Solidaires".into(),
        summary: Some("Coopérer de Redon à Ajaccio et à Saint-Denis".into()),
        description: Some(
            "Un **pôle** de coopération.\n\n- énergie citoyenne\n- alimentation locale\n".into(),
        ),
        description_format: Some(TextFormat::Markdown),
        website: Some("https://ptce.example.org".into()),
        contact_email: Some("contact@ptce.example.org".into()),
        contact_phone: Some("+33 2 99 00 00 00".into()),
        founded_year: Some(2012),
        legal_form: Some(LegalForm::Scic),
        siren: Some("732 829 320".into()),
        territory: TerritoryInput {
            communes: vec!["35236".into(), "2a004".into(), "97411".into()],
            kind: Some(TerritoryKind::Mixed),
            label: Some("De Redon à La Réunion".into()),
        },
        themes: vec![Theme::RenewableEnergy, Theme::AgricultureFood],
        pooling: vec![
            PoolingKind::Knowledge,
            PoolingKind::Premises,
            PoolingKind::SharedJobs,
        ],
        shared_place: Some(PlaceInput {
            name: Some("La Maison de la coopération".into()),
            street: Some("3 rue des Douves".into()),
            postal_code: Some("35600".into()),
            locality: None,
            commune: Some("35236".into()),
            latitude: Some(47.651_53),
            longitude: Some(-2.084_27),
        }),
        recognitions: RecognitionsInput {
            national_calls: vec![
                NationalCallWon {
                    call: NationalCall::Call2013,
                    year: 2013,
                },
                NationalCallWon {
                    call: NationalCall::Ami2021,
                    year: 2021,
                },
            ],
            charter_signed_year: Some(2014),
        },
        manually_approves_followers: true,
        replies_need_approval: true,
    }
    .validate()
    .expect("the full pole is valid")
}

/// The same pole, changed: an HTML description, other lists, some fields emptied.
fn changed_pole(slug: &str) -> Pole {
    let mut input = full_pole(slug).to_input();
    input.name = "Pôle Territoires Solidaires et Insulaires".into();
    input.description = Some(
        r#"<p>Une <em>nouvelle</em> présentation <a href="https://ptce.example.org/a">ici</a><script>alert(1)</script></p>"#
            .into(),
    );
    input.description_format = Some(TextFormat::Html);
    input.contact_phone = None;
    input.legal_form = Some(LegalForm::Association);
    input.territory.communes = vec!["97411".into(), "2A004".into()];
    input.territory.kind = Some(TerritoryKind::UrbanDistrict);
    input.themes = vec![Theme::Digital];
    input.pooling = vec![];
    input.shared_place = None;
    input.recognitions.national_calls.truncate(1);
    input.manually_approves_followers = false;
    input.validate().expect("the changed pole is valid")
}

fn simple_pole(slug: &str, name: &str) -> Pole {
    PoleInput {
        slug: slug.into(),
        name: name.into(),
        ..Default::default()
    }
    .validate()
    .expect("a simple pole is valid")
}

fn full_member(name: &str) -> Member {
    MemberInput {
        name: name.into(),
        legal_form: Some(LegalForm::Scic),
        ess: Some(true),
        employee_band: Some(EmployeeBand::From10To49),
        siret: Some("732 829 320 00074".into()),
        website: Some("https://energies.example.org".into()),
        role: Some("Membre fondateur".into()),
        joined_year: Some(2013),
    }
    .validate()
    .expect("the full member is valid")
}

fn full_project(title: &str, partner_member_ids: Vec<i64>) -> Project {
    ProjectInput {
        title: title.into(),
        summary: Some("Quatre éoliennes détenues par les habitants".into()),
        description: Some("<p>Un parc <strong>citoyen</strong></p>".into()),
        description_format: Some(TextFormat::Html),
        status: Some(ProjectStatus::Completed),
        partner_member_ids,
        themes: vec![Theme::RenewableEnergy, Theme::LocalDevelopment],
        territory: TerritoryInput {
            communes: vec!["97411".into(), "2A004".into()],
            kind: Some(TerritoryKind::Rural),
            label: Some("Hauts de l'île".into()),
        },
        start_date: NaiveDate::from_ymd_opt(2021, 3, 1),
        end_date: NaiveDate::from_ymd_opt(2024, 6, 30),
        links: vec![
            LinkInput {
                title: Some("Site du parc".into()),
                url: "https://eolien.example.org/".into(),
            },
            LinkInput {
                title: None,
                url: "https://presse.example.org/article?id=4".into(),
            },
        ],
    }
    .validate()
    .expect("the full project is valid")
}

/// An event in Cayenne (UTC−3) starting `day` days after 1 December 2026 at 14:00 local time.
fn full_event(title: &str, day: u32, organiser_poles: Vec<String>) -> Event {
    EventInput {
        title: title.into(),
        summary: Some("Producteurs, artisans et associations".into()),
        description: Some("Marché **solidaire** et _convivial_".into()),
        description_format: Some(TextFormat::Markdown),
        starts_at: format!("2026-12-{:02}T14:00", 1 + day),
        ends_at: Some(format!("2026-12-{:02}T18:30", 1 + day)),
        timezone: Some("America/Cayenne".into()),
        place: Some(PlaceInput {
            name: Some("Place des Palmistes".into()),
            street: Some("Avenue du Général de Gaulle".into()),
            postal_code: Some("97300".into()),
            locality: None,
            commune: Some("97302".into()),
            latitude: Some(4.937_2),
            longitude: Some(-52.326),
        }),
        online_url: Some("https://visio.example.org/marche".into()),
        organiser_poles,
        registration_url: Some("https://inscription.example.org/marche".into()),
        capacity: Some(120),
        status: Some(EventStatus::Postponed),
        themes: vec![Theme::AgricultureFood, Theme::CircularEconomy],
    }
    .validate()
    .expect("the full event is valid")
}

fn full_call(title: &str) -> CallForCooperation {
    CallInput {
        title: title.into(),
        summary: Some("Un entrepôt à partager".into()),
        description: Some("Nous proposons **200 m²** de stockage.".into()),
        description_format: Some(TextFormat::Markdown),
        direction: Some(CallDirection::Offering),
        subjects: vec![CallSubject::Premises, CallSubject::Equipment],
        themes: vec![Theme::CircularEconomy],
        territory: TerritoryInput {
            communes: vec!["2A004".into(), "97411".into(), "35236".into()],
            kind: Some(TerritoryKind::PeriUrban),
            label: None,
        },
        deadline: NaiveDate::from_ymd_opt(2038, 1, 31),
        how_to_answer: "Écrire à logistique@ptce.example.org".into(),
        status: Some(CallStatus::Fulfilled),
    }
    .validate()
    .expect("the full call is valid")
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn page(page: u64, per_page: u64) -> PageRequest {
    PageRequest { page, per_page }
}

/// The fields named by an `Invalid` error; anything else fails the test.
fn invalid_fields<T: Debug>(label: &str, what: &str, result: Result<T, StoreError>) -> Vec<String> {
    match result {
        Err(StoreError::Invalid(errors)) => errors.0.into_iter().map(|e| e.field).collect(),
        other => panic!("{label}: {what}: expected StoreError::Invalid, got {other:?}"),
    }
}

fn assert_gone<T: Debug>(label: &str, what: &str, result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Gone(_))),
        "{label}: {what}: expected StoreError::Gone, got {result:?}"
    );
}

fn assert_not_found<T: Debug>(label: &str, what: &str, result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound(_))),
        "{label}: {what}: expected StoreError::NotFound, got {result:?}"
    );
}

fn public_url(db: &TestDb) -> String {
    db.config().public_url.trim_end_matches('/').to_owned()
}

async fn all_changes(store: &Store) -> Vec<changes::Model> {
    changes::Entity::find()
        .order_by_asc(changes::Column::Id)
        .all(store.connection())
        .await
        .expect("read the changes table")
}

async fn change_count(store: &Store) -> u64 {
    changes::Entity::find()
        .count(store.connection())
        .await
        .expect("count the changes table")
}

/// Reads a listing in pages of ten and checks the shape 10/10/5, an empty fourth page,
/// the total on every page and that no object appears twice; gives back the public ids in order.
async fn read_in_pages_of_ten<T>(
    label: &str,
    what: &str,
    list: impl AsyncFn(PageRequest) -> Result<Page<ObjectRecord<T>>, StoreError>,
) -> Vec<String> {
    let mut ids = Vec::new();
    for (number, expected) in [(1u64, 10usize), (2, 10), (3, 5), (4, 0)] {
        let got = list(page(number, 10))
            .await
            .unwrap_or_else(|e| panic!("{label}: {what}: page {number}: {e}"));
        assert_eq!(got.total, 25, "{label}: {what}: total on page {number}");
        assert_eq!(got.page, number, "{label}: {what}: page number echoed");
        assert_eq!(got.per_page, 10, "{label}: {what}: page size echoed");
        assert_eq!(
            got.items.len(),
            expected,
            "{label}: {what}: items on page {number}"
        );
        ids.extend(got.items.into_iter().map(|r| r.public_id));
    }
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(
        distinct.len(),
        25,
        "{label}: {what}: an object appears twice"
    );
    ids
}

// ---------------------------------------------------------------------------------------------
// Poles.

#[tokio::test]
async fn pole_with_every_field_round_trips_and_is_versioned() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let base = public_url(&db);
        let pole = full_pole("territoires-solidaires");
        assert_eq!(
            pole.territory.communes,
            vec!["35236", "2A004", "97411"],
            "{label}: communes as validated"
        );

        let created = store.create_pole(&pole).await.expect("create pole");
        assert_eq!(created.pole, pole, "{label}: create gives the pole back");
        assert_eq!(
            created.ap_id,
            format!("{base}/poles/territoires-solidaires"),
            "{label}: ap_id"
        );
        assert_eq!(created.version, 1, "{label}: first version");
        assert!(created.local, "{label}: a created pole is local");
        assert_eq!(created.domain, store.domain(), "{label}: domain");
        assert_eq!(
            (created.logo.clone(), created.banner.clone()),
            (None, None),
            "{label}: no images yet"
        );

        let by_slug = store.pole("territoires-solidaires").await.expect("by slug");
        assert_eq!(by_slug, created, "{label}: read back by slug");
        assert_eq!(by_slug.pole, pole, "{label}: domain value by slug");
        let by_id = store.pole_by_id(created.id).await.expect("by id");
        assert_eq!(by_id, created, "{label}: read back by id");
        let description = by_slug.pole.description.as_ref().expect("description");
        assert_eq!(description.format, TextFormat::Markdown, "{label}");
        assert!(
            description.html.contains("<strong>pôle</strong>"),
            "{label}: Markdown rendered: {}",
            description.html
        );
        let place = by_slug.pole.shared_place.as_ref().expect("shared place");
        assert_eq!(
            (place.latitude, place.longitude, place.locality.as_deref()),
            (Some(47.651_53), Some(-2.084_27), Some("Redon")),
            "{label}: shared place"
        );

        // Update: other fields, an HTML description, version 2.
        let changed = changed_pole("territoires-solidaires");
        let updated = store
            .update_pole("territoires-solidaires", &changed)
            .await
            .expect("update pole");
        assert_eq!(updated.pole, changed, "{label}: update gives the new pole");
        assert_eq!(updated.version, 2, "{label}: update bumps the version");
        assert_eq!(updated.id, created.id, "{label}: same row");
        assert_eq!(updated.ap_id, created.ap_id, "{label}: same ap_id");
        let reread = store.pole("territoires-solidaires").await.expect("reread");
        assert_eq!(reread, updated, "{label}: update read back");
        let html = reread.pole.description.as_ref().expect("description");
        assert_eq!(html.format, TextFormat::Html, "{label}: HTML kept as HTML");
        assert!(
            html.html.contains("<em>nouvelle</em>") && !html.html.contains("script"),
            "{label}: HTML sanitised: {}",
            html.html
        );
        assert_eq!(reread.pole.shared_place, None, "{label}: place removed");
        assert_eq!(reread.pole.contact_phone, None, "{label}: phone removed");

        // The slug never changes.
        let mut other_slug = changed.clone();
        other_slug.slug = "autre-pole".into();
        let fields = invalid_fields(
            label,
            "update with another slug",
            store
                .update_pole("territoires-solidaires", &other_slug)
                .await,
        );
        assert_eq!(fields, vec!["slug"], "{label}: update with another slug");
        assert_eq!(
            store
                .pole("territoires-solidaires")
                .await
                .expect("pole")
                .version,
            2,
            "{label}: a refused update changes nothing"
        );
        assert_not_found(
            label,
            "pole autre-pole",
            store.pole("autre-pole").await.map(|r| r.id),
        );

        // A duplicate slug is refused.
        let fields = invalid_fields(
            label,
            "duplicate slug",
            store
                .create_pole(&simple_pole("territoires-solidaires", "Doublon"))
                .await,
        );
        assert_eq!(fields, vec!["slug"], "{label}: duplicate slug");

        // Listing, then delete.
        let other = store
            .create_pole(&simple_pole("autre-pole", "Autre pôle"))
            .await
            .expect("second pole");
        let listed = store.list_poles(page(1, 10)).await.expect("list poles");
        assert_eq!(listed.total, 2, "{label}: two poles listed");
        assert_eq!(
            listed.items.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![other.id, created.id],
            "{label}: poles listed by name"
        );

        store
            .delete_pole("territoires-solidaires")
            .await
            .expect("delete pole");
        assert_gone(
            label,
            "pole after delete",
            store.pole("territoires-solidaires").await,
        );
        assert_gone(
            label,
            "update after delete",
            store.update_pole("territoires-solidaires", &changed).await,
        );
        assert_gone(
            label,
            "delete after delete",
            store.delete_pole("territoires-solidaires").await,
        );
        let listed = store.list_poles(page(1, 10)).await.expect("list poles");
        assert_eq!(listed.total, 1, "{label}: deleted pole not counted");
        assert_eq!(
            listed.items.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![other.id],
            "{label}: deleted pole not listed"
        );
        let fields = invalid_fields(
            label,
            "slug of a deleted pole",
            store
                .create_pole(&full_pole("territoires-solidaires"))
                .await,
        );
        assert_eq!(
            fields,
            vec!["slug"],
            "{label}: a deleted pole keeps its slug"
        );
        assert_not_found(label, "unknown pole", store.pole("inconnu").await);

        store.close().await.ok();
        db.drop_now().await;
    }
}

#[tokio::test]
async fn poles_are_listed_by_name_in_pages() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        // Created out of alphabetical order.
        let names = ["Mistral", "Alizé", "Zéphyr", "Bise", "Noroît"];
        for (i, name) in names.iter().enumerate() {
            store
                .create_pole(&simple_pole(&format!("pole-{i}"), name))
                .await
                .expect("create pole");
        }
        let mut seen = Vec::new();
        for (number, expected) in [(1u64, 2usize), (2, 2), (3, 1)] {
            let got = store.list_poles(page(number, 2)).await.expect("list poles");
            assert_eq!(got.total, 5, "{label}: total");
            assert_eq!(got.items.len(), expected, "{label}: page {number}");
            seen.extend(got.items.into_iter().map(|r| r.pole.name));
        }
        assert_eq!(
            seen,
            vec!["Alizé", "Bise", "Mistral", "Noroît", "Zéphyr"],
            "{label}: by name"
        );
        store.close().await.ok();
        db.drop_now().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Members.

#[tokio::test]
async fn members_round_trip_are_listed_by_name_and_belong_to_their_pole() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let pole = store
            .create_pole(&simple_pole("pole-a", "Pôle A"))
            .await
            .expect("pole a");
        let other_pole = store
            .create_pole(&simple_pole("pole-b", "Pôle B"))
            .await
            .expect("pole b");

        let member = full_member("Énergies citoyennes");
        let created = store
            .create_member(pole.id, &member)
            .await
            .expect("create member");
        assert_eq!(created.member, member, "{label}: create gives it back");
        assert_eq!(created.pole_id, pole.id, "{label}: pole of the member");
        let read = store.member(pole.id, created.id).await.expect("member");
        assert_eq!(read, created, "{label}: member read back");

        let mut changed = member.to_input();
        // Names sort on their first letter, all plain capitals, so the order is the same
        // under every collation (byte order on SQLite, the database's collation on PostgreSQL).
        changed.name = "Coopérative Énergies citoyennes".into();
        changed.legal_form = Some(LegalForm::Sarl);
        changed.ess = Some(false);
        changed.employee_band = None;
        changed.siret = None;
        changed.role = Some("Partenaire".into());
        let changed = changed.validate().expect("changed member");
        let updated = store
            .update_member(pole.id, created.id, &changed)
            .await
            .expect("update member");
        assert_eq!(updated.member, changed, "{label}: update gives it back");
        assert_eq!(updated.id, created.id, "{label}: same member");
        assert_eq!(
            store
                .member(pole.id, created.id)
                .await
                .expect("member")
                .member,
            changed,
            "{label}: update read back"
        );

        // More members, created out of order, listed by name in pages.
        for name in ["Zeste", "Atelier du bois", "Menuiserie Durand", "Bocal"] {
            store
                .create_member(pole.id, &full_member(name))
                .await
                .expect("create member");
        }
        let foreign = store
            .create_member(other_pole.id, &full_member("Ailleurs"))
            .await
            .expect("member of pole b");
        let mut names = Vec::new();
        for (number, expected) in [(1u64, 2usize), (2, 2), (3, 1), (4, 0)] {
            let got = store
                .list_members(pole.id, page(number, 2))
                .await
                .expect("list members");
            assert_eq!(got.total, 5, "{label}: members of pole a");
            assert_eq!(got.items.len(), expected, "{label}: page {number}");
            assert!(
                got.items.iter().all(|m| m.pole_id == pole.id),
                "{label}: only members of pole a"
            );
            names.extend(got.items.into_iter().map(|m| m.member.name));
        }
        assert_eq!(
            names,
            vec![
                "Atelier du bois",
                "Bocal",
                "Coopérative Énergies citoyennes",
                "Menuiserie Durand",
                "Zeste",
            ],
            "{label}: members by name"
        );
        assert_eq!(store.member_count(pole.id).await.expect("count"), 5);
        assert_eq!(store.member_count(other_pole.id).await.expect("count"), 1);

        // A member of another pole is not found through the wrong pole.
        assert_not_found(
            label,
            "member of pole b via pole a",
            store.member(pole.id, foreign.id).await,
        );
        assert_not_found(
            label,
            "update of a member of pole b via pole a",
            store.update_member(pole.id, foreign.id, &changed).await,
        );
        assert_not_found(
            label,
            "delete of a member of pole b via pole a",
            store.delete_member(pole.id, foreign.id).await,
        );
        assert_eq!(
            store
                .member(other_pole.id, foreign.id)
                .await
                .expect("still there")
                .member,
            full_member("Ailleurs"),
            "{label}: the foreign member is untouched"
        );

        // Delete.
        store
            .delete_member(pole.id, created.id)
            .await
            .expect("delete member");
        assert_not_found(
            label,
            "member after delete",
            store.member(pole.id, created.id).await,
        );
        assert_not_found(
            label,
            "update after delete",
            store.update_member(pole.id, created.id, &changed).await,
        );
        assert_not_found(
            label,
            "delete after delete",
            store.delete_member(pole.id, created.id).await,
        );
        let listed = store
            .list_members(pole.id, page(1, 10))
            .await
            .expect("list members");
        assert_eq!(listed.total, 4, "{label}: one member fewer");
        assert!(
            listed.items.iter().all(|m| m.id != created.id),
            "{label}: deleted member not listed"
        );

        store.close().await.ok();
        db.drop_now().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Projects, events and calls.

#[tokio::test]
async fn projects_round_trip_page_newest_first_and_delete() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let base = public_url(&db);
        let pole = store
            .create_pole(&simple_pole("pole-a", "Pôle A"))
            .await
            .expect("pole");
        let m1 = store
            .create_member(pole.id, &full_member("Un"))
            .await
            .expect("member");
        let m2 = store
            .create_member(pole.id, &full_member("Deux"))
            .await
            .expect("member");

        let project = full_project("Parc éolien citoyen", vec![m2.id, m1.id]);
        store
            .check_project_refs(pole.id, &project)
            .await
            .unwrap_or_else(|e| panic!("{label}: members of the pole are accepted: {e}"));
        let created = store
            .create_project(pole.id, &project)
            .await
            .expect("create project");
        assert_eq!(created.data, project, "{label}: create gives it back");
        assert_eq!(
            created.ap_id,
            format!("{base}/projects/{}", created.public_id),
            "{label}: ap_id"
        );
        assert_eq!(created.version, 1, "{label}: first version");
        assert_eq!(created.pole_id, pole.id, "{label}: pole");
        assert!(created.local, "{label}: local");
        let read = store.project(&created.public_id).await.expect("project");
        assert_eq!(read, created, "{label}: read back by public id");
        assert_eq!(read.data, project, "{label}: domain value read back");

        let mut changed = project.to_input();
        changed.title = "Parc éolien citoyen, deuxième tranche".into();
        changed.status = Some(ProjectStatus::InProgress);
        changed.partner_member_ids = vec![m1.id];
        changed.end_date = None;
        changed.links.pop();
        changed.description = Some("Deux **nouvelles** éoliennes".into());
        changed.description_format = None;
        let changed = changed.validate().expect("changed project");
        let updated = store
            .update_project(&created.public_id, &changed)
            .await
            .expect("update project");
        assert_eq!(updated.data, changed, "{label}: update gives it back");
        assert_eq!(updated.version, 2, "{label}: update bumps the version");
        assert_eq!(updated.public_id, created.public_id, "{label}: same id");
        assert_eq!(updated.ap_id, created.ap_id, "{label}: same ap_id");
        assert_eq!(
            store.project(&created.public_id).await.expect("project"),
            updated,
            "{label}: update read back"
        );

        // 24 more: listed newest first, in pages.
        let mut created_ids = vec![created.public_id.clone()];
        for i in 0..24 {
            let r = store
                .create_project(pole.id, &full_project(&format!("Projet {i:02}"), vec![]))
                .await
                .expect("create project");
            created_ids.push(r.public_id);
        }
        let listed = read_in_pages_of_ten(label, "projects", async |p| {
            store.list_projects(pole.id, p).await
        })
        .await;
        let newest_first: Vec<String> = created_ids.iter().rev().cloned().collect();
        assert_eq!(listed, newest_first, "{label}: projects newest first");

        // Delete.
        store
            .delete_project(&created.public_id)
            .await
            .expect("delete project");
        assert_gone(
            label,
            "project after delete",
            store.project(&created.public_id).await,
        );
        assert_gone(
            label,
            "update after delete",
            store.update_project(&created.public_id, &changed).await,
        );
        assert_gone(
            label,
            "delete after delete",
            store.delete_project(&created.public_id).await,
        );
        let listed = store
            .list_projects(pole.id, page(1, 100))
            .await
            .expect("list");
        assert_eq!(listed.total, 24, "{label}: deleted project not counted");
        assert!(
            listed
                .items
                .iter()
                .all(|r| r.public_id != created.public_id),
            "{label}: deleted project not listed"
        );
        assert_not_found(
            label,
            "unknown project",
            store.project("0190d5c4-0000-7000-8000-000000000000").await,
        );

        store.close().await.ok();
        db.drop_now().await;
    }
}

#[tokio::test]
async fn events_round_trip_in_their_timezone_and_list_by_start() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let base = public_url(&db);
        let pole = store
            .create_pole(&simple_pole("pole-a", "Pôle A"))
            .await
            .expect("pole");
        store
            .create_pole(&simple_pole("pole-guyane", "Pôle Guyane"))
            .await
            .expect("co-organiser");

        let event = full_event("Marché solidaire", 4, vec!["pole-guyane".into()]);
        assert_eq!(
            event.starts_at,
            Utc.with_ymd_and_hms(2026, 12, 5, 17, 0, 0).unwrap(),
            "{label}: 14:00 in Cayenne is 17:00 UTC"
        );
        store
            .check_event_refs(&event)
            .await
            .unwrap_or_else(|e| panic!("{label}: a local co-organiser is accepted: {e}"));
        let created = store
            .create_event(pole.id, &event)
            .await
            .expect("create event");
        assert_eq!(created.data, event, "{label}: create gives it back");
        assert_eq!(
            created.ap_id,
            format!("{base}/events/{}", created.public_id),
            "{label}: ap_id"
        );
        assert_eq!(created.version, 1, "{label}: first version");
        let read = store.event(&created.public_id).await.expect("event");
        assert_eq!(read, created, "{label}: read back by public id");
        assert_eq!(read.data, event, "{label}: domain value read back");
        assert_eq!(
            read.data.starts_at,
            Utc.with_ymd_and_hms(2026, 12, 5, 17, 0, 0).unwrap(),
            "{label}: start in UTC"
        );
        assert_eq!(
            read.data.ends_at,
            Some(Utc.with_ymd_and_hms(2026, 12, 5, 21, 30, 0).unwrap()),
            "{label}: end in UTC"
        );
        assert_eq!(read.data.timezone, "America/Cayenne", "{label}: zone kept");
        assert_eq!(
            read.data.local(read.data.starts_at),
            "2026-12-05T14:00:00-03:00",
            "{label}: local time"
        );

        let mut changed = event.to_input();
        changed.title = "Marché solidaire (reporté)".into();
        changed.starts_at = "2026-12-12T09:30".into();
        changed.ends_at = None;
        changed.place = None;
        changed.capacity = None;
        changed.organiser_poles = vec![];
        changed.status = Some(EventStatus::Scheduled);
        let changed = changed.validate().expect("changed event");
        let updated = store
            .update_event(&created.public_id, &changed)
            .await
            .expect("update event");
        assert_eq!(updated.data, changed, "{label}: update gives it back");
        assert_eq!(updated.version, 2, "{label}: update bumps the version");
        let reread = store.event(&created.public_id).await.expect("event");
        assert_eq!(reread, updated, "{label}: update read back");
        assert_eq!(
            reread.data.starts_at,
            Utc.with_ymd_and_hms(2026, 12, 12, 12, 30, 0).unwrap(),
            "{label}: new start in UTC"
        );

        // 24 more, with their starts out of creation order (days 0..24 shuffled, 21 left out).
        for i in 0..24u32 {
            let day = (i * 7 + 3) % 25;
            store
                .create_event(
                    pole.id,
                    &full_event(&format!("Rencontre {i:02}"), day, vec![]),
                )
                .await
                .expect("create event");
        }
        let listed = read_in_pages_of_ten(label, "events", async |p| {
            store.list_events(pole.id, p).await
        })
        .await;
        let all = store
            .list_events(pole.id, page(1, 100))
            .await
            .expect("list");
        let starts: Vec<_> = all.items.iter().map(|r| r.data.starts_at).collect();
        let mut sorted = starts.clone();
        sorted.sort();
        assert_eq!(starts, sorted, "{label}: events by start, ascending");
        assert_eq!(
            all.items
                .iter()
                .map(|r| r.public_id.clone())
                .collect::<Vec<_>>(),
            listed,
            "{label}: pages follow the same order"
        );

        store
            .delete_event(&created.public_id)
            .await
            .expect("delete event");
        assert_gone(
            label,
            "event after delete",
            store.event(&created.public_id).await,
        );
        let listed = store
            .list_events(pole.id, page(1, 100))
            .await
            .expect("list");
        assert_eq!(listed.total, 24, "{label}: deleted event not counted");
        assert!(
            listed
                .items
                .iter()
                .all(|r| r.public_id != created.public_id),
            "{label}: deleted event not listed"
        );

        store.close().await.ok();
        db.drop_now().await;
    }
}

#[tokio::test]
async fn calls_round_trip_page_newest_first_and_delete() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let base = public_url(&db);
        let pole = store
            .create_pole(&simple_pole("pole-a", "Pôle A"))
            .await
            .expect("pole");

        let call = full_call("Entrepôt à partager");
        let created = store
            .create_call(pole.id, &call)
            .await
            .expect("create call");
        assert_eq!(created.data, call, "{label}: create gives it back");
        assert_eq!(
            created.ap_id,
            format!("{base}/calls/{}", created.public_id),
            "{label}: ap_id"
        );
        assert_eq!(created.version, 1, "{label}: first version");
        let read = store.call(&created.public_id).await.expect("call");
        assert_eq!(read, created, "{label}: read back by public id");
        assert_eq!(read.data, call, "{label}: domain value read back");

        let mut changed = call.to_input();
        changed.direction = Some(CallDirection::Seeking);
        changed.subjects = vec![CallSubject::Volunteers];
        changed.deadline = None;
        changed.status = Some(CallStatus::Closed);
        changed.description = None;
        let changed = changed.validate().expect("changed call");
        let updated = store
            .update_call(&created.public_id, &changed)
            .await
            .expect("update call");
        assert_eq!(updated.data, changed, "{label}: update gives it back");
        assert_eq!(updated.version, 2, "{label}: update bumps the version");
        assert_eq!(
            store.call(&created.public_id).await.expect("call"),
            updated,
            "{label}: update read back"
        );

        let mut created_ids = vec![created.public_id.clone()];
        for i in 0..24 {
            let r = store
                .create_call(pole.id, &full_call(&format!("Appel {i:02}")))
                .await
                .expect("create call");
            created_ids.push(r.public_id);
        }
        let listed =
            read_in_pages_of_ten(label, "calls", async |p| store.list_calls(pole.id, p).await)
                .await;
        let newest_first: Vec<String> = created_ids.iter().rev().cloned().collect();
        assert_eq!(listed, newest_first, "{label}: calls newest first");

        store
            .delete_call(&created.public_id)
            .await
            .expect("delete call");
        assert_gone(
            label,
            "call after delete",
            store.call(&created.public_id).await,
        );
        let listed = store.list_calls(pole.id, page(1, 100)).await.expect("list");
        assert_eq!(listed.total, 24, "{label}: deleted call not counted");
        assert!(
            listed
                .items
                .iter()
                .all(|r| r.public_id != created.public_id),
            "{label}: deleted call not listed"
        );

        store.close().await.ok();
        db.drop_now().await;
    }
}

#[tokio::test]
async fn objects_are_listed_per_pole() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let a = store
            .create_pole(&simple_pole("pole-a", "Pôle A"))
            .await
            .expect("pole a");
        let b = store
            .create_pole(&simple_pole("pole-b", "Pôle B"))
            .await
            .expect("pole b");
        store
            .create_project(a.id, &full_project("Projet de A", vec![]))
            .await
            .expect("project");
        store
            .create_event(b.id, &full_event("Événement de B", 1, vec![]))
            .await
            .expect("event");
        store
            .create_call(b.id, &full_call("Appel de B"))
            .await
            .expect("call");
        let all = page(1, 10);
        assert_eq!(store.list_projects(a.id, all).await.expect("l").total, 1);
        assert_eq!(
            store.list_projects(b.id, all).await.expect("l").total,
            0,
            "{label}: projects of b"
        );
        assert_eq!(
            store.list_events(a.id, all).await.expect("l").total,
            0,
            "{label}: events of a"
        );
        assert_eq!(store.list_events(b.id, all).await.expect("l").total, 1);
        assert_eq!(
            store.list_calls(a.id, all).await.expect("l").total,
            0,
            "{label}: calls of a"
        );
        assert_eq!(store.list_calls(b.id, all).await.expect("l").total, 1);
        store.close().await.ok();
        db.drop_now().await;
    }
}

#[tokio::test]
async fn references_to_members_and_poles_are_checked() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let a = store
            .create_pole(&simple_pole("pole-a", "Pôle A"))
            .await
            .expect("pole a");
        let b = store
            .create_pole(&simple_pole("pole-b", "Pôle B"))
            .await
            .expect("pole b");
        store
            .create_pole(&simple_pole("pole-fermee", "Pôle fermé"))
            .await
            .expect("pole c");
        store.delete_pole("pole-fermee").await.expect("delete c");
        let ours = store
            .create_member(a.id, &full_member("Chez nous"))
            .await
            .expect("member of a");
        let theirs = store
            .create_member(b.id, &full_member("Chez eux"))
            .await
            .expect("member of b");

        let project = full_project("Projet", vec![ours.id, theirs.id]);
        let fields = invalid_fields(
            label,
            "partner of another pole",
            store.check_project_refs(a.id, &project).await,
        );
        assert_eq!(
            fields,
            vec!["partner_member_ids[1]"],
            "{label}: partner of another pole"
        );
        let project = full_project("Projet", vec![theirs.id + 1000, ours.id]);
        let fields = invalid_fields(
            label,
            "unknown partner",
            store.check_project_refs(a.id, &project).await,
        );
        assert_eq!(fields, vec!["partner_member_ids[0]"], "{label}: unknown");
        store
            .check_project_refs(a.id, &full_project("Projet", vec![ours.id]))
            .await
            .unwrap_or_else(|e| panic!("{label}: own member accepted: {e}"));
        store
            .check_project_refs(a.id, &full_project("Projet", vec![]))
            .await
            .unwrap_or_else(|e| panic!("{label}: no partner accepted: {e}"));

        let event = full_event(
            "Fête",
            2,
            vec!["pole-b".into(), "pole-inconnu".into(), "pole-fermee".into()],
        );
        let fields = invalid_fields(
            label,
            "unknown organiser",
            store.check_event_refs(&event).await,
        );
        assert_eq!(
            fields,
            vec!["organiser_poles[1]", "organiser_poles[2]"],
            "{label}: unknown and deleted organisers"
        );
        store
            .check_event_refs(&full_event("Fête", 2, vec!["pole-b".into()]))
            .await
            .unwrap_or_else(|e| panic!("{label}: local organiser accepted: {e}"));

        store.close().await.ok();
        db.drop_now().await;
    }
}

// ---------------------------------------------------------------------------------------------
// The change history.

/// What one row of `changes` is expected to hold (its snapshot is checked separately).
#[derive(Debug, PartialEq)]
struct Row {
    pole_id: i64,
    kind: &'static str,
    object_id: i64,
    ap_id: Option<String>,
    action: &'static str,
    version: i32,
    has_snapshot: bool,
}

fn row_of(m: &changes::Model) -> (i64, String, i64, Option<String>, String, i32, bool) {
    (
        m.pole_id,
        m.object_kind.clone(),
        m.object_id,
        m.object_ap_id.clone(),
        m.action.clone(),
        m.version,
        m.snapshot.is_some(),
    )
}

fn expected(r: &Row) -> (i64, String, i64, Option<String>, String, i32, bool) {
    (
        r.pole_id,
        r.kind.to_owned(),
        r.object_id,
        r.ap_id.clone(),
        r.action.to_owned(),
        r.version,
        r.has_snapshot,
    )
}

fn snapshot<T: serde::de::DeserializeOwned>(label: &str, m: &changes::Model) -> T {
    let value = m
        .snapshot
        .clone()
        .unwrap_or_else(|| panic!("{label}: change {} has no snapshot", m.id));
    serde_json::from_value(value).unwrap_or_else(|e| {
        panic!(
            "{label}: snapshot of change {} does not read back: {e}",
            m.id
        )
    })
}

#[tokio::test]
async fn every_write_leaves_one_change_row_in_order() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        assert!(
            all_changes(&store).await.is_empty(),
            "{label}: empty history"
        );

        let pole = full_pole("histoire");
        let p = store.create_pole(&pole).await.expect("create pole");
        let pole2 = changed_pole("histoire");
        store.update_pole("histoire", &pole2).await.expect("update");

        let member = full_member("Membre");
        let m = store.create_member(p.id, &member).await.expect("member");
        let member2 = full_member("Membre renommé");
        store
            .update_member(p.id, m.id, &member2)
            .await
            .expect("update member");
        store
            .delete_member(p.id, m.id)
            .await
            .expect("delete member");

        let project = full_project("Projet", vec![]);
        let pr = store.create_project(p.id, &project).await.expect("project");
        let project2 = full_project("Projet modifié", vec![]);
        store
            .update_project(&pr.public_id, &project2)
            .await
            .expect("update project");
        store
            .delete_project(&pr.public_id)
            .await
            .expect("delete project");

        let event = full_event("Événement", 3, vec![]);
        let ev = store.create_event(p.id, &event).await.expect("event");
        let event2 = full_event("Événement modifié", 5, vec![]);
        store
            .update_event(&ev.public_id, &event2)
            .await
            .expect("update event");
        store
            .delete_event(&ev.public_id)
            .await
            .expect("delete event");

        let call = full_call("Appel");
        let ca = store.create_call(p.id, &call).await.expect("call");
        let call2 = full_call("Appel modifié");
        store
            .update_call(&ca.public_id, &call2)
            .await
            .expect("update call");
        store.delete_call(&ca.public_id).await.expect("delete call");

        store.delete_pole("histoire").await.expect("delete pole");

        let row = |kind, object_id, ap_id: Option<&str>, action, version, has_snapshot| Row {
            pole_id: p.id,
            kind,
            object_id,
            ap_id: ap_id.map(str::to_owned),
            action,
            version,
            has_snapshot,
        };
        let want = [
            row("pole", p.id, Some(&p.ap_id), "create", 1, true),
            row("pole", p.id, Some(&p.ap_id), "update", 2, true),
            row("member", m.id, None, "create", 1, true),
            row("member", m.id, None, "update", 2, true),
            row("member", m.id, None, "delete", 3, false),
            row("project", pr.id, Some(&pr.ap_id), "create", 1, true),
            row("project", pr.id, Some(&pr.ap_id), "update", 2, true),
            row("project", pr.id, Some(&pr.ap_id), "delete", 3, false),
            row("event", ev.id, Some(&ev.ap_id), "create", 1, true),
            row("event", ev.id, Some(&ev.ap_id), "update", 2, true),
            row("event", ev.id, Some(&ev.ap_id), "delete", 3, false),
            row("call", ca.id, Some(&ca.ap_id), "create", 1, true),
            row("call", ca.id, Some(&ca.ap_id), "update", 2, true),
            row("call", ca.id, Some(&ca.ap_id), "delete", 3, false),
            row("pole", p.id, Some(&p.ap_id), "delete", 3, false),
        ];
        let got = all_changes(&store).await;
        assert_eq!(
            got.iter().map(row_of).collect::<Vec<_>>(),
            want.iter().map(expected).collect::<Vec<_>>(),
            "{label}: one change row per write, in order"
        );
        let ids: Vec<i64> = got.iter().map(|c| c.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted, "{label}: change ids strictly increase");

        assert_eq!(
            snapshot::<Pole>(label, &got[0]),
            pole,
            "{label}: snapshot 0"
        );
        assert_eq!(
            snapshot::<Pole>(label, &got[1]),
            pole2,
            "{label}: snapshot 1"
        );
        assert_eq!(
            snapshot::<Member>(label, &got[2]),
            member,
            "{label}: snapshot 2"
        );
        assert_eq!(
            snapshot::<Member>(label, &got[3]),
            member2,
            "{label}: snapshot 3"
        );
        assert_eq!(
            snapshot::<Project>(label, &got[5]),
            project,
            "{label}: snapshot 5"
        );
        assert_eq!(
            snapshot::<Project>(label, &got[6]),
            project2,
            "{label}: snapshot 6"
        );
        assert_eq!(
            snapshot::<Event>(label, &got[8]),
            event,
            "{label}: snapshot 8"
        );
        assert_eq!(
            snapshot::<Event>(label, &got[9]),
            event2,
            "{label}: snapshot 9"
        );
        assert_eq!(
            snapshot::<CallForCooperation>(label, &got[11]),
            call,
            "{label}: snapshot 11"
        );
        assert_eq!(
            snapshot::<CallForCooperation>(label, &got[12]),
            call2,
            "{label}: snapshot 12"
        );
        for i in [4, 7, 10, 13, 14] {
            assert_eq!(got[i].snapshot, None, "{label}: delete {i} has no snapshot");
        }

        store.close().await.ok();
        db.drop_now().await;
    }
}

#[tokio::test]
async fn refused_writes_leave_nothing_behind() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let pole = store.create_pole(&full_pole("unique")).await.expect("pole");
        let history = change_count(&store).await;
        let pole_rows = poles::Entity::find()
            .count(store.connection())
            .await
            .expect("count poles");
        assert_eq!(
            (history, pole_rows),
            (1, 1),
            "{label}: one pole, one change"
        );

        // A duplicate slug: no pole row, no change row.
        invalid_fields(
            label,
            "duplicate slug",
            store.create_pole(&simple_pole("unique", "Doublon")).await,
        );
        // A slug change: nothing written.
        invalid_fields(
            label,
            "slug change",
            store
                .update_pole("unique", &simple_pole("autre", "Autre"))
                .await,
        );
        // Writes to what does not exist.
        assert_not_found(
            label,
            "update of an unknown pole",
            store
                .update_pole("absent", &simple_pole("absent", "A"))
                .await,
        );
        assert_not_found(
            label,
            "update of an unknown member",
            store
                .update_member(pole.id, 987_654, &full_member("X"))
                .await,
        );
        assert_not_found(
            label,
            "delete of an unknown member",
            store.delete_member(pole.id, 987_654).await,
        );
        assert_not_found(
            label,
            "update of an unknown project",
            store
                .update_project("absent", &full_project("X", vec![]))
                .await,
        );
        assert_not_found(
            label,
            "delete of an unknown event",
            store.delete_event("absent").await,
        );
        assert_not_found(
            label,
            "delete of an unknown call",
            store.delete_call("absent").await,
        );
        // A member of a pole that does not exist breaks a foreign key: nothing is kept.
        let orphan = store
            .create_member(pole.id + 1000, &full_member("Orphelin"))
            .await;
        assert!(
            orphan.is_err(),
            "{label}: a member of a missing pole is refused: {orphan:?}"
        );

        assert_eq!(
            change_count(&store).await,
            history,
            "{label}: refused writes add no change row"
        );
        assert_eq!(
            poles::Entity::find()
                .count(store.connection())
                .await
                .expect("count poles"),
            pole_rows,
            "{label}: refused writes add no pole row"
        );
        assert_eq!(
            members::Entity::find()
                .count(store.connection())
                .await
                .expect("count members"),
            0,
            "{label}: refused writes add no member row"
        );
        let unchanged = store.pole("unique").await.expect("pole");
        assert_eq!(unchanged, pole, "{label}: the pole is untouched");

        store.close().await.ok();
        db.drop_now().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Media.

/// An image of `tests/fixtures/images`, checked as an upload is.
fn image(name: &str) -> CheckedImage {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/images")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    maillage::domain::image::check(bytes, 1024).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[tokio::test]
async fn media_are_deduplicated_and_set_as_pole_images() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;

        let logo_image = image("tiny.png");
        let logo = store.put_media(logo_image.clone()).await.expect("put png");
        assert_eq!(logo.content_type, "image/png", "{label}: checked type");
        assert_eq!(logo.sha256.len(), 64, "{label}: hex SHA-256");
        let again = store
            .put_media(logo_image.clone())
            .await
            .expect("put the same png");
        assert_eq!(again, logo, "{label}: same bytes, same media");
        let banner = store
            .put_media(image("lossy.webp"))
            .await
            .expect("put webp");
        assert_ne!(banner.id, logo.id, "{label}: other bytes, other media");
        assert_ne!(banner.sha256, logo.sha256, "{label}: other hash");
        assert_eq!(banner.content_type, "image/webp", "{label}");
        let (content_type, bytes) = store.media(&logo.sha256).await.expect("media");
        assert_eq!(content_type, "image/png", "{label}: content type back");
        assert_eq!(bytes, logo_image.bytes(), "{label}: bytes back");
        assert_not_found(label, "unknown media", store.media(&"0".repeat(64)).await);
        for name in ["tiny.jpg", "tiny.gif", "animated.gif", "animated.webp"] {
            let stored = store.put_media(image(name)).await.expect(name);
            let (_, bytes) = store.media(&stored.sha256).await.expect("media");
            assert_eq!(bytes, image(name).bytes(), "{label}: {name} back");
        }

        // Logo and banner of a pole.
        let pole = store.create_pole(&full_pole("images")).await.expect("pole");
        let history = change_count(&store).await;
        let r = store
            .set_pole_image("images", ImageSlot::Logo, Some(logo.id))
            .await
            .expect("set logo");
        assert_eq!(r.logo.as_ref(), Some(&logo), "{label}: logo set");
        assert_eq!(r.banner, None, "{label}: no banner yet");
        assert_eq!(r.version, 2, "{label}: setting the logo bumps the version");
        let r = store
            .set_pole_image("images", ImageSlot::Banner, Some(banner.id))
            .await
            .expect("set banner");
        assert_eq!(
            (r.logo.as_ref(), r.banner.as_ref(), r.version),
            (Some(&logo), Some(&banner), 3),
            "{label}: banner set"
        );
        let read = store.pole("images").await.expect("pole");
        assert_eq!(read, r, "{label}: images read back");
        assert_eq!(read.pole, pole.pole, "{label}: profile unchanged");
        let r = store
            .set_pole_image("images", ImageSlot::Logo, None)
            .await
            .expect("clear logo");
        assert_eq!(
            (r.logo.as_ref(), r.banner.as_ref(), r.version),
            (None, Some(&banner), 4),
            "{label}: logo cleared"
        );
        let r = store
            .set_pole_image("images", ImageSlot::Banner, None)
            .await
            .expect("clear banner");
        assert_eq!(
            (r.logo.as_ref(), r.banner.as_ref(), r.version),
            (None, None, 5),
            "{label}: banner cleared"
        );
        assert_eq!(
            store.pole("images").await.expect("pole"),
            r,
            "{label}: cleared images read back"
        );
        let got = all_changes(&store).await;
        assert_eq!(
            got.len() as u64,
            history + 4,
            "{label}: one change per image write"
        );
        let tail: Vec<_> = got[got.len() - 4..]
            .iter()
            .map(|c| (c.object_kind.as_str(), c.action.as_str(), c.version))
            .collect();
        assert_eq!(
            tail,
            vec![
                ("pole", "update", 2),
                ("pole", "update", 3),
                ("pole", "update", 4),
                ("pole", "update", 5),
            ],
            "{label}: image changes"
        );
        assert_eq!(
            snapshot::<Pole>(label, &got[got.len() - 1]),
            pole.pole,
            "{label}: snapshot of an image change"
        );

        store.delete_pole("images").await.expect("delete");
        assert_gone(
            label,
            "image of a deleted pole",
            store
                .set_pole_image("images", ImageSlot::Logo, Some(logo.id))
                .await,
        );

        store.close().await.ok();
        db.drop_now().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Users, tokens and instance settings.

#[tokio::test]
async fn users_poles_and_tokens() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let a = store
            .create_pole(&simple_pole("pole-a", "Pôle A"))
            .await
            .expect("pole a");
        let b = store
            .create_pole(&simple_pole("pole-b", "Pôle B"))
            .await
            .expect("pole b");

        let alice = store
            .create_user("alice", Some("alice@example.org"), None, Role::Editor)
            .await
            .expect("create alice");
        assert_eq!(alice.username, "alice", "{label}");
        assert_eq!(alice.email.as_deref(), Some("alice@example.org"), "{label}");
        assert_eq!(alice.role, Role::Editor, "{label}");
        assert!(!alice.disabled, "{label}: a new user is active");
        let bob = store
            .create_user("bob", None, Some("hash".into()), Role::Admin)
            .await
            .expect("create bob");
        assert_eq!(bob.password_hash.as_deref(), Some("hash"), "{label}");
        assert_eq!(
            store.user_by_username("alice").await.expect("lookup"),
            Some(alice.clone()),
            "{label}: alice read back"
        );
        assert_eq!(
            store.user_by_username("carol").await.expect("lookup"),
            None,
            "{label}: unknown user"
        );

        let fields = invalid_fields(
            label,
            "duplicate username",
            store.create_user("alice", None, None, Role::Admin).await,
        );
        assert_eq!(fields, vec!["username"], "{label}: duplicate username");
        let fields = invalid_fields(
            label,
            "bad username",
            store
                .create_user("Alice Martin", None, None, Role::Editor)
                .await,
        );
        assert_eq!(fields, vec!["username"], "{label}: bad username");
        let fields = invalid_fields(
            label,
            "bad e-mail",
            store
                .create_user("carol", Some("carol"), None, Role::Editor)
                .await,
        );
        assert_eq!(fields, vec!["email"], "{label}: bad e-mail");
        assert_eq!(
            store
                .list_users()
                .await
                .expect("list users")
                .into_iter()
                .map(|u| u.username)
                .collect::<Vec<_>>(),
            vec!["alice", "bob"],
            "{label}: refused users are not stored"
        );

        // Poles an editor may edit.
        assert!(store.user_pole_ids(alice.id).await.expect("ids").is_empty());
        store.grant_pole(alice.id, a.id).await.expect("grant");
        store
            .grant_pole(alice.id, a.id)
            .await
            .unwrap_or_else(|e| panic!("{label}: granting twice is idempotent: {e}"));
        assert_eq!(
            store.user_pole_ids(alice.id).await.expect("ids"),
            vec![a.id],
            "{label}: granted once"
        );
        store.grant_pole(alice.id, b.id).await.expect("grant b");
        let mut ids = store.user_pole_ids(alice.id).await.expect("ids");
        ids.sort();
        assert_eq!(ids, vec![a.id, b.id], "{label}: two poles");
        assert!(
            store.user_pole_ids(bob.id).await.expect("ids").is_empty(),
            "{label}: bob was granted nothing"
        );

        // Tokens.
        let alice_token = maillage::auth::new_token();
        let bob_token = maillage::auth::new_token();
        assert_eq!(
            maillage::auth::hash_token(&alice_token.token),
            alice_token.hash,
            "{label}: the hash is the token's"
        );
        let record = store
            .create_token(
                alice.id,
                "ordinateur",
                &alice_token.prefix,
                &alice_token.hash,
            )
            .await
            .expect("create token");
        assert_eq!(record.user_id, alice.id, "{label}");
        assert_eq!(record.name, "ordinateur", "{label}");
        assert_eq!(record.prefix, alice_token.prefix, "{label}");
        assert_eq!(record.revoked_at, None, "{label}");
        let bob_record = store
            .create_token(bob.id, "script", &bob_token.prefix, &bob_token.hash)
            .await
            .expect("create bob's token");
        let fields = invalid_fields(
            label,
            "blank token name",
            store.create_token(alice.id, "  ", "x", "other-hash").await,
        );
        assert_eq!(fields, vec!["name"], "{label}: blank token name");

        let (user, token) = store
            .user_by_token_hash(&alice_token.hash)
            .await
            .expect("lookup")
            .unwrap_or_else(|| panic!("{label}: alice's token finds alice"));
        assert_eq!(user, alice, "{label}: the token's user");
        assert_eq!(token.id, record.id, "{label}: the token");
        assert!(token.last_used_at.is_some(), "{label}: use recorded");
        let (user, _) = store
            .user_by_token_hash(&bob_token.hash)
            .await
            .expect("lookup")
            .unwrap_or_else(|| panic!("{label}: bob's token finds bob"));
        assert_eq!(user.id, bob.id, "{label}: each token finds its own user");
        let stranger = maillage::auth::new_token();
        assert_eq!(
            store
                .user_by_token_hash(&stranger.hash)
                .await
                .expect("lookup"),
            None,
            "{label}: an unknown hash finds nobody"
        );
        assert_eq!(
            store
                .list_tokens(Some(alice.id))
                .await
                .expect("tokens")
                .into_iter()
                .map(|t| t.id)
                .collect::<Vec<_>>(),
            vec![record.id],
            "{label}: alice's tokens"
        );
        assert_eq!(
            store.list_tokens(None).await.expect("tokens").len(),
            2,
            "{label}: all tokens"
        );

        let revoked = store.revoke_token(record.id).await.expect("revoke");
        assert!(revoked.revoked_at.is_some(), "{label}: revoked");
        assert_eq!(
            store
                .user_by_token_hash(&alice_token.hash)
                .await
                .expect("lookup"),
            None,
            "{label}: a revoked token finds nobody"
        );
        let again = store.revoke_token(record.id).await.expect("revoke again");
        assert_eq!(
            again.revoked_at, revoked.revoked_at,
            "{label}: revoking twice keeps the first date"
        );
        assert!(
            store
                .user_by_token_hash(&bob_token.hash)
                .await
                .expect("lookup")
                .is_some_and(|(u, t)| u.id == bob.id && t.id == bob_record.id),
            "{label}: other tokens still work"
        );
        assert_not_found(label, "unknown token", store.revoke_token(987_654).await);

        store.close().await.ok();
        db.drop_now().await;
    }
}

#[tokio::test]
async fn instance_settings_are_created_once_and_validated() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        assert_eq!(
            store.instance_settings().await.expect("settings"),
            None,
            "{label}: no settings before the first start"
        );
        let first = store
            .ensure_instance("Maillage Bretagne")
            .await
            .expect("ensure");
        assert_eq!(
            first,
            InstanceSettings {
                name: "Maillage Bretagne".into(),
                summary: None,
                contact_email: None,
            },
            "{label}: first settings"
        );
        let second = store.ensure_instance("Autre nom").await.expect("ensure");
        assert_eq!(second, first, "{label}: ensure keeps the first name");

        let wanted = InstanceSettings {
            name: "  Maillage de l'Ouest ".into(),
            summary: Some("Les PTCE de l'Ouest".into()),
            contact_email: Some("contact@maillage.example.org".into()),
        };
        let updated = store.update_instance(&wanted).await.expect("update");
        let trimmed = InstanceSettings {
            name: "Maillage de l'Ouest".into(),
            ..wanted.clone()
        };
        assert_eq!(updated, trimmed, "{label}: update gives the settings back");
        assert_eq!(
            store.instance_settings().await.expect("settings"),
            Some(trimmed.clone()),
            "{label}: update read back"
        );
        assert_eq!(
            store
                .ensure_instance("Encore un autre")
                .await
                .expect("ensure"),
            trimmed,
            "{label}: ensure keeps the updated name"
        );

        let bad = InstanceSettings {
            name: "Nouveau nom".into(),
            summary: None,
            contact_email: Some("pas-une-adresse".into()),
        };
        let fields = invalid_fields(label, "bad e-mail", store.update_instance(&bad).await);
        assert_eq!(fields, vec!["contact_email"], "{label}: bad e-mail");
        let bad = InstanceSettings {
            name: " ".into(),
            summary: None,
            contact_email: None,
        };
        let fields = invalid_fields(label, "blank name", store.update_instance(&bad).await);
        assert_eq!(fields, vec!["name"], "{label}: blank name");
        assert_eq!(
            store.instance_settings().await.expect("settings"),
            Some(trimmed),
            "{label}: refused updates change nothing"
        );

        store.close().await.ok();
        db.drop_now().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Sign-in attempts.

#[tokio::test]
async fn sign_in_attempts_are_counted_before_the_check_even_all_at_once() {
    use maillage::store::{ADDRESS_LOCKOUT_FAILURES, LOCKOUT_FAILURES, LoginCheck};

    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;

        // Thirty attempts on one account at the same moment, each from its own address:
        // five are let through to their password check, the others find the account locked.
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..30 {
            let store = store.clone();
            tasks.spawn(async move {
                let keys = vec!["account:cible".to_owned(), format!("address:192.0.2.{i}")];
                store.begin_login_attempt(&keys).await
            });
        }
        let mut allowed = 0;
        let mut locked = 0;
        while let Some(done) = tasks.join_next().await {
            match done.expect("task").expect("attempt") {
                LoginCheck::Allowed => allowed += 1,
                LoginCheck::LockedUntil(_) => locked += 1,
            }
        }
        assert_eq!(
            (allowed, locked),
            (LOCKOUT_FAILURES, 30 - LOCKOUT_FAILURES),
            "{label}: as many checks as the lock allows, no more"
        );
        let again = store
            .begin_login_attempt(&[
                "account:cible".to_owned(),
                "address:198.51.100.1".to_owned(),
            ])
            .await
            .expect("attempt");
        assert!(
            matches!(again, LoginCheck::LockedUntil(_)),
            "{label}: the account stays locked: {again:?}"
        );

        // A right password takes its attempt back: a person signing in again and again from
        // one address never locks it, and the account's failures are forgotten.
        let keys = vec![
            "account:camille".to_owned(),
            "address:203.0.113.7".to_owned(),
        ];
        for _ in 0..(ADDRESS_LOCKOUT_FAILURES + 5) {
            assert_eq!(
                store.begin_login_attempt(&keys).await.expect("attempt"),
                LoginCheck::Allowed,
                "{label}"
            );
            store
                .login_succeeded(&keys[0], &keys[1..])
                .await
                .expect("success");
        }
        // Four failures, then the right password: allowed, and the count starts again.
        for _ in 0..(LOCKOUT_FAILURES - 1) {
            store.begin_login_attempt(&keys).await.expect("attempt");
        }
        assert_eq!(
            store.begin_login_attempt(&keys).await.expect("attempt"),
            LoginCheck::Allowed,
            "{label}: the fifth attempt is checked"
        );
        store
            .login_succeeded(&keys[0], &keys[1..])
            .await
            .expect("success");
        assert_eq!(
            store.begin_login_attempt(&keys).await.expect("attempt"),
            LoginCheck::Allowed,
            "{label}: the right password unlocked the account"
        );

        // An attempt counted but never checked is taken back, lock included.
        let keys = vec![
            "account:dominique".to_owned(),
            "address:203.0.113.8".to_owned(),
        ];
        for _ in 0..LOCKOUT_FAILURES {
            store.begin_login_attempt(&keys).await.expect("attempt");
        }
        store.forgive_login_attempt(&keys).await.expect("forgive");
        assert_eq!(
            store.begin_login_attempt(&keys).await.expect("attempt"),
            LoginCheck::Allowed,
            "{label}: four failures do not lock"
        );
        assert!(
            matches!(
                store.begin_login_attempt(&keys).await.expect("attempt"),
                LoginCheck::LockedUntil(_)
            ),
            "{label}: five do"
        );

        store.close().await.ok();
        db.drop_now().await;
    }
}
