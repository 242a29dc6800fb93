//! Who is at the administration: the [`Admin`] extractor, which sends a person who is not
//! signed in to the sign-in page, and the checks every action makes (the form's
//! anti-forgery token, the right to a pole).
//!
//! It stands below every page of the administration and uses none of them.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

use super::forms::FormData;
use crate::store::PoleRecord;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::Auth;
use crate::web::pages::{Ctx, Lang, error_page, session};

/// A signed-in person: what pages need (`c`) and what they may do (`auth`).
pub struct Admin {
    pub c: Ctx,
    pub auth: Auth,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let c = Ctx::build(state, &parts.headers, &parts.uri).await;
        let Some(session) = session::current(state, &parts.headers).await else {
            let next: String = url::form_urlencoded::byte_serialize(c.path.as_bytes()).collect();
            return Err(Redirect::to(&format!("/admin/login?next={next}")).into_response());
        };
        let pole_ids = match state.store.user_pole_ids(session.user.id).await {
            Ok(ids) => ids,
            Err(e) => return Err(error_page(&c, e.into())),
        };
        Ok(Admin {
            c,
            auth: Auth {
                user: session.user,
                pole_ids,
            },
        })
    }
}

impl Admin {
    /// The submitted form, once its anti-forgery token is checked.
    pub fn form(&self, body: &[u8]) -> Result<FormData, ApiError> {
        let form = FormData::parse(body);
        self.check_token(&form.get("_csrf"))?;
        Ok(form)
    }

    /// Checks a form's anti-forgery token (for forms read otherwise, such as uploads).
    pub fn check_token(&self, token: &str) -> Result<(), ApiError> {
        if token.is_empty() || !session::same_token(token, &self.c.csrf) {
            tracing::warn!(user = %self.auth.user.username, "form refused: anti-forgery token missing or wrong");
            return Err(ApiError::Forbidden(
                self.c.t("admin.csrf_refused").to_owned(),
            ));
        }
        Ok(())
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.c.t(key)
    }

    pub fn lang(&self) -> Lang {
        self.c.lang
    }

    /// The pole of this slug, if this person may edit it.
    pub async fn pole(&self, state: &AppState, slug: &str) -> Result<PoleRecord, ApiError> {
        let pole = state.store.pole(slug).await?;
        self.auth.require_pole(pole.id)?;
        Ok(pole)
    }

    /// The pole a publication belongs to, if this person may edit it.
    pub async fn pole_of(&self, state: &AppState, pole_id: i64) -> Result<PoleRecord, ApiError> {
        self.auth.require_pole(pole_id)?;
        Ok(state.store.pole_by_id(pole_id).await?)
    }
}
