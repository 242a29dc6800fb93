//! A territory: the communes covered, by INSEE code; EPCI, département and région are derived.

use serde::{Deserialize, Serialize};

use super::ValidationErrors;
use super::check;
use super::territory_ref::Reference;
use super::vocab::TerritoryKind;

/// Most communes a territory may list (a large rural pole covers a few hundred).
pub const MAX_COMMUNES: usize = 2_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerritoryInput {
    /// INSEE codes of the communes covered (such as `75056` or `2A004`).
    #[serde(default)]
    pub communes: Vec<String>,
    #[serde(default)]
    pub kind: Option<TerritoryKind>,
    /// The name people use for the area when it is not an administrative one
    /// (a *pays*, an employment zone, a valley).
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Territory {
    pub communes: Vec<String>,
    pub kind: Option<TerritoryKind>,
    pub label: Option<String>,
}

/// A place of the administrative map, named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NamedArea {
    pub code: String,
    pub name: String,
}

/// A territory as shown to people: every level named, derived from the reference data.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TerritoryView {
    pub communes: Vec<NamedArea>,
    pub epcis: Vec<NamedArea>,
    pub departements: Vec<NamedArea>,
    pub regions: Vec<NamedArea>,
    pub kind: Option<TerritoryKind>,
    pub label: Option<String>,
}

impl TerritoryInput {
    pub fn validate(&self) -> Result<Territory, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let reference = Reference::get();
        if self.communes.len() > MAX_COMMUNES {
            errors.add(
                "communes",
                super::Message::new(super::Code::TooMany)
                    .arg("count", self.communes.len())
                    .arg("max", MAX_COMMUNES),
            );
        }
        let mut communes: Vec<String> = Vec::with_capacity(self.communes.len());
        for (i, code) in self.communes.iter().take(MAX_COMMUNES).enumerate() {
            let code = code.trim().to_ascii_uppercase();
            match reference.commune(&code) {
                Some(c) => {
                    if !communes.iter().any(|known| known == c.code) {
                        communes.push(c.code.to_owned());
                    }
                }
                None => errors.add(
                    format!("communes[{i}]"),
                    super::Message::new(super::Code::UnknownCommune).arg("value", code),
                ),
            }
        }
        let label = errors.take(
            "label",
            check::optional_text(self.label.as_deref(), check::MAX_NAME),
        );
        errors.finish(|| Territory {
            communes,
            kind: self.kind,
            label: label.flatten(),
        })
    }
}

impl Territory {
    pub fn to_input(&self) -> TerritoryInput {
        TerritoryInput {
            communes: self.communes.clone(),
            kind: self.kind,
            label: self.label.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.communes.is_empty() && self.kind.is_none() && self.label.is_none()
    }

    /// Codes of the départements the communes belong to, sorted.
    pub fn departement_codes(&self) -> Vec<&'static str> {
        self.derive(|c| Some(c.departement))
    }

    /// Codes of the régions the communes belong to, sorted.
    pub fn region_codes(&self) -> Vec<&'static str> {
        self.derive(|c| Some(c.region))
    }

    /// SIREN codes of the EPCI the communes belong to, sorted.
    pub fn epci_codes(&self) -> Vec<&'static str> {
        self.derive(|c| c.epci)
    }

    fn derive(
        &self,
        level: impl Fn(&super::territory_ref::Commune) -> Option<&'static str>,
    ) -> Vec<&'static str> {
        let reference = Reference::get();
        let mut codes: Vec<&'static str> = self
            .communes
            .iter()
            .filter_map(|code| reference.commune(code))
            .filter_map(|c| level(&c))
            .collect();
        codes.sort_unstable();
        codes.dedup();
        codes
    }

    pub fn view(&self) -> TerritoryView {
        let reference = Reference::get();
        let named = |code: &str, name: Option<&str>| NamedArea {
            code: code.to_owned(),
            name: name.unwrap_or(code).to_owned(),
        };
        TerritoryView {
            communes: self
                .communes
                .iter()
                .map(|c| named(c, reference.commune(c).map(|c| c.name)))
                .collect(),
            epcis: self
                .epci_codes()
                .into_iter()
                .map(|c| named(c, reference.epci(c).map(|e| e.name)))
                .collect(),
            departements: self
                .departement_codes()
                .into_iter()
                .map(|c| named(c, reference.departement(c).map(|d| d.name)))
                .collect(),
            regions: self
                .region_codes()
                .into_iter()
                .map(|c| named(c, reference.region(c).map(|r| r.name)))
                .collect(),
            kind: self.kind,
            label: self.label.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_derived_from_communes() {
        let territory = TerritoryInput {
            communes: vec!["35236".into(), "44184".into(), "35236".into()],
            kind: Some(TerritoryKind::Rural),
            label: Some("Pays de Redon".into()),
        }
        .validate()
        .unwrap();
        assert_eq!(territory.communes, vec!["35236", "44184"]);
        assert_eq!(territory.departement_codes(), vec!["35", "44"]);
        assert_eq!(territory.region_codes(), vec!["52", "53"]);
        let view = territory.view();
        assert_eq!(view.communes[0].name, "Redon");
        assert!(view.regions.iter().any(|r| r.name == "Bretagne"));
        assert!(!view.epcis.is_empty());
    }

    #[test]
    fn unknown_communes_are_named() {
        let errors = TerritoryInput {
            communes: vec!["75056".into(), "99999".into(), "abc".into()],
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(errors.fields(), vec!["communes[1]", "communes[2]"]);
    }

    #[test]
    fn corsican_codes_are_accepted_in_lower_case() {
        let territory = TerritoryInput {
            communes: vec!["2a004".into()],
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(territory.communes, vec!["2A004"]);
        assert_eq!(territory.departement_codes(), vec!["2A"]);
    }
}
