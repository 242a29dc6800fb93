//! The administration under `/admin`: sign-in, the poles' profiles, members and
//! publications, followers, replies, follows between instances and the delivery queue.
//!
//! Every change goes through the same store functions as the JSON API, so it is recorded in
//! the change history and federated the same way.

pub mod forms;
pub mod sign_in;

use std::net::SocketAddr;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Extension, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::Auth;
use super::pages::facts::Fact;
use super::pages::views::{self, Label, ReplyItem};
use super::pages::session;
use super::pages::{Ctx, Lang, Meta, error_page, html, local_target};
use crate::domain::place::PlaceInput;
use crate::domain::territory_ref::Reference;
use crate::domain::vocab::{
    CallDirection, CallStatus, CallSubject, EmployeeBand, EventStatus, LegalForm, PoolingKind,
    ProjectStatus, TerritoryKind, Theme,
};
use crate::domain::{
    CallInput, EventInput, MemberInput, PoleInput, ProjectInput, TerritoryInput, ValidationErrors,
};
use crate::store::{PoleRecord, StoreError};
use forms::{Field, FormData, attach_errors};

/// The cookie that carries the anti-forgery token of the sign-in form (no session exists yet).
const LOGIN_CSRF_COOKIE: &str = "maillage_login_csrf";

pub fn router(_state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/poles/{slug}", get(pole_hub))
        .route(
            "/admin/poles/{slug}/profile",
            get(profile_form).post(profile_save),
        )
        .route(
            "/admin/poles/{slug}/members/new",
            get(member_new).post(member_create),
        )
        .route(
            "/admin/poles/{slug}/members/{id}",
            get(member_edit).post(member_update),
        )
        .route(
            "/admin/poles/{slug}/members/{id}/delete",
            post(member_delete),
        )
        .route(
            "/admin/poles/{slug}/events/new",
            get(event_new).post(event_create),
        )
        .route(
            "/admin/poles/{slug}/calls/new",
            get(call_new).post(call_create),
        )
        .route(
            "/admin/poles/{slug}/projects/new",
            get(project_new).post(project_create),
        )
        .route("/admin/events/{id}", get(event_edit).post(event_update))
        .route("/admin/calls/{id}", get(call_edit).post(call_update))
        .route(
            "/admin/projects/{id}",
            get(project_edit).post(project_update),
        )
        .route("/admin/events/{id}/delete", post(event_delete))
        .route("/admin/calls/{id}/delete", post(call_delete))
        .route("/admin/projects/{id}/delete", post(project_delete))
        .route("/admin/calls/{id}/close", post(call_close))
        .route(
            "/admin/poles/{slug}/followers/{id}/accept",
            post(follower_accept),
        )
        .route(
            "/admin/poles/{slug}/followers/{id}/reject",
            post(follower_reject),
        )
        .route("/admin/replies/{id}/{state}", post(reply_moderate))
        .route("/admin/federation", get(federation_page))
        .route("/admin/follows", post(follow_create))
        .route("/admin/follows/{id}/delete", post(follow_delete))
        .route(
            "/admin/followers/{id}/accept",
            post(instance_follower_accept),
        )
        .route(
            "/admin/followers/{id}/reject",
            post(instance_follower_reject),
        )
        .route("/admin/blocks", post(block_create))
        .route("/admin/blocks/{domain}/delete", post(block_delete))
}

/// A signed-in person: what pages need (`c`) and what they may do (`auth`).
pub struct Admin {
    pub c: Ctx,
    pub auth: Auth,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let c = Ctx::build(state, &parts.headers, &parts.uri).await;
        let Some(session) = session::current(state, &parts.headers).await else {
            let next: String = url::form_urlencoded::byte_serialize(c.path.as_bytes()).collect();
            return Err(Redirect::to(&format!("/admin/login?next={next}")).into_response());
        };
        let pole_ids = match state.store.user_pole_ids(session.user.id).await {
            Ok(ids) => ids,
            Err(e) => return Err(error_page(&c, e.into())),
        };
        Ok(Admin {
            c,
            auth: Auth {
                user: session.user,
                pole_ids,
            },
        })
    }
}

impl Admin {
    /// The submitted form, once its anti-forgery token is checked.
    fn form(&self, body: &[u8]) -> Result<FormData, ApiError> {
        let form = FormData::parse(body);
        let token = form.get("_csrf");
        if token.is_empty() || !session::same_token(&token, &self.c.csrf) {
            tracing::warn!(user = %self.auth.user.username, "form refused: anti-forgery token missing or wrong");
            return Err(ApiError::Forbidden(
                self.c.t("admin.csrf_refused").to_owned(),
            ));
        }
        Ok(form)
    }

    fn t(&self, key: &str) -> &'static str {
        self.c.t(key)
    }

    fn lang(&self) -> Lang {
        self.c.lang
    }

    async fn pole(&self, state: &AppState, slug: &str) -> Result<PoleRecord, ApiError> {
        let pole = state.store.pole(slug).await?;
        self.auth.require_pole(pole.id)?;
        Ok(pole)
    }
}

/// Runs a page's work, turning an error into an error page.
async fn run(c: &Ctx, work: impl Future<Output = Result<Response, ApiError>>) -> Response {
    match work.await {
        Ok(r) => r,
        Err(e) => error_page(c, e),
    }
}

/// After a change: publishes it at once and goes back to a page with a message.
fn done(state: &AppState, to: &str, flash: &str) -> Response {
    state.fed.publish_wakeup.notify_one();
    let flash: String = url::form_urlencoded::byte_serialize(flash.as_bytes()).collect();
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}done={flash}")).into_response()
}

type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

#[derive(Debug, Deserialize, Default)]
pub struct FlashQuery {
    done: Option<String>,
}

fn flash(query: Option<Query<FlashQuery>>) -> String {
    query
        .and_then(|Query(q)| q.done)
        .map(|d| d.chars().take(200).collect())
        .unwrap_or_default()
}

/// The form's own reading errors together with the domain's validation, so that every
/// wrong field is reported at once.
fn combine<T>(
    mut read: ValidationErrors,
    validated: Result<T, ValidationErrors>,
) -> Result<T, ValidationErrors> {
    match validated {
        Ok(value) if read.is_empty() => Ok(value),
        Ok(_) => Err(read),
        Err(more) => {
            for e in more.0 {
                if !read.0.iter().any(|r| r.field == e.field) {
                    read.0.push(e);
                }
            }
            Err(read)
        }
    }
}

// ---- Sign-in ----

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    c: Ctx,
    meta: Meta,
    csrf: String,
    next: String,
    username: String,
    error: String,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

