//! Poles created and deleted by administrators of the instance: the form of a new pole (its
//! slug, then the profile's fields) and deleting a pole once asked, which deletes what it
//! published and sends its followers the `Delete`, as the API does.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use super::access::Admin;
use super::confirm::{Deletion, confirm_page};
use super::form_page::{FormSpec, form_page};
use super::places::territory_notes;
use super::profile::{profile_fields, read_profile, validate_profile};
use super::submit::{Answer, run, submit};
use crate::domain::{PoleInput, ValidationErrors};
use crate::store::StoreError;
use crate::web::AppState;
use crate::web::pages::Lang;

/// The form of a new pole, with what was typed.
fn new_pole_spec(input: &PoleInput, communes: &str, lang: Lang) -> FormSpec {
    let mut spec = FormSpec {
        heading: lang.t("admin_poles.new").to_owned(),
        back_url: "/admin".to_owned(),
        action: "/admin/new-pole".to_owned(),
        submit: lang.t("admin_poles.create"),
        fields: profile_fields(input, communes, true, lang),
        notes: Vec::new(),
        picker: None,
        version: None,
        conflict: None,
    }
    .with_picker(input.shared_place.as_ref());
    spec.notes = territory_notes(&input.territory, lang);
    spec
}

/// `GET /admin/new-pole` (administrators).
pub async fn pole_new(State(state): State<AppState>, admin: Admin) -> Response {
    run(&admin.c, async {
        admin.auth.require_admin()?;
        let spec = new_pole_spec(&PoleInput::default(), "", admin.lang());
        Ok(form_page(&state, &admin.c, spec, None))
    })
    .await
}

/// `POST /admin/new-pole` (administrators): creates the pole and opens its hub.
pub async fn pole_create(State(state): State<AppState>, admin: Admin, body: Bytes) -> Response {
    submit(&state, &admin, &body, async |form| {
        admin.auth.require_admin()?;
        let lang = admin.lang();
        let mut e = ValidationErrors::new();
        let stored = PoleInput {
            slug: form.get("slug").to_lowercase(),
            ..PoleInput::default()
        };
        let (input, communes) = read_profile(&form, stored, &mut e);
        let invalid = |errors| {
            Ok(Answer::Invalid(
                new_pole_spec(&input, &communes, lang).with_typed_communes(&form),
                errors,
            ))
        };
        let pole = match validate_profile(e, &input) {
            Ok(pole) => pole,
            Err(errors) => return invalid(errors),
        };
        match state.store.create_pole(&pole).await {
            Ok(record) => {
                tracing::info!(slug = %record.pole.slug, user = %admin.auth.user.username, "pole created");
                Ok(Answer::done(
                    format!("/admin/poles/{}", record.pole.slug),
                    lang.t("admin_poles.created"),
                ))
            }
            // The slug is taken: the person's mistake, shown with the form.
            Err(StoreError::Invalid(errors)) => invalid(errors),
            Err(other) => Err(other.into()),
        }
    })
    .await
}

/// `GET /admin/poles/{slug}/delete` (administrators): asks before deleting.
pub async fn pole_confirm_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
) -> Response {
    run(&admin.c, async {
        admin.auth.require_admin()?;
        let pole = state.store.pole(&slug).await?;
        Ok(confirm_page(
            &admin,
            Deletion {
                name: pole.pole.name,
                consequences: admin.t("admin_delete.pole_consequences"),
                action: format!("/admin/poles/{slug}/delete"),
                back_url: format!("/admin/poles/{slug}"),
            },
        ))
    })
    .await
}

/// `POST /admin/poles/{slug}/delete` (administrators).
pub async fn pole_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |_| {
        admin.auth.require_admin()?;
        state.store.delete_pole(&slug).await?;
        tracing::info!(%slug, user = %admin.auth.user.username, "pole deleted");
        Ok(Answer::done("/admin", admin.t("admin.deleted")))
    })
    .await
}
