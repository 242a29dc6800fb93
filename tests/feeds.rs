//! The directory's feeds over real HTTP, on SQLite and PostgreSQL, each read back by an
//! independent parser (feed-rs, ical, geojson, csv) and checked against its specification.

mod common;

use std::collections::BTreeSet;
use std::io::BufReader;

use chrono::{TimeZone, Utc};
use common::{TestDb, TestServer};
use maillage::domain::call::CallInput;
use maillage::domain::event::EventInput;
use maillage::domain::member::MemberInput;
use maillage::domain::place::PlaceInput;
use maillage::domain::pole::PoleInput;
use maillage::domain::project::ProjectInput;
use maillage::domain::territory::TerritoryInput;
use maillage::domain::territory_ref::Reference;
use maillage::domain::vocab::{
    CallDirection, CallSubject, EventStatus, LegalForm, PoolingKind, TextFormat, Theme,
};
use maillage::domain::{CallForCooperation, Event, Pole, Project};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LINK};

fn pole(slug: &str, name: &str, commune: &str, theme: Theme, pooling: PoolingKind) -> PoleInput {
    PoleInput {
        slug: slug.into(),
        name: name.into(),
        summary: Some(format!("Le pôle {name}")),
        territory: TerritoryInput {
            communes: vec![commune.into()],
            ..Default::default()
        },
        themes: vec![theme],
        pooling: vec![pooling],
        contact_email: Some(format!("contact@{slug}.example.org")),
        ..Default::default()
    }
}

fn member(name: &str, legal_form: LegalForm) -> maillage::domain::Member {
    MemberInput {
        name: name.into(),
        legal_form: Some(legal_form),
        role: Some("Membre fondateur".into()),
        ..Default::default()
    }
    .validate()
    .expect("valid member")
}

fn event(title: &str, starts_at: &str, ends_at: Option<&str>, timezone: &str) -> EventInput {
    EventInput {
        title: title.into(),
        summary: Some(format!("{title}, ouvert à tous")),
        starts_at: starts_at.into(),
        ends_at: ends_at.map(Into::into),
        timezone: Some(timezone.into()),
        online_url: Some("https://visio.example.org/ptce".into()),
        ..Default::default()
    }
}

fn valid_event(input: EventInput) -> Event {
    input.validate().expect("valid event")
}

/// What the scenario created, by the ids feeds must show.
struct Scene {
    redon: String,
    ajaccio: String,
    remote: String,
    fete: String,
    fete_public_id: String,
    past: String,
    past_public_id: String,
    cancelled: String,
    remote_event: String,
    project: String,
    call: String,
}

