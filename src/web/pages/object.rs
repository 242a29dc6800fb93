//! The HTML page of a project, an event or a call: what differs between the three kinds is
//! their [`ObjectPageData`]; the layout, the replies and the metadata are shared.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::facts::{ATOM, Fact, ICAL, fact, link, place_ld, strip_nulls, themes_fact};
use super::views::{self, Label, ReplyItem};
use super::{Ctx, Meta, error_page, html};
use crate::domain::{CallForCooperation, Event, Project};
use crate::store::{Kind, ObjectRecord, PoleRecord, StoreError};
use crate::web::AppState;
use crate::web::error::ApiError;

#[derive(Template)]
#[template(path = "object.html")]
struct ObjectPage {
    c: Ctx,
    meta: Meta,
    kind: &'static str,
    kind_label: &'static str,
    status: &'static str,
    title: String,
    summary: String,
    pole_name: String,
    pole_url: String,
    facts: Vec<Fact>,
    calendar_url: Option<String>,
    description_html: String,
    how_to_answer: String,
    replies: Vec<ReplyItem>,
    /// All the visible replies, of which `replies` are the latest.
    replies_total: u64,
    ap_id: String,
}

/// What differs between the pages of a project, an event and a call.
pub trait ObjectPageData {
    const KIND: Kind;
    fn page(
        record: &Self::Record,
        pole: &PoleRecord,
        c: &Ctx,
        store: &crate::store::Store,
    ) -> ObjectPageParts;
    type Record;
    fn ids(record: &Self::Record) -> (i64, &str, &str, i64);
}

/// The parts of an object's page its kind decides.
pub struct ObjectPageParts {
    title: String,
    summary: String,
    status: &'static str,
    facts: Vec<Fact>,
    calendar_url: Option<String>,
    description_html: String,
    how_to_answer: String,
    json_ld: serde_json::Value,
    og_type: &'static str,
}

