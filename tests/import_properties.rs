//! The CSV and GoGoCarto importers on generated files, on SQLite and PostgreSQL: valid rows
//! import; mangled tables and random JSON never panic nor fail as a server error, every
//! refusal names its line (or JSON element) and column (or field path), and a refused
//! import stores nothing.
//!
//! Each property runs `PROPTEST_CASES` cases (2,000 by default; a tenth of them for the
//! properties whose every case imports valid rows, which write); a longer run is
//! `PROPTEST_CASES=50000 cargo test --release --test import_properties`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::cases::{run, run_writing, tricky};
use common::{TestDb, count_rows};
use maillage::domain::vocab::{LegalForm, PoolingKind, Theme};
use maillage::import::{self, Location, Parsed, Report};
use maillage::store::Store;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Communes of the reference data, to draw territories from.
const COMMUNES: &[&str] = &[
    "35236", "69266", "93066", "74010", "33227", "43157", "2A004",
];

/// Pieces that trip CSV and JSON readers.
const PIECES: &[&str] = &[
    ",",
    ";",
    "\"",
    "\"\"",
    "\n",
    "\r\n",
    "\r",
    "|",
    "'",
    "'=",
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\u{feff}",
    "\0",
    "é",
    "œ",
    "{",
    "}",
    "[",
    "]",
    ":",
    "null",
    "99999",
    "95",
    "-200",
    "1e999",
    "NaN",
    "slug",
    "name",
    "pole_slug",
    "legal_form",
    "themes",
    "latitude",
    "\"data\"",
    "\"geo\"",
    "\"name\"",
    "\"address\"",
    "https://",
    "@x@y",
    "a@b.fr",
];

/// Texts a spreadsheet holds: accents, separators, quotes and formula signs.
fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9éèàçôÉ ,;\"'|=+@.-]{0,40}"
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-zéèàçôÉ' -]{0,30}".prop_map(|n| format!("Pôle {n}"))
}

/// One valid pole row: (name, summary, themes, pooling, commune, coordinates, year).
type PoleCells = (
    String,
    String,
    Vec<Theme>,
    Vec<PoolingKind>,
    Option<&'static str>,
    Option<(f64, f64)>,
    Option<i32>,
);

fn pole_cells() -> impl Strategy<Value = PoleCells> {
    (
        name(),
        text(),
        prop::sample::subsequence(Theme::ALL, 0..4),
        prop::sample::subsequence(PoolingKind::ALL, 0..3),
        prop::option::of(prop::sample::select(COMMUNES)),
        prop::option::of((-90.0f64..90.0, -180.0f64..180.0)),
        prop::option::of(1900i32..2025),
    )
}

/// One valid member row: (pole index, name, legal form, ess).
fn member_cells() -> impl Strategy<Value = (usize, String, LegalForm, Option<bool>)> {
    (
        0usize..8,
        name(),
        prop::sample::select(LegalForm::ALL),
        prop::option::of(any::<bool>()),
    )
}

/// A generated table: poles, members, delimiter and byte order mark.
#[derive(Debug, Clone)]
struct Tables {
    poles: Vec<PoleCells>,
    members: Vec<(usize, String, LegalForm, Option<bool>)>,
    semicolon: bool,
    bom: bool,
}

fn tables() -> impl Strategy<Value = Tables> {
    (
        prop::collection::vec(pole_cells(), 1..6),
        prop::collection::vec(member_cells(), 0..6),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(poles, members, semicolon, bom)| Tables {
            poles,
            members,
            semicolon,
            bom,
        })
}

/// Slugs no other case uses.
static CASE: AtomicUsize = AtomicUsize::new(0);

fn write(rows: Vec<Vec<String>>, semicolon: bool, bom: bool) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(if semicolon { b';' } else { b',' })
        .from_writer(Vec::new());
    for row in rows {
        writer.write_record(row).expect("write");
    }
    let mut bytes = if bom {
        b"\xEF\xBB\xBF".to_vec()
    } else {
        Vec::new()
    };
    bytes.extend(writer.into_inner().expect("bytes"));
    bytes
}