fn login_page(
    state: &AppState,
    c: Ctx,
    csrf: String,
    next: String,
    username: String,
    error: String,
    status: StatusCode,
) -> Response {
    let meta = Meta::new(c.t("admin.login_title"), "", String::new());
    let mut response = html(
        &LoginPage {
            c,
            meta,
            csrf: csrf.clone(),
            next,
            username,
            error,
        },
        status,
    );
    if let Ok(v) =
        HeaderValue::from_str(&session::login_csrf_cookie(state, LOGIN_CSRF_COOKIE, &csrf))
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn login_form(
    State(state): State<AppState>,
    c: Ctx,
    query: QueryResult<LoginQuery>,
) -> Response {
    if c.user.is_some() {
        return Redirect::to("/admin").into_response();
    }
    let next = query
        .ok()
        .and_then(|Query(q)| q.next)
        .and_then(|n| local_target(&n))
        .unwrap_or_else(|| "/admin".to_owned());
    login_page(
        &state,
        c,
        session::random_token(),
        next,
        String::new(),
        String::new(),
        StatusCode::OK,
    )
}

/// The address a sign-in comes from: the peer, or the last hop a local reverse proxy added.
fn client_address(peer: Option<SocketAddr>, headers: &HeaderMap) -> String {
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    match (peer, forwarded) {
        (Some(p), Some(f)) if p.ip().is_loopback() => f,
        (Some(p), _) => p.ip().to_string(),
        (None, Some(f)) => f,
        (None, None) => "unknown".to_owned(),
    }
}

async fn login(
    State(state): State<AppState>,
    c: Ctx,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = FormData::parse(&body);
    let next = local_target(&form.get("next")).unwrap_or_else(|| "/admin".to_owned());
    let username = form.get("username").to_ascii_lowercase();
    let expected = session::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let given = form.get("_csrf");
    if expected.is_empty() || given.is_empty() || !session::same_token(&expected, &given) {
        tracing::warn!("sign-in refused: anti-forgery token missing or wrong");
        let message = c.t("admin.csrf_refused").to_owned();
        return login_page(
            &state,
            c,
            session::random_token(),
            next,
            username,
            message,
            StatusCode::FORBIDDEN,
        );
    }
    let address = client_address(peer.map(|Extension(ConnectInfo(a))| a), &headers);
    let password = form.get("password");
    let outcome = sign_in::attempt(
        &state.store,
        &state.password_gate,
        &username,
        password,
        &address,
    )
    .await;
    let (message, status) = match outcome {
        Ok(sign_in::Outcome::SignedIn(user)) => {
            return signed_in(&state, &c, user, &next).await;
        }
        Ok(sign_in::Outcome::Refused) => (
            c.t("admin.bad_credentials").to_owned(),
            StatusCode::UNAUTHORIZED,
        ),
        Ok(sign_in::Outcome::Locked(until)) => (
            format!(
                "{} {}",
                c.t("admin.locked"),
                views::timestamp(until, c.lang)
            ),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Ok(sign_in::Outcome::Busy) => (c.t("admin.busy").to_owned(), StatusCode::TOO_MANY_REQUESTS),
        Err(e) => return error_page(&c, e.into()),
    };
    login_page(
        &state,
        c,
        session::random_token(),
        next,
        username,
        message,
        status,
    )
}

/// Opens a session for a person whose password was right, and sends them on.
async fn signed_in(state: &AppState, c: &Ctx, user: crate::store::User, next: &str) -> Response {
    let id = session::random_token();
    let hours = i64::from(state.config.web.session_hours.max(1));
    let created = state
        .store
        .create_session(
            &crate::auth::hash_token(&id),
            user.id,
            &session::random_token(),
            chrono::Duration::hours(hours),
        )
        .await;
    if let Err(e) = created {
        return error_page(c, e.into());
    }
    let _ = state.store.prune_sessions().await;
    tracing::info!(user = %user.username, "signed in");
    let mut response = Redirect::to(next).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::session_cookie(state, &id, hours * 3600)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

async fn logout(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(e) = admin.form(&body) {
        return error_page(&admin.c, e);
    }
    if let Some(id) = session::cookie(&headers, session::SESSION_COOKIE) {
        let _ = state
            .store
            .delete_session(&crate::auth::hash_token(&id))
            .await;
    }
    tracing::info!(user = %admin.auth.user.username, "signed out");
    let mut response = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::session_cookie(&state, "", 0)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

// ---- Dashboard and a pole's hub ----

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    c: Ctx,
    meta: Meta,
    flash: String,
    poles: Vec<(String, String)>,
    is_admin: bool,
}

async fn dashboard(
    State(state): State<AppState>,
    admin: Admin,
    q: QueryResult<FlashQuery>,
) -> Response {
    run(&admin.c, async {
        let poles: Vec<PoleRecord> = if admin.auth.is_admin() {
            super::pages::directory::all_poles(&state.store).await?
        } else {
            let mut out = Vec::new();
            for id in &admin.auth.pole_ids {
                out.push(state.store.pole_by_id(*id).await?);
            }
            out
        };
        Ok(html(
            &DashboardPage {
                meta: Meta::new(admin.t("admin.dashboard"), "", String::new()),
                flash: flash(q.ok()),
                poles: poles
                    .iter()
                    .map(|p| (p.pole.slug.clone(), p.pole.name.clone()))
                    .collect(),
                is_admin: admin.auth.is_admin(),
                c: admin.c.clone(),
            },
            StatusCode::OK,
        ))
    })
    .await
}

pub struct Publication {
    kind: &'static str,
    kind_label: &'static str,
    id: String,
    title: String,
    status: &'static str,
    url: String,
    closable: bool,
}

pub struct FollowerRow {
    id: i64,
    handle: String,
    url: String,
    state: &'static str,
    pending: bool,
    /// A subscription to a relay (follows only).
    relay: bool,
}

#[derive(Template)]
#[template(path = "admin/pole.html")]
struct PoleHubPage {
    c: Ctx,
    meta: Meta,
    flash: String,
    slug: String,
    name: String,
    publications: Vec<Publication>,
    members: Vec<(i64, String, &'static str)>,
    followers: Vec<FollowerRow>,
    replies: Vec<ReplyItem>,
}

const ALL: crate::store::PageRequest = crate::store::PageRequest {
    page: 1,
    per_page: 100,
};

async fn pole_hub(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    q: QueryResult<FlashQuery>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        let lang = admin.lang();
        let store = &state.store;
        let mut publications = Vec::new();
        let mut replies = Vec::new();
        for r in store.list_events(pole.id, ALL).await?.items {
            publications.push(Publication {
                kind: "event",
                kind_label: lang.t("kind.event"),
                id: r.public_id.clone(),
                title: r.data.title.clone(),
                status: r.data.status.label(lang),
                url: format!("/events/{}", r.public_id),
                closable: false,
            });
            replies.extend(
                store
                    .list_replies(crate::store::Kind::Event, r.id, true)
                    .await?,
            );
        }
        for r in store.list_calls(pole.id, ALL).await?.items {
            publications.push(Publication {
                kind: "call",
                kind_label: lang.t("kind.call"),
                id: r.public_id.clone(),
                title: r.data.title.clone(),
                status: r.data.status.label(lang),
                url: format!("/calls/{}", r.public_id),
                closable: r.data.status == CallStatus::Open,
            });
            replies.extend(
                store
                    .list_replies(crate::store::Kind::Call, r.id, true)
                    .await?,
            );
        }
        for r in store.list_projects(pole.id, ALL).await?.items {
            publications.push(Publication {
                kind: "project",
                kind_label: lang.t("kind.project"),
                id: r.public_id.clone(),
                title: r.data.title.clone(),
                status: r.data.status.label(lang),
                url: format!("/projects/{}", r.public_id),
                closable: false,
            });
            replies.extend(
                store
                    .list_replies(crate::store::Kind::Project, r.id, true)
                    .await?,
            );
        }
        let members = store
            .all_members(pole.id)
            .await?
            .into_iter()
            .map(|m| (m.id, m.member.name.clone(), m.member.legal_form.label(lang)))
            .collect();
        let followers = store
            .list_followers(
                &pole.ap_id,
                crate::store::PageRequest {
                    page: 1,
                    per_page: 500,
                },
            )
            .await?
            .items
            .into_iter()
            .map(|f| FollowerRow {
                id: f.id,
                handle: f.actor.handle(),
                url: f.actor.url.clone().unwrap_or_else(|| f.actor.ap_id.clone()),
                pending: f.state == "pending",
                state: if f.state == "pending" {
                    lang.t("admin.pending")
                } else {
                    lang.t("admin.accepted")
                },
                relay: false,
            })
            .collect();
        Ok(html(
            &PoleHubPage {
                meta: Meta::new(pole.pole.name.clone(), "", String::new()),
                flash: flash(q.ok()),
                slug: pole.pole.slug.clone(),
                name: pole.pole.name.clone(),
                publications,
                members,
                followers,
                replies: replies.iter().map(|r| ReplyItem::new(r, lang)).collect(),
                c: admin.c.clone(),
            },
            StatusCode::OK,
        ))
    })
    .await
}

// ---- The generic form page ----

#[derive(Template)]
#[template(path = "admin/form.html")]
struct FormPage {
    c: Ctx,
    meta: Meta,
    heading: String,
    back_url: String,
    back_label: &'static str,
    action: String,
    submit: &'static str,
    fields: Vec<Field>,
    has_errors: bool,
    general_errors: Vec<String>,
    notes: Vec<Fact>,
    picker: bool,
    picker_lat: String,
    picker_lon: String,
    tile_url: String,
    tile_attribution: String,
    /// The version the form was filled from, sent back with it (empty for a new record).
    version: String,
    /// Someone else saved first: what they changed, as it is stored now.
    conflict: Option<Vec<Changed>>,
}

struct FormSpec {
    heading: String,
    back_url: String,
    action: String,
    submit: &'static str,
    fields: Vec<Field>,
    notes: Vec<Fact>,
    picker: Option<(String, String)>,
    version: Option<i32>,
    conflict: Option<Vec<Changed>>,
}

impl FormSpec {
    /// The form edits the record at this version: saving it is refused if someone else saved
    /// another version since.
    fn at_version(mut self, version: Option<i32>) -> FormSpec {
        self.version = version;
        self
    }
}

/// A field someone else changed, with its value now.
struct Changed {
    label: String,
    value: String,
}

fn form_page(
    state: &AppState,
    c: &Ctx,
    spec: FormSpec,
    errors: Option<&ValidationErrors>,
) -> Response {
    let mut fields = spec.fields;
    let general_errors = errors
        .map(|e| attach_errors(&mut fields, e))
        .unwrap_or_default();
    let has_errors = errors.is_some_and(|e| !e.is_empty());
    let (picker, (picker_lat, picker_lon)) = match spec.picker {
        Some(p) => (true, p),
        None => (false, (String::new(), String::new())),
    };
    let page = FormPage {
        meta: Meta::new(spec.heading.clone(), "", String::new()),
        heading: spec.heading,
        back_label: c.t("admin.back"),
        back_url: spec.back_url,
        action: spec.action,
        submit: spec.submit,
        fields,
        has_errors,
        general_errors,
        notes: spec.notes,
        picker,
        picker_lat,
        picker_lon,
        tile_url: state.config.web.tile_url.clone(),
        tile_attribution: state.config.web.tile_attribution.clone(),
        version: spec.version.map(|v| v.to_string()).unwrap_or_default(),
        conflict: spec.conflict,
        c: c.clone(),
    };
    html(
        &page,
        if page.conflict.is_some() {
            StatusCode::CONFLICT
        } else if has_errors {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
    )
}

/// A save refused because someone else saved the record first: the form again, with what
/// this person typed, what the other person changed (each field whose stored value differs
/// from the version the form was filled from), and the version now stored, so that saving
/// again keeps this person's entries knowingly.
async fn conflict_page(
    state: &AppState,
    c: &Ctx,
    spec: FormSpec,
    kind: &str,
    object_id: i64,
    (based_on, current): (i32, i32),
    now: impl serde::Serialize,
) -> Result<Response, ApiError> {
    let now = serde_json::to_value(now).map_err(|e| ApiError::Internal(e.to_string()))?;
    let then = state
        .store
        .snapshot_at(kind, object_id, based_on)
        .await?
        .unwrap_or(serde_json::Value::Null);
    let mut changed = Vec::new();
    if let Some(fields) = now.as_object() {
        for (key, value) in fields {
            if then.get(key) == Some(value) {
                continue;
            }
            // Only what the form shows: a field is named by the key or under it (`place.name`).
            let Some(field) = spec.fields.iter().find(|f| {
                f.kind != "heading" && (f.name == *key || f.name.starts_with(&format!("{key}.")))
            }) else {
                continue;
            };
            changed.push(Changed {
                label: field.label.clone(),
                value: shown(value),
            });
        }
    }
    let mut spec = spec.at_version(Some(current));
    spec.conflict = Some(changed);
    Ok(form_page(state, c, spec, None))
}

/// A stored value as a person reads it.
fn shown(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "✓" } else { "✗" }.to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(", "),
        Value::Object(map) => map
            .values()
            .filter(|v| !v.is_null())
            .map(shown)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn opt_str(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn opt_num<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

// ---- Territory and places ----

/// Reads what a person typed for the communes of a territory: INSEE codes, postal codes or
/// names, one per line or separated by `;`. Each must designate one commune.
fn resolve_communes(
    text: &str,
    lang: Lang,
    errors: &mut ValidationErrors,
    field: &str,
) -> Vec<String> {
    let reference = Reference::get();
    let mut out: Vec<String> = Vec::new();
    for entry in text
        .split(['\n', ';'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        // "Name (code)" is how the form shows a commune back; a bare number is more often a
        // postal code than an INSEE code for the people who type it, so postal codes win.
        let in_brackets = entry
            .rsplit_once('(')
            .and_then(|(_, rest)| rest.strip_suffix(')'))
            .and_then(|code| reference.commune(&code.trim().to_ascii_uppercase()));
        let by_postal_code: Vec<crate::domain::territory_ref::Commune> = reference
            .search_communes(entry, 20)
            .into_iter()
            .filter(|c| c.postal_codes.contains(entry))
            .collect();
        let found: Vec<crate::domain::territory_ref::Commune> = if let Some(c) = in_brackets {
            vec![c]
        } else if !by_postal_code.is_empty() {
            by_postal_code
        } else if let Some(c) = reference.commune(&entry.to_ascii_uppercase()) {
            vec![c]
        } else {
            let candidates = reference.search_communes(entry, 6);
            let folded = crate::domain::territory_ref::fold(entry);
            let exact: Vec<_> = candidates
                .iter()
                .copied()
                .filter(|c| crate::domain::territory_ref::fold(c.name) == folded)
                .collect();
            if exact.is_empty() { candidates } else { exact }
        };
        match found.as_slice() {
            [one] => {
                if !out.iter().any(|c| c == one.code) {
                    out.push(one.code.to_owned());
                }
            }
            [] => errors.add(
                field,
                format!("{} « {entry} »", lang.t("admin.commune_unknown")),
            ),
            many => errors.add(
                field,
                format!(
                    "{} « {entry} » : {}",
                    lang.t("admin.commune_ambiguous"),
                    many.iter()
                        .map(|c| format!("{} ({})", c.name, c.code))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }
    out
}

/// The communes of a territory as the form shows them: `Name (code)`, one per line.
fn communes_text(codes: &[String]) -> String {
    let reference = Reference::get();
    codes
        .iter()
        .map(|code| match reference.commune(code) {
            Some(c) => format!("{} ({})", c.name, c.code),
            None => code.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the reference data says about a territory: its EPCI, départements and régions.
fn territory_notes(territory: &TerritoryInput, lang: Lang) -> Vec<Fact> {
    let Ok(t) = territory.validate() else {
        return Vec::new();
    };
    let view = t.view();
    let join = |areas: &[crate::domain::territory::NamedArea]| {
        areas
            .iter()
            .map(|a| format!("{} ({})", a.name, a.code))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut notes = Vec::new();
    for (key, areas) in [
        ("pole.communes", &view.communes),
        ("pole.epcis", &view.epcis),
        ("pole.departements", &view.departements),
        ("pole.regions", &view.regions),
    ] {
        if !areas.is_empty() {
            notes.push(Fact {
                label: lang.t(key),
                value: join(areas),
                href: None,
            });
        }
    }
    notes
}

fn place_fields(prefix: &str, place: Option<&PlaceInput>, lang: Lang) -> Vec<Field> {
    let empty = PlaceInput::default();
    let p = place.unwrap_or(&empty);
    let name = |n: &str| format!("{prefix}.{n}");
    vec![
        Field::new(
            &name("name"),
            lang.t("admin.place_name"),
            "text",
            opt_str(&p.name),
        ),
        Field::new(
            &name("street"),
            lang.t("admin.place_street"),
            "text",
            opt_str(&p.street),
        ),
        Field::new(
            &name("postal_code"),
            lang.t("admin.place_postal_code"),
            "text",
            opt_str(&p.postal_code),
        ),
        Field::new(
            &name("commune"),
            lang.t("admin.place_commune"),
            "text",
            p.commune
                .as_deref()
                .map(|c| communes_text(&[c.to_owned()]))
                .unwrap_or_default(),
        )
        .help(lang.t("admin.place_commune_help")),
        Field::new(
            &name("latitude"),
            lang.t("admin.place_latitude"),
            "number",
            opt_num(p.latitude),
        ),
        Field::new(
            &name("longitude"),
            lang.t("admin.place_longitude"),
            "number",
            opt_num(p.longitude),
        ),
    ]
}

fn read_place(
    form: &FormData,
    prefix: &str,
    lang: Lang,
    e: &mut ValidationErrors,
) -> Option<PlaceInput> {
    let name = |n: &str| format!("{prefix}.{n}");
    let commune_text = form.get(&name("commune"));
    let commune = if commune_text.is_empty() {
        None
    } else {
        resolve_communes(&commune_text, lang, e, &name("commune"))
            .into_iter()
            .next()
    };
    let place = PlaceInput {
        name: form.opt(&name("name")),
        street: form.opt(&name("street")),
        postal_code: form.opt(&name("postal_code")),
        locality: None,
        commune,
        latitude: form.number(&name("latitude"), e),
        longitude: form.number(&name("longitude"), e),
    };
    (place != PlaceInput::default()).then_some(place)
}

// ---- Pole profile ----

fn profile_fields(input: &PoleInput, communes: &str, lang: Lang) -> Vec<Field> {
    let t = |k| lang.t(k);
    let themes: Vec<&str> = input.themes.iter().map(|v| v.id()).collect();
    let pooling: Vec<&str> = input.pooling.iter().map(|v| v.id()).collect();
    let mut fields = vec![
        Field::new("name", t("admin.pole_name"), "text", input.name.clone()).required(),
        Field::new(
            "summary",
            t("admin.summary"),
            "textarea",
            opt_str(&input.summary),
        )
        .help(t("admin.summary_help")),
        Field::new(
            "description",
            t("admin.description"),
            "textarea",
            opt_str(&input.description),
        )
        .help(t("admin.markdown_help")),
        Field::new("website", t("pole.website"), "url", opt_str(&input.website)),
        Field::new(
            "contact_email",
            t("pole.email"),
            "email",
            opt_str(&input.contact_email),
        ),
        Field::new(
            "contact_phone",
            t("pole.phone"),
            "tel",
            opt_str(&input.contact_phone),
        ),
        Field::new(
            "founded_year",
            t("pole.founded"),
            "number",
            opt_num(input.founded_year),
        ),
        Field::select(
            "legal_form",
            t("pole.legal_form"),
            LegalForm::ALL,
            LegalForm::id,
            input.legal_form.map(LegalForm::id).unwrap_or_default(),
            lang,
        ),
        Field::new("siren", t("admin.siren"), "text", opt_str(&input.siren)),
        Field::heading(t("pole.territory")),
        Field::new(
            "territory.communes",
            t("pole.communes"),
            "textarea",
            communes.to_owned(),
        )
        .help(t("admin.communes_help")),
        Field::select(
            "territory.kind",
            t("pole.territory_kind"),
            TerritoryKind::ALL,
            TerritoryKind::id,
            input
                .territory
                .kind
                .map(TerritoryKind::id)
                .unwrap_or_default(),
            lang,
        ),
        Field::new(
            "territory.label",
            t("admin.territory_label"),
            "text",
            opt_str(&input.territory.label),
        )
        .help(t("admin.territory_label_help")),
        themes_field(&themes, lang),
        Field::checkboxes(
            "pooling",
            t("pole.pooling"),
            PoolingKind::ALL,
            PoolingKind::id,
            &pooling,
            lang,
        ),
        Field::heading(t("pole.shared_place")),
    ];
    fields.extend(place_fields(
        "shared_place",
        input.shared_place.as_ref(),
        lang,
    ));
    fields.push(Field::heading(t("admin.federation_settings")));
    fields.push(Field::checkbox(
        "manually_approves_followers",
        t("admin.approve_followers"),
        input.manually_approves_followers,
    ));
    fields.push(Field::checkbox(
        "replies_need_approval",
        t("admin.approve_replies"),
        input.replies_need_approval,
    ));
    fields
}

fn profile_spec(pole: &PoleRecord, input: &PoleInput, communes: &str, lang: Lang) -> FormSpec {
    let place = input.shared_place.as_ref();
    FormSpec {
        version: None,
        conflict: None,
        heading: format!("{} — {}", lang.t("admin.edit_profile"), pole.pole.name),
        back_url: format!("/admin/poles/{}", pole.pole.slug),
        action: format!("/admin/poles/{}/profile", pole.pole.slug),
        submit: lang.t("admin.save"),
        fields: profile_fields(input, communes, lang),
        notes: territory_notes(&input.territory, lang),
        picker: Some((
            opt_num(place.and_then(|p| p.latitude)),
            opt_num(place.and_then(|p| p.longitude)),
        )),
    }
}

async fn profile_form(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        let input = pole.pole.to_input();
        let communes = communes_text(&input.territory.communes);
        Ok(form_page(
            &state,
            &admin.c,
            profile_spec(&pole, &input, &communes, admin.lang()).at_version(Some(pole.version)),
            None,
        ))
    })
    .await
}

async fn profile_save(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    run(&admin.c, async {
        let form = admin.form(&body)?;
        let pole = admin.pole(&state, &slug).await?;
        let lang = admin.lang();
        let mut e = ValidationErrors::new();
        let mut input = pole.pole.to_input();
        input.name = form.get("name");
        input.summary = form.opt("summary");
        input.description = form.opt("description");
        input.website = form.opt("website");
        input.contact_email = form.opt("contact_email");
        input.contact_phone = form.opt("contact_phone");
        input.founded_year = form.number("founded_year", &mut e);
        input.legal_form = form.vocab("legal_form", LegalForm::from_id, &mut e);
        input.siren = form.opt("siren");
        let communes = form.get("territory.communes");
        input.territory = TerritoryInput {
            communes: resolve_communes(&communes, lang, &mut e, "territory.communes"),
            kind: form.vocab("territory.kind", TerritoryKind::from_id, &mut e),
            label: form.opt("territory.label"),
        };
        input.themes = form.vocab_list("themes", Theme::from_id, &mut e);
        input.pooling = form.vocab_list("pooling", PoolingKind::from_id, &mut e);
        input.shared_place = read_place(&form, "shared_place", lang, &mut e);
        input.manually_approves_followers = form.checked("manually_approves_followers");
        input.replies_need_approval = form.checked("replies_need_approval");
        let result = combine(e, input.validate());
        let expected = form.version();
        match result {
            Ok(valid) => match state
                .store
                .edit_pole(&slug, expected, |_| Ok::<_, StoreError>(valid.clone()))
                .await
            {
                Ok(_) => Ok(done(
                    &state,
                    &format!("/admin/poles/{slug}"),
                    lang.t("admin.saved"),
                )),
                Err(StoreError::Stale {
                    expected, current, ..
                }) => {
                    let now = state.store.pole(&slug).await?;
                    let spec = profile_spec(&now, &input, &communes, lang);
                    let (id, pole) = (now.id, now.pole);
                    conflict_page(
                        &state,
                        &admin.c,
                        spec,
                        "pole",
                        id,
                        (expected, current),
                        pole,
                    )
                    .await
                }
                Err(e) => Err(e.into()),
            },
            Err(errors) => Ok(form_page(
                &state,
                &admin.c,
                profile_spec(&pole, &input, &communes, lang).at_version(expected),
                Some(&errors),
            )),
        }
    })
    .await
}

// ---- Members ----

fn member_spec(pole: &PoleRecord, input: &MemberInput, action: String, lang: Lang) -> FormSpec {
    let t = |k| lang.t(k);
    let ess = match input.ess {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    };
    let mut ess_field = Field::new("ess", t("admin.member_ess"), "select", ess);
    ess_field.options = vec![
        views::Choice {
            code: "yes".into(),
            label: t("common.yes").into(),
            selected: ess == "yes",
        },
        views::Choice {
            code: "no".into(),
            label: t("common.no").into(),
            selected: ess == "no",
        },
    ];
    ess_field.help = t("admin.member_ess_help").to_owned();
    FormSpec {
        version: None,
        conflict: None,
        heading: format!("{} — {}", t("admin.member"), pole.pole.name),
        back_url: format!("/admin/poles/{}", pole.pole.slug),
        action,
        submit: t("admin.save"),
        fields: vec![
            Field::new("name", t("member.name"), "text", input.name.clone()).required(),
            Field::select(
                "legal_form",
                t("member.legal_form"),
                LegalForm::ALL,
                LegalForm::id,
                input.legal_form.map(LegalForm::id).unwrap_or_default(),
                lang,
            ),
            ess_field,
            Field::select(
                "employee_band",
                t("member.employees"),
                EmployeeBand::ALL,
                EmployeeBand::id,
                input
                    .employee_band
                    .map(EmployeeBand::id)
                    .unwrap_or_default(),
                lang,
            ),
            Field::new("siret", t("admin.siret"), "text", opt_str(&input.siret)),
            Field::new("website", t("pole.website"), "url", opt_str(&input.website)),
            Field::new("role", t("member.role"), "text", opt_str(&input.role)),
            Field::new(
                "joined_year",
                t("admin.joined_year"),
                "number",
                opt_num(input.joined_year),
            ),
        ],
        notes: Vec::new(),
        picker: None,
    }
}

fn read_member(form: &FormData, e: &mut ValidationErrors) -> MemberInput {
    MemberInput {
        name: form.get("name"),
        legal_form: form.vocab("legal_form", LegalForm::from_id, e),
        ess: match form.get("ess").as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        employee_band: form.vocab("employee_band", EmployeeBand::from_id, e),
        siret: form.opt("siret"),
        website: form.opt("website"),
        role: form.opt("role"),
        joined_year: form.number("joined_year", e),
    }
}

async fn member_new(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        let spec = member_spec(
            &pole,
            &MemberInput::default(),
            format!("/admin/poles/{slug}/members/new"),
            admin.lang(),
        );
        Ok(form_page(&state, &admin.c, spec, None))
    })
    .await
}

async fn member_create(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    run(&admin.c, async {
        let form = admin.form(&body)?;
        let pole = admin.pole(&state, &slug).await?;
        let mut e = ValidationErrors::new();
        let input = read_member(&form, &mut e);
        match combine(e, input.validate()) {
            Ok(member) => {
                state.store.create_member(pole.id, &member).await?;
                Ok(done(
                    &state,
                    &format!("/admin/poles/{slug}"),
                    admin.t("admin.saved"),
                ))
            }
            Err(errors) => Ok(form_page(
                &state,
                &admin.c,
                member_spec(
                    &pole,
                    &input,
                    format!("/admin/poles/{slug}/members/new"),
                    admin.lang(),
                ),
                Some(&errors),
            )),
        }
    })
    .await
}

async fn member_edit(
    State(state): State<AppState>,
    admin: Admin,
    Path((slug, id)): Path<(String, i64)>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        let member = state.store.member(pole.id, id).await?;
        let spec = member_spec(
            &pole,
            &member.member.to_input(),
            format!("/admin/poles/{slug}/members/{id}"),
            admin.lang(),
        )
        .at_version(Some(member.version));
        Ok(form_page(&state, &admin.c, spec, None))
    })
    .await
}

async fn member_update(
    State(state): State<AppState>,
    admin: Admin,
    Path((slug, id)): Path<(String, i64)>,
    body: Bytes,
) -> Response {
    run(&admin.c, async {
        let form = admin.form(&body)?;
        let pole = admin.pole(&state, &slug).await?;
        state.store.member(pole.id, id).await?;
        let mut e = ValidationErrors::new();
        let input = read_member(&form, &mut e);
        let expected = form.version();
        let action = format!("/admin/poles/{slug}/members/{id}");
        match combine(e, input.validate()) {
            Ok(member) => match state
                .store
                .edit_member(pole.id, id, expected, |_| {
                    Ok::<_, StoreError>(member.clone())
                })
                .await
            {
                Ok(_) => Ok(done(
                    &state,
                    &format!("/admin/poles/{slug}"),
                    admin.t("admin.saved"),
                )),
                Err(StoreError::Stale {
                    expected, current, ..
                }) => {
                    let now = state.store.member(pole.id, id).await?;
                    let spec = member_spec(&pole, &input, action, admin.lang());
                    let versions = (expected, current);
                    conflict_page(&state, &admin.c, spec, "member", id, versions, now.member).await
                }
                Err(e) => Err(e.into()),
            },
            Err(errors) => Ok(form_page(
                &state,
                &admin.c,
                member_spec(&pole, &input, action, admin.lang()).at_version(expected),
                Some(&errors),
            )),
        }
    })
    .await
}

async fn member_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path((slug, id)): Path<(String, i64)>,
    body: Bytes,
) -> Response {
    run(&admin.c, async {
        admin.form(&body)?;
        let pole = admin.pole(&state, &slug).await?;
        state.store.delete_member(pole.id, id).await?;
        Ok(done(
            &state,
            &format!("/admin/poles/{slug}"),
            admin.t("admin.deleted"),
        ))
    })
    .await
}

// ---- Events ----

fn event_spec(pole: &PoleRecord, input: &EventInput, action: String, lang: Lang) -> FormSpec {
    let t = |k| lang.t(k);
    let themes: Vec<&str> = input.themes.iter().map(|v| v.id()).collect();
    let mut fields = vec![
        Field::new("title", t("admin.title"), "text", input.title.clone()).required(),
        Field::new(
            "summary",
            t("admin.summary"),
            "textarea",
            opt_str(&input.summary),
        )
        .help(t("admin.summary_help")),
        Field::new(
            "description",
            t("admin.description"),
            "textarea",
            opt_str(&input.description),
        )
        .help(t("admin.markdown_help")),
        Field::new(
            "starts_at",
            t("admin.starts_at"),
            "datetime-local",
            input.starts_at.get(..16).unwrap_or(&input.starts_at),
        )
        .required(),
        Field::new(
            "ends_at",
            t("admin.ends_at"),
            "datetime-local",
            input
                .ends_at
                .as_deref()
                .map(|e| e.get(..16).unwrap_or(e))
                .unwrap_or_default(),
        ),
        Field::new(
            "timezone",
            t("event.timezone"),
            "text",
            input
                .timezone
                .clone()
                .unwrap_or_else(|| "Europe/Paris".into()),
        ),
        Field::select(
            "status",
            t("admin.status"),
            EventStatus::ALL,
            EventStatus::id,
            input.status.map(EventStatus::id).unwrap_or("scheduled"),
            lang,
        ),
        Field::new(
            "online_url",
            t("admin.online_url"),
            "url",
            opt_str(&input.online_url),
        ),
        Field::new(
            "registration_url",
            t("event.registration"),
            "url",
            opt_str(&input.registration_url),
        ),
        Field::new(
            "capacity",
            t("event.capacity"),
            "number",
            opt_num(input.capacity),
        ),
        themes_field(&themes, lang),
        Field::heading(t("event.where")),
    ];
    fields.extend(place_fields("place", input.place.as_ref(), lang));
    let place = input.place.as_ref();
    FormSpec {
        version: None,
        conflict: None,
        heading: format!("{} — {}", t("kind.event"), pole.pole.name),
        back_url: format!("/admin/poles/{}", pole.pole.slug),
        action,
        submit: t("admin.publish"),
        fields,
        notes: Vec::new(),
        picker: Some((
            opt_num(place.and_then(|p| p.latitude)),
            opt_num(place.and_then(|p| p.longitude)),
        )),
    }
}

fn read_event(
    form: &FormData,
    current: Option<EventInput>,
    lang: Lang,
    e: &mut ValidationErrors,
) -> EventInput {
    let mut input = current.unwrap_or_default();
    input.title = form.get("title");
    input.summary = form.opt("summary");
    input.description = form.opt("description");
    input.starts_at = form.get("starts_at");
    input.ends_at = form.opt("ends_at");
    input.timezone = form.opt("timezone");
    input.status = form.vocab("status", EventStatus::from_id, e);
    input.online_url = form.opt("online_url");
    input.registration_url = form.opt("registration_url");
    input.capacity = form.number("capacity", e);
    input.themes = form.vocab_list("themes", Theme::from_id, e);
    input.place = read_place(form, "place", lang, e);
    input
}

async fn event_new(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        Ok(form_page(
            &state,
            &admin.c,
            event_spec(
                &pole,
                &EventInput::default(),
                format!("/admin/poles/{slug}/events/new"),
                admin.lang(),
            ),
            None,
        ))
    })
    .await
}

async fn event_create(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    run(&admin.c, async {
        let form = admin.form(&body)?;
        let pole = admin.pole(&state, &slug).await?;
        let mut e = ValidationErrors::new();
        let input = read_event(&form, None, admin.lang(), &mut e);
        let valid = combine(e, input.validate());
        let valid = match valid {
            Ok(v) => match state.store.check_event_refs(&v).await {
                Ok(()) => Ok(v),
                Err(crate::store::StoreError::Invalid(errors)) => Err(errors),
                Err(other) => return Err(other.into()),
            },
            Err(errors) => Err(errors),
        };
        match valid {
            Ok(event) => {
                let record = state.store.create_event(pole.id, &event).await?;
                tracing::info!(pole = %slug, event = %record.public_id, user = %admin.auth.user.username, "event published");
                Ok(done(&state, &format!("/admin/poles/{slug}"), admin.t("admin.published")))
            }
            Err(errors) => Ok(form_page(&state, &admin.c, event_spec(&pole, &input, format!("/admin/poles/{slug}/events/new"), admin.lang()), Some(&errors))),
        }
    })
    .await
}

async fn event_edit(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Response {
    run(&admin.c, async {
        let record = state.store.event(&id).await?;
        admin.auth.require_pole(record.pole_id)?;
        let pole = state.store.pole_by_id(record.pole_id).await?;
        Ok(form_page(
            &state,
            &admin.c,
            event_spec(
                &pole,
                &record.data.to_input(),
                format!("/admin/events/{id}"),
                admin.lang(),
            )
            .at_version(Some(record.version)),
            None,
        ))
    })
    .await
}

async fn event_update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    run(&admin.c, async {
        let form = admin.form(&body)?;
        let record = state.store.event(&id).await?;
        admin.auth.require_pole(record.pole_id)?;
        let pole = state.store.pole_by_id(record.pole_id).await?;
        let mut e = ValidationErrors::new();
        let input = read_event(&form, Some(record.data.to_input()), admin.lang(), &mut e);
        let expected = form.version();
        let spec = || event_spec(&pole, &input, format!("/admin/events/{id}"), admin.lang());
        match combine(e, input.validate()) {
            Ok(event) => match state
                .store
                .edit_event(&id, expected, |_| Ok::<_, StoreError>(event.clone()))
                .await
            {
                Ok(_) => Ok(done(
                    &state,
                    &format!("/admin/poles/{}", pole.pole.slug),
                    admin.t("admin.saved"),
                )),
                Err(StoreError::Stale {
                    expected, current, ..
                }) => {
                    let now = state.store.event(&id).await?;
                    let versions = (expected, current);
                    conflict_page(
                        &state,
                        &admin.c,
                        spec(),
                        "event",
                        now.id,
                        versions,
                        now.data,
                    )
                    .await
                }
                Err(e) => Err(e.into()),
            },
            Err(errors) => Ok(form_page(
                &state,
                &admin.c,
                spec().at_version(expected),
                Some(&errors),
            )),
        }
    })
    .await
}

// ---- Calls ----

fn call_spec(pole: &PoleRecord, input: &CallInput, action: String, lang: Lang) -> FormSpec {
    let t = |k| lang.t(k);
    let subjects: Vec<&str> = input.subjects.iter().map(|v| v.id()).collect();
    let themes: Vec<&str> = input.themes.iter().map(|v| v.id()).collect();
    FormSpec {
        version: None,
        conflict: None,
        heading: format!("{} — {}", t("kind.call"), pole.pole.name),
        back_url: format!("/admin/poles/{}", pole.pole.slug),
        action,
        submit: t("admin.publish"),
        fields: vec![
            Field::new("title", t("admin.title"), "text", input.title.clone()).required(),
            Field::new(
                "summary",
                t("admin.summary"),
                "textarea",
                opt_str(&input.summary),
            )
            .help(t("admin.summary_help")),
            Field::new(
                "description",
                t("admin.description"),
                "textarea",
                opt_str(&input.description),
            )
            .help(t("admin.markdown_help")),
            Field::select(
                "direction",
                t("call.direction"),
                CallDirection::ALL,
                CallDirection::id,
                input.direction.map(CallDirection::id).unwrap_or("seeking"),
                lang,
            ),
            Field::checkboxes(
                "subjects",
                t("call.subjects"),
                CallSubject::ALL,
                CallSubject::id,
                &subjects,
                lang,
            ),
            themes_field(&themes, lang),
            Field::new(
                "deadline",
                t("call.deadline"),
                "date",
                opt_num(input.deadline),
            ),
            Field::new(
                "how_to_answer",
                t("call.how_to_answer"),
                "textarea",
                input.how_to_answer.clone(),
            )
            .required(),
            Field::select(
                "status",
                t("admin.status"),
                CallStatus::ALL,
                CallStatus::id,
                input.status.map(CallStatus::id).unwrap_or("open"),
                lang,
            ),
        ],
        notes: Vec::new(),
        picker: None,
    }
}

fn read_call(form: &FormData, current: Option<CallInput>, e: &mut ValidationErrors) -> CallInput {
    let mut input = current.unwrap_or_default();
    input.title = form.get("title");
    input.summary = form.opt("summary");
    input.description = form.opt("description");
    input.direction = form.vocab("direction", CallDirection::from_id, e);
    input.subjects = form.vocab_list("subjects", CallSubject::from_id, e);
    input.themes = form.vocab_list("themes", Theme::from_id, e);
    input.deadline = match form.opt("deadline") {
        None => None,
        Some(d) => match chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                e.add(
                    "deadline",
                    format!("`{d}` is not a date such as 2026-12-31"),
                );
                None
            }
        },
    };
    input.how_to_answer = form.get("how_to_answer");
    input.status = form.vocab("status", CallStatus::from_id, e);
    input
}

async fn call_new(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        Ok(form_page(
            &state,
            &admin.c,
            call_spec(
                &pole,
                &CallInput::default(),
                format!("/admin/poles/{slug}/calls/new"),
                admin.lang(),
            ),
            None,
        ))
    })
    .await
}

