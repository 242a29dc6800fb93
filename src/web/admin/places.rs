//! Territories and places in the administration's forms: communes typed as codes, postal
//! codes or names and read back to INSEE codes, what the reference data says of a territory,
//! and a place's fields. Every commune kept is one the reference data knows.

use super::forms::{Field, FormData, opt_num, opt_str};
use crate::domain::place::PlaceInput;
use crate::domain::territory_ref::Reference;
use crate::domain::vocab::TerritoryKind;
use crate::domain::{Code, Message, TerritoryInput, ValidationErrors};
use crate::web::pages::Lang;
use crate::web::pages::facts::Fact;

/// Reads what a person typed for the communes of a territory: INSEE codes, postal codes or
/// names, one per line or separated by `;`. Each must designate one commune.
pub fn resolve_communes(text: &str, errors: &mut ValidationErrors, field: &str) -> Vec<String> {
    let reference = Reference::get();
    let mut out: Vec<String> = Vec::new();
    for entry in text
        .split(['\n', ';'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        // "Name (code)" is how the form shows a commune back; a bare number is more often a
        // postal code than an INSEE code for the people who type it, so postal codes win.
        let in_brackets = entry
            .rsplit_once('(')
            .and_then(|(_, rest)| rest.strip_suffix(')'))
            .and_then(|code| reference.commune(&code.trim().to_ascii_uppercase()));
        let by_postal_code: Vec<crate::domain::territory_ref::Commune> = reference
            .search_communes(entry, 20)
            .into_iter()
            .filter(|c| c.postal_codes.contains(entry))
            .collect();
        let found: Vec<crate::domain::territory_ref::Commune> = if let Some(c) = in_brackets {
            vec![c]
        } else if !by_postal_code.is_empty() {
            by_postal_code
        } else if let Some(c) = reference.commune(&entry.to_ascii_uppercase()) {
            vec![c]
        } else {
            let candidates = reference.search_communes(entry, 6);
            let folded = crate::domain::territory_ref::fold(entry);
            let exact: Vec<_> = candidates
                .iter()
                .copied()
                .filter(|c| crate::domain::territory_ref::fold(c.name) == folded)
                .collect();
            if exact.is_empty() { candidates } else { exact }
        };
        match found.as_slice() {
            [one] => {
                if !out.iter().any(|c| c == one.code) {
                    out.push(one.code.to_owned());
                }
            }
            [] => errors.add(
                field,
                Message::new(Code::CommuneNotFound).arg("value", entry),
            ),
            many => errors.add(
                field,
                Message::new(Code::AmbiguousCommune)
                    .arg("value", entry)
                    .arg(
                        "candidates",
                        many.iter()
                            .map(|c| format!("{} ({})", c.name, c.code))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
            ),
        }
    }
    out
}

/// The communes of a territory as the form shows them: `Name (code)`, one per line.
pub fn communes_text(codes: &[String]) -> String {
    let reference = Reference::get();
    codes
        .iter()
        .map(|code| match reference.commune(code) {
            Some(c) => format!("{} ({})", c.name, c.code),
            None => code.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the reference data says about a territory: its EPCI, départements and régions.
pub fn territory_notes(territory: &TerritoryInput, lang: Lang) -> Vec<Fact> {
    let Ok(t) = territory.validate() else {
        return Vec::new();
    };
    let view = t.view();
    let join = |areas: &[crate::domain::territory::NamedArea]| {
        areas
            .iter()
            .map(|a| format!("{} ({})", a.name, a.code))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut notes = Vec::new();
    for (key, areas) in [
        ("pole.communes", &view.communes),
        ("pole.epcis", &view.epcis),
        ("pole.departements", &view.departements),
        ("pole.regions", &view.regions),
    ] {
        if !areas.is_empty() {
            notes.push(Fact {
                label: lang.t(key),
                value: join(areas),
                href: None,
            });
        }
    }
    notes
}

/// A territory's fields (communes, kind, name), named under `territory.`, with the communes
/// as the form shows them (`communes`, see [`communes_text`]).
pub fn territory_fields(territory: &TerritoryInput, communes: &str, lang: Lang) -> Vec<Field> {
    vec![
        Field::new(
            "territory.communes",
            lang.t("pole.communes"),
            "textarea",
            communes.to_owned(),
        )
        .help(lang.t("admin.communes_help")),
        Field::select(
            "territory.kind",
            lang.t("pole.territory_kind"),
            TerritoryKind::ALL,
            TerritoryKind::id,
            territory.kind.map(TerritoryKind::id).unwrap_or_default(),
            lang,
        ),
        Field::new(
            "territory.label",
            lang.t("admin.territory_label"),
            "text",
            opt_str(&territory.label),
        )
        .help(lang.t("admin.territory_label_help")),
    ]
}

/// What was typed for a territory, and the communes as typed (to show them again).
pub fn read_territory(form: &FormData, e: &mut ValidationErrors) -> (TerritoryInput, String) {
    let communes = form.get("territory.communes");
    let territory = TerritoryInput {
        communes: resolve_communes(&communes, e, "territory.communes"),
        kind: form.vocab("territory.kind", TerritoryKind::from_id, e),
        label: form.opt("territory.label"),
    };
    (territory, communes)
}

pub fn place_fields(prefix: &str, place: Option<&PlaceInput>, lang: Lang) -> Vec<Field> {
    let empty = PlaceInput::default();
    let p = place.unwrap_or(&empty);
    let name = |n: &str| format!("{prefix}.{n}");
    vec![
        Field::new(
            &name("name"),
            lang.t("admin.place_name"),
            "text",
            opt_str(&p.name),
        ),
        Field::new(
            &name("street"),
            lang.t("admin.place_street"),
            "text",
            opt_str(&p.street),
        ),
        Field::new(
            &name("postal_code"),
            lang.t("admin.place_postal_code"),
            "text",
            opt_str(&p.postal_code),
        ),
        Field::new(
            &name("commune"),
            lang.t("admin.place_commune"),
            "text",
            p.commune
                .as_deref()
                .map(|c| communes_text(&[c.to_owned()]))
                .unwrap_or_default(),
        )
        .help(lang.t("admin.place_commune_help")),
        Field::new(
            &name("locality"),
            lang.t("admin_fields.locality"),
            "text",
            own_locality(p),
        )
        .help(lang.t("admin_fields.locality_help")),
        Field::new(
            &name("latitude"),
            lang.t("admin.place_latitude"),
            "number",
            opt_num(p.latitude),
        ),
        Field::new(
            &name("longitude"),
            lang.t("admin.place_longitude"),
            "number",
            opt_num(p.longitude),
        ),
    ]
}

pub fn read_place(form: &FormData, prefix: &str, e: &mut ValidationErrors) -> Option<PlaceInput> {
    let name = |n: &str| format!("{prefix}.{n}");
    let commune_text = form.get(&name("commune"));
    let commune = if commune_text.is_empty() {
        None
    } else {
        resolve_communes(&commune_text, e, &name("commune"))
            .into_iter()
            .next()
    };
    let place = PlaceInput {
        name: form.opt(&name("name")),
        street: form.opt(&name("street")),
        postal_code: form.opt(&name("postal_code")),
        locality: form.opt(&name("locality")),
        commune,
        latitude: form.number(&name("latitude"), e),
        longitude: form.number(&name("longitude"), e),
    };
    (place != PlaceInput::default()).then_some(place)
}

/// The place's locality when it is not just its commune's name (which fills it when left
/// empty), so that a changed commune does not keep the old one's name.
fn own_locality(place: &PlaceInput) -> String {
    let commune_name = place
        .commune
        .as_deref()
        .and_then(|c| Reference::get().commune(c))
        .map(|c| c.name);
    match (&place.locality, commune_name) {
        (Some(l), Some(name)) if l == name => String::new(),
        (l, _) => opt_str(l),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn communes_are_found_by_code_postal_code_or_name() {
        let mut e = ValidationErrors::new();
        let codes = resolve_communes("Lyon (69123)\nVilleurbanne; 69120", &mut e, "c");
        assert!(e.is_empty(), "{e}");
        assert_eq!(codes, vec!["69123", "69266", "69256"]);
        let mut e = ValidationErrors::new();
        resolve_communes("Nulle-Part-Sur-Rien", &mut e, "c");
        assert_eq!(e.fields(), vec!["c"]);
    }
}
