//! A pole's events: their form (when, where, online, registration, themes, the poles that
//! organise it too), publishing, editing at the version the form was filled from, and
//! deleting.

use super::form_page::FormSpec;
use super::forms::{
    Field, FormData, described, keep_order, opt_num, opt_str, read_format, themes_field,
};
use super::places::{place_fields, read_place};
use super::publications::{Publication, Related, stored_by};
use crate::domain::vocab::{EventStatus, Theme};
use crate::domain::{Event, EventInput, ValidationErrors};
use crate::store::{ObjectRecord, PoleRecord, Store, StoreError};
use crate::web::pages::Lang;

impl Publication for Event {
    const KIND: &'static str = "event";
    type Input = EventInput;

    fn spec(
        pole: &PoleRecord,
        input: &EventInput,
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
        // Co-organisers are the other poles of this instance; one no longer listed (deleted)
        // stays choosable by its slug, so that saving the form keeps it.
        let mut poles: Vec<(String, String)> = related
            .poles
            .iter()
            .filter(|(slug, _)| *slug != pole.pole.slug)
            .cloned()
            .collect();
        for slug in &input.organiser_poles {
            if !poles.iter().any(|(s, _)| s == slug) {
                poles.push((slug.clone(), slug.clone()));
            }
        }
        fields.extend([
            Field::new(
                "starts_at",
                t("admin.starts_at"),
                "datetime-local",
                input.starts_at.get(..16).unwrap_or(&input.starts_at),
            )
            .required(),
            Field::new(
                "ends_at",
                t("admin.ends_at"),
                "datetime-local",
                input
                    .ends_at
                    .as_deref()
                    .map(|e| e.get(..16).unwrap_or(e))
                    .unwrap_or_default(),
            ),
            Field::new(
                "timezone",
                t("event.timezone"),
                "text",
                input
                    .timezone
                    .clone()
                    .unwrap_or_else(|| "Europe/Paris".into()),
            ),
            Field::select(
                "status",
                t("admin.status"),
                EventStatus::ALL,
                EventStatus::id,
                input.status.map(EventStatus::id).unwrap_or("scheduled"),
                lang,
            ),
            Field::new(
                "online_url",
                t("admin.online_url"),
                "url",
                opt_str(&input.online_url),
            ),
            Field::new(
                "registration_url",
                t("event.registration"),
                "url",
                opt_str(&input.registration_url),
            ),
            Field::new(
                "capacity",
                t("event.capacity"),
                "number",
                opt_num(input.capacity),
            ),
            themes_field(&themes, lang),
            Field::choices(
                "organiser_poles",
                t("admin_fields.organiser_poles"),
                &poles,
                &input.organiser_poles,
            )
            .help(t("admin_fields.organiser_poles_help")),
            Field::heading(t("event.where")),
        ]);
        // An instance of one pole has no other pole to organise with.
        fields.retain(|f| f.name != "organiser_poles" || !f.options.is_empty());
        fields.extend(place_fields("place", input.place.as_ref(), lang));
        FormSpec::of_pole(pole, t("kind.event"), action, t("admin.publish"), fields)
            .with_picker(input.place.as_ref())
    }

    fn read(
        form: &FormData,
        current: Option<EventInput>,
        _lang: Lang,
        e: &mut ValidationErrors,
    ) -> EventInput {
        let mut input = current.unwrap_or_default();
        input.title = form.get("title");
        input.summary = form.opt("summary");
        input.description = form.opt("description");
        input.description_format = read_format(form, e);
        input.starts_at = form.get("starts_at");
        input.ends_at = form.opt("ends_at");
        input.timezone = form.opt("timezone");
        input.status = form.vocab("status", EventStatus::from_id, e);
        input.online_url = form.opt("online_url");
        input.registration_url = form.opt("registration_url");
        input.capacity = form.number("capacity", e);
        input.themes = keep_order(&input.themes, form.vocab_list("themes", Theme::from_id, e));
        input.organiser_poles = keep_order(&input.organiser_poles, form.all("organiser_poles"));
        input.place = read_place(form, "place", e);
        input
    }

    fn title(&self) -> &str {
        &self.title
    }

    async fn related(store: &Store, _pole: &PoleRecord) -> Result<Related, StoreError> {
        let poles = store
            .list_poles(crate::store::PageRequest {
                page: 1,
                per_page: 1000,
            })
            .await?
            .items
            .into_iter()
            .map(|p| (p.pole.slug, p.pole.name))
            .collect();
        Ok(Related {
            members: Vec::new(),
            poles,
        })
    }

    fn validate(input: &EventInput) -> Result<Event, ValidationErrors> {
        input.validate()
    }

    fn to_input(&self) -> EventInput {
        Event::to_input(self)
    }

    stored_by!(Event, event, create_event, edit_event, delete_event);

    fn check_new(
        store: &Store,
        _pole_id: i64,
        data: &Event,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        store.check_event_refs(data)
    }

    fn check_edited(
        store: &Store,
        _pole_id: i64,
        data: &Event,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        store.check_event_refs(data)
    }

    fn published(slug: &str, record: &ObjectRecord<Event>, user: &str) {
        tracing::info!(pole = %slug, event = %record.public_id, user = %user, "event published");
    }
}
