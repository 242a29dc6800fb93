//! The soak's load: readers cycling through pages, feeds and the read API; signed inbox
//! activities at a steady rate; writes through the API at a steady rate; a fan-out every
//! few seconds. Each runs until the end of the soak and records every request.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use super::record::{Outcome, Recorder};
use crate::MARK;
use crate::inbox::{Sender, SignedPost};

/// What the load works on: the instance's address, its token, and what was seeded.
pub(crate) struct Site {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
    pub(crate) token: String,
    /// The seeded poles, read and followed.
    pub(crate) poles: Vec<String>,
    /// Public ids of the seeded projects, liked and replied to.
    pub(crate) projects: Vec<String>,
    /// Ids of the seeded events.
    pub(crate) events: Vec<String>,
    /// The pole the writes go to, followed by no one.
    pub(crate) written: String,
    /// The pole whose publications fan out, followed by the stand-in instances.
    pub(crate) fanned: String,
    pub(crate) recorder: Recorder,
    pub(crate) end: Instant,
}

/// One request to read: its route pattern, its path, and whether it asks for a page.
pub(crate) struct Read {
    route: &'static str,
    path: String,
    html: bool,
}

/// Sends a request, reads its whole answer and records it under `route`; the answer's
/// body when it had the status expected.
pub(crate) async fn call(
    recorder: &Recorder,
    route: &'static str,
    request: RequestBuilder,
    expected: u16,
) -> Option<bytes::Bytes> {
    let start = Instant::now();
    let (outcome, body) = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.bytes().await {
                Ok(body) => (Outcome::Status(status), Some(body)),
                Err(e) if e.is_timeout() => (Outcome::Timeout, None),
                Err(e) => (Outcome::Failed(e.to_string()), None),
            }
        }
        Err(e) if e.is_timeout() => (Outcome::Timeout, None),
        Err(e) => (Outcome::Failed(e.to_string()), None),
    };
    recorder.record(route, start.elapsed(), &outcome, expected, || {
        body.as_ref()
            .map(|b| String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned())
            .unwrap_or_default()
    });
    match outcome {
        Outcome::Status(status) if status == expected => body,
        _ => None,
    }
}

impl Site {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An API request with the administrator's token.
    fn api(&self, method: Method, path: &str, body: Value) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .json(&body)
    }

    /// What the readers cycle through: the public pages, the feeds and the read API.
    pub(crate) fn reads(&self) -> Vec<Read> {
        let mut reads = Vec::new();
        let mut add =
            |route: &'static str, path: String, html: bool| reads.push(Read { route, path, html });
        let page = |route, path: &str| (route, path.to_owned(), true);
        let other = |route, path: &str| (route, path.to_owned(), false);
        let pole = &self.poles[0];
        let project = &self.projects[0];
        let event = &self.events[0];
        for (route, path, html) in [
            page("GET /", "/"),
            page("GET /directory", "/directory"),
            page(
                "GET /directory?q=",
                "/directory?q=coop%C3%A9ratives+%C3%A9nergie",
            ),
            page("GET /directory?q=", "/directory?q=l%C3%A9gumerie"),
            page(
                "GET /directory?theme=&kind=",
                "/directory?theme=renewable-energy&kind=project",
            ),
            page("GET /directory?region=", "/directory?region=53"),
            page("GET /directory?upcoming=", "/directory?upcoming=true"),
            page("GET /poles/{slug}", &format!("/poles/{pole}")),
            page("GET /projects/{id}", &format!("/projects/{project}")),
            page("GET /events/{id}", &format!("/events/{event}")),
            page("GET /map", "/map"),
            page("GET /statistics", "/statistics"),
            other("GET /feeds/directory.atom", "/feeds/directory.atom"),
            other("GET /feeds/directory.rss", "/feeds/directory.rss"),
            other("GET /feeds/events.ics", "/feeds/events.ics"),
            other("GET /feeds/directory.geojson", "/feeds/directory.geojson"),
            other("GET /feeds/poles.csv", "/feeds/poles.csv"),
            other("GET /feeds/members.csv", "/feeds/members.csv"),
            other(
                "GET /poles/{slug}/feed.atom",
                &format!("/poles/{pole}/feed.atom"),
            ),
            other(
                "GET /poles/{slug}/events.ics",
                &format!("/poles/{pole}/events.ics"),
            ),
            other(
                "GET /events/{id}/calendar.ics",
                &format!("/events/{event}/calendar.ics"),
            ),
            other("GET /api/v1/poles", "/api/v1/poles"),
            other("GET /api/v1/poles/{slug}", &format!("/api/v1/poles/{pole}")),
            other(
                "GET /api/v1/poles/{slug}/members",
                &format!("/api/v1/poles/{pole}/members"),
            ),
            other(
                "GET /api/v1/poles/{slug}/projects",
                &format!("/api/v1/poles/{pole}/projects"),
            ),
            other(
                "GET /api/v1/projects/{id}",
                &format!("/api/v1/projects/{project}"),
            ),
            other(
                "GET /api/v1/events/{id}",
                &format!("/api/v1/events/{event}"),
            ),
            other(
                "GET /api/v1/directory?q=",
                "/api/v1/directory?q=%C3%A9nergie&kind=project",
            ),
            other("GET /api/v1/statistics", "/api/v1/statistics"),
        ] {
            add(route, path, html);
        }
        reads
    }
}

