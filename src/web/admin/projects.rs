//! A pole's projects: their form (status, themes, dates, the members that carry them, their
//! territory and links), publishing, editing at the version the form was filled from, and
//! deleting.

use super::form_page::FormSpec;
use super::forms::{
    Field, FormData, described, keep_order, opt_num, opt_str, read_format, themes_field,
};
use super::places::{communes_text, read_territory, territory_fields, territory_notes};
use super::publications::{Publication, Related, stored_by};
use crate::domain::project::LinkInput;
use crate::domain::vocab::{ProjectStatus, Theme};
use crate::domain::{Code, Message, Project, ProjectInput, ValidationErrors};
use crate::store::{PoleRecord, Store, StoreError};
use crate::web::pages::Lang;

/// Empty rows offered after the links a project has, to add more without JavaScript.
const SPARE_LINKS: usize = 2;

/// A link's two fields, by its place in the list.
fn link_fields(i: usize, link: &LinkInput, lang: Lang) -> [Field; 2] {
    [
        Field::new(
            &format!("links[{i}].title"),
            &lang
                .t("admin_fields.link_title")
                .replace("{n}", &(i + 1).to_string()),
            "text",
            opt_str(&link.title),
        ),
        Field::new(
            &format!("links[{i}].url"),
            &lang
                .t("admin_fields.link_url")
                .replace("{n}", &(i + 1).to_string()),
            "url",
            link.url.clone(),
        ),
    ]
}

/// The links typed, in order, leaving out the rows left empty. Rows are read up to the
/// last one the form has, whatever their number.
fn read_links(form: &FormData) -> Vec<LinkInput> {
    let rows = form
        .0
        .iter()
        .filter_map(|(k, _)| {
            k.strip_prefix("links[")
                .and_then(|rest| rest.split(']').next())
                .and_then(|i| i.parse::<usize>().ok())
        })
        .max()
        .map_or(0, |last| last + 1)
        .min(crate::domain::check::MAX_LIST + SPARE_LINKS);
    (0..rows)
        .filter_map(|i| {
            let title = form.opt(&format!("links[{i}].title"));
            let url = form.get(&format!("links[{i}].url"));
            (title.is_some() || !url.is_empty()).then_some(LinkInput { title, url })
        })
        .collect()
}

impl Publication for Project {
    const KIND: &'static str = "project";
    type Input = ProjectInput;

    fn spec(
        pole: &PoleRecord,
        input: &ProjectInput,
        related: &Related,
        action: String,
        lang: Lang,
    ) -> FormSpec {
        let t = |k| lang.t(k);
        let themes: Vec<&str> = input.themes.iter().map(|v| v.id()).collect();
        let title = Field::new("title", t("admin.title"), "text", input.title.clone()).required();
        let mut fields = described(
            title,
            &input.summary,
            (&input.description, input.description_format),
            lang,
        );
        let partners: Vec<String> = input
            .partner_member_ids
            .iter()
            .map(|id| id.to_string())
            .collect();
        let mut members = related.members.clone();
        for id in &partners {
            if !members.iter().any(|(code, _)| code == id) {
                members.push((id.clone(), format!("#{id}")));
            }
        }
        let partner_field = Field::choices(
            "partner_member_ids",
            t("admin_fields.partners"),
            &members,
            &partners,
        )
        .help(t("admin_fields.partners_help"));
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
            partner_field,
            Field::heading(t("pole.territory")),
        ]);
        fields.extend(territory_fields(
            &input.territory,
            &communes_text(&input.territory.communes),
            lang,
        ));
        fields.push(Field::heading(t("admin_fields.links")));
        let spare = std::iter::repeat_n(LinkInput::default(), SPARE_LINKS);
        for (i, link) in input.links.iter().cloned().chain(spare).enumerate() {
            fields.extend(link_fields(i, &link, lang));
        }
        // A pole without members has no partners to choose.
        fields.retain(|f| f.name != "partner_member_ids" || !f.options.is_empty());
        let mut spec =
            FormSpec::of_pole(pole, t("kind.project"), action, t("admin.publish"), fields);
        spec.notes = territory_notes(&input.territory, lang);
        spec
    }

    fn title(&self) -> &str {
        &self.title
    }

    async fn related(store: &Store, pole: &PoleRecord) -> Result<Related, StoreError> {
        let members = store
            .all_members(pole.id)
            .await?
            .into_iter()
            .map(|m| (m.id.to_string(), m.member.name))
            .collect();
        Ok(Related {
            members,
            poles: Vec::new(),
        })
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
        input.description_format = read_format(form, e);
        input.status = form.vocab("status", ProjectStatus::from_id, e);
        input.themes = keep_order(&input.themes, form.vocab_list("themes", Theme::from_id, e));
        input.start_date = form.date("start_date", e);
        input.end_date = form.date("end_date", e);
        let mut partners = Vec::new();
        for id in form.all("partner_member_ids") {
            match id.parse::<i64>() {
                Ok(id) => partners.push(id),
                Err(_) => e.add(
                    "partner_member_ids",
                    Message::new(Code::NotAMember).arg("value", &id),
                ),
            }
        }
        input.partner_member_ids = keep_order(&input.partner_member_ids, partners);
        input.territory = read_territory(form, e).0;
        input.links = read_links(form);
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

    fn check_new(
        store: &Store,
        pole_id: i64,
        data: &Project,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        store.check_project_refs(pole_id, data)
    }

    fn check_edited(
        store: &Store,
        pole_id: i64,
        data: &Project,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        store.check_project_refs(pole_id, data)
    }
}