async fn scene(server: &TestServer) -> Scene {
    let store = &server.store;
    let mut redon = pole(
        "redon",
        "Pôle Coopérer à Redon",
        "35236",
        Theme::RenewableEnergy,
        PoolingKind::Knowledge,
    );
    redon.shared_place = Some(PlaceInput {
        name: Some("La Maison de la coopération".into()),
        commune: Some("35236".into()),
        latitude: Some(47.651_53),
        longitude: Some(-2.084_27),
        ..Default::default()
    });
    redon.description = Some("Un **pôle** <script>alert(1)</script> qui coopère".into());
    redon.description_format = Some(TextFormat::Markdown);
    let redon = store
        .create_pole(&redon.validate().expect("valid pole"))
        .await
        .expect("create pole");
    store
        .create_member(redon.id, &member("Énergies citoyennes", LegalForm::Scic))
        .await
        .expect("member");
    store
        .create_member(
            redon.id,
            &member(
                "=HYPERLINK(\"http://evil.example\",\"clic\")",
                LegalForm::Association,
            ),
        )
        .await
        .expect("member");
    let ajaccio = store
        .create_pole(
            &pole(
                "ajaccio",
                "Pôle Numérique d'Ajaccio",
                "2A004",
                Theme::Digital,
                PoolingKind::Premises,
            )
            .validate()
            .expect("valid pole"),
        )
        .await
        .expect("create pole");
    store
        .create_member(ajaccio.id, &member("@Atelier", LegalForm::Sarl))
        .await
        .expect("member");

    let mut fete = event(
        "Fête de la coopération",
        "2036-12-05T14:00",
        Some("2036-12-05T18:00"),
        "Europe/Paris",
    );
    fete.description = Some(format!(
        "Marché solidaire; ateliers, concerts et repas partagé. {} <script>alert(2)</script>",
        "Venez nombreux à la Maison de la coopération de Redon ! ".repeat(4)
    ));
    fete.place = Some(PlaceInput {
        name: Some("Halle, marché couvert".into()),
        commune: Some("35236".into()),
        latitude: Some(47.65),
        longitude: Some(-2.08),
        ..Default::default()
    });
    let fete = store
        .create_event(redon.id, &valid_event(fete))
        .await
        .expect("event");
    let past = store
        .create_event(
            redon.id,
            &valid_event(event(
                "Petit-déjeuner passé",
                "2025-01-10T08:30",
                None,
                "Europe/Paris",
            )),
        )
        .await
        .expect("event");
    let mut cancelled = event(
        "Atelier numérique",
        "2037-03-28T10:00",
        Some("2037-03-28T12:00"),
        "Europe/Paris",
    );
    cancelled.status = Some(EventStatus::Cancelled);
    let cancelled = store
        .create_event(ajaccio.id, &valid_event(cancelled))
        .await
        .expect("event");
    let project: Project = ProjectInput {
        title: "Parc éolien citoyen".into(),
        summary: Some("Quatre éoliennes détenues par les habitants".into()),
        themes: vec![Theme::RenewableEnergy],
        ..Default::default()
    }
    .validate()
    .expect("valid project");
    let project = store
        .create_project(redon.id, &project)
        .await
        .expect("project");
    let call: CallForCooperation = CallInput {
        title: "Recherche de locaux partagés".into(),
        direction: Some(CallDirection::Seeking),
        subjects: vec![CallSubject::ALL[0]],
        deadline: chrono::NaiveDate::from_ymd_opt(2036, 12, 31),
        how_to_answer: "Écrire au pôle".into(),
        ..Default::default()
    }
    .validate()
    .expect("valid call");
    let call = store.create_call(ajaccio.id, &call).await.expect("call");

    let remote_pole: Pole = pole(
        "lointain",
        "Pôle Lointain",
        "97411",
        Theme::Mobility,
        PoolingKind::Equipment,
    )
    .validate()
    .expect("valid pole");
    let remote = store
        .upsert_remote_pole(
            "https://remote.example/poles/lointain",
            "remote.example",
            &remote_pole,
            &[],
        )
        .await
        .expect("remote pole");
    let remote_event = store
        .upsert_remote_event(
            remote.id,
            "https://remote.example/events/covoiturage",
            &valid_event(event(
                "Covoiturage solidaire",
                "2036-12-10T09:00",
                None,
                "Indian/Reunion",
            )),
            Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap(),
        )
        .await
        .expect("remote event");
    Scene {
        redon: redon.ap_id,
        ajaccio: ajaccio.ap_id,
        remote: remote.ap_id,
        fete: fete.ap_id,
        fete_public_id: fete.public_id,
        past_public_id: past.public_id.clone(),
        past: past.ap_id,
        cancelled: cancelled.ap_id,
        remote_event: remote_event.ap_id,
        project: project.ap_id,
        call: call.ap_id,
    }
}

struct Fetched {
    status: StatusCode,
    content_type: String,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn get(
    server: &TestServer,
    path: &str,
    headers: &[(reqwest::header::HeaderName, &str)],
) -> Fetched {
    let mut request = server.client.get(server.url(path));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // The bytes as sent: `text()` would drop a byte-order mark.
    let body = String::from_utf8(response.bytes().await.expect("body").to_vec()).expect("UTF-8");
    Fetched {
        status,
        content_type,
        headers,
        body,
    }
}

async fn ok(server: &TestServer, path: &str, content_type: &str) -> Fetched {
    let fetched = get(server, path, &[]).await;
    assert_eq!(fetched.status, StatusCode::OK, "{path}: {}", fetched.body);
    assert_eq!(fetched.content_type, content_type, "{path}");
    fetched
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// The entry ids of an Atom or RSS document, read by feed-rs.
fn feed_ids(body: &str) -> BTreeSet<String> {
    let feed = feed_rs::parser::parse(body.as_bytes()).expect("feed-rs reads the feed");
    feed.entries.into_iter().map(|e| e.id).collect()
}

async fn atom_ids(server: &TestServer, path: &str) -> BTreeSet<String> {
    feed_ids(&ok(server, path, "application/atom+xml").await.body)
}

fn property<'a>(props: &'a [ical::property::Property], name: &str) -> &'a ical::property::Property {
    props
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no {name} in {props:?}"))
}

