//! Settings: built-in defaults, overridden by a TOML file, overridden by `MAILLAGE_*` variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::Url;

mod smtp;
pub use smtp::{SmtpConfig, SmtpSecurity};

/// A setting that cannot be used, with the name a person would type to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("setting `{setting}`: {message}")]
    Invalid { setting: String, message: String },
}

fn invalid(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.to_owned(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port the HTTP server listens on.
    pub listen: String,
    /// The URL at which people and other servers reach this instance.
    pub public_url: String,
    pub database: DatabaseConfig,
    pub uploads: UploadsConfig,
    pub api: ApiConfig,
    pub federation: FederationConfig,
    pub log: LogConfig,
    pub web: WebConfig,
    pub feeds: FeedsConfig,
    pub tls: TlsConfig,
    /// E-mail; without this section, none is sent.
    pub smtp: Option<SmtpConfig>,
}

/// HTTPS served by Maillage itself, without a reverse proxy in front.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// A PEM file with the certificate chain, the server's own certificate first.
    pub certificate: Option<String>,
    /// A PEM file with the certificate's private key.
    pub private_key: Option<String>,
}

impl TlsConfig {
    /// Whether `listen` serves HTTPS.
    pub fn enabled(&self) -> bool {
        self.certificate.is_some() || self.private_key.is_some()
    }
}

/// The web interface.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Map tiles, as a Leaflet URL template (`{s}`, `{z}`, `{x}`, `{y}`).
    pub tile_url: String,
    /// The credit the tile server requires, shown on the map (HTML allowed).
    pub tile_attribution: String,
    /// How long a sign-in to the administration lasts, in hours.
    pub session_hours: u32,
    /// Sign-ins whose password is checked at the same time, each on a thread of its own that
    /// keeps 19 MiB once it has checked one: this bounds what sign-ins take (more wait their
    /// turn).
    pub password_checks: usize,
    /// The bearer token that `/metrics` asks for; without one, `/metrics` is not served.
    pub metrics_token: Option<String>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            tile_url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".into(),
            tile_attribution:
                "&copy; <a href=\"https://www.openstreetmap.org/copyright\">OpenStreetMap</a>"
                    .into(),
            session_hours: 12,
            password_checks: 2,
            metrics_token: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedsConfig {
    /// Most items in one feed; further items are on the next `page`.
    pub max_items: u64,
}

