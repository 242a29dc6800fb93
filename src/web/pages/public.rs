//! The public pages: home, directory, map, and the pages of poles, projects, events and calls.

use askama::Template;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::directory;
use super::views::{self, Choice, Label, ObjectItem, ReplyItem};
use super::{Ctx, Lang, Meta, error_page, html};
use crate::domain::territory_ref::Reference;
use crate::domain::vocab::{CallStatus, LegalForm, PoolingKind, Theme};
use crate::domain::{CallForCooperation, Event, FieldError, Project};
use crate::store::search::{CallState, MAX_ROWS};
use crate::store::{
    DirectoryKind, DirectoryQuery, Kind, ObjectRecord, PageRequest, PoleRecord, StoreError,
};
use crate::web::AppState;
use crate::web::error::ApiError;

const ATOM: &str = "application/atom+xml";
const RSS: &str = "application/rss+xml";
const ICAL: &str = "text/calendar";

/// A label and a value in a definition list, with a link when the value is one.
#[derive(Debug, Clone)]
pub struct Fact {
    pub label: &'static str,
    pub value: String,
    pub href: Option<String>,
}

fn fact(label: &'static str, value: impl Into<String>) -> Fact {
    Fact {
        label,
        value: value.into(),
        href: None,
    }
}

fn link(label: &'static str, value: impl Into<String>, href: impl Into<String>) -> Fact {
    Fact {
        label,
        value: value.into(),
        href: Some(href.into()),
    }
}

/// The themes of a project, event or call, when it has some.
fn themes_fact(facts: &mut Vec<Fact>, themes: &[Theme], lang: Lang) {
    if !themes.is_empty() {
        facts.push(fact(
            lang.t("pole.themes"),
            views::labels(themes, lang).join(", "),
        ));
    }
}

fn first<T>(page: crate::store::Page<T>) -> Vec<T> {
    page.items
}

const FIRST_100: PageRequest = PageRequest {
    page: 1,
    per_page: 100,
};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Ctx,
    meta: Meta,
    summary: String,
    pole_count: usize,
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
            poles: poles.iter().map(|p| ObjectItem::pole(p, c.lang)).collect(),
            events: events.items,
            calls: calls.items,
        },
        StatusCode::OK,
    ))
}

#[derive(Template)]
#[template(path = "directory.html")]
struct DirectoryPage {
    c: Ctx,
    meta: Meta,
    heading: String,
    errors: Vec<FieldError>,
    q: String,
    epci: String,
    commune: String,
    regions: Vec<Choice>,
    departements: Vec<Choice>,
    themes: Vec<Choice>,
    pooling: Vec<Choice>,
    legal_forms: Vec<Choice>,
    kinds: Vec<Choice>,
    call_statuses: Vec<Choice>,
    upcoming: bool,
    from: String,
    to: String,
    deadline_before: String,
    results: Vec<ObjectItem>,
    /// The number of matches, `1001+` when they were not all counted.
    total: String,
    feed_query: String,
    page: u64,
    pages: u64,
    prev_url: Option<String>,
    next_url: Option<String>,
}

fn area_choices<'a>(items: impl Iterator<Item = (&'a str, &'a str)>, chosen: &str) -> Vec<Choice> {
    items
        .map(|(code, name)| Choice {
            code: code.to_owned(),
            label: format!("{name} ({code})"),
            selected: code == chosen,
        })
        .collect()
}

/// `GET /directory`: the directory's search form and its results; the URL says it all, so it
/// can be shared.
pub async fn directory(
    State(state): State<AppState>,
    c: Ctx,
    RawQuery(query): RawQuery,
) -> Response {
    directory_page(&state, c, query.as_deref().unwrap_or_default(), None).await
}

