//! The one page that draws every form of the administration (a pole's profile, members,
//! events, calls, projects): its fields with their values and messages, the place picker,
//! and, when someone else saved the record first, what they changed.
//!
//! A form page is drawn from a [`FormSpec`]; its status says what it is: 200 to fill it,
//! 422 with the person's mistakes, 409 after a conflict. It uses no page module.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::forms::{Field, FormData, attach_errors, opt_num};
use crate::domain::ValidationErrors;
use crate::domain::place::PlaceInput;
use crate::store::PoleRecord;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::pages::facts::Fact;
use crate::web::pages::{Ctx, Meta, html};

#[derive(Template)]
#[template(path = "admin/form.html")]
struct FormPage {
    c: Ctx,
    meta: Meta,
    heading: String,
    back_url: String,
    back_label: &'static str,
    action: String,
    submit: &'static str,
    fields: Vec<Field>,
    has_errors: bool,
    general_errors: Vec<String>,
    notes: Vec<Fact>,
    picker: bool,
    picker_lat: String,
    picker_lon: String,
    tile_url: String,
    tile_attribution: String,
    /// The version the form was filled from, sent back with it (empty for a new record).
    version: String,
    /// Someone else saved first: what they changed, as it is stored now.
    conflict: Option<Vec<Changed>>,
}

/// What a form page shows: built by each page group from the record's entries.
pub struct FormSpec {
    pub heading: String,
    pub back_url: String,
    pub action: String,
    pub submit: &'static str,
    pub fields: Vec<Field>,
    pub notes: Vec<Fact>,
    /// The place picker's latitude and longitude, when the form has a place.
    pub picker: Option<(String, String)>,
    pub version: Option<i32>,
    pub conflict: Option<Vec<Changed>>,
}

impl FormSpec {
    /// The form edits the record at this version: saving it is refused if someone else saved
    /// another version since.
    pub fn at_version(mut self, version: Option<i32>) -> FormSpec {
        self.version = version;
        self
    }

    /// A form about `pole` (its heading says `what` of which pole), going back to its hub.
    pub fn of_pole(
        pole: &PoleRecord,
        what: &str,
        action: String,
        submit: &'static str,
        fields: Vec<Field>,
    ) -> FormSpec {
        FormSpec {
            heading: format!("{what} — {}", pole.pole.name),
            back_url: format!("/admin/poles/{}", pole.pole.slug),
            action,
            submit,
            fields,
            notes: Vec::new(),
            picker: None,
            version: None,
            conflict: None,
        }
    }

    /// Shows the commune fields as they were typed rather than as they were understood, so
    /// that an entry the reference data does not know stays in front of the person.
    pub fn with_typed_communes(mut self, form: &FormData) -> FormSpec {
        for field in &mut self.fields {
            if field.name.ends_with("communes") || field.name.ends_with(".commune") {
                field.value = form.get(&field.name);
            }
        }
        self
    }

    /// With the place picker, at `place` when it has coordinates.
    pub fn with_picker(mut self, place: Option<&PlaceInput>) -> FormSpec {
        self.picker = Some((
            opt_num(place.and_then(|p| p.latitude)),
            opt_num(place.and_then(|p| p.longitude)),
        ));
        self
    }
}

/// A field someone else changed, with its value now.
pub struct Changed {
    label: String,
    value: String,
}

/// The form page of `spec`, with the person's mistakes when there are some.
pub fn form_page(
    state: &AppState,
    c: &Ctx,
    spec: FormSpec,
    errors: Option<&ValidationErrors>,
) -> Response {
    let mut fields = spec.fields;
    let general_errors = errors
        .map(|e| attach_errors(&mut fields, e, c.lang))
        .unwrap_or_default();
    let has_errors = errors.is_some_and(|e| !e.is_empty());
    let (picker, (picker_lat, picker_lon)) = match spec.picker {
        Some(p) => (true, p),
        None => (false, (String::new(), String::new())),
    };
    let page = FormPage {
        meta: Meta::new(spec.heading.clone(), "", String::new()),
        heading: spec.heading,
        back_label: c.t("admin.back"),
        back_url: spec.back_url,
        action: spec.action,
        submit: spec.submit,
        fields,
        has_errors,
        general_errors,
        notes: spec.notes,
        picker,
        picker_lat,
        picker_lon,
        tile_url: state.config.web.tile_url.clone(),
        tile_attribution: state.config.web.tile_attribution.clone(),
        version: spec.version.map(|v| v.to_string()).unwrap_or_default(),
        conflict: spec.conflict,
        c: c.clone(),
    };
    html(
        &page,
        if page.conflict.is_some() {
            StatusCode::CONFLICT
        } else if has_errors {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
    )
}

/// A save refused because someone else saved the record first: the form again, with what
/// this person typed, what the other person changed (each field whose stored value differs
/// from the version the form was filled from), and the version now stored, so that saving
/// again keeps this person's entries knowingly.
pub async fn conflict_page(
    state: &AppState,
    c: &Ctx,
    spec: FormSpec,
    kind: &str,
    object_id: i64,
    (based_on, current): (i32, i32),
    now: serde_json::Value,
) -> Result<Response, ApiError> {
    let then = state
        .store
        .snapshot_at(kind, object_id, based_on)
        .await?
        .unwrap_or(serde_json::Value::Null);
    let mut changed = Vec::new();
    if let Some(fields) = now.as_object() {
        for (key, value) in fields {
            if then.get(key) == Some(value) {
                continue;
            }
            // Only what the form shows: a field is named by the key or under it (`place.name`).
            let Some(field) = spec.fields.iter().find(|f| {
                f.kind != "heading" && (f.name == *key || f.name.starts_with(&format!("{key}.")))
            }) else {
                continue;
            };
            changed.push(Changed {
                label: field.label.clone(),
                value: shown(value),
            });
        }
    }
    let mut spec = spec.at_version(Some(current));
    spec.conflict = Some(changed);
    Ok(form_page(state, c, spec, None))
}

/// A stored value as a person reads it.
fn shown(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "✓" } else { "✗" }.to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(", "),
        Value::Object(map) => map
            .values()
            .filter(|v| !v.is_null())
            .map(shown)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
    }
}