impl Default for FeedsConfig {
    fn default() -> Self {
        FeedsConfig { max_items: 500 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FederationConfig {
    /// Allow plain http and loopback or private addresses for remote servers. Only for tests
    /// and local development: in production it would let anyone make this server call into
    /// the private network it runs in.
    pub development_mode: bool,
    /// Private or loopback networks (CIDR, such as `10.8.0.0/16` or `127.0.0.0/8`) that
    /// remote servers may be on: a network of poles on a VPN or an intranet. Everything else
    /// of production stays (HTTPS only, the check on the resolved address, signatures).
    pub allowed_addresses: Vec<String>,
    /// A PEM file of certificate authorities trusted besides the usual ones, for remote
    /// servers whose certificates come from a private authority.
    pub extra_root_certificates: Option<String>,
    /// Domains whose servers are never contacted and whose content is refused, with their subdomains.
    pub blocked_domains: Vec<String>,
    /// The wait before the first retry of a failed delivery; each later retry waits twice
    /// as long as the one before, up to six hours.
    pub retry_base_seconds: u64,
    /// How long a process may hold a delivery it took before another may take it over: what
    /// a process that died was sending waits this long. Longer than `request_timeout_seconds`.
    pub delivery_lease_seconds: u64,
    /// Incoming activities accepted per minute from one domain (0: no limit).
    pub inbox_requests_per_minute: u32,
    /// Deliveries sent at the same time, across all destination domains. Domains whose
    /// deliveries are failing share at most an eighth of them (at least one).
    pub delivery_concurrency: usize,
    /// How long to wait for a connection to another server, in seconds: a server that is
    /// down is found out this soon.
    pub connect_timeout_seconds: u64,
    /// How long a request to another server may take in all, answer included, in seconds:
    /// a server that takes the connection and never answers holds a delivery this long.
    pub request_timeout_seconds: u64,
    /// How long a signed request waits for its sender's key to be fetched, in seconds, all
    /// redirects and the owner's document included; past it the request is refused (`401`).
    /// Requests waiting on the same key share one fetch.
    pub key_fetch_timeout_seconds: u64,
    /// Whether another instance following this one waits for an administrator's approval
    /// (otherwise it is accepted at once).
    pub approve_instance_followers: bool,
    /// How long a copy of another instance's pole or object is kept without reading it again
    /// from its origin (which may have changed or deleted it without telling us).
    pub refresh_after: Age,
    /// The most documents the background refresh reads again in one run (every ten
    /// minutes), requests to one domain a second apart.
    pub refresh_batch: usize,
    /// Serve actors, collections and objects to federation clients only on a signed request
    /// (Mastodon's "secure mode"): servers this one blocks can no longer read them. Pages for
    /// browsers, WebFinger, NodeInfo and the instance actor stay public.
    pub require_signed_fetch: bool,
}

/// A length of time with its unit: `45s`, `30m`, `12h` or `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age(pub std::time::Duration);

impl Age {
    pub fn as_chrono(self) -> chrono::Duration {
        chrono::Duration::from_std(self.0).unwrap_or(chrono::Duration::MAX)
    }
}

impl std::str::FromStr for Age {
    type Err = String;

    fn from_str(text: &str) -> Result<Age, String> {
        let text = text.trim();
        let unit_at = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(unit_at);
        let seconds = match unit.trim() {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => 0,
        };
        match number.parse::<u64>() {
            Ok(n) if seconds > 0 && n <= u64::MAX / seconds => {
                Ok(Age(std::time::Duration::from_secs(n * seconds)))
            }
            _ => Err(format!(
                "`{text}` is not a length of time such as 45s, 30m, 12h or 7d"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Age {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Age, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            development_mode: false,
            allowed_addresses: Vec::new(),
            extra_root_certificates: None,
            blocked_domains: Vec::new(),
            retry_base_seconds: 60,
            delivery_lease_seconds: 300,
            inbox_requests_per_minute: 1200,
            delivery_concurrency: 64,
            connect_timeout_seconds: 5,
            request_timeout_seconds: 10,
            key_fetch_timeout_seconds: 5,
            approve_instance_followers: false,
            refresh_after: Age(std::time::Duration::from_secs(7 * 86_400)),
            refresh_batch: 200,
            require_signed_fetch: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
    /// How much of a SQLite database file is read through memory mapping (0: none). The
    /// directory of a network runs to gigabytes: mapped, its pages are read without a copy.
    pub sqlite_mmap_mib: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadsConfig {
    pub max_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    pub default_page_size: u64,
    pub max_page_size: u64,
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub filter: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://localhost:8080".into(),
            database: DatabaseConfig::default(),
            uploads: UploadsConfig::default(),
            api: ApiConfig::default(),
            federation: FederationConfig::default(),
            log: LogConfig::default(),
            web: WebConfig::default(),
            feeds: FeedsConfig::default(),
            tls: TlsConfig::default(),
            smtp: None,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://maillage.db".into(),
            max_connections: 8,
            busy_timeout_ms: 5_000,
            sqlite_mmap_mib: 1_024,
        }
    }
}

impl Default for UploadsConfig {
    fn default() -> Self {
        UploadsConfig {
            max_bytes: 2 * 1024 * 1024,
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            default_page_size: 20,
            max_page_size: 100,
            max_body_bytes: 256 * 1024,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// Which database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Config {
    /// Defaults, then the file if one is given, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// As [`Config::load`], with the environment given explicitly (for tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str::<Config>(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.to_string().trim().replace('\n', " "),
                })?
            }
            None => Config::default(),
        };
        for (name, value) in env {
            config.apply_env(&name, &value)?;
        }
        config.validate()?;
        Ok(config)
    }

    fn apply_env(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "MAILLAGE_LISTEN" => self.listen = value.to_owned(),
            "MAILLAGE_PUBLIC_URL" => self.public_url = value.to_owned(),
            "MAILLAGE_WEB_TILE_URL" => self.web.tile_url = value.to_owned(),
            "MAILLAGE_WEB_TILE_ATTRIBUTION" => self.web.tile_attribution = value.to_owned(),
            "MAILLAGE_WEB_SESSION_HOURS" => self.web.session_hours = parse_number(name, value)?,
            "MAILLAGE_WEB_PASSWORD_CHECKS" => self.web.password_checks = parse_number(name, value)?,
            "MAILLAGE_WEB_METRICS_TOKEN" => {
                self.web.metrics_token = Some(value.to_owned()).filter(|t| !t.is_empty())
            }
            "MAILLAGE_DATABASE_URL" => self.database.url = value.to_owned(),
            "MAILLAGE_DATABASE_MAX_CONNECTIONS" => {
                self.database.max_connections = parse_number(name, value)?
            }
            "MAILLAGE_DATABASE_BUSY_TIMEOUT_MS" => {
                self.database.busy_timeout_ms = parse_number(name, value)?
            }
            "MAILLAGE_DATABASE_SQLITE_MMAP_MIB" => {
                self.database.sqlite_mmap_mib = parse_number(name, value)?
            }
            "MAILLAGE_UPLOADS_MAX_BYTES" => self.uploads.max_bytes = parse_number(name, value)?,
            "MAILLAGE_API_DEFAULT_PAGE_SIZE" => {
                self.api.default_page_size = parse_number(name, value)?
            }
            "MAILLAGE_API_MAX_PAGE_SIZE" => self.api.max_page_size = parse_number(name, value)?,
            "MAILLAGE_API_MAX_BODY_BYTES" => self.api.max_body_bytes = parse_number(name, value)?,
            "MAILLAGE_FEDERATION_DEVELOPMENT_MODE" => {
                self.federation.development_mode = parse_bool(name, value)?
            }
            "MAILLAGE_FEDERATION_ALLOWED_ADDRESSES" => {
                self.federation.allowed_addresses = comma_list(value)
            }
            "MAILLAGE_FEDERATION_EXTRA_ROOT_CERTIFICATES" => {
                self.federation.extra_root_certificates = non_empty(value)
            }
            "MAILLAGE_TLS_CERTIFICATE" => self.tls.certificate = non_empty(value),
            "MAILLAGE_TLS_PRIVATE_KEY" => self.tls.private_key = non_empty(value),
            "MAILLAGE_FEDERATION_BLOCKED_DOMAINS" => {
                self.federation.blocked_domains = comma_list(value)
            }
            "MAILLAGE_FEDERATION_RETRY_BASE_SECONDS" => {
                self.federation.retry_base_seconds = parse_number(name, value)?
            }
            "MAILLAGE_FEDERATION_DELIVERY_LEASE_SECONDS" => {
                self.federation.delivery_lease_seconds = parse_number(name, value)?
            }
            "MAILLAGE_FEDERATION_INBOX_REQUESTS_PER_MINUTE" => {
                self.federation.inbox_requests_per_minute = parse_number(name, value)?
            }
            "MAILLAGE_FEDERATION_APPROVE_INSTANCE_FOLLOWERS" => {
                self.federation.approve_instance_followers = parse_bool(name, value)?
            }
            "MAILLAGE_FEDERATION_REQUIRE_SIGNED_FETCH" => {
                self.federation.require_signed_fetch = parse_bool(name, value)?
            }
            "MAILLAGE_FEDERATION_DELIVERY_CONCURRENCY" => {
                self.federation.delivery_concurrency = parse_number(name, value)?
            }
            "MAILLAGE_FEDERATION_CONNECT_TIMEOUT_SECONDS" => {
                self.federation.connect_timeout_seconds = parse_number(name, value)?
            }
            "MAILLAGE_FEDERATION_REQUEST_TIMEOUT_SECONDS" => {
                self.federation.request_timeout_seconds = parse_number(name, value)?
            }
            "MAILLAGE_FEDERATION_KEY_FETCH_TIMEOUT_SECONDS" => {
                self.federation.key_fetch_timeout_seconds = parse_number(name, value)?
            }
            "MAILLAGE_FEDERATION_REFRESH_AFTER" => {
                self.federation.refresh_after = value.parse().map_err(|e| invalid(name, e))?
            }
            "MAILLAGE_FEDERATION_REFRESH_BATCH" => {
                self.federation.refresh_batch = parse_number(name, value)?
            }
            "MAILLAGE_FEEDS_MAX_ITEMS" => self.feeds.max_items = parse_number(name, value)?,
            "MAILLAGE_LOG_FILTER" => self.log.filter = value.to_owned(),
            "MAILLAGE_LOG_FORMAT" => {
                self.log.format = match value {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    other => {
                        return Err(invalid(
                            name,
                            format!("expected `text` or `json`, got `{other}`"),
                        ));
                    }
                }
            }
            name if name.starts_with("MAILLAGE_SMTP_") => {
                smtp::apply_env(&mut self.smtp, name, value)?
            }
            // Other MAILLAGE_* names (the test suite's, for instance) are not settings.
            _ => {}
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.public_url()?;
        self.backend()?;
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        if self.federation.delivery_lease_seconds < 5 {
            return Err(invalid(
                "federation.delivery_lease_seconds",
                "must be at least 5 seconds, longer than a delivery may take",
            ));
        }
        if self
            .web
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.trim().len() < 16)
        {
            return Err(invalid(
                "web.metrics_token",
                "must be at least 16 characters (or left out, which turns /metrics off)",
            ));
        }
        if !(1..=64).contains(&self.web.password_checks) {
            return Err(invalid(
                "web.password_checks",
                "must be between 1 and 64 (each check holds 19 MiB while it runs)",
            ));
        }
        if self.federation.connect_timeout_seconds == 0 {
            return Err(invalid(
                "federation.connect_timeout_seconds",
                "must be at least 1 second",
            ));
        }
        if self.federation.key_fetch_timeout_seconds == 0 {
            return Err(invalid(
                "federation.key_fetch_timeout_seconds",
                "must be at least 1 second",
            ));
        }
        if self.federation.request_timeout_seconds < self.federation.connect_timeout_seconds {
            return Err(invalid(
                "federation.request_timeout_seconds",
                format!(
                    "must be at least federation.connect_timeout_seconds ({})",
                    self.federation.connect_timeout_seconds
                ),
            ));
        }
        if self.federation.delivery_lease_seconds <= self.federation.request_timeout_seconds {
            return Err(invalid(
                "federation.delivery_lease_seconds",
                format!(
                    "must be longer than federation.request_timeout_seconds ({}): a delivery \
                     still waiting for its answer would be taken over and sent again",
                    self.federation.request_timeout_seconds
                ),
            ));
        }
        if self.feeds.max_items == 0 {
            return Err(invalid("feeds.max_items", "must be at least 1"));
        }
        if self.uploads.max_bytes < 1024 {
            return Err(invalid("uploads.max_bytes", "must be at least 1024 bytes"));
        }
        if self.api.default_page_size == 0 || self.api.max_page_size == 0 {
            return Err(invalid(
                "api.default_page_size",
                "page sizes must be at least 1",
            ));
        }
        if self.api.default_page_size > self.api.max_page_size {
            return Err(invalid(
                "api.default_page_size",
                format!(
                    "is {} but api.max_page_size is {}",
                    self.api.default_page_size, self.api.max_page_size
                ),
            ));
        }
        if self.api.max_body_bytes < 1024 {
            return Err(invalid("api.max_body_bytes", "must be at least 1024 bytes"));
        }
        if self.federation.refresh_after.0 < std::time::Duration::from_secs(60) {
            return Err(invalid(
                "federation.refresh_after",
                "must be at least one minute (1m)",
            ));
        }
        if !(1..=100_000).contains(&self.federation.refresh_batch) {
            return Err(invalid(
                "federation.refresh_batch",
                "must be between 1 and 100000",
            ));
        }
        if let Some(smtp) = &self.smtp {
            smtp.validate()?;
        }
        self.allowed_networks()?;
        self.extra_root_certificates()?;
        if self.tls.enabled() {
            crate::web::tls::server_config(&self.tls)
                .map_err(|e| invalid(e.setting(), e.to_string()))?;
        }
        for domain in &self.federation.blocked_domains {
            crate::federation::fetch::url_check::parse_domain(domain)
                .map_err(|e| invalid("federation.blocked_domains", e.to_string()))?;
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.filter)
            .map_err(|e| invalid("log.filter", format!("not a valid log filter: {e}")))?;
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            invalid(
                "listen",
                format!(
                    "`{}` is not an address and port such as 127.0.0.1:8080 or [::1]:8080",
                    self.listen
                ),
            )
        })
    }

    /// The public URL without a trailing slash; only its origin is used.
    pub fn public_url(&self) -> Result<Url, ConfigError> {
        let url = Url::parse(&self.public_url)
            .map_err(|e| invalid("public_url", format!("`{}`: {e}", self.public_url)))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(invalid("public_url", "must start with https:// or http://"));
        }
        if url.host_str().is_none() {
            return Err(invalid("public_url", "must name a host"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(invalid(
                "public_url",
                "must be an origin only, such as https://ptce.example.org (no path, query or fragment): \
                 ActivityPub identifiers are built from it",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "public_url",
                "must not contain a user name or password",
            ));
        }
        Ok(url)
    }

    /// Whether remote servers on private networks may be contacted.
    pub fn network_mode(&self) -> crate::federation::fetch::url_check::NetworkMode {
        use crate::federation::fetch::url_check::NetworkMode;
        if self.federation.development_mode {
            return NetworkMode::Development;
        }
        match self.allowed_networks() {
            Ok(networks) if !networks.is_empty() => {
                NetworkMode::ProductionAllowing(networks.into())
            }
            _ => NetworkMode::Production,
        }
    }

    /// `federation.allowed_addresses`, read.
    pub fn allowed_networks(
        &self,
    ) -> Result<Vec<crate::federation::fetch::url_check::Cidr>, ConfigError> {
        self.federation
            .allowed_addresses
            .iter()
            .map(|n| {
                n.parse()
                    .map_err(|e| invalid("federation.allowed_addresses", e))
            })
            .collect()
    }

    /// The certificates of `federation.extra_root_certificates`, read from their file.
    pub fn extra_root_certificates(&self) -> Result<Vec<reqwest::Certificate>, ConfigError> {
        const SETTING: &str = "federation.extra_root_certificates";
        let Some(path) = &self.federation.extra_root_certificates else {
            return Ok(Vec::new());
        };
        let pem = std::fs::read(path)
            .map_err(|e| invalid(SETTING, format!("cannot read `{path}`: {e}")))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| invalid(SETTING, format!("`{path}`: {e}")))?;
        if certificates.is_empty() {
            return Err(invalid(
                SETTING,
                format!("`{path}` holds no PEM certificate"),
            ));
        }
        Ok(certificates)
    }

    pub fn domain_blocks(&self) -> crate::federation::fetch::url_check::DomainBlocks {
        crate::federation::fetch::url_check::DomainBlocks::new(
            self.federation.blocked_domains.clone(),
        )
    }

    pub fn backend(&self) -> Result<Backend, ConfigError> {
        let url = &self.database.url;
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(invalid(
                "database.url",
                format!(
                    "`{url}` is neither a SQLite URL (sqlite://path/to/file.db) nor a PostgreSQL URL (postgres://user@host/db)"
                ),
            ))
        }
    }
}