/// One reader: the reads in turn from its own starting point, one after the other, until
/// the end.
pub(crate) async fn reader(site: Arc<Site>, reads: Arc<Vec<Read>>, first: usize) {
    let mut n = first;
    while Instant::now() < site.end {
        let read = &reads[n % reads.len()];
        let mut request = site.client.get(site.url(&read.path));
        if read.html {
            request = request.header("accept", "text/html");
        }
        call(&site.recorder, read.route, request, 200).await;
        n += 1;
    }
}

/// Runs `each` with the tick's number `per_second` times a second until the end, each in a
/// task of its own so that a slow answer does not slow the rate.
async fn steady<F, Fut>(site: &Site, per_second: f64, each: F) -> u64
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
    let mut tasks = tokio::task::JoinSet::new();
    let mut n = 0;
    loop {
        ticks.tick().await;
        if Instant::now() >= site.end {
            break;
        }
        tasks.spawn(each(n));
        n += 1;
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    n
}

/// Signed activities posted to the shared inbox at `per_second`, in turn a `Like` of a
/// seeded project, a `Create` of a reply to one, and a `Follow` of a seeded pole, each from
/// one of the senders in turn. Returns how many were sent.
pub(crate) async fn inbox(site: Arc<Site>, senders: Arc<Vec<Sender>>, per_second: f64) -> u64 {
    let Ok(url) = url::Url::parse(&site.url("/inbox")) else {
        return 0;
    };
    steady(&site.clone(), per_second, move |n| {
        let (site, senders, url) = (site.clone(), senders.clone(), url.clone());
        async move {
            let sender = &senders[n as usize % senders.len()];
            let actor = &sender.0;
            let index = (n / 3) as usize;
            let project = site.url(&format!(
                "/projects/{}",
                site.projects[index % site.projects.len()]
            ));
            let (route, activity) = match n % 3 {
                0 => (
                    "POST /inbox (Like)",
                    json!({
                        "@context": "https://www.w3.org/ns/activitystreams",
                        "id": format!("{actor}/likes/{n}"),
                        "type": "Like",
                        "actor": actor,
                        "object": project,
                    }),
                ),
                1 => (
                    "POST /inbox (Create of a reply)",
                    json!({
                        "@context": "https://www.w3.org/ns/activitystreams",
                        "id": format!("{actor}/replies/{n}/activity"),
                        "type": "Create",
                        "actor": actor,
                        "to": ["https://www.w3.org/ns/activitystreams#Public"],
                        "object": {
                            "id": format!("{actor}/replies/{n}"),
                            "type": "Note",
                            "attributedTo": actor,
                            "inReplyTo": project,
                            "content": format!("<p>Nous avons une chambre froide à partager ({n}).</p>"),
                            "published": chrono::Utc::now().to_rfc3339(),
                        }
                    }),
                ),
                _ => (
                    "POST /inbox (Follow)",
                    json!({
                        "@context": "https://www.w3.org/ns/activitystreams",
                        "id": format!("{actor}/follows/{n}"),
                        "type": "Follow",
                        "actor": actor,
                        "object": site.url(&format!("/poles/{}", site.poles[index % site.poles.len()])),
                    }),
                ),
            };
            match SignedPost::sign(&url, sender, &activity) {
                Ok(post) => {
                    call(&site.recorder, route, post.request(&site.client, &url), 202).await;
                }
                Err(e) => eprintln!("signing an activity failed: {e}"),
            }
        }
    })
    .await
}

