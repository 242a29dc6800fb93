//! Hostile input at volume, generated: thousands of HTTP-signature headers, texts to
//! sanitise, directory queries and signed inbox activities, each checked for what must
//! always hold: no panic, no 5xx, every refusal a 4xx that names the problem, and nothing
//! stored from what was refused.
//!
//! Each property runs `PROPTEST_CASES` cases (2,000 by default); a longer run is
//! `PROPTEST_CASES=50000 cargo test --release --test properties`.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use common::cases::{run, tricky};
use common::{TestDb, TestServer};
use maillage::domain::text::{render, sanitize_html};
use maillage::domain::vocab::TextFormat;
use maillage::federation::signatures::{self, SignedRequest, sign_post};
use proptest::prelude::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// HTTP signatures.

const SIGNATURE_PIECES: &[&str] = &[
    "keyId=",
    "\"https://a.example/actor#main-key\"",
    ",",
    "algorithm=",
    "\"rsa-sha256\"",
    "\"hs2019\"",
    "\"hmac-sha256\"",
    "headers=",
    "\"(request-target) host date digest\"",
    "\"(created) (expires)\"",
    "signature=",
    "\"AAAA\"",
    "\"====\"",
    "created=",
    "expires=",
    "1700000000",
    "\"",
    "=",
    " ",
    "Signature ",
];

fn signature_request() -> impl Strategy<Value = (BTreeMap<String, String>, Option<Vec<u8>>)> {
    (
        tricky(SIGNATURE_PIECES),
        prop::option::of(prop_oneof![
            Just("Sat, 05 Dec 2026 12:00:00 GMT".to_owned()),
            any::<String>()
        ]),
        prop::option::of(prop_oneof![
            Just("SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".to_owned()),
            any::<String>()
        ]),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
        any::<bool>(),
    )
        .prop_map(|(signature, date, digest, body, as_authorization)| {
            let mut headers = BTreeMap::new();
            if as_authorization {
                headers.insert("authorization".into(), signature);
            } else {
                headers.insert("signature".into(), signature);
            }
            headers.insert("host".into(), "maillage.example".into());
            if let Some(date) = date {
                headers.insert("date".into(), date);
            }
            if let Some(digest) = digest {
                headers.insert("digest".into(), digest);
            }
            (headers, body)
        })
}

/// Whatever its `Signature` header, a request is refused with a reason (it was signed by
/// nobody), and reading its `keyId` never panics.
#[test]
fn signature_headers_are_refused_with_a_reason_never_a_panic() {
    let keys = activitypub_federation::http_signatures::generate_actor_keypair().expect("keys");
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_472_000);
    run(signature_request(), |(headers, body)| {
        let request = SignedRequest {
            method: "POST",
            path_and_query: "/inbox",
            headers,
            body: body.as_deref(),
        };
        let _ = signatures::key_id(&request);
        let verdict = signatures::verify(&request, &keys.public_key, now);
        prop_assert!(verdict.is_err(), "accepted: {:?}", request.headers);
        prop_assert!(!verdict.unwrap_err().to_string().is_empty());
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// The sanitiser.

const MARKUP_PIECES: &[&str] = &[
    "<script>",
    "</script>",
    "<SCRIPT SRC=//x.example/a.js>",
    "<a href=\"javascript:alert(1)\">",
    "<a href=\"JaVaScRiPt:alert(1)\">",
    "<a href=\"https://ok.example\">",
    "</a>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<iframe src=\"https://x.example\">",
    "<style>body{}</style>",
    "<p>",
    "</p>",
    "<b>",
    "<div style=\"x\">",
    "<math>",
    "<form action=x>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "&lt;script&gt;",
    "&#x3C;script&#x3E;",
    "&amp;",
    "[lien](javascript:alert(1))",
    "[lien](https://ok.example)",
    "![image](x onerror=alert(1))",
    "**gras**",
    "`code`",
    "\n\n",
    "<",
    ">",
    "\"",
    "'",
    "é",
    "\u{0}",
];

/// What no sanitised HTML may hold, whatever was typed.
fn assert_inert(html: &str) -> Result<(), TestCaseError> {
    let lower = html.to_ascii_lowercase();
    for banned in [
        "<script", "<iframe", "<style", "<svg", "<math", "<form", "<img",
    ] {
        prop_assert!(!lower.contains(banned), "{banned} in {html}");
    }
    // No `javascript:` address inside a tag (as text, it is only text).
    for tag in lower.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or_default();
        let squeezed: String = tag.chars().filter(|c| !c.is_whitespace()).collect();
        prop_assert!(
            !squeezed.contains("javascript:"),
            "a script address in {html}"
        );
    }
    // No event handler attribute (` onload=`…) inside a tag.
    let mut in_tag = false;
    let bytes = lower.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        match c {
            b'<' => in_tag = true,
            b'>' => in_tag = false,
            b' ' | b'\t' | b'\n' | b'/' if in_tag => {
                let rest = &lower[i + 1..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                let after = &rest[name.len()..];
                prop_assert!(
                    !(name.starts_with("on") && after.trim_start().starts_with('=')),
                    "an event handler in {html}"
                );
            }
            _ => {}
        }
    }
    Ok(())
}

/// Typed HTML or Markdown comes out without scripts, frames, styles, handlers or
/// `javascript:` links, and sanitising it again changes nothing of that.
#[test]
fn sanitised_text_holds_nothing_active() {
    run(tricky(MARKUP_PIECES), |typed| {
        let clean = sanitize_html(&typed);
        assert_inert(&clean)?;
        assert_inert(&sanitize_html(&clean))?;
        assert_inert(&render(&typed, TextFormat::Markdown))?;
        assert_inert(&render(&typed, TextFormat::Html))?;
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// The directory's parameters, over HTTP, on both databases.

const PARAMETERS: &[&str] = &[
    "q",
    "region",
    "departement",
    "epci",
    "commune",
    "theme",
    "pooling",
    "legal_form",
    "kind",
    "upcoming",
    "from",
    "to",
    "call_status",
    "deadline_before",
    "page",
    "per_page",
    "sort",
    "utm_source",
];

const VALUES: &[&str] = &[
    "84",
    "99",
    "2A",
    "35236",
    "200000000",
    "renewable-energy",
    "premises",
    "scic",
    "project",
    "event",
    "true",
    "2026-12-05",
    "2026-02-30",
    "open",
    "0",
    "-1",
    "18446744073709551616",
    "\"",
    "*",
    "NEAR(a b)",
    "a OR b",
    "-x",
    "^x",
    "col:x",
    "(",
    "'",
    "%",
    "_",
    "\\",
    "énergie",
    "coopérative",
];

fn query_string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop_oneof![
                4 => prop::sample::select(PARAMETERS).prop_map(str::to_owned),
                1 => "[a-z_]{1,8}",
            ],
            prop_oneof![
                3 => prop::sample::select(VALUES).prop_map(str::to_owned),
                1 => tricky(VALUES),
                1 => any::<String>(),
            ],
        ),
        0..5,
    )
    .prop_map(|pairs| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            query.append_pair(&name, &value);
        }
        query.finish()
    })
}

