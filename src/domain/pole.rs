//! A pole's public profile.

use serde::{Deserialize, Serialize};

use super::place::{Place, PlaceInput};
use super::text::RichText;
use super::vocab::{LegalForm, NationalCall, PoolingKind, TextFormat, Theme};
use super::{Territory, TerritoryInput, ValidationErrors, check};

/// What a pole's editor submits; the slug cannot change after creation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoleInput {
    /// Lower-case identifier used in URLs and in `@slug@domain`.
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// `markdown` (default) or `html`; both are sanitised.
    #[serde(default)]
    pub description_format: Option<TextFormat>,
    #[serde(default)]
    pub website: Option<String>,
    #[serde(default)]
    pub contact_email: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
    #[serde(default)]
    pub founded_year: Option<i32>,
    /// Legal form of the structure that carries the pole.
    #[serde(default)]
    pub legal_form: Option<LegalForm>,
    /// SIREN of the carrying structure (9 digits).
    #[serde(default)]
    pub siren: Option<String>,
    #[serde(default)]
    pub territory: TerritoryInput,
    #[serde(default)]
    pub themes: Vec<Theme>,
    #[serde(default)]
    pub pooling: Vec<PoolingKind>,
    /// The place the pole's members share and open to the public, if any.
    #[serde(default)]
    pub shared_place: Option<PlaceInput>,
    #[serde(default)]
    pub recognitions: RecognitionsInput,
    /// Whether each new follower must be approved by the pole.
    #[serde(default)]
    pub manually_approves_followers: bool,
    /// Whether replies from other servers wait for the pole's approval before being shown.
    #[serde(default)]
    pub replies_need_approval: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecognitionsInput {
    #[serde(default)]
    pub national_calls: Vec<NationalCallWon>,
    /// Year the pole signed the charter of the PTCE inter-network, if it did.
    #[serde(default)]
    pub charter_signed_year: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NationalCallWon {
    pub call: NationalCall,
    pub year: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recognitions {
    pub national_calls: Vec<NationalCallWon>,
    pub charter_signed_year: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pole {
    pub slug: String,
    pub name: String,
    pub summary: Option<String>,
    pub description: Option<RichText>,
    pub website: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub founded_year: Option<i32>,
    pub legal_form: Option<LegalForm>,
    pub siren: Option<String>,
    pub territory: Territory,
    pub themes: Vec<Theme>,
    pub pooling: Vec<PoolingKind>,
    pub shared_place: Option<Place>,
    pub recognitions: Recognitions,
    pub manually_approves_followers: bool,
    pub replies_need_approval: bool,
}

impl PoleInput {
    pub fn validate(&self) -> Result<Pole, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let slug = e.take("slug", check::slug(&self.slug));
        let name = e.take("name", check::required_text(&self.name, check::MAX_NAME));
        let summary = e.take(
            "summary",
            check::optional_text(self.summary.as_deref(), check::MAX_SUMMARY),
        );
        let description = e.take(
            "description",
            RichText::from_input(self.description.as_deref(), self.description_format),
        );
        let website = e.take("website", check::optional_web_url(self.website.as_deref()));
        let contact_email = e.take(
            "contact_email",
            self.contact_email
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(check::email)
                .transpose(),
        );
        let contact_phone = e.take(
            "contact_phone",
            self.contact_phone
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(check::phone)
                .transpose(),
        );
        let founded_year = e.take(
            "founded_year",
            self.founded_year.map(|y| check::year(y, 1900)).transpose(),
        );
        let siren = e.take(
            "siren",
            self.siren
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(check::siren)
                .transpose(),
        );
        let territory = match self.territory.validate() {
            Ok(t) => Some(t),
            Err(errors) => {
                e.nest("territory", errors);
                None
            }
        };
        let themes = e.take("themes", check::dedup_list(&self.themes));
        let pooling = e.take("pooling", check::dedup_list(&self.pooling));
        let shared_place = match self
            .shared_place
            .as_ref()
            .map(PlaceInput::validate)
            .transpose()
        {
            Ok(p) => Some(p),
            Err(errors) => {
                e.nest("shared_place", errors);
                None
            }
        };
        let mut national_calls: Vec<NationalCallWon> = Vec::new();
        for (i, won) in self.recognitions.national_calls.iter().enumerate() {
            if let Err(m) = check::year(won.year, 2010) {
                e.add(format!("recognitions.national_calls[{i}].year"), m);
            } else if !national_calls.contains(won) {
                national_calls.push(*won);
            }
        }
        let charter_signed_year = e.take(
            "recognitions.charter_signed_year",
            self.recognitions
                .charter_signed_year
                .map(|y| check::year(y, 2010))
                .transpose(),
        );
        e.finish(|| Pole {
            slug: slug.unwrap_or_default(),
            name: name.unwrap_or_default(),
            summary: summary.flatten(),
            description: description.flatten(),
            website: website.flatten(),
            contact_email: contact_email.flatten(),
            contact_phone: contact_phone.flatten(),
            founded_year: founded_year.flatten(),
            legal_form: self.legal_form,
            siren: siren.flatten(),
            territory: territory.unwrap_or_default(),
            themes: themes.unwrap_or_default(),
            pooling: pooling.unwrap_or_default(),
            shared_place: shared_place.flatten(),
            recognitions: Recognitions {
                national_calls,
                charter_signed_year: charter_signed_year.flatten(),
            },
            manually_approves_followers: self.manually_approves_followers,
            replies_need_approval: self.replies_need_approval,
        })
    }
}

impl Pole {
    pub fn to_input(&self) -> PoleInput {
        PoleInput {
            slug: self.slug.clone(),
            name: self.name.clone(),
            summary: self.summary.clone(),
            description: self.description.as_ref().map(|d| d.source.clone()),
            description_format: self.description.as_ref().map(|d| d.format),
            website: self.website.clone(),
            contact_email: self.contact_email.clone(),
            contact_phone: self.contact_phone.clone(),
            founded_year: self.founded_year,
            legal_form: self.legal_form,
            siren: self.siren.clone(),
            territory: self.territory.to_input(),
            themes: self.themes.clone(),
            pooling: self.pooling.clone(),
            shared_place: self.shared_place.as_ref().map(Place::to_input),
            recognitions: RecognitionsInput {
                national_calls: self.recognitions.national_calls.clone(),
                charter_signed_year: self.recognitions.charter_signed_year,
            },
            manually_approves_followers: self.manually_approves_followers,
            replies_need_approval: self.replies_need_approval,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn full_input() -> PoleInput {
        PoleInput {
            slug: "pays-de-redon".into(),
            name: "Pôle Pays de Redon".into(),
            summary: Some("Coopérer pour un territoire vivant".into()),
            description: Some("Un **pôle** de coopération.".into()),
            description_format: None,
            website: Some("https://ptce-redon.example.org".into()),
            contact_email: Some("contact@ptce-redon.example.org".into()),
            contact_phone: Some("02 99 00 00 00".into()),
            founded_year: Some(2011),
            legal_form: Some(LegalForm::Association),
            siren: Some("732 829 320".into()),
            territory: TerritoryInput {
                communes: vec!["35236".into()],
                kind: Some(super::super::vocab::TerritoryKind::Rural),
                label: Some("Pays de Redon".into()),
            },
            themes: vec![
                Theme::RenewableEnergy,
                Theme::AgricultureFood,
                Theme::RenewableEnergy,
            ],
            pooling: vec![PoolingKind::Knowledge, PoolingKind::Premises],
            shared_place: Some(PlaceInput {
                name: Some("La Maison de la coopération".into()),
                commune: Some("35236".into()),
                ..Default::default()
            }),
            recognitions: RecognitionsInput {
                national_calls: vec![NationalCallWon {
                    call: NationalCall::Call2013,
                    year: 2013,
                }],
                charter_signed_year: Some(2014),
            },
            manually_approves_followers: false,
            replies_need_approval: false,
        }
    }

    #[test]
    fn a_full_pole_validates_and_round_trips_to_input() {
        let pole = full_input().validate().unwrap();
        assert_eq!(pole.siren.as_deref(), Some("732829320"));
        assert_eq!(
            pole.themes,
            vec![Theme::RenewableEnergy, Theme::AgricultureFood]
        );
        assert!(
            pole.description
                .as_ref()
                .unwrap()
                .html
                .contains("<strong>pôle</strong>")
        );
        assert_eq!(pole.to_input().validate().unwrap(), pole);
    }

    #[test]
    fn every_bad_field_is_reported() {
        let mut input = full_input();
        input.slug = "Pôle Redon".into();
        input.name = " ".into();
        input.summary = Some("x".repeat(501));
        input.website = Some("javascript:alert(1)".into());
        input.contact_email = Some("contact".into());
        input.contact_phone = Some("n/a".into());
        input.founded_year = Some(1850);
        input.siren = Some("123456789".into());
        input.territory.communes.push("00000".into());
        input.shared_place = Some(PlaceInput {
            latitude: Some(100.0),
            longitude: Some(0.0),
            ..Default::default()
        });
        input.recognitions.national_calls.push(NationalCallWon {
            call: NationalCall::Other,
            year: 1999,
        });
        input.recognitions.charter_signed_year = Some(3000);
        let errors = input.validate().unwrap_err();
        assert_eq!(
            errors.fields(),
            vec![
                "slug",
                "name",
                "summary",
                "website",
                "contact_email",
                "contact_phone",
                "founded_year",
                "siren",
                "territory.communes[1]",
                "shared_place.latitude",
                "recognitions.national_calls[1].year",
                "recognitions.charter_signed_year",
            ]
        );
    }

    #[test]
    fn unknown_fields_and_values_are_refused_by_the_parser() {
        let err = serde_json::from_str::<PoleInput>(r#"{"slug":"a1","name":"A","colour":"red"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");
        let err =
            serde_json::from_str::<PoleInput>(r#"{"slug":"a1","name":"A","themes":["astrology"]}"#)
                .unwrap_err()
                .to_string();
        assert!(err.contains("astrology"), "{err}");
    }
}
