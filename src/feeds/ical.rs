//! iCalendar (RFC 5545) calendar of events, with `VTIMEZONE` components built from the IANA rules.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use super::Directory;
use crate::domain::Event;
use crate::domain::vocab::EventStatus;
use crate::store::ObjectRecord;

/// Longest content line, in octets, without its CRLF (RFC 5545 §3.1).
pub const MAX_LINE_OCTETS: usize = 75;

/// Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and line breaks.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            // Other control characters are not allowed in a TEXT value.
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value, quoted when it holds a character that would end it; double quotes
/// cannot be represented at all and are dropped.
fn param_value(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    if clean.contains([':', ';', ',']) {
        format!("\"{clean}\"")
    } else {
        clean
    }
}

/// Folds one content line at 75 octets, never inside a UTF-8 character, and ends it with CRLF.
pub fn fold_line(line: &str, out: &mut String) {
    let mut budget = MAX_LINE_OCTETS;
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > budget {
            out.push_str("\r\n ");
            // The leading space of a continuation line counts in its 75 octets.
            budget = MAX_LINE_OCTETS - 1;
            used = 0;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
}

struct Lines(String);

impl Lines {
    fn line(&mut self, line: &str) {
        fold_line(line, &mut self.0);
    }
}

fn utc_stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn offset_text(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

/// The zone an event's times are written in, or `None` for UTC.
fn event_zone(event: &Event) -> Option<Tz> {
    let tz: Tz = event.timezone.parse().ok()?;
    match tz {
        Tz::UTC | Tz::Etc__UTC | Tz::Etc__UCT | Tz::Etc__Universal | Tz::Etc__Zulu => None,
        tz => Some(tz),
    }
}

/// A date-time property in the event's zone (`NAME;TZID=Europe/Paris:20261205T140000`), or
/// in UTC when the zone is unknown.
fn date_time(name: &str, t: DateTime<Utc>, zone: Option<Tz>) -> String {
    match zone {
        Some(tz) => format!(
            "{name};TZID={}:{}",
            param_value(tz.name()),
            t.with_timezone(&tz).format("%Y%m%dT%H%M%S")
        ),
        None => format!("{name}:{}", utc_stamp(t)),
    }
}

/// What a zone's clocks say from one instant on.
#[derive(Debug, Clone, PartialEq)]
struct Observance {
    /// The first instant this offset applies.
    from: DateTime<Utc>,
    offset_from: i32,
    offset_to: i32,
    daylight: bool,
    name: Option<String>,
}

fn offset_at(tz: Tz, t: DateTime<Utc>) -> (i32, bool, Option<String>) {
    let offset = tz.offset_from_utc_datetime(&t.naive_utc());
    (
        offset.fix().local_minus_utc(),
        !offset.dst_offset().is_zero(),
        offset.abbreviation().map(str::to_owned),
    )
}

/// The offsets a zone uses between two instants: the one in force at `start`, then each
/// change, found by scanning day by day and narrowing each change down to the second.
fn observances(tz: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Observance> {
    let first = offset_at(tz, start);
    let mut list = vec![Observance {
        from: start,
        offset_from: first.0,
        offset_to: first.0,
        daylight: first.1,
        name: first.2.clone(),
    }];
    let mut current = first;
    let mut t = start;
    while t < end {
        let next = t + Duration::days(1);
        let at_next = offset_at(tz, next);
        if at_next.0 != current.0 || at_next.1 != current.1 {
            // Whole seconds: changes happen on them, and DTSTART has no fractions.
            let (mut lo, mut hi) = (t.timestamp(), next.timestamp());
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                let at_mid = offset_at(tz, DateTime::from_timestamp(mid, 0).unwrap_or(t));
                if at_mid.0 == current.0 && at_mid.1 == current.1 {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let hi = DateTime::from_timestamp(hi, 0).unwrap_or(next);
            let after = offset_at(tz, hi);
            list.push(Observance {
                from: hi,
                offset_from: current.0,
                offset_to: after.0,
                daylight: after.1,
                name: after.2.clone(),
            });
            current = after;
        }
        t = next;
    }
    list
}

/// A `VTIMEZONE` for `tz` covering the given years, with one `STANDARD` or `DAYLIGHT`
/// component per offset in force.
fn vtimezone(tz: Tz, years: (i32, i32), lines: &mut Lines) {
    let day = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .unwrap_or_default()
    };
    // From the year before, so that the offset in force on 1 January is found from its real start.
    let list = observances(tz, day(years.0 - 1), day(years.1 + 1));
    lines.line("BEGIN:VTIMEZONE");
    lines.line(&format!("TZID:{}", tz.name()));
    lines.line(&format!("X-LIC-LOCATION:{}", tz.name()));
    for o in &list {
        let kind = if o.daylight { "DAYLIGHT" } else { "STANDARD" };
        // DTSTART is the local time of the change, read with the offset before it.
        let local = o.from + Duration::seconds(i64::from(o.offset_from));
        lines.line(&format!("BEGIN:{kind}"));
        lines.line(&format!("DTSTART:{}", local.format("%Y%m%dT%H%M%S")));
        lines.line(&format!("TZOFFSETFROM:{}", offset_text(o.offset_from)));
        lines.line(&format!("TZOFFSETTO:{}", offset_text(o.offset_to)));
        if let Some(name) = &o.name {
            lines.line(&format!("TZNAME:{}", escape_text(name)));
        }
        lines.line(&format!("END:{kind}"));
    }
    lines.line("END:VTIMEZONE");
}

/// Plain text from sanitised HTML, for the `DESCRIPTION` of an event.
fn html_to_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].to_ascii_lowercase();
        if tag.starts_with("br") || tag == "/p" || tag == "/li" || tag.starts_with("/h") {
            text.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    let text = crate::domain::text::html_text(&text);
    text.trim().to_owned()
}

fn event_lines(record: &ObjectRecord<Event>, directory: &Directory, lines: &mut Lines) {
    let event = &record.data;
    let zone = event_zone(event);
    lines.line("BEGIN:VEVENT");
    lines.line(&format!("UID:{}", record.ap_id));
    lines.line(&format!("SEQUENCE:{}", record.version.max(0)));
    // The last change rather than the time of the request, so that an unchanged calendar
    // keeps its bytes and its ETag.
    lines.line(&format!("DTSTAMP:{}", utc_stamp(record.updated_at)));
    lines.line(&format!("CREATED:{}", utc_stamp(record.created_at)));
    lines.line(&format!("LAST-MODIFIED:{}", utc_stamp(record.updated_at)));
    lines.line(&date_time("DTSTART", event.starts_at, zone));
    if let Some(end) = event.ends_at {
        lines.line(&date_time("DTEND", end, zone));
    }
    lines.line(&format!("SUMMARY:{}", escape_text(&event.title)));
    let mut description = Vec::new();
    if let Some(summary) = &event.summary {
        description.push(summary.clone());
    }
    if let Some(d) = &event.description {
        description.push(html_to_text(&d.html));
    }
    if let Some(url) = &event.online_url {
        description.push(format!("En ligne : {url}"));
    }
    if let Some(url) = &event.registration_url {
        description.push(format!("Inscription : {url}"));
    }
    if !description.is_empty() {
        lines.line(&format!(
            "DESCRIPTION:{}",
            escape_text(&description.join("\n\n"))
        ));
    }
    lines.line(&format!(
        "STATUS:{}",
        match event.status {
            EventStatus::Scheduled => "CONFIRMED",
            EventStatus::Cancelled => "CANCELLED",
            EventStatus::Postponed => "TENTATIVE",
        }
    ));
    match &event.place {
        Some(place) => {
            lines.line(&format!("LOCATION:{}", escape_text(&place.one_line())));
            if let (Some(lat), Some(lon)) = (place.latitude, place.longitude) {
                lines.line(&format!("GEO:{lat};{lon}"));
            }
        }
        None => {
            if let Some(url) = &event.online_url {
                lines.line(&format!("LOCATION:{}", escape_text(url)));
            }
        }
    }
    lines.line(&format!(
        "URL:{}",
        event.source_url.as_deref().unwrap_or(&record.ap_id)
    ));
    if let Some(pole) = directory.publisher(record.pole_id) {
        let address = match &pole.pole.contact_email {
            Some(email) => format!("mailto:{email}"),
            None => pole.ap_id.clone(),
        };
        lines.line(&format!(
            "ORGANIZER;CN={}:{address}",
            param_value(&pole.pole.name)
        ));
    }
    lines.line("END:VEVENT");
}

/// Renders the events of a directory as one calendar, with a `VTIMEZONE` for each zone used.
pub fn render(calendar_name: &str, directory: &Directory) -> Vec<u8> {
    let mut lines = Lines(String::with_capacity(2048 + directory.events.len() * 1024));
    lines.line("BEGIN:VCALENDAR");
    lines.line("VERSION:2.0");
    lines.line("PRODID:-//Maillage//Annuaire des PTCE//FR");
    lines.line("CALSCALE:GREGORIAN");
    lines.line("METHOD:PUBLISH");
    lines.line(&format!("X-WR-CALNAME:{}", escape_text(calendar_name)));
    lines.line("REFRESH-INTERVAL;VALUE=DURATION:PT1H");
    lines.line("X-PUBLISHED-TTL:PT1H");
    // By name, so that the output does not depend on the order of the events.
    let mut spans: BTreeMap<&'static str, (Tz, i32, i32)> = BTreeMap::new();
    for record in &directory.events {
        let event = &record.data;
        if let Some(tz) = event_zone(event) {
            let first = event.starts_at.year();
            let last = event.ends_at.map_or(first, |e| e.year());
            let span = spans.entry(tz.name()).or_insert((tz, first, last));
            span.1 = span.1.min(first);
            span.2 = span.2.max(last);
        }
    }
    for (tz, first, last) in spans.into_values() {
        vtimezone(tz, (first, last), &mut lines);
    }
    for record in &directory.events {
        event_lines(record, directory, &mut lines);
    }
    lines.line("END:VCALENDAR");
    lines.0.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape_text("Marché; vente, dons\\troc\r\nsuite\nfin"),
            "Marché\\; vente\\, dons\\\\troc\\nsuite\\nfin"
        );
    }

    #[test]
    fn long_lines_fold_at_75_octets_between_characters() {
        let mut out = String::new();
        let line = format!("DESCRIPTION:{}", "é".repeat(100));
        fold_line(&line, &mut out);
        assert!(out.ends_with("\r\n"));
        let physical: Vec<&str> = out.trim_end_matches("\r\n").split("\r\n").collect();
        assert!(physical.len() > 1);
        for (i, l) in physical.iter().enumerate() {
            assert!(
                l.len() <= MAX_LINE_OCTETS,
                "line {i} has {} octets",
                l.len()
            );
            if i > 0 {
                assert!(l.starts_with(' '));
            }
        }
        let unfolded = out.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, line);
        let mut short = String::new();
        fold_line("SUMMARY:court", &mut short);
        assert_eq!(short, "SUMMARY:court\r\n");
    }

    #[test]
    fn paris_observances_follow_the_dst_changes() {
        let list = observances(
            chrono_tz::Europe::Paris,
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
        );
        assert_eq!(list.len(), 3, "{list:?}");
        assert_eq!((list[0].offset_to, list[0].daylight), (3600, false));
        // Summer time starts on the last Sunday of March at 01:00 UTC…
        assert_eq!(
            list[1].from,
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap()
        );
        assert_eq!((list[1].offset_from, list[1].offset_to), (3600, 7200));
        assert!(list[1].daylight);
        assert_eq!(list[1].name.as_deref(), Some("CEST"));
        // … and ends on the last Sunday of October at 01:00 UTC.
        assert_eq!(
            list[2].from,
            Utc.with_ymd_and_hms(2026, 10, 25, 1, 0, 0).unwrap()
        );
        assert_eq!((list[2].offset_from, list[2].offset_to), (7200, 3600));
        assert!(!list[2].daylight);
    }

    #[test]
    fn zones_without_dst_have_one_observance() {
        let list = observances(
            chrono_tz::America::Cayenne,
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
        );
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].offset_to, -3 * 3600);
        assert_eq!(offset_text(-3 * 3600), "-0300");
        assert_eq!(offset_text(3600 + 61), "+010101");
    }

    #[test]
    fn html_becomes_plain_text() {
        assert_eq!(
            html_to_text("<p>Bière &amp; <strong>pain</strong></p><p>2 &lt; 3</p>"),
            "Bière & pain\n2 < 3"
        );
    }

    fn record(title: &str, starts_at: &str, timezone: &str) -> ObjectRecord<Event> {
        let event = crate::domain::EventInput {
            title: title.into(),
            starts_at: starts_at.into(),
            timezone: Some(timezone.into()),
            online_url: Some("https://visio.example.org/ptce".into()),
            ..Default::default()
        }
        .validate()
        .expect("valid event");
        let t = Utc.with_ymd_and_hms(2026, 9, 1, 8, 0, 0).unwrap();
        ObjectRecord {
            id: 1,
            public_id: title.into(),
            ap_id: format!("https://ptce.example.org/events/{title}"),
            local: true,
            pole_id: 1,
            version: 3,
            published_at: t,
            created_at: t,
            updated_at: t,
            data: event,
        }
    }

    #[test]
    fn events_across_a_dst_change_keep_their_local_times() {
        let directory = Directory {
            events: vec![
                record("avant", "2026-10-24T10:00", "Europe/Paris"),
                record("apres", "2026-10-26T10:00", "Europe/Paris"),
            ],
            ..Directory::default()
        };
        let text = String::from_utf8(render("Agenda", &directory)).expect("utf-8");
        assert!(
            text.contains("DTSTART;TZID=Europe/Paris:20261024T100000\r\n"),
            "{text}"
        );
        assert!(
            text.contains("DTSTART;TZID=Europe/Paris:20261026T100000\r\n"),
            "{text}"
        );
        assert_eq!(text.matches("BEGIN:VTIMEZONE").count(), 1);
        assert!(text.contains(
            "BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
        ));
        assert!(text.contains(
            "BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
        ));
        assert!(text.contains("SEQUENCE:3\r\n"));
        assert!(text.contains("UID:https://ptce.example.org/events/avant\r\n"));
    }

    #[test]
    fn events_in_utc_need_no_time_zone() {
        let directory = Directory {
            events: vec![record("utc", "2026-10-24T10:00", "UTC")],
            ..Directory::default()
        };
        let text = String::from_utf8(render("Agenda", &directory)).expect("utf-8");
        assert!(text.contains("DTSTART:20261024T100000Z\r\n"), "{text}");
        assert!(!text.contains("VTIMEZONE"));
    }
}
