//! A local pole's HTML page, and the follow button's redirect to the visitor's own server.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::facts::{ATOM, FIRST_100, Fact, ICAL, RSS, fact, first, link, place_ld, strip_nulls};
use super::views::{self, Label, ObjectItem};
use super::{Ctx, Lang, Meta, error_page, html};
use crate::domain::vocab::CallStatus;
use crate::web::AppState;
use crate::web::error::ApiError;

/// A member as a row of the pole's table.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub name: String,
    pub website: Option<String>,
    pub legal_form: &'static str,
    pub ess: &'static str,
    pub employees: &'static str,
    pub role: String,
}

/// The small map of a place with coordinates, beside its address.
#[derive(Debug, Clone)]
pub struct PlaceMap {
    pub lat: f64,
    pub lon: f64,
    pub address: String,
    pub tiles: String,
    pub attribution: String,
}

impl PlaceMap {
    pub fn new(state: &AppState, place: &crate::domain::place::Place) -> Option<PlaceMap> {
        Some(PlaceMap {
            lat: place.latitude?,
            lon: place.longitude?,
            address: place.one_line(),
            tiles: state.config.web.tile_url.clone(),
            attribution: state.config.web.tile_attribution.clone(),
        })
    }
}

#[derive(Template)]
#[template(path = "pole.html")]
struct PolePage {
    c: Ctx,
    meta: Meta,
    name: String,
    summary: String,
    handle: String,
    logo_url: Option<String>,
    logo_alt: String,
    banner_url: Option<String>,
    banner_alt: String,
    place_map: Option<PlaceMap>,
    description_html: String,
    follow_action: String,
    feed_atom: String,
    feed_rss: String,
    feed_ics: String,
    facts: Vec<Fact>,
    members: Vec<MemberRow>,
    events: Vec<ObjectItem>,
    calls: Vec<ObjectItem>,
    projects: Vec<ObjectItem>,
}

fn yes_no(lang: Lang, value: bool) -> &'static str {
    if value {
        lang.t("common.yes")
    } else {
        lang.t("common.no")
    }
}

/// The HTML page of a local pole, for browsers asking for `/poles/{slug}`.
pub async fn pole_page(state: &AppState, c: &Ctx, slug: &str) -> Response {
    match pole_page_inner(state, c, slug).await {
        Ok(r) => r,
        Err(e) => error_page(c, e),
    }
}

