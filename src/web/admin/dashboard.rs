//! The administration's first pages: the dashboard (the poles this person may edit) and a
//! pole's hub (its publications, members, followers and replies, each with its actions).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::access::Admin;
use super::submit::{FlashQuery, QueryResult, flash, run};
use crate::domain::vocab::CallStatus;
use crate::store::PoleRecord;
use crate::web::AppState;
use crate::web::pages::views::{Label, ReplyItem};
use crate::web::pages::{Ctx, Meta, html};

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    c: Ctx,
    meta: Meta,
    flash: String,
    poles: Vec<(String, String)>,
    is_admin: bool,
}

pub async fn dashboard(
    State(state): State<AppState>,
    admin: Admin,
    q: QueryResult<FlashQuery>,
) -> Response {
    run(&admin.c, async {
        let poles: Vec<PoleRecord> = if admin.auth.is_admin() {
            crate::web::pages::directory::all_poles(&state.store).await?
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

/// A publication of the pole as a row of its hub.
struct Publication {
    kind: &'static str,
    kind_label: &'static str,
    id: String,
    title: String,
    status: &'static str,
    url: String,
    closable: bool,
}

/// A follower of a pole or of the instance, or a follow of the instance, as a row with its
/// actions.
pub struct FollowerRow {
    pub id: i64,
    pub handle: String,
    pub url: String,
    pub state: &'static str,
    pub pending: bool,
    /// A subscription to a relay (follows only).
    pub relay: bool,
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
    /// Whether this person may invite editors of the pole (administrators).
    can_invite: bool,
}

const ALL: crate::store::PageRequest = crate::store::PageRequest {
    page: 1,
    per_page: 100,
};

/// A pole's hub: what it publishes and who follows it, with their actions.
pub async fn pole_hub(
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
                can_invite: admin.auth.is_admin(),
                c: admin.c.clone(),
            },
            StatusCode::OK,
        ))
    })
    .await
}
