//! Controlled vocabularies: stable identifiers with French and English labels.
//!
//! Identifiers are part of the API and of the federated data: never rename one, add new ones.

use serde::Serialize;

/// One entry of a vocabulary, as served to clients.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VocabularyEntry {
    pub id: &'static str,
    pub fr: &'static str,
    pub en: &'static str,
}

/// Defines an enum whose values are serialised as their stable identifier.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $id:literal, $fr:literal, $en:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( $variant, )+ }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($id),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn id(self) -> &'static str {
                match self { $($name::$variant => $id,)+ }
            }
            pub fn label_fr(self) -> &'static str {
                match self { $($name::$variant => $fr,)+ }
            }
            pub fn label_en(self) -> &'static str {
                match self { $($name::$variant => $en,)+ }
            }
            pub fn from_id(id: &str) -> Option<$name> {
                match id { $($id => Some($name::$variant),)+ _ => None }
            }
            pub fn entries() -> Vec<VocabularyEntry> {
                Self::ALL.iter().map(|v| VocabularyEntry { id: v.id(), fr: v.label_fr(), en: v.label_en() }).collect()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.id())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.id())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $name::from_id(&text).ok_or_else(|| {
                    let known: Vec<&str> = $name::ALL.iter().map(|v| v.id()).collect();
                    serde::de::Error::custom(format!(
                        "unknown value `{text}`, expected one of: {}", known.join(", ")
                    ))
                })
            }
        }
    };
}

vocabulary! {
    /// What a pole or one of its objects is about.
    Theme {
        AgricultureFood = "agriculture-food", "Agriculture et alimentation", "Agriculture and food";
        RenewableEnergy = "renewable-energy", "Énergies renouvelables", "Renewable energy";
        CircularEconomy = "circular-economy", "Déchets et économie circulaire", "Waste and circular economy";
        CultureCreative = "culture-creative", "Culture et industries créatives", "Culture and creative industries";
        Entrepreneurship = "entrepreneurship", "Entrepreneuriat et incubation", "Entrepreneurship and incubation";
        LocalDevelopment = "local-development", "Développement local", "Local development";
        InsertionEmployment = "insertion-employment", "Insertion et emploi", "Insertion and employment";
        Training = "training", "Formation", "Training";
        Mobility = "mobility", "Mobilité", "Mobility";
        Housing = "housing", "Habitat et logement", "Housing";
        EcoConstruction = "eco-construction", "Éco-construction", "Eco-construction";
        Digital = "digital", "Numérique", "Digital";
        HealthCare = "health-care", "Santé et services à la personne", "Health and care services";
        Tourism = "tourism", "Tourisme durable", "Sustainable tourism";
        Other = "other", "Autre", "Other";
    }
}

vocabulary! {
    /// What the members of a pole put in common (mutualisation).
    PoolingKind {
        Knowledge = "knowledge", "Connaissances et expériences", "Knowledge and experience";
        Premises = "premises", "Locaux", "Premises";
        Equipment = "equipment", "Équipements et matériel", "Equipment";
        Finance = "finance", "Moyens financiers", "Finance";
        Communication = "communication", "Communication", "Communication";
        SharedJobs = "shared-jobs", "Emplois partagés (groupement d'employeurs)", "Shared jobs (employer groups)";
        Services = "services", "Services et fonctions support", "Services and support functions";
        Purchasing = "purchasing", "Achats groupés", "Group purchasing";
    }
}

vocabulary! {
    /// Legal form of a member or of the structure that carries a pole.
    LegalForm {
        Association = "association", "Association", "Association";
        Scic = "scic", "SCIC", "SCIC (cooperative of collective interest)";
        Scop = "scop", "SCOP", "SCOP (worker cooperative)";
        Sarl = "sarl", "SARL", "SARL (limited company)";
        Sas = "sas", "SAS", "SAS (simplified joint-stock company)";
        Cae = "cae", "CAE", "CAE (business and employment cooperative)";
        Geiq = "geiq", "GEIQ", "GEIQ (employer group for insertion and qualification)";
        Iae = "iae", "Structure d'insertion par l'activité économique (IAE)", "Work-integration structure (IAE)";
        Mutual = "mutual", "Mutuelle", "Mutual";
        Foundation = "foundation", "Fondation", "Foundation";
        LocalAuthority = "local-authority", "Collectivité territoriale", "Local authority";
        ResearchTraining = "research-training", "Organisme de recherche ou de formation", "Research or training body";
        Other = "other", "Autre", "Other";
    }
}

