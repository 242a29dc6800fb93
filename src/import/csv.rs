//! Poles and members from CSV tables with the columns of `/feeds/poles.csv` and
//! `/feeds/members.csv`, in any order: comma-separated (as exported) or semicolon-separated
//! with a byte order mark (as French spreadsheets save them), told apart by the header.
//!
//! Columns the export derives (`url`, `handle`, `commune_names`, `epci`, `departements`,
//! `regions`, `members`, `ess_members`, `updated_at`, `pole_name`, `pole_url`,
//! `legal_form_label`) are accepted and not read: they are computed again.

use super::{File, Location, MemberRow, Parsed, PoleRow, vocabulary};
use crate::domain::place::PlaceInput;
use crate::domain::vocab::{EmployeeBand, LegalForm, PoolingKind, TerritoryKind, Theme};
use crate::domain::{Code, MemberInput, Message, PoleInput, TerritoryInput};
use crate::feeds::csv::{LIST_SEPARATOR, MEMBER_COLUMNS, POLE_COLUMNS};

const POLE_REQUIRED: &[&str] = &["slug", "name"];
const MEMBER_REQUIRED: &[&str] = &["pole_slug", "name", "legal_form"];

/// One row of a table: its line, and its cells by column name.
struct Row<'a> {
    line: u64,
    header: &'a [String],
    cells: Vec<String>,
}

impl Row<'_> {
    /// The cell of a column, trimmed, with the export's formula guard taken off; `None`
    /// when the column is absent or the cell blank.
    fn get(&self, column: &str) -> Option<String> {
        let i = self.header.iter().position(|h| h == column)?;
        let value = self.cells.get(i)?.trim();
        let value = match value.strip_prefix('\'') {
            Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
            _ => value,
        };
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// The values of a multi-valued cell (`a|b|c`).
    fn list(&self, column: &str) -> Vec<String> {
        self.get(column)
            .map(|v| {
                v.split(LIST_SEPARATOR)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A table's header, and its rows (not blank, as long as the header) with their lines.
type Table = (Vec<String>, Vec<(u64, Vec<String>)>);

/// Reads a table: checks its text and header, and gives its rows with their lines.
fn read_table(
    bytes: &[u8],
    file: File,
    columns: &[&str],
    required: &[&str],
    parsed: &mut Parsed,
) -> Option<Table> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let before = bytes.get(..e.valid_up_to()).unwrap_or_default();
            let line = 1 + before.iter().filter(|b| **b == b'\n').count() as u64;
            parsed.problem(file, Location::Line(line), "-", Code::ImportNotUtf8);
            return None;
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or_default();
    if first.trim().is_empty() {
        parsed.problem(
            file,
            Location::Line(1),
            "-",
            Message::new(Code::ImportNoHeader).arg("columns", columns.join(", ")),
        );
        return None;
    }
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                records.push((line, record.iter().map(str::to_owned).collect::<Vec<_>>()));
            }
            Err(e) => {
                let line = e.position().map_or(1, |p| p.line());
                parsed.problem(
                    file,
                    Location::Line(line),
                    "-",
                    Message::new(Code::ImportCsv).arg("detail", e),
                );
                break;
            }
        }
    }
    let mut records = records.into_iter();
    let (_, header) = records.next()?;
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() {
            parsed.problem(
                file,
                Location::Line(1),
                format!("column {}", i + 1),
                Code::ColumnUnnamed,
            );
        } else if !columns.contains(&name.as_str()) {
            parsed.problem(
                file,
                Location::Line(1),
                name.clone(),
                Message::new(Code::ColumnUnknown).arg("columns", columns.join(", ")),
            );
        } else if header[..i].contains(name) {
            parsed.problem(file, Location::Line(1), name.clone(), Code::ColumnTwice);
        }
    }
    for name in required {
        if !header.iter().any(|h| h == name) {
            parsed.problem(file, Location::Line(1), *name, Code::ColumnMissing);
        }
    }
    let mut rows = Vec::new();
    for (line, cells) in records {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if cells.len() != header.len() {
            parsed.problem(
                file,
                Location::Line(line),
                "-",
                Message::new(Code::CellCount)
                    .arg("count", cells.len())
                    .arg("expected", header.len()),
            );
            continue;
        }
        rows.push((line, cells));
    }
    Some((header, rows))
}

