//! A pole's projects: their form (status, themes, dates), publishing, editing at the
//! version the form was filled from, and deleting.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use super::access::Admin;
use super::form_page::{FormSpec, form_page};
use super::forms::{Field, FormData, opt_num, opt_str, themes_field};
use super::submit::{Answer, Stored, combine, delete_handler, run, saved, store_checked, submit};
use crate::domain::vocab::{ProjectStatus, Theme};
use crate::domain::{ProjectInput, ValidationErrors};
use crate::store::{PoleRecord, StoreError};
use crate::web::AppState;
use crate::web::pages::Lang;

fn project_spec(pole: &PoleRecord, input: &ProjectInput, action: String, lang: Lang) -> FormSpec {
    let t = |k| lang.t(k);
    let themes: Vec<&str> = input.themes.iter().map(|v| v.id()).collect();
    FormSpec {
        version: None,
        conflict: None,
        heading: format!("{} — {}", t("kind.project"), pole.pole.name),
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
                "status",
                t("admin.status"),
                ProjectStatus::ALL,
                ProjectStatus::id,
                input.status.map(ProjectStatus::id).unwrap_or("in-progress"),
                lang,
            ),
            themes_field(&themes, lang),
            Field::new(
                "start_date",
                t("project.start"),
                "date",
                opt_num(input.start_date),
            ),
            Field::new(
                "end_date",
                t("project.end"),
                "date",
                opt_num(input.end_date),
            ),
        ],
        notes: Vec::new(),
        picker: None,
    }
}

fn read_project(
    form: &FormData,
    current: Option<ProjectInput>,
    e: &mut ValidationErrors,
) -> ProjectInput {
    let mut input = current.unwrap_or_default();
    input.title = form.get("title");
    input.summary = form.opt("summary");
    input.description = form.opt("description");
    input.status = form.vocab("status", ProjectStatus::from_id, e);
    input.themes = form.vocab_list("themes", Theme::from_id, e);
    input.start_date = form.date("start_date", e);
    input.end_date = form.date("end_date", e);
    input
}

pub async fn project_new(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        let action = format!("/admin/poles/{slug}/projects/new");
        let spec = project_spec(&pole, &ProjectInput::default(), action, admin.lang());
        Ok(form_page(&state, &admin.c, spec, None))
    })
    .await
}

pub async fn project_create(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        let pole = admin.pole(&state, &slug).await?;
        let mut e = ValidationErrors::new();
        let input = read_project(&form, None, &mut e);
        match combine(e, input.validate()) {
            Ok(project) => {
                state.store.create_project(pole.id, &project).await?;
                let to = format!("/admin/poles/{slug}");
                Ok(Answer::done(to, admin.t("admin.published")))
            }
            Err(errors) => {
                let action = format!("/admin/poles/{slug}/projects/new");
                let spec = project_spec(&pole, &input, action, admin.lang());
                Ok(Answer::Invalid(spec, errors))
            }
        }
    })
    .await
}

pub async fn project_edit(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Response {
    run(&admin.c, async {
        let record = state.store.project(&id).await?;
        let pole = admin.pole_of(&state, record.pole_id).await?;
        let action = format!("/admin/projects/{id}");
        let spec = project_spec(&pole, &record.data.to_input(), action, admin.lang());
        let spec = spec.at_version(Some(record.version));
        Ok(form_page(&state, &admin.c, spec, None))
    })
    .await
}

pub async fn project_update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        let record = state.store.project(&id).await?;
        let pole = admin.pole_of(&state, record.pole_id).await?;
        let mut e = ValidationErrors::new();
        let input = read_project(&form, Some(record.data.to_input()), &mut e);
        let valid = combine(e, input.validate());
        let check = async |v: &_| state.store.check_project_refs(record.pole_id, v).await;
        let valid = store_checked(valid, check).await?;
        let expected = form.version();
        let spec = project_spec(&pole, &input, format!("/admin/projects/{id}"), admin.lang());
        let project = match valid {
            Ok(project) => project,
            Err(errors) => return Ok(Answer::Invalid(spec.at_version(expected), errors)),
        };
        let written = state
            .store
            .edit_project(&id, expected, |_| Ok::<_, StoreError>(project.clone()))
            .await;
        let to = format!("/admin/poles/{}", pole.pole.slug);
        saved(
            written,
            Answer::done(to, admin.t("admin.saved")),
            async || {
                let now = state.store.project(&id).await?;
                Stored::new(spec, "project", now.id, now.data)
            },
        )
        .await
    })
    .await
}

delete_handler!(project_delete, project, delete_project);
