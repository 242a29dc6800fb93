//! A pole's events: their form (when, where, online, registration), publishing, editing at
//! the version the form was filled from, and deleting.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use super::access::Admin;
use super::form_page::{FormSpec, form_page};
use super::forms::{Field, FormData, opt_num, opt_str, themes_field};
use super::places::{place_fields, read_place};
use super::submit::{Answer, Stored, combine, delete_handler, run, saved, store_checked, submit};
use crate::domain::vocab::{EventStatus, Theme};
use crate::domain::{EventInput, ValidationErrors};
use crate::store::{PoleRecord, StoreError};
use crate::web::AppState;
use crate::web::pages::Lang;

fn event_spec(pole: &PoleRecord, input: &EventInput, action: String, lang: Lang) -> FormSpec {
    let t = |k| lang.t(k);
    let themes: Vec<&str> = input.themes.iter().map(|v| v.id()).collect();
    let mut fields = vec![
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
        Field::heading(t("event.where")),
    ];
    fields.extend(place_fields("place", input.place.as_ref(), lang));
    let place = input.place.as_ref();
    FormSpec {
        version: None,
        conflict: None,
        heading: format!("{} — {}", t("kind.event"), pole.pole.name),
        back_url: format!("/admin/poles/{}", pole.pole.slug),
        action,
        submit: t("admin.publish"),
        fields,
        notes: Vec::new(),
        picker: Some((
            opt_num(place.and_then(|p| p.latitude)),
            opt_num(place.and_then(|p| p.longitude)),
        )),
    }
}

fn read_event(
    form: &FormData,
    current: Option<EventInput>,
    lang: Lang,
    e: &mut ValidationErrors,
) -> EventInput {
    let mut input = current.unwrap_or_default();
    input.title = form.get("title");
    input.summary = form.opt("summary");
    input.description = form.opt("description");
    input.starts_at = form.get("starts_at");
    input.ends_at = form.opt("ends_at");
    input.timezone = form.opt("timezone");
    input.status = form.vocab("status", EventStatus::from_id, e);
    input.online_url = form.opt("online_url");
    input.registration_url = form.opt("registration_url");
    input.capacity = form.number("capacity", e);
    input.themes = form.vocab_list("themes", Theme::from_id, e);
    input.place = read_place(form, "place", lang, e);
    input
}

pub async fn event_new(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        let action = format!("/admin/poles/{slug}/events/new");
        let spec = event_spec(&pole, &EventInput::default(), action, admin.lang());
        Ok(form_page(&state, &admin.c, spec, None))
    })
    .await
}

pub async fn event_create(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        let pole = admin.pole(&state, &slug).await?;
        let mut e = ValidationErrors::new();
        let input = read_event(&form, None, admin.lang(), &mut e);
        let valid = combine(e, input.validate());
        let valid = store_checked(valid, async |v| state.store.check_event_refs(v).await).await?;
        match valid {
            Ok(event) => {
                let record = state.store.create_event(pole.id, &event).await?;
                tracing::info!(pole = %slug, event = %record.public_id, user = %admin.auth.user.username, "event published");
                let to = format!("/admin/poles/{slug}");
                Ok(Answer::done(to, admin.t("admin.published")))
            }
            Err(errors) => {
                let action = format!("/admin/poles/{slug}/events/new");
                let spec = event_spec(&pole, &input, action, admin.lang());
                Ok(Answer::Invalid(spec, errors))
            }
        }
    })
    .await
}

pub async fn event_edit(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Response {
    run(&admin.c, async {
        let record = state.store.event(&id).await?;
        let pole = admin.pole_of(&state, record.pole_id).await?;
        let action = format!("/admin/events/{id}");
        let spec = event_spec(&pole, &record.data.to_input(), action, admin.lang());
        let spec = spec.at_version(Some(record.version));
        Ok(form_page(&state, &admin.c, spec, None))
    })
    .await
}

pub async fn event_update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        let record = state.store.event(&id).await?;
        let pole = admin.pole_of(&state, record.pole_id).await?;
        let mut e = ValidationErrors::new();
        let input = read_event(&form, Some(record.data.to_input()), admin.lang(), &mut e);
        let expected = form.version();
        let spec = event_spec(&pole, &input, format!("/admin/events/{id}"), admin.lang());
        let event = match combine(e, input.validate()) {
            Ok(event) => event,
            Err(errors) => return Ok(Answer::Invalid(spec.at_version(expected), errors)),
        };
        let written = state
            .store
            .edit_event(&id, expected, |_| Ok::<_, StoreError>(event.clone()))
            .await;
        let to = format!("/admin/poles/{}", pole.pole.slug);
        saved(
            written,
            Answer::done(to, admin.t("admin.saved")),
            async || {
                let now = state.store.event(&id).await?;
                Stored::new(spec, "event", now.id, now.data)
            },
        )
        .await
    })
    .await
}

delete_handler!(event_delete, event, delete_event);
