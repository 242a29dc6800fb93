//! Field checks shared by the domain types; each returns the normalised value or a message.

use chrono::Datelike;
use url::Url;

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
pub fn required_text(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    bounded_text(value, max)
}

/// An optional text: blank means absent.
pub fn optional_text(value: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => bounded_text(v, max).map(Some),
    }
}

fn bounded_text(value: &str, max: usize) -> Result<String, String> {
    let count = value.chars().count();
    if count > max {
        return Err(format!(
            "is {count} characters long; at most {max} are allowed"
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err("contains control characters".into());
    }
    Ok(value.to_owned())
}

/// A pole's identifier in URLs and in `@slug@domain`: it never changes once created.
pub fn slug(value: &str) -> Result<String, String> {
    let value = value.trim();
    let len = value.len();
    if !(2..=64).contains(&len) {
        return Err("must be 2 to 64 characters long".into());
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if !value.chars().all(allowed) {
        return Err(
            "may only contain lower-case letters a-z, digits, `-` and `_` (no accents or spaces)"
                .into(),
        );
    }
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !value.starts_with(alnum) || !value.ends_with(alnum) {
        return Err("must start and end with a letter or a digit".into());
    }
    if RESERVED_SLUGS.contains(&value) {
        return Err(format!("`{value}` is reserved by the instance"));
    }
    Ok(value.to_owned())
}

/// An absolute http(s) URL.
pub fn web_url(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.len() > MAX_URL {
        return Err(format!("is longer than {MAX_URL} characters"));
    }
    let url = Url::parse(value).map_err(|e| format!("is not a valid URL ({e})"))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err("must start with https:// or http://".into());
    }
    if url.host_str().is_none_or(|h| h.is_empty()) {
        return Err("must name a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password".into());
    }
    Ok(url.to_string())
}

pub fn optional_web_url(value: Option<&str>) -> Result<Option<String>, String> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => web_url(v).map(Some),
    }
}

/// A plausible e-mail address (the only sure check is sending a message to it).
pub fn email(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.len() > 254 {
        return Err("is longer than 254 characters".into());
    }
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Err("is not an e-mail address (no `@`)".into());
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
        return Err(format!("`{value}` is not an e-mail address"));
    }
    Ok(value.to_owned())
}

/// A telephone number as people write it in France: digits, spaces, dots, dashes, `+`, parentheses.
pub fn phone(value: &str) -> Result<String, String> {
    let value = value.trim();
    let allowed = |c: char| c.is_ascii_digit() || " .-+()".contains(c);
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if !value.chars().all(allowed) || !(6..=20).contains(&digits) {
        return Err(
            "must be a telephone number such as 01 23 45 67 89 or +33 1 23 45 67 89".into(),
        );
    }
    Ok(value.to_owned())
}

pub fn current_year() -> i32 {
    chrono::Utc::now().year()
}

/// A year between `min` and next year (a founding date can be announced a little ahead).
pub fn year(value: i32, min: i32) -> Result<i32, String> {
    let max = current_year() + 1;
    if value < min || value > max {
        return Err(format!("must be between {min} and {max}"));
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

fn digits_only(value: &str, expected: usize, what: &str) -> Result<String, String> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() != expected || !compact.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("a {what} number has exactly {expected} digits"));
    }
    Ok(compact)
}

/// SIREN: 9 digits with a Luhn check digit; spaces are accepted and removed.
pub fn siren(value: &str) -> Result<String, String> {
    let compact = digits_only(value, 9, "SIREN")?;
    if !luhn(&compact) {
        return Err(format!(
            "`{compact}` is not a valid SIREN (its check digit is wrong)"
        ));
    }
    Ok(compact)
}

/// SIRET: 14 digits with a Luhn check digit; spaces are accepted and removed.
pub fn siret(value: &str) -> Result<String, String> {
    let compact = digits_only(value, 14, "SIRET")?;
    siren(&compact[..9]).map_err(|_| {
        format!("`{compact}` is not a valid SIRET (its first nine digits are not a valid SIREN)")
    })?;
    // La Poste's establishments share one SIREN and use their own rule: digit sum divisible by 5.
    let la_poste = compact.starts_with("356000000")
        && compact
            .bytes()
            .map(|b| u32::from(b - b'0'))
            .sum::<u32>()
            .is_multiple_of(5);
    if !luhn(&compact) && !la_poste {
        return Err(format!(
            "`{compact}` is not a valid SIRET (its check digit is wrong)"
        ));
    }
    Ok(compact)
}

/// Rejects lists longer than [`MAX_LIST`] and removes duplicates, keeping the first order.
pub fn dedup_list<T: PartialEq + Clone>(values: &[T]) -> Result<Vec<T>, String> {
    if values.len() > MAX_LIST {
        return Err(format!(
            "has {} entries; at most {MAX_LIST} are allowed",
            values.len()
        ));
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
        assert!(siren("732829321").unwrap_err().contains("check digit"));
        assert!(siren("73282932").unwrap_err().contains("9 digits"));
        assert!(siren("73282932A").unwrap_err().contains("9 digits"));
        assert!(siren("").is_err());
    }

    #[test]
    fn siret_accepts_valid_and_refuses_the_rest() {
        assert_eq!(siret("732 829 320 00074").unwrap(), "73282932000074");
        assert!(siret("73282932000075").unwrap_err().contains("check digit"));
        assert!(siret("73282932100074").unwrap_err().contains("SIREN"));
        assert!(siret("7328293200007").unwrap_err().contains("14 digits"));
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
        assert!(
            required_text("abcdefghijk", 10)
                .unwrap_err()
                .contains("at most 10")
        );
        assert!(required_text("a\u{0007}b", 10).is_err());
        assert_eq!(optional_text(Some("  "), 10).unwrap(), None);
        assert!(year(2011, 1900).is_ok());
        assert!(year(1899, 1900).is_err());
        assert!(year(current_year() + 2, 1900).is_err());
        assert_eq!(dedup_list(&[1, 2, 1]).unwrap(), vec![1, 2]);
        assert!(dedup_list(&vec![0; 51]).is_err());
    }
}