async fn call_create(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    run(&admin.c, async {
        let form = admin.form(&body)?;
        let pole = admin.pole(&state, &slug).await?;
        let mut e = ValidationErrors::new();
        let input = read_call(&form, None, &mut e);
        match combine(e, input.validate()) {
            Ok(call) => {
                let record = state.store.create_call(pole.id, &call).await?;
                tracing::info!(pole = %slug, call = %record.public_id, user = %admin.auth.user.username, "call published");
                Ok(done(&state, &format!("/admin/poles/{slug}"), admin.t("admin.published")))
            }
            Err(errors) => Ok(form_page(&state, &admin.c, call_spec(&pole, &input, format!("/admin/poles/{slug}/calls/new"), admin.lang()), Some(&errors))),
        }
    })
    .await
}

async fn call_edit(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Response {
    run(&admin.c, async {
        let record = state.store.call(&id).await?;
        admin.auth.require_pole(record.pole_id)?;
        let pole = state.store.pole_by_id(record.pole_id).await?;
        Ok(form_page(
            &state,
            &admin.c,
            call_spec(
                &pole,
                &record.data.to_input(),
                format!("/admin/calls/{id}"),
                admin.lang(),
            )
            .at_version(Some(record.version)),
            None,
        ))
    })
    .await
}

async fn call_update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    run(&admin.c, async {
        let form = admin.form(&body)?;
        let record = state.store.call(&id).await?;
        admin.auth.require_pole(record.pole_id)?;
        let pole = state.store.pole_by_id(record.pole_id).await?;
        let mut e = ValidationErrors::new();
        let input = read_call(&form, Some(record.data.to_input()), &mut e);
        let expected = form.version();
        let spec = || call_spec(&pole, &input, format!("/admin/calls/{id}"), admin.lang());
        match combine(e, input.validate()) {
            Ok(call) => match state
                .store
                .edit_call(&id, expected, |_| Ok::<_, StoreError>(call.clone()))
                .await
            {
                Ok(_) => Ok(done(
                    &state,
                    &format!("/admin/poles/{}", pole.pole.slug),
                    admin.t("admin.saved"),
                )),
                Err(StoreError::Stale {
                    expected, current, ..
                }) => {
                    let now = state.store.call(&id).await?;
                    let versions = (expected, current);
                    conflict_page(&state, &admin.c, spec(), "call", now.id, versions, now.data)
                        .await
                }
                Err(e) => Err(e.into()),
            },
            Err(errors) => Ok(form_page(
                &state,
                &admin.c,
                spec().at_version(expected),
                Some(&errors),
            )),
        }
    })
    .await
}

