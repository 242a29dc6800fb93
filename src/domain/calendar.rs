//! Names of days and months, for dates written in words.

use chrono::{Datelike, NaiveDate};

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