/// Writes through the API at `per_second`, in turn: a project created then changed, an
/// event created then changed, a member added then changed, the pole's summary changed.
pub(crate) async fn writes(site: Arc<Site>, per_second: f64) -> u64 {
    steady(&site.clone(), per_second, move |n| {
        let site = site.clone();
        async move {
            let pole = &site.written;
            let rec = &site.recorder;
            let id = |body: Option<bytes::Bytes>| {
                body.and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .and_then(|v| match &v["id"] {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
            };
            match n % 4 {
                0 => {
                    let created = call(
                        rec,
                        "POST /api/v1/poles/{slug}/projects",
                        site.api(
                            Method::POST,
                            &format!("/api/v1/poles/{pole}/projects"),
                            json!({"title": format!("Atelier de réparation {n}"), "summary": "Vélos et petit électroménager", "themes": ["circular-economy"]}),
                        ),
                        201,
                    )
                    .await;
                    if let Some(id) = id(created) {
                        call(
                            rec,
                            "PATCH /api/v1/projects/{id}",
                            site.api(
                                Method::PATCH,
                                &format!("/api/v1/projects/{id}"),
                                json!({"summary": format!("Vélos, petit électroménager et textile ({n})"), "status": "in-progress"}),
                            ),
                            200,
                        )
                        .await;
                    }
                }
                1 => {
                    let created = call(
                        rec,
                        "POST /api/v1/poles/{slug}/events",
                        site.api(
                            Method::POST,
                            &format!("/api/v1/poles/{pole}/events"),
                            json!({"title": format!("Repair café {n}"), "starts_at": "2036-06-21T18:00", "online_url": "https://visio.example.org"}),
                        ),
                        201,
                    )
                    .await;
                    if let Some(id) = id(created) {
                        call(
                            rec,
                            "PATCH /api/v1/events/{id}",
                            site.api(
                                Method::PATCH,
                                &format!("/api/v1/events/{id}"),
                                json!({"title": format!("Repair café du samedi {n}")}),
                            ),
                            200,
                        )
                        .await;
                    }
                }
                2 => {
                    let created = call(
                        rec,
                        "POST /api/v1/poles/{slug}/members",
                        site.api(
                            Method::POST,
                            &format!("/api/v1/poles/{pole}/members"),
                            json!({"name": format!("Ressourcerie {n}"), "legal_form": "association"}),
                        ),
                        201,
                    )
                    .await;
                    if let Some(id) = id(created) {
                        call(
                            rec,
                            "PATCH /api/v1/poles/{slug}/members/{id}",
                            site.api(
                                Method::PATCH,
                                &format!("/api/v1/poles/{pole}/members/{id}"),
                                json!({"employee_band": "10-49"}),
                            ),
                            200,
                        )
                        .await;
                    }
                }
                _ => {
                    call(
                        rec,
                        "PATCH /api/v1/poles/{slug}",
                        site.api(
                            Method::PATCH,
                            &format!("/api/v1/poles/{pole}"),
                            json!({"summary": format!("Réemploi et réparation, version {n}")}),
                        ),
                        200,
                    )
                    .await;
                }
            }
        }
    })
    .await
}

/// A project published every `every` by the pole the stand-in instances follow, titled
/// `MARK (N)`; returns how many were created (each must reach every stand-in once).
pub(crate) async fn fan_outs(site: Arc<Site>, every: Duration) -> u64 {
    let created = Arc::new(AtomicU64::new(0));
    let counted = created.clone();
    steady(&site.clone(), 1.0 / every.as_secs_f64(), move |n| {
        let (site, created) = (site.clone(), created.clone());
        async move {
            let body = call(
                &site.recorder,
                "POST /api/v1/poles/{slug}/projects (fan-out)",
                site.api(
                    Method::POST,
                    &format!("/api/v1/poles/{}/projects", site.fanned),
                    json!({"title": format!("{MARK} ({n})"), "summary": "Pour les cantines du territoire"}),
                ),
                201,
            )
            .await;
            if body.is_some() {
                created.fetch_add(1, Ordering::SeqCst);
            }
        }
    })
    .await;
    counted.load(Ordering::SeqCst)
}
