//! `maillage-bench signatures`: how long checking one inbox request's signature takes, the
//! way the server checks it (`federation::signatures::verify`: `ring`) and the way
//! activitypub_federation's `verify_signature` does (the `rsa` crate). That function is
//! private to the crate, so its steps are written out here as it makes them: the same
//! header normalisation, the key read from its PEM, the signing string hashed and verified
//! with `rsa`, and the body's digest compared.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use base64::Engine;
use maillage::federation::signatures::{SignedRequest, private_key, sign_request, verify};
use rsa::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};

use crate::BenchResult;

/// Verifications timed per way, after as many to warm up.
const ROUNDS: u32 = 2_000;

pub(crate) fn run() -> BenchResult<()> {
    let pair = activitypub_federation::http_signatures::generate_actor_keypair()?;
    let url = url::Url::parse("https://maillage.example/inbox")?;
    let body = serde_json::to_vec(&serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://a.example/likes/1",
        "type": "Like",
        "actor": "https://a.example/users/a",
        "object": "https://maillage.example/projects/1",
    }))?;
    let key = private_key(&pair.private_key)?;
    let headers = sign_request(
        &url,
        Some(&body),
        "https://a.example/users/a#main-key",
        &key,
        SystemTime::now(),
    )?;
    let request = SignedRequest {
        method: "POST",
        path_and_query: "/inbox",
        headers: headers.clone(),
        body: Some(&body),
    };

    println!(
        "Signature verification of one signed inbox POST (RSA-2048, SHA-256), {ROUNDS} times each, one core:"
    );
    let ours = time(|| verify(&request, &pair.public_key, SystemTime::now()).is_ok())?;
    println!(
        "  ours (ring), whole check:                    {:7.1} µs",
        ours
    );
    let theirs = time(|| theirs(&headers, &body, &pair.public_key))?;
    println!(
        "  activitypub_federation's steps (rsa crate):  {:7.1} µs ({:.1}× ours)",
        theirs,
        theirs / ours
    );

    // The RSA operation alone, the key read once.
    let unverified = http_signature_normalization::Config::new()
        .mastodon_compat()
        .require_digest()
        .begin_verify("POST", "/inbox", headers.clone())?;
    let message = unverified.signing_string().to_owned();
    let signature = base64::engine::general_purpose::STANDARD.decode(unverified.signature())?;
    let public = rsa::RsaPublicKey::from_public_key_pem(&pair.public_key)?;
    let der = rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_der(&public)?;
    let ring_key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        der.as_bytes().to_vec(),
    );
    let ring_alone = time(|| ring_key.verify(message.as_bytes(), &signature).is_ok())?;
    let rsa_alone = time(|| {
        public
            .verify(
                rsa::Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(message.as_bytes()),
                &signature,
            )
            .is_ok()
    })?;
    println!(
        "  the RSA verification alone, key read once: ring {ring_alone:.1} µs, rsa {rsa_alone:.1} µs ({:.1}×)",
        rsa_alone / ring_alone
    );
    Ok(())
}

/// What activitypub_federation's `verify_signature` and `verify_body_hash` do for a POST.
fn theirs(headers: &BTreeMap<String, String>, body: &[u8], public_key_pem: &str) -> bool {
    let config = http_signature_normalization::Config::new()
        .set_expiration(std::time::Duration::from_secs(3600))
        .require_digest();
    let Ok(unverified) = config.begin_verify("POST", "/inbox", headers.clone()) else {
        return false;
    };
    let verified = unverified.verify(|signature, signing_string| {
        let Ok(key) = rsa::RsaPublicKey::from_public_key_pem(public_key_pem) else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(signature) else {
            return false;
        };
        key.verify(
            rsa::Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(signing_string.as_bytes()),
            &decoded,
        )
        .is_ok()
    });
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body));
    verified
        && headers.get("digest").is_some_and(|d| {
            d.split(',')
                .any(|p| p.split_once('=').is_some_and(|(_, v)| v == digest))
        })
}

/// Mean microseconds per call of `check`, which must succeed every time.
fn time(mut check: impl FnMut() -> bool) -> BenchResult<f64> {
    for _ in 0..ROUNDS {
        if !check() {
            return Err("a signature did not verify".into());
        }
    }
    let start = Instant::now();
    for _ in 0..ROUNDS {
        if !check() {
            return Err("a signature did not verify".into());
        }
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS))
}
