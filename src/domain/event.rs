//! An event a pole organises: a fête, a solidarity market, a training, a seminar.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::place::{Place, PlaceInput};
use super::project::check_dates;
use super::text::RichText;
use super::vocab::{EventStatus, TextFormat, Theme};
use super::{Code, Message, ValidationErrors, check};

pub const DEFAULT_TIMEZONE: &str = "Europe/Paris";

/// More places than any venue has; larger numbers are typing mistakes.
pub const MAX_CAPACITY: u32 = 1_000_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub title: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub description_format: Option<TextFormat>,
    /// Local time in `timezone` (`2026-12-05T14:00`) or a time with an offset (RFC 3339).
    pub starts_at: String,
    #[serde(default)]
    pub ends_at: Option<String>,
    /// IANA time zone; `Europe/Paris` when left out.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub place: Option<PlaceInput>,
    /// Link to follow the event online.
    #[serde(default)]
    pub online_url: Option<String>,
    /// Other poles organising the event with this one: slugs of poles of this instance.
    #[serde(default)]
    pub organiser_poles: Vec<String>,
    #[serde(default)]
    pub registration_url: Option<String>,
    #[serde(default)]
    pub capacity: Option<u32>,
    /// `scheduled` (default), `cancelled` or `postponed`.
    #[serde(default)]
    pub status: Option<EventStatus>,
    /// Theme codes (see `/api/v1/vocabularies`); an event without themes is found in the
    /// directory under its pole's.
    #[serde(default)]
    pub themes: Vec<Theme>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub title: String,
    pub summary: Option<String>,
    pub description: Option<RichText>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub timezone: String,
    pub place: Option<Place>,
    pub online_url: Option<String>,
    pub organiser_poles: Vec<String>,
    pub registration_url: Option<String>,
    pub capacity: Option<u32>,
    pub status: EventStatus,
    /// Older snapshots of the history have no themes.
    #[serde(default)]
    pub themes: Vec<Theme>,
    /// The event's page on the server of other software it was taken from (a Mobilizon or
    /// Gancio event), when that is not its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
}

/// Reads a date-time as people write it: with an offset, or local to the event's zone.
fn parse_time(value: &str, tz: Tz) -> Result<DateTime<Utc>, Message> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
    .ok_or_else(|| Message::new(Code::InvalidDateTime).arg("value", value))?;
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(_, _) => Err(Message::new(Code::AmbiguousTime)
            .arg("value", value)
            .arg("timezone", tz)),
        chrono::LocalResult::None => Err(Message::new(Code::NonexistentTime)
            .arg("value", value)
            .arg("timezone", tz)),
    }
}

impl EventInput {
    pub fn validate(&self) -> Result<Event, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let title = e.take("title", check::required_text(&self.title, check::MAX_NAME));
        let summary = e.take(
            "summary",
            check::optional_text(self.summary.as_deref(), check::MAX_SUMMARY),
        );
        let description = e.take(
            "description",
            RichText::from_input(self.description.as_deref(), self.description_format),
        );
        let tz_name = self
            .timezone
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let tz = match tz_name.unwrap_or(DEFAULT_TIMEZONE).parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                e.add("timezone", Code::InvalidTimezone);
                None
            }
        };
        let (starts_at, ends_at) = match tz {
            Some(tz) => {
                let starts_at = e.take("starts_at", parse_time(&self.starts_at, tz));
                let ends_at = e.take(
                    "ends_at",
                    self.ends_at
                        .as_deref()
                        .filter(|v| !v.trim().is_empty())
                        .map(|v| parse_time(v, tz))
                        .transpose(),
                );
                (starts_at, ends_at.flatten())
            }
            None => (None, None),
        };
        check_dates(starts_at, ends_at, "ends_at", &mut e);
        let place = match self.place.as_ref().map(PlaceInput::validate).transpose() {
            Ok(p) => p,
            Err(errors) => {
                e.nest("place", errors);
                None
            }
        };
        let online_url = e.take(
            "online_url",
            check::optional_web_url(self.online_url.as_deref()),
        );
        if self.place.is_none() && matches!(online_url, Some(None)) {
            e.add("place", Code::PlaceOrOnline);
        }
        let mut organiser_poles = Vec::new();
        for (i, slug) in self.organiser_poles.iter().enumerate() {
            match check::slug(slug) {
                Ok(slug) if !organiser_poles.contains(&slug) => organiser_poles.push(slug),
                Ok(_) => {}
                Err(m) => e.add(format!("organiser_poles[{i}]"), m),
            }
        }
        if organiser_poles.len() > check::MAX_LIST {
            e.add(
                "organiser_poles",
                Message::new(Code::TooMany)
                    .arg("count", organiser_poles.len())
                    .arg("max", check::MAX_LIST),
            );
        }
        let registration_url = e.take(
            "registration_url",
            check::optional_web_url(self.registration_url.as_deref()),
        );
        let themes = e.take("themes", check::dedup_list(&self.themes));
        if let Some(capacity) = self.capacity
            && !(1..=MAX_CAPACITY).contains(&capacity)
        {
            e.add(
                "capacity",
                Message::new(Code::CapacityRange).arg("max", MAX_CAPACITY),
            );
        }
        e.finish(|| Event {
            title: title.unwrap_or_default(),
            summary: summary.flatten(),
            description: description.flatten(),
            starts_at: starts_at.unwrap_or_default(),
            ends_at,
            timezone: tz.map(|t| t.name().to_owned()).unwrap_or_default(),
            place,
            online_url: online_url.flatten(),
            organiser_poles,
            registration_url: registration_url.flatten(),
            capacity: self.capacity,
            status: self.status.unwrap_or(EventStatus::Scheduled),
            themes: themes.unwrap_or_default(),
            source_url: None,
        })
    }
}