async fn call_close(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    run(&admin.c, async {
        admin.form(&body)?;
        let record = state.store.call(&id).await?;
        admin.auth.require_pole(record.pole_id)?;
        let pole = state.store.pole_by_id(record.pole_id).await?;
        // Closed from the call as stored when the write takes its lock: a change saved
        // meanwhile by someone else stays.
        state
            .store
            .edit_call(&id, None, |stored| {
                let mut input = stored.to_input();
                input.status = Some(CallStatus::Closed);
                Ok::<_, ApiError>(input.validate()?)
            })
            .await?;
        tracing::info!(call = %id, user = %admin.auth.user.username, "call closed");
        Ok(done(
            &state,
            &format!("/admin/poles/{}", pole.pole.slug),
            admin.t("admin.closed"),
        ))
    })
    .await
}

// ---- Projects ----

/// The themes' checkboxes, as poles, projects, events and calls have them.
fn themes_field(themes: &[&str], lang: Lang) -> Field {
    Field::checkboxes(
        "themes",
        lang.t("pole.themes"),
        Theme::ALL,
        Theme::id,
        themes,
        lang,
    )
}

fn project_spec(pole: &PoleRecord, input: &ProjectInput, action: String, lang: Lang) -> FormSpec {
    let t = |k| lang.t(k);
    let themes: Vec<&str> = input.themes.iter().map(|v| v.id()).collect();
    FormSpec {
        version: None,
        conflict: None,
        heading: format!("{} — {}", t("kind.project"), pole.pole.name),
        back_url: format!("/admin/poles/{}", pole.pole.slug),
        action,
        submit: t("admin.publish"),
        fields: vec![
            Field::new("title", t("admin.title"), "text", input.title.clone()).required(),
            Field::new(
                "summary",
                t("admin.summary"),
                "textarea",
                opt_str(&input.summary),
            )
            .help(t("admin.summary_help")),
            Field::new(
                "description",
                t("admin.description"),
                "textarea",
                opt_str(&input.description),
            )
            .help(t("admin.markdown_help")),
            Field::select(
                "status",
                t("admin.status"),
                ProjectStatus::ALL,
                ProjectStatus::id,
                input.status.map(ProjectStatus::id).unwrap_or("in-progress"),
                lang,
            ),
            themes_field(&themes, lang),
            Field::new(
                "start_date",
                t("project.start"),
                "date",
                opt_num(input.start_date),
            ),
            Field::new(
                "end_date",
                t("project.end"),
                "date",
                opt_num(input.end_date),
            ),
        ],
        notes: Vec::new(),
        picker: None,
    }
}

