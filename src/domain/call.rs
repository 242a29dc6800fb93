//! A call for cooperation: a pole seeking or offering partners, premises, skills, funding…

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::text::RichText;
use super::vocab::{CallDirection, CallStatus, CallSubject, TextFormat, Theme};
use super::{Territory, TerritoryInput, ValidationErrors, check};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallInput {
    pub title: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub description_format: Option<TextFormat>,
    /// `seeking` or `offering`.
    pub direction: Option<CallDirection>,
    /// What is sought or offered (at least one).
    #[serde(default)]
    pub subjects: Vec<CallSubject>,
    #[serde(default)]
    pub themes: Vec<Theme>,
    #[serde(default)]
    pub territory: TerritoryInput,
    /// Last day to answer, if any.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub deadline: Option<NaiveDate>,
    /// How to answer: whom to write to, which form to fill.
    pub how_to_answer: String,
    /// `open` (default), `closed` or `fulfilled`.
    #[serde(default)]
    pub status: Option<CallStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallForCooperation {
    pub title: String,
    pub summary: Option<String>,
    pub description: Option<RichText>,
    pub direction: CallDirection,
    pub subjects: Vec<CallSubject>,
    pub themes: Vec<Theme>,
    pub territory: Territory,
    pub deadline: Option<NaiveDate>,
    pub how_to_answer: String,
    pub status: CallStatus,
}

impl CallInput {
    pub fn validate(&self) -> Result<CallForCooperation, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let title = e.take("title", check::required_text(&self.title, check::MAX_NAME));
        let summary = e.take(
            "summary",
            check::optional_text(self.summary.as_deref(), check::MAX_SUMMARY),
        );
        let description = e.take(
            "description",
            RichText::from_input(self.description.as_deref(), self.description_format),
        );
        if self.direction.is_none() {
            e.add("direction", super::Code::DirectionRequired);
        }
        let subjects = e.take("subjects", check::dedup_list(&self.subjects));
        if self.subjects.is_empty() {
            e.add("subjects", super::Code::SubjectsRequired);
        }
        let themes = e.take("themes", check::dedup_list(&self.themes));
        let territory = match self.territory.validate() {
            Ok(t) => Some(t),
            Err(errors) => {
                e.nest("territory", errors);
                None
            }
        };
        let how_to_answer = e.take(
            "how_to_answer",
            check::required_text(&self.how_to_answer, check::MAX_SUMMARY * 4),
        );
        e.finish(|| CallForCooperation {
            title: title.unwrap_or_default(),
            summary: summary.flatten(),
            description: description.flatten(),
            direction: self.direction.unwrap_or(CallDirection::Seeking),
            subjects: subjects.unwrap_or_default(),
            themes: themes.unwrap_or_default(),
            territory: territory.unwrap_or_default(),
            deadline: self.deadline,
            how_to_answer: how_to_answer.unwrap_or_default(),
            status: self.status.unwrap_or(CallStatus::Open),
        })
    }
}

impl CallForCooperation {
    pub fn to_input(&self) -> CallInput {
        CallInput {
            title: self.title.clone(),
            summary: self.summary.clone(),
            description: self.description.as_ref().map(|d| d.source.clone()),
            description_format: self.description.as_ref().map(|d| d.format),
            direction: Some(self.direction),
            subjects: self.subjects.clone(),
            themes: self.themes.clone(),
            territory: self.territory.to_input(),
            deadline: self.deadline,
            how_to_answer: self.how_to_answer.clone(),
            status: Some(self.status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_validates_and_round_trips() {
        let call = CallInput {
            title: "Recherche un local de stockage".into(),
            direction: Some(CallDirection::Seeking),
            subjects: vec![CallSubject::Premises],
            deadline: NaiveDate::from_ymd_opt(2027, 1, 31),
            how_to_answer: "Écrire à contact@ptce.example.org".into(),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(call.status, CallStatus::Open);
        assert_eq!(call.to_input().validate().unwrap(), call);
    }

    #[test]
    fn bad_calls_are_refused_field_by_field() {
        let errors = CallInput {
            title: " ".into(),
            how_to_answer: "".into(),
            territory: TerritoryInput {
                communes: vec!["123".into()],
                ..Default::default()
            },
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            errors.fields(),
            vec![
                "title",
                "direction",
                "subjects",
                "territory.communes[0]",
                "how_to_answer"
            ]
        );
    }
}