impl Event {
    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Europe::Paris)
    }

    /// When it happens, in French and in its own zone: `samedi 5 décembre 2026, 14 h – 18 h`,
    /// the zone named when it is not Paris's.
    pub fn when_in_french(&self) -> String {
        use super::calendar::{french_date, french_time, span_in_words};
        let tz = self.tz();
        let start = self.starts_at.with_timezone(&tz);
        let end = self.ends_at.map(|e| e.with_timezone(&tz));
        let mut when = span_in_words(&start, end.as_ref(), french_date, french_time);
        if tz != chrono_tz::Europe::Paris {
            when.push_str(&format!(" ({})", tz.name()));
        }
        when
    }

    /// A time of this event in its own zone, as RFC 3339 with the local offset.
    pub fn local(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz()).to_rfc3339()
    }

    /// A time as a person would type it: local to the zone, so that changing the zone keeps
    /// the wall-clock time; with its offset only when the local time happens twice.
    fn local_input(&self, t: DateTime<Utc>) -> String {
        let tz = self.tz();
        let local = t.with_timezone(&tz).naive_local();
        match tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(_) => local.format("%Y-%m-%dT%H:%M:%S").to_string(),
            _ => self.local(t),
        }
    }

    pub fn to_input(&self) -> EventInput {
        EventInput {
            title: self.title.clone(),
            summary: self.summary.clone(),
            description: self.description.as_ref().map(|d| d.source.clone()),
            description_format: self.description.as_ref().map(|d| d.format),
            starts_at: self.local_input(self.starts_at),
            ends_at: self.ends_at.map(|t| self.local_input(t)),
            timezone: Some(self.timezone.clone()),
            place: self.place.as_ref().map(Place::to_input),
            online_url: self.online_url.clone(),
            organiser_poles: self.organiser_poles.clone(),
            registration_url: self.registration_url.clone(),
            capacity: self.capacity,
            status: Some(self.status),
            themes: self.themes.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> EventInput {
        EventInput {
            title: "Marché solidaire".into(),
            starts_at: "2026-12-05T14:00".into(),
            ends_at: Some("2026-12-05T18:00".into()),
            place: Some(PlaceInput {
                name: Some("Halle".into()),
                commune: Some("35236".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn local_times_use_the_event_zone() {
        let event = base().validate().unwrap();
        assert_eq!(event.timezone, "Europe/Paris");
        assert_eq!(event.starts_at.to_rfc3339(), "2026-12-05T13:00:00+00:00");
        assert_eq!(event.local(event.starts_at), "2026-12-05T14:00:00+01:00");
        assert_eq!(event.to_input().validate().unwrap(), event);
        let summer = EventInput {
            starts_at: "2026-07-01T10:00".into(),
            ends_at: None,
            ..base()
        };
        assert_eq!(
            summer.validate().unwrap().starts_at.to_rfc3339(),
            "2026-07-01T08:00:00+00:00"
        );
        let cayenne = EventInput {
            timezone: Some("America/Cayenne".into()),
            ..base()
        };
        assert_eq!(
            cayenne.validate().unwrap().starts_at.to_rfc3339(),
            "2026-12-05T17:00:00+00:00"
        );
        let offset = EventInput {
            starts_at: "2026-12-05T14:00:00+01:00".into(),
            ..base()
        };
        assert_eq!(
            offset.validate().unwrap().starts_at.to_rfc3339(),
            "2026-12-05T13:00:00+00:00"
        );
    }

    #[test]
    fn online_only_events_are_fine() {
        let online = EventInput {
            place: None,
            online_url: Some("https://visio.example.org/ptce".into()),
            ..base()
        };
        assert!(online.validate().is_ok());
    }

    #[test]
    fn bad_events_are_refused_field_by_field() {
        let errors = EventInput {
            title: "x".into(),
            starts_at: "next friday".into(),
            ..base()
        }
        .validate()
        .unwrap_err();
        assert_eq!(errors.fields(), vec!["starts_at"]);
        let errors = EventInput {
            timezone: Some("Mars/Olympus".into()),
            ..base()
        }
        .validate()
        .unwrap_err();
        assert_eq!(errors.fields(), vec!["timezone"]);
        let errors = EventInput {
            ends_at: Some("2026-12-05T10:00".into()),
            place: None,
            online_url: None,
            organiser_poles: vec!["Bad Slug".into()],
            registration_url: Some("ftp://x".into()),
            capacity: Some(0),
            ..base()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            errors.fields(),
            vec![
                "ends_at",
                "place",
                "organiser_poles[0]",
                "registration_url",
                "capacity"
            ]
        );
        // 2026-03-29 02:30 does not exist in Paris; 2026-10-25 02:30 happens twice.
        let gap = EventInput {
            starts_at: "2026-03-29T02:30".into(),
            ends_at: None,
            ..base()
        };
        assert_eq!(
            gap.validate().unwrap_err().0[0].message.code,
            crate::domain::Code::NonexistentTime
        );
        let twice = EventInput {
            starts_at: "2026-10-25T02:30".into(),
            ends_at: None,
            ..base()
        };
        assert_eq!(
            twice.validate().unwrap_err().0[0].message.code,
            crate::domain::Code::AmbiguousTime
        );
    }
}
