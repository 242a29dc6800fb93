//! Poles from a GoGoCarto or Transiscope JSON export (`{"data": [elements]}` or a bare
//! array of elements), ours of `/feeds/gogocarto.json` included.
//!
//! What maps onto a pole is read: `name`, `description` (the summary; a longer one becomes
//! the description), `descriptionMore`, `website`, `email`, `telephone`, `geo`, `address`,
//! `categories`/`categoriesFull` (the themes whose label they match), and from our own
//! export `fediverse` (the slug), `themes` and `pooling`. The element's metadata (`id`,
//! `sourceKey`, `status`, `createdAt`, `updatedAt`) and what our export derives (`members`,
//! `departements`, `regions`) are not read; anything else is listed as a warning of its
//! element. A pole without a `fediverse` handle gets a slug made from its name.

use serde_json::{Map, Value};

use super::{File, Location, Parsed, PoleRow, csv::number, slug_from_name, vocabulary};
use crate::domain::check::MAX_SUMMARY;
use crate::domain::place::PlaceInput;
use crate::domain::territory_ref::{Reference, fold};
use crate::domain::vocab::{PoolingKind, TextFormat, Theme};
use crate::domain::{Code, Message, PoleInput, TerritoryInput};

/// Fields read elsewhere or on purpose not read.
const SKIPPED: &[&str] = &[
    "id",
    "sourceKey",
    "status",
    "createdAt",
    "updatedAt",
    "members",
    "departements",
    "regions",
];

/// The JSON field a field of [`PoleInput`] comes from.
fn element_field(field: &str) -> String {
    let path = match field {
        "slug" => "fediverse",
        "name" => "name",
        "summary" => "description",
        "description" => "descriptionMore",
        "contact_email" => "email",
        "contact_phone" => "telephone",
        "shared_place.latitude" => "geo.latitude",
        "shared_place.longitude" => "geo.longitude",
        "shared_place.street" => "address.streetAddress",
        "shared_place.postal_code" => "address.postalCode",
        "shared_place.name" => "address.customFormatedAddress",
        f if f.starts_with("shared_place") || f.starts_with("territory") => {
            "address.addressLocality"
        }
        f => f,
    };
    path.to_owned()
}

/// Reading one element, with its index for problems and warnings.
struct Element<'a> {
    index: usize,
    object: &'a Map<String, Value>,
    parsed: &'a mut Parsed,
}

impl Element<'_> {
    fn at(&self) -> Location {
        Location::Element(self.index)
    }

    fn problem(&mut self, path: &str, message: impl Into<Message>) {
        let at = self.at();
        self.parsed.problem(File::Poles, at, path, message);
    }

    fn warning(&mut self, path: &str, message: impl Into<Message>) {
        let at = self.at();
        self.parsed.warning(File::Poles, at, path, message);
    }

    /// A text at `path` in `object`: absent when null or blank, a problem when not a text
    /// (a number is taken as its digits).
    fn text_in(&mut self, object: &Map<String, Value>, key: &str, path: &str) -> Option<String> {
        match object.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                self.problem(path, Code::MustBeText);
                None
            }
        }
    }

    fn text(&mut self, key: &str) -> Option<String> {
        let object = self.object;
        self.text_in(object, key, key)
    }

    fn coordinate(&mut self, geo: &Map<String, Value>, key: &str) -> Option<f64> {
        let path = format!("geo.{key}");
        match geo.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => match number(s) {
                Ok(n) => Some(n),
                Err(message) => {
                    self.problem(&path, message);
                    None
                }
            },
            Some(_) => {
                self.problem(&path, Code::MustBeNumber);
                None
            }
        }
    }

    /// The texts of an array of texts (or of objects with a `name`, as `categoriesFull`).
    fn texts(&mut self, key: &str) -> Vec<String> {
        let object = self.object;
        match object.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.trim().to_owned()),
                        Value::Object(o) => match o.get("name") {
                            Some(Value::String(s)) => out.push(s.trim().to_owned()),
                            _ => self.problem(&format!("{key}[{i}].name"), Code::MustBeText),
                        },
                        _ => self.problem(&format!("{key}[{i}]"), Code::MustBeText),
                    }
                }
                out
            }
            Some(Value::String(s)) => s
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            Some(_) => {
                self.problem(key, Code::MustBeTextList);
                Vec::new()
            }
        }
    }
}

