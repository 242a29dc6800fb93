//! The `[smtp]` section: the server e-mail is sent through. Without it, Maillage sends no
//! e-mail at all.

use serde::Deserialize;

use super::{ConfigError, invalid, non_empty, parse_bool, parse_number};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a server on loopback, or with `allow_unencrypted`.
    None,
}

impl std::str::FromStr for SmtpSecurity {
    type Err = String;

    fn from_str(text: &str) -> Result<SmtpSecurity, String> {
        match text.trim() {
            "starttls" => Ok(SmtpSecurity::Starttls),
            "tls" => Ok(SmtpSecurity::Tls),
            "none" => Ok(SmtpSecurity::None),
            other => Err(format!(
                "expected `starttls`, `tls` or `none`, got `{other}`"
            )),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// The SMTP server's host name.
    pub host: String,
    /// Its port; by default 587 with `starttls`, 465 with `tls`, 25 with `none`.
    pub port: Option<u16>,
    /// The user name to authenticate with, if the server asks for one.
    pub username: Option<String>,
    /// Its password (or `password_file`, read at start).
    pub password: Option<String>,
    /// A file holding the password (its first line), kept out of the configuration.
    pub password_file: Option<String>,
    /// The sender of every message: `noreply@example.org` or `Name <noreply@example.org>`.
    pub from: String,
    pub security: SmtpSecurity,
    /// Allow `security = "none"` to a server that is not on loopback.
    pub allow_unencrypted: bool,
    /// How long connecting to the server and sending one message may take, in seconds.
    pub timeout_seconds: u64,
    /// The hour (UTC, 0 to 23) from which the day's digest is sent.
    pub digest_hour: u32,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: None,
            username: None,
            password: None,
            password_file: None,
            from: String::new(),
            security: SmtpSecurity::Starttls,
            allow_unencrypted: false,
            timeout_seconds: 15,
            digest_hour: 7,
        }
    }
}

/// Applies a `MAILLAGE_SMTP_*` variable; any of them turns e-mail on.
pub(super) fn apply_env(
    smtp: &mut Option<SmtpConfig>,
    name: &str,
    value: &str,
) -> Result<(), ConfigError> {
    let smtp = smtp.get_or_insert_with(SmtpConfig::default);
    match name {
        "MAILLAGE_SMTP_HOST" => smtp.host = value.trim().to_owned(),
        "MAILLAGE_SMTP_PORT" => smtp.port = Some(parse_number(name, value)?),
        "MAILLAGE_SMTP_USERNAME" => smtp.username = non_empty(value),
        "MAILLAGE_SMTP_PASSWORD" => smtp.password = non_empty(value),
        "MAILLAGE_SMTP_PASSWORD_FILE" => smtp.password_file = non_empty(value),
        "MAILLAGE_SMTP_FROM" => smtp.from = value.trim().to_owned(),
        "MAILLAGE_SMTP_SECURITY" => {
            smtp.security = value.parse().map_err(|e: String| invalid(name, e))?
        }
        "MAILLAGE_SMTP_ALLOW_UNENCRYPTED" => smtp.allow_unencrypted = parse_bool(name, value)?,
        "MAILLAGE_SMTP_TIMEOUT_SECONDS" => smtp.timeout_seconds = parse_number(name, value)?,
        "MAILLAGE_SMTP_DIGEST_HOUR" => smtp.digest_hour = parse_number(name, value)?,
        _ => return Err(invalid(name, "is not an SMTP setting")),
    }
    Ok(())
}

/// Whether `host` is this machine: `localhost` or a loopback address.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

