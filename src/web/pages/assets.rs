//! Static files embedded in the binary, served under content-hashed URLs.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    path: &'static str,
    bytes: &'static [u8],
    content_type: &'static str,
}

macro_rules! assets {
    ($($path:literal => $ty:literal),+ $(,)?) => {
        &[$(Asset {
            path: $path,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/", $path)),
            content_type: $ty,
        }),+]
    };
}

const ASSETS: &[Asset] = assets![
    "css/site.css" => "text/css; charset=utf-8",
    "favicon.svg" => "image/svg+xml",
    "js/map.js" => "text/javascript; charset=utf-8",
    "js/place-picker.js" => "text/javascript; charset=utf-8",
    "js/place-suggest.js" => "text/javascript; charset=utf-8",
    "vendor/leaflet/leaflet.js" => "text/javascript; charset=utf-8",
    "vendor/leaflet/leaflet.css" => "text/css; charset=utf-8",
    "vendor/leaflet/images/layers.png" => "image/png",
    "vendor/leaflet/images/layers-2x.png" => "image/png",
    "vendor/leaflet/images/marker-icon.png" => "image/png",
    "vendor/leaflet/images/marker-icon-2x.png" => "image/png",
    "vendor/leaflet/images/marker-shadow.png" => "image/png",
];

struct Index {
    /// Plain path to its hashed URL.
    urls: HashMap<&'static str, String>,
    /// Served path (plain or hashed, without `/static/`) to the asset and whether it is hashed.
    served: HashMap<String, (&'static Asset, bool)>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut urls = HashMap::new();
        let mut served = HashMap::new();
        for asset in ASSETS {
            let hash = hex::encode(&Sha256::digest(asset.bytes)[..6]);
            let hashed = match asset.path.rsplit_once('.') {
                Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
                None => format!("{}.{hash}", asset.path),
            };
            urls.insert(asset.path, format!("/static/{hashed}"));
            served.insert(hashed, (asset, true));
            served.insert(asset.path.to_owned(), (asset, false));
        }
        Index { urls, served }
    })
}

/// The cache-safe URL of an embedded file, such as `/static/css/site.1a2b3c4d5e6f.css`.
pub fn url(path: &str) -> String {
    index()
        .urls
        .get(path)
        .cloned()
        .unwrap_or_else(|| format!("/static/{path}"))
}

/// The size in bytes of an embedded file, for page-weight checks.
pub fn size(path: &str) -> Option<usize> {
    ASSETS
        .iter()
        .find(|a| a.path == path)
        .map(|a| a.bytes.len())
}

/// `GET /static/{*path}`: hashed names never change, so they are cached for a year; plain
/// names (which a stylesheet's relative `url()` may reach) are cached briefly.
pub async fn serve(Path(path): Path<String>) -> Response {
    let Some((asset, hashed)) = index().served.get(path.as_str()) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("no static file at /static/{path}"),
        )
            .into_response();
    };
    let cache = if *hashed {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_urls_change_with_content_and_keep_the_extension() {
        let css = url("css/site.css");
        assert!(css.starts_with("/static/css/site.") && css.ends_with(".css"));
        assert_ne!(css, "/static/css/site.css");
        let served = css.trim_start_matches("/static/");
        assert!(
            index()
                .served
                .get(served)
                .is_some_and(|(_, hashed)| *hashed)
        );
        assert!(size("vendor/leaflet/leaflet.js").is_some_and(|n| n > 1000));
    }
}