/// The directory page for a query string, under its own heading or the directory's.
pub async fn directory_page(
    state: &AppState,
    c: Ctx,
    query: &str,
    heading: Option<String>,
) -> Response {
    let api = &state.config.api;
    let (params, errors) = match directory::page_query(query, api) {
        Ok(q) => (q, Vec::new()),
        Err(e) => (
            DirectoryQuery {
                page: 1,
                per_page: api.default_page_size,
                ..DirectoryQuery::default()
            },
            e,
        ),
    };
    let selection = if errors.is_empty() {
        match directory::select(&state.store, &params, c.lang).await {
            Ok(s) => s,
            Err(e) => return error_page(&c, e.into()),
        }
    } else {
        directory::Selection {
            items: Vec::new(),
            total: 0,
            total_exact: true,
        }
    };
    let lang = c.lang;
    let reference = Reference::get();
    let pages = selection.total.div_ceil(params.per_page).max(1);
    let total = if selection.total_exact {
        selection.total.to_string()
    } else {
        format!("{}+", selection.total)
    };
    let page_url = |n: u64| {
        let q = params.to_query(Some(n));
        if q.is_empty() {
            "/directory".to_owned()
        } else {
            format!("/directory?{q}")
        }
    };
    let feed_query = match params.to_query(None) {
        q if q.is_empty() => String::new(),
        q => format!("?{q}"),
    };
    let kinds = directory::KINDS
        .iter()
        .map(|k| Choice {
            code: (*k).to_owned(),
            label: lang.t(&format!("kind.{k}")).to_owned(),
            selected: params.kinds.iter().any(|p| p.id() == *k),
        })
        .collect();
    let one = |v: Option<&'static str>| v.into_iter().collect::<Vec<_>>();
    let heading = heading.unwrap_or_else(|| c.t("directory.title").to_owned());
    let title = if params.is_filtered() {
        format!("{heading} ({total})")
    } else {
        heading.clone()
    };
    let meta = Meta::new(
        title,
        c.t("directory.description"),
        state.store.url(&c.path),
    )
    .alternate(
        ATOM,
        format!("/feeds/directory.atom{feed_query}"),
        c.t("layout.feed_atom"),
    )
    .alternate(
        ICAL,
        format!("/feeds/events.ics{feed_query}"),
        c.t("layout.feed_ics"),
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = DirectoryPage {
        meta,
        heading,
        errors,
        q: params.q.clone().unwrap_or_default(),
        epci: params.epci.clone().unwrap_or_default(),
        commune: params.commune.clone().unwrap_or_default(),
        regions: area_choices(
            reference.regions().iter().map(|r| (r.code, r.name)),
            params.region.as_deref().unwrap_or_default(),
        ),
        departements: area_choices(
            reference.departements().iter().map(|d| (d.code, d.name)),
            params.departement.as_deref().unwrap_or_default(),
        ),
        themes: views::choices(
            Theme::ALL,
            Theme::id,
            &one(params.theme.map(Theme::id)),
            lang,
        ),
        pooling: views::choices(
            PoolingKind::ALL,
            PoolingKind::id,
            &one(params.pooling.map(PoolingKind::id)),
            lang,
        ),
        legal_forms: views::choices(
            LegalForm::ALL,
            LegalForm::id,
            &one(params.legal_form.map(LegalForm::id)),
            lang,
        ),
        // The directory's call states: open (and not past its deadline), or not.
        call_statuses: [
            (CallState::Open, CallStatus::Open),
            (CallState::Closed, CallStatus::Closed),
        ]
        .into_iter()
        .map(|(state, status)| Choice {
            code: status.id().to_owned(),
            label: status.label(lang).to_owned(),
            selected: params.call_status == Some(state),
        })
        .collect(),
        kinds,
        upcoming: params.upcoming,
        from: params.from.map(|d| d.to_string()).unwrap_or_default(),
        to: params.to.map(|d| d.to_string()).unwrap_or_default(),
        deadline_before: params
            .deadline_before
            .map(|d| d.to_string())
            .unwrap_or_default(),
        results: selection.items,
        total,
        feed_query,
        page: params.page,
        pages,
        prev_url: (params.page > 1).then(|| page_url(params.page - 1)),
        next_url: (params.page < pages).then(|| page_url(params.page + 1)),
        c,
    };
    html(&page, status)
}

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

#[derive(Template)]
#[template(path = "pole.html")]
struct PolePage {
    c: Ctx,
    meta: Meta,
    name: String,
    summary: String,
    handle: String,
    logo_url: Option<String>,
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
    let image = record
        .banner
        .as_ref()
        .or(record.logo.as_ref())
        .map(|m| store.url(&format!("/media/{}", m.sha256)));
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
        crate::federation::ACTIVITY_JSON,
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

fn place_ld(place: &crate::domain::place::Place) -> serde_json::Value {
    let mut value = json!({
        "@type": "Place",
        "name": place.name.clone().unwrap_or_else(|| place.one_line()),
        "address": {
            "@type": "PostalAddress",
            "streetAddress": place.street,
            "postalCode": place.postal_code,
            "addressLocality": place.locality,
            "addressCountry": "FR",
        },
    });
    if let (Some(lat), Some(lon)) = (place.latitude, place.longitude) {
        value["geo"] = json!({"@type": "GeoCoordinates", "latitude": lat, "longitude": lon});
    }
    value
}

/// JSON-LD without empty values, which validators flag.
fn strip_nulls(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        other => other,
    }
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

#[derive(Template)]
#[template(path = "object.html")]
struct ObjectPage {
    c: Ctx,
    meta: Meta,
    kind: &'static str,
    kind_label: &'static str,
    status: &'static str,
    title: String,
    summary: String,
    pole_name: String,
    pole_url: String,
    facts: Vec<Fact>,
    calendar_url: Option<String>,
    description_html: String,
    how_to_answer: String,
    replies: Vec<ReplyItem>,
    ap_id: String,
}

/// What differs between the pages of a project, an event and a call.
pub trait ObjectPageData {
    const KIND: Kind;
    fn page(
        record: &Self::Record,
        pole: &PoleRecord,
        c: &Ctx,
        store: &crate::store::Store,
    ) -> ObjectPageParts;
    type Record;
    fn ids(record: &Self::Record) -> (i64, &str, &str, i64);
}

/// The parts of an object's page its kind decides.
pub struct ObjectPageParts {
    title: String,
    summary: String,
    status: &'static str,
    facts: Vec<Fact>,
    calendar_url: Option<String>,
    description_html: String,
    how_to_answer: String,
    json_ld: serde_json::Value,
    og_type: &'static str,
}

impl ObjectPageData for Project {
    const KIND: Kind = Kind::Project;
    type Record = ObjectRecord<Project>;
    fn ids(r: &Self::Record) -> (i64, &str, &str, i64) {
        (r.id, &r.public_id, &r.ap_id, r.pole_id)
    }
    fn page(
        r: &Self::Record,
        pole: &PoleRecord,
        c: &Ctx,
        store: &crate::store::Store,
    ) -> ObjectPageParts {
        let p = &r.data;
        let lang = c.lang;
        let mut facts = Vec::new();
        if let Some(d) = p.start_date {
            facts.push(fact(lang.t("project.start"), views::date(d, lang)));
        }
        if let Some(d) = p.end_date {
            facts.push(fact(lang.t("project.end"), views::date(d, lang)));
        }
        themes_fact(&mut facts, &p.themes, lang);
        let areas = p.territory.view();
        if !areas.communes.is_empty() {
            facts.push(fact(
                lang.t("pole.communes"),
                areas
                    .communes
                    .iter()
                    .map(|a| a.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
        for l in &p.links {
            facts.push(link(
                lang.t("project.link"),
                l.title.clone().unwrap_or_else(|| l.url.clone()),
                l.url.clone(),
            ));
        }
        ObjectPageParts {
            title: p.title.clone(),
            summary: p.summary.clone().unwrap_or_default(),
            status: p.status.label(lang),
            facts,
            calendar_url: None,
            description_html: p
                .description
                .as_ref()
                .map(|d| d.html.clone())
                .unwrap_or_default(),
            how_to_answer: String::new(),
            json_ld: json!({
                "@context": "https://schema.org",
                "@type": "Project",
                "name": p.title,
                "description": p.summary,
                "url": store.url(&format!("/projects/{}", r.public_id)),
                "parentOrganization": {"@type": "Organization", "name": pole.pole.name, "url": store.url(&views::pole_url(pole))},
            }),
            og_type: "article",
        }
    }
}

impl ObjectPageData for Event {
    const KIND: Kind = Kind::Event;
    type Record = ObjectRecord<Event>;
    fn ids(r: &Self::Record) -> (i64, &str, &str, i64) {
        (r.id, &r.public_id, &r.ap_id, r.pole_id)
    }
    fn page(
        r: &Self::Record,
        pole: &PoleRecord,
        c: &Ctx,
        store: &crate::store::Store,
    ) -> ObjectPageParts {
        let e = &r.data;
        let lang = c.lang;
        let mut facts = vec![fact(lang.t("event.when"), views::event_when(e, lang))];
        facts.push(fact(lang.t("event.timezone"), e.timezone.clone()));
        if let Some(place) = &e.place {
            facts.push(fact(lang.t("event.where"), place.one_line()));
        }
        if let Some(online) = &e.online_url {
            facts.push(link(lang.t("event.online"), online.clone(), online.clone()));
        }
        if let Some(reg) = &e.registration_url {
            facts.push(link(lang.t("event.registration"), reg.clone(), reg.clone()));
        }
        if let Some(capacity) = e.capacity {
            facts.push(fact(lang.t("event.capacity"), capacity.to_string()));
        }
        themes_fact(&mut facts, &e.themes, lang);
        let tz = e.tz();
        let status = match e.status {
            crate::domain::vocab::EventStatus::Scheduled => "https://schema.org/EventScheduled",
            crate::domain::vocab::EventStatus::Cancelled => "https://schema.org/EventCancelled",
            crate::domain::vocab::EventStatus::Postponed => "https://schema.org/EventPostponed",
        };
        let mut location = Vec::new();
        if let Some(place) = &e.place {
            location.push(place_ld(place));
        }
        if let Some(online) = &e.online_url {
            location.push(json!({"@type": "VirtualLocation", "url": online}));
        }
        let attendance = match (e.place.is_some(), e.online_url.is_some()) {
            (true, true) => "https://schema.org/MixedEventAttendanceMode",
            (false, true) => "https://schema.org/OnlineEventAttendanceMode",
            _ => "https://schema.org/OfflineEventAttendanceMode",
        };
        ObjectPageParts {
            title: e.title.clone(),
            summary: e.summary.clone().unwrap_or_default(),
            status: e.status.label(lang),
            facts,
            calendar_url: Some(format!("/events/{}/calendar.ics", r.public_id)),
            description_html: e
                .description
                .as_ref()
                .map(|d| d.html.clone())
                .unwrap_or_default(),
            how_to_answer: String::new(),
            json_ld: strip_nulls(json!({
                "@context": "https://schema.org",
                "@type": "Event",
                "name": e.title,
                "description": e.summary,
                "startDate": e.starts_at.with_timezone(&tz).to_rfc3339(),
                "endDate": e.ends_at.map(|t| t.with_timezone(&tz).to_rfc3339()),
                "eventStatus": status,
                "eventAttendanceMode": attendance,
                "location": location,
                "url": store.url(&format!("/events/{}", r.public_id)),
                "organizer": {"@type": "Organization", "name": pole.pole.name, "url": store.url(&views::pole_url(pole))},
            })),
            og_type: "article",
        }
    }
}

impl ObjectPageData for CallForCooperation {
    const KIND: Kind = Kind::Call;
    type Record = ObjectRecord<CallForCooperation>;
    fn ids(r: &Self::Record) -> (i64, &str, &str, i64) {
        (r.id, &r.public_id, &r.ap_id, r.pole_id)
    }
    fn page(
        r: &Self::Record,
        pole: &PoleRecord,
        c: &Ctx,
        store: &crate::store::Store,
    ) -> ObjectPageParts {
        let call = &r.data;
        let lang = c.lang;
        let mut facts = vec![
            fact(lang.t("call.direction"), call.direction.label(lang)),
            fact(
                lang.t("call.subjects"),
                views::labels(&call.subjects, lang).join(", "),
            ),
        ];
        if let Some(d) = call.deadline {
            facts.push(fact(lang.t("call.deadline"), views::date(d, lang)));
        }
        themes_fact(&mut facts, &call.themes, lang);
        ObjectPageParts {
            title: call.title.clone(),
            summary: call.summary.clone().unwrap_or_default(),
            status: call.status.label(lang),
            facts,
            calendar_url: None,
            description_html: call
                .description
                .as_ref()
                .map(|d| d.html.clone())
                .unwrap_or_default(),
            how_to_answer: call.how_to_answer.clone(),
            json_ld: strip_nulls(json!({
                "@context": "https://schema.org",
                "@type": "Demand",
                "name": call.title,
                "description": call.summary,
                "availabilityEnds": call.deadline.map(|d| d.to_string()),
                "url": store.url(&format!("/calls/{}", r.public_id)),
                "seller": {"@type": "Organization", "name": pole.pole.name, "url": store.url(&views::pole_url(pole))},
            })),
            og_type: "article",
        }
    }
}

/// The HTML page of a project, an event or a call, with the replies received.
pub async fn object_page<T: ObjectPageData>(
    state: &AppState,
    c: &Ctx,
    record: Result<T::Record, StoreError>,
) -> Response {
    match object_page_inner::<T>(state, c, record).await {
        Ok(r) => r,
        Err(e) => error_page(c, e),
    }
}

async fn object_page_inner<T: ObjectPageData>(
    state: &AppState,
    c: &Ctx,
    record: Result<T::Record, StoreError>,
) -> Result<Response, ApiError> {
    let record = record?;
    let (id, public_id, ap_id, pole_id) = T::ids(&record);
    let pole = state.store.pole_by_id(pole_id).await?;
    let parts = T::page(&record, &pole, c, &state.store);
    let replies = state
        .store
        .list_replies(T::KIND, id, false)
        .await?
        .iter()
        .map(|r| ReplyItem::new(r, c.lang))
        .collect();
    let slug = &pole.pole.slug;
    let url = state.store.url(&format!("/{}/{public_id}", T::KIND.path()));
    let mut meta = Meta::new(parts.title.clone(), parts.summary.clone(), url)
        .alternate(
            crate::federation::ACTIVITY_JSON,
            ap_id.to_owned(),
            "ActivityPub",
        )
        .alternate(
            ATOM,
            format!("/poles/{slug}/feed.atom"),
            format!("{} (Atom)", pole.pole.name),
        )
        .alternate(
            ICAL,
            format!("/poles/{slug}/events.ics"),
            format!("{} (iCal)", pole.pole.name),
        );
    if let Some(ics) = &parts.calendar_url {
        meta = meta.alternate(ICAL, ics.clone(), parts.title.clone());
    }
    meta = meta.with_json_ld(&strip_nulls(parts.json_ld));
    meta.og_type = parts.og_type;
    meta.image = pole
        .banner
        .as_ref()
        .or(pole.logo.as_ref())
        .map(|m| state.store.url(&format!("/media/{}", m.sha256)));
    Ok(html(
        &ObjectPage {
            c: c.clone(),
            meta,
            kind: T::KIND.id(),
            kind_label: c.t(&format!("kind.{}", T::KIND.id())),
            status: parts.status,
            title: parts.title,
            summary: parts.summary,
            pole_name: pole.pole.name.clone(),
            pole_url: views::pole_url(&pole),
            facts: parts.facts,
            calendar_url: parts.calendar_url,
            description_html: parts.description_html,
            how_to_answer: parts.how_to_answer,
            replies,
            ap_id: ap_id.to_owned(),
        },
        StatusCode::OK,
    ))
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
