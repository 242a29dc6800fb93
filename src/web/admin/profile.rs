//! A pole's profile: its form (identity, territory, themes, shared place, federation
//! settings) and its saving at the version the form was filled from.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use super::access::Admin;
use super::form_page::{FormSpec, form_page};
use super::forms::{Field, described, opt_num, opt_str, themes_field};
use super::places::{communes_text, place_fields, read_place, resolve_communes, territory_notes};
use super::submit::{Answer, Stored, combine, run, saved, submit};
use crate::domain::vocab::{LegalForm, PoolingKind, TerritoryKind, Theme};
use crate::domain::{PoleInput, TerritoryInput, ValidationErrors};
use crate::store::{PoleRecord, StoreError};
use crate::web::AppState;
use crate::web::pages::Lang;

fn profile_fields(input: &PoleInput, communes: &str, lang: Lang) -> Vec<Field> {
    let t = |k| lang.t(k);
    let themes: Vec<&str> = input.themes.iter().map(|v| v.id()).collect();
    let pooling: Vec<&str> = input.pooling.iter().map(|v| v.id()).collect();
    let name = Field::new("name", t("admin.pole_name"), "text", input.name.clone()).required();
    let mut fields = described(name, &input.summary, &input.description, lang);
    fields.extend([
        Field::new("website", t("pole.website"), "url", opt_str(&input.website)),
        Field::new(
            "contact_email",
            t("pole.email"),
            "email",
            opt_str(&input.contact_email),
        ),
        Field::new(
            "contact_phone",
            t("pole.phone"),
            "tel",
            opt_str(&input.contact_phone),
        ),
        Field::new(
            "founded_year",
            t("pole.founded"),
            "number",
            opt_num(input.founded_year),
        ),
        Field::select(
            "legal_form",
            t("pole.legal_form"),
            LegalForm::ALL,
            LegalForm::id,
            input.legal_form.map(LegalForm::id).unwrap_or_default(),
            lang,
        ),
        Field::new("siren", t("admin.siren"), "text", opt_str(&input.siren)),
        Field::heading(t("pole.territory")),
        Field::new(
            "territory.communes",
            t("pole.communes"),
            "textarea",
            communes.to_owned(),
        )
        .help(t("admin.communes_help")),
        Field::select(
            "territory.kind",
            t("pole.territory_kind"),
            TerritoryKind::ALL,
            TerritoryKind::id,
            input
                .territory
                .kind
                .map(TerritoryKind::id)
                .unwrap_or_default(),
            lang,
        ),
        Field::new(
            "territory.label",
            t("admin.territory_label"),
            "text",
            opt_str(&input.territory.label),
        )
        .help(t("admin.territory_label_help")),
        themes_field(&themes, lang),
        Field::checkboxes(
            "pooling",
            t("pole.pooling"),
            PoolingKind::ALL,
            PoolingKind::id,
            &pooling,
            lang,
        ),
        Field::heading(t("pole.shared_place")),
    ]);
    fields.extend(place_fields(
        "shared_place",
        input.shared_place.as_ref(),
        lang,
    ));
    fields.push(Field::heading(t("admin.federation_settings")));
    fields.push(Field::checkbox(
        "manually_approves_followers",
        t("admin.approve_followers"),
        input.manually_approves_followers,
    ));
    fields.push(Field::checkbox(
        "replies_need_approval",
        t("admin.approve_replies"),
        input.replies_need_approval,
    ));
    fields
}

fn profile_spec(pole: &PoleRecord, input: &PoleInput, communes: &str, lang: Lang) -> FormSpec {
    let mut spec = FormSpec::of_pole(
        pole,
        lang.t("admin.edit_profile"),
        format!("/admin/poles/{}/profile", pole.pole.slug),
        lang.t("admin.save"),
        profile_fields(input, communes, lang),
    )
    .with_picker(input.shared_place.as_ref());
    spec.notes = territory_notes(&input.territory, lang);
    spec
}

pub async fn profile_form(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        let input = pole.pole.to_input();
        let communes = communes_text(&input.territory.communes);
        Ok(form_page(
            &state,
            &admin.c,
            profile_spec(&pole, &input, &communes, admin.lang()).at_version(Some(pole.version)),
            None,
        ))
    })
    .await
}

pub async fn profile_save(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        let pole = admin.pole(&state, &slug).await?;
        let lang = admin.lang();
        let mut e = ValidationErrors::new();
        let mut input = pole.pole.to_input();
        input.name = form.get("name");
        input.summary = form.opt("summary");
        input.description = form.opt("description");
        input.website = form.opt("website");
        input.contact_email = form.opt("contact_email");
        input.contact_phone = form.opt("contact_phone");
        input.founded_year = form.number("founded_year", &mut e);
        input.legal_form = form.vocab("legal_form", LegalForm::from_id, &mut e);
        input.siren = form.opt("siren");
        let communes = form.get("territory.communes");
        input.territory = TerritoryInput {
            communes: resolve_communes(&communes, &mut e, "territory.communes"),
            kind: form.vocab("territory.kind", TerritoryKind::from_id, &mut e),
            label: form.opt("territory.label"),
        };
        input.themes = form.vocab_list("themes", Theme::from_id, &mut e);
        input.pooling = form.vocab_list("pooling", PoolingKind::from_id, &mut e);
        input.shared_place = read_place(&form, "shared_place", &mut e);
        input.manually_approves_followers = form.checked("manually_approves_followers");
        input.replies_need_approval = form.checked("replies_need_approval");
        let expected = form.version();
        let valid = match combine(e, input.validate()) {
            Ok(valid) => valid,
            Err(errors) => {
                let spec = profile_spec(&pole, &input, &communes, lang).at_version(expected);
                return Ok(Answer::Invalid(spec, errors));
            }
        };
        let written = state
            .store
            .edit_pole(&slug, expected, |_| Ok::<_, StoreError>(valid.clone()))
            .await;
        let done = Answer::done(format!("/admin/poles/{slug}"), lang.t("admin.saved"));
        saved(written, done, async || {
            let now = state.store.pole(&slug).await?;
            let spec = profile_spec(&now, &input, &communes, lang);
            Stored::new(spec, "pole", now.id, now.pole)
        })
        .await
    })
    .await
}
