//! Poles and members brought in from a table or a map: the CSV files the feeds write
//! (`/feeds/poles.csv`, `/feeds/members.csv`) and GoGoCarto or Transiscope JSON exports
//! (ours, `/feeds/gogocarto.json`, too).
//!
//! Reading (`csv.rs`, `gogocarto.rs`) turns each row into the `*Input` types a person sends
//! through the API, remembering where it came from; [`check`] validates every row through
//! the domain, as the API would, and names each problem by its line (or JSON element) and
//! column (or field path); [`run`] creates nothing unless every row is valid, and then
//! creates everything in one database transaction. Imported poles are local poles like any
//! other: indexed, served as actors, federated.

pub mod csv;
pub mod gogocarto;

use std::fmt;

use serde::Serialize;

use crate::domain::{
    Code, Member, MemberInput, Message, Pole, PoleInput, ValidationErrors, check as field,
};
use crate::store::{Store, StoreError};

/// The largest file an import reads (5 MiB: some ten thousand poles).
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

/// How a file of poles is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoleFormat {
    /// The columns of `/feeds/poles.csv`.
    Csv,
    /// GoGoCarto's or Transiscope's elements, or `/feeds/gogocarto.json`.
    GoGoCarto,
}

impl PoleFormat {
    pub fn from_id(id: &str) -> Option<PoleFormat> {
        match id {
            "csv" => Some(PoleFormat::Csv),
            "gogocarto" | "json" => Some(PoleFormat::GoGoCarto),
            _ => None,
        }
    }

    /// JSON when the file's first character (after a byte order mark and blanks) opens an
    /// object or an array, CSV otherwise.
    pub fn detect(bytes: &[u8]) -> PoleFormat {
        let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match text.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{' | b'[') => PoleFormat::GoGoCarto,
            _ => PoleFormat::Csv,
        }
    }
}

/// Which file of an import a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum File {
    Poles,
    Members,
}

/// Where in a file: a line as a spreadsheet numbers it (the header is line 1), or an
/// element of a JSON export by its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    Line(u64),
    Element(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Element(i) => write!(f, "data[{i}]"),
        }
    }
}

/// One problem (or warning) of one row: where, which column or field path, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: File,
    pub at: Location,
    /// The CSV column, or the field path in the JSON element.
    pub column: String,
    pub message: Message,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line(&self.message.to_string()))
    }
}

impl Problem {
    /// The problem on one line, its message worded by the caller (such as in a language).
    pub fn line(&self, message: &str) -> String {
        let file = match self.file {
            File::Poles => "poles",
            File::Members => "members",
        };
        format!("{file} {}, {}: {message}", self.at, self.column)
    }
}

/// A pole read from a file, with where it came from.
#[derive(Debug, Clone)]
pub struct PoleRow {
    pub at: Location,
    pub input: PoleInput,
    /// The slug was made from the name (GoGoCarto has none): it is made unique.
    pub slug_from_name: bool,
    /// The column or field path a field of [`PoleInput`] came from.
    pub column_of: fn(&str) -> String,
}

/// A member read from a file, with the slug of its pole.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub at: Location,
    pub pole: String,
    pub input: MemberInput,
}

/// What reading the files gave: rows, and the problems and warnings met on the way.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub poles: Vec<PoleRow>,
    pub members: Vec<MemberRow>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

impl Parsed {
    /// Reads a file of poles in `format` (detected from its content when not given).
    pub fn poles(&mut self, bytes: &[u8], format: Option<PoleFormat>) {
        match format.unwrap_or_else(|| PoleFormat::detect(bytes)) {
            PoleFormat::Csv => csv::read_poles(bytes, self),
            PoleFormat::GoGoCarto => gogocarto::read(bytes, self),
        }
    }

    /// Reads a CSV file of members.
    pub fn members(&mut self, bytes: &[u8]) {
        csv::read_members(bytes, self);
    }

    fn problem(
        &mut self,
        file: File,
        at: Location,
        column: impl Into<String>,
        message: impl Into<Message>,
    ) {
        self.problems.push(Problem {
            file,
            at,
            column: column.into(),
            message: message.into(),
        });
    }

    fn warning(
        &mut self,
        file: File,
        at: Location,
        column: impl Into<String>,
        message: impl Into<Message>,
    ) {
        self.warnings.push(Problem {
            file,
            at,
            column: column.into(),
            message: message.into(),
        });
    }
}

/// What an import makes, or would make.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Every problem of every row; when there is one, nothing is created.
    pub problems: Vec<Problem>,
    /// What is not imported, or was changed on the way (a slug made from a name).
    pub warnings: Vec<Problem>,
    /// The poles, as (slug, name).
    pub poles: Vec<(String, String)>,
    pub members: usize,
    /// Whether they were created (false on a dry run or when a row is wrong).
    pub created: bool,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What is ready to be written, once every row is valid.
