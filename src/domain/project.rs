//! A cooperative project carried by members of a pole.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::text::RichText;
use super::vocab::{ProjectStatus, TextFormat, Theme};
use super::{Territory, TerritoryInput, ValidationErrors, check};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    #[serde(default)]
    pub title: Option<String>,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Link {
    pub title: Option<String>,
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectInput {
    pub title: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub description_format: Option<TextFormat>,
    /// `idea`, `in-progress` (default), `completed` or `stopped`.
    #[serde(default)]
    pub status: Option<ProjectStatus>,
    /// Identifiers of the pole's members that carry the project with it.
    #[serde(default)]
    pub partner_member_ids: Vec<i64>,
    #[serde(default)]
    pub themes: Vec<Theme>,
    #[serde(default)]
    pub territory: TerritoryInput,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub start_date: Option<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub end_date: Option<NaiveDate>,
    #[serde(default)]
    pub links: Vec<LinkInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub title: String,
    pub summary: Option<String>,
    pub description: Option<RichText>,
    pub status: ProjectStatus,
    pub partner_member_ids: Vec<i64>,
    pub themes: Vec<Theme>,
    pub territory: Territory,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub links: Vec<Link>,
}

/// Checks a list of links, reporting each bad one under `links[i]`.
pub(crate) fn validate_links(links: &[LinkInput], e: &mut ValidationErrors) -> Vec<Link> {
    if links.len() > check::MAX_LIST {
        e.add(
            "links",
            super::Message::new(super::Code::TooMany)
                .arg("count", links.len())
                .arg("max", check::MAX_LIST),
        );
    }
    let mut out = Vec::new();
    for (i, link) in links.iter().take(check::MAX_LIST).enumerate() {
        let title = e.take(
            &format!("links[{i}].title"),
            check::optional_text(link.title.as_deref(), check::MAX_NAME),
        );
        let url = e.take(&format!("links[{i}].url"), check::web_url(&link.url));
        if let (Some(title), Some(url)) = (title, url) {
            out.push(Link { title, url });
        }
    }
    out
}

/// Records an error when an end date comes before its start.
pub(crate) fn check_dates<T: PartialOrd>(
    start: Option<T>,
    end: Option<T>,
    field: &str,
    e: &mut ValidationErrors,
) {
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        e.add(field, super::Code::EndBeforeStart);
    }
}

impl ProjectInput {
    pub fn validate(&self) -> Result<Project, ValidationErrors> {
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
        let partner_member_ids = e.take(
            "partner_member_ids",
            check::dedup_list(&self.partner_member_ids),
        );
        let themes = e.take("themes", check::dedup_list(&self.themes));
        let territory = match self.territory.validate() {
            Ok(t) => Some(t),
            Err(errors) => {
                e.nest("territory", errors);
                None
            }
        };
        check_dates(self.start_date, self.end_date, "end_date", &mut e);
        let links = validate_links(&self.links, &mut e);
        e.finish(|| Project {
            title: title.unwrap_or_default(),
            summary: summary.flatten(),
            description: description.flatten(),
            status: self.status.unwrap_or(ProjectStatus::InProgress),
            partner_member_ids: partner_member_ids.unwrap_or_default(),
            themes: themes.unwrap_or_default(),
            territory: territory.unwrap_or_default(),
            start_date: self.start_date,
            end_date: self.end_date,
            links,
        })
    }
}

impl Project {
    pub fn to_input(&self) -> ProjectInput {
        ProjectInput {
            title: self.title.clone(),
            summary: self.summary.clone(),
            description: self.description.as_ref().map(|d| d.source.clone()),
            description_format: self.description.as_ref().map(|d| d.format),
            status: Some(self.status),
            partner_member_ids: self.partner_member_ids.clone(),
            themes: self.themes.clone(),
            territory: self.territory.to_input(),
            start_date: self.start_date,
            end_date: self.end_date,
            links: self
                .links
                .iter()
                .map(|l| LinkInput {
                    title: l.title.clone(),
                    url: l.url.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_validates_and_round_trips() {
        let project = ProjectInput {
            title: "Parc éolien citoyen".into(),
            summary: Some("Quatre éoliennes détenues par les habitants".into()),
            partner_member_ids: vec![3, 1, 3],
            themes: vec![Theme::RenewableEnergy],
            territory: TerritoryInput {
                communes: vec!["35236".into()],
                ..Default::default()
            },
            start_date: NaiveDate::from_ymd_opt(2012, 1, 1),
            links: vec![LinkInput {
                title: Some("Site".into()),
                url: "https://eolien.example.org".into(),
            }],
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(project.status, ProjectStatus::InProgress);
        assert_eq!(project.partner_member_ids, vec![3, 1]);
        assert_eq!(project.to_input().validate().unwrap(), project);
    }

    #[test]
    fn bad_projects_are_refused_field_by_field() {
        let errors = ProjectInput {
            title: "".into(),
            start_date: NaiveDate::from_ymd_opt(2020, 5, 1),
            end_date: NaiveDate::from_ymd_opt(2020, 4, 1),
            links: vec![LinkInput {
                title: None,
                url: "javascript:alert(1)".into(),
            }],
            territory: TerritoryInput {
                communes: vec!["1".into()],
                ..Default::default()
            },
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            errors.fields(),
            vec!["title", "territory.communes[0]", "end_date", "links[0].url"]
        );
    }
}
