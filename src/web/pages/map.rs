//! The map page: poles at their shared place and upcoming events, and the same as a list for
//! those who cannot use the map.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::directory;
use super::views::ObjectItem;
use super::{Ctx, Meta, error_page, html};
use crate::store::search::MAX_ROWS;
use crate::store::{DirectoryKind, DirectoryQuery};
use crate::web::AppState;

#[derive(Template)]
#[template(path = "map.html")]
struct MapPage {
    c: Ctx,
    meta: Meta,
    tile_url: String,
    tile_attribution: String,
    points: Vec<ObjectItem>,
    unplaced: Vec<ObjectItem>,
    points_json: String,
}

/// `GET /map`: poles (at their shared place) and upcoming events on a map, and the same
/// as a list for those who cannot use the map.
pub async fn map(State(state): State<AppState>, c: Ctx) -> Response {
    let params = DirectoryQuery {
        kinds: vec![DirectoryKind::Pole, DirectoryKind::Event],
        upcoming: true,
        page: 1,
        per_page: MAX_ROWS,
        ..DirectoryQuery::default()
    };
    let selection = match directory::select(&state.store, &params, c.lang).await {
        Ok(s) => s,
        Err(e) => return error_page(&c, e.into()),
    };
    let (points, unplaced): (Vec<_>, Vec<_>) = selection
        .items
        .into_iter()
        .partition(|i| i.lat.is_some() && i.lon.is_some());
    let data: Vec<_> = points
        .iter()
        .map(|p| json!({"kind": p.kind, "title": p.title, "url": p.url, "facts": p.facts, "lat": p.lat, "lon": p.lon}))
        .collect();
    let meta = Meta::new(c.t("map.title"), c.t("map.intro"), state.store.url("/map")).alternate(
        "application/geo+json",
        "/feeds/directory.geojson".into(),
        "GeoJSON",
    );
    let page = MapPage {
        meta,
        tile_url: state.config.web.tile_url.clone(),
        tile_attribution: state.config.web.tile_attribution.clone(),
        points,
        unplaced: unplaced.into_iter().filter(|i| i.kind == "pole").collect(),
        points_json: serde_json::Value::from(data)
            .to_string()
            .replace('<', "\\u003c"),
        c,
    };
    html(&page, StatusCode::OK)
}
