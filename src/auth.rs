//! Passwords and API tokens: only hashes are stored.

use argon2::password_hash::{
    Output, PasswordHash, PasswordHasher, PasswordVerifier, Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// The working memory of password checks, kept from one check to the next by a thread that
/// makes them (19 MiB with the default parameters): allocated once, it is never given back
/// to the allocator in pieces that other allocations would split.
#[derive(Default)]
pub struct CheckMemory(Vec<Block>);

/// The most memory a stored hash may ask of a check: a hash edited by hand to ask for
/// gigabytes is refused, not computed.
const MAX_CHECK_KIB: u32 = 64 * 1024;

/// Checks a sign-in's password against the person's hash or, when there is no such person
/// or no usable hash, against a hash of nothing anyone can type, so that both take as long:
/// the time of an answer must not tell which user names exist.
pub fn verify_sign_in(password: &str, stored_hash: Option<&str>, memory: &mut CheckMemory) -> bool {
    match stored_hash.and_then(|hash| PasswordHash::new(hash).ok()) {
        Some(hash) => verify_in(password, &hash, memory),
        None => {
            // The result is thrown away: only its cost matters.
            if let Ok(dummy) = PasswordHash::new(dummy_hash()) {
                let _ = verify_in(password, &dummy, memory);
            }
            false
        }
    }
}

/// What [`verify_password`] does, in `memory` rather than in memory of its own.
fn verify_in(password: &str, hash: &PasswordHash<'_>, memory: &mut CheckMemory) -> bool {
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(hash) else {
        return false;
    };
    if params.m_cost() > MAX_CHECK_KIB {
        tracing::error!(
            kib = params.m_cost(),
            "a stored password hash asks for too much memory"
        );
        return false;
    }
    let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.0.len() < blocks {
        memory.0.resize(blocks, Block::default());
    }
    let mut computed = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params);
    if argon2
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut computed,
            &mut memory.0[..blocks],
        )
        .is_err()
    {
        return false;
    }
    // `Output` compares in constant time.
    Output::new(&computed).is_ok_and(|computed| computed == expected)
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
    fn sign_ins_check_as_the_hash_says_in_memory_kept_between_checks() {
        let mut memory = CheckMemory::default();
        let hash = hash_password("correct horse battery").unwrap();
        assert!(verify_sign_in(
            "correct horse battery",
            Some(&hash),
            &mut memory
        ));
        assert_eq!(memory.0.len() * 1024, 19 * 1024 * 1024, "19 MiB, kept");
        let kept = memory.0.as_ptr();
        assert!(!verify_sign_in(
            "wrong horse battery",
            Some(&hash),
            &mut memory
        ));
        assert_eq!(memory.0.as_ptr(), kept, "the same memory again");
        // Hashes made with other parameters, as a `PasswordHash` records them, verify too.
        let other = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(8 * 1024, 3, 1, Some(24)).unwrap(),
        )
        .hash_password(
            b"other horse battery",
            &SaltString::encode_b64(b"sixteen bytes!!!").unwrap(),
        )
        .unwrap()
        .to_string();
        assert!(verify_password("other horse battery", &other));
        assert!(verify_sign_in(
            "other horse battery",
            Some(&other),
            &mut memory
        ));
        assert!(!verify_sign_in(
            "other horse batterz",
            Some(&other),
            &mut memory
        ));
        // A hash edited to ask for a gigabyte is refused without being computed.
        let greedy = hash.replace("m=19456", "m=1048576");
        assert_ne!(greedy, hash);
        assert!(!verify_sign_in(
            "correct horse battery",
            Some(&greedy),
            &mut memory
        ));
        assert_eq!(memory.0.as_ptr(), kept, "nothing more taken");
    }

    #[test]
    fn sign_ins_without_a_usable_hash_are_refused_after_a_check() {
        let mut memory = CheckMemory::default();
        assert!(!verify_sign_in("correct horse battery", None, &mut memory));
        assert_eq!(
            memory.0.len() * 1024,
            19 * 1024 * 1024,
            "the stand-in hash was checked"
        );
        assert!(!verify_sign_in("", Some(""), &mut memory));
        assert!(!verify_sign_in("anything", Some("not a hash"), &mut memory));
        assert!(dummy_hash().starts_with("$argon2id$"));
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