struct Plan {
    poles: Vec<Pole>,
    members: Vec<(String, Member)>,
}

/// A slug made from a name: folded to ASCII lower case, words joined by `-`.
pub fn slug_from_name(name: &str) -> String {
    let folded = crate::domain::territory_ref::fold(name);
    let mut slug = String::new();
    for c in folded.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let mut slug: String = slug.chars().take(56).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.len() < 2 {
        slug = format!("pole-{slug}").trim_end_matches('-').to_owned();
    }
    slug
}

/// Makes the slugs made from names unique among the file's and the instance's, saying so.
async fn unique_slugs(store: &Store, parsed: &mut Parsed) -> Result<(), StoreError> {
    let wanted: Vec<String> = parsed
        .poles
        .iter()
        .filter_map(|p| field::slug(&p.input.slug).ok())
        .collect();
    let mut taken = store.taken_slugs(&wanted).await?;
    let given: Vec<String> = parsed
        .poles
        .iter()
        .filter(|p| !p.slug_from_name)
        .map(|p| p.input.slug.clone())
        .collect();
    taken.extend(given);
    let mut warnings = Vec::new();
    for row in parsed.poles.iter_mut().filter(|p| p.slug_from_name) {
        let base = row.input.slug.clone();
        let numbered = |n: usize| {
            if n < 2 {
                base.clone()
            } else {
                format!("{base}-{n}")
            }
        };
        // The instance's slugs among the first candidates, read at once; a name can give a
        // reserved slug (`admin`): it gets a number too.
        let mut n = 1;
        let slug = loop {
            let candidates: Vec<String> = (n..n + 100).map(numbered).collect();
            let used = store.taken_slugs(&candidates).await?;
            if let Some(free) = candidates
                .into_iter()
                .find(|s| !taken.contains(s) && !used.contains(s) && field::slug(s).is_ok())
            {
                break free;
            }
            n += 100;
            if n > 1_000 {
                // The row's check then says why.
                break base.clone();
            }
        };
        taken.push(slug.clone());
        warnings.push(Problem {
            file: File::Poles,
            at: row.at,
            column: (row.column_of)("name"),
            message: Message::new(Code::SlugFromName).arg("value", &slug),
        });
        row.input.slug = slug;
    }
    parsed.warnings.extend(warnings);
    Ok(())
}

/// The domain's errors of a row but those of a column whose cell could not be read (the
/// reading already said why).
fn unreported(
    problems: &[Problem],
    file: File,
    at: Location,
    errors: ValidationErrors,
    column_of: fn(&str) -> String,
) -> ValidationErrors {
    ValidationErrors(
        errors
            .0
            .into_iter()
            .filter(|e| {
                let column = column_of(&e.field);
                !problems
                    .iter()
                    .any(|p| p.file == file && p.at == at && p.column == column)
            })
            .collect(),
    )
}

/// Validates every row, as the API would, and checks slugs against the instance and
/// the file; every problem goes to `problems`.
async fn check(store: &Store, parsed: &mut Parsed) -> Result<Plan, StoreError> {
    unique_slugs(store, parsed).await?;
    let mut poles = Vec::new();
    let mut problems = Vec::new();
    let mut seen: Vec<(String, Location)> = Vec::new();
    // Only slugs that are slugs are looked up (PostgreSQL refuses some characters).
    let slugs: Vec<String> = parsed
        .poles
        .iter()
        .filter_map(|p| field::slug(&p.input.slug).ok())
        .collect();
    let taken = store.taken_slugs(&slugs).await?;
    for row in &parsed.poles {
        let column = |f: &str| (row.column_of)(f);
        let mut report = |errors: ValidationErrors| {
            for e in errors.0 {
                problems.push(Problem {
                    file: File::Poles,
                    at: row.at,
                    column: column(&e.field),
                    message: e.message,
                });
            }
        };
        // An invalid slug is reported by the row's validation.
        let slug = field::slug(&row.input.slug).unwrap_or_default();
        let first = seen.iter().find(|(s, _)| !slug.is_empty() && *s == slug);
        if let Some((_, first)) = first {
            report(ValidationErrors::single(
                "slug",
                Message::new(Code::SlugRepeated)
                    .arg("value", &slug)
                    .arg("first", first),
            ));
        } else if !slug.is_empty() && taken.contains(&slug) {
            report(ValidationErrors::single(
                "slug",
                Message::new(Code::SlugTaken).arg("value", &slug),
            ));
        }
        seen.push((slug, row.at));
        match row.input.validate() {
            Ok(pole) => poles.push(pole),
            Err(errors) => report(unreported(
                &parsed.problems,
                File::Poles,
                row.at,
                errors,
                row.column_of,
            )),
        }
    }
    let referenced: Vec<String> = parsed
        .members
        .iter()
        .filter_map(|m| field::slug(&m.pole).ok())
        .collect();
    let unknown = store.unknown_poles(&referenced).await?;
    let mut members = Vec::new();
    for row in &parsed.members {
        let mut add = |column: &str, message: Message| {
            problems.push(Problem {
                file: File::Members,
                at: row.at,
                column: column.to_owned(),
                message,
            });
        };
        let pole = field::slug(&row.pole);
        match &pole {
            Err(message) => add("pole_slug", message.clone()),
            Ok(slug) if unknown.contains(slug) && !slugs.contains(slug) => add(
                "pole_slug",
                Message::new(Code::UnknownPoleSlug).arg("value", slug),
            ),
            Ok(_) => {}
        }
        match row.input.validate() {
            Ok(member) => members.push((pole.unwrap_or_default(), member)),
            Err(errors) => {
                let errors = unreported(&parsed.problems, File::Members, row.at, errors, |f| {
                    f.to_owned()
                });
                for e in errors.0 {
                    add(&e.field, e.message);
                }
            }
        }
    }
    parsed.problems.extend(problems);
    Ok(Plan { poles, members })
}

