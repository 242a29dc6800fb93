//! The inbox part of the default mode: signed `Like` activities posted to the server's
//! shared inbox, verified and stored; signed beforehand, so that only the server's work is
//! timed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime};

use maillage::federation::signatures::{private_key, sign_request};
use maillage::store::{NewRemoteActor, Store};

use crate::BenchResult;

/// Inbox activities sent in the inbox part, and how many at once.
pub(crate) const INBOX_ACTIVITIES: usize = 6_000;
pub(crate) const INBOX_CONCURRENCY: usize = 32;
/// Remote actors signing those activities.
pub(crate) const SENDERS: usize = 20;

/// A signed `Like` ready to post.
pub(crate) struct SignedPost {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Remote actors known to the instance, with the private keys they sign with.
pub(crate) async fn senders(
    store: &Store,
) -> BenchResult<Vec<(String, maillage::federation::signatures::SigningKey)>> {
    let mut senders = Vec::with_capacity(SENDERS);
    for n in 0..SENDERS {
        let pair = activitypub_federation::http_signatures::generate_actor_keypair()?;
        let ap_id = format!("http://127.0.0.{}:9/users/s{n}", 2 + n % 200);
        store
            .upsert_remote_actor(&NewRemoteActor {
                ap_id: ap_id.clone(),
                kind: "Person".into(),
                username: Some(format!("s{n}")),
                name: None,
                domain: format!("127.0.0.{}:9", 2 + n % 200),
                inbox: format!("{ap_id}/inbox"),
                shared_inbox: None,
                key_id: Some(format!("{ap_id}#main-key")),
                public_key_pem: Some(pair.public_key),
                url: None,
            })
            .await?;
        senders.push((ap_id, private_key(&pair.private_key)?));
    }
    Ok(senders)
}

/// Posts signed `Like`s (signed beforehand, so that only the server's work is timed).
pub(crate) async fn inbox_run(
    client: &reqwest::Client,
    base: &str,
    object: &str,
    senders: &[(String, maillage::federation::signatures::SigningKey)],
) -> BenchResult<f64> {
    let url = url::Url::parse(&format!("{base}/inbox"))?;
    let mut posts = Vec::with_capacity(INBOX_ACTIVITIES);
    for n in 0..INBOX_ACTIVITIES {
        let (actor, key) = &senders[n % senders.len()];
        let body = serde_json::to_vec(&serde_json::json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{actor}/likes/{n}"),
            "type": "Like",
            "actor": actor,
            "object": object,
        }))?;
        let headers = sign_request(
            &url,
            Some(&body),
            &format!("{actor}#main-key"),
            key,
            SystemTime::now(),
        )?;
        posts.push(SignedPost {
            headers: headers.into_iter().filter(|(k, _)| k != "host").collect(),
            body,
        });
    }
    let posts = Arc::new(posts);
    let next = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..INBOX_CONCURRENCY {
        let (posts, next, accepted, client, url) = (
            posts.clone(),
            next.clone(),
            accepted.clone(),
            client.clone(),
            url.clone(),
        );
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                let Some(post) = posts.get(n) else { break };
                let mut request = client
                    .post(url.clone())
                    .header("content-type", "application/activity+json")
                    .body(post.body.clone());
                for (name, value) in &post.headers {
                    request = request.header(name, value);
                }
                if let Ok(r) = request.send().await
                    && r.status() == reqwest::StatusCode::ACCEPTED
                {
                    accepted.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let seconds = start.elapsed().as_secs_f64();
    let accepted = accepted.load(Ordering::SeqCst);
    if accepted != INBOX_ACTIVITIES {
        return Err(
            format!("only {accepted} of {INBOX_ACTIVITIES} activities were accepted").into(),
        );
    }
    Ok(accepted as f64 / seconds)
}
