//! CSV (RFC 4180, UTF-8, header row) tables of poles and of their members, safe to open in a spreadsheet.
//!
//! Each table has two dialects: RFC 4180 (`,` between cells, `.` in decimals), for scripts,
//! and the one French spreadsheets open as they are (`;` between cells, `,` in decimals and a
//! byte-order mark, so that Excel reads UTF-8). The importers read both.

use super::PoleEntry;

/// How cells are separated and numbers written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// RFC 4180: `,` between cells, `.` in decimal numbers, no byte-order mark.
    #[default]
    Rfc4180,
    /// For spreadsheets set to French: `;` between cells, `,` in decimal numbers, and a
    /// UTF-8 byte-order mark first.
    French,
}

impl Dialect {
    /// The dialect a feed's `spreadsheet` parameter names: `fr`, or nothing for RFC 4180.
    pub fn from_parameter(value: Option<&str>) -> Option<Dialect> {
        match value {
            None => Some(Dialect::Rfc4180),
            Some("fr") => Some(Dialect::French),
            Some(_) => None,
        }
    }

    fn decimal(self, value: f64) -> String {
        let text = value.to_string();
        match self {
            Dialect::Rfc4180 => text,
            Dialect::French => text.replace('.', ","),
        }
    }
}

/// Neutralises a cell a spreadsheet would run as a formula (OWASP "CSV injection"): a leading
/// `=`, `+`, `-`, `@`, tab or carriage return gets a leading apostrophe.
pub fn safe_cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

/// Several values in one cell.
pub const LIST_SEPARATOR: &str = "|";

fn list<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    safe_cell(&values.into_iter().collect::<Vec<_>>().join(LIST_SEPARATOR))
}

fn opt(value: Option<&str>) -> String {
    value.map(safe_cell).unwrap_or_default()
}

fn writer(dialect: Dialect) -> csv::Writer<Vec<u8>> {
    let (delimiter, start) = match dialect {
        Dialect::Rfc4180 => (b',', Vec::new()),
        Dialect::French => (b';', "\u{feff}".as_bytes().to_vec()),
    };
    // RFC 4180 lines end with CRLF.
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .delimiter(delimiter)
        .from_writer(start)
}

fn finish(writer: csv::Writer<Vec<u8>>) -> Vec<u8> {
    // Flushing into memory cannot fail.
    writer.into_inner().unwrap_or_default()
}

pub const POLE_COLUMNS: &[&str] = &[
    "slug",
    "name",
    "url",
    "handle",
    "summary",
    "website",
    "contact_email",
    "legal_form",
    "siren",
    "founded_year",
    "territory_label",
    "territory_kind",
    "communes",
    "commune_names",
    "epci",
    "departements",
    "regions",
    "themes",
    "pooling",
    "members",
    "ess_members",
    "shared_place",
    "latitude",
    "longitude",
    "updated_at",
];

/// One row per pole, with its territory at every level and its member counts.
pub fn poles(entries: &[PoleEntry], dialect: Dialect) -> Vec<u8> {
    let mut w = writer(dialect);
    let reference = crate::domain::territory_ref::Reference::get();
    // Writing to memory cannot fail.
    let _ = w.write_record(POLE_COLUMNS);
    for entry in entries {
        let record = &entry.record;
        let pole = &record.pole;
        let territory = &pole.territory;
        let place = pole.shared_place.as_ref();
        let row = vec![
            safe_cell(&pole.slug),
            safe_cell(&pole.name),
            safe_cell(&record.ap_id),
            // A slug and a domain hold no operator or bracket: no formula can start here.
            format!("@{}@{}", pole.slug, record.domain),
            opt(pole.summary.as_deref()),
            opt(pole.website.as_deref()),
            opt(pole.contact_email.as_deref()),
            pole.legal_form
                .map(|f| f.id())
                .unwrap_or_default()
                .to_owned(),
            opt(pole.siren.as_deref()),
            pole.founded_year.map(|y| y.to_string()).unwrap_or_default(),
            opt(territory.label.as_deref()),
            territory
                .kind
                .map(|k| k.id())
                .unwrap_or_default()
                .to_owned(),
            list(territory.communes.iter().map(String::as_str)),
            list(
                territory
                    .communes
                    .iter()
                    .map(|c| reference.commune(c).map_or(c.as_str(), |c| c.name)),
            ),
            list(territory.epci_codes()),
            list(territory.departement_codes()),
            list(territory.region_codes()),
            list(pole.themes.iter().map(|t| t.id())),
            list(pole.pooling.iter().map(|k| k.id())),
            entry.members.len().to_string(),
            entry
                .members
                .iter()
                .filter(|m| m.member.ess)
                .count()
                .to_string(),
            place.map(|p| safe_cell(&p.one_line())).unwrap_or_default(),
            place
                .and_then(|p| p.latitude)
                .map(|v| dialect.decimal(v))
                .unwrap_or_default(),
            place
                .and_then(|p| p.longitude)
                .map(|v| dialect.decimal(v))
                .unwrap_or_default(),
            record.updated_at.to_rfc3339(),
        ];
        let _ = w.write_record(&row);
    }
    finish(w)
}

pub const MEMBER_COLUMNS: &[&str] = &[
    "pole_slug",
    "pole_name",
    "pole_url",
    "name",
    "legal_form",
    "legal_form_label",
    "ess",
    "employee_band",
    "role",
    "joined_year",
    "siret",
    "website",
];

/// One row per member of each pole.
pub fn members(entries: &[PoleEntry], dialect: Dialect) -> Vec<u8> {
    let mut w = writer(dialect);
    let _ = w.write_record(MEMBER_COLUMNS);
    for entry in entries {
        let record = &entry.record;
        for m in &entry.members {
            let member = &m.member;
            let row = vec![
                safe_cell(&record.pole.slug),
                safe_cell(&record.pole.name),
                safe_cell(&record.ap_id),
                safe_cell(&member.name),
                member.legal_form.id().to_owned(),
                member.legal_form.label_fr().to_owned(),
                if member.ess { "true" } else { "false" }.to_owned(),
                member
                    .employee_band
                    .map(|b| b.id())
                    .unwrap_or_default()
                    .to_owned(),
                opt(member.role.as_deref()),
                member
                    .joined_year
                    .map(|y| y.to_string())
                    .unwrap_or_default(),
                opt(member.siret.as_deref()),
                opt(member.website.as_deref()),
            ];
            let _ = w.write_record(&row);
        }
    }
    finish(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("+33 1 23"), "'+33 1 23");
        assert_eq!(safe_cell("-2+3"), "'-2+3");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("\tx"), "'\tx");
        assert_eq!(safe_cell("Pôle Sud"), "Pôle Sud");
        assert_eq!(safe_cell(""), "");
    }
}