vocabulary! {
    /// The kind of territory, from the typology of the PTCE texts.
    TerritoryKind {
        Rural = "rural", "Rural", "Rural";
        PeriUrban = "peri-urban", "Périurbain", "Peri-urban";
        UrbanDistrict = "urban-district", "Quartier urbain populaire", "Working-class urban district";
        Deindustrialised = "deindustrialised", "Territoire désindustrialisé", "Deindustrialised";
        Mixed = "mixed", "Mixte", "Mixed";
    }
}

vocabulary! {
    /// Number of employees of a member organisation.
    EmployeeBand {
        None = "0", "Aucun salarié", "No employees";
        From1To9 = "1-9", "1 à 9 salariés", "1 to 9 employees";
        From10To49 = "10-49", "10 à 49 salariés", "10 to 49 employees";
        From50To249 = "50-249", "50 à 249 salariés", "50 to 249 employees";
        From250 = "250+", "250 salariés et plus", "250 employees or more";
    }
}

vocabulary! {
    ProjectStatus {
        Idea = "idea", "Idée", "Idea";
        InProgress = "in-progress", "En cours", "In progress";
        Completed = "completed", "Terminé", "Completed";
        Stopped = "stopped", "Arrêté", "Stopped";
    }
}

vocabulary! {
    EventStatus {
        Scheduled = "scheduled", "Programmé", "Scheduled";
        Cancelled = "cancelled", "Annulé", "Cancelled";
        Postponed = "postponed", "Reporté", "Postponed";
    }
}

vocabulary! {
    /// Whether a call for cooperation seeks something or offers it.
    CallDirection {
        Seeking = "seeking", "Recherche", "Seeking";
        Offering = "offering", "Propose", "Offering";
    }
}

vocabulary! {
    /// What a call for cooperation is about.
    CallSubject {
        Partners = "partners", "Partenaires", "Partners";
        Premises = "premises", "Locaux", "Premises";
        Equipment = "equipment", "Équipement", "Equipment";
        Skills = "skills", "Compétences", "Skills";
        Funding = "funding", "Financement", "Funding";
        Volunteers = "volunteers", "Bénévoles", "Volunteers";
        Purchasing = "purchasing", "Achats", "Purchasing";
        Other = "other", "Autre", "Other";
    }
}

vocabulary! {
    CallStatus {
        Open = "open", "Ouvert", "Open";
        Closed = "closed", "Clos", "Closed";
        Fulfilled = "fulfilled", "Pourvu", "Fulfilled";
    }
}

vocabulary! {
    /// Input format of a long text.
    TextFormat {
        Markdown = "markdown", "Markdown", "Markdown";
        Html = "html", "HTML", "HTML";
    }
}

vocabulary! {
    /// National recognitions a pole can have received.
    NationalCall {
        Call2013 = "call-2013", "Lauréat de l'appel à projets PTCE 2013", "Laureate of the 2013 PTCE call";
        Call2015 = "call-2015", "Lauréat de l'appel à projets PTCE 2015", "Laureate of the 2015 PTCE call";
        Ami2021 = "ami-2021", "Lauréat de l'AMI PTCE 2021", "Laureate of the 2021 PTCE call for expressions of interest";
        Call2023 = "call-2023", "Lauréat de l'appel PTCE 2023", "Laureate of the 2023 PTCE call";
        Other = "other", "Autre appel national", "Other national call";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip_and_are_unique() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            id: fn(T) -> &'static str,
            from: fn(&str) -> Option<T>,
        ) {
            let mut seen = std::collections::HashSet::new();
            for v in all {
                assert!(seen.insert(id(*v)), "duplicate id {}", id(*v));
                assert_eq!(from(id(*v)), Some(*v));
            }
        }
        check(Theme::ALL, Theme::id, Theme::from_id);
        check(PoolingKind::ALL, PoolingKind::id, PoolingKind::from_id);
        check(LegalForm::ALL, LegalForm::id, LegalForm::from_id);
        check(
            TerritoryKind::ALL,
            TerritoryKind::id,
            TerritoryKind::from_id,
        );
        check(EmployeeBand::ALL, EmployeeBand::id, EmployeeBand::from_id);
        check(CallSubject::ALL, CallSubject::id, CallSubject::from_id);
        check(NationalCall::ALL, NationalCall::id, NationalCall::from_id);
    }

    #[test]
    fn unknown_value_lists_the_known_ones() {
        let err = serde_json::from_str::<Theme>("\"astrology\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("astrology") && err.contains("renewable-energy"),
            "{err}"
        );
        assert_eq!(serde_json::to_string(&LegalForm::Scic).unwrap(), "\"scic\"");
        assert_eq!(
            serde_json::from_str::<EmployeeBand>("\"1-9\"").unwrap(),
            EmployeeBand::From1To9
        );
    }
}