fn read_date(form: &FormData, name: &str, e: &mut ValidationErrors) -> Option<chrono::NaiveDate> {
    let value = form.opt(name)?;
    match chrono::NaiveDate::parse_from_str(&value, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            e.add(name, format!("`{value}` is not a date such as 2026-12-31"));
            None
        }
    }
}

fn read_project(
    form: &FormData,
    current: Option<ProjectInput>,
    e: &mut ValidationErrors,
) -> ProjectInput {
    let mut input = current.unwrap_or_default();
    input.title = form.get("title");
    input.summary = form.opt("summary");
    input.description = form.opt("description");
    input.status = form.vocab("status", ProjectStatus::from_id, e);
    input.themes = form.vocab_list("themes", Theme::from_id, e);
    input.start_date = read_date(form, "start_date", e);
    input.end_date = read_date(form, "end_date", e);
    input
}

async fn project_new(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        Ok(form_page(
            &state,
            &admin.c,
            project_spec(
                &pole,
                &ProjectInput::default(),
                format!("/admin/poles/{slug}/projects/new"),
                admin.lang(),
            ),
            None,
        ))
    })
    .await
}

async fn project_create(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    run(&admin.c, async {
        let form = admin.form(&body)?;
        let pole = admin.pole(&state, &slug).await?;
        let mut e = ValidationErrors::new();
        let input = read_project(&form, None, &mut e);
        match combine(e, input.validate()) {
            Ok(project) => {
                state.store.create_project(pole.id, &project).await?;
                Ok(done(
                    &state,
                    &format!("/admin/poles/{slug}"),
                    admin.t("admin.published"),
                ))
            }
            Err(errors) => Ok(form_page(
                &state,
                &admin.c,
                project_spec(
                    &pole,
                    &input,
                    format!("/admin/poles/{slug}/projects/new"),
                    admin.lang(),
                ),
                Some(&errors),
            )),
        }
    })
    .await
}

