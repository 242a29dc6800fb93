//! Events of other event software, Mobilizon and Gancio, read from their `Event`s as
//! Maillage events (the organiser, a Mobilizon group or a Gancio instance, is kept as an
//! organiser that is not a pole; see `activities::create`).

use serde_json::Value;
use url::Url;

use super::json::{first_id, plain, type_of};
use super::note::maillage_kind;
use crate::domain::check::{MAX_DESCRIPTION, MAX_NAME, MAX_SUMMARY};
use crate::domain::event::{EventInput, MAX_CAPACITY};
use crate::domain::place::PlaceInput;
use crate::domain::vocab::{EventStatus, TextFormat};
use crate::domain::{Event, ValidationErrors};

/// Whether a document is an `Event` of other software, not one of a Maillage pole.
pub fn is_foreign_event(doc: &Value) -> bool {
    type_of(doc) == "Event" && maillage_kind(doc).is_none()
}

/// The actor that organises a foreign event: `attributedTo` (a Mobilizon group, a Gancio
/// instance), or else its `actor` (a Mobilizon person organising alone).
pub fn organiser_of(doc: &Value) -> Option<&str> {
    doc.get("attributedTo")
        .and_then(first_id)
        .or_else(|| doc.get("actor").and_then(first_id))
}

fn text<'a>(doc: &'a Value, field: &str) -> Option<&'a str> {
    doc.get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// At most `max` characters of `s`.
fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn web_url(value: Option<&Value>) -> Option<String> {
    value
        .and_then(first_id)
        .and_then(|u| Url::parse(u).ok())
        .filter(|u| matches!(u.scheme(), "https" | "http"))
        .map(String::from)
}

fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A place as Mobilizon (a `Place` with a schema.org `PostalAddress`) or Gancio (a name and
/// an address written in one string) describe it; parts Maillage cannot hold, such as a
/// postal code of another country, are left out rather than refusing the event.
fn place(location: &Value) -> Option<PlaceInput> {
    let (street, postal_code, locality) = match location.get("address") {
        Some(Value::String(s)) => (Some(s.trim().to_owned()), None, None),
        Some(address @ Value::Object(_)) => (
            text(address, "streetAddress").map(str::to_owned),
            text(address, "postalCode")
                .filter(|p| p.len() == 5 && p.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned),
            text(address, "addressLocality").map(str::to_owned),
        ),
        _ => (None, None, None),
    };
    let (latitude, longitude) = match (
        number(location.get("latitude")),
        number(location.get("longitude")),
    ) {
        (Some(lat), Some(lon))
            if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) =>
        {
            (Some(lat), Some(lon))
        }
        _ => (None, None),
    };
    let input = PlaceInput {
        name: text(location, "name").map(|n| clip(n, MAX_NAME)),
        street: street.filter(|s| !s.is_empty()).map(|s| clip(&s, MAX_NAME)),
        postal_code,
        locality: locality.map(|l| clip(&l, MAX_NAME)),
        commune: None,
        latitude,
        longitude,
    };
    let empty = input.name.is_none()
        && input.street.is_none()
        && input.locality.is_none()
        && input.latitude.is_none();
    (!empty).then_some(input)
}

/// An event's online link: in a `VirtualLocation` (FEP-8a8e), or else a `Link` attachment,
/// as Mobilizon's online address and Gancio's online locations are.
pub(crate) fn online_link(doc: &Value, locations: &[&Value]) -> Option<String> {
    locations
        .iter()
        .filter(|l| type_of(l) == "VirtualLocation")
        .find_map(|l| web_url(l.get("url")))
        .or_else(|| {
            doc.get("attachment")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|a| type_of(a) == "Link")
                .find_map(|a| web_url(a.get("href")))
        })
}