/// The commune a locality (and postal code) names, when one matches.
fn commune(locality: &str, postal_code: Option<&str>) -> Option<String> {
    let reference = Reference::get();
    let wanted = fold(locality);
    let query = postal_code.unwrap_or(locality);
    let found: Vec<_> = reference
        .search_communes(query, 50)
        .into_iter()
        .filter(|c| fold(c.name) == wanted)
        .collect();
    match found.as_slice() {
        [one] => Some(one.code.to_owned()),
        _ => None,
    }
}

/// The shared place and the territory of an element's `geo` and `address`.
fn place(element: &mut Element, input: &mut PoleInput) {
    let mut place = PlaceInput::default();
    let object = element.object;
    if let Some(geo) = object.get("geo") {
        match geo {
            Value::Null => {}
            Value::Object(geo) => {
                place.latitude = element.coordinate(geo, "latitude");
                place.longitude = element.coordinate(geo, "longitude");
            }
            _ => element.problem("geo", Code::GeoObject),
        }
    }
    let empty = Map::new();
    let address = match object.get("address") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(a)) => a,
        Some(Value::String(s)) => {
            place.street = Some(s.trim().to_owned()).filter(|s| !s.is_empty());
            &empty
        }
        Some(_) => {
            element.problem("address", Code::AddressObject);
            &empty
        }
    };
    let street = element.text_in(address, "streetAddress", "address.streetAddress");
    let locality = element.text_in(address, "addressLocality", "address.addressLocality");
    let postal_code = element.text_in(address, "postalCode", "address.postalCode");
    let formatted = element.text_in(
        address,
        "customFormatedAddress",
        "address.customFormatedAddress",
    );
    if let Some(country) = element.text_in(address, "addressCountry", "address.addressCountry")
        && !["fr", "france"].contains(&fold(&country).as_str())
    {
        element.warning(
            "address.addressCountry",
            Message::new(Code::NotFrance).arg("value", country),
        );
    }
    for key in address.keys() {
        if ![
            "streetAddress",
            "addressLocality",
            "postalCode",
            "customFormatedAddress",
            "addressCountry",
        ]
        .contains(&key.as_str())
        {
            element.warning(&format!("address.{key}"), Code::FieldNotImported);
        }
    }
    let mut matched = false;
    if let Some(locality) = &locality {
        match commune(locality, postal_code.as_deref()) {
            Some(code) => {
                input.territory.communes = vec![code];
                matched = true;
            }
            None => element.warning(
                "address.addressLocality",
                Message::new(Code::LocalityUnmatched).arg("value", locality),
            ),
        }
    }
    // A locality alone names the territory (our export writes it so for a pole whose
    // place has no address), unless no commune matches it.
    let only_locality =
        street.is_none() && postal_code.is_none() && formatted.is_none() && place.street.is_none();
    if only_locality && matched {
        if place.latitude.is_some() || place.longitude.is_some() {
            input.shared_place = Some(place);
        }
        return;
    }
    if only_locality && locality.is_none() && place.latitude.is_none() && place.longitude.is_none()
    {
        return;
    }
    place.street = street.or(place.street);
    place.postal_code = postal_code;
    place.locality = locality;
    // The formatted address is the place's one line: what it holds before the street
    // and town is the place's name.
    if let Some(formatted) = formatted {
        let rest = PlaceInput {
            name: None,
            ..place.clone()
        };
        let tail = crate::domain::place::Place {
            name: None,
            street: rest.street,
            postal_code: rest.postal_code,
            locality: rest.locality,
            commune: None,
            latitude: None,
            longitude: None,
        }
        .one_line();
        if tail.is_empty() {
            place.name = Some(formatted);
        } else if let Some(name) = formatted.strip_suffix(&format!(", {tail}")) {
            place.name = Some(name.to_owned());
        } else if formatted != tail && place.street.is_none() {
            place.street = Some(formatted);
        }
    }
    input.shared_place = Some(place);
}

