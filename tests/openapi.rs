//! The OpenAPI document (`/api/v1/openapi.json`) checked by independent validators:
//! openapi-spec-validator for the document, openapi-schema-validator for bodies the server
//! really accepted and answered, against the schemas the document gives for them.
//!
//! Runs only when `MAILLAGE_TEST_INTEROP=1`: the validators are installed from PyPI
//! (pinned in `tests/peers/openapi/requirements.txt`) into a virtual environment.

mod common;

use std::process::Command;

use common::python::{peer_dir, prepare_venv};
use common::{TestDb, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const INTEROP_ENV: &str = "MAILLAGE_TEST_INTEROP";

/// What was sent or answered, and where the document should describe it.
struct Samples {
    server: TestServer,
    list: Vec<Value>,
}

impl Samples {
    /// Sends `body` to `path` (`template` as the document names it) with the
    /// administrator's token; records the body sent and the one answered.
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        template: &str,
        body: Option<Value>,
        expected: StatusCode,
    ) -> Value {
        let mut request = self
            .server
            .client
            .request(method.clone(), self.server.url(path))
            .bearer_auth(&self.server.admin_token);
        if let Some(body) = &body {
            request = request.json(body);
            self.list.push(json!({
                "method": method.as_str(), "path": template, "kind": "request", "body": body,
            }));
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert_eq!(status, expected, "{method} {path}: {text}");
        if text.is_empty() {
            return Value::Null;
        }
        let answer: Value = serde_json::from_str(&text).expect("JSON answer");
        self.list.push(json!({
            "method": method.as_str(), "path": template, "kind": "response",
            "status": status.as_u16(), "body": answer,
        }));
        answer
    }

    async fn get(&mut self, path: &str, template: &str) -> Value {
        self.call(Method::GET, path, template, None, StatusCode::OK)
            .await
    }
}

#[tokio::test]
#[ignore = "needs MAILLAGE_TEST_INTEROP=1 (Python 3, openapi-spec-validator from PyPI)"]
async fn the_document_passes_independent_validators_and_describes_real_bodies() {
    assert!(
        std::env::var(INTEROP_ENV).is_ok_and(|v| v.trim() == "1"),
        "this test installs openapi-spec-validator from PyPI: run it with {INTEROP_ENV}=1"
    );
    let venv = prepare_venv("openapi", "openapi-spec-validator");
    let db = TestDb::sqlite();
    let server = TestServer::start(&db).await;
    let mut s = Samples {
        server,
        list: Vec::new(),
    };
    let spec = s.get("/api/v1/openapi.json", "/api/v1/openapi.json").await;
    s.list.clear();

    let created = StatusCode::CREATED;
    s.call(
        Method::POST,
        "/api/v1/poles",
        "/api/v1/poles",
        Some(json!({
            "slug": "redon",
            "name": "Pôle de Redon",
            "summary": "Coopérer sur le territoire",
            "description": "Un **pôle** de coopération.",
            "description_format": "markdown",
            "website": "https://ptce.example.org",
            "contact_email": "contact@ptce.example.org",
            "contact_phone": "02 99 00 00 00",
            "founded_year": 2011,
            "legal_form": "association",
            "siren": "732829320",
            "territory": {"communes": ["35236", "44184"], "kind": "rural", "label": "Pays de Redon"},
            "themes": ["renewable-energy", "agriculture-food"],
            "pooling": ["knowledge", "premises"],
            "shared_place": {"name": "La Maison de la coopération", "street": "3 rue de la Gare",
                "postal_code": "35600", "commune": "35236", "latitude": 47.65, "longitude": -2.08},
            "recognitions": {"national_calls": [{"call": "call-2013", "year": 2013}], "charter_signed_year": 2014},
            "manually_approves_followers": false
        })),
        created,
    )
    .await;
    s.call(
        Method::POST,
        "/api/v1/poles",
        "/api/v1/poles",
        Some(json!({"slug": "voisin", "name": "Voisin"})),
        created,
    )
    .await;
    let member = s
        .call(
            Method::POST,
            "/api/v1/poles/redon/members",
            "/api/v1/poles/{slug}/members",
            Some(json!({
                "name": "Énergies citoyennes", "legal_form": "scic", "employee_band": "1-9",
                "siret": "732 829 320 00074", "website": "https://enercit.example.org",
                "role": "Membre fondateur", "joined_year": 2011
            })),
            created,
        )
        .await;
    let member_id = member["id"].as_i64().expect("member id");
    let project = s
        .call(
            Method::POST,
            "/api/v1/poles/redon/projects",
            "/api/v1/poles/{slug}/projects",
            Some(json!({
                "title": "Parc éolien citoyen", "summary": "Quatre éoliennes",
                "description": "<p>Détenu par <em>les habitants</em></p>", "description_format": "html",
                "status": "in-progress", "partner_member_ids": [member_id],
                "themes": ["renewable-energy"], "territory": {"communes": ["35236"]},
                "start_date": "2012-01-01",
                "links": [{"title": "Site", "url": "https://eolien.example.org"}]
            })),
            created,
        )
        .await;
    let event = s
        .call(
            Method::POST,
            "/api/v1/poles/redon/events",
            "/api/v1/poles/{slug}/events",
            Some(json!({
                "title": "Marché solidaire", "starts_at": "2038-12-05T14:00", "ends_at": "2038-12-05T18:00",
                "place": {"name": "Halle", "street": "Quai Surcouf", "postal_code": "35600",
                    "commune": "35236", "latitude": 47.65, "longitude": -2.08},
                "organiser_poles": ["voisin"], "themes": ["agriculture-food"],
                "registration_url": "https://billets.example.org", "capacity": 200
            })),
            created,
        )
        .await;
    let call = s
        .call(
            Method::POST,
            "/api/v1/poles/redon/calls",
            "/api/v1/poles/{slug}/calls",
            Some(json!({
                "title": "Recherche un local de stockage", "direction": "seeking",
                "subjects": ["premises", "equipment"], "themes": ["circular-economy"],
                "territory": {"communes": ["35236"]}, "deadline": "2038-01-31",
                "how_to_answer": "Écrire à contact@ptce.example.org"
            })),
            created,
        )
        .await;
    let id = |v: &Value| v["id"].as_str().expect("id").to_owned();
    let (project, event, call) = (id(&project), id(&event), id(&call));

    // Changes, as scripts send them.
    s.call(
        Method::PATCH,
        "/api/v1/poles/redon",
        "/api/v1/poles/{slug}",
        Some(json!({"summary": "Coopérer, encore", "website": null})),
        StatusCode::OK,
    )
    .await;
    s.call(
        Method::PATCH,
        &format!("/api/v1/projects/{project}"),
        "/api/v1/projects/{id}",
        Some(json!({"status": "completed"})),
        StatusCode::OK,
    )
    .await;
    s.call(
        Method::PATCH,
        &format!("/api/v1/events/{event}"),
        "/api/v1/events/{id}",
        Some(json!({"capacity": 150})),
        StatusCode::OK,
    )
    .await;
    s.call(
        Method::PATCH,
        &format!("/api/v1/calls/{call}"),
        "/api/v1/calls/{id}",
        Some(json!({"status": "closed"})),
        StatusCode::OK,
    )
    .await;

    // What readers get.
    for (path, template) in [
        ("/api/v1/poles".to_owned(), "/api/v1/poles"),
        ("/api/v1/poles/redon".to_owned(), "/api/v1/poles/{slug}"),
        (
            "/api/v1/poles/redon/members".to_owned(),
            "/api/v1/poles/{slug}/members",
        ),
        (
            "/api/v1/poles/redon/projects".to_owned(),
            "/api/v1/poles/{slug}/projects",
        ),
        (
            "/api/v1/poles/redon/events".to_owned(),
            "/api/v1/poles/{slug}/events",
        ),
        (
            "/api/v1/poles/redon/calls".to_owned(),
            "/api/v1/poles/{slug}/calls",
        ),
        (
            format!("/api/v1/projects/{project}"),
            "/api/v1/projects/{id}",
        ),
        (format!("/api/v1/events/{event}"), "/api/v1/events/{id}"),
        (format!("/api/v1/calls/{call}"), "/api/v1/calls/{id}"),
        (
            "/api/v1/directory?q=%C3%A9olien".to_owned(),
            "/api/v1/directory",
        ),
        (
            "/api/v1/directory?kind=event".to_owned(),
            "/api/v1/directory",
        ),
        ("/api/v1/statistics".to_owned(), "/api/v1/statistics"),
        ("/api/v1/vocabularies".to_owned(), "/api/v1/vocabularies"),
        ("/api/v1/communes?q=35600".to_owned(), "/api/v1/communes"),
    ] {
        s.get(&path, template).await;
    }

    // Refusals: the error bodies are described too.
    s.call(
        Method::POST,
        "/api/v1/poles/redon/members",
        "/api/v1/poles/{slug}/members",
        None,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    let mut invalid = s
        .server
        .client
        .post(s.server.url("/api/v1/poles/redon/members"))
        .bearer_auth(&s.server.admin_token)
        .json(&json!({"name": "", "legal_form": "scop", "siret": "123"}))
        .send()
        .await
        .expect("request");
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = invalid.json().await.expect("JSON");
    s.list.push(json!({
        "method": "POST", "path": "/api/v1/poles/{slug}/members", "kind": "response",
        "status": 422, "body": body,
    }));
    invalid = s
        .server
        .client
        .get(s.server.url("/api/v1/poles/nowhere"))
        .send()
        .await
        .expect("request");
    assert_eq!(invalid.status(), StatusCode::NOT_FOUND);
    let body: Value = invalid.json().await.expect("JSON");
    s.list.push(json!({
        "method": "GET", "path": "/api/v1/poles/{slug}", "kind": "response",
        "status": 404, "body": body,
    }));

    let dir = tempfile::tempdir().expect("temporary directory");
    let spec_file = dir.path().join("openapi.json");
    let samples_file = dir.path().join("samples.json");
    std::fs::write(&spec_file, spec.to_string()).expect("write the document");
    std::fs::write(&samples_file, Value::Array(s.list).to_string()).expect("write the samples");
    let output = Command::new(venv.join("bin/python"))
        .arg(peer_dir("openapi").join("check.py"))
        .arg(&spec_file)
        .arg(&samples_file)
        .output()
        .expect("run check.py");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    assert!(report.contains(" 0 problems"), "{report}");
    s.server.stop().await;
}
