//! Cookies and the sign-in sessions of the administration: a random cookie whose hash is
//! stored, and the anti-forgery token every form carries.
//!
//! Every page reads the session (the layout says who is signed in), so it lives below both
//! the public pages and the administration, and uses neither: the administration opens and
//! closes sessions with what is here.

use axum::http::{HeaderMap, header};
use base64::Engine;
use rand::RngCore;

use crate::auth::hash_token;
use crate::store::SessionRecord;
use crate::web::AppState;

/// The session cookie of the administration.
pub const SESSION_COOKIE: &str = "maillage_session";

/// A cookie's value from the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.trim().to_owned())
        })
}

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The session of this request's cookie, if it is live.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Option<SessionRecord> {
    let id = cookie(headers, SESSION_COOKIE)?;
    if id.is_empty() || id.len() > 100 {
        return None;
    }
    match state.store.session(&hash_token(&id)).await {
        Ok(session) => session,
        Err(e) => {
            tracing::warn!(error = %e, "session unreadable");
            None
        }
    }
}

/// `; Secure` when the instance is served over https: its cookies then never travel in clear.
pub fn secure(state: &AppState) -> &'static str {
    if state.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// The `Set-Cookie` value of a session: `Secure` when the instance is served over https.
pub fn session_cookie(state: &AppState, value: &str, max_age_secs: i64) -> String {
    let secure = secure(state);
    format!(
        "{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}"
    )
}

/// The `Set-Cookie` value of the sign-in form's anti-forgery token, `Secure` like a session's.
pub fn login_csrf_cookie(state: &AppState, name: &str, value: &str) -> String {
    let secure = secure(state);
    format!("{name}={value}; Path=/admin/login; HttpOnly; SameSite=Strict; Max-Age=3600{secure}")
}

/// Compares in constant time, so that a token cannot be guessed byte by byte from timings.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
