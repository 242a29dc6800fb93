//! An event on the wire: an `Event` after FEP-8a8e written from the stored event, with its
//! dates and place in `summary` for Mastodon, and read back from another Maillage instance.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::foreign_event::online_link;
use super::group::{ApPlace, place_input};
use super::html;
use super::json::{invalid, type_of};
use super::note::{
    Author, ObjectCommon, RemoteCommon, Texts, base_of, common, format_of, hashtag_line, paragraph,
};
use crate::domain::Event;
use crate::domain::event::EventInput;
use crate::domain::place::Place;
use crate::domain::text::escape_html as escape;
use crate::domain::vocab::EventStatus;
use crate::store::ObjectRecord;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VirtualLocation {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: Url,
}

/// An event, after FEP-8a8e.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApEvent {
    #[serde(flatten)]
    pub common: ObjectCommon,
    pub summary: String,
    /// `event`: what this object is for Maillage instances.
    pub ptce_kind: String,
    pub start_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    pub timezone: String,
    /// The `Place`, or the `VirtualLocation` of an online-only event: one object, not a
    /// list, which Mobilizon cannot read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Value>,
    /// The online link again as Mobilizon's online address (a `Link` named `Website`),
    /// where Mobilizon and Gancio read it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachment: Vec<Value>,
    pub organizer: Vec<Url>,
    pub event_status: EventStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_url: Option<Url>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_attendee_capacity: Option<u32>,
}

/// Actor ids of an event's co-organising poles, which are poles of this instance.
pub fn organiser_ids(store: &crate::store::Store, event: &Event) -> Vec<String> {
    event
        .organiser_poles
        .iter()
        .map(|slug| store.url(&format!("/poles/{slug}")))
        .collect()
}

fn place_line(place: &Place) -> String {
    place.one_line()
}

pub fn event_object(
    record: &ObjectRecord<Event>,
    author: &Author<'_>,
) -> Result<ApEvent, url::ParseError> {
    let e = &record.data;
    let mut lines = Vec::new();
    if e.status != EventStatus::Scheduled {
        lines.push(e.status.label_fr().to_uppercase());
    }
    lines.push(e.when_in_french());
    if let Some(place) = &e.place {
        lines.push(place_line(place));
    }
    let mut facts: Vec<String> = lines.iter().map(|l| escape(l)).collect();
    if let Some(online) = &e.online_url {
        facts.push(format!("En ligne : {}", html::url_link(online)));
    }
    if let Some(registration) = &e.registration_url {
        facts.push(format!("Inscription : {}", html::url_link(registration)));
    }
    let tags = hashtag_line(&base_of(record), &e.themes);
    let summary = format!(
        "<p>{}</p>{}{tags}",
        facts.join("<br>"),
        paragraph(&e.summary)
    );
    let content = format!(
        "<p>{}</p>{}{description}<p>{link}</p>{tags}",
        facts.join("<br>"),
        paragraph(&e.summary),
        description = e
            .description
            .as_ref()
            .map(|d| d.html.as_str())
            .unwrap_or_default(),
        link = html::url_link(&record.ap_id),
    );
    let online = e.online_url.as_deref().map(Url::parse).transpose()?;
    let location = match (&e.place, &online) {
        (Some(place), _) => {
            Some(serde_json::to_value(ApPlace::from_place(place)).unwrap_or_default())
        }
        (None, Some(url)) => Some(
            serde_json::to_value(VirtualLocation {
                kind: "VirtualLocation".into(),
                url: url.clone(),
            })
            .unwrap_or_default(),
        ),
        (None, None) => None,
    };
    let attachment = online
        .iter()
        .map(
            |url| json!({"type": "Link", "mediaType": "text/html", "name": "Website", "href": url}),
        )
        .collect();
    let mut organizer = vec![Url::parse(author.ap_id)?];
    for other in &author.co_organisers {
        organizer.push(Url::parse(other)?);
    }
    let tz = e.tz();
    Ok(ApEvent {
        common: common(
            record,
            author,
            "Event",
            Texts {
                name: &e.title,
                content,
                summary: &e.summary,
                description: &e.description,
            },
            &e.themes,
            &[],
        )?,
        summary: html::sanitize(&summary),
        ptce_kind: "event".into(),
        start_time: e.starts_at.with_timezone(&tz).to_rfc3339(),
        end_time: e.ends_at.map(|t| t.with_timezone(&tz).to_rfc3339()),
        timezone: e.timezone.clone(),
        location,
        attachment,
        organizer,
        event_status: e.status,
        registration_url: e.registration_url.as_deref().map(Url::parse).transpose()?,
        maximum_attendee_capacity: e.capacity,
    })
}

pub fn parse_event(doc: &Value) -> Result<Event, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Fields {
        start_time: String,
        end_time: Option<String>,
        timezone: Option<String>,
        #[serde(default)]
        location: Value,
        event_status: Option<EventStatus>,
        registration_url: Option<String>,
        maximum_attendee_capacity: Option<u32>,
    }
    let common = RemoteCommon::read(doc)?;
    let fields: Fields = serde_json::from_value(doc.clone())
        .map_err(|e| format!("the event cannot be read: {e}"))?;
    let locations: Vec<&Value> = match &fields.location {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        v => vec![v],
    };
    let place = locations
        .iter()
        .find(|l| type_of(l) == "Place")
        .and_then(|l| place_input(l));
    let online_url = online_link(doc, &locations);
    EventInput {
        title: common.name.clone(),
        summary: common.excerpt.clone(),
        description: common.source.as_ref().map(|s| s.content.clone()),
        description_format: common.source.as_ref().map(format_of),
        starts_at: fields.start_time,
        ends_at: fields.end_time,
        timezone: fields.timezone,
        place,
        online_url,
        organiser_poles: Vec::new(),
        registration_url: fields.registration_url,
        capacity: fields.maximum_attendee_capacity,
        status: fields.event_status,
        themes: common.themes.clone(),
    }
    .validate()
    .map_err(|e| invalid("event", e))
}
