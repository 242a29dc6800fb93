//! The directory's commune and EPCI filters given by name or postal code, on the page and
//! the API, on SQLite and (when configured) PostgreSQL: one match filters, several are
//! refused with the candidates, none with a clear message.

mod common;

use maillage::domain::pole::PoleInput;
use maillage::domain::{Pole, TerritoryInput};
use reqwest::StatusCode;

use common::TestDb;

const SAINT_ETIENNE: &str = "42218";
const LE_MANS: &str = "72181";

fn pole(slug: &str, name: &str, commune: &str) -> Pole {
    PoleInput {
        slug: slug.into(),
        name: name.into(),
        summary: Some("Un pôle territorial de l'économie sociale et solidaire".into()),
        territory: TerritoryInput {
            communes: vec![commune.into()],
            ..Default::default()
        },
        ..Default::default()
    }
    .validate()
    .expect("valid pole")
}

#[tokio::test]
async fn communes_and_epcis_are_found_by_name_or_postal_code() {
    common::install_tls_provider();
    for db in TestDb::all().await {
        let label = db.label;
        let server = common::TestServer::start(&db).await;
        for p in [
            pole("forez", "Pôle du Forez", SAINT_ETIENNE),
            pole("sarthe", "Pôle de la Sarthe", LE_MANS),
        ] {
            server.store.create_pole(&p).await.expect("pole");
        }
        let get = |path: String| {
            let client = server.client.clone();
            let url = server.url(&path);
            async move {
                let response = client
                    .get(url)
                    .header("accept-language", "fr")
                    .send()
                    .await
                    .expect("get");
                let status = response.status();
                (status, response.text().await.unwrap_or_default())
            }
        };
        let names = |body: &str| {
            let value: serde_json::Value = serde_json::from_str(body).expect("json");
            let mut names: Vec<String> = value["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| item["title"].as_str().or(item["name"].as_str()))
                .map(str::to_owned)
                .collect();
            names.sort();
            names
        };

        for (filter, expected) in [
            ("commune=St%20Etienne", "Pôle du Forez"),
            ("commune=42218", "Pôle du Forez"),
            ("commune=72000", "Pôle de la Sarthe"),
            ("commune=le%20mans", "Pôle de la Sarthe"),
            ("commune=Le%20Mans%20(72181)", "Pôle de la Sarthe"),
            ("epci=Saint-%C3%89tienne%20M%C3%A9tropole", "Pôle du Forez"),
            ("epci=244200770", "Pôle du Forez"),
        ] {
            let (status, body) = get(format!("/api/v1/directory?kind=pole&{filter}")).await;
            assert_eq!(status, StatusCode::OK, "[{label}] {filter}: {body}");
            assert_eq!(names(&body), [expected], "[{label}] {filter}: {body}");
            let (status, page) = get(format!("/directory?kind=pole&{filter}")).await;
            assert_eq!(status, StatusCode::OK, "[{label}] {filter}");
            assert!(page.contains(expected), "[{label}] {filter}: {page}");
            // The field shows the place found, with its code.
            let shown = match filter {
                f if f.starts_with("epci") => "value=\"Saint-Étienne Métropole (244200770)\"",
                _ if expected == "Pôle du Forez" => "value=\"Saint-Étienne (42218)\"",
                _ => "value=\"Le Mans (72181)\"",
            };
            assert!(page.contains(shown), "[{label}] {filter}: {page}");
            let other = if expected == "Pôle du Forez" {
                "Pôle de la Sarthe"
            } else {
                "Pôle du Forez"
            };
            assert!(!page.contains(other), "[{label}] {filter}: {page}");
        }

        // The suggestions come from a script of the site's own (the form works without it).
        let (_, page) = get("/directory".to_owned()).await;
        let script = page
            .split("src=\"")
            .filter_map(|rest| rest.split('"').next())
            .find(|src| src.contains("js/place-suggest."))
            .unwrap_or_else(|| panic!("[{label}] no suggestion script: {page}"))
            .to_owned();
        let (status, js) = get(script).await;
        assert_eq!(status, StatusCode::OK, "[{label}]");
        assert!(js.contains("/api/v1/communes"), "[{label}] {js}");

        // Several communes are named Saint-Denis: the answer lists them, to choose one.
        for path in [
            "/api/v1/directory?commune=Saint-Denis",
            "/directory?commune=Saint-Denis",
        ] {
            let (status, body) = get(path.to_owned()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "[{label}] {path}: {body}");
            assert!(
                body.contains("plusieurs communes correspondent à « Saint-Denis »")
                    && body.contains("Saint-Denis (93066)")
                    && body.contains("Saint-Denis (97411)"),
                "[{label}] {path}: {body}"
            );
        }
        for (path, message) in [
            (
                "/api/v1/directory?commune=Nulle-Part-sur-Rien",
                "aucune commune ne correspond à « Nulle-Part-sur-Rien »",
            ),
            (
                "/directory?commune=Nulle-Part-sur-Rien",
                "aucune commune ne correspond à « Nulle-Part-sur-Rien »",
            ),
            (
                "/api/v1/directory?epci=Communaut%C3%A9%20de%20nulle%20part",
                "aucun EPCI ne correspond à « Communauté de nulle part »",
            ),
        ] {
            let (status, body) = get(path.to_owned()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "[{label}] {path}: {body}");
            assert!(body.contains(message), "[{label}] {path}: {body}");
        }
        // A feed refuses an ambiguous commune as the API does.
        let (status, body) = get("/feeds/directory.atom?commune=Saint-Denis".to_owned()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "[{label}] {body}");
        assert!(body.contains("Saint-Denis (93066)"), "[{label}] {body}");
        let (status, body) = get("/feeds/directory.atom?commune=72000".to_owned()).await;
        assert_eq!(status, StatusCode::OK, "[{label}] {body}");
        assert!(
            body.contains("Pôle de la Sarthe") && !body.contains("Pôle du Forez"),
            "[{label}] {body}"
        );
        server.stop().await;
        db.drop_now().await;
    }
}
