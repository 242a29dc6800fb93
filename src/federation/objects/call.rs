//! A call for cooperation on the wire: a `Note` written from the stored call, and read back
//! from another Maillage instance.

use serde::Deserialize;
use serde_json::Value;

use super::html;
use super::json::invalid;
use super::note::{
    Author, Note, RemoteCommon, Texts, base_of, common, format_of, french_date, hashtag_line,
    paragraph,
};
use crate::domain::CallForCooperation;
use crate::domain::call::CallInput;
use crate::domain::text::{escape_html as escape, unescape_html};
use crate::domain::vocab::{CallDirection, CallStatus, CallSubject};
use crate::store::ObjectRecord;

pub fn call_note(
    record: &ObjectRecord<CallForCooperation>,
    author: &Author<'_>,
) -> Result<Note, url::ParseError> {
    let c = &record.data;
    let subjects: Vec<&str> = c.subjects.iter().map(|s| s.label_fr()).collect();
    let mut facts = format!(
        "Appel à coopération · {} : {} · {}",
        c.direction.label_fr(),
        subjects.join(", ").to_lowercase(),
        c.status.label_fr()
    );
    if let Some(deadline) = c.deadline {
        facts.push_str(&format!(" · réponse avant le {}", french_date(deadline)));
    }
    let content = format!(
        "<p><strong>{title}</strong></p>{summary}<p>{facts}</p>{description}<p>Pour répondre : {answer}</p><p>{link}</p>{tags}",
        title = escape(&c.title),
        summary = paragraph(&c.summary),
        facts = escape(&facts),
        description = c
            .description
            .as_ref()
            .map(|d| d.html.as_str())
            .unwrap_or_default(),
        answer = html::linkify(&c.how_to_answer),
        link = html::url_link(&record.ap_id),
        tags = hashtag_line(&base_of(record), &c.themes),
    );
    Ok(Note {
        common: common(
            record,
            author,
            "Note",
            Texts {
                name: &c.title,
                content,
                summary: &c.summary,
                description: &c.description,
            },
            &c.themes,
            &c.territory.communes,
        )?,
        ptce_kind: "call".into(),
        project_status: None,
        start_date: None,
        end_date: None,
        direction: Some(c.direction),
        subjects: c.subjects.clone(),
        deadline: c.deadline,
        call_status: Some(c.status),
        how_to_answer: Some(escape(&c.how_to_answer)),
    })
}

pub fn parse_call(doc: &Value) -> Result<CallForCooperation, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Fields {
        direction: Option<CallDirection>,
        #[serde(default)]
        subjects: Vec<CallSubject>,
        deadline: Option<chrono::NaiveDate>,
        call_status: Option<CallStatus>,
        how_to_answer: Option<String>,
    }
    let common = RemoteCommon::read(doc)?;
    let fields: Fields =
        serde_json::from_value(doc.clone()).map_err(|e| format!("the call cannot be read: {e}"))?;
    CallInput {
        title: common.name.clone(),
        summary: common.excerpt.clone(),
        description: common.source.as_ref().map(|s| s.content.clone()),
        description_format: common.source.as_ref().map(format_of),
        direction: fields.direction,
        subjects: fields.subjects,
        themes: common.themes.clone(),
        territory: common.territory(),
        deadline: fields.deadline,
        how_to_answer: fields
            .how_to_answer
            .as_deref()
            .map(unescape_html)
            .unwrap_or_default(),
        status: fields.call_status,
    }
    .validate()
    .map_err(|e| invalid("call for cooperation", e))
}
