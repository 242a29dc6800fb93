//! Field checks shared by the domain types; each returns the normalised value or a [`Message`].

use chrono::Datelike;
use url::Url;

use super::message::{Code, Message};

pub const MAX_NAME: usize = 200;
pub const MAX_SUMMARY: usize = 500;
pub const MAX_DESCRIPTION: usize = 50_000;
pub const MAX_URL: usize = 2_048;
pub const MAX_LIST: usize = 50;

/// Slugs that name the instance's own paths or actors, so no pole can take them.
const RESERVED_SLUGS: &[&str] = &[
    "relay",
    "instance",
    "admin",
    "api",
    "static",
    "media",
    "well-known",
    "nodeinfo",
    "inbox",
    "outbox",
    "poles",
    "projects",
    "events",
    "calls",
    "search",
    "map",
    "stats",
    "feeds",
    "login",
    "logout",
    "about",
];

/// A required single-line text: trimmed, not empty, at most `max` characters, no control characters.
pub fn required_text(value: &str, max: usize) -> Result<String, Message> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Code::Required.into());
    }
    bounded_text(value, max)
}

/// An optional text: blank means absent.
pub fn optional_text(value: Option<&str>, max: usize) -> Result<Option<String>, Message> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => bounded_text(v, max).map(Some),
    }
}

fn bounded_text(value: &str, max: usize) -> Result<String, Message> {
    let count = value.chars().count();
    if count > max {
        return Err(Message::new(Code::TooLong)
            .arg("count", count)
            .arg("max", max));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(Code::ControlCharacters.into());
    }
    Ok(value.to_owned())
}

/// A pole's identifier in URLs and in `@slug@domain`: it never changes once created.
pub fn slug(value: &str) -> Result<String, Message> {
    let value = value.trim();
    let len = value.len();
    if !(2..=64).contains(&len) {
        return Err(Code::SlugLength.into());
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if !value.chars().all(allowed) {
        return Err(Code::SlugCharacters.into());
    }
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !value.starts_with(alnum) || !value.ends_with(alnum) {
        return Err(Code::SlugEdges.into());
    }
    if RESERVED_SLUGS.contains(&value) {
        return Err(Message::new(Code::SlugReserved).arg("value", value));
    }
    Ok(value.to_owned())
}

/// An absolute http(s) URL.
pub fn web_url(value: &str) -> Result<String, Message> {
    let value = value.trim();
    if value.len() > MAX_URL {
        return Err(Message::new(Code::UrlTooLong).arg("max", MAX_URL));
    }
    let url = Url::parse(value).map_err(|_| Message::new(Code::InvalidUrl).arg("value", value))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(Code::UrlScheme.into());
    }
    if url.host_str().is_none_or(|h| h.is_empty()) {
        return Err(Code::UrlHost.into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Code::UrlCredentials.into());
    }
    Ok(url.to_string())
}

pub fn optional_web_url(value: Option<&str>) -> Result<Option<String>, Message> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => web_url(v).map(Some),
    }
}

/// A plausible e-mail address (the only sure check is sending a message to it).
pub fn email(value: &str) -> Result<String, Message> {
    let value = value.trim();
    if value.len() > 254 {
        return Err(Message::new(Code::EmailTooLong).arg("max", 254));
    }
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Err(Code::EmailNoAt.into());
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
    if local.is_empty()
        || local.contains('@')
        || value.chars().any(|c| c.is_whitespace() || c.is_control())
        || !domain_ok
    {
        return Err(Message::new(Code::InvalidEmail).arg("value", value));
    }
    Ok(value.to_owned())
}

/// A telephone number as people write it in France: digits, spaces, dots, dashes, `+`, parentheses.
pub fn phone(value: &str) -> Result<String, Message> {
    let value = value.trim();
    let allowed = |c: char| c.is_ascii_digit() || " .-+()".contains(c);
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if !value.chars().all(allowed) || !(6..=20).contains(&digits) {
        return Err(Code::InvalidPhone.into());
    }
    Ok(value.to_owned())
}

pub fn current_year() -> i32 {
    chrono::Utc::now().year()
}

/// A year between `min` and next year (a founding date can be announced a little ahead).
pub fn year(value: i32, min: i32) -> Result<i32, Message> {
    let max = current_year() + 1;
    if value < min || value > max {
        return Err(Message::new(Code::YearRange)
            .arg("min", min)
            .arg("max", max));
    }
    Ok(value)
}

/// The Luhn checksum used by SIREN and SIRET numbers.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn digits_only(value: &str, expected: usize, what: &str) -> Result<String, Message> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() != expected || !compact.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Message::new(Code::DigitCount)
            .arg("what", what)
            .arg("count", expected));
    }
    Ok(compact)
}

