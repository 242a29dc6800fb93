//! Which remote URLs Maillage may fetch from or deliver to: no private networks, no blocked
//! domains. Used by both the fetcher and the delivery queue.
//!
//! The check is on the addresses a name resolves to, not on the name alone: a public name
//! can point at 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("`{0}` is not an https URL")]
    Scheme(String),
    #[error("`{0}` carries a user name or password")]
    Credentials(String),
    #[error("`{0}` names no host")]
    NoHost(String),
    #[error("the domain `{0}` is blocked on this instance")]
    Blocked(String),
    #[error("`{host}` is a {kind} address ({ip}): only public addresses are contacted")]
    NotPublic {
        host: String,
        ip: IpAddr,
        kind: &'static str,
    },
    #[error("cannot resolve `{0}`: {1}")]
    Resolve(String, String),
}

/// Whether private and loopback addresses may be contacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkMode {
    /// HTTPS to public addresses only.
    Production,
    /// HTTPS to public addresses and to these networks (`federation.allowed_addresses`): a
    /// network of poles on a VPN or an intranet, or instances tested on loopback. Everything
    /// else of production stays.
    ProductionAllowing(Arc<[Cidr]>),
    /// Plain http and any address: tests and local development only.
    Development,
}

impl NetworkMode {
    /// The scheme other servers are reached with.
    pub fn scheme(&self) -> &'static str {
        match self {
            NetworkMode::Development => "http",
            _ => "https",
        }
    }

    /// Whether a non-public address may be contacted anyway.
    fn allows(&self, ip: IpAddr) -> bool {
        match self {
            NetworkMode::Development => true,
            NetworkMode::ProductionAllowing(networks) => networks.iter().any(|n| n.contains(ip)),
            NetworkMode::Production => false,
        }
    }
}

/// A network in CIDR notation (`10.8.0.0/16`, `::1/128`), or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_matches(
                u128::from(u32::from(net)),
                u128::from(u32::from(ip)),
                32,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_matches(u128::from(net), u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// Whether the first `prefix` of `width` bits of `a` and `b` are the same.
fn prefix_matches(a: u128, b: u128, width: u8, prefix: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = u32::from(width - prefix);
    (a >> shift) == (b >> shift)
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("`{text}` is not an address or a network such as 10.8.0.0/16"))?;
        let network = network.to_canonical();
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("`{text}`: the prefix length must be 0 to {width}"))?,
        };
        Ok(Cidr { network, prefix })
    }
}

/// The kind of a non-public address, or `None` for a public one.
pub fn non_public_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_kind(v4);
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if first & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if first == 0x2001 && v6.segments()[1] == 0x0db8 {
                Some("documentation")
            } else if first == 0x0064 && v6.segments()[1] == 0xff9b {
                // NAT64 embeds an IPv4 address, which may be private.
                let [a, b] = v6.segments()[6].to_be_bytes();
                let [c, d] = v6.segments()[7].to_be_bytes();
                v4_kind(Ipv4Addr::new(a, b, c, d))
            } else {
                None
            }
        }
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, _, _] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_broadcast() || a >= 240 {
        Some("reserved")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_documentation() {
        Some("documentation")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("benchmarking")
    } else if a == 192 && b == 0 && ip.octets()[2] == 0 {
        Some("protocol assignment")
    } else {
        None
    }
}

/// A text that is not a domain name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a domain name such as spam.example")]
pub struct BadDomain(pub String);

/// A domain as blocks keep it: lower-case ASCII (international names in their `xn--` form),
/// without a trailing dot; IP addresses, ports, paths and schemes are refused.
pub fn parse_domain(input: &str) -> Result<String, BadDomain> {
    let bad = || BadDomain(input.to_owned());
    let plain = input.trim().trim_end_matches('.');
    if plain.is_empty() || plain.len() > 253 {
        return Err(bad());
    }
    let ascii = match url::Host::parse(plain) {
        Ok(url::Host::Domain(d)) => d,
        _ => return Err(bad()),
    };
    let labels_ok = ascii.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if !labels_ok {
        return Err(bad());
    }
    Ok(ascii.to_ascii_lowercase())
}