/// Any query of the directory is answered 200, or 400 with a message naming a parameter;
/// never a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_queries_are_answered_or_refused_by_name() {
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        common::ok(
            &server,
            reqwest::Method::POST,
            "/api/v1/poles",
            Some(json!({"slug": "redon", "name": "Pôle coopérative énergie", "territory": {"communes": ["35236"]}, "themes": ["renewable-energy"]})),
        )
        .await;
        let client = server.client.clone();
        let base = server.url("/api/v1/directory");
        let handle = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| {
            run(query_string(), |query| {
                let (status, body) = handle.block_on(async {
                    let response = client
                        .get(format!("{base}?{query}"))
                        .send()
                        .await
                        .expect("an answer");
                    let status = response.status();
                    (
                        status,
                        response.json::<Value>().await.unwrap_or(Value::Null),
                    )
                });
                prop_assert!(
                    status == 200 || status == 400,
                    "[{label}] {query}: {status} {body}"
                );
                if status == 400 {
                    let message = body["message"].as_str().unwrap_or_default();
                    prop_assert!(
                        PARAMETERS.iter().any(|p| message.contains(p)),
                        "[{label}] {query}: the refusal names no parameter: {body}"
                    );
                }
                Ok(())
            });
        });
        server.stop().await;
        db.drop_now().await;
    }
}

// ---------------------------------------------------------------------------------------
// The inbox's reading of activities, signed by a real sender.

/// Rows in the tables an inbox writes to.
async fn stored(server: &TestServer) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "remote_actors",
        "followers",
        "replies",
        "reactions",
        "projects",
        "events",
        "calls",
        "poles",
    ] {
        counts.push(common::count_rows(&server.store, table).await);
    }
    counts
}

const TYPES: &[&str] = &[
    "Create", "Update", "Delete", "Follow", "Undo", "Like", "Announce", "Accept", "Reject", "Move",
    "Flag", "Note", "Event", "Group", "",
];

const KEYS: &[&str] = &[
    "id",
    "type",
    "actor",
    "object",
    "target",
    "inReplyTo",
    "attributedTo",
    "content",
    "name",
    "startTime",
    "to",
    "cc",
    "tag",
    "url",
    "published",
];

