//! A pole's calls for cooperation: their form (direction, subjects, deadline, how to
//! answer), publishing, editing at the version the form was filled from, closing and
//! deleting.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use super::access::Admin;
use super::form_page::{FormSpec, form_page};
use super::forms::{Field, FormData, opt_num, opt_str, themes_field};
use super::submit::{Answer, Stored, combine, delete_handler, run, saved, submit};
use crate::domain::vocab::{CallDirection, CallStatus, CallSubject, Theme};
use crate::domain::{CallInput, ValidationErrors};
use crate::store::{PoleRecord, StoreError};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::pages::Lang;

fn call_spec(pole: &PoleRecord, input: &CallInput, action: String, lang: Lang) -> FormSpec {
    let t = |k| lang.t(k);
    let subjects: Vec<&str> = input.subjects.iter().map(|v| v.id()).collect();
    let themes: Vec<&str> = input.themes.iter().map(|v| v.id()).collect();
    FormSpec {
        version: None,
        conflict: None,
        heading: format!("{} — {}", t("kind.call"), pole.pole.name),
        back_url: format!("/admin/poles/{}", pole.pole.slug),
        action,
        submit: t("admin.publish"),
        fields: vec![
            Field::new("title", t("admin.title"), "text", input.title.clone()).required(),
            Field::new(
                "summary",
                t("admin.summary"),
                "textarea",
                opt_str(&input.summary),
            )
            .help(t("admin.summary_help")),
            Field::new(
                "description",
                t("admin.description"),
                "textarea",
                opt_str(&input.description),
            )
            .help(t("admin.markdown_help")),
            Field::select(
                "direction",
                t("call.direction"),
                CallDirection::ALL,
                CallDirection::id,
                input.direction.map(CallDirection::id).unwrap_or("seeking"),
                lang,
            ),
            Field::checkboxes(
                "subjects",
                t("call.subjects"),
                CallSubject::ALL,
                CallSubject::id,
                &subjects,
                lang,
            ),
            themes_field(&themes, lang),
            Field::new(
                "deadline",
                t("call.deadline"),
                "date",
                opt_num(input.deadline),
            ),
            Field::new(
                "how_to_answer",
                t("call.how_to_answer"),
                "textarea",
                input.how_to_answer.clone(),
            )
            .required(),
            Field::select(
                "status",
                t("admin.status"),
                CallStatus::ALL,
                CallStatus::id,
                input.status.map(CallStatus::id).unwrap_or("open"),
                lang,
            ),
        ],
        notes: Vec::new(),
        picker: None,
    }
}

fn read_call(form: &FormData, current: Option<CallInput>, e: &mut ValidationErrors) -> CallInput {
    let mut input = current.unwrap_or_default();
    input.title = form.get("title");
    input.summary = form.opt("summary");
    input.description = form.opt("description");
    input.direction = form.vocab("direction", CallDirection::from_id, e);
    input.subjects = form.vocab_list("subjects", CallSubject::from_id, e);
    input.themes = form.vocab_list("themes", Theme::from_id, e);
    input.deadline = form.date("deadline", e);
    input.how_to_answer = form.get("how_to_answer");
    input.status = form.vocab("status", CallStatus::from_id, e);
    input
}

pub async fn call_new(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        let action = format!("/admin/poles/{slug}/calls/new");
        let spec = call_spec(&pole, &CallInput::default(), action, admin.lang());
        Ok(form_page(&state, &admin.c, spec, None))
    })
    .await
}

pub async fn call_create(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        let pole = admin.pole(&state, &slug).await?;
        let mut e = ValidationErrors::new();
        let input = read_call(&form, None, &mut e);
        match combine(e, input.validate()) {
            Ok(call) => {
                let record = state.store.create_call(pole.id, &call).await?;
                tracing::info!(pole = %slug, call = %record.public_id, user = %admin.auth.user.username, "call published");
                let to = format!("/admin/poles/{slug}");
                Ok(Answer::done(to, admin.t("admin.published")))
            }
            Err(errors) => {
                let action = format!("/admin/poles/{slug}/calls/new");
                let spec = call_spec(&pole, &input, action, admin.lang());
                Ok(Answer::Invalid(spec, errors))
            }
        }
    })
    .await
}

pub async fn call_edit(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Response {
    run(&admin.c, async {
        let record = state.store.call(&id).await?;
        let pole = admin.pole_of(&state, record.pole_id).await?;
        let action = format!("/admin/calls/{id}");
        let spec = call_spec(&pole, &record.data.to_input(), action, admin.lang());
        let spec = spec.at_version(Some(record.version));
        Ok(form_page(&state, &admin.c, spec, None))
    })
    .await
}

pub async fn call_update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        let record = state.store.call(&id).await?;
        let pole = admin.pole_of(&state, record.pole_id).await?;
        let mut e = ValidationErrors::new();
        let input = read_call(&form, Some(record.data.to_input()), &mut e);
        let expected = form.version();
        let spec = call_spec(&pole, &input, format!("/admin/calls/{id}"), admin.lang());
        let call = match combine(e, input.validate()) {
            Ok(call) => call,
            Err(errors) => return Ok(Answer::Invalid(spec.at_version(expected), errors)),
        };
        let written = state
            .store
            .edit_call(&id, expected, |_| Ok::<_, StoreError>(call.clone()))
            .await;
        let to = format!("/admin/poles/{}", pole.pole.slug);
        saved(
            written,
            Answer::done(to, admin.t("admin.saved")),
            async || {
                let now = state.store.call(&id).await?;
                Stored::new(spec, "call", now.id, now.data)
            },
        )
        .await
    })
    .await
}

delete_handler!(call_delete, call, delete_call);

/// Closes a call from the call as stored when the write takes its lock: a change saved
/// meanwhile by someone else stays.
pub async fn call_close(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |_| {
        let record = state.store.call(&id).await?;
        let pole = admin.pole_of(&state, record.pole_id).await?;
        state
            .store
            .edit_call(&id, None, |stored| {
                let mut input = stored.to_input();
                input.status = Some(CallStatus::Closed);
                Ok::<_, ApiError>(input.validate()?)
            })
            .await?;
        tracing::info!(call = %id, user = %admin.auth.user.username, "call closed");
        let to = format!("/admin/poles/{}", pole.pole.slug);
        Ok(Answer::done(to, admin.t("admin.closed")))
    })
    .await
}
