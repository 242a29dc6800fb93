//! Stand-ins for other servers on loopback: peers that take every delivery and count it,
//! and black holes that take connections and never answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use serde_json::Value;
use tokio::task::JoinHandle;

/// One delivery as a peer saw it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Received {
    /// `port path` of the inbox.
    pub inbox: String,
    /// The activity's `id`.
    pub activity: String,
    /// The `name` of its object (the title of a project).
    pub title: String,
}

/// Peers on loopback ports answering `202 Accepted` to any POST, each delivery counted.
pub struct Peers {
    pub ports: Vec<u16>,
    received: Arc<Mutex<HashMap<Received, usize>>>,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Clone)]
struct PeerState {
    port: u16,
    received: Arc<Mutex<HashMap<Received, usize>>>,
    /// How long each answer takes, counted from the moment the delivery is seen.
    delay: std::time::Duration,
}

async fn receive(State(peer): State<PeerState>, uri: Uri, body: Bytes) -> StatusCode {
    let Ok(activity) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let seen = Received {
        inbox: format!("{} {}", peer.port, uri.path()),
        activity: activity["id"].as_str().unwrap_or_default().to_owned(),
        title: activity["object"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    if let Ok(mut received) = peer.received.lock() {
        *received.entry(seen).or_insert(0) += 1;
    }
    if !peer.delay.is_zero() {
        tokio::time::sleep(peer.delay).await;
    }
    StatusCode::ACCEPTED
}

impl Peers {
    pub async fn start(count: usize) -> Peers {
        Peers::on(&vec![0; count]).await
    }

    /// Peers that take `delay` to answer each delivery (seen, and counted, at once).
    pub async fn slow(count: usize, delay: std::time::Duration) -> Peers {
        Peers::serve(&vec![0; count], delay).await
    }

    /// Peers on the given ports (0: any free port).
    pub async fn on(wanted: &[u16]) -> Peers {
        Peers::serve(wanted, std::time::Duration::ZERO).await
    }

    async fn serve(wanted: &[u16], delay: std::time::Duration) -> Peers {
        let received = Arc::new(Mutex::new(HashMap::new()));
        let mut ports = Vec::with_capacity(wanted.len());
        let mut tasks = Vec::with_capacity(wanted.len());
        for wanted in wanted {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", *wanted))
                .await
                .expect("bind a peer");
            let port = listener.local_addr().expect("address").port();
            let app = axum::Router::new()
                .fallback(axum::routing::post(receive))
                .with_state(PeerState {
                    port,
                    received: received.clone(),
                    delay,
                });
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }));
            ports.push(port);
        }
        Peers {
            ports,
            received,
            tasks,
        }
    }

    /// Every delivery seen, with how many times.
    pub fn received(&self) -> HashMap<Received, usize> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Deliveries seen, duplicates included.
    pub fn total(&self) -> usize {
        self.received().values().sum()
    }

    /// Distinct deliveries seen.
    pub fn distinct(&self) -> usize {
        self.received().len()
    }

    /// Deliveries seen more than once, counted once for each time after the first.
    pub fn duplicates(&self) -> usize {
        self.received().values().map(|n| n - 1).sum()
    }

    /// The inboxes that received the object titled `title`.
    pub fn inboxes_with(&self, title: &str) -> usize {
        self.received().keys().filter(|r| r.title == title).count()
    }
}

impl Drop for Peers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Loopback ports that take connections, read what comes and never answer, as a server
/// that hangs does. They count the connections open at once.
pub struct BlackHoles {
    pub ports: Vec<u16>,
    gauge: Arc<Gauge>,
    tasks: Vec<JoinHandle<()>>,
}

#[derive(Default)]
struct Gauge {
    open: AtomicUsize,
    most: AtomicUsize,
    accepted: AtomicUsize,
}

