//! A pole's members: their form, adding, editing at the version the form was filled from,
//! and removing it once asked.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use super::access::Admin;
use super::confirm::{Deletion, confirm_page};
use super::form_page::{FormSpec, form_page};
use super::forms::{Field, FormData, opt_num, opt_str};
use super::submit::{Answer, Stored, combine, run, saved, submit};
use crate::domain::vocab::{EmployeeBand, LegalForm};
use crate::domain::{MemberInput, ValidationErrors};
use crate::store::{PoleRecord, StoreError};
use crate::web::AppState;
use crate::web::pages::{Lang, views};

fn member_spec(pole: &PoleRecord, input: &MemberInput, action: String, lang: Lang) -> FormSpec {
    let t = |k| lang.t(k);
    let ess = match input.ess {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    };
    let mut ess_field = Field::new("ess", t("admin.member_ess"), "select", ess);
    ess_field.options = vec![
        views::Choice {
            code: "yes".into(),
            label: t("common.yes").into(),
            selected: ess == "yes",
        },
        views::Choice {
            code: "no".into(),
            label: t("common.no").into(),
            selected: ess == "no",
        },
    ];
    ess_field.help = t("admin.member_ess_help").to_owned();
    let fields = vec![
        Field::new("name", t("member.name"), "text", input.name.clone()).required(),
        Field::select(
            "legal_form",
            t("member.legal_form"),
            LegalForm::ALL,
            LegalForm::id,
            input.legal_form.map(LegalForm::id).unwrap_or_default(),
            lang,
        ),
        ess_field,
        Field::select(
            "employee_band",
            t("member.employees"),
            EmployeeBand::ALL,
            EmployeeBand::id,
            input
                .employee_band
                .map(EmployeeBand::id)
                .unwrap_or_default(),
            lang,
        ),
        Field::new("siret", t("admin.siret"), "text", opt_str(&input.siret)),
        Field::new("website", t("pole.website"), "url", opt_str(&input.website)),
        Field::new("role", t("member.role"), "text", opt_str(&input.role)),
        Field::new(
            "joined_year",
            t("admin.joined_year"),
            "number",
            opt_num(input.joined_year),
        ),
    ];
    FormSpec::of_pole(pole, t("admin.member"), action, t("admin.save"), fields)
}

fn read_member(form: &FormData, e: &mut ValidationErrors) -> MemberInput {
    MemberInput {
        name: form.get("name"),
        legal_form: form.vocab("legal_form", LegalForm::from_id, e),
        ess: match form.get("ess").as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        employee_band: form.vocab("employee_band", EmployeeBand::from_id, e),
        siret: form.opt("siret"),
        website: form.opt("website"),
        role: form.opt("role"),
        joined_year: form.number("joined_year", e),
    }
}

pub async fn member_new(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        let spec = member_spec(
            &pole,
            &MemberInput::default(),
            format!("/admin/poles/{slug}/members/new"),
            admin.lang(),
        );
        Ok(form_page(&state, &admin.c, spec, None))
    })
    .await
}

pub async fn member_create(
    State(state): State<AppState>,
    admin: Admin,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        let pole = admin.pole(&state, &slug).await?;
        let mut e = ValidationErrors::new();
        let input = read_member(&form, &mut e);
        match combine(e, input.validate()) {
            Ok(member) => {
                state.store.create_member(pole.id, &member).await?;
                let to = format!("/admin/poles/{slug}");
                Ok(Answer::done(to, admin.t("admin.saved")))
            }
            Err(errors) => {
                let action = format!("/admin/poles/{slug}/members/new");
                let spec = member_spec(&pole, &input, action, admin.lang());
                Ok(Answer::Invalid(spec, errors))
            }
        }
    })
    .await
}

pub async fn member_edit(
    State(state): State<AppState>,
    admin: Admin,
    Path((slug, id)): Path<(String, i64)>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        let member = state.store.member(pole.id, id).await?;
        let spec = member_spec(
            &pole,
            &member.member.to_input(),
            format!("/admin/poles/{slug}/members/{id}"),
            admin.lang(),
        )
        .at_version(Some(member.version));
        Ok(form_page(&state, &admin.c, spec, None))
    })
    .await
}

pub async fn member_update(
    State(state): State<AppState>,
    admin: Admin,
    Path((slug, id)): Path<(String, i64)>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |form| {
        let pole = admin.pole(&state, &slug).await?;
        let stored = state.store.member(pole.id, id).await?;
        let mut e = ValidationErrors::new();
        let input = read_member(&form, &mut e);
        let expected = form.version();
        let action = format!("/admin/poles/{slug}/members/{id}");
        let spec = member_spec(&pole, &input, action, admin.lang());
        let member = match combine(e, input.validate()) {
            Ok(member) => member,
            Err(errors) => return Ok(Answer::Invalid(spec.at_version(expected), errors)),
        };
        let written = state
            .store
            .edit_member(pole.id, id, expected, |_| {
                Ok::<_, StoreError>(member.clone())
            })
            .await;
        let flash = match &written {
            Ok(now) if now.version == stored.version => admin.t("admin_fields.unchanged"),
            _ => admin.t("admin.saved"),
        };
        let done = Answer::done(format!("/admin/poles/{slug}"), flash);
        saved(written, done, async || {
            let now = state.store.member(pole.id, id).await?;
            Stored::new(spec, "member", id, now.member)
        })
        .await
    })
    .await
}

/// `GET /admin/poles/{slug}/members/{id}/delete`: asks before removing.
pub async fn member_confirm_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path((slug, id)): Path<(String, i64)>,
) -> Response {
    run(&admin.c, async {
        let pole = admin.pole(&state, &slug).await?;
        let member = state.store.member(pole.id, id).await?;
        Ok(confirm_page(
            &admin,
            Deletion {
                name: member.member.name,
                consequences: admin.t("admin_delete.member_consequences"),
                action: format!("/admin/poles/{slug}/members/{id}/delete"),
                back_url: format!("/admin/poles/{slug}"),
            },
        ))
    })
    .await
}

pub async fn member_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path((slug, id)): Path<(String, i64)>,
    body: Bytes,
) -> Response {
    submit(&state, &admin, &body, async |_| {
        let pole = admin.pole(&state, &slug).await?;
        state.store.delete_member(pole.id, id).await?;
        let to = format!("/admin/poles/{slug}");
        Ok(Answer::done(to, admin.t("admin.deleted")))
    })
    .await
}