impl ObjectPageData for Project {
    const KIND: Kind = Kind::Project;
    type Record = ObjectRecord<Project>;
    fn ids(r: &Self::Record) -> (i64, &str, &str, i64) {
        (r.id, &r.public_id, &r.ap_id, r.pole_id)
    }
    fn page(
        r: &Self::Record,
        pole: &PoleRecord,
        c: &Ctx,
        store: &crate::store::Store,
    ) -> ObjectPageParts {
        let p = &r.data;
        let lang = c.lang;
        let mut facts = Vec::new();
        if let Some(d) = p.start_date {
            facts.push(fact(lang.t("project.start"), views::date(d, lang)));
        }
        if let Some(d) = p.end_date {
            facts.push(fact(lang.t("project.end"), views::date(d, lang)));
        }
        themes_fact(&mut facts, &p.themes, lang);
        let areas = p.territory.view();
        if !areas.communes.is_empty() {
            facts.push(fact(
                lang.t("pole.communes"),
                areas
                    .communes
                    .iter()
                    .map(|a| a.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
        for l in &p.links {
            facts.push(link(
                lang.t("project.link"),
                l.title.clone().unwrap_or_else(|| l.url.clone()),
                l.url.clone(),
            ));
        }
        ObjectPageParts {
            title: p.title.clone(),
            summary: p.summary.clone().unwrap_or_default(),
            status: p.status.label(lang),
            facts,
            calendar_url: None,
            description_html: p
                .description
                .as_ref()
                .map(|d| d.html.clone())
                .unwrap_or_default(),
            how_to_answer: String::new(),
            json_ld: json!({
                "@context": "https://schema.org",
                "@type": "Project",
                "name": p.title,
                "description": p.summary,
                "url": store.url(&format!("/projects/{}", r.public_id)),
                "parentOrganization": {"@type": "Organization", "name": pole.pole.name, "url": store.url(&views::pole_url(pole))},
            }),
            og_type: "article",
        }
    }
}

impl ObjectPageData for Event {
    const KIND: Kind = Kind::Event;
    type Record = ObjectRecord<Event>;
    fn ids(r: &Self::Record) -> (i64, &str, &str, i64) {
        (r.id, &r.public_id, &r.ap_id, r.pole_id)
    }
    fn page(
        r: &Self::Record,
        pole: &PoleRecord,
        c: &Ctx,
        store: &crate::store::Store,
    ) -> ObjectPageParts {
        let e = &r.data;
        let lang = c.lang;
        let mut facts = vec![fact(lang.t("event.when"), views::event_when(e, lang))];
        facts.push(fact(lang.t("event.timezone"), e.timezone.clone()));
        if let Some(place) = &e.place {
            facts.push(fact(lang.t("event.where"), place.one_line()));
        }
        if let Some(online) = &e.online_url {
            facts.push(link(lang.t("event.online"), online.clone(), online.clone()));
        }
        if let Some(reg) = &e.registration_url {
            facts.push(link(lang.t("event.registration"), reg.clone(), reg.clone()));
        }
        if let Some(capacity) = e.capacity {
            facts.push(fact(lang.t("event.capacity"), capacity.to_string()));
        }
        themes_fact(&mut facts, &e.themes, lang);
        let tz = e.tz();
        let status = match e.status {
            crate::domain::vocab::EventStatus::Scheduled => "https://schema.org/EventScheduled",
            crate::domain::vocab::EventStatus::Cancelled => "https://schema.org/EventCancelled",
            crate::domain::vocab::EventStatus::Postponed => "https://schema.org/EventPostponed",
        };
        let mut location = Vec::new();
        if let Some(place) = &e.place {
            location.push(place_ld(place));
        }
        if let Some(online) = &e.online_url {
            location.push(json!({"@type": "VirtualLocation", "url": online}));
        }
        let attendance = match (e.place.is_some(), e.online_url.is_some()) {
            (true, true) => "https://schema.org/MixedEventAttendanceMode",
            (false, true) => "https://schema.org/OnlineEventAttendanceMode",
            _ => "https://schema.org/OfflineEventAttendanceMode",
        };
        ObjectPageParts {
            title: e.title.clone(),
            summary: e.summary.clone().unwrap_or_default(),
            status: e.status.label(lang),
            facts,
            calendar_url: Some(format!("/events/{}/calendar.ics", r.public_id)),
            description_html: e
                .description
                .as_ref()
                .map(|d| d.html.clone())
                .unwrap_or_default(),
            how_to_answer: String::new(),
            json_ld: strip_nulls(json!({
                "@context": "https://schema.org",
                "@type": "Event",
                "name": e.title,
                "description": e.summary,
                "startDate": e.starts_at.with_timezone(&tz).to_rfc3339(),
                "endDate": e.ends_at.map(|t| t.with_timezone(&tz).to_rfc3339()),
                "eventStatus": status,
                "eventAttendanceMode": attendance,
                "location": location,
                "url": store.url(&format!("/events/{}", r.public_id)),
                "organizer": {"@type": "Organization", "name": pole.pole.name, "url": store.url(&views::pole_url(pole))},
            })),
            og_type: "article",
        }
    }
}

impl ObjectPageData for CallForCooperation {
    const KIND: Kind = Kind::Call;
    type Record = ObjectRecord<CallForCooperation>;
    fn ids(r: &Self::Record) -> (i64, &str, &str, i64) {
        (r.id, &r.public_id, &r.ap_id, r.pole_id)
    }
    fn page(
        r: &Self::Record,
        pole: &PoleRecord,
        c: &Ctx,
        store: &crate::store::Store,
    ) -> ObjectPageParts {
        let call = &r.data;
        let lang = c.lang;
        let mut facts = vec![
            fact(lang.t("call.direction"), call.direction.label(lang)),
            fact(
                lang.t("call.subjects"),
                views::labels(&call.subjects, lang).join(", "),
            ),
        ];
        if let Some(d) = call.deadline {
            facts.push(fact(lang.t("call.deadline"), views::date(d, lang)));
        }
        themes_fact(&mut facts, &call.themes, lang);
        ObjectPageParts {
            title: call.title.clone(),
            summary: call.summary.clone().unwrap_or_default(),
            status: call.status.label(lang),
            facts,
            calendar_url: None,
            description_html: call
                .description
                .as_ref()
                .map(|d| d.html.clone())
                .unwrap_or_default(),
            how_to_answer: call.how_to_answer.clone(),
            json_ld: strip_nulls(json!({
                "@context": "https://schema.org",
                "@type": "Demand",
                "name": call.title,
                "description": call.summary,
                "availabilityEnds": call.deadline.map(|d| d.to_string()),
                "url": store.url(&format!("/calls/{}", r.public_id)),
                "seller": {"@type": "Organization", "name": pole.pole.name, "url": store.url(&views::pole_url(pole))},
            })),
            og_type: "article",
        }
    }
}

/// The most replies a page shows: the latest ones.
pub const REPLIES_SHOWN: u64 = 100;

/// The HTML page of a project, an event or a call, with the replies received.
pub async fn object_page<T: ObjectPageData>(
    state: &AppState,
    c: &Ctx,
    record: Result<T::Record, StoreError>,
) -> Response {
    match object_page_inner::<T>(state, c, record).await {
        Ok(r) => r,
        Err(e) => error_page(c, e),
    }
}

async fn object_page_inner<T: ObjectPageData>(
    state: &AppState,
    c: &Ctx,
    record: Result<T::Record, StoreError>,
) -> Result<Response, ApiError> {
    let record = record?;
    let (id, public_id, ap_id, pole_id) = T::ids(&record);
    let pole = state.store.pole_by_id(pole_id).await?;
    let parts = T::page(&record, &pole, c, &state.store);
    let (shown, replies_total) = state
        .store
        .latest_replies(T::KIND, id, REPLIES_SHOWN)
        .await?;
    let replies = shown.iter().map(|r| ReplyItem::new(r, c.lang)).collect();
    let slug = &pole.pole.slug;
    let url = state.store.url(&format!("/{}/{public_id}", T::KIND.path()));
    let mut meta = Meta::new(parts.title.clone(), parts.summary.clone(), url)
        .alternate(
            crate::federation::objects::context::ACTIVITY_JSON,
            ap_id.to_owned(),
            "ActivityPub",
        )
        .alternate(
            ATOM,
            format!("/poles/{slug}/feed.atom"),
            format!("{} (Atom)", pole.pole.name),
        )
        .alternate(
            ICAL,
            format!("/poles/{slug}/events.ics"),
            format!("{} (iCal)", pole.pole.name),
        );
    if let Some(ics) = &parts.calendar_url {
        meta = meta.alternate(ICAL, ics.clone(), parts.title.clone());
    }
    meta = meta.with_json_ld(&strip_nulls(parts.json_ld));
    meta.og_type = parts.og_type;
    meta.image = pole
        .banner
        .as_ref()
        .or(pole.logo.as_ref())
        .map(|m| state.store.url(&format!("/media/{}", m.sha256)));
    Ok(html(
        &ObjectPage {
            c: c.clone(),
            meta,
            kind: T::KIND.id(),
            kind_label: c.t(&format!("kind.{}", T::KIND.id())),
            status: parts.status,
            title: parts.title,
            summary: parts.summary,
            pole_name: pole.pole.name.clone(),
            pole_url: views::pole_url(&pole),
            facts: parts.facts,
            calendar_url: parts.calendar_url,
            description_html: parts.description_html,
            how_to_answer: parts.how_to_answer,
            replies,
            replies_total,
            ap_id: ap_id.to_owned(),
        },
        StatusCode::OK,
    ))
}