/// Checks every row and, unless `dry_run` or a row is wrong, creates the poles and members
/// in one transaction. Problems of the rows are in the report, not an error.
pub async fn run(store: &Store, mut parsed: Parsed, dry_run: bool) -> Result<Report, StoreError> {
    let plan = check(store, &mut parsed).await?;
    let mut report = Report {
        poles: plan
            .poles
            .iter()
            .map(|p| (p.slug.clone(), p.name.clone()))
            .collect(),
        members: plan.members.len(),
        ..Default::default()
    };
    report.problems = parsed.problems;
    report.warnings = parsed.warnings;
    if !report.is_valid() || dry_run {
        return Ok(report);
    }
    match store
        .import_poles_and_members(&plan.poles, &plan.members)
        .await
    {
        Ok(_) => {}
        // Another writer took a slug meanwhile: the transaction wrote nothing.
        Err(StoreError::Invalid(errors)) => {
            for e in errors.0 {
                let row = parsed
                    .poles
                    .iter()
                    .find(|r| e.message.get("value") == Some(r.input.slug.as_str()));
                report.problems.push(Problem {
                    file: File::Poles,
                    at: row.map_or(Location::Line(1), |r| r.at),
                    column: row.map_or(e.field.clone(), |r| (r.column_of)(&e.field)),
                    message: e.message,
                });
            }
            return Ok(report);
        }
        Err(e) => return Err(e),
    }
    report.created = true;
    tracing::info!(
        poles = report.poles.len(),
        members = report.members,
        "poles and members imported"
    );
    Ok(report)
}

/// A value of a vocabulary from its identifier or its French or English label, ignoring
/// case and accents.
pub fn vocabulary<T: Copy>(
    all: &[T],
    value: &str,
    id: fn(T) -> &'static str,
    fr: fn(T) -> &'static str,
    en: fn(T) -> &'static str,
) -> Result<T, Message> {
    let value = value.trim();
    if let Some(v) = all.iter().find(|v| id(**v) == value) {
        return Ok(*v);
    }
    let folded = crate::domain::territory_ref::fold(value);
    all.iter()
        .find(|v| {
            [id(**v), fr(**v), en(**v)]
                .iter()
                .any(|l| crate::domain::territory_ref::fold(l) == folded)
        })
        .copied()
        .ok_or_else(|| {
            let known: Vec<&str> = all.iter().map(|v| id(*v)).collect();
            Message::new(Code::UnknownValueExpected)
                .arg("value", value)
                .arg("expected", known.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_from_names() {
        assert_eq!(
            slug_from_name("Pôle Économie Sociale d'Île-de-France"),
            "pole-economie-sociale-d-ile-de-france"
        );
        assert_eq!(slug_from_name("  L'Écluse  "), "l-ecluse");
        assert_eq!(slug_from_name("é"), "pole-e");
        assert_eq!(slug_from_name("!!!"), "pole");
        assert!(field::slug(&slug_from_name(&"Très long nom ".repeat(20))).is_ok());
    }

    #[test]
    fn formats_are_detected() {
        assert_eq!(
            PoleFormat::detect(b"\xEF\xBB\xBF {\"data\":[]}"),
            PoleFormat::GoGoCarto
        );
        assert_eq!(PoleFormat::detect(b"\n[]"), PoleFormat::GoGoCarto);
        assert_eq!(PoleFormat::detect(b"slug;name"), PoleFormat::Csv);
    }
}
