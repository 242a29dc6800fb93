//! A pole on the wire: the `Group` written from a stored pole and its members, and read
//! back from another Maillage instance, checked as a local pole is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::actor::{Endpoints, Image, PublicKey, image, url};
use super::context::context;
use super::json::{invalid, type_of};
use super::note::{Source, format_of};
use crate::domain::member::{Member, MemberInput};
use crate::domain::place::{Place, PlaceInput};
use crate::domain::pole::{NationalCallWon, Pole, PoleInput, RecognitionsInput};
use crate::domain::territory::TerritoryInput;
use crate::domain::text::{escape_html as escape, unescape_html};
use crate::domain::vocab::{EmployeeBand, LegalForm, PoolingKind, TerritoryKind, Theme};
use crate::store::{ActorKeys, MemberRecord, PoleRecord, Store};

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
    pub source: Option<Source>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
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
            context: context(),
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
            source: Source::from_rich_text(&pole.description),
            website: pole.website.clone(),
            email: pole.contact_email.clone(),
            telephone: pole.contact_phone.clone(),
            id,
        })
    }
}

/// The PTCE data of a pole published by another Maillage instance.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RemoteGroup {
    preferred_username: String,
    name: String,
    territory: ApTerritory,
    #[serde(default)]
    themes: Vec<Theme>,
    #[serde(default)]
    pooling: Vec<PoolingKind>,
    #[serde(default)]
    members: Vec<ApMember>,
    recognitions: Option<ApRecognitions>,
    founded_year: Option<i32>,
    legal_form: Option<LegalForm>,
    siren: Option<String>,
    #[serde(rename = "abstract")]
    excerpt: Option<String>,
    source: Option<Source>,
    website: Option<String>,
    email: Option<String>,
    telephone: Option<String>,
    location: Option<Value>,
    #[serde(default)]
    manually_approves_followers: bool,
}

pub(super) fn place_input(value: &Value) -> Option<PlaceInput> {
    let place: ApPlace = serde_json::from_value(value.clone()).ok()?;
    Some(PlaceInput {
        name: Some(place.name),
        street: place.address.street_address,
        postal_code: place.address.postal_code,
        locality: place.address.address_locality,
        commune: None,
        latitude: place.latitude,
        longitude: place.longitude,
    })
}

/// Whether an actor document is a pole of a Maillage instance (it carries a territory).
pub fn is_maillage_pole(doc: &Value) -> bool {
    type_of(doc) == "Group" && doc.get("territory").is_some_and(Value::is_object)
}

/// A pole of another Maillage instance, with its members, checked as a local pole is.
pub fn parse_pole(doc: &Value) -> Result<(Pole, Vec<Member>), String> {
    let group: RemoteGroup =
        serde_json::from_value(doc.clone()).map_err(|e| format!("the pole cannot be read: {e}"))?;
    let recognitions = group.recognitions.map(|r| RecognitionsInput {
        national_calls: r.national_calls,
        charter_signed_year: r.charter_signed_year,
    });
    let input = PoleInput {
        slug: group.preferred_username,
        name: group.name,
        summary: group.excerpt.as_deref().map(unescape_html),
        description: group.source.as_ref().map(|s| s.content.clone()),
        description_format: group.source.as_ref().map(format_of),
        website: group.website,
        contact_email: group.email,
        contact_phone: group.telephone,
        founded_year: group.founded_year,
        legal_form: group.legal_form,
        siren: group.siren,
        territory: TerritoryInput {
            communes: group.territory.communes,
            kind: group.territory.territory_kind,
            label: group.territory.name,
        },
        themes: group.themes,
        pooling: group.pooling,
        shared_place: group.location.as_ref().and_then(place_input),
        recognitions: recognitions.unwrap_or_default(),
        manually_approves_followers: group.manually_approves_followers,
        replies_need_approval: false,
    };
    let pole = input.validate().map_err(|e| invalid("pole", e))?;
    let members = group
        .members
        .into_iter()
        .map(|m| {
            MemberInput {
                name: m.name,
                legal_form: Some(m.legal_form),
                ess: Some(m.ess),
                employee_band: m.employee_band,
                siret: m.siret,
                website: m.url,
                role: m.role,
                joined_year: m.joined_year,
            }
            .validate()
            .map_err(|e| invalid("member", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((pole, members))
}