impl BlackHoles {
    pub async fn start(count: usize) -> BlackHoles {
        let gauge = Arc::new(Gauge::default());
        let mut ports = Vec::with_capacity(count);
        let mut tasks = Vec::with_capacity(count);
        for _ in 0..count {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind a black hole");
            ports.push(listener.local_addr().expect("address").port());
            tasks.push(tokio::spawn(swallow(listener, gauge.clone())));
        }
        BlackHoles {
            ports,
            gauge,
            tasks,
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.gauge.open.load(Ordering::SeqCst)
    }

    /// The most connections open at once since the start or the last [`BlackHoles::reset`].
    pub fn most_open(&self) -> usize {
        self.gauge.most.load(Ordering::SeqCst)
    }

    /// Connections taken since the start.
    pub fn accepted(&self) -> usize {
        self.gauge.accepted.load(Ordering::SeqCst)
    }

    /// Stops listening, the ports free again when this returns.
    pub async fn close(mut self) {
        for task in std::mem::take(&mut self.tasks) {
            task.abort();
            let _ = task.await;
        }
    }

    /// Counts the most connections open at once from now on.
    pub fn reset(&self) {
        self.gauge
            .most
            .store(self.gauge.open.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

async fn swallow(listener: tokio::net::TcpListener, gauge: Arc<Gauge>) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let gauge = gauge.clone();
        gauge.accepted.fetch_add(1, Ordering::SeqCst);
        let now = gauge.open.fetch_add(1, Ordering::SeqCst) + 1;
        gauge.most.fetch_max(now, Ordering::SeqCst);
        tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut buffer = [0u8; 4096];
            // Read until the other side gives up; never answer.
            while matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {}
            gauge.open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

impl Drop for BlackHoles {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Makes each of `inboxes` (`http://127.0.0.1:PORT/path`) a follower of the pole, as an actor
/// with that inbox and no shared inbox: one delivery per inbox.
pub async fn add_followers(
    store: &maillage::store::Store,
    pole: &maillage::store::PoleRecord,
    inboxes: impl IntoIterator<Item = String>,
) {
    for (n, inbox) in inboxes.into_iter().enumerate() {
        let url = url::Url::parse(&inbox).expect("an inbox URL");
        let domain = format!(
            "{}:{}",
            url.host_str().expect("a host"),
            url.port().expect("a port")
        );
        let actor = store
            .upsert_remote_actor(&maillage::store::NewRemoteActor {
                ap_id: format!("{inbox}/actor"),
                kind: "Person".into(),
                username: Some(format!("f{n}")),
                name: None,
                domain,
                inbox: inbox.clone(),
                shared_inbox: None,
                key_id: None,
                public_key_pem: None,
                url: None,
            })
            .await
            .expect("a remote actor");
        store
            .add_follower(
                &pole.ap_id,
                Some(pole.id),
                actor.id,
                &format!("{inbox}/follows/{n}"),
                "accepted",
            )
            .await
            .expect("a follower");
    }
}

/// A relay that subscribers reach the way Mastodon reaches one, and that does not follow
/// them back (as `pub-relay` does not): an `Application` actor on loopback whose inbox
/// keeps every activity it is sent.
pub struct StandInRelay {
    pub actor: String,
    pub key_id: String,
    pub private_key: String,
    received: Arc<Mutex<Vec<Value>>>,
    task: JoinHandle<()>,
}

impl StandInRelay {
    pub async fn start() -> StandInRelay {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind the relay");
        let base = format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("address").port()
        );
        let keys = activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
        let actor = format!("{base}/actor");
        let key_id = format!("{actor}#main-key");
        let document = serde_json::json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor,
            "type": "Application",
            "preferredUsername": "relay",
            "inbox": format!("{base}/inbox"),
            "publicKey": {"id": key_id, "owner": actor, "publicKeyPem": keys.public_key},
        });
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        let app = axum::Router::new()
            .route(
                "/actor",
                axum::routing::get(move || {
                    let document = document.clone();
                    async move {
                        (
                            [("content-type", "application/activity+json")],
                            document.to_string(),
                        )
                    }
                }),
            )
            .route(
                "/inbox",
                axum::routing::post(move |body: Bytes| {
                    let kept = kept.clone();
                    async move {
                        let Ok(activity) = serde_json::from_slice::<Value>(&body) else {
                            return StatusCode::BAD_REQUEST;
                        };
                        if let Ok(mut kept) = kept.lock() {
                            kept.push(activity);
                        }
                        StatusCode::ACCEPTED
                    }
                }),
            );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StandInRelay {
            actor,
            key_id,
            private_key: keys.private_key,
            received,
            task,
        }
    }

    /// The activities of `kind` received so far, in the order they came.
    pub fn received(&self, kind: &str) -> Vec<Value> {
        self.received
            .lock()
            .map(|r| r.iter().filter(|a| a["type"] == kind).cloned().collect())
            .unwrap_or_default()
    }
}

impl Drop for StandInRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A remote actor on a loopback port, `http://127.0.0.1:PORT/users/x`: it serves its actor
/// document with its current key (which may be changed, as a server rotating its keys does),
/// counts how often the document was fetched, and signs activities to post to an instance.
pub struct RemoteSender {
    pub id: String,
    pub key_id: String,
    keys: Arc<Mutex<activitypub_federation::http_signatures::Keypair>>,
    fetches: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl RemoteSender {
    pub async fn start() -> RemoteSender {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a remote sender");
        let port = listener.local_addr().expect("address").port();
        let id = format!("http://127.0.0.1:{port}/users/x");
        let key_id = format!("{id}#main-key");
        let keys = Arc::new(Mutex::new(new_keys()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let document = {
            let (id, key_id, keys, fetches) =
                (id.clone(), key_id.clone(), keys.clone(), fetches.clone());
            move || {
                fetches.fetch_add(1, Ordering::SeqCst);
                let pem = keys
                    .lock()
                    .map(|k| k.public_key.clone())
                    .unwrap_or_default();
                let document = serde_json::json!({
                    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                    "id": id, "type": "Person", "preferredUsername": "x",
                    "inbox": format!("{id}/inbox"),
                    "publicKey": {"id": key_id, "owner": id, "publicKeyPem": pem},
                });
                async move {
                    (
                        [("content-type", "application/activity+json")],
                        document.to_string(),
                    )
                }
            }
        };
        let app = axum::Router::new().route("/users/x", axum::routing::get(document));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RemoteSender {
            id,
            key_id,
            keys,
            fetches,
            task,
        }
    }

    /// How many times the actor document was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Replaces the actor's key, as a server rotating its keys does.
    pub fn rotate(&self) {
        if let Ok(mut keys) = self.keys.lock() {
            *keys = new_keys();
        }
    }

    /// The actor's current private key.
    pub fn private_key(&self) -> String {
        self.keys
            .lock()
            .map(|k| k.private_key.clone())
            .unwrap_or_default()
    }
}

impl Drop for RemoteSender {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn new_keys() -> activitypub_federation::http_signatures::Keypair {
    activitypub_federation::http_signatures::generate_actor_keypair().expect("a key pair")
}
