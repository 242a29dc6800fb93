//! Actors on the wire: each pole is a `Group`, the instance is an `Application`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::domain::place::Place;
use crate::domain::pole::NationalCallWon;
use crate::domain::text::escape_html as escape;
use crate::domain::vocab::{EmployeeBand, LegalForm, PoolingKind, TerritoryKind, Theme};
use crate::store::{ActorKeys, MediaRef, MemberRecord, PoleRecord, Store};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    pub id: Url,
    pub owner: Url,
    pub public_key_pem: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub shared_inbox: Url,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: Url,
    pub media_type: String,
}

/// A labelled value shown in a profile, as Mastodon shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyValue {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostalAddress {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_locality: Option<String>,
    pub address_country: String,
}

/// A place with an address and coordinates, as Mobilizon writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApPlace {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub address: PostalAddress,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
}

impl ApPlace {
    pub fn from_place(place: &Place) -> ApPlace {
        ApPlace {
            kind: "Place".into(),
            name: place.name.clone().unwrap_or_else(|| place.one_line()),
            address: PostalAddress {
                kind: "PostalAddress".into(),
                street_address: place.street.clone(),
                postal_code: place.postal_code.clone(),
                address_locality: place.locality.clone(),
                address_country: "FR".into(),
            },
            latitude: place.latitude,
            longitude: place.longitude,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApTerritory {
    pub communes: Vec<String>,
    pub epcis: Vec<String>,
    pub departements: Vec<String>,
    pub regions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub territory_kind: Option<TerritoryKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApMember {
    pub name: String,
    pub legal_form: LegalForm,
    pub ess: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_band: Option<EmployeeBand>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub siret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined_year: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApRecognitions {
    pub national_calls: Vec<NationalCallWon>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charter_signed_year: Option<i32>,
}

/// A pole as other servers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    pub preferred_username: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub url: Url,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<Image>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    pub inbox: Url,
    pub outbox: Url,
    pub followers: Url,
    pub following: Url,
    pub endpoints: Endpoints,
    pub public_key: PublicKey,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub attachment: Vec<PropertyValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<ApPlace>,
    pub territory: ApTerritory,
    pub themes: Vec<Theme>,
    pub pooling: Vec<PoolingKind>,
    pub members: Vec<ApMember>,
    pub recognitions: ApRecognitions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub founded_year: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_form: Option<LegalForm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub siren: Option<String>,
    /// The short plain-text summary and the description as written, for Maillage instances.
    #[serde(rename = "abstract", default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<super::objects::Source>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
}

/// The instance as other servers see it (FEP-2677): it signs fetches and follows instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    #[serde(rename = "@context")]
    pub context: Value,
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    pub preferred_username: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub url: Url,
    pub inbox: Url,
    pub outbox: Url,
    pub followers: Url,
    pub following: Url,
    pub endpoints: Endpoints,
    pub public_key: PublicKey,
    pub manually_approves_followers: bool,
    pub discoverable: bool,
}

/// The instance actor's user name, as Mobilizon expects it for instance follows.
pub const INSTANCE_ACTOR_NAME: &str = "relay";

fn url(store: &Store, path: &str) -> Result<Url, url::ParseError> {
    Url::parse(&store.url(path))
}

fn image(store: &Store, media: &Option<MediaRef>) -> Result<Option<Image>, url::ParseError> {
    media
        .as_ref()
        .map(|m| {
            Ok(Image {
                kind: "Image".into(),
                url: url(store, &format!("/media/{}", m.sha256))?,
                media_type: m.content_type.clone(),
            })
        })
        .transpose()
}

impl Group {
    pub fn new(
        store: &Store,
        record: &PoleRecord,
        members: &[MemberRecord],
        keys: &ActorKeys,
    ) -> Result<Group, url::ParseError> {
        let pole = &record.pole;
        let id = Url::parse(&record.ap_id)?;
        let base = record.ap_id.trim_end_matches('/');
        let at = |path: &str| Url::parse(&format!("{base}{path}"));
        let territory_view = pole.territory.view();
        let mut attachment = Vec::new();
        if let Some(website) = &pole.website {
            attachment.push(PropertyValue {
                kind: "PropertyValue".into(),
                name: "Site web".into(),
                value: format!(
                    "<a href=\"{url}\" rel=\"me nofollow noopener noreferrer\" target=\"_blank\">{text}</a>",
                    url = escape(website),
                    text = escape(website.trim_start_matches("https://").trim_start_matches("http://").trim_end_matches('/'))
                ),
            });
        }
        if let Some(email) = &pole.contact_email {
            attachment.push(PropertyValue {
                kind: "PropertyValue".into(),
                name: "Contact".into(),
                value: format!("<a href=\"mailto:{e}\">{e}</a>", e = escape(email)),
            });
        }
        let places: Vec<String> = pole
            .territory
            .label
            .iter()
            .cloned()
            .chain(
                territory_view
                    .departements
                    .iter()
                    .map(|d| format!("{} ({})", d.name, d.code)),
            )
            .collect();
        if !places.is_empty() {
            attachment.push(PropertyValue {
                kind: "PropertyValue".into(),
                name: "Territoire".into(),
                value: escape(&places.join(", ")),
            });
        }
        let summary = match (&pole.summary, &pole.description) {
            (Some(s), Some(d)) => Some(format!("<p>{}</p>{}", super::html::linkify(s), d.html)),
            (Some(s), None) => Some(format!("<p>{}</p>", super::html::linkify(s))),
            (None, Some(d)) => Some(d.html.clone()),
            (None, None) => None,
        }
        .map(|html| super::html::sanitize(&html));
        Ok(Group {
            context: super::context(),
            kind: "Group".into(),
            preferred_username: pole.slug.clone(),
            name: pole.name.clone(),
            summary,
            url: id.clone(),
            icon: image(store, &record.logo)?,
            image: image(store, &record.banner)?,
            inbox: at("/inbox")?,
            outbox: at("/outbox")?,
            followers: at("/followers")?,
            following: at("/following")?,
            endpoints: Endpoints {
                shared_inbox: url(store, "/inbox")?,
            },
            public_key: PublicKey {
                id: Url::parse(&format!("{base}#main-key"))?,
                owner: id.clone(),
                public_key_pem: keys.public_key.clone(),
            },
            manually_approves_followers: pole.manually_approves_followers,
            discoverable: true,
            published: record.created_at,
            updated: record.updated_at,
            attachment,
            location: pole.shared_place.as_ref().map(ApPlace::from_place),
            territory: ApTerritory {
                communes: pole.territory.communes.clone(),
                epcis: pole
                    .territory
                    .epci_codes()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                departements: pole
                    .territory
                    .departement_codes()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                regions: pole
                    .territory
                    .region_codes()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                territory_kind: pole.territory.kind,
                name: pole.territory.label.clone(),
            },
            themes: pole.themes.clone(),
            pooling: pole.pooling.clone(),
            members: members
                .iter()
                .map(|m| ApMember {
                    name: m.member.name.clone(),
                    legal_form: m.member.legal_form,
                    ess: m.member.ess,
                    employee_band: m.member.employee_band,
                    siret: m.member.siret.clone(),
                    url: m.member.website.clone(),
                    role: m.member.role.clone(),
                    joined_year: m.member.joined_year,
                })
                .collect(),
            recognitions: ApRecognitions {
                national_calls: pole.recognitions.national_calls.clone(),
                charter_signed_year: pole.recognitions.charter_signed_year,
            },
            founded_year: pole.founded_year,
            legal_form: pole.legal_form,
            siren: pole.siren.clone(),
            // Text, HTML-escaped as the objects' (the name stays text: Mastodon and
            // Mobilizon show an actor's name as text, never as HTML).
            excerpt: pole.summary.as_deref().map(escape),
            source: super::objects::Source::from_rich_text(&pole.description),
            website: pole.website.clone(),
            email: pole.contact_email.clone(),
            telephone: pole.contact_phone.clone(),
            id,
        })
    }
}

impl Application {
    pub fn new(
        store: &Store,
        name: &str,
        summary: Option<&str>,
        keys: &ActorKeys,
    ) -> Result<Application, url::ParseError> {
        let id = url(store, "/actor")?;
        Ok(Application {
            context: super::context(),
            kind: "Application".into(),
            preferred_username: INSTANCE_ACTOR_NAME.into(),
            name: name.to_owned(),
            summary: summary.map(escape),
            url: url(store, "/")?,
            inbox: url(store, "/actor/inbox")?,
            outbox: url(store, "/actor/outbox")?,
            followers: url(store, "/actor/followers")?,
            following: url(store, "/actor/following")?,
            endpoints: Endpoints {
                shared_inbox: url(store, "/inbox")?,
            },
            public_key: PublicKey {
                id: url(store, "/actor#main-key")?,
                owner: id.clone(),
                public_key_pem: keys.public_key.clone(),
            },
            manually_approves_followers: false,
            discoverable: true,
            id,
        })
    }
}