/// Reads a Mobilizon or Gancio `Event` as a Maillage event.
pub fn parse_foreign_event(doc: &Value) -> Result<Event, String> {
    let id = first_id(doc).ok_or("the event has no `id`")?;
    let title = plain(doc.get("name")).ok_or("the event has no `name`")?;
    let starts_at = text(doc, "startTime").ok_or("the event has no `startTime`")?;
    let locations: Vec<&Value> = match doc.get("location") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    };
    let place = locations
        .iter()
        .filter(|l| type_of(l) != "VirtualLocation")
        .find_map(|l| place(l));
    let online_url = online_link(doc, &locations);
    let status = match doc
        .get("status")
        .or_else(|| doc.get("ical:status"))
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("CANCELLED") => EventStatus::Cancelled,
        _ => EventStatus::Scheduled,
    };
    let capacity = doc
        .get("maximumAttendeeCapacity")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
        .filter(|c| (1..=MAX_CAPACITY).contains(c));
    let description = text(doc, "content").map(|c| {
        // Cut on a character boundary; the sanitiser closes what the cut leaves open.
        let mut end = c.len().min(MAX_DESCRIPTION);
        while !c.is_char_boundary(end) {
            end -= 1;
        }
        c[..end].to_owned()
    });
    let mut event = EventInput {
        title: clip(&title, MAX_NAME),
        summary: plain(doc.get("summary")).map(|s| clip(&s, MAX_SUMMARY)),
        description_format: description.as_ref().map(|_| TextFormat::Html),
        description,
        starts_at: starts_at.to_owned(),
        ends_at: text(doc, "endTime").map(str::to_owned),
        timezone: text(doc, "timezone")
            .filter(|tz| tz.parse::<chrono_tz::Tz>().is_ok())
            .map(str::to_owned),
        place,
        online_url,
        organiser_poles: Vec::new(),
        registration_url: None,
        capacity,
        status: Some(status),
        themes: Vec::new(),
    }
    .validate()
    .map_err(|e: ValidationErrors| format!("the event does not hold: {e}"))?;
    event.source_url = web_url(doc.get("url")).filter(|u| u != id);
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_gancio_event_with_an_address_in_one_string() {
        let doc = json!({
            "id": "https://gancio.example/federation/m/3",
            "type": "Event",
            "name": "Ciné-débat",
            "url": "https://gancio.example/event/cine-debat",
            "startTime": "2027-03-04T20:00:00.000+01:00",
            "location": {"type": "Place", "name": "Le Local", "address": "3 rue Haute, Redon",
                         "latitude": "47.65", "longitude": "-2.08"},
            "attachment": [{"type": "Link", "mediaType": "text/html", "name": "https://visio.example/x",
                            "href": "https://visio.example/x"}],
            "content": "<p>Entrée libre<script>alert(1)</script></p>",
            "attributedTo": "https://gancio.example/federation/u/gancio",
        });
        let event = parse_foreign_event(&doc).expect("an event");
        let place = event.place.expect("a place");
        assert_eq!(place.street.as_deref(), Some("3 rue Haute, Redon"));
        assert_eq!(place.latitude, Some(47.65));
        assert_eq!(event.online_url.as_deref(), Some("https://visio.example/x"));
        assert_eq!(event.timezone, "Europe/Paris");
        assert_eq!(event.starts_at.to_rfc3339(), "2027-03-04T19:00:00+00:00");
        assert_eq!(
            event.source_url.as_deref(),
            Some("https://gancio.example/event/cine-debat")
        );
        let html = event.description.expect("a description").html;
        assert!(
            html.contains("Entrée libre") && !html.contains("script"),
            "{html}"
        );
    }

    #[test]
    fn an_event_without_place_or_link_is_refused() {
        let doc = json!({
            "id": "https://mobilizon.example/events/1",
            "type": "Event",
            "name": "Quelque part",
            "startTime": "2027-03-04T20:00:00Z",
        });
        let error = parse_foreign_event(&doc).expect_err("no place");
        assert!(error.contains("place"), "{error}");
    }

    #[test]
    fn organisers_are_the_attributed_actor_first() {
        let doc = json!({"attributedTo": "https://m.example/@group", "actor": "https://m.example/@person"});
        assert_eq!(organiser_of(&doc), Some("https://m.example/@group"));
        let doc = json!({"actor": "https://m.example/@person"});
        assert_eq!(organiser_of(&doc), Some("https://m.example/@person"));
    }
}
