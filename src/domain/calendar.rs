//! Names of days and months, for dates written in words.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike};

pub const FRENCH_WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];

pub const FRENCH_MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

pub const ENGLISH_WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

pub const ENGLISH_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A month code (`2026-11`) in words with `names` (`novembre 2026`); `None` if it is not one.
pub fn month_in_words(code: &str, names: &[&str; 12]) -> Option<String> {
    let date = NaiveDate::parse_from_str(&format!("{code}-01"), "%Y-%m-%d").ok()?;
    let name = names.get(date.month0() as usize)?;
    Some(format!("{name} {}", date.year()))
}

/// `samedi 5 décembre 2026`, `vendredi 1er janvier 2027`.
pub fn french_date(date: NaiveDate) -> String {
    let day = match date.day() {
        1 => "1er".to_owned(),
        d => d.to_string(),
    };
    format!(
        "{} {day} {} {}",
        FRENCH_WEEKDAYS[date.weekday().num_days_from_monday() as usize],
        FRENCH_MONTHS[date.month0() as usize],
        date.year()
    )
}

/// `Saturday 5 December 2026`.
pub fn english_date(date: NaiveDate) -> String {
    format!(
        "{} {} {} {}",
        ENGLISH_WEEKDAYS[date.weekday().num_days_from_monday() as usize],
        date.day(),
        ENGLISH_MONTHS[date.month0() as usize],
        date.year()
    )
}

/// `5 décembre 2026`, `1er janvier 2027`: a date without its weekday.
pub fn french_day(date: NaiveDate) -> String {
    let day = match date.day() {
        1 => "1er".to_owned(),
        d => d.to_string(),
    };
    format!(
        "{day} {} {}",
        FRENCH_MONTHS[date.month0() as usize],
        date.year()
    )
}

/// `5 December 2026`.
pub fn english_day(date: NaiveDate) -> String {
    format!(
        "{} {} {}",
        date.day(),
        ENGLISH_MONTHS[date.month0() as usize],
        date.year()
    )
}

/// `14 h`, `9 h 30`, as French typography writes the time of day.
pub fn french_time<T: Timelike>(t: &T) -> String {
    match t.minute() {
        0 => format!("{} h", t.hour()),
        m => format!("{} h {m:02}", t.hour()),
    }
}

/// `14:00`, `09:30`.
pub fn english_time<T: Timelike>(t: &T) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// A span of time in words, in the zone of `start`: `samedi 5 décembre 2026, 14 h – 18 h`,
/// or with both days when it ends another day.
pub fn span_in_words<Z: TimeZone>(
    start: &DateTime<Z>,
    end: Option<&DateTime<Z>>,
    date: fn(NaiveDate) -> String,
    time: fn(&DateTime<Z>) -> String,
) -> String {
    let mut words = format!("{}, {}", date(start.date_naive()), time(start));
    if let Some(end) = end {
        if end.date_naive() == start.date_naive() {
            words.push_str(&format!(" – {}", time(end)));
        } else {
            words.push_str(&format!(" – {}, {}", date(end.date_naive()), time(end)));
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Paris;

    #[test]
    fn dates_and_times_as_people_write_them() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        assert_eq!(french_date(day(2026, 12, 10)), "jeudi 10 décembre 2026");
        assert_eq!(french_date(day(2027, 1, 1)), "vendredi 1er janvier 2027");
        assert_eq!(french_day(day(2027, 1, 1)), "1er janvier 2027");
        assert_eq!(english_date(day(2026, 12, 10)), "Thursday 10 December 2026");
        assert_eq!(english_day(day(2027, 1, 1)), "1 January 2027");
        let at = |d, h, m| {
            Paris
                .with_ymd_and_hms(2026, 12, d, h, m, 0)
                .single()
                .unwrap_or_else(|| Paris.timestamp_opt(0, 0).unwrap())
        };
        assert_eq!(french_time(&at(10, 14, 0)), "14 h");
        assert_eq!(french_time(&at(10, 9, 30)), "9 h 30");
        assert_eq!(english_time(&at(10, 9, 30)), "09:30");
        let fr = |t: &DateTime<chrono_tz::Tz>| french_time(t);
        assert_eq!(
            span_in_words(&at(10, 14, 0), Some(&at(10, 18, 30)), french_date, fr),
            "jeudi 10 décembre 2026, 14 h – 18 h 30"
        );
        assert_eq!(
            span_in_words(&at(10, 14, 0), Some(&at(11, 12, 0)), french_date, fr),
            "jeudi 10 décembre 2026, 14 h – vendredi 11 décembre 2026, 12 h"
        );
        assert_eq!(
            span_in_words(&at(10, 14, 0), None, english_date, english_time),
            "Thursday 10 December 2026, 14:00"
        );
    }
}