/// SIREN: 9 digits with a Luhn check digit; spaces are accepted and removed.
pub fn siren(value: &str) -> Result<String, Message> {
    let compact = digits_only(value, 9, "SIREN")?;
    if !luhn(&compact) {
        return Err(Message::new(Code::InvalidSiren).arg("value", compact));
    }
    Ok(compact)
}

/// SIRET: 14 digits with a Luhn check digit; spaces are accepted and removed.
pub fn siret(value: &str) -> Result<String, Message> {
    let compact = digits_only(value, 14, "SIRET")?;
    siren(&compact[..9])
        .map_err(|_| Message::new(Code::InvalidSiretSiren).arg("value", &compact))?;
    // La Poste's establishments share one SIREN and use their own rule: digit sum divisible by 5.
    let la_poste = compact.starts_with("356000000")
        && compact
            .bytes()
            .map(|b| u32::from(b - b'0'))
            .sum::<u32>()
            .is_multiple_of(5);
    if !luhn(&compact) && !la_poste {
        return Err(Message::new(Code::InvalidSiret).arg("value", compact));
    }
    Ok(compact)
}

/// Rejects lists longer than [`MAX_LIST`] and removes duplicates, keeping the first order.
pub fn dedup_list<T: PartialEq + Clone>(values: &[T]) -> Result<Vec<T>, Message> {
    if values.len() > MAX_LIST {
        return Err(Message::new(Code::TooMany)
            .arg("count", values.len())
            .arg("max", MAX_LIST));
    }
    let mut out: Vec<T> = Vec::with_capacity(values.len());
    for v in values {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siren_accepts_valid_and_refuses_the_rest() {
        assert_eq!(siren("732 829 320").unwrap(), "732829320");
        assert_eq!(siren("552100554").unwrap(), "552100554");
        assert!(siren("732829321").unwrap_err().code == Code::InvalidSiren);
        assert!(siren("73282932").unwrap_err().get("count") == Some("9"));
        assert!(siren("73282932A").unwrap_err().code == Code::DigitCount);
        assert!(siren("").is_err());
    }

    #[test]
    fn siret_accepts_valid_and_refuses_the_rest() {
        assert_eq!(siret("732 829 320 00074").unwrap(), "73282932000074");
        assert!(siret("73282932000075").unwrap_err().code == Code::InvalidSiret);
        assert!(siret("73282932100074").unwrap_err().code == Code::InvalidSiretSiren);
        assert!(siret("7328293200007").unwrap_err().get("count") == Some("14"));
        // La Poste: SIREN 356000000, digit sum a multiple of 5.
        assert!(siret("35600000000048").is_ok());
        assert!(siret("35600000000049").is_err());
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("ptce-sud-est_2").unwrap(), "ptce-sud-est_2");
        for bad in [
            "a",
            "Pole",
            "pôle",
            "pole sud",
            "-pole",
            "pole-",
            "relay",
            "api",
            &"x".repeat(65),
        ] {
            assert!(slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_emails_phones() {
        assert_eq!(
            web_url(" https://ptce.example.org ").unwrap(),
            "https://ptce.example.org/"
        );
        for bad in [
            "javascript:alert(1)",
            "ftp://x.org",
            "not a url",
            "https://user:pw@x.org",
            "mailto:a@b.fr",
        ] {
            assert!(web_url(bad).is_err(), "{bad}");
        }
        assert!(email("contact@ptce.fr").is_ok());
        for bad in [
            "contact",
            "a@b",
            "a b@c.fr",
            "@c.fr",
            "a@.fr",
            "a@c.fr.",
            "a\0b@c.fr",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert!(phone("+33 1 23 45 67 89").is_ok());
        assert!(phone("01.23.45.67.89").is_ok());
        assert!(phone("call me").is_err());
        assert!(phone("12").is_err());
    }

    #[test]
    fn texts_and_years() {
        assert_eq!(required_text("  Pôle  ", 10).unwrap(), "Pôle");
        assert!(required_text("   ", 10).is_err());
        assert!(required_text("abcdefghijk", 10).unwrap_err().get("max") == Some("10"));
        assert!(required_text("a\u{0007}b", 10).is_err());
        assert_eq!(optional_text(Some("  "), 10).unwrap(), None);
        assert!(year(2011, 1900).is_ok());
        assert!(year(1899, 1900).is_err());
        assert!(year(current_year() + 2, 1900).is_err());
        assert_eq!(dedup_list(&[1, 2, 1]).unwrap(), vec![1, 2]);
        assert!(dedup_list(&vec![0; 51]).is_err());
    }
}
