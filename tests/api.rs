//! The JSON API end to end, over real HTTP, on SQLite and PostgreSQL.

mod common;

use common::{PIXEL_PNG, TestDb, TestServer, issue_token};
use maillage::store::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Api<'a> {
    server: &'a TestServer,
    label: &'static str,
}

impl Api<'_> {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .server
            .client
            .request(method.clone(), self.server.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("[{}] {method} {path}: not JSON: {text}", self.label))
        };
        (status, value)
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(method, path, Some(&self.server.admin_token), body)
            .await
    }

    /// Asserts a 422 whose `fields` name exactly `expected`.
    async fn invalid(&self, method: Method, path: &str, body: Value, expected: &[&str]) {
        let (status, value) = self.admin(method.clone(), path, Some(body)).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{}] {method} {path}: {value}",
            self.label
        );
        assert_eq!(value["error"], "invalid", "[{}] {value}", self.label);
        let fields: Vec<&str> = value["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| f["field"].as_str().expect("field"))
            .collect();
        assert_eq!(
            fields, expected,
            "[{}] {method} {path}: {value}",
            self.label
        );
        for f in value["fields"].as_array().expect("fields") {
            assert!(
                !f["message"].as_str().unwrap_or_default().is_empty(),
                "[{}] empty message: {value}",
                self.label
            );
            assert!(
                maillage::domain::Code::ALL
                    .iter()
                    .any(|c| f["code"] == c.as_str()),
                "[{}] a field without a known code: {value}",
                self.label
            );
        }
    }
}

fn pole_json(slug: &str, name: &str) -> Value {
    json!({
        "slug": slug,
        "name": name,
        "summary": "Coopérer sur le territoire",
        "description": "Un **pôle** de coopération.",
        "website": "https://ptce.example.org",
        "contact_email": "contact@ptce.example.org",
        "contact_phone": "02 99 00 00 00",
        "founded_year": 2011,
        "legal_form": "association",
        "siren": "732829320",
        "territory": {"communes": ["35236", "44184"], "kind": "rural", "label": "Pays de Redon"},
        "themes": ["renewable-energy", "agriculture-food"],
        "pooling": ["knowledge", "premises"],
        "shared_place": {"name": "La Maison de la coopération", "commune": "35236", "latitude": 47.65, "longitude": -2.08},
        "recognitions": {"national_calls": [{"call": "call-2013", "year": 2013}], "charter_signed_year": 2014},
        "manually_approves_followers": false
    })
}

