//! Records turned into what templates show: words in the visitor's language, dates
//! formatted, links built.

use chrono::{DateTime, NaiveDate, Utc};

use super::Lang;
use crate::domain::calendar;
use crate::domain::vocab::{
    CallDirection, CallStatus, CallSubject, EventStatus, LegalForm, PoolingKind, ProjectStatus,
    Theme,
};
use crate::domain::{CallForCooperation, Event, Project};
use crate::store::{ObjectRecord, PoleRecord};

/// A vocabulary value's label in the visitor's language.
pub trait Label: Copy {
    fn fr(self) -> &'static str;
    fn en(self) -> &'static str;
    fn label(self, lang: Lang) -> &'static str {
        match lang {
            Lang::Fr => self.fr(),
            Lang::En => self.en(),
        }
    }
}

macro_rules! labels {
    ($($ty:ty),+) => {$(
        impl Label for $ty {
            fn fr(self) -> &'static str { self.label_fr() }
            fn en(self) -> &'static str { self.label_en() }
        }
    )+};
}

labels!(
    Theme,
    PoolingKind,
    LegalForm,
    ProjectStatus,
    EventStatus,
    CallDirection,
    CallStatus,
    CallSubject,
    crate::domain::vocab::TerritoryKind,
    crate::domain::vocab::EmployeeBand,
    crate::domain::vocab::NationalCall,
    crate::domain::vocab::TextFormat
);

pub fn labels<T: Label>(values: &[T], lang: Lang) -> Vec<&'static str> {
    values.iter().map(|v| v.label(lang)).collect()
}

/// A value of a `<select>`: its code, its label, and whether it is chosen.
#[derive(Debug, Clone)]
pub struct Choice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

pub fn choices<T: Label>(
    all: &[T],
    id: impl Fn(T) -> &'static str,
    chosen: &[&str],
    lang: Lang,
) -> Vec<Choice> {
    all.iter()
        .map(|v| Choice {
            code: id(*v).to_owned(),
            label: v.label(lang).to_owned(),
            selected: chosen.contains(&id(*v)),
        })
        .collect()
}

/// A day as people write it: « jeudi 12 décembre 2026 », « Thursday 12 December 2026 ».
pub fn date(d: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Fr => calendar::french_date(d),
        Lang::En => calendar::english_date(d),
    }
}

/// When an event happens, in its own time zone: « jeudi 12 décembre 2026, 14 h – 18 h ».
pub fn event_when(event: &Event, lang: Lang) -> String {
    let tz = event.tz();
    let start = event.starts_at.with_timezone(&tz);
    let end = event.ends_at.map(|e| e.with_timezone(&tz));
    match lang {
        Lang::Fr => calendar::span_in_words(&start, end.as_ref(), calendar::french_date, |t| {
            calendar::french_time(t)
        }),
        Lang::En => calendar::span_in_words(&start, end.as_ref(), calendar::english_date, |t| {
            calendar::english_time(t)
        }),
    }
}

/// A moment, in Paris time: « 12 décembre 2026 à 14 h 05 », « 12 December 2026 at 14:05 ».
pub fn timestamp(t: DateTime<Utc>, lang: Lang) -> String {
    let t = t.with_timezone(&chrono_tz::Europe::Paris);
    match lang {
        Lang::Fr => format!(
            "{} à {}",
            calendar::french_day(t.date_naive()),
            calendar::french_time(&t)
        ),
        Lang::En => format!(
            "{} at {}",
            calendar::english_day(t.date_naive()),
            calendar::english_time(&t)
        ),
    }
}

/// A pole in a list.
#[derive(Debug, Clone)]
pub struct PoleItem {
    pub name: String,
    pub url: String,
    pub handle: String,
    pub summary: String,
    pub places: String,
    pub themes: Vec<&'static str>,
}

impl PoleItem {
    pub fn new(record: &PoleRecord, lang: Lang) -> PoleItem {
        let pole = &record.pole;
        let view = pole.territory.view();
        let mut places: Vec<String> = view.departements.iter().map(|d| d.name.clone()).collect();
        places.extend(view.regions.iter().map(|r| r.name.clone()));
        if let Some(label) = &pole.territory.label {
            places.insert(0, label.clone());
        }
        PoleItem {
            name: pole.name.clone(),
            url: pole_url(record),
            handle: format!("@{}@{}", pole.slug, record.domain),
            summary: pole.summary.clone().unwrap_or_default(),
            places: places.join(", "),
            themes: labels(&pole.themes, lang),
        }
    }
}

/// The page of a pole: ours under `/poles/`, another instance's at its address.
pub fn pole_url(record: &PoleRecord) -> String {
    if record.local {
        format!("/poles/{}", record.pole.slug)
    } else {
        record.ap_id.clone()
    }
}

