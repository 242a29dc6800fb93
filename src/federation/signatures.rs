//! Verifying the HTTP signatures (draft-cavage, as Mastodon sends them) of incoming requests.
//!
//! A request is accepted only if its `Signature` covers `(request-target)`, `host` and
//! `date` (and `digest` for a body), the signed `host` is this instance's (checked by the
//! inbox, which knows it), the algorithm is `rsa-sha256` or `hs2019`, the `Date`
//! is within an hour of now, the `Digest` equals the SHA-256 of the body, and the RSA
//! signature verifies with the key of the `keyId`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use base64::Engine;
use http_signature_normalization::Config;
use http_signature_normalization::verify::Algorithm;
use rsa::RsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};

/// How far a request's `Date` may be from now, either way.
pub const DATE_WINDOW: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed (no Signature header)")]
    Missing,
    #[error("the Signature header cannot be used: {0}")]
    Malformed(String),
    #[error("the signature algorithm `{0}` is not supported; use rsa-sha256 or hs2019")]
    Algorithm(String),
    #[error("the Date header is missing or not an HTTP date")]
    NoDate,
    #[error("the Date header is more than an hour away from now")]
    DateOutOfWindow,
    #[error("a request with a body needs a Digest header")]
    NoDigest,
    #[error("the Digest header is not covered by the signature")]
    DigestNotSigned,
    #[error("the Digest header does not match the body")]
    DigestMismatch,
    #[error("the signing key cannot be read: {0}")]
    BadKey(String),
    #[error("the signature does not verify with the key `{0}`")]
    Invalid(String),
    #[error("the request is signed for the host `{signed}`, not for this instance (`{ours}`)")]
    OtherHost { signed: String, ours: String },
}

/// The parts of a request a signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path_and_query: &'a str,
    /// Header names and values; repeated headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    pub body: Option<&'a [u8]>,
}

/// Collects headers the way signatures need them: lower-case names, repeated values joined.
pub fn header_map(headers: &axum::http::HeaderMap) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        map.entry(name.as_str().to_ascii_lowercase())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    map
}

fn config(has_body: bool) -> Config {
    let config = Config::new().mastodon_compat().set_expiration(DATE_WINDOW);
    if has_body {
        config.require_digest()
    } else {
        config
    }
}

/// The `keyId` of a request's signature: whose key to fetch before verifying.
pub fn key_id(request: &SignedRequest<'_>) -> Result<String, SignatureError> {
    let unverified = begin(request)?;
    Ok(unverified.key_id().to_owned())
}

fn begin(
    request: &SignedRequest<'_>,
) -> Result<http_signature_normalization::verify::Unverified, SignatureError> {
    if !request.headers.contains_key("signature") && !request.headers.contains_key("authorization")
    {
        return Err(SignatureError::Missing);
    }
    config(request.body.is_some())
        .begin_verify(
            request.method,
            request.path_and_query,
            request.headers.clone(),
        )
        .map_err(|e| SignatureError::Malformed(e.to_string()))
}

/// Checks everything but the key; then the signature with `public_key_pem`.
pub fn verify(
    request: &SignedRequest<'_>,
    public_key_pem: &str,
    now: SystemTime,
) -> Result<(), SignatureError> {
    let unverified = begin(request)?;
    match unverified.algorithm() {
        None | Some(Algorithm::Hs2019) => {}
        Some(Algorithm::Deprecated(d)) if d.to_string() == "rsa-sha256" => {}
        Some(other) => return Err(SignatureError::Algorithm(other.to_string())),
    }
    let date = request
        .headers
        .get("date")
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .ok_or(SignatureError::NoDate)?;
    let distance = now
        .duration_since(date)
        .or_else(|e| Ok::<_, SignatureError>(e.duration()))?;
    if distance > DATE_WINDOW {
        return Err(SignatureError::DateOutOfWindow);
    }
    if let Some(body) = request.body {
        let digest = request
            .headers
            .get("digest")
            .ok_or(SignatureError::NoDigest)?;
        if !unverified
            .signing_string()
            .lines()
            .any(|l| l.starts_with("digest:"))
        {
            return Err(SignatureError::DigestNotSigned);
        }
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body));
        let matches = digest.split(',').any(|part| {
            part.trim().split_once('=').is_some_and(|(algo, value)| {
                algo.eq_ignore_ascii_case("SHA-256") && value == expected
            })
        });
        if !matches {
            return Err(SignatureError::DigestMismatch);
        }
    }
    let key = RsaPublicKey::from_public_key_pem(public_key_pem.trim())
        .or_else(|_| rsa::pkcs1::DecodeRsaPublicKey::from_pkcs1_pem(public_key_pem.trim()))
        .map_err(|e| SignatureError::BadKey(e.to_string()))?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(unverified.signature())
        .map_err(|_| SignatureError::Malformed("the signature is not base64".into()))?;
    let der = rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_der(&key)
        .map_err(|e| SignatureError::BadKey(e.to_string()))?;
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        der.as_bytes(),
    )
    .verify(unverified.signing_string().as_bytes(), &signature)
    .map_err(|_| SignatureError::Invalid(unverified.key_id().to_owned()))
}