async fn pole_page_inner(state: &AppState, c: &Ctx, slug: &str) -> Result<Response, ApiError> {
    let store = &state.store;
    let record = store.pole(slug).await?;
    let lang = c.lang;
    let pole = &record.pole;
    let slug = pole.slug.clone();
    let territory = pole.territory.view();
    let names = |areas: &[crate::domain::territory::NamedArea]| {
        areas
            .iter()
            .map(|a| a.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut facts = Vec::new();
    if let Some(label) = &pole.territory.label {
        facts.push(fact(lang.t("pole.territory"), label.clone()));
    }
    if let Some(kind) = pole.territory.kind {
        facts.push(fact(lang.t("pole.territory_kind"), kind.label(lang)));
    }
    for (key, areas) in [
        ("pole.communes", &territory.communes),
        ("pole.epcis", &territory.epcis),
        ("pole.departements", &territory.departements),
        ("pole.regions", &territory.regions),
    ] {
        if !areas.is_empty() {
            facts.push(fact(lang.t(key), names(areas)));
        }
    }
    if !pole.themes.is_empty() {
        facts.push(fact(
            lang.t("pole.themes"),
            views::labels(&pole.themes, lang).join(", "),
        ));
    }
    if !pole.pooling.is_empty() {
        facts.push(fact(
            lang.t("pole.pooling"),
            views::labels(&pole.pooling, lang).join(", "),
        ));
    }
    if let Some(place) = &pole.shared_place {
        facts.push(fact(lang.t("pole.shared_place"), place.one_line()));
    }
    if let Some(form) = pole.legal_form {
        facts.push(fact(lang.t("pole.legal_form"), form.label(lang)));
    }
    if let Some(year) = pole.founded_year {
        facts.push(fact(lang.t("pole.founded"), year.to_string()));
    }
    for won in &pole.recognitions.national_calls {
        facts.push(fact(
            lang.t("pole.recognition"),
            format!("{} ({})", won.call.label(lang), won.year),
        ));
    }
    if let Some(year) = pole.recognitions.charter_signed_year {
        facts.push(fact(lang.t("pole.charter"), year.to_string()));
    }
    if let Some(site) = &pole.website {
        facts.push(link(lang.t("pole.website"), site.clone(), site.clone()));
    }
    if let Some(mail) = &pole.contact_email {
        facts.push(link(
            lang.t("pole.email"),
            mail.clone(),
            format!("mailto:{mail}"),
        ));
    }
    if let Some(phone) = &pole.contact_phone {
        facts.push(link(
            lang.t("pole.phone"),
            phone.clone(),
            format!("tel:{}", phone.replace(' ', "")),
        ));
    }
    let members: Vec<MemberRow> = store
        .all_members(record.id)
        .await?
        .into_iter()
        .map(|m| MemberRow {
            name: m.member.name.clone(),
            website: m.member.website.clone(),
            legal_form: m.member.legal_form.label(lang),
            ess: yes_no(lang, m.member.ess),
            employees: m.member.employee_band.map(|b| b.label(lang)).unwrap_or("—"),
            role: m.member.role.clone().unwrap_or_default(),
        })
        .collect();
    let now = chrono::Utc::now();
    let events: Vec<ObjectItem> = first(store.list_events(record.id, FIRST_100).await?)
        .iter()
        .filter(|e| e.data.ends_at.unwrap_or(e.data.starts_at) >= now)
        .map(|e| ObjectItem::event(e, &record, lang))
        .collect();
    let calls: Vec<ObjectItem> = first(store.list_calls(record.id, FIRST_100).await?)
        .iter()
        .filter(|r| r.data.status == CallStatus::Open)
        .map(|r| ObjectItem::call(r, &record, lang))
        .collect();
    let projects: Vec<ObjectItem> = first(store.list_projects(record.id, FIRST_100).await?)
        .iter()
        .map(|r| ObjectItem::project(r, &record, lang))
        .collect();
    let handle = format!("@{slug}@{}", record.domain);
    let logo_url = record
        .logo
        .as_ref()
        .map(|m| store.url(&format!("/media/{}", m.sha256)));
    let banner_url = record
        .banner
        .as_ref()
        .map(|m| store.url(&format!("/media/{}", m.sha256)));
    let image = banner_url.clone().or_else(|| logo_url.clone());
    let page_url = store.url(&format!("/poles/{slug}"));
    let mut ld = json!({
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": pole.name,
        "url": page_url,
        "identifier": record.ap_id,
        "description": pole.summary,
        "email": pole.contact_email,
        "telephone": pole.contact_phone,
        "sameAs": pole.website.iter().collect::<Vec<_>>(),
        "logo": logo_url,
        "areaServed": territory.regions.iter().chain(&territory.departements).map(|a| json!({"@type": "AdministrativeArea", "name": a.name})).collect::<Vec<_>>(),
        "member": members.iter().map(|m| json!({"@type": "Organization", "name": m.name})).collect::<Vec<_>>(),
    });
    if let Some(place) = &pole.shared_place {
        ld["location"] = place_ld(place);
    }
    let mut meta = Meta::new(
        pole.name.clone(),
        pole.summary.clone().unwrap_or_default(),
        page_url,
    )
    .alternate(
        crate::federation::objects::context::ACTIVITY_JSON,
        record.ap_id.clone(),
        "ActivityPub",
    )
    .alternate(
        ATOM,
        format!("/poles/{slug}/feed.atom"),
        format!("{} (Atom)", pole.name),
    )
    .alternate(
        RSS,
        format!("/poles/{slug}/feed.rss"),
        format!("{} (RSS)", pole.name),
    )
    .alternate(
        ICAL,
        format!("/poles/{slug}/events.ics"),
        format!("{} (iCal)", pole.name),
    )
    .with_json_ld(&strip_nulls(ld));
    meta.og_type = "profile";
    meta.image = image;
    Ok(html(
        &PolePage {
            c: c.clone(),
            name: pole.name.clone(),
            summary: pole.summary.clone().unwrap_or_default(),
            handle,
            logo_url,
            logo_alt: lang.t("pole.logo_alt").replace("{name}", &pole.name),
            banner_url,
            banner_alt: lang.t("pole.banner_alt").replace("{name}", &pole.name),
            place_map: pole
                .shared_place
                .as_ref()
                .and_then(|p| PlaceMap::new(state, p)),
            description_html: pole
                .description
                .as_ref()
                .map(|d| d.html.clone())
                .unwrap_or_default(),
            follow_action: format!("/poles/{slug}/follow"),
            feed_atom: format!("/poles/{slug}/feed.atom"),
            feed_rss: format!("/poles/{slug}/feed.rss"),
            feed_ics: format!("/poles/{slug}/events.ics"),
            facts,
            members,
            events,
            calls,
            projects,
            meta,
        },
        StatusCode::OK,
    ))
}

#[derive(Debug, Deserialize)]
pub struct FollowQuery {
    server: Option<String>,
}

/// The server part of what a visitor typed: `mastodon.social`, `https://mastodon.social/`,
/// or their own handle `@me@mastodon.social`.
pub fn follower_server(input: &str) -> Option<String> {
    let text = input.trim();
    let text = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .unwrap_or(text);
    let text = text.rsplit_once('@').map_or(text, |(_, host)| host);
    let host = text
        .split('/')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let parsed = url::Url::parse(&format!("https://{host}/")).ok()?;
    let ok = !host.is_empty()
        && host.contains('.')
        && parsed.host_str().is_some()
        && parsed.username().is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':');
    ok.then_some(host)
}

/// `GET /poles/{slug}/follow?server=…`: sends the visitor to their own server's follow page.
pub async fn follow_redirect(
    State(state): State<AppState>,
    c: Ctx,
    Path(slug): Path<String>,
    query: Result<Query<FollowQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let record = match state.store.pole(&slug).await {
        Ok(r) => r,
        Err(e) => return error_page(&c, e.into()),
    };
    let server = query.ok().and_then(|Query(q)| q.server).unwrap_or_default();
    match follower_server(&server) {
        Some(host) => {
            let uri: String =
                url::form_urlencoded::byte_serialize(record.ap_id.as_bytes()).collect();
            Redirect::to(&format!("https://{host}/authorize_interaction?uri={uri}")).into_response()
        }
        None => error_page(
            &c,
            ApiError::BadRequest(format!("{} `{server}`", c.t("pole.follow_bad_server"))),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_follow_form_accepts_a_server_or_a_handle_and_nothing_else() {
        assert_eq!(
            follower_server("mastodon.social").as_deref(),
            Some("mastodon.social")
        );
        assert_eq!(
            follower_server(" https://Mastodon.Social/about ").as_deref(),
            Some("mastodon.social")
        );
        assert_eq!(
            follower_server("@alice@piaille.fr").as_deref(),
            Some("piaille.fr")
        );
        assert_eq!(follower_server("").as_deref(), None);
        assert_eq!(follower_server("javascript:alert(1)").as_deref(), None);
        assert_eq!(follower_server("evil.example\"><script>").as_deref(), None);
        assert_eq!(follower_server("localhost").as_deref(), None);
    }
}
