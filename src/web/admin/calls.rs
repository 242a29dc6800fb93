//! A pole's calls for cooperation: their form (direction, subjects, themes, territory,
//! deadline, how to answer), publishing, editing at the version the form was filled from, closing and
//! deleting.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use super::access::Admin;
use super::form_page::FormSpec;
use super::forms::{Field, FormData, described, keep_order, opt_num, read_format, themes_field};
use super::places::{communes_text, read_territory, territory_fields, territory_notes};
use super::publications::{Publication, Related, stored_by};
use super::submit::{Answer, submit};
use crate::domain::vocab::{CallDirection, CallStatus, CallSubject, Theme};
use crate::domain::{CallForCooperation, CallInput, ValidationErrors};
use crate::store::{ObjectRecord, PoleRecord};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::pages::Lang;

impl Publication for CallForCooperation {
    const KIND: &'static str = "call";
    type Input = CallInput;

    fn spec(
        pole: &PoleRecord,
        input: &CallInput,
        _related: &Related,
        action: String,
        lang: Lang,
    ) -> FormSpec {
        let t = |k| lang.t(k);
        let subjects: Vec<&str> = input.subjects.iter().map(|v| v.id()).collect();
        let themes: Vec<&str> = input.themes.iter().map(|v| v.id()).collect();
        let title = Field::new("title", t("admin.title"), "text", input.title.clone()).required();
        let mut fields = described(
            title,
            &input.summary,
            (&input.description, input.description_format),
            lang,
        );
        fields.extend([
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
            Field::heading(t("pole.territory")),
        ]);
        fields.extend(territory_fields(
            &input.territory,
            &communes_text(&input.territory.communes),
            lang,
        ));
        let mut spec = FormSpec::of_pole(pole, t("kind.call"), action, t("admin.publish"), fields);
        spec.notes = territory_notes(&input.territory, lang);
        spec
    }

    fn title(&self) -> &str {
        &self.title
    }

    fn read(
        form: &FormData,
        current: Option<CallInput>,
        _lang: Lang,
        e: &mut ValidationErrors,
    ) -> CallInput {
        let mut input = current.unwrap_or_default();
        input.title = form.get("title");
        input.summary = form.opt("summary");
        input.description = form.opt("description");
        input.description_format = read_format(form, e);
        input.direction = form.vocab("direction", CallDirection::from_id, e);
        input.subjects = keep_order(
            &input.subjects,
            form.vocab_list("subjects", CallSubject::from_id, e),
        );
        input.themes = keep_order(&input.themes, form.vocab_list("themes", Theme::from_id, e));
        input.territory = read_territory(form, e).0;
        input.deadline = form.date("deadline", e);
        input.how_to_answer = form.get("how_to_answer");
        input.status = form.vocab("status", CallStatus::from_id, e);
        input
    }

    fn validate(input: &CallInput) -> Result<CallForCooperation, ValidationErrors> {
        input.validate()
    }

    fn to_input(&self) -> CallInput {
        CallForCooperation::to_input(self)
    }

    stored_by!(
        CallForCooperation,
        call,
        create_call,
        edit_call,
        delete_call
    );

    fn published(slug: &str, record: &ObjectRecord<CallForCooperation>, user: &str) {
        tracing::info!(pole = %slug, call = %record.public_id, user = %user, "call published");
    }
}

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