fn value<'a>(props: &'a [ical::property::Property], name: &str) -> &'a str {
    property(props, name).value.as_deref().unwrap_or_default()
}

/// Checks the lexical rules of RFC 5545 and parses the calendar with the `ical` crate.
fn calendar(body: &str) -> ical::parser::ical::component::IcalCalendar {
    assert!(body.ends_with("\r\n"), "the last line ends with CRLF");
    for (i, line) in body.split("\r\n").enumerate() {
        assert!(!line.contains('\n'), "line {i} has a bare LF: {line:?}");
        assert!(
            line.len() <= 75,
            "line {i} has {} octets: {line:?}",
            line.len()
        );
    }
    let mut calendars = ical::IcalParser::new(BufReader::new(body.as_bytes()));
    let calendar = calendars
        .next()
        .expect("one calendar")
        .expect("ical reads the calendar");
    assert!(calendars.next().is_none());
    calendar
}

fn event_by_uid<'a>(
    calendar: &'a ical::parser::ical::component::IcalCalendar,
    uid: &str,
) -> &'a [ical::property::Property] {
    &calendar
        .events
        .iter()
        .find(|e| value(&e.properties, "UID") == uid)
        .unwrap_or_else(|| panic!("no event {uid}"))
        .properties
}

async fn feeds_on(db: &TestDb) {
    let server = TestServer::start(db).await;
    let label = db.label;
    let s = scene(&server).await;
    let everything = set(&[
        &s.redon,
        &s.ajaccio,
        &s.remote,
        &s.fete,
        &s.past,
        &s.cancelled,
        &s.remote_event,
        &s.project,
        &s.call,
    ]);

    // Atom: every pole and object, with stable ids, dates, links and sanitised content.
    let atom = ok(&server, "/feeds/directory.atom", "application/atom+xml").await;
    let feed = feed_rs::parser::parse(atom.body.as_bytes()).expect("feed-rs reads Atom");
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    let ids: BTreeSet<String> = feed.entries.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids, everything, "[{label}]");
    for entry in &feed.entries {
        assert!(
            entry.updated.is_some(),
            "[{label}] {} has no updated",
            entry.id
        );
        assert_eq!(entry.links[0].href, entry.id, "[{label}] link to the page");
        let content = entry
            .content
            .as_ref()
            .and_then(|c| c.body.as_deref())
            .unwrap_or_default();
        assert!(!content.contains("<script"), "[{label}] {content}");
    }
    let fete = feed.entries.iter().find(|e| e.id == s.fete).expect("fête");
    let content = fete
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .unwrap_or_default();
    assert!(
        content.contains("5 décembre 2036, 14 h"),
        "[{label}] local time: {content}"
    );
    assert_eq!(
        fete.authors[0].name.as_deref(),
        Some("Pôle Coopérer à Redon")
    );

    // RSS: the same items, read by the same independent parser.
    let rss = ok(&server, "/feeds/directory.rss", "application/rss+xml").await;
    let feed = feed_rs::parser::parse(rss.body.as_bytes()).expect("feed-rs reads RSS");
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::RSS2);
    assert_eq!(
        feed.entries
            .iter()
            .map(|e| e.id.clone())
            .collect::<BTreeSet<_>>(),
        everything,
        "[{label}]"
    );

    // iCalendar: valid lines, the event's zone with its VTIMEZONE, the right properties.
    let ics = ok(&server, "/feeds/events.ics", "text/calendar; charset=utf-8").await;
    let cal = calendar(&ics.body);
    assert_eq!(cal.events.len(), 4, "[{label}]");
    let tzids: BTreeSet<&str> = cal
        .timezones
        .iter()
        .map(|t| value(&t.properties, "TZID"))
        .collect();
    assert_eq!(tzids, BTreeSet::from(["Europe/Paris", "Indian/Reunion"]));
    let paris = cal
        .timezones
        .iter()
        .find(|t| value(&t.properties, "TZID") == "Europe/Paris")
        .expect("Paris");
    assert!(
        paris.transitions.len() >= 3,
        "[{label}] standard and daylight rules"
    );
    let props = event_by_uid(&cal, &s.fete);
    let dtstart = property(props, "DTSTART");
    assert_eq!(dtstart.value.as_deref(), Some("20361205T140000"));
    assert_eq!(
        dtstart.params.as_ref().expect("params")[0],
        ("TZID".to_owned(), vec!["Europe/Paris".to_owned()])
    );
    assert_eq!(value(props, "DTEND"), "20361205T180000");
    assert_eq!(value(props, "SEQUENCE"), "1");
    assert_eq!(value(props, "GEO"), "47.65;-2.08");
    assert_eq!(value(props, "URL"), s.fete);
    assert_eq!(value(props, "STATUS"), "CONFIRMED");
    assert!(value(props, "LOCATION").starts_with("Halle\\, marché couvert"));
    assert!(value(props, "DESCRIPTION").contains("Marché solidaire\\; ateliers\\, concerts"));
    assert!(!value(props, "DESCRIPTION").contains("script"));
    assert_eq!(
        value(props, "ORGANIZER"),
        "mailto:contact@redon.example.org"
    );
    assert!(!value(props, "DTSTAMP").is_empty());
    assert!(!value(props, "LAST-MODIFIED").is_empty());
    assert_eq!(
        value(event_by_uid(&cal, &s.cancelled), "STATUS"),
        "CANCELLED"
    );
    let dst_day = property(event_by_uid(&cal, &s.cancelled), "DTSTART");
    assert_eq!(
        dst_day.value.as_deref(),
        Some("20370328T100000"),
        "[{label}] after the change to summer time"
    );

    // An update keeps the UID and increments SEQUENCE.
    let mut changed = store_event(&server, &s.fete_public_id).await;
    changed.title = "Grande fête de la coopération".into();
    server
        .store
        .update_event(&s.fete_public_id, &changed)
        .await
        .expect("update");
    let cal = calendar(
        &ok(&server, "/feeds/events.ics", "text/calendar; charset=utf-8")
            .await
            .body,
    );
    let props = event_by_uid(&cal, &s.fete);
    assert_eq!(value(props, "SEQUENCE"), "2", "[{label}]");
    assert_eq!(value(props, "SUMMARY"), "Grande fête de la coopération");

    // One event, to add to a calendar.
    let one = ok(
        &server,
        &format!("/events/{}/calendar.ics", s.fete_public_id),
        "text/calendar; charset=utf-8",
    )
    .await;
    let cal = calendar(&one.body);
    assert_eq!(cal.events.len(), 1);
    assert_eq!(value(&cal.events[0].properties, "UID"), s.fete);
    assert_eq!(cal.timezones.len(), 1);
    let missing = get(&server, "/events/nope/calendar.ics", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "[{label}]");

    // Per-pole calendars hold only that pole's events.
    let cal = calendar(
        &ok(
            &server,
            "/poles/redon/events.ics",
            "text/calendar; charset=utf-8",
        )
        .await
        .body,
    );
    let uids: BTreeSet<String> = cal
        .events
        .iter()
        .map(|e| value(&e.properties, "UID").to_owned())
        .collect();
    assert_eq!(uids, set(&[&s.fete, &s.past]), "[{label}]");

    // GeoJSON: poles and events with coordinates, longitude first.
    let geo = ok(&server, "/feeds/directory.geojson", "application/geo+json").await;
    let parsed: geojson::GeoJson = geo.body.parse().expect("geojson reads the layer");
    let geojson::GeoJson::FeatureCollection(collection) = parsed else {
        panic!("[{label}] not a FeatureCollection");
    };
    let mut seen = BTreeSet::new();
    for feature in &collection.features {
        let props = feature.properties.as_ref().expect("properties");
        let url = props["url"].as_str().expect("url").to_owned();
        let Some(geojson::GeometryValue::Point { coordinates }) =
            feature.geometry.as_ref().map(|g| &g.value)
        else {
            panic!("[{label}] not a point");
        };
        if url == s.redon {
            assert_eq!(
                coordinates.as_slice(),
                &[-2.084_27, 47.651_53],
                "[{label}] lon, lat"
            );
            assert_eq!(props["kind"], "pole");
            assert_eq!(props["name"], "Pôle Coopérer à Redon");
        }
        if url == s.fete {
            assert_eq!(coordinates.as_slice(), &[-2.08, 47.65]);
            assert_eq!(props["kind"], "event");
            assert_eq!(props["starts_at"], "2036-12-05T14:00:00+01:00");
        }
        seen.insert(url);
    }
    assert_eq!(
        seen,
        set(&[&s.redon, &s.fete]),
        "[{label}] only what has coordinates"
    );

    // CSV of poles: the territory at every level, member counts.
    let poles_csv = ok(&server, "/feeds/poles.csv", "text/csv; charset=utf-8").await;
    assert!(poles_csv.body.contains("\r\n"), "RFC 4180 line ends");
    assert_eq!(
        poles_csv
            .headers
            .get(reqwest::header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok()),
        Some("attachment; filename=\"poles.csv\"")
    );
    let mut reader = csv::Reader::from_reader(poles_csv.body.as_bytes());
    let headers = reader.headers().expect("header row").clone();
    let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 3, "[{label}]");
    let redon_row = rows
        .iter()
        .find(|r| &r[column("slug")] == "redon")
        .expect("redon row");
    let redon_commune = Reference::get().commune("35236").expect("Redon");
    assert_eq!(&redon_row[column("communes")], "35236");
    assert_eq!(&redon_row[column("commune_names")], "Redon");
    assert_eq!(&redon_row[column("departements")], "35");
    assert_eq!(&redon_row[column("regions")], "53");
    assert_eq!(
        &redon_row[column("epci")],
        redon_commune.epci.expect("EPCI")
    );
    assert_eq!(&redon_row[column("themes")], "renewable-energy");
    assert_eq!(&redon_row[column("pooling")], "knowledge");
    assert_eq!(&redon_row[column("members")], "2");
    let corsica = rows
        .iter()
        .find(|r| &r[column("slug")] == "ajaccio")
        .expect("row");
    assert_eq!(&corsica[column("departements")], "2A");
    // A handle cannot start a formula: it is written as it is.
    assert!(
        redon_row[column("handle")].starts_with("@redon@"),
        "[{label}] {:?}",
        &redon_row[column("handle")]
    );

    // The same table for French spreadsheets: a byte-order mark, `;` between cells,
    // decimal commas, and otherwise the same cells.
    let french = ok(
        &server,
        "/feeds/poles.csv?spreadsheet=fr",
        "text/csv; charset=utf-8",
    )
    .await;
    let body = french
        .body
        .strip_prefix('\u{feff}')
        .expect("byte-order mark");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(body.as_bytes());
    assert_eq!(reader.headers().expect("header row"), &headers);
    let french_rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(french_rows.len(), rows.len(), "[{label}]");
    for (french_row, row) in french_rows.iter().zip(&rows) {
        for (i, (french_cell, cell)) in french_row.iter().zip(row.iter()).enumerate() {
            if ["latitude", "longitude"].contains(&&headers[i]) {
                assert_eq!(french_cell, cell.replace('.', ","), "[{label}]");
            } else {
                assert_eq!(french_cell, cell, "[{label}] {}", &headers[i]);
            }
        }
    }
    assert!(
        french_rows
            .iter()
            .any(|r| r[column("latitude")].contains(',')),
        "[{label}] decimal commas"
    );
    let refused = server
        .client
        .get(server.url("/feeds/poles.csv?spreadsheet=de"))
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 400, "[{label}]");
    assert!(
        refused.text().await.expect("body").contains("spreadsheet"),
        "[{label}] names the parameter"
    );

    // CSV of members: formulas neutralised.
    let members_csv = ok(&server, "/feeds/members.csv", "text/csv; charset=utf-8").await;
    let mut reader = csv::Reader::from_reader(members_csv.body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 3, "[{label}]");
    for row in &rows {
        for cell in row.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "[{label}] formula cell {cell:?}"
            );
        }
    }
    assert!(
        rows.iter()
            .any(|r| &r[3] == "'=HYPERLINK(\"http://evil.example\",\"clic\")")
    );
    assert!(rows.iter().any(|r| &r[3] == "'@Atelier" && &r[4] == "sarl"));

    // GoGoCarto elements.
    let gogo = ok(&server, "/feeds/gogocarto.json", "application/json").await;
    let json: serde_json::Value = serde_json::from_str(&gogo.body).expect("JSON");
    let data = json["data"].as_array().expect("data");
    assert_eq!(data.len(), 3);
    let element = data
        .iter()
        .find(|e| e["id"] == s.redon.as_str())
        .expect("redon");
    assert_eq!(element["name"], "Pôle Coopérer à Redon");
    assert_eq!(element["geo"]["latitude"], 47.651_53);
    assert_eq!(element["geo"]["longitude"], -2.084_27);
    assert_eq!(element["address"]["addressLocality"], "Redon");
    assert_eq!(element["categories"][0], "Énergies renouvelables");

    // Per-pole news feeds: that pole and what it published, nothing else.
    assert_eq!(
        atom_ids(&server, "/poles/ajaccio/feed.atom").await,
        set(&[&s.ajaccio, &s.cancelled, &s.call]),
        "[{label}]"
    );
    let rss = ok(&server, "/poles/redon/feed.rss", "application/rss+xml").await;
    assert_eq!(
        feed_ids(&rss.body),
        set(&[&s.redon, &s.fete, &s.past, &s.project]),
        "[{label}]"
    );

    // Filters.
    let epci = format!("epci={}&kind=pole", redon_commune.epci.unwrap_or_default());
    let filters: Vec<(&str, BTreeSet<String>)> = vec![
        ("kind=event&region=53", set(&[&s.fete, &s.past])),
        ("kind=event&upcoming=true&departement=35", set(&[&s.fete])),
        (
            "kind=event&from=2036-12-01&to=2036-12-31",
            set(&[&s.fete, &s.remote_event]),
        ),
        ("theme=digital", set(&[&s.ajaccio, &s.cancelled, &s.call])),
        ("legal_form=sarl&kind=pole", set(&[&s.ajaccio])),
        ("pooling=knowledge&kind=project,call", set(&[&s.project])),
        ("q=EOLIEN", set(&[&s.project])),
        ("q=coopérer&kind=pole", set(&[&s.redon])),
        ("commune=97411", set(&[&s.remote, &s.remote_event])),
        (&epci, set(&[&s.redon])),
        (
            "kind=call&call_status=open&deadline_before=2036-12-31",
            set(&[&s.call]),
        ),
        ("kind=call&call_status=closed", BTreeSet::new()),
        ("kind=call&deadline_before=2036-12-30", BTreeSet::new()),
    ];
    for (query, expected) in filters {
        let ids = atom_ids(&server, &format!("/feeds/directory.atom?{query}")).await;
        assert_eq!(ids, expected, "[{label}] ?{query}");
    }

    // Pages: at most per_page items, and a link to the next page.
    let first = ok(
        &server,
        "/feeds/directory.atom?per_page=4",
        "application/atom+xml",
    )
    .await;
    let first_ids = feed_ids(&first.body);
    assert_eq!(first_ids.len(), 4);
    let link = first
        .headers
        .get(LINK)
        .and_then(|v| v.to_str().ok())
        .expect("Link");
    assert!(
        link.contains("page=2") && link.contains("rel=\"next\""),
        "{link}"
    );
    let mut all = first_ids;
    for page in [2, 3] {
        let ids = atom_ids(
            &server,
            &format!("/feeds/directory.atom?per_page=4&page={page}"),
        )
        .await;
        all.extend(ids);
    }
    assert_eq!(all, everything, "[{label}] pages cover everything once");
    let last = ok(
        &server,
        "/feeds/directory.atom?per_page=4&page=3",
        "application/atom+xml",
    )
    .await;
    assert!(last.headers.get(LINK).is_none());

    // Conditional requests: 304 on a matching ETag or an unchanged date, 200 after a change.
    let etag = atom
        .headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .expect("ETag")
        .to_owned();
    let fresh = ok(&server, "/feeds/directory.atom", "application/atom+xml").await;
    let etag_now = fresh
        .headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .expect("ETag")
        .to_owned();
    assert_ne!(etag, etag_now, "[{label}] the update changed the feed");
    let cached = get(
        &server,
        "/feeds/directory.atom",
        &[(IF_NONE_MATCH, &etag_now)],
    )
    .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED, "[{label}]");
    assert!(cached.body.is_empty());
    let stale = get(&server, "/feeds/directory.atom", &[(IF_NONE_MATCH, &etag)]).await;
    assert_eq!(stale.status, StatusCode::OK);
    // A date is given once its second is over.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let fresh = ok(&server, "/feeds/directory.atom", "application/atom+xml").await;
    let modified = fresh
        .headers
        .get(LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .expect("Last-Modified")
        .to_owned();
    let cached = get(
        &server,
        "/feeds/poles.csv",
        &[(IF_MODIFIED_SINCE, &modified)],
    )
    .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED, "[{label}]");
    // A deletion leaves nothing to date, and still makes the feed newer.
    let before = ok(&server, "/feeds/events.ics", "text/calendar; charset=utf-8").await;
    server
        .store
        .delete_event(&s.past_public_id)
        .await
        .expect("delete");
    let after = get(
        &server,
        "/feeds/events.ics",
        &[(IF_MODIFIED_SINCE, &modified)],
    )
    .await;
    assert_eq!(after.status, StatusCode::OK, "[{label}] changed since");
    assert_ne!(before.body, after.body);
    assert!(
        !after.body.contains(&s.past),
        "[{label}] the deleted event is gone"
    );
    let ics_etag = one
        .headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .expect("ETag")
        .to_owned();
    let cached = get(
        &server,
        &format!("/events/{}/calendar.ics", s.fete_public_id),
        &[(IF_NONE_MATCH, &ics_etag)],
    )
    .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);

    // Bad parameters: a clear 400 naming the parameter.
    for query in [
        "region=99",
        "kind=person",
        "from=2036-02-30",
        "per_page=0",
        "per_page=100000",
        "upcoming=yes",
        "call_status=maybe",
        "theme=cooking",
        "from=2036-12-31&to=2036-01-01",
        "kind=event&kind=pole",
    ] {
        for path in [
            "/feeds/directory.atom",
            "/feeds/events.ics",
            "/poles/redon/feed.rss",
        ] {
            let bad = get(&server, &format!("{path}?{query}"), &[]).await;
            assert_eq!(
                bad.status,
                StatusCode::BAD_REQUEST,
                "[{label}] {path}?{query}"
            );
            let body: serde_json::Value = serde_json::from_str(&bad.body).expect("JSON error");
            assert_eq!(body["error"], "bad_request");
            let name = query.split('=').next().unwrap_or_default();
            let message = body["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(name) || message.contains("`to`"),
                "[{label}] {message}"
            );
        }
    }

    // Unknown poles.
    for path in [
        "/poles/nope/feed.atom",
        "/poles/nope/feed.rss",
        "/poles/nope/events.ics",
    ] {
        assert_eq!(
            get(&server, path, &[]).await.status,
            StatusCode::NOT_FOUND,
            "[{label}] {path}"
        );
    }
    server.stop().await;
}

async fn store_event(server: &TestServer, public_id: &str) -> Event {
    server.store.event(public_id).await.expect("event").data
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_are_valid_and_filtered_on_every_database() {
    common::init_logs();
    for db in TestDb::all().await {
        feeds_on(&db).await;
        db.drop_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_are_capped_by_the_configuration() {
    let db = TestDb::sqlite();
    let server = TestServer::start_on(&db, 0, |c| c.feeds.max_items = 2).await;
    scene(&server).await;
    let atom = ok(&server, "/feeds/directory.atom", "application/atom+xml").await;
    assert_eq!(feed_ids(&atom.body).len(), 2);
    let too_many = get(&server, "/feeds/directory.atom?per_page=3", &[]).await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);
    server.stop().await;
}