/// A project, event or call in a list.
#[derive(Debug, Clone)]
pub struct ObjectItem {
    /// `project`, `event` or `call`.
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub title: String,
    pub url: String,
    pub summary: String,
    /// Dates, place, deadline: the line under the title.
    pub facts: String,
    pub status: &'static str,
    pub pole_name: String,
    pub pole_url: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// The pole's logo (`/media/{sha256}`), shown small on a pole's card.
    pub logo: Option<String>,
}

fn object_url(kind: &str, record_local: bool, public_id: &str, ap_id: &str) -> String {
    if record_local {
        format!("/{kind}/{public_id}")
    } else {
        ap_id.to_owned()
    }
}

impl ObjectItem {
    pub fn pole(record: &PoleRecord, lang: Lang) -> ObjectItem {
        let item = PoleItem::new(record, lang);
        ObjectItem {
            kind: "pole",
            kind_label: lang.t("kind.pole"),
            title: item.name,
            url: item.url.clone(),
            summary: item.summary,
            facts: [item.places, item.themes.join(", ")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · "),
            status: "",
            pole_name: String::new(),
            pole_url: item.url,
            lat: record.pole.shared_place.as_ref().and_then(|p| p.latitude),
            lon: record.pole.shared_place.as_ref().and_then(|p| p.longitude),
            logo: record.logo.as_ref().map(|m| format!("/media/{}", m.sha256)),
        }
    }

    pub fn project(r: &ObjectRecord<Project>, pole: &PoleRecord, lang: Lang) -> ObjectItem {
        let p = &r.data;
        let mut facts = Vec::new();
        if let Some(start) = p.start_date {
            facts.push(date(start, lang));
        }
        ObjectItem {
            kind: "project",
            kind_label: lang.t("kind.project"),
            title: p.title.clone(),
            url: object_url("projects", r.local, &r.public_id, &r.ap_id),
            summary: p.summary.clone().unwrap_or_default(),
            facts: facts.join(" · "),
            status: p.status.label(lang),
            pole_name: pole.pole.name.clone(),
            pole_url: pole_url(pole),
            lat: None,
            lon: None,
            logo: None,
        }
    }

    pub fn event(r: &ObjectRecord<Event>, pole: &PoleRecord, lang: Lang) -> ObjectItem {
        let e = &r.data;
        let mut facts = vec![event_when(e, lang)];
        if let Some(place) = &e.place {
            facts.push(place.one_line());
        } else if e.online_url.is_some() {
            facts.push(lang.t("event.online").to_owned());
        }
        ObjectItem {
            kind: "event",
            kind_label: lang.t("kind.event"),
            title: e.title.clone(),
            url: object_url("events", r.local, &r.public_id, &r.ap_id),
            summary: e.summary.clone().unwrap_or_default(),
            facts: facts.join(" · "),
            status: e.status.label(lang),
            pole_name: pole.pole.name.clone(),
            pole_url: pole_url(pole),
            lat: e.place.as_ref().and_then(|p| p.latitude),
            lon: e.place.as_ref().and_then(|p| p.longitude),
            logo: None,
        }
    }

    pub fn call(r: &ObjectRecord<CallForCooperation>, pole: &PoleRecord, lang: Lang) -> ObjectItem {
        let c = &r.data;
        let mut facts = vec![format!(
            "{} : {}",
            c.direction.label(lang),
            labels(&c.subjects, lang).join(", ")
        )];
        if let Some(deadline) = c.deadline {
            facts.push(format!(
                "{} {}",
                lang.t("call.deadline"),
                date(deadline, lang)
            ));
        }
        ObjectItem {
            kind: "call",
            kind_label: lang.t("kind.call"),
            title: c.title.clone(),
            url: object_url("calls", r.local, &r.public_id, &r.ap_id),
            summary: c.summary.clone().unwrap_or_default(),
            facts: facts.join(" · "),
            status: c.status.label(lang),
            pole_name: pole.pole.name.clone(),
            pole_url: pole_url(pole),
            lat: None,
            lon: None,
            logo: None,
        }
    }
}

/// A reply received from the fediverse, as shown under an object.
#[derive(Debug, Clone)]
pub struct ReplyItem {
    pub id: i64,
    pub author: String,
    pub author_url: String,
    pub when: String,
    /// Sanitised when received.
    pub content_html: String,
    pub url: String,
    pub state: String,
}

impl ReplyItem {
    pub fn new(r: &crate::store::ReplyRecord, lang: Lang) -> ReplyItem {
        ReplyItem {
            id: r.id,
            author: r
                .author
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| r.author.handle()),
            author_url: r
                .author
                .url
                .clone()
                .unwrap_or_else(|| r.author.ap_id.clone()),
            when: timestamp(r.published_at, lang),
            content_html: r.content_html.clone(),
            url: r.url.clone().unwrap_or_else(|| r.ap_id.clone()),
            state: r.state.clone(),
        }
    }
}
