//! The inbox part of the default mode: signed `Like` activities posted to the server's
//! shared inbox, verified and stored; signed beforehand, so that only the server's work is
//! timed. The senders and the signing serve the soak too.

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

/// A signed activity ready to post.
pub(crate) struct SignedPost {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A remote actor's id and the private key it signs with.
pub(crate) type Sender = (String, maillage::federation::signatures::SigningKey);

impl SignedPost {
    /// `activity` signed by `actor` for a POST to `url`, dated now.
    pub(crate) fn sign(
        url: &url::Url,
        (actor, key): &Sender,
        activity: &serde_json::Value,
    ) -> BenchResult<SignedPost> {
        let body = serde_json::to_vec(activity)?;
        let headers = sign_request(
            url,
            Some(&body),
            &format!("{actor}#main-key"),
            key,
            SystemTime::now(),
        )?;
        Ok(SignedPost {
            headers: headers.into_iter().filter(|(k, _)| k != "host").collect(),
            body,
        })
    }

    /// The POST of this activity to `url`, ready to send.
    pub(crate) fn request(
        &self,
        client: &reqwest::Client,
        url: &url::Url,
    ) -> reqwest::RequestBuilder {
        let mut request = client
            .post(url.clone())
            .header("content-type", "application/activity+json")
            .body(self.body.clone());
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request
    }
}

/// Remote actors known to the instance, with the private keys they sign with.
pub(crate) async fn senders(store: &Store) -> BenchResult<Vec<Sender>> {
    let hosts: Vec<String> = (0..SENDERS)
        .map(|n| format!("127.0.0.{}:9", 2 + n % 200))
        .collect();
    senders_at(store, &hosts).await
}

/// One remote actor per host (`127.0.0.1:PORT`), `http://HOST/users/sN`, known to the
/// instance with its public key, and the private key it signs with.
pub(crate) async fn senders_at(store: &Store, hosts: &[String]) -> BenchResult<Vec<Sender>> {
    let mut senders = Vec::with_capacity(hosts.len());
    for (n, host) in hosts.iter().enumerate() {
        let pair = activitypub_federation::http_signatures::generate_actor_keypair()?;
        let ap_id = format!("http://{host}/users/s{n}");
        store
            .upsert_remote_actor(&NewRemoteActor {
                ap_id: ap_id.clone(),
                kind: "Person".into(),
                username: Some(format!("s{n}")),
                name: None,
                domain: host.clone(),
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
    senders: &[Sender],
) -> BenchResult<f64> {
    let url = url::Url::parse(&format!("{base}/inbox"))?;
    let mut posts = Vec::with_capacity(INBOX_ACTIVITIES);
    for n in 0..INBOX_ACTIVITIES {
        let sender = &senders[n % senders.len()];
        let activity = serde_json::json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/likes/{n}", sender.0),
            "type": "Like",
            "actor": sender.0,
            "object": object,
        });
        posts.push(SignedPost::sign(&url, sender, &activity)?);
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
                if let Ok(r) = post.request(&client, &url).send().await
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
