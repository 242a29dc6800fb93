//! Passwords and API tokens: only hashes are stored.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The visible start of every token, so a leaked one is easy to recognise in logs and scanners.
pub const TOKEN_PREFIX: &str = "mlg_";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the password must be at least 12 characters long")]
    WeakPassword,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.chars().count() < 12 {
        return Err(AuthError::WeakPassword);
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checks a sign-in's password against the person's hash or, when there is no such person
/// or no usable hash, against a hash of nothing anyone can type, so that both take as long:
/// the time of an answer must not tell which user names exist.
pub fn verify_sign_in(password: &str, stored_hash: Option<&str>) -> bool {
    let usable = stored_hash.filter(|hash| PasswordHash::new(hash).is_ok());
    match usable {
        Some(hash) => verify_password(password, hash),
        None => {
            // The result is thrown away: only its cost matters.
            let _ = verify_password(password, dummy_hash());
            false
        }
    }
}

/// A hash made with the same parameters as every stored one, of a random password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let password = hex::encode(bytes);
        hash_password(&password).unwrap_or_else(|e| {
            // Cannot happen with a 48-character password; verifying against an unparsable
            // hash would only be faster, never let anyone in.
            tracing::error!(error = %e, "cannot make the stand-in password hash");
            String::new()
        })
    })
}

/// A freshly issued token: shown once, then only its hash remains.
pub struct NewToken {
    pub token: String,
    pub prefix: String,
    pub hash: String,
}

pub fn new_token() -> NewToken {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    NewToken {
        prefix: token.chars().take(TOKEN_PREFIX.len() + 6).collect(),
        hash: hash_token(&token),
        token,
    }
}

/// Tokens carry 256 random bits, so a fast hash is enough: no one can guess them offline.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_weak_ones_are_refused() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(!verify_password("anything", "not a hash"));
        assert!(matches!(
            hash_password("short"),
            Err(AuthError::WeakPassword)
        ));
    }

    #[test]
    fn sign_ins_without_a_usable_hash_are_refused() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(verify_sign_in("correct horse battery", Some(&hash)));
        assert!(!verify_sign_in("wrong horse battery", Some(&hash)));
        assert!(!verify_sign_in("correct horse battery", None));
        assert!(!verify_sign_in("", Some("")));
        assert!(!verify_sign_in("anything", Some("not a hash")));
        assert!(dummy_hash().starts_with("$argon2"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a.token, b.token);
        assert!(a.token.starts_with(TOKEN_PREFIX) && a.token.len() > 40);
        assert_eq!(a.hash, hash_token(&a.token));
        assert!(a.token.starts_with(&a.prefix));
    }
}