async fn project_edit(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Response {
    run(&admin.c, async {
        let record = state.store.project(&id).await?;
        admin.auth.require_pole(record.pole_id)?;
        let pole = state.store.pole_by_id(record.pole_id).await?;
        Ok(form_page(
            &state,
            &admin.c,
            project_spec(
                &pole,
                &record.data.to_input(),
                format!("/admin/projects/{id}"),
                admin.lang(),
            )
            .at_version(Some(record.version)),
            None,
        ))
    })
    .await
}

async fn project_update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    run(&admin.c, async {
        let form = admin.form(&body)?;
        let record = state.store.project(&id).await?;
        admin.auth.require_pole(record.pole_id)?;
        let pole = state.store.pole_by_id(record.pole_id).await?;
        let mut e = ValidationErrors::new();
        let input = read_project(&form, Some(record.data.to_input()), &mut e);
        let valid = match combine(e, input.validate()) {
            Ok(v) => match state.store.check_project_refs(record.pole_id, &v).await {
                Ok(()) => Ok(v),
                Err(crate::store::StoreError::Invalid(errors)) => Err(errors),
                Err(other) => return Err(other.into()),
            },
            Err(errors) => Err(errors),
        };
        let expected = form.version();
        let spec = || project_spec(&pole, &input, format!("/admin/projects/{id}"), admin.lang());
        match valid {
            Ok(project) => match state
                .store
                .edit_project(&id, expected, |_| Ok::<_, StoreError>(project.clone()))
                .await
            {
                Ok(_) => Ok(done(
                    &state,
                    &format!("/admin/poles/{}", pole.pole.slug),
                    admin.t("admin.saved"),
                )),
                Err(StoreError::Stale {
                    expected, current, ..
                }) => {
                    let now = state.store.project(&id).await?;
                    let versions = (expected, current);
                    conflict_page(
                        &state,
                        &admin.c,
                        spec(),
                        "project",
                        now.id,
                        versions,
                        now.data,
                    )
                    .await
                }
                Err(e) => Err(e.into()),
            },
            Err(errors) => Ok(form_page(
                &state,
                &admin.c,
                spec().at_version(expected),
                Some(&errors),
            )),
        }
    })
    .await
}