/// The two files of `tables`, with slugs unique to this case.
fn render(tables: &Tables) -> (Vec<u8>, Vec<u8>) {
    let case = CASE.fetch_add(1, Ordering::SeqCst);
    let slug = |i: usize| format!("c{case}-p{i}");
    let mut poles = vec![
        [
            "name",
            "slug",
            "summary",
            "themes",
            "pooling",
            "communes",
            "latitude",
            "longitude",
            "founded_year",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for (i, (name, summary, themes, pooling, commune, coordinates, year)) in
        tables.poles.iter().enumerate()
    {
        let list = |ids: Vec<&str>| ids.join("|");
        poles.push(vec![
            name.clone(),
            slug(i),
            maillage::feeds::csv::safe_cell(summary),
            list(themes.iter().map(|t| t.id()).collect()),
            list(pooling.iter().map(|k| k.id()).collect()),
            commune.unwrap_or_default().to_owned(),
            coordinates.map(|c| c.0.to_string()).unwrap_or_default(),
            coordinates.map(|c| c.1.to_string()).unwrap_or_default(),
            year.map(|y| y.to_string()).unwrap_or_default(),
        ]);
    }
    let mut members = vec![
        ["pole_slug", "name", "legal_form", "ess"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for (pole, name, form, ess) in &tables.members {
        members.push(vec![
            slug(pole % tables.poles.len()),
            name.clone(),
            form.id().to_owned(),
            ess.map(|e| e.to_string()).unwrap_or_default(),
        ]);
    }
    (
        write(poles, tables.semicolon, tables.bom),
        write(members, tables.semicolon, tables.bom),
    )
}

/// Edits that break a file: a piece inserted, a stretch cut, a byte changed.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, &'static str),
    Cut(usize, usize),
    Byte(usize, u8),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        prop_oneof![
            3 => (any::<usize>(), prop::sample::select(PIECES)).prop_map(|(at, p)| Edit::Insert(at, p)),
            1 => (any::<usize>(), 1usize..12).prop_map(|(at, n)| Edit::Cut(at, n)),
            1 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
        ],
        1..6,
    )
}

fn mangle(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let len = bytes.len().max(1);
        match edit {
            Edit::Insert(at, piece) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, piece.bytes());
            }
            Edit::Cut(at, n) => {
                let at = at % len;
                let end = (at + n).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Edit::Byte(at, b) => {
                if !bytes.is_empty() {
                    let at = at % bytes.len();
                    bytes[at] = *b;
                }
            }
        }
    }
    bytes
}

/// What an import may write.
async fn stored(store: &Store) -> [i64; 3] {
    [
        count_rows(store, "poles").await,
        count_rows(store, "members").await,
        count_rows(store, "changes").await,
    ]
}

/// Runs an import of `parsed` and checks what must always hold: an answer (never a store
/// error), and on refusal a located reason for each problem and nothing stored.
fn check_import(
    handle: &tokio::runtime::Handle,
    store: &Store,
    parsed: Parsed,
    label: &str,
    lines: u64,
    elements: usize,
) -> Result<Report, TestCaseError> {
    let (before, report, after) = handle.block_on(async {
        let before = stored(store).await;
        let report = import::run(store, parsed, false).await;
        (before, report, stored(store).await)
    });
    let report = match report {
        Ok(report) => report,
        Err(e) => return Err(TestCaseError::fail(format!("[{label}] store error: {e}"))),
    };
    if report.is_valid() {
        prop_assert!(report.created, "[{label}] valid but not created");
        prop_assert_eq!(
            after[0] - before[0],
            report.poles.len() as i64,
            "[{}] not all created poles are stored",
            label
        );
    } else {
        prop_assert!(!report.created, "[{label}]");
        prop_assert_eq!(
            before,
            after,
            "[{}] a refused import stored something",
            label
        );
        for p in &report.problems {
            prop_assert!(!p.column.is_empty(), "[{label}] no column: {p}");
            prop_assert!(
                !maillage::web::pages::Lang::En
                    .message(&p.message)
                    .trim()
                    .is_empty(),
                "[{label}] no reason: {p}"
            );
            match p.at {
                Location::Line(n) => {
                    prop_assert!(
                        n >= 1 && n <= lines + 1,
                        "[{label}] line {n} of {lines}: {p}"
                    )
                }
                Location::Element(i) => {
                    prop_assert!(i < elements, "[{label}] element {i} of {elements}: {p}")
                }
            }
        }
    }
    Ok(report)
}

fn line_count(bytes: &[u8]) -> u64 {
    1 + bytes
        .iter()
        .filter(|b| **b == b'\n' || **b == b'\r')
        .count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_tables_import_and_mangled_ones_are_refused_by_line_and_column() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let handle = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| {
            // Valid rows import, in either spreadsheet's dialect.
            run_writing(tables(), |tables| {
                let (poles, members) = render(&tables);
                let mut parsed = Parsed::default();
                parsed.poles(&poles, None);
                parsed.members(&members);
                let report = check_import(&handle, &store, parsed, label, line_count(&poles), 0)?;
                prop_assert!(report.created, "[{label}] refused: {:?}", report.problems);
                prop_assert_eq!(report.poles.len(), tables.poles.len());
                prop_assert_eq!(report.members, tables.members.len());
                Ok(())
            });
            // Mangled tables, and any text at all: answered, located, nothing half-stored.
            let mangled = prop_oneof![
                3 => (tables(), edits(), any::<bool>()).prop_map(|(t, e, which)| {
                    let (poles, members) = render(&t);
                    if which { (mangle(poles, &e), members) } else { (poles, mangle(members, &e)) }
                }),
                1 => (tricky(PIECES), tricky(PIECES)).prop_map(|(a, b)| (a.into_bytes(), b.into_bytes())),
            ];
            run(mangled, |(poles, members)| {
                let mut parsed = Parsed::default();
                parsed.poles(&poles, Some(import::PoleFormat::Csv));
                parsed.members(&members);
                let lines = line_count(&poles).max(line_count(&members));
                check_import(&handle, &store, parsed, label, lines, 0)?;
                Ok(())
            });
        });
        store.close().await.ok();
        db.drop_now().await;
    }
}

