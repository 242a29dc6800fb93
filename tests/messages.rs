//! Refusals in the reader's language, on SQLite and PostgreSQL: the administration's forms,
//! the directory's filters and the API say what is wrong in French (the default) or in
//! English, from the catalogue, and the API adds a stable code per field.

mod common;

use common::visitor::{PASSWORD, Visitor};
use common::{TestDb, TestServer};
use maillage::domain::{Code, Message};
use maillage::store::Role;
use maillage::web::pages::Lang;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Words of the English messages of checks that must not appear on a French page.
const ENGLISH: &[&str] = &[
    "is required",
    "is not a valid",
    "is not an e-mail",
    "is not a number",
    "must be",
    "must start",
    "not an editor",
    "is not the INSEE code",
    "at most",
];

/// Words of the French messages that must not appear on an English page.
const FRENCH: &[&str] = &[
    "est obligatoire",
    "n’est pas",
    "doit être",
    "doit commencer",
    "au plus",
    "éditeur·rice",
];

fn none_of(body: &str, words: &[&str], what: &str) {
    for word in words {
        assert!(!body.contains(word), "{what}: « {word} » in\n{body}");
    }
}

async fn setup(server: &TestServer) {
    for (path, body) in [
        (
            "/api/v1/poles",
            json!({"slug": "ptce-rhone", "name": "PTCE Rhône Solidaire", "territory": {"communes": ["69266"]}}),
        ),
        (
            "/api/v1/poles",
            json!({"slug": "ptce-breizh", "name": "Pôle Breizh Coop", "territory": {"communes": ["35238"]}}),
        ),
    ] {
        let res = server
            .client
            .post(server.url(path))
            .bearer_auth(&server.admin_token)
            .json(&body)
            .send()
            .await
            .expect("api");
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }
    let hash = maillage::auth::hash_password(PASSWORD).expect("hash");
    let editor = server
        .store
        .create_user("redactrice", None, Some(hash), Role::Editor)
        .await
        .expect("user");
    let pole = server.store.pole("ptce-rhone").await.expect("pole");
    server
        .store
        .grant_pole(editor.id, pole.id)
        .await
        .expect("grant");
}

/// The messages a wrong member form gets, in `lang`.
fn member_messages(lang: Lang) -> Vec<String> {
    [
        Message::new(Code::Required),
        Message::new(Code::InvalidSiret).arg("value", "73282932000075"),
        Message::new(Code::UrlScheme),
        Message::new(Code::NotANumber).arg("value", "deux mille"),
    ]
    .iter()
    .map(|m| lang.message(m))
    .collect()
}

