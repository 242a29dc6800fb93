//! A pole's projects: their form (status, themes, dates), publishing, editing at the
//! version the form was filled from, and deleting.

use super::form_page::FormSpec;
use super::forms::{Field, FormData, described, opt_num, themes_field};
use super::publications::{Publication, stored_by};
use crate::domain::vocab::{ProjectStatus, Theme};
use crate::domain::{Project, ProjectInput, ValidationErrors};
use crate::store::{PoleRecord, Store, StoreError};
use crate::web::pages::Lang;

impl Publication for Project {
    const KIND: &'static str = "project";
    type Input = ProjectInput;

    fn spec(pole: &PoleRecord, input: &ProjectInput, action: String, lang: Lang) -> FormSpec {
        let t = |k| lang.t(k);
        let themes: Vec<&str> = input.themes.iter().map(|v| v.id()).collect();
        let title = Field::new("title", t("admin.title"), "text", input.title.clone()).required();
        let mut fields = described(title, &input.summary, &input.description, lang);
        fields.extend([
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
        ]);
        FormSpec::of_pole(pole, t("kind.project"), action, t("admin.publish"), fields)
    }

    fn read(
        form: &FormData,
        current: Option<ProjectInput>,
        _lang: Lang,
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

    fn validate(input: &ProjectInput) -> Result<Project, ValidationErrors> {
        input.validate()
    }

    fn to_input(&self) -> ProjectInput {
        Project::to_input(self)
    }

    stored_by!(
        Project,
        project,
        create_project,
        edit_project,
        delete_project
    );

    fn check_edited(
        store: &Store,
        pole_id: i64,
        data: &Project,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        store.check_project_refs(pole_id, data)
    }
}
