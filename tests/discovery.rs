//! Discovery and actor documents over HTTP: WebFinger, host-meta, NodeInfo, `Group` and `Application`.

mod common;

use common::{TestDb, TestServer};
use maillage::domain::{MemberInput, PoleInput};
use reqwest::StatusCode;
use serde_json::{Value, json};

const AP: &str = "application/activity+json";

async fn get(server: &TestServer, path: &str, accept: &str) -> (StatusCode, String, Value) {
    let res = server
        .client
        .get(server.url(path))
        .header("accept", accept)
        .send()
        .await
        .expect("request");
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = res.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, content_type, value)
}

async fn create_pole(server: &TestServer) {
    let pole: PoleInput = serde_json::from_value(json!({
        "slug": "pays-de-redon",
        "name": "Pôle Pays de Redon",
        "summary": "Coopérer <pour> un territoire vivant",
        "website": "https://ptce-redon.example.org",
        "contact_email": "contact@ptce-redon.example.org",
        "territory": {"communes": ["35236", "44184"], "kind": "rural", "label": "Pays de Redon"},
        "themes": ["renewable-energy"],
        "pooling": ["knowledge", "premises"],
        "shared_place": {"name": "La Maison de la coopération", "street": "3 rue des Douves", "postal_code": "35600", "commune": "35236", "latitude": 47.65, "longitude": -2.08},
        "recognitions": {"national_calls": [{"call": "call-2013", "year": 2013}], "charter_signed_year": 2014},
        "manually_approves_followers": true
    }))
    .expect("pole input");
    let record = server
        .store
        .create_pole(&pole.validate().expect("valid"))
        .await
        .expect("create");
    let member = MemberInput {
        name: "Énergies citoyennes".into(),
        legal_form: Some(maillage::domain::vocab::LegalForm::Scic),
        ..Default::default()
    };
    server
        .store
        .create_member(record.id, &member.validate().expect("valid"))
        .await
        .expect("member");
}

#[tokio::test]
async fn webfinger_host_meta_and_nodeinfo() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        create_pole(&server).await;
        let domain = server.base.trim_start_matches("http://").to_owned();

        let (status, content_type, jrd) = get(
            &server,
            &format!("/.well-known/webfinger?resource=acct:pays-de-redon@{domain}"),
            "*/*",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "[{}] {jrd}", db.label);
        assert!(
            content_type.starts_with("application/jrd+json"),
            "{content_type}"
        );
        assert_eq!(jrd["subject"], format!("acct:pays-de-redon@{domain}"));
        let link = jrd["links"]
            .as_array()
            .expect("links")
            .iter()
            .find(|l| l["rel"] == "self")
            .expect("self link")
            .clone();
        assert_eq!(link["type"], AP);
        assert_eq!(link["href"], server.url("/poles/pays-de-redon"));

        // The same pole by its actor URL, with an upper-case handle, and the instance actor.
        let (status, _, jrd) = get(
            &server,
            &format!(
                "/.well-known/webfinger?resource={}",
                server.url("/poles/pays-de-redon")
            ),
            "*/*",
        )
        .await;
        assert_eq!(
            (status, jrd["subject"].as_str()),
            (
                StatusCode::OK,
                Some(format!("acct:pays-de-redon@{domain}").as_str())
            )
        );
        let (status, _, _) = get(
            &server,
            &format!("/.well-known/webfinger?resource=acct:Pays-De-Redon@{domain}"),
            "*/*",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, jrd) = get(
            &server,
            &format!("/.well-known/webfinger?resource=acct:relay@{domain}"),
            "*/*",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            jrd["links"].to_string().contains(&server.url("/actor")),
            "{jrd}"
        );
        assert!(jrd["links"].to_string().contains("Application"), "{jrd}");

        for (query, expected) in [
            (
                "resource=acct:inconnu@".to_owned() + &domain,
                StatusCode::NOT_FOUND,
            ),
            (
                "resource=acct:pays-de-redon@elsewhere.example".to_owned(),
                StatusCode::NOT_FOUND,
            ),
            ("resource=acct:nobody".to_owned(), StatusCode::BAD_REQUEST),
            ("".to_owned(), StatusCode::BAD_REQUEST),
        ] {
            let (status, _, body) =
                get(&server, &format!("/.well-known/webfinger?{query}"), "*/*").await;
            assert_eq!(status, expected, "[{}] {query}: {body}", db.label);
            assert!(body["error"].is_string(), "{body}");
        }

        let (status, content_type, xrd) = get(&server, "/.well-known/host-meta", "*/*").await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("application/xrd+xml"));
        assert!(
            xrd.as_str()
                .unwrap_or_default()
                .contains(&server.url("/.well-known/webfinger?resource={uri}"))
        );

        let (_, _, links) = get(&server, "/.well-known/nodeinfo", "*/*").await;
        let links = links["links"].as_array().expect("links").clone();
        assert!(links.iter().any(|l| l["rel"]
            == "http://nodeinfo.diaspora.software/ns/schema/2.1"
            && l["href"] == server.url("/nodeinfo/2.1")));
        assert!(links.iter().any(|l| l["rel"]
            == "https://www.w3.org/ns/activitystreams#Application"
            && l["href"] == server.url("/actor")));
        let (status, _, info) = get(&server, "/nodeinfo/2.1", "*/*").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(info["version"], "2.1");
        assert_eq!(info["software"]["name"], "maillage");
        assert_eq!(info["protocols"], json!(["activitypub"]));
        assert_eq!(info["openRegistrations"], false);
        assert_eq!(info["usage"]["users"]["total"], 1);
        assert_eq!(info["metadata"]["poles"], 1);
        assert_eq!(info["metadata"]["nodeName"], "Maillage test");

        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