/// A vocabulary value of a cell, or its problem.
macro_rules! vocab {
    ($parsed:expr, $file:expr, $row:expr, $column:expr, $value:expr, $ty:ty) => {
        match vocabulary(
            <$ty>::ALL,
            &$value,
            <$ty>::id,
            <$ty>::label_fr,
            <$ty>::label_en,
        ) {
            Ok(v) => Some(v),
            Err(message) => {
                $parsed.problem($file, Location::Line($row.line), $column, message);
                None
            }
        }
    };
}

fn year(parsed: &mut Parsed, file: File, row: &Row, column: &str) -> Option<i32> {
    let value = row.get(column)?;
    match value.parse() {
        Ok(year) => Some(year),
        Err(_) => {
            parsed.problem(
                file,
                Location::Line(row.line),
                column,
                Message::new(Code::NotAYear).arg("value", value),
            );
            None
        }
    }
}

/// A decimal number, with a point or (as French spreadsheets write it) a comma.
pub fn number(value: &str) -> Result<f64, Message> {
    match value.trim().replace(',', ".").parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(Message::new(Code::NotANumber).arg("value", value)),
    }
}

fn coordinate(parsed: &mut Parsed, row: &Row, column: &str) -> Option<f64> {
    let value = row.get(column)?;
    match number(&value) {
        Ok(n) => Some(n),
        Err(message) => {
            parsed.problem(File::Poles, Location::Line(row.line), column, message);
            None
        }
    }
}

/// The shared place from its one-line address (`name, street, postal code locality`) as the
/// export writes it, and its coordinates.
pub fn place(
    line: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
) -> Option<PlaceInput> {
    if line.is_none() && latitude.is_none() && longitude.is_none() {
        return None;
    }
    let mut place = PlaceInput {
        latitude,
        longitude,
        ..Default::default()
    };
    let Some(line) = line else {
        return Some(place);
    };
    let mut parts: Vec<&str> = line.split(", ").collect();
    if let Some(last) = parts.last()
        && let Some((code, town)) = last.split_once(' ')
        && code.len() == 5
        && code.bytes().all(|b| b.is_ascii_digit())
    {
        place.postal_code = Some(code.to_owned());
        place.locality = Some(town.to_owned());
        parts.pop();
    }
    match parts.as_slice() {
        [] => {}
        [name] => place.name = Some((*name).to_owned()),
        [name, rest @ ..] => {
            place.name = Some((*name).to_owned());
            place.street = Some(rest.join(", "));
        }
    }
    Some(place)
}

/// The CSV column a field of [`PoleInput`] comes from.
fn pole_column(field: &str) -> String {
    let column = if field.starts_with("territory.communes") {
        "communes"
    } else if field == "territory.label" {
        "territory_label"
    } else if field == "territory.kind" {
        "territory_kind"
    } else if field == "shared_place.latitude" {
        "latitude"
    } else if field == "shared_place.longitude" {
        "longitude"
    } else if field.starts_with("shared_place") {
        "shared_place"
    } else {
        field
    };
    column.to_owned()
}

/// Reads a table of poles into `parsed`.
pub fn read_poles(bytes: &[u8], parsed: &mut Parsed) {
    let file = File::Poles;
    let Some((header, rows)) = read_table(bytes, file, POLE_COLUMNS, POLE_REQUIRED, parsed) else {
        return;
    };
    for (line, cells) in rows {
        let row = Row {
            line,
            header: &header,
            cells,
        };
        let mut input = PoleInput {
            slug: row.get("slug").unwrap_or_default(),
            name: row.get("name").unwrap_or_default(),
            summary: row.get("summary"),
            website: row.get("website"),
            contact_email: row.get("contact_email"),
            siren: row.get("siren"),
            founded_year: year(parsed, file, &row, "founded_year"),
            territory: TerritoryInput {
                communes: row.list("communes"),
                kind: None,
                label: row.get("territory_label"),
            },
            ..Default::default()
        };
        if let Some(v) = row.get("legal_form") {
            input.legal_form = vocab!(parsed, file, row, "legal_form", v, LegalForm);
        }
        if let Some(v) = row.get("territory_kind") {
            input.territory.kind = vocab!(parsed, file, row, "territory_kind", v, TerritoryKind);
        }
        for v in row.list("themes") {
            input
                .themes
                .extend(vocab!(parsed, file, row, "themes", v, Theme));
        }
        for v in row.list("pooling") {
            input
                .pooling
                .extend(vocab!(parsed, file, row, "pooling", v, PoolingKind));
        }
        let latitude = coordinate(parsed, &row, "latitude");
        let longitude = coordinate(parsed, &row, "longitude");
        input.shared_place = place(row.get("shared_place"), latitude, longitude);
        parsed.poles.push(PoleRow {
            at: Location::Line(line),
            input,
            slug_from_name: false,
            column_of: pole_column,
        });
    }
}