/// Any JSON value, a few levels deep, with the keys activities use.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        prop::sample::select(TYPES).prop_map(|t| json!(t)),
        Just(json!("https://www.w3.org/ns/activitystreams#Public")),
        Just(json!("2026-12-05T14:00:00Z")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(KEYS).prop_map(str::to_owned),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An activity from `actor` (or someone else), with ids on its server or elsewhere.
fn activity(actor: String, target: String) -> impl Strategy<Value = Vec<u8>> {
    let origin = actor
        .rsplit_once("/poles/")
        .map(|(o, _)| o.to_owned())
        .unwrap_or_default();
    (
        prop::sample::select(TYPES),
        prop_oneof![
            3 => Just(actor.clone()),
            1 => any::<String>(),
        ],
        prop_oneof![
            2 => "[a-z0-9]{1,8}".prop_map(move |n| format!("{origin}/activities/{n}")),
            1 => any::<String>(),
        ],
        prop_oneof![
            2 => Just(json!(target)),
            3 => json_value(),
        ],
        prop::collection::btree_map(
            prop::sample::select(KEYS).prop_map(str::to_owned),
            json_value(),
            0..4,
        ),
        prop::option::weighted(0.05, any::<Vec<u8>>()),
    )
        .prop_map(|(kind, actor, id, object, extra, raw)| {
            if let Some(raw) = raw {
                return raw;
            }
            let mut activity = serde_json::Map::new();
            activity.insert(
                "@context".into(),
                json!("https://www.w3.org/ns/activitystreams"),
            );
            for (key, value) in extra {
                activity.insert(key, value);
            }
            activity.insert("type".into(), json!(kind));
            activity.insert("actor".into(), json!(actor));
            activity.insert("id".into(), json!(id));
            activity.insert("object".into(), object);
            serde_json::to_vec(&Value::Object(activity)).unwrap_or_default()
        })
}

/// Activities signed by a real pole of another instance, whatever they hold, are taken in
/// (2xx) or refused (4xx with a message), never a 5xx; a refused one stores nothing, and
/// the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_activities_are_taken_in_or_refused_never_a_server_error() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let a = TestServer::start_on(&db, 0, |c| {
            c.federation.inbox_requests_per_minute = 1_000_000;
        })
        .await;
        let b_db = TestDb::sqlite();
        let b = TestServer::start(&b_db).await;
        for server in [&a, &b] {
            common::ok(
                server,
                reqwest::Method::POST,
                "/api/v1/poles",
                Some(json!({"slug": "redon", "name": "Pôle Redon", "territory": {"communes": ["35236"]}})),
            )
            .await;
        }
        let sender = b.store.pole("redon").await.expect("pole");
        let keys = b.store.pole_keys(sender.id).await.expect("keys");
        let key_id = format!("{}#main-key", sender.ap_id);
        let target = a.url("/poles/redon");
        let inbox = url::Url::parse(&a.url("/inbox")).expect("url");
        let client = a.client.clone();
        let send = |body: Vec<u8>| {
            let client = client.clone();
            let url = inbox.to_string();
            let headers = sign_post(&inbox, &body, &key_id, &keys.private_key, SystemTime::now())
                .expect("sign");
            async move {
                let mut request = client
                    .post(url)
                    .header("content-type", "application/activity+json")
                    .body(body);
                for (name, value) in headers.into_iter().filter(|(n, _)| n != "host") {
                    request = request.header(name, value);
                }
                let response = request.send().await.expect("an answer");
                let status = response.status();
                (
                    status,
                    response.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
        };
        // The sender's actor is read (and kept) to check its first signature; from then
        // on, what is refused stores nothing.
        let origin = b.url("");
        let first = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{origin}/activities/first"), "type": "Flag",
            "actor": sender.ap_id, "object": a.url("/poles/redon")
        });
        let (status, answer) = send(first.to_string().into_bytes()).await;
        assert!(status.as_u16() < 500, "[{label}] {status} {answer}");
        assert_eq!(
            stored(&a).await[0],
            1,
            "[{label}] the sender's actor, read once"
        );
        let handle = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| {
            run(activity(sender.ap_id.clone(), target), |body| {
                let (status, answer, before, after) = handle.block_on(async {
                    let before = stored(&a).await;
                    let (status, answer) = send(body.clone()).await;
                    (status, answer, before, stored(&a).await)
                });
                let shown = String::from_utf8_lossy(&body);
                prop_assert!(
                    status.is_success() || status.is_client_error(),
                    "[{label}] {status} {answer} for {shown}"
                );
                if status.is_client_error() {
                    prop_assert!(
                        answer["message"].as_str().is_some_and(|m| !m.is_empty()),
                        "[{label}] {status} without a message for {shown}"
                    );
                    prop_assert_eq!(
                        &before,
                        &after,
                        "[{}] stored though refused: {}",
                        label,
                        shown
                    );
                }
                Ok(())
            });
        });
        let health = a
            .client
            .get(a.url("/healthz"))
            .send()
            .await
            .expect("healthz");
        assert_eq!(health.status(), 200, "[{label}] still serving");
        a.stop().await;
        b.stop().await;
        db.drop_now().await;
    }
}