macro_rules! delete_handler {
    ($name:ident, $get:ident, $delete:ident) => {
        async fn $name(State(state): State<AppState>, admin: Admin, Path(id): Path<String>, body: Bytes) -> Response {
            run(&admin.c, async {
                admin.form(&body)?;
                let record = state.store.$get(&id).await?;
                admin.auth.require_pole(record.pole_id)?;
                let pole = state.store.pole_by_id(record.pole_id).await?;
                state.store.$delete(&id).await?;
                tracing::info!(id = %id, user = %admin.auth.user.username, concat!("deleted with ", stringify!($delete)));
                Ok(done(&state, &format!("/admin/poles/{}", pole.pole.slug), admin.t("admin.deleted")))
            })
            .await
        }
    };
}

delete_handler!(event_delete, event, delete_event);
delete_handler!(call_delete, call, delete_call);
delete_handler!(project_delete, project, delete_project);

// ---- Followers and replies ----

async fn follower_answer(
    state: &AppState,
    admin: &Admin,
    slug: &str,
    id: i64,
    body: &[u8],
    accept: bool,
) -> Result<Response, ApiError> {
    admin.form(body)?;
    let pole = admin.pole(state, slug).await?;
    let follower = state.store.follower(id).await?;
    if follower.pole_id != Some(pole.id) {
        return Err(ApiError::NotFound(format!("follower {id} of `{slug}`")));
    }
    if accept {
        let follower = state.store.set_follower_state(id, "accepted").await?;
        crate::federation::publish::answer_follow(&state.fed, &follower, true).await?;
    } else {
        crate::federation::publish::answer_follow(&state.fed, &follower, false).await?;
        state.store.delete_follower(id).await?;
    }
    Ok(done(
        state,
        &format!("/admin/poles/{slug}"),
        admin.t(if accept {
            "admin.accepted"
        } else {
            "admin.refused"
        }),
    ))
}

async fn follower_accept(
    State(state): State<AppState>,
    admin: Admin,
    Path((slug, id)): Path<(String, i64)>,
    body: Bytes,
) -> Response {
    run(
        &admin.c,
        follower_answer(&state, &admin, &slug, id, &body, true),
    )
    .await
}

async fn follower_reject(
    State(state): State<AppState>,
    admin: Admin,
    Path((slug, id)): Path<(String, i64)>,
    body: Bytes,
) -> Response {
    run(
        &admin.c,
        follower_answer(&state, &admin, &slug, id, &body, false),
    )
    .await
}

async fn reply_moderate(
    State(state): State<AppState>,
    admin: Admin,
    Path((id, new_state)): Path<(i64, String)>,
    body: Bytes,
) -> Response {
    run(&admin.c, async {
        admin.form(&body)?;
        if !matches!(new_state.as_str(), "visible" | "rejected") {
            return Err(ApiError::BadRequest(
                "a reply is made `visible` or `rejected`".into(),
            ));
        }
        let reply = state.store.reply(id).await?;
        admin.auth.require_pole(reply.pole_id)?;
        state.store.set_reply_state(id, &new_state).await?;
        let pole = state.store.pole_by_id(reply.pole_id).await?;
        Ok(done(
            &state,
            &format!("/admin/poles/{}", pole.pole.slug),
            admin.t("admin.saved"),
        ))
    })
    .await
}

// ---- The instance: follows and deliveries ----

pub struct QueueRow {
    domain: String,
    pending: u64,
    failed: u64,
    delivered: u64,
    health: String,
}

/// A stored block as the page shows it.
pub struct BlockRow {
    domain: String,
    reason: String,
    since: String,
    by: String,
}

#[derive(Template)]
#[template(path = "admin/federation.html")]
struct FederationPage {
    c: Ctx,
    meta: Meta,
    flash: String,
    form: FederationForm,
    follows: Vec<FollowerRow>,
    followers: Vec<FollowerRow>,
    blocks: Vec<BlockRow>,
    configured: Vec<String>,
    queue: Vec<QueueRow>,
}

/// What was typed in the page's forms and what was wrong with it, shown again after a
/// refused submission.
#[derive(Default)]
struct FederationForm {
    /// The follow form's error.
    error: String,
    actor: String,
    relay: bool,
    domain: String,
    reason: String,
    domain_error: String,
    reason_error: String,
}