impl SmtpConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        })
    }

    /// The password, from the setting or its file.
    pub fn password(&self) -> Result<Option<String>, ConfigError> {
        match (&self.password, &self.password_file) {
            (Some(_), Some(_)) => Err(invalid(
                "smtp.password_file",
                "give smtp.password or smtp.password_file, not both",
            )),
            (Some(p), None) => Ok(Some(p.clone())),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    invalid("smtp.password_file", format!("cannot read `{path}`: {e}"))
                })?;
                let line = text.lines().next().unwrap_or_default().trim().to_owned();
                if line.is_empty() {
                    return Err(invalid(
                        "smtp.password_file",
                        format!("`{path}` holds no password"),
                    ));
                }
                Ok(Some(line))
            }
            (None, None) => Ok(None),
        }
    }

    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_seconds)
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let host = self.host.trim();
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
            return Err(invalid(
                "smtp.host",
                "must be the SMTP server's host name, such as smtp.example.org",
            ));
        }
        if self.port == Some(0) {
            return Err(invalid("smtp.port", "must be between 1 and 65535"));
        }
        if self.from.trim().is_empty() {
            return Err(invalid(
                "smtp.from",
                "must be the sender's address, such as `Maillage <noreply@example.org>`",
            ));
        }
        self.from
            .trim()
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| invalid("smtp.from", format!("`{}`: {e}", self.from)))?;
        let password = self.password()?;
        match (&self.username, &password) {
            (Some(_), None) => {
                return Err(invalid(
                    "smtp.password",
                    "smtp.username is set: give its password (smtp.password or smtp.password_file)",
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "smtp.username",
                    "a password is set: give the user name it belongs to",
                ));
            }
            _ => {}
        }
        if self.security == SmtpSecurity::None && !self.allow_unencrypted && !is_loopback(host) {
            return Err(invalid(
                "smtp.security",
                format!(
                    "`none` sends passwords and messages in clear: it is allowed only for a server \
                     on loopback, not `{host}` (use `starttls` or `tls`, or set \
                     smtp.allow_unencrypted = true)"
                ),
            ));
        }
        if !(1..=300).contains(&self.timeout_seconds) {
            return Err(invalid(
                "smtp.timeout_seconds",
                "must be between 1 and 300 seconds",
            ));
        }
        if self.digest_hour > 23 {
            return Err(invalid("smtp.digest_hour", "must be an hour from 0 to 23"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, String> {
        Config::load_from(
            None,
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn without_smtp_settings_there_is_no_mail() {
        assert!(load(&[]).unwrap().smtp.is_none());
    }

    #[test]
    fn smtp_settings_are_checked_at_start() {
        let ok = load(&[
            ("MAILLAGE_SMTP_HOST", "smtp.example.org"),
            ("MAILLAGE_SMTP_FROM", "Maillage <noreply@example.org>"),
            ("MAILLAGE_SMTP_USERNAME", "maillage"),
            ("MAILLAGE_SMTP_PASSWORD", "secret"),
        ])
        .unwrap();
        let smtp = ok.smtp.unwrap();
        assert_eq!(smtp.port(), 587);
        assert_eq!(smtp.password().unwrap().as_deref(), Some("secret"));
        let local = load(&[
            ("MAILLAGE_SMTP_HOST", "127.0.0.1"),
            ("MAILLAGE_SMTP_PORT", "2525"),
            ("MAILLAGE_SMTP_FROM", "noreply@example.org"),
            ("MAILLAGE_SMTP_SECURITY", "none"),
        ])
        .unwrap();
        assert_eq!(local.smtp.unwrap().port(), 2525);
        for (pairs, setting) in [
            (&[("MAILLAGE_SMTP_FROM", "a@example.org")][..], "smtp.host"),
            (
                &[("MAILLAGE_SMTP_HOST", "smtp.example.org")][..],
                "smtp.from",
            ),
            (
                &[
                    ("MAILLAGE_SMTP_HOST", "smtp.example.org"),
                    ("MAILLAGE_SMTP_FROM", "not an address"),
                ][..],
                "smtp.from",
            ),
            (
                &[
                    ("MAILLAGE_SMTP_HOST", "smtp.example.org"),
                    ("MAILLAGE_SMTP_FROM", "a@example.org"),
                    ("MAILLAGE_SMTP_SECURITY", "none"),
                ][..],
                "smtp.security",
            ),
            (
                &[
                    ("MAILLAGE_SMTP_HOST", "smtp.example.org"),
                    ("MAILLAGE_SMTP_FROM", "a@example.org"),
                    ("MAILLAGE_SMTP_USERNAME", "me"),
                ][..],
                "smtp.password",
            ),
            (
                &[
                    ("MAILLAGE_SMTP_HOST", "smtp.example.org"),
                    ("MAILLAGE_SMTP_FROM", "a@example.org"),
                    ("MAILLAGE_SMTP_USERNAME", "me"),
                    ("MAILLAGE_SMTP_PASSWORD_FILE", "/nonexistent/password"),
                ][..],
                "smtp.password_file",
            ),
            (
                &[
                    ("MAILLAGE_SMTP_HOST", "smtp.example.org"),
                    ("MAILLAGE_SMTP_FROM", "a@example.org"),
                    ("MAILLAGE_SMTP_SECURITY", "ssl"),
                ][..],
                "MAILLAGE_SMTP_SECURITY",
            ),
            (
                &[
                    ("MAILLAGE_SMTP_HOST", "smtp.example.org"),
                    ("MAILLAGE_SMTP_FROM", "a@example.org"),
                    ("MAILLAGE_SMTP_TIMEOUT_SECONDS", "0"),
                ][..],
                "smtp.timeout_seconds",
            ),
        ] {
            let error = load(pairs).unwrap_err();
            assert!(error.contains(setting), "{error} should name {setting}");
        }
    }
}
