//! A pole's profile: its form (identity, territory, themes, recognitions, shared place,
//! federation settings) and its saving at the version the form was filled from. The form's
//! fields and their reading serve the creation of a pole too.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use super::access::Admin;
use super::form_page::{FormSpec, form_page};
use super::forms::{
    Field, FormData, described, keep_order, opt_num, opt_str, read_format, themes_field,
};
use super::places::{
    communes_text, place_fields, read_place, read_territory, territory_fields, territory_notes,
};
use super::submit::{Answer, Stored, combine, run, saved, submit};
use crate::domain::pole::{NationalCallWon, RecognitionsInput};
use crate::domain::vocab::{LegalForm, NationalCall, PoolingKind, Theme};
use crate::domain::{Code, Message, Pole, PoleInput, ValidationErrors};
use crate::store::{PoleRecord, StoreError};
use crate::web::AppState;
use crate::web::pages::Lang;
use crate::web::pages::views::Label;

/// The profile's fields; `slug` only when the pole is being created (it cannot change after).
pub fn profile_fields(input: &PoleInput, communes: &str, slug: bool, lang: Lang) -> Vec<Field> {
    let t = |k| lang.t(k);
    let themes: Vec<&str> = input.themes.iter().map(|v| v.id()).collect();
    let pooling: Vec<&str> = input.pooling.iter().map(|v| v.id()).collect();
    let name = Field::new("name", t("admin.pole_name"), "text", input.name.clone()).required();
    let mut fields = Vec::new();
    if slug {
        fields.push(
            Field::new("slug", t("admin_poles.slug"), "text", input.slug.clone())
                .required()
                .help(t("admin_poles.slug_help")),
        );
    }
    fields.extend(described(
        name,
        &input.summary,
        (&input.description, input.description_format),
        lang,
    ));
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
    ]);
    fields.extend(territory_fields(&input.territory, communes, lang));
    fields.extend([
        themes_field(&themes, lang),
        Field::checkboxes(
            "pooling",
            t("pole.pooling"),
            PoolingKind::ALL,
            PoolingKind::id,
            &pooling,
            lang,
        ),
        Field::heading(t("admin_fields.recognitions")),
    ]);
    fields.extend(recognition_fields(&input.recognitions, lang));
    fields.push(Field::heading(t("pole.shared_place")));
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

/// The field of the years a national call was won, named after the call.
fn call_field(call: NationalCall) -> String {
    format!("recognitions.{}", call.id())
}

/// One field per national call (the years it was won, as `2013` or `2016, 2019`), then the
/// year the charter was signed.
fn recognition_fields(recognitions: &RecognitionsInput, lang: Lang) -> Vec<Field> {
    let mut fields: Vec<Field> = NationalCall::ALL
        .iter()
        .map(|&call| {
            let years: Vec<String> = recognitions
                .national_calls
                .iter()
                .filter(|won| won.call == call)
                .map(|won| won.year.to_string())
                .collect();
            Field::new(
                &call_field(call),
                call.label(lang),
                "text",
                years.join(", "),
            )
            .help(lang.t("admin_fields.call_years_help"))
        })
        .collect();
    fields.push(
        Field::new(
            "recognitions.charter_signed_year",
            lang.t("pole.charter"),
            "number",
            opt_num(recognitions.charter_signed_year),
        )
        .help(lang.t("admin_fields.charter_help")),
    );
    fields
}

/// The recognitions typed, in the order they were stored when the same ones are typed again.
fn read_recognitions(
    form: &FormData,
    stored: &RecognitionsInput,
    e: &mut ValidationErrors,
) -> RecognitionsInput {
    let mut won = Vec::new();
    for &call in NationalCall::ALL {
        let name = call_field(call);
        for year in form
            .get(&name)
            .split([',', ';'])
            .map(str::trim)
            .filter(|y| !y.is_empty())
        {
            match year.parse::<i32>() {
                Ok(year) => won.push(NationalCallWon { call, year }),
                Err(_) => e.add(&name, Message::new(Code::NotAYear).arg("value", year)),
            }
        }
    }
    RecognitionsInput {
        national_calls: keep_order(&stored.national_calls, won),
        charter_signed_year: form.number("recognitions.charter_signed_year", e),
    }
}

/// The domain names a wrong year by its place in the list; the form, by its call.
fn errors_by_call(errors: ValidationErrors, input: &PoleInput) -> ValidationErrors {
    let prefix = "recognitions.national_calls[";
    ValidationErrors(
        errors
            .0
            .into_iter()
            .map(|mut err| {
                let call = err
                    .field
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| input.recognitions.national_calls.get(i));
                if let Some(won) = call {
                    err.field = call_field(won.call);
                }
                err
            })
            .collect(),
    )
}

/// The profile as typed, over `stored` (what the form does not show stays as it is).
pub fn read_profile(
    form: &FormData,
    stored: PoleInput,
    e: &mut ValidationErrors,
) -> (PoleInput, String) {
    let mut input = stored;
    input.name = form.get("name");
    input.summary = form.opt("summary");
    input.description = form.opt("description");
    input.description_format = read_format(form, e);
    input.website = form.opt("website");
    input.contact_email = form.opt("contact_email");
    input.contact_phone = form.opt("contact_phone");
    input.founded_year = form.number("founded_year", e);
    input.legal_form = form.vocab("legal_form", LegalForm::from_id, e);
    input.siren = form.opt("siren");
    let (territory, communes) = read_territory(form, e);
    input.territory = territory;
    input.themes = keep_order(&input.themes, form.vocab_list("themes", Theme::from_id, e));
    input.pooling = keep_order(
        &input.pooling,
        form.vocab_list("pooling", PoolingKind::from_id, e),
    );
    input.recognitions = read_recognitions(form, &input.recognitions, e);
    input.shared_place = read_place(form, "shared_place", e);
    input.manually_approves_followers = form.checked("manually_approves_followers");
    input.replies_need_approval = form.checked("replies_need_approval");
    (input, communes)
}

/// The profile checked, every wrong field named as the form names it.
pub fn validate_profile(
    read: ValidationErrors,
    input: &PoleInput,
) -> Result<Pole, ValidationErrors> {
    combine(read, input.validate()).map_err(|errors| errors_by_call(errors, input))
}

pub fn profile_spec(pole: &PoleRecord, input: &PoleInput, communes: &str, lang: Lang) -> FormSpec {
    let mut spec = FormSpec::of_pole(
        pole,
        lang.t("admin.edit_profile"),
        format!("/admin/poles/{}/profile", pole.pole.slug),
        lang.t("admin.save"),
        profile_fields(input, communes, false, lang),
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
        let (input, communes) = read_profile(&form, pole.pole.to_input(), &mut e);
        let expected = form.version();
        let valid = match validate_profile(e, &input) {
            Ok(valid) => valid,
            Err(errors) => {
                let spec = profile_spec(&pole, &input, &communes, lang)
                    .with_typed_communes(&form)
                    .at_version(expected);
                return Ok(Answer::Invalid(spec, errors));
            }
        };
        let written = state
            .store
            .edit_pole(&slug, expected, |_| Ok::<_, StoreError>(valid.clone()))
            .await;
        let flash = match &written {
            Ok(record) if record.version == pole.version => lang.t("admin_fields.unchanged"),
            _ => lang.t("admin.saved"),
        };
        let done = Answer::done(format!("/admin/poles/{slug}"), flash);
        saved(written, done, async || {
            let now = state.store.pole(&slug).await?;
            let spec = profile_spec(&now, &input, &communes, lang);
            Stored::new(spec, "pole", now.id, now.pole)
        })
        .await
    })
    .await
}
