//! Server-rendered HTML: what the public pages and the administration share (layout context,
//! language, errors, page metadata).
//!
//! Layers: this file stands on [`i18n`], [`session`] and [`assets`] only; [`views`] and
//! [`facts`] stand on it; the pages ([`home`], [`directory`], [`map`], [`pole`], [`object`],
//! [`statistics`]) stand on those, and the administration on all of them. Nothing here uses
//! the administration.

pub mod assets;
pub mod directory;
pub mod facts;
pub mod home;
pub mod i18n;
pub mod map;
pub mod object;
pub mod pole;
pub mod session;
pub mod statistics;
pub mod views;

use askama::Template;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
pub use i18n::Lang;

/// What every page's layout needs: the language, the instance, who is signed in.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub site_name: String,
    /// Path and query of this page, where the language switch comes back to.
    pub path: String,
    /// The person signed in to the administration, if any.
    pub user: Option<String>,
    /// The anti-forgery token the administration's forms carry (empty when signed out).
    pub csrf: String,
}

impl Ctx {
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// A check's message in the page's language.
    pub fn message(&self, message: &crate::domain::Message) -> String {
        self.lang.message(message)
    }

    pub fn asset(&self, path: &str) -> String {
        assets::url(path)
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }

    /// The link that switches to the other language and comes back here.
    pub fn switch_url(&self) -> String {
        format!(
            "/lang/{}?back={}",
            self.lang.other().code(),
            url::form_urlencoded::byte_serialize(self.path.as_bytes()).collect::<String>()
        )
    }

    pub fn switch_label(&self) -> &'static str {
        match self.lang {
            Lang::Fr => "English",
            Lang::En => "Français",
        }
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Ctx::build(state, &parts.headers, &parts.uri).await)
    }
}

impl Ctx {
    /// The context of a page answering this request.
    pub async fn build(state: &AppState, headers: &HeaderMap, uri: &axum::http::Uri) -> Ctx {
        let lang = Lang::negotiate(headers);
        let site_name = match state.store.instance_settings().await {
            Ok(Some(settings)) => settings.name,
            Ok(None) => "Maillage".to_owned(),
            Err(e) => {
                tracing::warn!(error = %e, "instance settings unreadable");
                "Maillage".to_owned()
            }
        };
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned());
        let mut ctx = Ctx {
            lang,
            site_name,
            path,
            user: None,
            csrf: String::new(),
        };
        if let Some(session) = session::current(state, headers).await {
            ctx.user = Some(session.user.username.clone());
            ctx.csrf = session.csrf_token.clone();
        }
        ctx
    }
}

/// What goes in a page's `<head>` besides the layout: titles, sharing cards, structured
/// data, feeds.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub title: String,
    pub description: String,
    /// Absolute URL of the page.
    pub canonical: String,
    /// `website`, `profile`, `article`…
    pub og_type: &'static str,
    pub image: Option<String>,
    /// schema.org JSON-LD, already serialised and safe inside `<script>`.
    pub json_ld: Option<String>,
    pub alternates: Vec<Alternate>,
}

#[derive(Debug, Clone)]
pub struct Alternate {
    pub media_type: &'static str,
    pub href: String,
    pub title: String,
}

impl Meta {
    pub fn new(
        title: impl Into<String>,
        description: impl Into<String>,
        canonical: String,
    ) -> Meta {
        Meta {
            title: title.into(),
            description: description.into(),
            canonical,
            og_type: "website",
            ..Meta::default()
        }
    }

    pub fn alternate(
        mut self,
        media_type: &'static str,
        href: String,
        title: impl Into<String>,
    ) -> Meta {
        self.alternates.push(Alternate {
            media_type,
            href,
            title: title.into(),
        });
        self
    }

    pub fn with_json_ld(mut self, value: &serde_json::Value) -> Meta {
        // `</script>` or `<!--` inside a value must not end the script element.
        self.json_ld = Some(value.to_string().replace('<', "\\u003c"));
        self
    }
}