/// Instance followers shown at most; the API lists them all, page by page.
const INSTANCE_FOLLOWERS_SHOWN: u64 = 500;

fn state_label(state: &str, lang: Lang) -> &'static str {
    match state {
        "pending" => lang.t("admin.pending"),
        "accepted" => lang.t("admin.accepted"),
        _ => lang.t("admin.refused"),
    }
}

fn actor_row(id: i64, actor: &crate::store::RemoteActor, state: &str, lang: Lang) -> FollowerRow {
    FollowerRow {
        id,
        handle: actor.handle(),
        url: actor.url.clone().unwrap_or_else(|| actor.ap_id.clone()),
        pending: state == "pending",
        state: state_label(state, lang),
        relay: false,
    }
}

async fn federation_view(
    state: &AppState,
    admin: &Admin,
    flash_text: String,
    form: FederationForm,
    status: StatusCode,
) -> Result<Response, ApiError> {
    admin.auth.require_admin()?;
    let lang = admin.lang();
    let instance = state.fed.instance_actor_id();
    let follows = state
        .store
        .list_following(&instance)
        .await?
        .into_iter()
        .map(|f| {
            let mut row = actor_row(f.id, &f.actor, &f.state, lang);
            row.relay = f.relay;
            row
        })
        .collect();
    let followers = state
        .store
        .list_followers(
            &instance,
            crate::store::PageRequest {
                page: 1,
                per_page: INSTANCE_FOLLOWERS_SHOWN,
            },
        )
        .await?
        .items
        .into_iter()
        .map(|f| actor_row(f.id, &f.actor, &f.state, lang))
        .collect();
    let blocks = state
        .store
        .domain_blocks()
        .await?
        .into_iter()
        .map(|b| BlockRow {
            domain: b.domain,
            reason: b.reason.unwrap_or_default(),
            since: views::timestamp(b.created_at, lang),
            by: b.created_by.unwrap_or_default(),
        })
        .collect();
    let queue = state
        .store
        .queue_state()
        .await?
        .into_iter()
        .map(|q| QueueRow {
            health: if q.unreachable {
                lang.t("admin.unreachable").to_owned()
            } else if let Some(since) = q.failing_since {
                format!(
                    "{} {}",
                    lang.t("admin.failing_since"),
                    views::timestamp(since, lang)
                )
            } else {
                lang.t("admin.healthy").to_owned()
            },
            domain: q.domain,
            pending: q.pending,
            failed: q.failed,
            delivered: q.delivered,
        })
        .collect();
    Ok(html(
        &FederationPage {
            meta: Meta::new(lang.t("admin.federation"), "", String::new()),
            flash: flash_text,
            form,
            follows,
            followers,
            blocks,
            configured: state.fed.client.blocks().configured().to_vec(),
            queue,
            c: admin.c.clone(),
        },
        status,
    ))
}

async fn federation_page(
    State(state): State<AppState>,
    admin: Admin,
    q: QueryResult<FlashQuery>,
) -> Response {
    run(
        &admin.c,
        federation_view(
            &state,
            &admin,
            flash(q.ok()),
            FederationForm::default(),
            StatusCode::OK,
        ),
    )
    .await
}

/// The status of a refused submission shown again with its error: that of the error for a
/// mistake of the person, 502 when the other server failed.
fn shown_error(e: &ApiError) -> Option<StatusCode> {
    let status = e.status();
    (status.is_client_error() || status == StatusCode::BAD_GATEWAY).then_some(status)
}

async fn follow_create(State(state): State<AppState>, admin: Admin, body: Bytes) -> Response {
    run(&admin.c, async {
        let form = admin.form(&body)?;
        admin.auth.require_admin()?;
        let actor = form.get("actor");
        let relay = form.checked("relay");
        if actor.is_empty() {
            let form = FederationForm {
                error: admin.t("admin.follow_empty").to_owned(),
                actor,
                relay,
                ..Default::default()
            };
            return federation_view(
                &state,
                &admin,
                String::new(),
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        match super::api::federation::follow_instance(
            &state,
            &actor,
            relay,
            &admin.auth.user.username,
        )
        .await
        {
            Ok(_) => Ok(done(
                &state,
                "/admin/federation",
                admin.t("admin.follow_sent"),
            )),
            Err(e) => match shown_error(&e) {
                Some(status) => {
                    let form = FederationForm {
                        error: e.to_string(),
                        actor,
                        relay,
                        ..Default::default()
                    };
                    federation_view(&state, &admin, String::new(), form, status).await
                }
                None => Err(e),
            },
        }
    })
    .await
}

/// An administrator's federation action posted from a button: the form's token and the
/// role are checked, then `action` runs, and the federation page shows the message it gives.
async fn federation_action<F>(state: &AppState, admin: &Admin, body: &[u8], action: F) -> Response
where
    F: Future<Output = Result<String, ApiError>>,
{
    run(&admin.c, async {
        admin.form(body)?;
        admin.auth.require_admin()?;
        let message = action.await?;
        Ok(done(state, "/admin/federation", &message))
    })
    .await
}

async fn follow_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let action = async {
        let following = state.store.following(id).await?;
        if following.local_actor != state.fed.instance_actor_id() {
            return Err(ApiError::NotFound(format!("follow {id}")));
        }
        crate::federation::publish::unfollow(&state.fed, id).await?;
        Ok(admin.t("admin.unfollowed").to_owned())
    };
    federation_action(&state, &admin, &body, action).await
}

async fn instance_follower_answer(
    state: &AppState,
    admin: &Admin,
    id: i64,
    body: &[u8],
    accept: bool,
) -> Response {
    let action = async {
        super::api::federation::answer_instance_follower(
            state,
            id,
            accept,
            &admin.auth.user.username,
        )
        .await?;
        Ok(admin
            .t(if accept {
                "admin.accepted_instance"
            } else {
                "admin.refused_instance"
            })
            .to_owned())
    };
    federation_action(state, admin, body, action).await
}

async fn instance_follower_accept(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    instance_follower_answer(&state, &admin, id, &body, true).await
}

async fn instance_follower_reject(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    instance_follower_answer(&state, &admin, id, &body, false).await
}

async fn block_create(State(state): State<AppState>, admin: Admin, body: Bytes) -> Response {
    run(&admin.c, async {
        let form = admin.form(&body)?;
        admin.auth.require_admin()?;
        let mut typed = FederationForm {
            domain: form.get("domain"),
            reason: form.get("reason"),
            ..Default::default()
        };
        if typed.domain.trim().is_empty() {
            typed.domain_error = admin.t("admin.block_empty").to_owned();
        } else if crate::federation::url_check::parse_domain(&typed.domain).is_err() {
            typed.domain_error = format!("{} {}", admin.t("admin.block_bad_domain"), typed.domain);
        }
        if typed.reason.trim().chars().count() > crate::federation::blocks::MAX_REASON {
            typed.reason_error = admin.t("admin.block_reason_long").to_owned();
        }
        if !typed.domain_error.is_empty() || !typed.reason_error.is_empty() {
            return federation_view(
                &state,
                &admin,
                String::new(),
                typed,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
        let reason = Some(typed.reason.as_str());
        match crate::federation::blocks::block(
            &state.fed,
            &typed.domain,
            reason,
            Some(&admin.auth.user.username),
        )
        .await
        .map_err(ApiError::from)
        {
            Ok(record) => Ok(done(
                &state,
                "/admin/federation",
                &format!("{} {}", admin.t("admin.blocked"), record.domain),
            )),
            Err(e) => match shown_error(&e) {
                Some(status) => {
                    typed.domain_error = e.to_string();
                    federation_view(&state, &admin, String::new(), typed, status).await
                }
                None => Err(e),
            },
        }
    })
    .await
}

async fn block_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(domain): Path<String>,
    body: Bytes,
) -> Response {
    let action = async {
        crate::federation::blocks::unblock(&state.fed, &domain, Some(&admin.auth.user.username))
            .await?;
        Ok(format!("{} {}", admin.t("admin.unblocked"), domain.trim()))
    };
    federation_action(&state, &admin, &body, action).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn communes_are_found_by_code_postal_code_or_name() {
        let mut e = ValidationErrors::new();
        let codes = resolve_communes("Lyon (69123)\nVilleurbanne; 69120", Lang::Fr, &mut e, "c");
        assert!(e.is_empty(), "{e}");
        assert_eq!(codes, vec!["69123", "69266", "69256"]);
        let mut e = ValidationErrors::new();
        resolve_communes("Nulle-Part-Sur-Rien", Lang::Fr, &mut e, "c");
        assert_eq!(e.fields(), vec!["c"]);
    }
}