#[tokio::test]
async fn pole_profile_crud_and_validation() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        let api = Api {
            server: &server,
            label: db.label,
        };

        let (status, pole) = api
            .admin(
                Method::POST,
                "/api/v1/poles",
                Some(pole_json("pays-de-redon", "Pôle Pays de Redon")),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "[{}] {pole}", db.label);
        assert_eq!(pole["url"], server.url("/poles/pays-de-redon"));
        assert_eq!(
            pole["handle"],
            format!(
                "@pays-de-redon@{}",
                server.base.trim_start_matches("http://")
            )
        );
        assert_eq!(
            pole["description_html"],
            "<p>Un <strong>pôle</strong> de coopération.</p>\n"
        );
        assert_eq!(
            pole["territory"]["departements"].as_array().map(Vec::len),
            Some(2)
        );
        assert!(
            pole["territory"]["regions"]
                .to_string()
                .contains("Bretagne"),
            "{pole}"
        );
        assert_eq!(pole["shared_place"]["locality"], "Redon");
        assert_eq!(pole["version"], 1);

        let (status, read) = api
            .call(Method::GET, "/api/v1/poles/pays-de-redon", None, None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            read, pole,
            "[{}] what is read is what was written",
            db.label
        );

        let mut changed = pole_json("pays-de-redon", "Pôle coopératif du Pays de Redon");
        changed["themes"] = json!(["mobility"]);
        let (status, put) = api
            .admin(Method::PUT, "/api/v1/poles/pays-de-redon", Some(changed))
            .await;
        assert_eq!(status, StatusCode::OK, "{put}");
        assert_eq!(put["name"], "Pôle coopératif du Pays de Redon");
        assert_eq!(put["themes"], json!(["mobility"]));
        assert_eq!(put["version"], 2);

        let (status, patched) = api
            .admin(
                Method::PATCH,
                "/api/v1/poles/pays-de-redon",
                Some(
                    json!({"summary": null, "founded_year": 2012, "territory": {"kind": "mixed"}}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(patched["summary"], Value::Null);
        assert_eq!(patched["founded_year"], 2012);
        assert_eq!(patched["territory"]["kind"], "mixed");
        assert_eq!(
            patched["territory"]["communes"].as_array().map(Vec::len),
            Some(2),
            "a patch keeps what it does not name"
        );
        assert_eq!(patched["name"], "Pôle coopératif du Pays de Redon");

        // Each validated field, one at a time, is named in the error.
        let path = "/api/v1/poles/pays-de-redon";
        let cases: &[(&str, Value, &str)] = &[
            ("name", json!("  "), "name"),
            ("summary", json!("x".repeat(501)), "summary"),
            ("website", json!("javascript:alert(1)"), "website"),
            ("contact_email", json!("contact"), "contact_email"),
            ("contact_phone", json!("appelez-nous"), "contact_phone"),
            ("founded_year", json!(1800), "founded_year"),
            ("siren", json!("732829321"), "siren"),
            ("legal_form", json!("cartel"), "legal_form"),
            ("themes", json!(["astrology"]), "themes[0]"),
            ("pooling", json!(["everything"]), "pooling[0]"),
            (
                "territory",
                json!({"communes": ["35236", "99999"]}),
                "territory.communes[1]",
            ),
            (
                "shared_place",
                json!({"name": "Lieu", "latitude": 91.0, "longitude": 2.0}),
                "shared_place.latitude",
            ),
            (
                "recognitions",
                json!({"national_calls": [{"call": "call-2013", "year": 1990}]}),
                "recognitions.national_calls[0].year",
            ),
            ("colour", json!("red"), "colour"),
        ];
        for (field, value, expected) in cases {
            api.invalid(Method::PATCH, path, json!({ *field: value }), &[expected])
                .await;
        }
        api.invalid(
            Method::PATCH,
            path,
            json!({"slug": "autre-pole"}),
            &["slug"],
        )
        .await;
        // Several wrong fields at once are all reported, and nothing is written.
        api.invalid(
            Method::PUT,
            path,
            json!({"slug": "pays-de-redon", "name": "", "siren": "1", "website": "ftp://x"}),
            &["name", "website", "siren"],
        )
        .await;
        let (_, unchanged) = api.call(Method::GET, path, None, None).await;
        assert_eq!(
            unchanged["version"], 3,
            "[{}] failed writes leave the pole as it was",
            db.label
        );
        api.invalid(
            Method::POST,
            "/api/v1/poles",
            pole_json("pays-de-redon", "Doublon"),
            &["slug"],
        )
        .await;
        api.invalid(
            Method::POST,
            "/api/v1/poles",
            pole_json("Pôle Redon", "Mauvais"),
            &["slug"],
        )
        .await;
        api.invalid(
            Method::POST,
            "/api/v1/poles",
            json!({"name": "Sans slug"}),
            &["slug"],
        )
        .await;

        let (status, _) = api.admin(Method::DELETE, path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, gone) = api.call(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::GONE, "{gone}");
        let (status, _) = api
            .admin(Method::PATCH, path, Some(json!({"name": "Revenant"})))
            .await;
        assert_eq!(status, StatusCode::GONE);
        let (status, _) = api
            .call(Method::GET, "/api/v1/poles/inconnu", None, None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
async fn malformed_requests_get_clear_errors() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        let api = Api {
            server: &server,
            label: db.label,
        };
        let post_raw = |body: &'static str, content_type: &'static str| {
            server
                .client
                .post(server.url("/api/v1/poles"))
                .bearer_auth(&server.admin_token)
                .header("content-type", content_type)
                .body(body)
                .send()
        };
        let res = post_raw("{\"slug\": ", "application/json")
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"], "bad_request");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("n’est pas du JSON valide"),
            "French by default: {body}"
        );

        let res = post_raw("slug=a", "application/x-www-form-urlencoded")
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

        let res = post_raw("[1, 2]", "application/json")
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // Every field of the wrong kind is named in one answer, not the first only.
        let (status, body) = api
            .admin(
                Method::POST,
                "/api/v1/poles",
                Some(
                    json!({"slug": 7, "name": ["Pôle"], "themes": ["agriculture-food", 3],
                            "territory": {"communes": "35236"}}),
                ),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let mut fields: Vec<&str> = body["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .filter_map(|f| f["field"].as_str())
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            ["name", "slug", "territory.communes", "themes[1]"],
            "{body}"
        );
        assert_eq!(
            api.admin(Method::GET, "/api/v1/poles", None).await.1["total"],
            0
        );

        let big = json!({"slug": "gros", "name": "x".repeat(300 * 1024)});
        let (status, body) = api.admin(Method::POST, "/api/v1/poles", Some(big)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(body["error"], "payload_too_large");

        let (status, body) = api
            .call(Method::GET, "/api/v1/poles?page=0", None, None)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["fields"][0]["field"], "page");
        let (status, body) = api
            .call(Method::GET, "/api/v1/poles?per_page=1000", None, None)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["fields"][0]["field"], "per_page");
        let (status, body) = api
            .call(Method::GET, "/api/v1/poles?page=abc", None, None)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

        let (status, body) = api.call(Method::GET, "/nowhere", None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"], "not_found");
        let (status, _) = api
            .call(Method::GET, "/api/v1/projects/not-a-uuid", None, None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = api
            .call(Method::GET, "/api/v1/poles/x/members/abc", None, None)
            .await;
        assert!(status.is_client_error(), "{status}");

        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
async fn authentication_and_roles() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        let api = Api {
            server: &server,
            label: db.label,
        };
        for slug in ["pole-a", "pole-b"] {
            let (status, _) = api
                .admin(
                    Method::POST,
                    "/api/v1/poles",
                    Some(json!({"slug": slug, "name": slug})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let editor = issue_token(&server.store, "editor", Role::Editor).await;
        let user = server
            .store
            .user_by_username("editor")
            .await
            .expect("query")
            .expect("editor");
        let pole_a = server.store.pole("pole-a").await.expect("pole a");
        server
            .store
            .grant_pole(user.id, pole_a.id)
            .await
            .expect("grant");

        // No token, a malformed header, an unknown token: 401.
        let (status, body) = api
            .call(
                Method::PATCH,
                "/api/v1/poles/pole-a",
                None,
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "unauthorized");
        let res = server
            .client
            .get(server.url("/api/v1/me"))
            .header("authorization", "Basic YWRtaW46YWRtaW4=")
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers().contains_key("www-authenticate"));
        let (status, _) = api
            .call(Method::GET, "/api/v1/me", Some("mlg_unknown"), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let (status, me) = api
            .call(Method::GET, "/api/v1/me", Some(&editor), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            me,
            json!({"username": "editor", "role": "editor", "poles": ["pole-a"]})
        );

        // An editor edits their pole, not another, and cannot create or delete poles.
        let (status, _) = api
            .call(
                Method::PATCH,
                "/api/v1/poles/pole-a",
                Some(&editor),
                Some(json!({"name": "A"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = api
            .call(
                Method::PATCH,
                "/api/v1/poles/pole-b",
                Some(&editor),
                Some(json!({"name": "B"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let (status, _) = api
            .call(
                Method::POST,
                "/api/v1/poles/pole-b/members",
                Some(&editor),
                Some(json!({"name": "M", "legal_form": "scop"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = api
            .call(
                Method::POST,
                "/api/v1/poles",
                Some(&editor),
                Some(json!({"slug": "pole-c", "name": "C"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = api
            .call(Method::DELETE, "/api/v1/poles/pole-a", Some(&editor), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        let (status, event) = api
            .admin(Method::POST, "/api/v1/poles/pole-b/events", Some(json!({"title": "Fête", "starts_at": "2038-06-21T18:00", "online_url": "https://visio.example.org"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{event}");
        let path = format!("/api/v1/events/{}", event["id"].as_str().expect("id"));
        let (status, _) = api
            .call(
                Method::PATCH,
                &path,
                Some(&editor),
                Some(json!({"title": "Volé"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = api.call(Method::DELETE, &path, Some(&editor), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Only administrators see the delivery queue.
        let body = json!({"type": "Create"});
        let inbox = url::Url::parse("https://peer.example/inbox").expect("url");
        server
            .store
            .enqueue(
                "https://x.example/a/1",
                "https://x.example/poles/a",
                &body,
                &[inbox],
                chrono::Utc::now(),
            )
            .await
            .expect("enqueue");
        let (status, queue) = api
            .admin(Method::GET, "/api/v1/admin/deliveries", None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(queue[0]["domain"], "peer.example");
        assert_eq!(queue[0]["pending"], 1);
        let (status, _) = api
            .call(Method::GET, "/api/v1/admin/deliveries", Some(&editor), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // A revoked token stops working at once.
        let tokens = server
            .store
            .list_tokens(Some(user.id))
            .await
            .expect("tokens");
        server
            .store
            .revoke_token(tokens[0].id)
            .await
            .expect("revoke");
        let (status, _) = api
            .call(Method::GET, "/api/v1/me", Some(&editor), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
async fn pagination_of_poles_and_members() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        let api = Api {
            server: &server,
            label: db.label,
        };
        for i in 0..23 {
            let (status, _) = api
                .admin(
                    Method::POST,
                    "/api/v1/poles",
                    Some(json!({"slug": format!("pole-{i:02}"), "name": format!("Pôle {i:02}")})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let mut seen = Vec::new();
        for (page, expected) in [(1, 10), (2, 10), (3, 3), (4, 0)] {
            let (status, body) = api
                .call(
                    Method::GET,
                    &format!("/api/v1/poles?page={page}&per_page=10"),
                    None,
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body["total"], 23);
            assert_eq!(body["pages"], 3);
            let items = body["items"].as_array().expect("items");
            assert_eq!(items.len(), expected, "[{}] page {page}", db.label);
            seen.extend(
                items
                    .iter()
                    .map(|p| p["slug"].as_str().expect("slug").to_owned()),
            );
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            seen, sorted,
            "[{}] pages are ordered by name without repeats",
            db.label
        );
        assert_eq!(seen.len(), 23);
        let (_, body) = api.call(Method::GET, "/api/v1/poles", None, None).await;
        assert_eq!(body["per_page"], 20, "the default page size");

        for name in ["Zeta SCOP", "Alpha association", "Mu SCIC"] {
            let (status, _) = api
                .admin(
                    Method::POST,
                    "/api/v1/poles/pole-00/members",
                    Some(json!({"name": name, "legal_form": "association"})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let (_, body) = api
            .call(
                Method::GET,
                "/api/v1/poles/pole-00/members?per_page=2",
                None,
                None,
            )
            .await;
        let names: Vec<&str> = body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|m| m["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, ["Alpha association", "Mu SCIC"]);
        assert_eq!(body["total"], 3);

        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
async fn members_projects_events_and_calls() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        let api = Api {
            server: &server,
            label: db.label,
        };
        api.admin(
            Method::POST,
            "/api/v1/poles",
            Some(pole_json("redon", "Redon")),
        )
        .await;
        api.admin(
            Method::POST,
            "/api/v1/poles",
            Some(json!({"slug": "voisin", "name": "Voisin"})),
        )
        .await;

        // Members
        let (status, member) = api
            .admin(Method::POST, "/api/v1/poles/redon/members", Some(json!({
                "name": "Énergies citoyennes", "legal_form": "scic", "employee_band": "1-9",
                "siret": "732 829 320 00074", "website": "https://enercit.example.org", "role": "Membre fondateur", "joined_year": 2011
            })))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{member}");
        assert_eq!(member["ess"], true);
        assert_eq!(member["siret"], "73282932000074");
        let member_id = member["id"].as_i64().expect("id");
        let member_path = format!("/api/v1/poles/redon/members/{member_id}");
        let (status, patched) = api
            .admin(
                Method::PATCH,
                &member_path,
                Some(json!({"employee_band": "10-49"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(patched["employee_band"], "10-49");
        assert_eq!(patched["name"], "Énergies citoyennes");
        api.invalid(
            Method::POST,
            "/api/v1/poles/redon/members",
            json!({"name": "", "legal_form": "scop", "siret": "123", "employee_band": "lots"}),
            &["employee_band"],
        )
        .await;
        api.invalid(
            Method::POST,
            "/api/v1/poles/redon/members",
            json!({"name": "", "legal_form": "scop", "siret": "123"}),
            &["name", "siret"],
        )
        .await;
        api.invalid(
            Method::PUT,
            &member_path,
            json!({"name": "X"}),
            &["legal_form"],
        )
        .await;

        // Projects
        let (status, project) = api
            .admin(Method::POST, "/api/v1/poles/redon/projects", Some(json!({
                "title": "Parc éolien citoyen", "summary": "Quatre éoliennes", "description": "<p>Détenu par <em>les habitants</em><script>x()</script></p>",
                "description_format": "html", "status": "in-progress", "partner_member_ids": [member_id],
                "themes": ["renewable-energy"], "territory": {"communes": ["35236"]}, "start_date": "2012-01-01",
                "links": [{"title": "Site", "url": "https://eolien.example.org"}]
            })))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{project}");
        assert_eq!(
            project["description_html"],
            "<p>Détenu par <em>les habitants</em></p>"
        );
        assert_eq!(project["pole"], "redon");
        let project_path = format!("/api/v1/projects/{}", project["id"].as_str().expect("id"));
        assert_eq!(
            project["url"],
            server.url(&format!(
                "/projects/{}",
                project["id"].as_str().expect("id")
            ))
        );
        let (status, read) = api.call(Method::GET, &project_path, None, None).await;
        assert_eq!((status, &read), (StatusCode::OK, &project));
        let (status, patched) = api
            .admin(
                Method::PATCH,
                &project_path,
                Some(json!({"status": "completed", "end_date": "2015-06-30"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert_eq!(
            (patched["status"].as_str(), patched["version"].as_i64()),
            (Some("completed"), Some(2))
        );
        api.invalid(
            Method::PATCH,
            &project_path,
            json!({"end_date": "2011-01-01"}),
            &["end_date"],
        )
        .await;
        api.invalid(
            Method::PATCH,
            &project_path,
            json!({"start_date": "demain"}),
            &["start_date"],
        )
        .await;
        api.invalid(
            Method::PATCH,
            &project_path,
            json!({"status": "abandoned"}),
            &["status"],
        )
        .await;
        api.invalid(
            Method::PATCH,
            &project_path,
            json!({"links": [{"url": "javascript:x"}]}),
            &["links[0].url"],
        )
        .await;
        let (_, other_member) = api
            .admin(
                Method::POST,
                "/api/v1/poles/voisin/members",
                Some(json!({"name": "Autre", "legal_form": "sarl"})),
            )
            .await;
        api.invalid(
            Method::PATCH,
            &project_path,
            json!({"partner_member_ids": [member_id, other_member["id"]]}),
            &["partner_member_ids[1]"],
        )
        .await;

        // Events
        let (status, event) = api
            .admin(Method::POST, "/api/v1/poles/redon/events", Some(json!({
                "title": "Marché solidaire", "starts_at": "2038-12-05T14:00", "ends_at": "2038-12-05T18:00",
                "place": {"name": "Halle", "street": "Quai Surcouf", "postal_code": "35600", "commune": "35236", "latitude": 47.65, "longitude": -2.08},
                "organiser_poles": ["voisin"], "registration_url": "https://billets.example.org", "capacity": 200
            })))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{event}");
        assert_eq!(event["starts_at"], "2038-12-05T14:00:00+01:00");
        assert_eq!(event["timezone"], "Europe/Paris");
        assert_eq!(event["status"], "scheduled");
        let event_path = format!("/api/v1/events/{}", event["id"].as_str().expect("id"));
        let (status, patched) = api
            .admin(
                Method::PATCH,
                &event_path,
                Some(json!({"status": "postponed", "timezone": "America/Cayenne"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            patched["starts_at"], "2038-12-05T14:00:00-03:00",
            "local time is kept in the new zone"
        );
        api.invalid(
            Method::PATCH,
            &event_path,
            json!({"starts_at": "bientôt"}),
            &["starts_at"],
        )
        .await;
        api.invalid(
            Method::PATCH,
            &event_path,
            json!({"ends_at": "2038-12-05T08:00"}),
            &["ends_at"],
        )
        .await;
        api.invalid(
            Method::PATCH,
            &event_path,
            json!({"timezone": "Paris"}),
            &["timezone"],
        )
        .await;
        api.invalid(
            Method::PATCH,
            &event_path,
            json!({"place": null}),
            &["place"],
        )
        .await;
        api.invalid(
            Method::PATCH,
            &event_path,
            json!({"organiser_poles": ["inconnu"]}),
            &["organiser_poles[0]"],
        )
        .await;
        api.invalid(
            Method::PATCH,
            &event_path,
            json!({"capacity": 0}),
            &["capacity"],
        )
        .await;
        api.invalid(
            Method::PATCH,
            &event_path,
            json!({"capacity": -3}),
            &["capacity"],
        )
        .await;
        api.invalid(
            Method::PATCH,
            &event_path,
            json!({"registration_url": "www.billets.fr"}),
            &["registration_url"],
        )
        .await;
        api.invalid(
            Method::PATCH,
            &event_path,
            json!({"place": {"postal_code": "123"}}),
            &["place.postal_code"],
        )
        .await;

        // Calls for cooperation
        let (status, call) = api
            .admin(Method::POST, "/api/v1/poles/redon/calls", Some(json!({
                "title": "Recherche un local de stockage", "direction": "seeking", "subjects": ["premises", "equipment"],
                "themes": ["circular-economy"], "territory": {"communes": ["35236"]}, "deadline": "2038-01-31",
                "how_to_answer": "Écrire à contact@ptce.example.org"
            })))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{call}");
        assert_eq!(call["status"], "open");
        let call_path = format!("/api/v1/calls/{}", call["id"].as_str().expect("id"));
        let (status, closed) = api
            .admin(
                Method::PATCH,
                &call_path,
                Some(json!({"status": "fulfilled"})),
            )
            .await;
        assert_eq!(
            (status, closed["status"].as_str()),
            (StatusCode::OK, Some("fulfilled"))
        );
        api.invalid(
            Method::POST,
            "/api/v1/poles/redon/calls",
            json!({"title": "X", "how_to_answer": ""}),
            &["direction", "subjects", "how_to_answer"],
        )
        .await;
        api.invalid(
            Method::PATCH,
            &call_path,
            json!({"direction": "both"}),
            &["direction"],
        )
        .await;
        api.invalid(
            Method::PATCH,
            &call_path,
            json!({"deadline": "31/01/2038"}),
            &["deadline"],
        )
        .await;

        // Lists, then deletes become 410 and leave the lists.
        for (collection, path) in [
            ("projects", &project_path),
            ("events", &event_path),
            ("calls", &call_path),
        ] {
            let (_, list) = api
                .call(
                    Method::GET,
                    &format!("/api/v1/poles/redon/{collection}"),
                    None,
                    None,
                )
                .await;
            assert_eq!(list["total"], 1, "[{}] {collection}", db.label);
            let (status, _) = api.admin(Method::DELETE, path, None).await;
            assert_eq!(status, StatusCode::NO_CONTENT);
            let (status, _) = api.call(Method::GET, path, None, None).await;
            assert_eq!(status, StatusCode::GONE, "[{}] {path}", db.label);
            let (_, list) = api
                .call(
                    Method::GET,
                    &format!("/api/v1/poles/redon/{collection}"),
                    None,
                    None,
                )
                .await;
            assert_eq!(list["total"], 0);
        }
        let (status, _) = api.admin(Method::DELETE, &member_path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = api.call(Method::GET, &member_path, None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
async fn logo_and_banner_uploads() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        let api = Api {
            server: &server,
            label: db.label,
        };
        api.admin(
            Method::POST,
            "/api/v1/poles",
            Some(json!({"slug": "redon", "name": "Redon"})),
        )
        .await;
        let put = |path: &str, body: Vec<u8>| {
            server
                .client
                .put(server.url(path))
                .bearer_auth(&server.admin_token)
                .header("content-type", "image/png")
                .body(body)
                .send()
        };
        let res = put("/api/v1/poles/redon/logo", PIXEL_PNG.to_vec())
            .await
            .expect("upload");
        assert_eq!(res.status(), StatusCode::OK);
        let pole: Value = res.json().await.expect("json");
        let logo_url = pole["logo_url"].as_str().expect("logo url").to_owned();
        let res = server.client.get(&logo_url).send().await.expect("get logo");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "image/png");
        assert!(
            res.headers()["cache-control"]
                .to_str()
                .unwrap_or_default()
                .contains("immutable")
        );
        assert_eq!(res.bytes().await.expect("bytes").as_ref(), PIXEL_PNG);

        // Not an image, whatever the client says; too large; no token.
        let res = put(
            "/api/v1/poles/redon/banner",
            b"<svg onload=alert(1)>".to_vec(),
        )
        .await
        .expect("upload");
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let mut big = PIXEL_PNG.to_vec();
        big.resize(100 * 1024, 0);
        let res = put("/api/v1/poles/redon/banner", big)
            .await
            .expect("upload");
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let res = server
            .client
            .put(server.url("/api/v1/poles/redon/banner"))
            .body(PIXEL_PNG.to_vec())
            .send()
            .await
            .expect("upload");
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let (_, pole) = api
            .call(Method::GET, "/api/v1/poles/redon", None, None)
            .await;
        assert_eq!(
            pole["banner_url"],
            Value::Null,
            "[{}] refused uploads change nothing",
            db.label
        );

        let (status, pole) = api
            .admin(Method::DELETE, "/api/v1/poles/redon/logo", None)
            .await;
        assert_eq!((status, &pole["logo_url"]), (StatusCode::OK, &Value::Null));
        let (status, _) = api.call(Method::GET, "/media/0000", None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
async fn openapi_describes_every_route_and_reference_data_is_served() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db).await;
    let api = Api {
        server: &server,
        label: db.label,
    };
    let (status, doc) = api
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in [
        ("/api/v1/poles", &["get", "post"][..]),
        ("/api/v1/poles/{slug}", &["get", "put", "patch", "delete"]),
        ("/api/v1/poles/{slug}/logo", &["put", "delete"]),
        (
            "/api/v1/poles/{slug}/members/{id}",
            &["get", "put", "patch", "delete"],
        ),
        ("/api/v1/poles/{slug}/events", &["get", "post"]),
        ("/api/v1/events/{id}", &["get", "put", "patch", "delete"]),
        ("/api/v1/calls/{id}", &["get", "put", "patch", "delete"]),
        ("/api/v1/projects/{id}", &["get", "put", "patch", "delete"]),
        ("/api/v1/communes", &["get"]),
        ("/api/v1/admin/blocks", &["get", "post"]),
        ("/api/v1/admin/blocks/{domain}", &["delete"]),
    ] {
        for m in methods {
            assert!(
                paths.get(path).and_then(|p| p.get(m)).is_some(),
                "{m} {path} is described"
            );
        }
    }
    assert!(doc["components"]["schemas"]["PoleInput"].is_object());
    assert!(doc["components"]["securitySchemes"]["token"].is_object());

    let (_, vocab) = api
        .call(Method::GET, "/api/v1/vocabularies", None, None)
        .await;
    assert!(
        vocab["themes"]
            .as_array()
            .expect("themes")
            .iter()
            .any(|t| t["id"] == "renewable-energy" && t["fr"] == "Énergies renouvelables")
    );
    let (status, communes) = api
        .call(Method::GET, "/api/v1/communes?q=35600", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        communes
            .as_array()
            .expect("list")
            .iter()
            .any(|c| c["code"] == "35236" && c["region_name"] == "Bretagne"),
        "{communes}"
    );
    let (status, _) = api
        .call(Method::GET, "/api/v1/communes?q=a", None, None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = api.call(Method::GET, "/api/v1/communes", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test]
async fn deleting_a_pole_deletes_what_it_published() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        let api = Api {
            server: &server,
            label: db.label,
        };
        api.admin(
            Method::POST,
            "/api/v1/poles",
            Some(json!({"slug": "redon", "name": "Redon"})),
        )
        .await;
        let (_, event) = api
            .admin(Method::POST, "/api/v1/poles/redon/events", Some(json!({"title": "Fête", "starts_at": "2038-06-21T18:00", "online_url": "https://visio.example.org"})))
            .await;
        api.invalid(
            Method::POST,
            "/api/v1/poles/redon/events",
            json!({"title": "Fête", "starts_at": "2038-06-21T18:00", "online_url": "https://visio.example.org", "capacity": 3_000_000_000u64}),
            &["capacity"],
        )
        .await;
        let (_, call) = api
            .admin(Method::POST, "/api/v1/poles/redon/calls", Some(json!({"title": "Local", "direction": "seeking", "subjects": ["premises"], "how_to_answer": "Par courriel"})))
            .await;
        let (status, _) = api.admin(Method::DELETE, "/api/v1/poles/redon", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        for path in [
            format!("/api/v1/events/{}", event["id"].as_str().expect("id")),
            format!("/api/v1/calls/{}", call["id"].as_str().expect("id")),
        ] {
            let (status, _) = api.call(Method::GET, &path, None, None).await;
            assert_eq!(status, StatusCode::GONE, "[{}] {path}", db.label);
            let (status, _) = api
                .admin(Method::PATCH, &path, Some(json!({"title": "Encore"})))
                .await;
            assert_eq!(status, StatusCode::GONE, "[{}] {path}", db.label);
        }
        let (status, _) = api
            .call(Method::GET, "/api/v1/poles/redon/events", None, None)
            .await;
        assert_eq!(status, StatusCode::GONE);
        server.stop().await;
        db.drop_now().await;
    }
}

/// Sends `body` as JSON as it is, with `Accept-Language: lang` when one is given.
async fn post_raw(
    server: &TestServer,
    path: &str,
    body: &'static str,
    lang: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = server
        .client
        .post(server.url(path))
        .bearer_auth(&server.admin_token)
        .header("content-type", "application/json")
        .body(body);
    if let Some(lang) = lang {
        request = request.header("accept-language", lang);
    }
    let res = request.send().await.expect("request");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn json_bodies_are_one_value_with_objects_where_objects_are_expected() {
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let api = Api {
            server: &server,
            label,
        };
        api.admin(
            Method::POST,
            "/api/v1/poles",
            Some(json!({"slug": "redon", "name": "Redon"})),
        )
        .await;

        // Data after the value: refused, whatever the value was, in the reader's language.
        let projects = "/api/v1/poles/redon/projects";
        for (body, lang, expected) in [
            (r#"{"title":"x"} garbage"#, None, "après sa valeur JSON"),
            (
                r#"{"title":"x"} {"title":"y"}"#,
                Some("en"),
                "after its JSON value",
            ),
            (
                r#"{"title":"x"}]"#,
                Some("en-GB,en;q=0.9"),
                "after its JSON value",
            ),
        ] {
            let (status, value) = post_raw(&server, projects, body, lang).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "[{label}] {body}: {value}");
            assert_eq!(value["error"], "bad_request", "[{label}] {value}");
            let message = value["message"].as_str().unwrap_or_default();
            assert!(message.contains(expected), "[{label}] {body}: {message}");
        }
        let (status, _) = post_raw(&server, projects, "{\"title\":\"x\"} \n\t ", None).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "[{label}] white space may follow"
        );
        let (_, list) = api.call(Method::GET, projects, None, None).await;
        assert_eq!(
            list["total"], 1,
            "[{label}] only the well-formed one was stored"
        );

        // An array where an object is expected is not read by position.
        let (status, value) = post_raw(
            &server,
            "/api/v1/poles",
            r#"{"slug": "vide", "name": "Vide", "territory": []}"#,
            Some("en"),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{label}] {value}"
        );
        assert_eq!(
            value["fields"][0]["field"], "territory",
            "[{label}] {value}"
        );
        assert!(
            value["fields"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("not a list"),
            "[{label}] {value}"
        );
        let (status, value) = post_raw(
            &server,
            "/api/v1/poles",
            r#"{"slug": "vide", "name": "Vide", "shared_place": ["La Halle", "35236"]}"#,
            None,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{label}] {value}"
        );
        assert_eq!(value["fields"][0]["field"], "shared_place", "[{label}]");
        assert!(
            value["fields"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("pas une liste"),
            "[{label}] French by default: {value}"
        );
        api.invalid(
            Method::POST,
            "/api/v1/poles",
            json!({"slug": "vide", "name": "Vide", "recognitions": {"national_calls": [["call-2013", 2013]]}}),
            &["recognitions.national_calls[0]"],
        )
        .await;
        api.invalid(
            Method::PATCH,
            "/api/v1/poles/redon",
            json!({"territory": []}),
            &["territory"],
        )
        .await;
        let (status, _) = api
            .call(Method::GET, "/api/v1/poles/vide", None, None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "[{label}] nothing created");

        server.stop().await;
        db.drop_now().await;
    }
}

/// An image of `tests/fixtures/images`.
fn image_fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/images")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A PNG whose header declares `width` × `height` pixels, with 20 KB of compressed zeros
/// after it: what a server reading only the first bytes takes for an image.
fn declared_png(width: u32, height: u32) -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        let mut out = u32::try_from(data.len())
            .expect("length")
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(&body);
        let mut crc = !0u32;
        for &byte in &body {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        out.extend_from_slice(&(!crc).to_be_bytes());
        out
    };
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[1, 0, 0, 0, 0]);
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend(chunk(b"IHDR", &ihdr));
    bytes.extend(chunk(b"IDAT", &[0u8; 20 * 1024]));
    bytes.extend(chunk(b"IEND", &[]));
    bytes
}

#[tokio::test]
async fn uploaded_images_are_whole_and_of_bounded_size() {
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let api = Api {
            server: &server,
            label,
        };
        api.admin(
            Method::POST,
            "/api/v1/poles",
            Some(json!({"slug": "redon", "name": "Redon"})),
        )
        .await;
        let put = |body: Vec<u8>, lang: &'static str| {
            server
                .client
                .put(server.url("/api/v1/poles/redon/banner"))
                .bearer_auth(&server.admin_token)
                .header("content-type", "image/png")
                .header("accept-language", lang)
                .body(body)
                .send()
        };

        for name in [
            "tiny.png",
            "tiny.jpg",
            "progressive.jpg",
            "animated.gif",
            "lossless.webp",
            "animated.webp",
        ] {
            let res = put(image_fixture(name), "fr").await.expect("upload");
            assert_eq!(res.status(), StatusCode::OK, "[{label}] {name}");
        }

        let huge = declared_png(30_000, 30_000);
        let mut cut = image_fixture("tiny.jpg");
        cut.truncate(cut.len() - 2);
        let mut half = image_fixture("lossy.webp");
        half.truncate(half.len() / 2);
        for (what, body, lang, expected) in [
            ("a PNG of 30000 × 30000", huge, "en", "30000 × 30000 pixels"),
            (
                "a PNG of 30000 × 30000",
                declared_png(30_000, 30_000),
                "fr",
                "8000 pixels de côté",
            ),
            (
                "a PNG over the pixel count",
                declared_png(8000, 2001),
                "en",
                "16 million pixels",
            ),
            (
                "a JPEG without its end",
                cut,
                "en",
                "incomplete or damaged (JPEG)",
            ),
            ("half a WebP", half, "fr", "incomplète ou abîmée (WebP)"),
            (
                "text",
                b"<svg onload=alert(1)>".to_vec(),
                "en",
                "is not a PNG",
            ),
        ] {
            let res = put(body, lang).await.expect("upload");
            assert_eq!(
                res.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "[{label}] {what}"
            );
            let value: Value = res.json().await.expect("json");
            assert_eq!(value["fields"][0]["field"], "body", "[{label}] {value}");
            let message = value["fields"][0]["message"].as_str().unwrap_or_default();
            assert!(message.contains(expected), "[{label}] {what}: {message}");
        }
        let (_, pole) = api
            .call(Method::GET, "/api/v1/poles/redon", None, None)
            .await;
        let banner = pole["banner_url"].as_str().expect("banner").to_owned();
        let res = server.client.get(&banner).send().await.expect("get banner");
        assert_eq!(
            res.bytes().await.expect("bytes").as_ref(),
            image_fixture("animated.webp").as_slice(),
            "[{label}] refused uploads left the last good one in place"
        );

        server.stop().await;
        db.drop_now().await;
    }
}

/// Liveness and readiness apart: `/healthz` answers while the process lives; `/readyz`
/// answers 200 only when the database answers and no migration is pending, else 503 with
/// the reason.
#[tokio::test]
async fn readiness_is_the_database_with_every_migration() {
    use migration::MigratorTrait;
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let get = |path: &str| {
            let request = server.client.get(server.url(path));
            async move {
                let response = request.send().await.expect("an answer");
                let status = response.status();
                (status, response.text().await.unwrap_or_default())
            }
        };
        let (status, body) = get("/readyz").await;
        assert_eq!(status, StatusCode::OK, "[{label}] {body}");
        let ready: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(ready["ready"], true, "[{label}]");
        assert_eq!(
            ready["migrations"]["applied"],
            migration::Migrator::migrations().len(),
            "[{label}]"
        );

        // A database one migration behind this version is not ready; the process is live.
        migration::Migrator::down(server.store.connection(), Some(1))
            .await
            .expect("one migration down");
        let (status, body) = get("/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "[{label}] {body}");
        assert!(
            body.contains("1 migrations are pending"),
            "[{label}] {body}"
        );
        assert_eq!(get("/healthz").await.0, StatusCode::OK, "[{label}]");
        server.store.migrate().await.expect("migrate");
        assert_eq!(get("/readyz").await.0, StatusCode::OK, "[{label}]");

        // A database that no longer answers: not ready, and nothing of its error shown.
        server.store.clone().close().await.expect("close");
        let (status, body) = get("/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "[{label}] {body}");
        assert!(
            body.contains("the database does not answer"),
            "[{label}] {body}"
        );
        assert_eq!(get("/healthz").await.0, StatusCode::OK, "[{label}]");
        server.stop().await;
        db.drop_now().await;
    }
}

/// `/metrics` is off without a token and asks for it when set; it serves Prometheus' text
/// format with requests by route, method and status, their latency, the delivery queue
/// and the database's connections.
#[tokio::test]
async fn metrics_for_whoever_holds_the_token() {
    const TOKEN: &str = "jeton-des-metriques-0123456789";
    for db in TestDb::all().await {
        let label = db.label;
        let off = TestServer::start(&db).await;
        let response = off
            .client
            .get(off.url("/metrics"))
            .send()
            .await
            .expect("an answer");
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "[{label}] off by default"
        );
        off.stop().await;

        let server = TestServer::start_on(&db, 0, |c| {
            c.web.metrics_token = Some(TOKEN.into());
        })
        .await;
        let scrape = |token: Option<&str>| {
            let mut request = server.client.get(server.url("/metrics"));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            async move {
                let response = request.send().await.expect("an answer");
                let status = response.status();
                let kind = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                (status, kind, response.text().await.unwrap_or_default())
            }
        };
        assert_eq!(scrape(None).await.0, StatusCode::UNAUTHORIZED, "[{label}]");
        assert_eq!(
            scrape(Some("pas-le-bon-jeton")).await.0,
            StatusCode::UNAUTHORIZED,
            "[{label}]"
        );
        for _ in 0..3 {
            server
                .client
                .get(server.url("/api/v1/directory?q=coop"))
                .send()
                .await
                .expect("a search");
        }
        server
            .client
            .get(server.url("/api/v1/poles/nulle-part"))
            .send()
            .await
            .expect("a 404");
        // An activity that is not signed is refused, and counted with its reason.
        let refused = server
            .client
            .post(server.url("/inbox"))
            .header("content-type", "application/activity+json")
            .body(r#"{"type": "Like"}"#)
            .send()
            .await
            .expect("an answer");
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "[{label}]");
        let garbled = server
            .client
            .post(server.url("/inbox"))
            .header("content-type", "application/activity+json")
            .header("signature", "not a signature")
            .body(r#"{"type": "Like"}"#)
            .send()
            .await
            .expect("an answer");
        assert_eq!(garbled.status(), StatusCode::UNAUTHORIZED, "[{label}]");
        let (status, kind, text) = scrape(Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "[{label}] {text}");
        assert!(
            kind.starts_with("text/plain; version=0.0.4"),
            "[{label}] {kind}"
        );
        let line = |start: &str| {
            text.lines()
                .find(|l| l.starts_with(start))
                .unwrap_or_else(|| panic!("[{label}] no `{start}` in:\n{text}"))
                .to_owned()
        };
        let searches = line(
            "maillage_http_requests_total{method=\"GET\",route=\"/api/v1/directory\",status=\"200\"}",
        );
        assert!(searches.ends_with(" 3"), "[{label}] {searches}");
        line(
            "maillage_http_requests_total{method=\"GET\",route=\"/api/v1/poles/{slug}\",status=\"404\"}",
        );
        line(
            "maillage_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/directory\",le=\"0.5\"}",
        );
        // Counted by why they were refused, finer than the answer's code.
        line("maillage_inbox_activities_total{outcome=\"unsigned\"} 1");
        line("maillage_inbox_activities_total{outcome=\"malformed_signature\"} 1");
        line("maillage_deliveries{state=\"pending\"} 0");
        line("maillage_delivery_oldest_pending_seconds 0");
        line("maillage_unreachable_domains 0");
        let open = line("maillage_database_connections{state=\"open\"}");
        assert!(!open.ends_with(" 0"), "[{label}] {open}");
        line("maillage_database_connections{state=\"max\"} 4");
        assert!(
            !text.contains("nulle-part"),
            "[{label}] paths never become labels"
        );
        server.stop().await;
        db.drop_now().await;
    }
}

/// Scripts of any site read what the API lets anyone read, as they read the feeds; the
/// writes and a token's requests are not offered to them.
#[tokio::test]
async fn the_read_api_answers_other_sites_scripts() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db).await;
    let client = reqwest::Client::new();
    let res = client
        .get(server.url("/api/v1/directory?q=coopération"))
        .header("origin", "https://carte.example.org")
        .send()
        .await
        .expect("search");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let preflight = |method: &'static str, headers: &'static str| {
        client
            .request(Method::OPTIONS, server.url("/api/v1/directory"))
            .header("origin", "https://carte.example.org")
            .header("access-control-request-method", method)
            .header("access-control-request-headers", headers)
            .send()
    };
    let res = preflight("GET", "accept-language")
        .await
        .expect("preflight");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let methods = res.headers()["access-control-allow-methods"]
        .to_str()
        .expect("ASCII");
    assert!(
        methods.contains("GET") && !methods.contains("PUT"),
        "{methods}"
    );
    let allowed = res.headers()["access-control-allow-headers"]
        .to_str()
        .expect("ASCII");
    assert!(
        allowed.contains("accept-language") && !allowed.contains("authorization"),
        "{allowed}"
    );
    server.stop().await;
}