/// Keys of GoGoCarto elements, and some that are not.
const KEYS: &[&str] = &[
    "name",
    "geo",
    "latitude",
    "longitude",
    "address",
    "streetAddress",
    "addressLocality",
    "postalCode",
    "customFormatedAddress",
    "categories",
    "categoriesFull",
    "description",
    "descriptionMore",
    "website",
    "email",
    "telephone",
    "fediverse",
    "themes",
    "pooling",
    "id",
    "openHours",
    "data",
];

/// Any JSON value, a few levels deep, with the keys elements use.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        tricky(PIECES).prop_map(Value::String),
        prop::sample::select(Theme::ALL).prop_map(|t| json!(t.label_fr())),
        prop::sample::select(COMMUNES).prop_map(|c| json!(c)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(KEYS).prop_map(str::to_owned),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid element: a name, and perhaps coordinates, an address, categories and a site.
fn element() -> impl Strategy<Value = Value> {
    (
        name(),
        prop::option::of((-90.0f64..90.0, -180.0f64..180.0)),
        prop::option::of(prop::sample::select(&["Redon", "Villeurbanne", "Nulle-Part"][..])),
        prop::sample::subsequence(Theme::ALL, 0..3),
        text(),
    )
        .prop_map(|(name, geo, town, themes, description)| {
            json!({
                "id": "x",
                "name": name,
                "geo": geo.map(|(lat, lon)| json!({"latitude": lat, "longitude": lon})),
                "address": town.map(|t| json!({"addressLocality": t, "streetAddress": "1 place de la Mairie", "addressCountry": "FR"})),
                "categories": themes.iter().map(|t| t.label_fr()).chain(["Jardinage"]).collect::<Vec<_>>(),
                "description": description,
                "website": "https://exemple.fr/",
                "openHours": {"Mo": "9-12"},
            })
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gogocarto_exports_import_and_random_json_is_refused_by_path() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        let handle = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| {
            // Valid elements import, wrapped or bare, each unread field a warning.
            run_writing(
                (prop::collection::vec(element(), 1..5), any::<bool>()),
                |(elements, bare)| {
                    let count = elements.len();
                    let body = if bare {
                        json!(elements)
                    } else {
                        json!({"data": elements})
                    };
                    let bytes = serde_json::to_vec(&body).expect("json");
                    let mut parsed = Parsed::default();
                    parsed.poles(&bytes, None);
                    let report =
                        check_import(&handle, &store, parsed, label, line_count(&bytes), count)?;
                    prop_assert!(report.created, "[{label}] refused: {:?}", report.problems);
                    prop_assert_eq!(report.poles.len(), count);
                    for i in 0..count {
                        prop_assert!(
                            report
                                .warnings
                                .iter()
                                .any(|w| w.at == Location::Element(i) && w.column == "openHours"),
                            "[{label}] openHours of {i} not reported: {:?}",
                            report.warnings
                        );
                    }
                    Ok(())
                },
            );
            // Random elements, random documents and mangled text.
            let documents = prop_oneof![
                2 => prop::collection::vec(json_value(), 0..5)
                    .prop_map(|items| serde_json::to_vec(&json!({"data": items})).expect("json")),
                1 => json_value().prop_map(|v| serde_json::to_vec(&v).expect("json")),
                2 => (prop::collection::vec(element(), 1..4), edits())
                    .prop_map(|(e, edits)| mangle(serde_json::to_vec(&json!({"data": e})).expect("json"), &edits)),
            ];
            run(documents, |bytes| {
                let elements = serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .and_then(|v| {
                        v.get("data")
                            .or(Some(&v))
                            .and_then(Value::as_array)
                            .map(Vec::len)
                    })
                    .unwrap_or(0);
                let mut parsed = Parsed::default();
                parsed.poles(&bytes, Some(import::PoleFormat::GoGoCarto));
                check_import(&handle, &store, parsed, label, line_count(&bytes), elements)?;
                Ok(())
            });
        });
        store.close().await.ok();
        db.drop_now().await;
    }
}