async fn admin_forms(server: &TestServer, label: &str) {
    let mut v = Visitor::new(server);
    assert_eq!(
        v.sign_in("redactrice", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let member = [
        ("name", "Jardins de Cocagne"),
        ("siret", "732 829 320 00075"),
        ("website", "ftp://jardins.example.org"),
        ("joined_year", "deux mille"),
    ];
    let path = "/admin/poles/ptce-rhone/members/new";
    for lang in [Lang::Fr, Lang::En] {
        v.cookies.insert("lang".into(), lang.code().into());
        let wrong = v.submit(path, path, &member).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
        for expected in member_messages(lang) {
            assert!(
                wrong.body.contains(&expected),
                "[{label}] {lang:?}: « {expected} » in\n{}",
                wrong.body
            );
        }
        let label_of_legal_form = lang.t("member.legal_form");
        assert!(
            wrong.body.contains(&format!(
                "{label_of_legal_form}</a>{}{}",
                lang.colon(),
                lang.message(&Code::Required.into())
            )),
            "[{label}] {lang:?}: the legal form is required, by its label"
        );
        match lang {
            Lang::Fr => {
                assert!(wrong.body.contains("Forme juridique</a> : est obligatoire"));
                none_of(&wrong.body, ENGLISH, label);
            }
            Lang::En => none_of(&wrong.body, FRENCH, label),
        }
    }

    // The profile: an e-mail address, a SIREN and a commune that are not.
    v.cookies.insert("lang".into(), "fr".into());
    let path = "/admin/poles/ptce-rhone/profile";
    let wrong = v
        .submit(
            path,
            path,
            &[
                ("name", "PTCE Rhône Solidaire"),
                ("contact_email", "contact"),
                ("siren", "732829321"),
                ("territory.communes", "Nulle-Part-Sur-Rien"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
    for expected in [
        Lang::Fr.message(&Code::EmailNoAt.into()),
        Lang::Fr.message(&Message::new(Code::InvalidSiren).arg("value", "732829321")),
        Lang::Fr.message(&Message::new(Code::CommuneNotFound).arg("value", "Nulle-Part-Sur-Rien")),
    ] {
        assert!(
            wrong.body.contains(&expected),
            "[{label}] « {expected} » in\n{}",
            wrong.body
        );
    }
    none_of(&wrong.body, ENGLISH, label);

    // A pole this person does not edit: refused, in words of the page's language.
    let refused = v.get("/admin/poles/ptce-breizh/members/new").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "[{label}]");
    assert!(
        refused
            .body
            .contains(&Lang::Fr.message(&Code::NotEditor.into())),
        "[{label}] {}",
        refused.body
    );
    none_of(&refused.body, ENGLISH, label);
    v.cookies.insert("lang".into(), "en".into());
    let refused = v.get("/admin/poles/ptce-breizh/members/new").await;
    assert!(
        refused.body.contains("you are not an editor of this pole"),
        "[{label}] {}",
        refused.body
    );
}

async fn directory_filters(server: &TestServer, label: &str) {
    let mut v = Visitor::new(server);
    let page = v.get("/directory?region=99").await;
    assert_eq!(
        page.status,
        StatusCode::BAD_REQUEST,
        "[{label}] {}",
        page.body
    );
    assert!(
        page.body
            .contains("`99` n’est pas le code INSEE d’une région"),
        "[{label}] {}",
        page.body
    );
    none_of(&page.body, ENGLISH, label);
    v.cookies.insert("lang".into(), "en".into());
    let page = v.get("/directory?region=99").await;
    assert!(
        page.body.contains("`99` is not the INSEE code of a région"),
        "[{label}] {}",
        page.body
    );

    // The API: the same refusal, with its code and its parameter.
    for (lang, expected) in [
        (None, "`99` n’est pas le code INSEE d’une région"),
        (
            Some("en-GB,en;q=0.8"),
            "`99` is not the INSEE code of a région",
        ),
    ] {
        let mut req = server.client.get(server.url("/api/v1/directory?region=99"));
        if let Some(lang) = lang {
            req = req.header("accept-language", lang);
        }
        let res = req.send().await.expect("directory");
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "[{label}]");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"], "bad_request", "[{label}] {body}");
        assert_eq!(body["fields"][0]["field"], "region", "[{label}] {body}");
        assert_eq!(
            body["fields"][0]["code"], "unknown_region",
            "[{label}] {body}"
        );
        assert_eq!(
            body["fields"][0]["params"]["value"], "99",
            "[{label}] {body}"
        );
        assert_eq!(body["fields"][0]["message"], expected, "[{label}] {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains(expected),
            "[{label}] {body}"
        );
    }
}

async fn api_fields(server: &TestServer, label: &str) {
    let member = json!({"name": "", "siret": "73282932000075", "website": "ftp://x.org"});
    for lang in [None, Some("en")] {
        let mut req = server
            .client
            .post(server.url("/api/v1/poles/ptce-rhone/members"))
            .bearer_auth(&server.admin_token)
            .json(&member);
        if let Some(lang) = lang {
            req = req.header("accept-language", lang);
        }
        let res = req.send().await.expect("post");
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"], "invalid", "[{label}] {body}");
        let reader = if lang.is_some() { Lang::En } else { Lang::Fr };
        let fields = body["fields"].as_array().expect("fields");
        let codes: Vec<(&str, &str)> = fields
            .iter()
            .map(|f| {
                (
                    f["field"].as_str().unwrap_or_default(),
                    f["code"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            codes,
            [
                ("name", "required"),
                ("legal_form", "required"),
                ("siret", "invalid_siret"),
                ("website", "url_scheme"),
            ],
            "[{label}] {body}"
        );
        assert_eq!(fields[2]["params"]["value"], "73282932000075", "[{label}]");
        assert_eq!(
            fields[2]["message"],
            reader.message(&Message::new(Code::InvalidSiret).arg("value", "73282932000075")),
            "[{label}] {body}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .starts_with(reader.t("error.invalid_data")),
            "[{label}] {body}"
        );
    }
    // A refusal of the API, in the reader's language.
    let res = server
        .client
        .get(server.url("/api/v1/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "[{label}]");
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"], "unauthorized", "[{label}] {body}");
    assert_eq!(
        body["message"],
        Lang::Fr.message(&Code::TokenMissing.into()),
        "[{label}] {body}"
    );
}

#[tokio::test]
async fn refusals_are_in_the_readers_language() {
    common::init_logs();
    common::install_tls_provider();
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        setup(&server).await;
        admin_forms(&server, db.label).await;
        directory_filters(&server, db.label).await;
        api_fields(&server, db.label).await;
        server.stop().await;
        db.drop_now().await;
    }
}