/// `host` without a `:port` after it. A bare IPv6 address (`2001:db8::1`) has no port: a
/// port follows one only in brackets (`[2001:db8::1]:443`).
fn without_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            name
        }
        _ => host,
    }
}

/// Whether `host` (lower-case, no trailing dot) is `domain` or one of its subdomains.
fn covers(domain: &str, host: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// Blocked domains: those of the configuration, fixed, and those an administrator stored,
/// replaced as a whole whenever they change. Clones share the stored list, so that every
/// check sees a change at once. A blocked domain blocks its subdomains too.
#[derive(Debug, Clone, Default)]
pub struct DomainBlocks {
    configured: Arc<Vec<String>>,
    stored: Arc<RwLock<Arc<Vec<String>>>>,
}

impl DomainBlocks {
    pub fn new(domains: impl IntoIterator<Item = String>) -> Self {
        DomainBlocks {
            configured: Arc::new(
                domains
                    .into_iter()
                    .map(|d| {
                        parse_domain(&d)
                            .unwrap_or_else(|_| d.trim().trim_end_matches('.').to_ascii_lowercase())
                    })
                    .filter(|d| !d.is_empty())
                    .collect(),
            ),
            stored: Arc::default(),
        }
    }

    /// Replaces the stored blocks (already in the form [`parse_domain`] gives).
    pub fn set_stored(&self, domains: Vec<String>) {
        let domains = Arc::new(domains);
        match self.stored.write() {
            Ok(mut stored) => *stored = domains,
            Err(poisoned) => *poisoned.into_inner() = domains,
        }
    }

    fn stored(&self) -> Arc<Vec<String>> {
        match self.stored.read() {
            Ok(stored) => stored.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The blocks of the configuration, which only a restart changes.
    pub fn configured(&self) -> &[String] {
        &self.configured
    }

    /// The configured block covering `domain`, if any.
    pub fn configured_block(&self, domain: &str) -> Option<&str> {
        self.configured
            .iter()
            .find(|d| covers(d, domain))
            .map(String::as_str)
    }

    /// Whether `host` (a host name, or `host:port` as domains are stored) is blocked.
    pub fn is_blocked(&self, host: &str) -> bool {
        let host = without_port(host)
            .trim_end_matches('.')
            .to_ascii_lowercase();
        self.configured.iter().any(|d| covers(d, &host))
            || self.stored().iter().any(|d| covers(d, &host))
    }
}

/// Checks what can be known without the network: scheme, credentials, host, blocks, literal IPs.
pub fn check_url(url: &Url, mode: &NetworkMode, blocks: &DomainBlocks) -> Result<(), UrlError> {
    let allowed_scheme = url.scheme() == mode.scheme() || url.scheme() == "https";
    if !allowed_scheme {
        return Err(UrlError::Scheme(url.to_string()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials(url.to_string()));
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        Some(url::Host::Ipv4(ip)) => return check_ip(&ip.to_string(), IpAddr::V4(ip), mode),
        Some(url::Host::Ipv6(ip)) => return check_ip(&ip.to_string(), IpAddr::V6(ip), mode),
        None => return Err(UrlError::NoHost(url.to_string())),
    };
    if blocks.is_blocked(&host) {
        return Err(UrlError::Blocked(host));
    }
    if is_loopback_name(&host) && !mode.allows(IpAddr::V4(Ipv4Addr::LOCALHOST)) {
        return Err(UrlError::NotPublic {
            host,
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            kind: "loopback",
        });
    }
    Ok(())
}

fn check_ip(host: &str, ip: IpAddr, mode: &NetworkMode) -> Result<(), UrlError> {
    match non_public_kind(ip) {
        Some(kind) if !mode.allows(ip) => Err(UrlError::NotPublic {
            host: host.to_owned(),
            ip,
            kind,
        }),
        _ => Ok(()),
    }
}

/// Whether a name is `localhost` or one under it, which RFC 6761 §6.3 reserves for the
/// loopback interface.
pub fn is_loopback_name(host: &str) -> bool {
    let bare = host.trim_end_matches('.').to_ascii_lowercase();
    bare == "localhost" || bare.ends_with(".localhost")
}

/// The addresses of a name: loopback ones for `localhost` and the names under it, answered
/// here as RFC 6761 §6.3 asks (the system resolver may not know `x.localhost`), the system
/// resolver's for any other name. Nothing is checked: callers refuse what is not public.
pub async fn lookup(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    if is_loopback_name(host) {
        return Ok(vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
        ]);
    }
    Ok(tokio::net::lookup_host((host, port)).await?.collect())
}

/// Resolves the URL's host and checks every address it has; the caller connects only to
/// the addresses returned, so a second lookup cannot swap in a private one.
pub async fn resolve_checked(
    url: &Url,
    mode: &NetworkMode,
    blocks: &DomainBlocks,
) -> Result<Vec<SocketAddr>, UrlError> {
    check_url(url, mode, blocks)?;
    let host = url
        .host_str()
        .ok_or_else(|| UrlError::NoHost(url.to_string()))?;
    let port = url.port_or_known_default().unwrap_or(443);
    let host_for_lookup = host.trim_start_matches('[').trim_end_matches(']');
    let addrs = lookup(host_for_lookup, port)
        .await
        .map_err(|e| UrlError::Resolve(host.to_owned(), e.to_string()))?;
    check_resolved(host, addrs, mode)
}

/// Refuses a name as soon as one of its addresses is not public.
pub fn check_resolved(
    host: &str,
    addrs: Vec<SocketAddr>,
    mode: &NetworkMode,
) -> Result<Vec<SocketAddr>, UrlError> {
    if addrs.is_empty() {
        return Err(UrlError::Resolve(host.to_owned(), "no address".into()));
    }
    for addr in &addrs {
        check_ip(host, addr.ip(), mode)?;
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_is_taken_off_a_host_but_a_bare_ipv6_address_is_left_whole() {
        assert_eq!(without_port("example.org:8443"), "example.org");
        assert_eq!(without_port("example.org"), "example.org");
        assert_eq!(without_port("192.0.2.1:80"), "192.0.2.1");
        assert_eq!(without_port("[2001:db8::1]:443"), "[2001:db8::1]");
        assert_eq!(without_port("[2001:db8::1]"), "[2001:db8::1]");
        assert_eq!(without_port("2001:db8::1"), "2001:db8::1");
        assert_eq!(without_port("::1"), "::1");
        assert_eq!(without_port("example.org:"), "example.org:");
    }

    fn kind(ip: &str) -> Option<&'static str> {
        non_public_kind(ip.parse().expect("an address"))
    }

    #[test]
    fn private_loopback_and_link_local_ranges_are_refused() {
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.10",
            "198.51.100.1",
            "203.0.113.5",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "64:ff9b::a00:1",
        ] {
            assert!(kind(ip).is_some(), "{ip} must not count as public");
        }
        for ip in [
            "1.1.1.1",
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2a01:4f8::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(kind(ip), None, "{ip} is public");
        }
        assert_eq!(kind("169.254.169.254"), Some("link-local"));
        assert_eq!(kind("fe80::1"), Some("link-local"));
        assert_eq!(kind("192.168.0.1"), Some("private"));
    }

    #[test]
    fn listed_networks_are_reached_over_https_and_nothing_else() {
        let networks: Vec<Cidr> = ["10.8.0.0/16", "::1", "127.0.0.1/32"]
            .iter()
            .map(|n| n.parse().expect("a network"))
            .collect();
        let mode = NetworkMode::ProductionAllowing(networks.into());
        let blocks = DomainBlocks::new(["spam.example".to_owned()]);
        let check = |u: &str| check_url(&Url::parse(u).expect("url"), &mode, &blocks);
        assert!(check("https://10.8.3.4/actor").is_ok());
        assert!(check("https://[::1]:8443/actor").is_ok());
        assert!(
            check("https://a.localhost/actor").is_ok(),
            "a loopback name"
        );
        assert!(matches!(
            check("http://10.8.3.4/actor"),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            check("https://10.9.0.1/actor"),
            Err(UrlError::NotPublic { .. })
        ));
        assert!(matches!(
            check("https://spam.example/"),
            Err(UrlError::Blocked(_))
        ));
        let addr = |a: &str| a.parse::<SocketAddr>().expect("address");
        assert!(check_resolved("vpn.example", vec![addr("10.8.0.9:443")], &mode).is_ok());
        assert!(
            check_resolved(
                "rebind.example",
                vec![addr("10.8.0.9:443"), addr("192.168.1.1:443")],
                &mode
            )
            .is_err(),
            "every address must be public or listed"
        );
        for bad in ["10.8.0.0/40", "::1/129", "intranet", "10.8.0.0/x"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        let everything: Cidr = "0.0.0.0/0".parse().expect("all of IPv4");
        assert!(everything.contains("203.0.113.5".parse().expect("ip")));
        assert!(!everything.contains("::1".parse().expect("ip")));
    }

    #[test]
    fn urls_are_checked_before_any_connection() {
        let blocks = DomainBlocks::new(["spam.example".to_owned()]);
        let prod = NetworkMode::Production;
        let check = |u: &str| check_url(&Url::parse(u).expect("url"), &prod, &blocks);
        assert!(check("https://mastodon.example/users/a").is_ok());
        assert!(matches!(
            check("http://mastodon.example/"),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            check("https://u:p@mastodon.example/"),
            Err(UrlError::Credentials(_))
        ));
        assert!(matches!(
            check("https://spam.example/"),
            Err(UrlError::Blocked(_))
        ));
        assert!(matches!(
            check("https://a.b.SPAM.example./"),
            Err(UrlError::Blocked(_))
        ));
        assert!(check("https://notspam.example/").is_ok());
        assert!(matches!(
            check("https://127.0.0.1/actor"),
            Err(UrlError::NotPublic {
                kind: "loopback",
                ..
            })
        ));
        assert!(matches!(
            check("https://[::1]/actor"),
            Err(UrlError::NotPublic { .. })
        ));
        assert!(matches!(
            check("https://10.0.0.5/actor"),
            Err(UrlError::NotPublic {
                kind: "private",
                ..
            })
        ));
        assert!(matches!(
            check("https://169.254.169.254/latest"),
            Err(UrlError::NotPublic {
                kind: "link-local",
                ..
            })
        ));
        assert!(matches!(
            check("https://localhost/actor"),
            Err(UrlError::NotPublic { .. })
        ));
        let dev = check_url(
            &Url::parse("http://127.0.0.1:8080/actor").expect("url"),
            &NetworkMode::Development,
            &blocks,
        );
        assert!(dev.is_ok(), "development mode allows loopback and http");
        let dev_blocked = check_url(
            &Url::parse("http://spam.example/").expect("url"),
            &NetworkMode::Development,
            &blocks,
        );
        assert!(
            matches!(dev_blocked, Err(UrlError::Blocked(_))),
            "blocks hold in every mode"
        );
    }

    #[test]
    fn domains_are_normalised_or_refused() {
        for (given, kept) in [
            ("spam.example", "spam.example"),
            (" Spam.EXAMPLE. ", "spam.example"),
            ("localhost", "localhost"),
            ("bücher.example", "xn--bcher-kva.example"),
            ("a-b.c-d.example", "a-b.c-d.example"),
        ] {
            assert_eq!(parse_domain(given).as_deref(), Ok(kept), "{given}");
        }
        for bad in [
            "",
            ".",
            "https://spam.example/",
            "spam.example/x",
            "spam.example:443",
            "user@spam.example",
            "a..example",
            "-a.example",
            "a-.example",
            "a_b.example",
            "spam example",
            "127.0.0.1",
            "[::1]",
        ] {
            assert!(parse_domain(bad).is_err(), "`{bad}` is refused");
        }
        let long = format!("{}.example", "a".repeat(64));
        assert!(
            parse_domain(&long).is_err(),
            "labels are at most 63 characters"
        );
    }

    #[test]
    fn stored_blocks_are_shared_by_every_clone() {
        let blocks = DomainBlocks::new(["configured.example".to_owned()]);
        let client_copy = blocks.clone();
        assert!(!client_copy.is_blocked("spam.example"));
        blocks.set_stored(vec!["spam.example".to_owned()]);
        assert!(client_copy.is_blocked("spam.example"));
        assert!(client_copy.is_blocked("a.b.spam.example."));
        // Domains as stored, with a port.
        assert!(client_copy.is_blocked("a.spam.example:8443"));
        assert!(!client_copy.is_blocked("notspam.example:8443"));
        assert!(!client_copy.is_blocked("notspam.example"));
        assert!(client_copy.is_blocked("x.configured.example"));
        assert_eq!(
            client_copy.configured_block("x.configured.example"),
            Some("configured.example")
        );
        assert_eq!(client_copy.configured_block("spam.example"), None);
        let url = Url::parse("https://www.spam.example/inbox").expect("url");
        assert!(matches!(
            check_url(&url, &NetworkMode::Production, &client_copy),
            Err(UrlError::Blocked(_))
        ));
        blocks.set_stored(Vec::new());
        assert!(!client_copy.is_blocked("spam.example"));
        assert!(check_url(&url, &NetworkMode::Production, &client_copy).is_ok());
    }

    #[test]
    fn every_resolved_address_is_checked() {
        let public: SocketAddr = "93.184.216.34:443".parse().expect("addr");
        let private: SocketAddr = "10.0.0.7:443".parse().expect("addr");
        let prod = NetworkMode::Production;
        assert!(check_resolved("a.example", vec![public], &prod).is_ok());
        let err = check_resolved("rebind.example", vec![public, private], &prod).unwrap_err();
        assert!(
            matches!(
                err,
                UrlError::NotPublic {
                    kind: "private",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("rebind.example"));
        assert!(check_resolved("a.example", vec![private], &NetworkMode::Development).is_ok());
        assert!(matches!(
            check_resolved("a.example", vec![], &prod),
            Err(UrlError::Resolve(..))
        ));
    }

    #[tokio::test]
    async fn loopback_names_are_refused_before_any_lookup() {
        let blocks = DomainBlocks::default();
        for url in [
            "https://localhost:8443/actor",
            "https://localhost./actor",
            "https://api.LOCALHOST/x",
        ] {
            let url = Url::parse(url).expect("url");
            let err = resolve_checked(&url, &NetworkMode::Production, &blocks)
                .await
                .unwrap_err();
            assert!(matches!(err, UrlError::NotPublic { .. }), "{url}: {err}");
        }
        let url = Url::parse("http://127.0.0.1:8443/actor").expect("url");
        let addrs = resolve_checked(&url, &NetworkMode::Development, &blocks)
            .await
            .expect("literal");
        assert_eq!(
            addrs,
            vec!["127.0.0.1:8443".parse::<SocketAddr>().expect("addr")]
        );
    }

    #[tokio::test]
    async fn localhost_names_are_loopback_without_the_system_resolver() {
        let loopback = |port| {
            vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
            ]
        };
        // Names the system resolver of many machines does not know: answered here.
        for host in ["localhost", "e.localhost", "a.b.LocalHost", "x.localhost."] {
            assert!(is_loopback_name(host), "{host}");
            assert_eq!(lookup(host, 8080).await.expect(host), loopback(8080));
        }
        for host in [
            "localhost.example",
            "notlocalhost",
            "localhost-a.example",
            "example",
        ] {
            assert!(!is_loopback_name(host), "{host}");
        }
        let blocks = DomainBlocks::new(["e.localhost".to_owned()]);
        let dev = NetworkMode::Development;
        let url = Url::parse("http://a.localhost:8443/actor").expect("url");
        assert_eq!(
            resolve_checked(&url, &dev, &blocks).await.expect("allowed"),
            loopback(8443)
        );
        let url = Url::parse("https://a.localhost:8443/actor").expect("url");
        let err = resolve_checked(&url, &NetworkMode::Production, &blocks)
            .await
            .unwrap_err();
        assert!(matches!(err, UrlError::NotPublic { .. }), "{err}");
        // A block holds for loopback names too, before any lookup.
        let url = Url::parse("http://sub.e.localhost:8443/actor").expect("url");
        assert!(matches!(
            resolve_checked(&url, &dev, &blocks).await,
            Err(UrlError::Blocked(_))
        ));
    }
}
