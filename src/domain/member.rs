//! An organisation that is a member of a pole.

use serde::{Deserialize, Serialize};

use super::vocab::{EmployeeBand, LegalForm};
use super::{ValidationErrors, check};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    /// Name of the organisation.
    pub name: String,
    pub legal_form: Option<LegalForm>,
    /// Whether the organisation belongs to the social and solidarity economy; when left out,
    /// it follows from the legal form (associations, cooperatives, mutuals and foundations are).
    #[serde(default)]
    pub ess: Option<bool>,
    #[serde(default)]
    pub employee_band: Option<EmployeeBand>,
    /// SIRET of the establishment (14 digits).
    #[serde(default)]
    pub siret: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    /// What the organisation does in the pole (founding member, carrier, partner…).
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub joined_year: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    pub legal_form: LegalForm,
    pub ess: bool,
    pub employee_band: Option<EmployeeBand>,
    pub siret: Option<String>,
    pub website: Option<String>,
    pub role: Option<String>,
    pub joined_year: Option<i32>,
}

/// Whether a legal form is part of the ESS by law (loi du 31 juillet 2014, article 1).
pub fn ess_by_law(form: LegalForm) -> bool {
    matches!(
        form,
        LegalForm::Association
            | LegalForm::Scic
            | LegalForm::Scop
            | LegalForm::Cae
            | LegalForm::Mutual
            | LegalForm::Foundation
    )
}

impl MemberInput {
    pub fn validate(&self) -> Result<Member, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let name = e.take("name", check::required_text(&self.name, check::MAX_NAME));
        let legal_form = self.legal_form.unwrap_or(LegalForm::Other);
        if self.legal_form.is_none() {
            e.add("legal_form", super::Code::Required);
        }
        let siret = e.take(
            "siret",
            self.siret
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .map(check::siret)
                .transpose(),
        );
        let website = e.take("website", check::optional_web_url(self.website.as_deref()));
        let role = e.take(
            "role",
            check::optional_text(self.role.as_deref(), check::MAX_NAME),
        );
        let joined_year = e.take(
            "joined_year",
            self.joined_year.map(|y| check::year(y, 1900)).transpose(),
        );
        e.finish(|| Member {
            name: name.unwrap_or_default(),
            legal_form,
            ess: self.ess.unwrap_or_else(|| ess_by_law(legal_form)),
            employee_band: self.employee_band,
            siret: siret.flatten(),
            website: website.flatten(),
            role: role.flatten(),
            joined_year: joined_year.flatten(),
        })
    }
}

impl Member {
    pub fn to_input(&self) -> MemberInput {
        MemberInput {
            name: self.name.clone(),
            legal_form: Some(self.legal_form),
            ess: Some(self.ess),
            employee_band: self.employee_band,
            siret: self.siret.clone(),
            website: self.website.clone(),
            role: self.role.clone(),
            joined_year: self.joined_year,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ess_follows_the_legal_form_unless_given() {
        let scic = MemberInput {
            name: "Énergies citoyennes".into(),
            legal_form: Some(LegalForm::Scic),
            siret: Some("73282932000074".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert!(scic.ess);
        let sarl = MemberInput {
            name: "Menuiserie".into(),
            legal_form: Some(LegalForm::Sarl),
            ..Default::default()
        };
        assert!(!sarl.validate().unwrap().ess);
        let sarl_ess = MemberInput {
            ess: Some(true),
            ..sarl
        };
        assert!(sarl_ess.validate().unwrap().ess);
    }

    #[test]
    fn bad_members_are_refused_field_by_field() {
        let errors = MemberInput {
            name: "".into(),
            legal_form: None,
            siret: Some("12345678901234".into()),
            website: Some("www.example.org".into()),
            role: Some("r".repeat(300)),
            joined_year: Some(1800),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            errors.fields(),
            vec![
                "name",
                "legal_form",
                "siret",
                "website",
                "role",
                "joined_year"
            ]
        );
    }
}