fn element(element: &mut Element) -> PoleInput {
    let mut input = PoleInput {
        name: element.text("name").unwrap_or_default(),
        website: element.text("website"),
        contact_email: element.text("email"),
        contact_phone: element.text("telephone"),
        territory: TerritoryInput::default(),
        ..Default::default()
    };
    let summary = element.text("description");
    input.description = element.text("descriptionMore");
    if input.description.is_some() {
        input.description_format = Some(TextFormat::Html);
    }
    match summary {
        Some(s) if s.chars().count() > MAX_SUMMARY && input.description.is_none() => {
            element.warning(
                "description",
                Message::new(Code::SummaryKeptAsDescription).arg("max", MAX_SUMMARY),
            );
            input.description = Some(s);
        }
        s => input.summary = s,
    }
    if let Some(handle) = element.text("fediverse") {
        input.slug = super::csv::pole_slug(&handle);
    }
    let themes = element.texts("themes");
    if themes.is_empty() {
        let mut categories = element.texts("categories");
        if categories.is_empty() {
            categories = element.texts("categoriesFull");
        }
        for category in categories {
            match vocabulary(
                Theme::ALL,
                &category,
                Theme::id,
                Theme::label_fr,
                Theme::label_en,
            ) {
                Ok(theme) => input.themes.push(theme),
                Err(_) => element.warning(
                    "categories",
                    Message::new(Code::CategoryNotTheme).arg("value", category),
                ),
            }
        }
    } else {
        for (i, theme) in themes.iter().enumerate() {
            match Theme::from_id(theme) {
                Some(t) => input.themes.push(t),
                None => element.problem(
                    &format!("themes[{i}]"),
                    Message::new(Code::UnknownTheme).arg("value", theme),
                ),
            }
        }
    }
    for kind in element.texts("pooling") {
        match vocabulary(
            PoolingKind::ALL,
            &kind,
            PoolingKind::id,
            PoolingKind::label_fr,
            PoolingKind::label_en,
        ) {
            Ok(k) => input.pooling.push(k),
            Err(_) => element.warning(
                "pooling",
                Message::new(Code::PoolingNotImported).arg("value", kind),
            ),
        }
    }
    place(element, &mut input);
    let read = [
        "name",
        "website",
        "email",
        "telephone",
        "description",
        "descriptionMore",
        "fediverse",
        "themes",
        "categories",
        "categoriesFull",
        "pooling",
        "geo",
        "address",
    ];
    let unread: Vec<String> = element
        .object
        .iter()
        .filter(|(k, v)| {
            !read.contains(&k.as_str())
                && !SKIPPED.contains(&k.as_str())
                && !matches!(v, Value::Null)
                && v.as_str().is_none_or(|s| !s.trim().is_empty())
                && v.as_array().is_none_or(|a| !a.is_empty())
        })
        .map(|(k, _)| k.clone())
        .collect();
    for key in unread {
        element.warning(&key, Code::FieldNotImported);
    }
    input
}

/// Reads a GoGoCarto JSON export of poles into `parsed`.
pub fn read(bytes: &[u8], parsed: &mut Parsed) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            parsed.problem(
                File::Poles,
                Location::Line(e.line() as u64),
                format!("column {}", e.column()),
                Message::new(Code::NotJson).arg("detail", e),
            );
            return;
        }
    };
    let items = match &value {
        Value::Array(items) => items,
        Value::Object(root) => match root.get("data") {
            Some(Value::Array(items)) => items,
            _ => {
                parsed.problem(File::Poles, Location::Line(1), "data", Code::GogocartoShape);
                return;
            }
        },
        _ => {
            parsed.problem(File::Poles, Location::Line(1), "data", Code::GogocartoShape);
            return;
        }
    };
    for (index, item) in items.iter().enumerate() {
        let Value::Object(object) = item else {
            parsed.problem(
                File::Poles,
                Location::Element(index),
                "-",
                Code::ElementNotObject,
            );
            continue;
        };
        let mut reading = Element {
            index,
            object,
            parsed,
        };
        let mut input = element(&mut reading);
        let derived = input.slug.is_empty();
        if derived {
            input.slug = slug_from_name(&input.name);
        }
        parsed.poles.push(PoleRow {
            at: Location::Element(index),
            input,
            slug_from_name: derived,
            column_of: element_field,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_element_maps_onto_a_pole() {
        let mut parsed = Parsed::default();
        read(
            br#"{"data":[{"id":"x","name":"Les Ateliers du Lac","geo":{"latitude":45.9,"longitude":"6,13"},
            "address":{"streetAddress":"2 rue du Lac","addressLocality":"Annecy","postalCode":"74000","addressCountry":"FR"},
            "categories":["Mobilite","Tricot"],"email":"bonjour@ateliers.example","openHours":{"Mo":"9-12"}}]}"#,
            &mut parsed,
        );
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let row = &parsed.poles[0];
        assert!(row.slug_from_name);
        assert_eq!(row.input.slug, "les-ateliers-du-lac");
        assert_eq!(row.input.themes, vec![Theme::Mobility]);
        assert_eq!(row.input.territory.communes, vec!["74010".to_owned()]);
        let place = row.input.shared_place.as_ref().unwrap();
        assert_eq!(place.longitude, Some(6.13));
        let warned: Vec<&str> = parsed.warnings.iter().map(|w| w.column.as_str()).collect();
        assert_eq!(warned, vec!["categories", "openHours"]);
    }
}