fn parse_number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(name, format!("expected a whole number, got `{value}`")))
}

fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .collect()
}

fn non_empty(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" | "" => Ok(false),
        other => Err(invalid(
            name,
            format!("expected `true` or `false`, got `{other}`"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn production_networks_roots_and_tls_are_checked_at_start() {
        use crate::federation::fetch::url_check::NetworkMode;
        let config = Config::load_from(
            None,
            env(&[(
                "MAILLAGE_FEDERATION_ALLOWED_ADDRESSES",
                "10.8.0.0/16, fd00::/8,127.0.0.1",
            )]),
        )
        .unwrap();
        let NetworkMode::ProductionAllowing(networks) = config.network_mode() else {
            panic!("production with the listed networks");
        };
        assert_eq!(networks.len(), 3);
        assert!(networks[0].contains("10.8.255.1".parse().unwrap()));
        assert!(!networks[0].contains("10.9.0.1".parse().unwrap()));
        assert!(networks[1].contains("fd12::1".parse().unwrap()));
        assert!(networks[2].contains("::ffff:127.0.0.1".parse().unwrap()));
        assert_eq!(Config::default().network_mode(), NetworkMode::Production);

        for (name, value, setting) in [
            (
                "MAILLAGE_FEDERATION_ALLOWED_ADDRESSES",
                "10.8.0.0/33",
                "federation.allowed_addresses",
            ),
            (
                "MAILLAGE_FEDERATION_ALLOWED_ADDRESSES",
                "intranet",
                "federation.allowed_addresses",
            ),
            (
                "MAILLAGE_FEDERATION_EXTRA_ROOT_CERTIFICATES",
                "/nonexistent/ca.pem",
                "federation.extra_root_certificates",
            ),
            (
                "MAILLAGE_TLS_CERTIFICATE",
                "/nonexistent/cert.pem",
                "tls.certificate",
            ),
        ] {
            let error = Config::load_from(None, env(&[(name, value)])).unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("setting `{setting}`")),
                "{value}: {error}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let error = Config::load_from(
            None,
            env(&[(
                "MAILLAGE_FEDERATION_EXTRA_ROOT_CERTIFICATES",
                empty.to_str().unwrap(),
            )]),
        )
        .unwrap_err();
        assert!(error.to_string().contains("no PEM certificate"), "{error}");
    }

    #[test]
    fn defaults_need_no_file() {
        let config = Config::load_from(None, Vec::new()).unwrap();
        assert_eq!(config.listen_addr().unwrap().to_string(), "127.0.0.1:8080");
        assert_eq!(
            config.public_url().unwrap().as_str(),
            "http://localhost:8080/"
        );
        assert_eq!(config.backend().unwrap(), Backend::Sqlite);
    }

    #[test]
    fn file_overrides_defaults_and_environment_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("maillage.toml");
        std::fs::write(
            &path,
            "public_url = \"https://ptce.example.org\"\n[database]\nurl = \"postgres://u@h/db\"\nmax_connections = 3\n",
        )
        .unwrap();
        let config = Config::load_from(Some(&path), Vec::new()).unwrap();
        assert_eq!(config.public_url, "https://ptce.example.org");
        assert_eq!(config.database.max_connections, 3);
        assert_eq!(config.backend().unwrap(), Backend::Postgres);
        assert_eq!(config.listen, "127.0.0.1:8080");

        let config = Config::load_from(
            Some(&path),
            env(&[
                ("MAILLAGE_DATABASE_MAX_CONNECTIONS", "5"),
                ("MAILLAGE_LISTEN", "0.0.0.0:9000"),
            ]),
        )
        .unwrap();
        assert_eq!(config.database.max_connections, 5);
        assert_eq!(config.listen, "0.0.0.0:9000");
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("MAILLAGE_LISTEN", "localhost")], "`listen`"),
            (&[("MAILLAGE_PUBLIC_URL", "ftp://x")], "`public_url`"),
            (
                &[("MAILLAGE_PUBLIC_URL", "https://x.org/maillage")],
                "`public_url`",
            ),
            (&[("MAILLAGE_DATABASE_URL", "mysql://x")], "`database.url`"),
            (
                &[("MAILLAGE_DATABASE_MAX_CONNECTIONS", "lots")],
                "MAILLAGE_DATABASE_MAX_CONNECTIONS",
            ),
            (
                &[("MAILLAGE_DATABASE_MAX_CONNECTIONS", "0")],
                "database.max_connections",
            ),
            (&[("MAILLAGE_LOG_FORMAT", "xml")], "MAILLAGE_LOG_FORMAT"),
            (
                &[("MAILLAGE_API_DEFAULT_PAGE_SIZE", "500")],
                "api.default_page_size",
            ),
            (
                &[("MAILLAGE_FEDERATION_REFRESH_AFTER", "a week")],
                "MAILLAGE_FEDERATION_REFRESH_AFTER",
            ),
            (
                &[("MAILLAGE_FEDERATION_REFRESH_AFTER", "30s")],
                "federation.refresh_after",
            ),
            (
                &[("MAILLAGE_FEDERATION_REFRESH_BATCH", "0")],
                "federation.refresh_batch",
            ),
            (
                &[("MAILLAGE_FEDERATION_REFRESH_BATCH", "many")],
                "MAILLAGE_FEDERATION_REFRESH_BATCH",
            ),
            (
                &[
                    ("MAILLAGE_FEDERATION_DELIVERY_LEASE_SECONDS", "10"),
                    ("MAILLAGE_FEDERATION_REQUEST_TIMEOUT_SECONDS", "10"),
                ],
                "federation.delivery_lease_seconds",
            ),
            (
                &[("MAILLAGE_FEDERATION_CONNECT_TIMEOUT_SECONDS", "0")],
                "federation.connect_timeout_seconds",
            ),
            (
                &[("MAILLAGE_FEDERATION_KEY_FETCH_TIMEOUT_SECONDS", "0")],
                "federation.key_fetch_timeout_seconds",
            ),
            (
                &[
                    ("MAILLAGE_FEDERATION_CONNECT_TIMEOUT_SECONDS", "5"),
                    ("MAILLAGE_FEDERATION_REQUEST_TIMEOUT_SECONDS", "2"),
                ],
                "federation.request_timeout_seconds",
            ),
        ];
        for (vars, expected) in cases {
            let err = Config::load_from(None, env(vars)).unwrap_err().to_string();
            assert!(err.contains(expected), "{vars:?}: {err}");
        }
    }

    #[test]
    fn federation_settings() {
        let config = Config::load_from(
            None,
            env(&[
                (
                    "MAILLAGE_FEDERATION_BLOCKED_DOMAINS",
                    "spam.example, bad.example",
                ),
                ("MAILLAGE_FEDERATION_DEVELOPMENT_MODE", "true"),
                ("MAILLAGE_FEDERATION_REFRESH_BATCH", "5000"),
                ("MAILLAGE_FEDERATION_CONNECT_TIMEOUT_SECONDS", "2"),
                ("MAILLAGE_FEDERATION_REQUEST_TIMEOUT_SECONDS", "30"),
            ]),
        )
        .unwrap();
        assert_eq!(config.federation.refresh_batch, 5000);
        assert_eq!(config.federation.connect_timeout_seconds, 2);
        assert_eq!(config.federation.request_timeout_seconds, 30);
        assert!(config.domain_blocks().is_blocked("a.spam.example"));
        assert!(!config.domain_blocks().is_blocked("good.example"));
        assert_eq!(
            config.network_mode(),
            crate::federation::fetch::url_check::NetworkMode::Development
        );
        assert_eq!(
            Config::default().network_mode(),
            crate::federation::fetch::url_check::NetworkMode::Production
        );
    }

    #[test]
    fn unknown_key_in_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("maillage.toml");
        std::fs::write(&path, "[database]\nurll = \"sqlite://x.db\"\n").unwrap();
        let err = Config::load_from(Some(&path), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("urll"), "{err}");
    }

    #[test]
    fn missing_file_is_reported() {
        let err = Config::load_from(Some(Path::new("/nonexistent/maillage.toml")), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/maillage.toml"), "{err}");
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    /// The example file documents every setting: it must parse and equal the defaults.
    #[test]
    fn example_file_matches_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("maillage.example.toml");
        let example = Config::load_from(Some(&path), Vec::new()).unwrap();
        let defaults = Config::default();
        assert_eq!(format!("{example:?}"), format!("{defaults:?}"));
    }

    #[test]
    fn ages_carry_their_unit() {
        let secs = |t: &str| t.parse::<Age>().map(|a| a.0.as_secs());
        assert_eq!(secs("45s"), Ok(45));
        assert_eq!(secs("30m"), Ok(1800));
        assert_eq!(secs(" 12h "), Ok(43_200));
        assert_eq!(secs("7d"), Ok(604_800));
        assert_eq!(secs("0s"), Ok(0));
        for bad in ["", "7", "d", "7w", "-1d", "1.5h", "99999999999999999999d"] {
            assert!(secs(bad).is_err(), "{bad}");
        }
        let config = Config::load_from(None, Vec::new()).unwrap();
        assert_eq!(config.federation.refresh_after.0.as_secs(), 7 * 86_400);
        let vars = [(
            "MAILLAGE_FEDERATION_REFRESH_AFTER".to_owned(),
            "2d".to_owned(),
        )];
        let config = Config::load_from(None, vars).unwrap();
        assert_eq!(config.federation.refresh_after.as_chrono().num_hours(), 48);
    }
}