/// A rendered template as an HTML response.
pub fn html(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            // The same URL may answer ActivityPub JSON, and the language follows the browser.
            headers.insert(
                header::VARY,
                HeaderValue::from_static("Accept, Accept-Language, Cookie"),
            );
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                "referrer-policy",
                HeaderValue::from_static("strict-origin-when-cross-origin"),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a page cannot be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "internal error",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    c: &'a Ctx,
    meta: Meta,
    heading: &'static str,
    message: String,
}

/// An error as a page in the visitor's language, with the status it deserves.
pub fn error_page(c: &Ctx, error: ApiError) -> Response {
    let status = error.status();
    let (heading, message) = match status {
        StatusCode::NOT_FOUND => (
            c.t("error.not_found"),
            c.t("error.not_found_text").to_owned(),
        ),
        StatusCode::GONE => (c.t("error.gone"), c.t("error.gone_text").to_owned()),
        StatusCode::FORBIDDEN => (c.t("error.forbidden"), error.message(c.lang)),
        s if s.is_server_error() => {
            tracing::error!(error = %error, "page failed");
            (c.t("error.server"), c.t("error.server_text").to_owned())
        }
        _ => (c.t("error.bad_request"), error.message(c.lang)),
    };
    let page = ErrorPage {
        c,
        meta: Meta::new(heading, "", String::new()),
        heading,
        message,
    };
    html(&page, status)
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    back: Option<String>,
}

/// `GET /lang/{code}`: remembers the chosen language for a year and goes back to the page.
pub async fn switch_language(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Path(code): axum::extract::Path<String>,
    query: Result<Query<LangQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let back = query
        .ok()
        .and_then(|Query(q)| q.back)
        .and_then(|b| local_target(&b))
        .unwrap_or_else(|| "/".to_owned());
    let Some(lang) = Lang::from_code(&code) else {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("langue inconnue `{code}` : fr ou en\nunknown language `{code}`: use fr or en"),
        )
            .into_response();
    };
    let mut response = Redirect::to(&back).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax{}",
        i18n::LANG_COOKIE,
        lang.code(),
        session::secure(&state)
    )) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Where a redirect to `target`, given by the visitor, may go: a path on this site, as the
/// browser will read it, or `None`.
///
/// Browsers drop tabs and line breaks from a URL and read `\` as `/`, so `/\t/evil.example/`
/// is `//evil.example/` to them: another origin. The target is read as a browser would,
/// against this site, and only a same-origin result is kept, written out anew (so that it is
/// always a valid `Location`). Control characters are refused outright.
pub fn local_target(target: &str) -> Option<String> {
    if !target.starts_with('/') || target.chars().any(char::is_control) {
        return None;
    }
    let base = url::Url::parse("http://maillage.invalid/").ok()?;
    let resolved = base.join(target).ok()?;
    if resolved.origin() != base.origin() {
        return None;
    }
    let mut path = resolved.path().to_owned();
    // `/.//evil.example` resolves to the path `//evil.example`: as a `Location`, another host.
    if path.starts_with("//") {
        return None;
    }
    if let Some(query) = resolved.query() {
        path.push('?');
        path.push_str(query);
    }
    if let Some(fragment) = resolved.fragment() {
        path.push('#');
        path.push_str(fragment);
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::local_target;

    #[test]
    fn redirects_stay_on_this_site() {
        for (given, expected) in [
            ("/", "/"),
            ("/admin", "/admin"),
            (
                "/directory?q=énergie&theme=digital",
                "/directory?q=%C3%A9nergie&theme=digital",
            ),
            ("/poles/a#events", "/poles/a#events"),
            ("/a/../b", "/b"),
            ("/a b", "/a%20b"),
        ] {
            assert_eq!(local_target(given).as_deref(), Some(expected), "{given}");
        }
        for refused in [
            "",
            "admin",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example/",
            "/\t/evil.example/",
            "/\n/evil.example/",
            "/\r/evil.example",
            "/\0",
            "/\u{7f}",
            "/.//evil.example/",
            "/./\\evil.example/",
            "\\/evil.example/",
            "javascript:alert(1)",
        ] {
            assert_eq!(local_target(refused), None, "{refused:?}");
        }
    }
}
