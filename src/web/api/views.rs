//! What the JSON API returns: stored records turned into documents with absolute URLs.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::place::Place;
use crate::domain::pole::NationalCallWon;
use crate::domain::project::Link;
use crate::domain::territory::TerritoryView;
use crate::domain::text::RichText;
use crate::domain::vocab::*;
use crate::domain::{CallForCooperation, Event, Project};
use crate::store::{MediaRef, MemberRecord, ObjectRecord, Page, PoleRecord, Store};

/// One page of results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageView<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub per_page: u64,
    /// Number of items over all pages.
    pub total: u64,
    /// Number of pages.
    pub pages: u64,
}

impl<T> From<Page<T>> for PageView<T> {
    fn from(p: Page<T>) -> Self {
        PageView {
            pages: p.total.div_ceil(p.per_page.max(1)),
            items: p.items,
            page: p.page,
            per_page: p.per_page,
            total: p.total,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DescriptionFields {
    /// The text as written.
    pub description: Option<String>,
    pub description_format: Option<TextFormat>,
    /// The text rendered to sanitised HTML.
    pub description_html: Option<String>,
}

fn description(d: &Option<RichText>) -> DescriptionFields {
    DescriptionFields {
        description: d.as_ref().map(|d| d.source.clone()),
        description_format: d.as_ref().map(|d| d.format),
        description_html: d.as_ref().map(|d| d.html.clone()),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecognitionsView {
    pub national_calls: Vec<NationalCallWon>,
    pub charter_signed_year: Option<i32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PoleView {
    pub slug: String,
    /// Address to follow the pole from Mastodon and other fediverse software.
    pub handle: String,
    /// The pole's stable identifier and public page.
    pub url: String,
    pub name: String,
    pub summary: Option<String>,
    #[serde(flatten)]
    pub description: DescriptionFields,
    pub website: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub founded_year: Option<i32>,
    pub legal_form: Option<LegalForm>,
    pub siren: Option<String>,
    pub territory: TerritoryView,
    pub themes: Vec<Theme>,
    pub pooling: Vec<PoolingKind>,
    pub shared_place: Option<Place>,
    pub recognitions: RecognitionsView,
    pub manually_approves_followers: bool,
    pub replies_need_approval: bool,
    pub logo_url: Option<String>,
    pub banner_url: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn media_url(store: &Store, media: &Option<MediaRef>) -> Option<String> {
    media
        .as_ref()
        .map(|m| store.url(&format!("/media/{}", m.sha256)))
}

impl PoleView {
    pub fn new(store: &Store, r: PoleRecord) -> PoleView {
        let p = r.pole;
        PoleView {
            handle: format!("@{}@{}", p.slug, r.domain),
            url: r.ap_id,
            description: description(&p.description),
            territory: p.territory.view(),
            recognitions: RecognitionsView {
                national_calls: p.recognitions.national_calls,
                charter_signed_year: p.recognitions.charter_signed_year,
            },
            logo_url: media_url(store, &r.logo),
            banner_url: media_url(store, &r.banner),
            slug: p.slug,
            name: p.name,
            summary: p.summary,
            website: p.website,
            contact_email: p.contact_email,
            contact_phone: p.contact_phone,
            founded_year: p.founded_year,
            legal_form: p.legal_form,
            siren: p.siren,
            themes: p.themes,
            pooling: p.pooling,
            shared_place: p.shared_place,
            manually_approves_followers: p.manually_approves_followers,
            replies_need_approval: p.replies_need_approval,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub id: i64,
    pub name: String,
    pub legal_form: LegalForm,
    pub ess: bool,
    pub employee_band: Option<EmployeeBand>,
    pub siret: Option<String>,
    pub website: Option<String>,
    pub role: Option<String>,
    pub joined_year: Option<i32>,
    /// One more at each change; the `ETag` of the member.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<MemberRecord> for MemberView {
    fn from(r: MemberRecord) -> Self {
        let m = r.member;
        MemberView {
            id: r.id,
            name: m.name,
            legal_form: m.legal_form,
            ess: m.ess,
            employee_band: m.employee_band,
            siret: m.siret,
            website: m.website,
            role: m.role,
            joined_year: m.joined_year,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Identifiers and dates every published object has.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ObjectMeta {
    /// Stable identifier, used in the API's URLs.
    pub id: String,
    /// The object's stable public URL (its ActivityPub identifier).
    pub url: String,
    /// Slug of the pole that publishes it.
    pub pole: String,
    pub version: i32,
    pub published_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn meta<T>(r: &ObjectRecord<T>, pole_slug: &str) -> ObjectMeta {
    ObjectMeta {
        id: r.public_id.clone(),
        url: r.ap_id.clone(),
        pole: pole_slug.to_owned(),
        version: r.version,
        published_at: r.published_at,
        updated_at: r.updated_at,
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectView {
    #[serde(flatten)]
    pub meta: ObjectMeta,
    pub title: String,
    pub summary: Option<String>,
    #[serde(flatten)]
    pub description: DescriptionFields,
    pub status: ProjectStatus,
    pub partner_member_ids: Vec<i64>,
    pub themes: Vec<Theme>,
    pub territory: TerritoryView,
    #[schema(value_type = Option<String>, format = Date)]
    pub start_date: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub end_date: Option<NaiveDate>,
    pub links: Vec<Link>,
}

impl ProjectView {
    pub fn new(r: ObjectRecord<Project>, pole_slug: &str) -> Self {
        let meta = meta(&r, pole_slug);
        let p = r.data;
        ProjectView {
            meta,
            description: description(&p.description),
            territory: p.territory.view(),
            title: p.title,
            summary: p.summary,
            status: p.status,
            partner_member_ids: p.partner_member_ids,
            themes: p.themes,
            start_date: p.start_date,
            end_date: p.end_date,
            links: p.links,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventView {
    #[serde(flatten)]
    pub meta: ObjectMeta,
    pub title: String,
    pub summary: Option<String>,
    #[serde(flatten)]
    pub description: DescriptionFields,
    /// Start, with the offset of the event's time zone.
    pub starts_at: String,
    pub ends_at: Option<String>,
    pub timezone: String,
    pub place: Option<Place>,
    pub online_url: Option<String>,
    pub organiser_poles: Vec<String>,
    pub registration_url: Option<String>,
    pub capacity: Option<u32>,
    pub status: EventStatus,
    pub themes: Vec<Theme>,
    /// The event's page on the server of other software it was taken from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
}

impl EventView {
    pub fn new(r: ObjectRecord<Event>, pole_slug: &str) -> Self {
        let meta = meta(&r, pole_slug);
        let e = r.data;
        EventView {
            meta,
            description: description(&e.description),
            starts_at: e.local(e.starts_at),
            ends_at: e.ends_at.map(|t| e.local(t)),
            title: e.title,
            summary: e.summary,
            timezone: e.timezone,
            place: e.place,
            online_url: e.online_url,
            organiser_poles: e.organiser_poles,
            registration_url: e.registration_url,
            capacity: e.capacity,
            status: e.status,
            themes: e.themes,
            source_url: e.source_url,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallView {
    #[serde(flatten)]
    pub meta: ObjectMeta,
    pub title: String,
    pub summary: Option<String>,
    #[serde(flatten)]
    pub description: DescriptionFields,
    pub direction: CallDirection,
    pub subjects: Vec<CallSubject>,
    pub themes: Vec<Theme>,
    pub territory: TerritoryView,
    #[schema(value_type = Option<String>, format = Date)]
    pub deadline: Option<NaiveDate>,
    pub how_to_answer: String,
    pub status: CallStatus,
}

impl CallView {
    pub fn new(r: ObjectRecord<CallForCooperation>, pole_slug: &str) -> Self {
        let meta = meta(&r, pole_slug);
        let c = r.data;
        CallView {
            meta,
            description: description(&c.description),
            territory: c.territory.view(),
            title: c.title,
            summary: c.summary,
            direction: c.direction,
            subjects: c.subjects,
            themes: c.themes,
            deadline: c.deadline,
            how_to_answer: c.how_to_answer,
            status: c.status,
        }
    }
}
