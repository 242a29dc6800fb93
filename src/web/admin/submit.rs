//! The way every action of the administration answers: [`submit`] checks the form's
//! anti-forgery token, runs the action, and turns its [`Answer`] into the response — a
//! redirect with a message once the change is made (and published at once), the form again
//! with the person's mistakes (422) or with what someone else saved meanwhile (409), another
//! page again with its own status, or an error page.
//!
//! No handler writes a redirect, a flash message or a conflict page itself: they say which
//! answer they give, and this module gives it the same way for all. It stands below the
//! page groups and uses only the access check and the form page.

use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::access::Admin;
use super::form_page::{FormSpec, conflict_page, form_page};
use super::forms::FormData;
use crate::domain::ValidationErrors;
use crate::store::StoreError;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::pages::{Ctx, error_page};

/// What a submitted form comes to.
pub enum Answer {
    /// Done: the change goes out at once, and the person is sent to `to`, told `flash`.
    Done { to: String, flash: String },
    /// The person's entries are wrong: the form again, with its messages.
    Invalid(FormSpec, ValidationErrors),
    /// Someone else saved the record since the form was filled (the versions then and now):
    /// the form again, with what they changed.
    Conflict(Stored, (i32, i32)),
    /// Another page again, which carries its own status (the federation page's forms).
    Page(Response),
}

impl Answer {
    pub fn done(to: impl Into<String>, flash: impl Into<String>) -> Answer {
        Answer::Done {
            to: to.into(),
            flash: flash.into(),
        }
    }
}

/// A record as it is stored now, after a save refused because someone else saved first.
pub struct Stored {
    /// The form as this person filled it.
    spec: FormSpec,
    /// The record's kind in the change history (`pole`, `member`, `event`…).
    kind: &'static str,
    id: i64,
    now: serde_json::Value,
}

impl Stored {
    pub fn new(
        spec: FormSpec,
        kind: &'static str,
        id: i64,
        now: impl serde::Serialize,
    ) -> Result<Stored, ApiError> {
        let now = serde_json::to_value(now).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Stored {
            spec,
            kind,
            id,
            now,
        })
    }
}

/// A form posted to the administration: its anti-forgery token is checked, then `action`
/// runs on it, and its answer (or its error, as an error page) is the response.
pub async fn submit(
    state: &AppState,
    admin: &Admin,
    body: &[u8],
    action: impl AsyncFnOnce(FormData) -> Result<Answer, ApiError>,
) -> Response {
    run(&admin.c, async {
        let form = admin.form(body)?;
        match action(form).await? {
            Answer::Done { to, flash } => Ok(done(state, &to, &flash)),
            Answer::Invalid(spec, errors) => Ok(form_page(state, &admin.c, spec, Some(&errors))),
            Answer::Conflict(stored, versions) => {
                let Stored {
                    spec,
                    kind,
                    id,
                    now,
                } = stored;
                conflict_page(state, &admin.c, spec, kind, id, versions, now).await
            }
            Answer::Page(page) => Ok(page),
        }
    })
    .await
}

/// The answer to a write made at the version the form was filled from: `done` when it is
/// made; when someone else saved another version first, the conflict, with what `stored`
/// reads now.
pub async fn saved<T>(
    written: Result<T, StoreError>,
    done: Answer,
    stored: impl AsyncFnOnce() -> Result<Stored, ApiError>,
) -> Result<Answer, ApiError> {
    match written {
        Ok(_) => Ok(done),
        Err(StoreError::Stale {
            expected, current, ..
        }) => Ok(Answer::Conflict(stored().await?, (expected, current))),
        Err(e) => Err(e.into()),
    }
}

/// Valid entries that the store checks further (their references to other records): what
/// it refuses is the person's mistake too, shown with the form.
pub async fn store_checked<V>(
    valid: Result<V, ValidationErrors>,
    check: impl AsyncFnOnce(&V) -> Result<(), StoreError>,
) -> Result<Result<V, ValidationErrors>, ApiError> {
    match valid {
        Ok(v) => match check(&v).await {
            Ok(()) => Ok(Ok(v)),
            Err(StoreError::Invalid(errors)) => Ok(Err(errors)),
            Err(other) => Err(other.into()),
        },
        Err(errors) => Ok(Err(errors)),
    }
}

/// The form's own reading errors together with the domain's validation, so that every
/// wrong field is reported at once.
pub fn combine<T>(
    mut read: ValidationErrors,
    validated: Result<T, ValidationErrors>,
) -> Result<T, ValidationErrors> {
    match validated {
        Ok(value) if read.is_empty() => Ok(value),
        Ok(_) => Err(read),
        Err(more) => {
            for e in more.0 {
                if !read.0.iter().any(|r| r.field == e.field) {
                    read.0.push(e);
                }
            }
            Err(read)
        }
    }
}

/// Runs a page's work, turning an error into an error page.
pub async fn run(c: &Ctx, work: impl Future<Output = Result<Response, ApiError>>) -> Response {
    match work.await {
        Ok(r) => r,
        Err(e) => error_page(c, e),
    }
}

/// After a change: publishes it at once and goes back to a page with a message.
pub fn done(state: &AppState, to: &str, flash: &str) -> Response {
    state.fed.publish_wakeup.notify_one();
    let flash: String = url::form_urlencoded::byte_serialize(flash.as_bytes()).collect();
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}done={flash}")).into_response()
}

pub type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

/// The message a page shows after a redirect from [`submit`].
#[derive(Debug, Deserialize, Default)]
pub struct FlashQuery {
    done: Option<String>,
}

pub fn flash(query: Option<Query<FlashQuery>>) -> String {
    query
        .and_then(|Query(q)| q.done)
        .map(|d| d.chars().take(200).collect())
        .unwrap_or_default()
}
