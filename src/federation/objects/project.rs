//! A project on the wire: a `Note` written from the stored project, and read back from
//! another Maillage instance.

use serde::Deserialize;
use serde_json::Value;

use super::html;
use super::json::invalid;
use super::note::{
    Author, Note, RemoteCommon, Texts, base_of, common, format_of, french_date, hashtag_line,
    paragraph,
};
use crate::domain::Project;
use crate::domain::project::ProjectInput;
use crate::domain::text::escape_html as escape;
use crate::domain::vocab::ProjectStatus;
use crate::store::ObjectRecord;

pub fn project_note(
    record: &ObjectRecord<Project>,
    author: &Author<'_>,
) -> Result<Note, url::ParseError> {
    let p = &record.data;
    let mut facts = vec![format!("Projet · {}", p.status.label_fr())];
    match (p.start_date, p.end_date) {
        (Some(s), Some(e)) => facts.push(format!("du {} au {}", french_date(s), french_date(e))),
        (Some(s), None) => facts.push(format!("depuis le {}", french_date(s))),
        (None, Some(e)) => facts.push(format!("jusqu'au {}", french_date(e))),
        (None, None) => {}
    }
    let content = format!(
        "<p><strong>{title}</strong></p>{summary}<p>{facts}</p>{description}<p>{link}</p>{tags}",
        title = escape(&p.title),
        summary = paragraph(&p.summary),
        facts = escape(&facts.join(", ")),
        description = p
            .description
            .as_ref()
            .map(|d| d.html.as_str())
            .unwrap_or_default(),
        link = html::url_link(&record.ap_id),
        tags = hashtag_line(&base_of(record), &p.themes),
    );
    Ok(Note {
        common: common(
            record,
            author,
            "Note",
            Texts {
                name: &p.title,
                content,
                summary: &p.summary,
                description: &p.description,
            },
            &p.themes,
            &p.territory.communes,
        )?,
        ptce_kind: "project".into(),
        project_status: Some(p.status),
        start_date: p.start_date,
        end_date: p.end_date,
        direction: None,
        subjects: Vec::new(),
        deadline: None,
        call_status: None,
        how_to_answer: None,
    })
}

pub fn parse_project(doc: &Value) -> Result<Project, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Fields {
        project_status: Option<ProjectStatus>,
        start_date: Option<chrono::NaiveDate>,
        end_date: Option<chrono::NaiveDate>,
    }
    let common = RemoteCommon::read(doc)?;
    let fields: Fields = serde_json::from_value(doc.clone())
        .map_err(|e| format!("the project cannot be read: {e}"))?;
    ProjectInput {
        title: common.name.clone(),
        summary: common.excerpt.clone(),
        description: common.source.as_ref().map(|s| s.content.clone()),
        description_format: common.source.as_ref().map(format_of),
        status: fields.project_status,
        partner_member_ids: Vec::new(),
        themes: common.themes.clone(),
        territory: common.territory(),
        start_date: fields.start_date,
        end_date: fields.end_date,
        links: Vec::new(),
    }
    .validate()
    .map_err(|e| invalid("project", e))
}