async fn pole_and_instance_actors() {
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        create_pole(&server).await;
        let id = server.url("/poles/pays-de-redon");

        let (status, content_type, group) = get(&server, "/poles/pays-de-redon", AP).await;
        assert_eq!(status, StatusCode::OK, "[{}] {group}", db.label);
        assert!(content_type.starts_with(AP), "{content_type}");
        assert_eq!(group["type"], "Group");
        assert_eq!(group["id"], id);
        assert_eq!(group["preferredUsername"], "pays-de-redon");
        assert_eq!(group["name"], "Pôle Pays de Redon");
        assert_eq!(
            group["summary"], "<p>Coopérer &lt;pour&gt; un territoire vivant</p>",
            "summaries are HTML, escaped"
        );
        for (field, path) in [
            ("inbox", "/inbox"),
            ("outbox", "/outbox"),
            ("followers", "/followers"),
            ("following", "/following"),
        ] {
            assert_eq!(group[field], format!("{id}{path}"));
        }
        assert_eq!(group["endpoints"]["sharedInbox"], server.url("/inbox"));
        assert_eq!(group["manuallyApprovesFollowers"], true);
        assert_eq!(group["discoverable"], true);
        assert_eq!(group["publicKey"]["id"], format!("{id}#main-key"));
        assert_eq!(group["publicKey"]["owner"], id);
        let pem = group["publicKey"]["publicKeyPem"]
            .as_str()
            .expect("pem")
            .to_owned();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
        assert!(
            !group.to_string().contains("PRIVATE KEY"),
            "the private key never leaves the instance"
        );
        let attachment = group["attachment"].as_array().expect("attachment");
        let names: Vec<&str> = attachment
            .iter()
            .map(|a| a["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, ["Site web", "Contact", "Territoire"]);
        assert!(attachment.iter().all(|a| a["type"] == "PropertyValue"));
        assert_eq!(group["location"]["type"], "Place");
        assert_eq!(group["location"]["address"]["type"], "PostalAddress");
        assert_eq!(group["location"]["address"]["postalCode"], "35600");
        assert_eq!(group["location"]["address"]["addressLocality"], "Redon");
        assert_eq!(group["location"]["latitude"], 47.65);
        assert_eq!(group["territory"]["communes"], json!(["35236", "44184"]));
        assert_eq!(group["territory"]["departements"], json!(["35", "44"]));
        assert_eq!(group["territory"]["regions"], json!(["52", "53"]));
        assert_eq!(group["pooling"], json!(["knowledge", "premises"]));
        assert_eq!(group["members"][0]["legalForm"], "scic");
        assert_eq!(
            group["recognitions"]["nationalCalls"][0]["call"],
            "call-2013"
        );
        let context = group["@context"].as_array().expect("context");
        assert_eq!(context[0], "https://www.w3.org/ns/activitystreams");
        assert!(
            context[2].is_object(),
            "our terms are inline, not a remote document"
        );
        for term in [
            "territory",
            "themes",
            "pooling",
            "members",
            "recognitions",
            "PropertyValue",
            "PostalAddress",
        ] {
            assert!(context[2].get(term).is_some(), "term {term} is defined");
        }

        // The key is generated once and kept, across requests and restarts.
        let (_, _, again) = get(
            &server,
            "/poles/pays-de-redon",
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
        )
        .await;
        assert_eq!(again["publicKey"]["publicKeyPem"], pem);
        let record = server.store.pole("pays-de-redon").await.expect("pole");
        let reopened = common::store(&db).await;
        assert_eq!(
            reopened
                .pole_keys(record.id)
                .await
                .expect("keys")
                .public_key,
            pem
        );

        // A browser gets a page.
        let (status, content_type, page) = get(
            &server,
            "/poles/pays-de-redon",
            "text/html,application/xhtml+xml",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/html"));
        assert!(
            page.as_str()
                .unwrap_or_default()
                .contains("@pays-de-redon@"),
            "{page}"
        );

        let (status, _, app) = get(&server, "/actor", AP).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(app["type"], "Application");
        assert_eq!(app["preferredUsername"], "relay");
        assert_eq!(app["id"], server.url("/actor"));
        assert_eq!(app["publicKey"]["owner"], server.url("/actor"));
        assert_ne!(
            app["publicKey"]["publicKeyPem"], pem,
            "each actor has its own key"
        );

        server
            .store
            .delete_pole("pays-de-redon")
            .await
            .expect("delete");
        let (status, _, _) = get(&server, "/poles/pays-de-redon", AP).await;
        assert_eq!(status, StatusCode::GONE);
        let (status, _, _) = get(&server, "/poles/inconnu", AP).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        reopened.close().await.ok();
        server.stop().await;
        db.drop_now().await;
    }
}