/// An actor's private key, read once to sign many requests.
pub struct SigningKey(ring::signature::RsaKeyPair);

impl SigningKey {
    /// RSASSA-PKCS1-v1_5 with SHA-256 of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignatureError> {
        let mut signature = vec![0; self.0.public().modulus_len()];
        self.0
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| SignatureError::BadKey("signing failed".into()))?;
        Ok(signature)
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(…)")
    }
}

/// Reads an actor's private key (PKCS#8 PEM) once, to sign many requests with it.
pub fn private_key(private_key_pem: &str) -> Result<SigningKey, SignatureError> {
    use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(private_key_pem)
        .map_err(|e| SignatureError::BadKey(e.to_string()))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| SignatureError::BadKey(e.to_string()))?;
    ring::signature::RsaKeyPair::from_pkcs8(der.as_bytes())
        .map(SigningKey)
        .map_err(|e| SignatureError::BadKey(e.to_string()))
}

/// The headers that sign a POST of `body` to `url` with the actor's key: `Host`, `Date`,
/// `Digest` and a `Signature` covering them and the request target, as Mastodon expects.
pub fn sign_post(
    url: &url::Url,
    body: &[u8],
    key_id: &str,
    private_key_pem: &str,
    now: SystemTime,
) -> Result<BTreeMap<String, String>, SignatureError> {
    sign_request(url, Some(body), key_id, &private_key(private_key_pem)?, now)
}

/// The `Digest` header of a body: `SHA-256=` and the base64 of its hash.
pub fn body_digest(body: &[u8]) -> String {
    format!(
        "SHA-256={}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
    )
}

/// The headers that sign a request to `url`: a POST when there is a body (with its
/// `Digest`), a GET otherwise.
pub fn sign_request(
    url: &url::Url,
    body: Option<&[u8]>,
    key_id: &str,
    key: &SigningKey,
    now: SystemTime,
) -> Result<BTreeMap<String, String>, SignatureError> {
    let digest = body.map(body_digest);
    sign_with_digest(url, digest.as_deref(), key_id, key, now)
}

