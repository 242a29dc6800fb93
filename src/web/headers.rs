//! What every answer tells the browser about its own safety, `/robots.txt` and the icon.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// The policies a page is loaded under: its own scripts and styles only, images from here,
/// `data:` and any https server (remote poles' logos, the map's tiles), nothing framing
/// it but this site (the administration: nothing at all).
pub fn content_security_policy(tile_url: &str, administration: bool) -> String {
    let tiles = tile_source(tile_url)
        .map(|s| format!(" {s}"))
        .unwrap_or_default();
    let frames = if administration { "'none'" } else { "'self'" };
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; \
         img-src 'self' data: https:{tiles}; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors {frames}"
    )
}

/// The origin the map's tiles come from when it is not already allowed by `https:`: a
/// plain-http tile server (`{s}` subdomains become a wildcard).
fn tile_source(tile_url: &str) -> Option<String> {
    let rest = tile_url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?.replace("{s}", "*");
    let valid = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*' | '[' | ']'));
    valid.then(|| format!("http://{authority}"))
}

/// Adds the safety headers to answers that do not set their own: the content security
/// policy, no referrer beyond this origin on other sites, no sniffing of content types,
/// and HSTS when the instance is served over https.
pub async fn secure(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let administration = request.uri().path().starts_with("/admin");
    let mut response = next.run(request).await;
    let https = state.config.public_url.starts_with("https://");
    let policy = content_security_policy(&state.config.web.tile_url, administration);
    set_missing(response.headers_mut(), https, &policy);
    response
}

fn set_missing(headers: &mut HeaderMap, https: bool, policy: &str) {
    if let Ok(value) = HeaderValue::from_str(policy) {
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(value);
    }
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    if https {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static("max-age=31536000"));
    }
}

/// Robots may read the public directory, not the administration nor the API's writes.
pub async fn robots() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "User-agent: *\nDisallow: /admin\nDisallow: /lang/\nAllow: /\n",
    )
        .into_response()
}

/// The site's icon, for browsers that ask for `/favicon.ico` without reading the page.
pub async fn favicon() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=604800"),
        ],
        FAVICON,
    )
        .into_response()
}

/// The mesh of the project's name: four nodes linked, white on the site's blue.
pub const FAVICON: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/favicon.svg"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_a_plain_http_tile_server_and_frames_by_place() {
        let public =
            content_security_policy("https://tile.openstreetmap.org/{z}/{x}/{y}.png", false);
        assert!(public.contains("img-src 'self' data: https:;"), "{public}");
        assert!(public.ends_with("frame-ancestors 'self'"), "{public}");
        let admin = content_security_policy("http://{s}.tiles.example:8080/{z}/{x}/{y}.png", true);
        assert!(
            admin.contains("https: http://*.tiles.example:8080;"),
            "{admin}"
        );
        assert!(admin.ends_with("frame-ancestors 'none'"), "{admin}");
        // Nothing of a malformed template reaches the header.
        assert_eq!(tile_source("http://a b;script-src */x"), None);
    }

    #[test]
    fn answers_keep_their_own_policy() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox"),
        );
        set_missing(&mut headers, true, "default-src 'self'");
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], "sandbox");
        assert_eq!(
            headers[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000"
        );
        let mut plain = HeaderMap::new();
        set_missing(&mut plain, false, "default-src 'self'");
        assert!(!plain.contains_key(header::STRICT_TRANSPORT_SECURITY));
    }
}