/// A pole named by its slug or by its handle (`@slug@domain`).
pub fn pole_slug(value: &str) -> String {
    let value = value.trim();
    match value.strip_prefix('@') {
        Some(handle) => handle.split('@').next().unwrap_or_default().to_owned(),
        None => value.to_owned(),
    }
}

fn boolean(value: &str) -> Option<bool> {
    match value.trim().to_lowercase().as_str() {
        "true" | "vrai" | "oui" | "yes" | "1" => Some(true),
        "false" | "faux" | "non" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// Reads a table of members into `parsed`.
pub fn read_members(bytes: &[u8], parsed: &mut Parsed) {
    let file = File::Members;
    let Some((header, rows)) = read_table(bytes, file, MEMBER_COLUMNS, MEMBER_REQUIRED, parsed)
    else {
        return;
    };
    for (line, cells) in rows {
        let row = Row {
            line,
            header: &header,
            cells,
        };
        let mut input = MemberInput {
            name: row.get("name").unwrap_or_default(),
            siret: row.get("siret"),
            website: row.get("website"),
            role: row.get("role"),
            joined_year: year(parsed, file, &row, "joined_year"),
            ..Default::default()
        };
        if let Some(v) = row.get("legal_form") {
            input.legal_form = vocab!(parsed, file, row, "legal_form", v, LegalForm);
        }
        if let Some(v) = row.get("employee_band") {
            input.employee_band = vocab!(parsed, file, row, "employee_band", v, EmployeeBand);
        }
        if let Some(v) = row.get("ess") {
            input.ess = boolean(&v);
            if input.ess.is_none() {
                parsed.problem(
                    file,
                    Location::Line(line),
                    "ess",
                    Message::new(Code::NotBoolean).arg("value", v),
                );
            }
        }
        parsed.members.push(MemberRow {
            at: Location::Line(line),
            pole: pole_slug(&row.get("pole_slug").unwrap_or_default()),
            input,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_addresses_are_read_back() {
        let p = place(
            Some("La Fabrique, 3 rue du Port, 35600 Redon".into()),
            None,
            None,
        )
        .unwrap();
        assert_eq!(p.name.as_deref(), Some("La Fabrique"));
        assert_eq!(p.street.as_deref(), Some("3 rue du Port"));
        assert_eq!(p.postal_code.as_deref(), Some("35600"));
        assert_eq!(p.locality.as_deref(), Some("Redon"));
        assert_eq!(place(None, None, None), None);
    }

    #[test]
    fn semicolons_and_byte_order_marks_are_read() {
        let mut parsed = Parsed::default();
        read_poles(
            "\u{feff}slug;name;latitude;longitude;themes\r\nredon;Pôle de Redon;47,65;-2,08;mobility|Numérique\r\n"
                .as_bytes(),
            &mut parsed,
        );
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let pole = &parsed.poles[0].input;
        assert_eq!(pole.name, "Pôle de Redon");
        assert_eq!(pole.themes, vec![Theme::Mobility, Theme::Digital]);
        let place = pole.shared_place.as_ref().unwrap();
        assert_eq!(
            (place.latitude, place.longitude),
            (Some(47.65), Some(-2.08))
        );
    }

    #[test]
    fn header_problems_are_named() {
        let mut parsed = Parsed::default();
        read_members(b"name,colour,name\n", &mut parsed);
        let columns: Vec<&str> = parsed.problems.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(columns, vec!["colour", "name", "pole_slug", "legal_form"]);
    }
}