/// [`sign_request`] for a POST whose body's `Digest` header (see [`body_digest`]) was
/// computed already, as when one activity goes to many inboxes; a GET without one.
pub fn sign_with_digest(
    url: &url::Url,
    digest: Option<&str>,
    key_id: &str,
    key: &SigningKey,
    now: SystemTime,
) -> Result<BTreeMap<String, String>, SignatureError> {
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let date = httpdate::fmt_http_date(now);
    let mut headers = BTreeMap::new();
    let (signing_string, covered) = match digest {
        Some(digest) => {
            let signing_string = format!(
                "(request-target): post {target}\nhost: {host}\ndate: {date}\ndigest: {digest}"
            );
            headers.insert("digest".to_owned(), digest.to_owned());
            (signing_string, "(request-target) host date digest")
        }
        None => (
            format!("(request-target): get {target}\nhost: {host}\ndate: {date}"),
            "(request-target) host date",
        ),
    };
    let signature = key.sign(signing_string.as_bytes())?;
    headers.insert("host".to_owned(), host);
    headers.insert("date".to_owned(), date);
    headers.insert(
        "signature".to_owned(),
        format!(
            "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{covered}\",signature=\"{}\"",
            base64::engine::general_purpose::STANDARD.encode(signature)
        ),
    );
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::RsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;

    struct Keys {
        private: RsaPrivateKey,
        public_pem: String,
    }

    fn keys() -> Keys {
        let pair = activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
        Keys {
            private: RsaPrivateKey::from_pkcs8_pem(&pair.private_key).expect("private key"),
            public_pem: pair.public_key,
        }
    }

    /// Signs a POST as Mastodon does: (request-target) host date digest, rsa-sha256.
    fn signed_post(
        keys: &Keys,
        body: &[u8],
        date: SystemTime,
        signed_headers: &str,
        algorithm: &str,
    ) -> BTreeMap<String, String> {
        let digest = format!(
            "SHA-256={}",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
        );
        let date = httpdate::fmt_http_date(date);
        let mut headers = BTreeMap::new();
        headers.insert("host".to_owned(), "ptce.example".to_owned());
        headers.insert("date".to_owned(), date.clone());
        headers.insert("digest".to_owned(), digest.clone());
        headers.insert(
            "content-type".to_owned(),
            "application/activity+json".to_owned(),
        );
        let lines: Vec<String> = signed_headers
            .split(' ')
            .map(|h| match h {
                "(request-target)" => "(request-target): post /inbox".to_owned(),
                "host" => "host: ptce.example".to_owned(),
                "date" => format!("date: {date}"),
                "digest" => format!("digest: {digest}"),
                other => format!("{other}: ?"),
            })
            .collect();
        let hashed = Sha256::digest(lines.join("\n").as_bytes());
        let signature = keys
            .private
            .sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &hashed)
            .expect("sign");
        headers.insert(
            "signature".to_owned(),
            format!(
                "keyId=\"https://mastodon.example/users/a#main-key\",algorithm=\"{algorithm}\",headers=\"{signed_headers}\",signature=\"{}\"",
                base64::engine::general_purpose::STANDARD.encode(signature)
            ),
        );
        headers
    }

    fn request<'a>(headers: BTreeMap<String, String>, body: &'a [u8]) -> SignedRequest<'a> {
        SignedRequest {
            method: "POST",
            path_and_query: "/inbox",
            headers,
            body: Some(body),
        }
    }

    const ALL: &str = "(request-target) host date digest";

    #[test]
    fn a_mastodon_signature_verifies_and_tampering_does_not() {
        let keys = keys();
        let other = self::keys();
        let body = br#"{"type":"Follow"}"#;
        let now = SystemTime::now();

        let ok = request(signed_post(&keys, body, now, ALL, "rsa-sha256"), body);
        assert_eq!(
            key_id(&ok).expect("key id"),
            "https://mastodon.example/users/a#main-key"
        );
        assert_eq!(verify(&ok, &keys.public_pem, now), Ok(()));
        let hs2019 = request(signed_post(&keys, body, now, ALL, "hs2019"), body);
        assert_eq!(verify(&hs2019, &keys.public_pem, now), Ok(()));

        assert!(
            matches!(
                verify(&ok, &other.public_pem, now),
                Err(SignatureError::Invalid(_))
            ),
            "another key"
        );
        let tampered = request(
            signed_post(&keys, body, now, ALL, "rsa-sha256"),
            br#"{"type":"Delete"}"#,
        );
        assert_eq!(
            verify(&tampered, &keys.public_pem, now),
            Err(SignatureError::DigestMismatch)
        );

        let unsigned_digest = request(
            signed_post(&keys, body, now, "(request-target) host date", "rsa-sha256"),
            body,
        );
        assert!(
            verify(&unsigned_digest, &keys.public_pem, now).is_err(),
            "digest must be signed"
        );

        let mut no_digest = signed_post(&keys, body, now, ALL, "rsa-sha256");
        no_digest.remove("digest");
        assert!(verify(&request(no_digest, body), &keys.public_pem, now).is_err());

        let stale = request(
            signed_post(
                &keys,
                body,
                now - Duration::from_secs(7200),
                ALL,
                "rsa-sha256",
            ),
            body,
        );
        assert!(
            verify(&stale, &keys.public_pem, now).is_err(),
            "two hours old"
        );
        let future = request(
            signed_post(
                &keys,
                body,
                now + Duration::from_secs(7200),
                ALL,
                "rsa-sha256",
            ),
            body,
        );
        assert_eq!(
            verify(&future, &keys.public_pem, now),
            Err(SignatureError::DateOutOfWindow)
        );

        let mut changed_host = signed_post(&keys, body, now, ALL, "rsa-sha256");
        changed_host.insert("host".to_owned(), "evil.example".to_owned());
        assert!(matches!(
            verify(&request(changed_host, body), &keys.public_pem, now),
            Err(SignatureError::Invalid(_))
        ));

        let dsa = request(signed_post(&keys, body, now, ALL, "dsa-sha1"), body);
        assert!(verify(&dsa, &keys.public_pem, now).is_err());

        let mut unsigned = signed_post(&keys, body, now, ALL, "rsa-sha256");
        unsigned.remove("signature");
        assert_eq!(
            verify(&request(unsigned, body), &keys.public_pem, now),
            Err(SignatureError::Missing)
        );

        let mut garbage = signed_post(&keys, body, now, ALL, "rsa-sha256");
        garbage.insert("signature".to_owned(), "this is not a signature".to_owned());
        assert!(matches!(
            verify(&request(garbage, body), &keys.public_pem, now),
            Err(SignatureError::Malformed(_))
        ));

        assert!(matches!(
            verify(&ok, "not a key", now),
            Err(SignatureError::BadKey(_))
        ));
    }

    #[test]
    fn what_we_sign_verifies() {
        let pair = activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
        let url = url::Url::parse("https://mastodon.example:8443/users/a/inbox?x=1").expect("url");
        let body = br#"{"type":"Accept"}"#;
        let now = SystemTime::now();
        let headers = sign_post(
            &url,
            body,
            "https://ptce.example/poles/p#main-key",
            &pair.private_key,
            now,
        )
        .expect("sign");
        assert_eq!(headers["host"], "mastodon.example:8443");
        let request = SignedRequest {
            method: "POST",
            path_and_query: "/users/a/inbox?x=1",
            headers: headers.clone(),
            body: Some(body),
        };
        assert_eq!(
            key_id(&request).expect("key id"),
            "https://ptce.example/poles/p#main-key"
        );
        assert_eq!(verify(&request, &pair.public_key, now), Ok(()));
        let elsewhere = SignedRequest {
            method: "POST",
            path_and_query: "/inbox",
            headers,
            body: Some(body),
        };
        assert!(
            verify(&elsewhere, &pair.public_key, now).is_err(),
            "bound to its target"
        );
        assert!(matches!(
            sign_post(&url, body, "k", "not a key", now),
            Err(SignatureError::BadKey(_))
        ));
    }
}
