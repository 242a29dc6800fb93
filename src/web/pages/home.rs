//! The home page: what this instance is, its poles, upcoming events and open calls.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::directory;
use super::facts::{ATOM, ICAL};
use super::views::ObjectItem;
use super::{Ctx, Meta, error_page, html};
use crate::store::search::CallState;
use crate::store::{DirectoryKind, DirectoryQuery};
use crate::web::AppState;
use crate::web::error::ApiError;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Ctx,
    meta: Meta,
    summary: String,
    pole_count: usize,
    /// What a network's instance aggregates: « 240 pôles de 31 autres instances », or empty.
    elsewhere: String,
    poles: Vec<ObjectItem>,
    events: Vec<ObjectItem>,
    calls: Vec<ObjectItem>,
}

/// `GET /`: what this instance is, its poles, upcoming events and open calls.
pub async fn home(State(state): State<AppState>, c: Ctx) -> Response {
    match home_page(&state, &c).await {
        Ok(r) => r,
        Err(e) => error_page(&c, e),
    }
}

async fn home_page(state: &AppState, c: &Ctx) -> Result<Response, ApiError> {
    let settings = state.store.ensure_instance("Maillage").await?;
    let poles = directory::all_poles(&state.store).await?;
    let elsewhere = match state.store.poles_elsewhere().await? {
        (0, _) => String::new(),
        (poles, instances) => c
            .t(match (poles, instances) {
                (1, _) => "home.elsewhere_one",
                (_, 1) => "home.elsewhere_one_instance",
                _ => "home.elsewhere",
            })
            .replace("{poles}", &poles.to_string())
            .replace("{instances}", &instances.to_string()),
    };
    let select = |kind, upcoming, call_status| DirectoryQuery {
        kinds: vec![kind],
        upcoming,
        call_status,
        page: 1,
        per_page: 6,
        ..DirectoryQuery::default()
    };
    let events = directory::select(
        &state.store,
        &select(DirectoryKind::Event, true, None),
        c.lang,
    )
    .await?;
    let calls = directory::select(
        &state.store,
        &select(DirectoryKind::Call, false, Some(CallState::Open)),
        c.lang,
    )
    .await?;
    let summary = settings
        .summary
        .clone()
        .unwrap_or_else(|| c.t("home.default_summary").to_owned());
    let meta = Meta::new("", summary.clone(), state.store.url("/"))
        .alternate(
            ATOM,
            "/feeds/directory.atom".into(),
            c.t("layout.feed_atom"),
        )
        .alternate(ICAL, "/feeds/events.ics".into(), c.t("layout.feed_ics"))
        .with_json_ld(&json!({
            "@context": "https://schema.org",
            "@type": "WebSite",
            "name": settings.name,
            "url": state.store.url("/"),
            "potentialAction": {
                "@type": "SearchAction",
                "target": state.store.url("/directory?q={q}"),
                "query-input": "required name=q"
            }
        }));
    Ok(html(
        &HomePage {
            c: c.clone(),
            meta,
            summary,
            pole_count: poles.len(),
            elsewhere,
            poles: poles.iter().map(|p| ObjectItem::pole(p, c.lang)).collect(),
            events: events.items,
            calls: calls.items,
        },
        StatusCode::OK,
    ))
}
