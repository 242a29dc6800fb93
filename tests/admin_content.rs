//! What a pole's volunteers do from the administration rather than the API, on SQLite and
//! PostgreSQL: the logo and banner, every field the API accepts, creating and deleting
//! poles, the page that asks before deleting, and saving a form unchanged, which publishes
//! nothing.

mod common;

use common::visitor::{Answer, PASSWORD, Visitor, csrf};
use common::{PIXEL_PNG, TestDb, TestServer, count, count_rows};
use maillage::store::{NewRemoteActor, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn person(server: &TestServer, name: &str, role: Role) -> i64 {
    let hash = maillage::auth::hash_password(PASSWORD).expect("hash");
    server
        .store
        .create_user(name, None, Some(hash), role)
        .await
        .expect("user")
        .id
}

async fn api(server: &TestServer, path: &str, body: Value) -> Value {
    let res = server
        .client
        .post(server.url(path))
        .bearer_auth(&server.admin_token)
        .json(&body)
        .send()
        .await
        .expect("api");
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.expect("json")
}

/// What the setup made: the public ids of the project, event and call, and the member's id.
struct Made {
    project: String,
    event: String,
    call: String,
    member: i64,
}

/// Two poles, the first with everything the API can give it (recognitions, a project with a
/// partner, a territory and links, an event organised with the second pole, a call with a
/// territory), a follower whose inbox answers nothing (so that every activity is queued for
/// it), an administrator and an editor of the first pole.
async fn setup(server: &TestServer) -> Made {
    api(
        server,
        "/api/v1/poles",
        json!({"slug": "ptce-rhone", "name": "PTCE Rhône Solidaire", "summary": "Coopérer à Villeurbanne",
               "description": "Un <em>pôle</em> de coopération.", "description_format": "html",
               "territory": {"communes": ["69266", "69123"], "kind": "urban-district", "label": "Est lyonnais"},
               "themes": ["mobility", "agriculture-food"], "pooling": ["premises", "knowledge"],
               "recognitions": {"national_calls": [{"call": "other", "year": 2019}, {"call": "call-2013", "year": 2013}],
                                "charter_signed_year": 2014},
               "shared_place": {"name": "La Fabrique", "locality": "Quartier Gratte-Ciel", "commune": "69266",
                                "latitude": 45.77, "longitude": 4.88}}),
    )
    .await;
    api(
        server,
        "/api/v1/poles",
        json!({"slug": "ptce-breizh", "name": "Pôle Breizh Coop", "territory": {"communes": ["35238"]}}),
    )
    .await;
    let member = api(
        server,
        "/api/v1/poles/ptce-rhone/members",
        json!({"name": "Jardins de Cocagne", "legal_form": "association"}),
    )
    .await["id"]
        .as_i64()
        .expect("member id");
    let project = api(
        server,
        "/api/v1/poles/ptce-rhone/projects",
        json!({"title": "Légumerie solidaire", "partner_member_ids": [member],
               "themes": ["agriculture-food", "insertion-employment"],
               "territory": {"communes": ["69266"], "label": "Villeurbanne"},
               "links": [{"title": "Le site", "url": "https://legumerie.example.org"}, {"url": "https://example.org/doc"}]}),
    )
    .await["id"]
        .as_str()
        .expect("project id")
        .to_owned();
    let event = api(
        server,
        "/api/v1/poles/ptce-rhone/events",
        json!({"title": "Marché des producteurs", "starts_at": "2030-05-04T09:00", "ends_at": "2030-05-04T13:00",
               "organiser_poles": ["ptce-breizh"], "themes": ["mobility", "agriculture-food"],
               "place": {"name": "Place Lazare-Goujon", "commune": "69266", "latitude": 45.766, "longitude": 4.879}}),
    )
    .await["id"]
        .as_str()
        .expect("event id")
        .to_owned();
    let call = api(
        server,
        "/api/v1/poles/ptce-rhone/calls",
        json!({"title": "Cherche un local", "direction": "seeking", "subjects": ["premises", "equipment"],
               "how_to_answer": "Écrire à contact@example.org", "territory": {"communes": ["69266"]}}),
    )
    .await["id"]
        .as_str()
        .expect("call id")
        .to_owned();
    person(server, "webadmin", Role::Admin).await;
    let editor = person(server, "editrice", Role::Editor).await;
    let pole = server.store.pole("ptce-rhone").await.expect("pole");
    server
        .store
        .grant_pole(editor, pole.id)
        .await
        .expect("grant");
    let remote = server
        .store
        .upsert_remote_actor(&NewRemoteActor {
            ap_id: "http://127.0.0.1:9/actor".into(),
            kind: "Person".into(),
            username: Some("abonnee".into()),
            name: None,
            domain: "127.0.0.1:9".into(),
            inbox: "http://127.0.0.1:9/inbox".into(),
            shared_inbox: None,
            key_id: None,
            public_key_pem: None,
            url: None,
        })
        .await
        .expect("follower actor");
    server
        .store
        .add_follower(
            &pole.ap_id,
            Some(pole.id),
            remote.id,
            "http://127.0.0.1:9/follows/1",
            "accepted",
        )
        .await
        .expect("follower");
    Made {
        project,
        event,
        call,
        member,
    }
}

/// Once every change is published: how many changes and queued activities there are.
async fn settled(server: &TestServer) -> (i64, i64) {
    common::eventually("every change published", || async {
        count(
            &server.store,
            "SELECT COUNT(*) FROM changes WHERE federated_at IS NULL",
        )
        .await
            == 0
    })
    .await;
    (
        count_rows(&server.store, "changes").await,
        count_rows(&server.store, "outgoing_activities").await,
    )
}

/// Activities queued whose body holds `text`.
async fn queued_with(server: &TestServer, text: &str) -> i64 {
    count(
        &server.store,
        &format!(
            "SELECT COUNT(*) FROM outgoing_activities WHERE body LIKE '%{}%'",
            text.replace('\'', "''")
        ),
    )
    .await
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in the opening tag `tag`.
fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    tag[start..].split('"').next().map(unescape)
}

/// What a browser sends for the form posted to `action` on `html`, as it is filled.
fn form_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form posted to {action} in {html}"));
    let form = &html[start..start + html[start..].find("</form>").expect("end of form")];
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        let end = rest.find('>').expect("end of tag");
        let tag = &rest[..=end];
        if tag.starts_with("<input") {
            let name = attr(tag, "name");
            let kind = attr(tag, "type").unwrap_or_else(|| "text".into());
            if let Some(name) = name {
                let checkable = kind == "checkbox" || kind == "radio";
                if !checkable || tag.contains(" checked") {
                    out.push((name, attr(tag, "value").unwrap_or_default()));
                }
            }
        } else if tag.starts_with("<textarea") {
            let body = &rest[end + 1..];
            let value = &body[..body.find("</textarea>").expect("end of textarea")];
            out.push((attr(tag, "name").expect("textarea name"), unescape(value)));
        } else if tag.starts_with("<select") {
            let body = &rest[end + 1..];
            let options = &body[..body.find("</select>").expect("end of select")];
            let chosen = options
                .split("<option")
                .skip(1)
                .find(|o| {
                    o.split('>')
                        .next()
                        .unwrap_or_default()
                        .contains(" selected")
                })
                .and_then(|o| attr(&format!(" {o}"), "value"))
                .unwrap_or_default();
            out.push((attr(tag, "name").expect("select name"), chosen));
        }
        rest = &rest[end + 1..];
    }
    out
}

/// Replaces the value of `name` (or adds it).
fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(k, _)| k != name);
    fields.push((name.to_owned(), value.to_owned()));
}

async fn post_owned(v: &mut Visitor, action: &str, fields: &[(String, String)]) -> Answer {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    v.post(action, &pairs).await
}

/// Opens the form at `page` and saves it as it is.
async fn save_as_is(v: &mut Visitor, page: &str, label: &str) -> Answer {
    let form = v.get(page).await;
    assert_eq!(
        form.status,
        StatusCode::OK,
        "[{label}] {page}: {}",
        form.body
    );
    let fields = form_fields(&form.body, page);
    let saved = post_owned(v, page, &fields).await;
    assert_eq!(
        saved.status,
        StatusCode::SEE_OTHER,
        "[{label}] {page}: {}",
        saved.body
    );
    saved
}

async fn signed_in(server: &TestServer, name: &str) -> Visitor {
    let mut v = Visitor::new(server);
    assert_eq!(
        v.sign_in(name, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    v
}

#[tokio::test]
async fn saving_a_form_unchanged_publishes_nothing() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let made = setup(&server).await;
        let mut v = signed_in(&server, "editrice").await;
        let before = settled(&server).await;
        let member = made.member;
        let versions = |server: &TestServer| {
            let store = server.store.clone();
            let (project, event, call) =
                (made.project.clone(), made.event.clone(), made.call.clone());
            async move {
                let pole = store.pole("ptce-rhone").await.expect("pole");
                vec![
                    pole.version,
                    store.project(&project).await.expect("project").version,
                    store.event(&event).await.expect("event").version,
                    store.call(&call).await.expect("call").version,
                    store.member(pole.id, member).await.expect("member").version,
                ]
            }
        };
        let versions_before = versions(&server).await;
        let pages = [
            "/admin/poles/ptce-rhone/profile".to_owned(),
            format!("/admin/projects/{}", made.project),
            format!("/admin/events/{}", made.event),
            format!("/admin/calls/{}", made.call),
            format!("/admin/poles/ptce-rhone/members/{}", made.member),
        ];
        for page in &pages {
            let saved = save_as_is(&mut v, page, label).await;
            assert!(
                saved.location.contains("done=Rien"),
                "[{label}] {page} says nothing changed: {}",
                saved.location
            );
        }
        // The publisher is woken by each save: give it the time to publish anything.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(
            settled(&server).await,
            before,
            "[{label}] no change recorded, no activity queued"
        );
        assert_eq!(
            versions(&server).await,
            versions_before,
            "[{label}] no new version"
        );
        assert_eq!(queued_with(&server, "\"Update\"").await, 0, "[{label}]");
        // The API's PATCH of a field to its own value is no change either: same ETag.
        let patched = server
            .client
            .patch(server.url(&format!("/api/v1/events/{}", made.event)))
            .bearer_auth(&server.admin_token)
            .header("content-type", "application/merge-patch+json")
            .body(r#"{"title": "Marché des producteurs"}"#)
            .send()
            .await
            .expect("patch");
        assert_eq!(patched.status(), StatusCode::OK, "[{label}]");
        assert_eq!(
            patched.headers().get("etag").and_then(|v| v.to_str().ok()),
            Some(format!("\"{}\"", versions_before[2]).as_str()),
            "[{label}] the event keeps its version"
        );

        // The same forms with one change do publish, each an Update.
        for page in &pages[..4] {
            let form = v.get(page).await;
            let mut fields = form_fields(&form.body, page);
            set(&mut fields, "summary", "Résumé changé depuis le formulaire");
            let saved = post_owned(&mut v, page, &fields).await;
            assert_eq!(
                saved.status,
                StatusCode::SEE_OTHER,
                "[{label}] {page}: {}",
                saved.body
            );
        }
        let after = settled(&server).await;
        assert_eq!(after.0, before.0 + 4, "[{label}] four changes recorded");
        common::eventually("four updates queued", || async {
            queued_with(&server, "\"Update\"").await == 4
        })
        .await;

        // An image uploaded again is no change either.
        let mut admin = signed_in(&server, "webadmin").await;
        let images = "/admin/poles/ptce-rhone/images";
        for _ in 0..2 {
            let token = csrf(&admin.get(images).await.body);
            let sent = admin
                .post_files(
                    &format!("{images}/logo"),
                    &[("_csrf", &token)],
                    &[("image", "logo.png", PIXEL_PNG)],
                )
                .await;
            assert_eq!(
                sent.status,
                StatusCode::SEE_OTHER,
                "[{label}] {}",
                sent.body
            );
        }
        let pole = server.store.pole("ptce-rhone").await.expect("pole");
        assert_eq!(
            pole.version,
            versions_before[0] + 2,
            "[{label}] the summary, then the logo once"
        );
        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
async fn every_field_the_api_accepts_is_edited_from_the_forms() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let made = setup(&server).await;
        let mut v = signed_in(&server, "editrice").await;

        // The profile shows the recognitions and keeps them; a wrong year is named by its call.
        let page = "/admin/poles/ptce-rhone/profile";
        let form = v.get(page).await;
        let mut fields = form_fields(&form.body, page);
        let value = |fields: &[(String, String)], name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(
            value(&fields, "recognitions.call-2013"),
            "2013",
            "[{label}]"
        );
        assert_eq!(value(&fields, "recognitions.other"), "2019", "[{label}]");
        assert_eq!(value(&fields, "recognitions.charter_signed_year"), "2014");
        assert_eq!(value(&fields, "description_format"), "html", "[{label}]");
        assert_eq!(
            value(&fields, "shared_place.locality"),
            "Quartier Gratte-Ciel",
            "[{label}]"
        );
        set(&mut fields, "recognitions.ami-2021", "1999");
        set(&mut fields, "recognitions.call-2015", "deux mille quinze");
        let wrong = post_owned(&mut v, page, &fields).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
        assert!(
            wrong.body.contains("id=\"f-recognitions-ami-2021-error\"")
                && wrong.body.contains("id=\"f-recognitions-call-2015-error\"")
                && wrong
                    .body
                    .contains("`deux mille quinze` n’est pas une année"),
            "[{label}] each wrong year next to its call: {}",
            &wrong.body[wrong.body.find("form-errors").unwrap_or(0)..][..1500]
        );
        set(&mut fields, "recognitions.ami-2021", "2021");
        set(&mut fields, "recognitions.call-2015", "");
        set(&mut fields, "recognitions.other", "2016, 2019");
        set(&mut fields, "shared_place.locality", "");
        let saved = post_owned(&mut v, page, &fields).await;
        assert_eq!(
            saved.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            saved.body
        );
        let pole = server.store.pole("ptce-rhone").await.expect("pole");
        let won: Vec<(&str, i32)> = pole
            .pole
            .recognitions
            .national_calls
            .iter()
            .map(|w| (w.call.id(), w.year))
            .collect();
        assert_eq!(
            won,
            vec![
                ("other", 2019),
                ("call-2013", 2013),
                ("ami-2021", 2021),
                ("other", 2016)
            ],
            "[{label}] stored ones keep their order, new ones follow"
        );
        assert_eq!(
            pole.pole
                .shared_place
                .as_ref()
                .and_then(|p| p.locality.as_deref()),
            Some("Villeurbanne"),
            "[{label}] an empty locality is the commune's name"
        );

        // A project: its partners, territory and links.
        let page = format!("/admin/projects/{}", made.project);
        let form = v.get(&page).await;
        assert!(
            form.body.contains(&format!(
                "name=\"partner_member_ids\" value=\"{}\" checked",
                made.member
            )),
            "[{label}] the partner is ticked"
        );
        let mut fields = form_fields(&form.body, &page);
        assert_eq!(value(&fields, "links[1].url"), "https://example.org/doc");
        assert_eq!(value(&fields, "links[2].url"), "", "[{label}] a spare row");
        fields.retain(|(k, _)| k != "partner_member_ids");
        set(
            &mut fields,
            "territory.communes",
            "Villeurbanne\nVaulx-en-Velin",
        );
        set(&mut fields, "territory.kind", "peri-urban");
        set(&mut fields, "links[0].url", "");
        set(&mut fields, "links[0].title", "");
        set(&mut fields, "links[2].title", "Le dossier");
        set(&mut fields, "links[2].url", "https://example.org/dossier");
        let saved = post_owned(&mut v, &page, &fields).await;
        assert_eq!(
            saved.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            saved.body
        );
        let project = server.store.project(&made.project).await.expect("project");
        assert!(project.data.partner_member_ids.is_empty(), "[{label}]");
        assert_eq!(project.data.territory.communes, vec!["69266", "69256"]);
        assert_eq!(
            project.data.territory.kind.map(|k| k.id()),
            Some("peri-urban")
        );
        let urls: Vec<&str> = project.data.links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(
            urls,
            vec!["https://example.org/doc", "https://example.org/dossier"],
            "[{label}] an emptied row is dropped, a filled spare one added"
        );
        set(&mut fields, "links[3].url", "javascript:alert(1)");
        let wrong = post_owned(&mut v, &page, &fields).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
        assert!(
            wrong.body.contains("aria-invalid=\"true\""),
            "[{label}] {}",
            wrong.body
        );

        // A new project with a partner.
        let created = v
            .submit(
                "/admin/poles/ptce-rhone/projects/new",
                "/admin/poles/ptce-rhone/projects/new",
                &[
                    ("title", "Recyclerie"),
                    ("status", "idea"),
                    ("partner_member_ids", &made.member.to_string()),
                    ("territory.communes", "69266"),
                    ("links[0].url", "https://recyclerie.example.org"),
                ],
            )
            .await;
        assert_eq!(
            created.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            created.body
        );
        let json = common::ok(
            &server,
            reqwest::Method::GET,
            "/api/v1/poles/ptce-rhone/projects",
            None,
        )
        .await;
        let recyclerie = json["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["title"] == "Recyclerie")
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(
            recyclerie["partner_member_ids"],
            json!([made.member]),
            "[{label}] {json}"
        );
        assert_eq!(
            recyclerie["links"][0]["url"], "https://recyclerie.example.org/",
            "[{label}]"
        );

        // An event's co-organisers; a call's territory.
        let page = format!("/admin/events/{}", made.event);
        let form = v.get(&page).await;
        assert!(
            form.body
                .contains("name=\"organiser_poles\" value=\"ptce-breizh\" checked"),
            "[{label}] {}",
            form.body
        );
        let mut fields = form_fields(&form.body, &page);
        fields.retain(|(k, _)| k != "organiser_poles");
        fields.retain(|(k, v)| !(k == "themes" && v == "mobility"));
        let saved = post_owned(&mut v, &page, &fields).await;
        assert_eq!(
            saved.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            saved.body
        );
        let event = server.store.event(&made.event).await.expect("event");
        assert!(event.data.organiser_poles.is_empty(), "[{label}]");
        assert_eq!(
            event.data.themes.iter().map(|t| t.id()).collect::<Vec<_>>(),
            vec!["agriculture-food"]
        );
        let mut fields = form_fields(&v.get(&page).await.body, &page);
        fields.push(("organiser_poles".into(), "ptce-breizh".into()));
        let saved = post_owned(&mut v, &page, &fields).await;
        assert_eq!(
            saved.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            saved.body
        );
        let event = server.store.event(&made.event).await.expect("event");
        assert_eq!(event.data.organiser_poles, vec!["ptce-breizh"], "[{label}]");

        let page = format!("/admin/calls/{}", made.call);
        let mut fields = form_fields(&v.get(&page).await.body, &page);
        assert_eq!(
            value(&fields, "territory.communes"),
            "Villeurbanne (69266)",
            "[{label}]"
        );
        set(&mut fields, "territory.communes", "Nulle-Part-Sur-Rien");
        let wrong = post_owned(&mut v, &page, &fields).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
        assert!(wrong.body.contains("id=\"f-territory-communes-error\""));
        assert!(
            wrong.body.contains(">Nulle-Part-Sur-Rien</textarea>"),
            "[{label}] what was typed stays"
        );
        set(&mut fields, "territory.communes", "35238");
        let saved = post_owned(&mut v, &page, &fields).await;
        assert_eq!(
            saved.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            saved.body
        );
        let call = server.store.call(&made.call).await.expect("call");
        assert_eq!(call.data.territory.communes, vec!["35238"], "[{label}]");
        server.stop().await;
        db.drop_now().await;
    }
}

/// The confirmation page of `path`: 200, the name asked about, a form with its token that
/// posts to the same address, and a way back.
async fn asks(v: &mut Visitor, path: &str, name: &str, label: &str) -> String {
    let page = v.get(path).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "[{label}] {path}: {}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("<h1>Supprimer « {name} » ?</h1>")),
        "[{label}] {path}: {}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("<form method=\"post\" action=\"{path}\""))
            && page.body.contains(">Annuler</a>"),
        "[{label}] {path}: {}",
        page.body
    );
    csrf(&page.body)
}

#[tokio::test]
async fn deleting_asks_first_then_deletes_and_tells_followers() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let made = setup(&server).await;
        let mut v = signed_in(&server, "editrice").await;
        let hub = v.get("/admin/poles/ptce-rhone").await.body;
        for path in [
            format!("/admin/projects/{}/delete", made.project),
            format!("/admin/events/{}/delete", made.event),
            format!("/admin/calls/{}/delete", made.call),
            format!("/admin/poles/ptce-rhone/members/{}/delete", made.member),
        ] {
            assert!(
                hub.contains(&format!("<a href=\"{path}\">")),
                "[{label}] the hub links to the confirmation {path}"
            );
        }
        settled(&server).await;

        let cases = [
            (
                format!("/admin/projects/{}/delete", made.project),
                "Légumerie solidaire",
            ),
            (
                format!("/admin/events/{}/delete", made.event),
                "Marché des producteurs",
            ),
            (
                format!("/admin/calls/{}/delete", made.call),
                "Cherche un local",
            ),
            (
                format!("/admin/poles/ptce-rhone/members/{}/delete", made.member),
                "Jardins de Cocagne",
            ),
        ];
        for (path, name) in &cases {
            let token = asks(&mut v, path, name, label).await;
            // Asking deleted nothing, and a post without the token deletes nothing.
            let forged = v.post(path, &[]).await;
            assert_eq!(forged.status, StatusCode::FORBIDDEN, "[{label}] {path}");
            let done = v.post(path, &[("_csrf", &token)]).await;
            assert_eq!(
                done.status,
                StatusCode::SEE_OTHER,
                "[{label}] {path}: {}",
                done.body
            );
            assert!(done.location.starts_with("/admin/poles/ptce-rhone?done="));
        }
        assert!(
            server.store.project(&made.project).await.is_err(),
            "[{label}]"
        );
        assert!(server.store.event(&made.event).await.is_err(), "[{label}]");
        assert!(server.store.call(&made.call).await.is_err(), "[{label}]");
        let pole = server.store.pole("ptce-rhone").await.expect("pole");
        assert!(server.store.member(pole.id, made.member).await.is_err());
        settled(&server).await;
        assert_eq!(
            queued_with(&server, "\"Delete\"").await,
            3,
            "[{label}] the project, event and call deleted for the follower"
        );

        // Poles: administrators only.
        assert_eq!(
            v.get("/admin/poles/ptce-rhone/delete").await.status,
            StatusCode::FORBIDDEN,
            "[{label}]"
        );
        assert!(!hub.contains("/admin/poles/ptce-rhone/delete"), "[{label}]");
        let mut admin = signed_in(&server, "webadmin").await;
        assert!(
            admin
                .get("/admin/poles/ptce-rhone")
                .await
                .body
                .contains("href=\"/admin/poles/ptce-rhone/delete\""),
            "[{label}]"
        );
        let token = csrf(&admin.get("/admin/poles/ptce-rhone/profile").await.body);
        let refused = v
            .post("/admin/poles/ptce-rhone/delete", &[("_csrf", &token)])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "[{label}] an editor");
        let path = "/admin/poles/ptce-rhone/delete";
        let token = asks(&mut admin, path, "PTCE Rhône Solidaire", label).await;
        let done = admin.post(path, &[("_csrf", &token)]).await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            done.body
        );
        assert!(done.location.starts_with("/admin?done="), "[{label}]");
        assert!(server.store.pole("ptce-rhone").await.is_err(), "[{label}]");
        assert_eq!(
            admin.get("/poles/ptce-rhone").await.status,
            StatusCode::GONE,
            "[{label}]"
        );
        settled(&server).await;
        common::eventually("the pole's Delete queued", || async {
            queued_with(&server, "\"Delete\"").await == 4
        })
        .await;
        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
async fn administrators_create_poles_from_the_administration() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        setup(&server).await;
        let mut editor = signed_in(&server, "editrice").await;
        assert_eq!(
            editor.get("/admin/new-pole").await.status,
            StatusCode::FORBIDDEN,
            "[{label}]"
        );
        assert!(!editor.get("/admin").await.body.contains("/admin/new-pole"));
        let mut v = signed_in(&server, "webadmin").await;
        assert!(
            v.get("/admin")
                .await
                .body
                .contains("href=\"/admin/new-pole\"")
        );
        let wrong = v
            .submit(
                "/admin/new-pole",
                "/admin/new-pole",
                &[("slug", "pas un identifiant"), ("name", "")],
            )
            .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
        assert!(
            wrong.body.contains("id=\"f-slug-error\"")
                && wrong.body.contains("id=\"f-name-error\"")
                && wrong.body.contains("value=\"pas un identifiant\""),
            "[{label}] {}",
            wrong.body
        );
        let taken = v
            .submit(
                "/admin/new-pole",
                "/admin/new-pole",
                &[("slug", "ptce-breizh"), ("name", "Un autre")],
            )
            .await;
        assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
        assert!(taken.body.contains("id=\"f-slug-error\""), "[{label}]");
        let made = v
            .submit(
                "/admin/new-pole",
                "/admin/new-pole",
                &[
                    ("slug", "ptce-drome"),
                    ("name", "Pôle Drôme Coopération"),
                    ("territory.communes", "26362"),
                    ("themes", "mobility"),
                    ("recognitions.call-2023", "2023"),
                ],
            )
            .await;
        assert_eq!(
            made.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            made.body
        );
        assert!(made.location.starts_with("/admin/poles/ptce-drome?done="));
        let pole = server.store.pole("ptce-drome").await.expect("created");
        assert_eq!(pole.pole.name, "Pôle Drôme Coopération");
        assert_eq!(pole.pole.recognitions.national_calls.len(), 1, "[{label}]");
        assert_eq!(
            v.get("/poles/ptce-drome").await.status,
            StatusCode::OK,
            "[{label}]"
        );
        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
async fn the_logo_and_banner_are_uploaded_from_the_pole_page() {
    common::init_logs();
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        setup(&server).await;
        let mut v = signed_in(&server, "editrice").await;
        assert!(
            v.get("/admin/poles/ptce-rhone")
                .await
                .body
                .contains("href=\"/admin/poles/ptce-rhone/images\""),
            "[{label}]"
        );
        let page = "/admin/poles/ptce-rhone/images";
        let empty = v.get(page).await;
        assert_eq!(empty.status, StatusCode::OK, "[{label}]");
        assert!(
            empty.body.contains("enctype=\"multipart/form-data\"")
                && empty.body.contains("Aucune image pour l’instant."),
            "[{label}] {}",
            empty.body
        );
        let token = csrf(&empty.body);

        // Without the token, or not an image: nothing is stored.
        let forged = v
            .post_files(
                &format!("{page}/logo"),
                &[],
                &[("image", "logo.png", PIXEL_PNG)],
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "[{label}]");
        let text = v
            .post_files(
                &format!("{page}/logo"),
                &[("_csrf", &token)],
                &[("image", "logo.png", b"pas une image")],
            )
            .await;
        assert_eq!(text.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
        assert!(
            text.body
                .contains("n’est pas une image PNG, JPEG, GIF ou WebP")
                && text.body.contains("aria-invalid=\"true\""),
            "[{label}] {}",
            text.body
        );
        let mut cut = PIXEL_PNG.to_vec();
        cut.truncate(40);
        let damaged = v
            .post_files(
                &format!("{page}/banner"),
                &[("_csrf", &token)],
                &[("image", "banner.png", &cut)],
            )
            .await;
        assert_eq!(
            damaged.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{label}]"
        );
        let pole = server.store.pole("ptce-rhone").await.expect("pole");
        assert!(pole.logo.is_none() && pole.banner.is_none(), "[{label}]");

        for slot in ["logo", "banner"] {
            let sent = v
                .post_files(
                    &format!("{page}/{slot}"),
                    &[("_csrf", &token)],
                    &[("image", "image.png", PIXEL_PNG)],
                )
                .await;
            assert_eq!(
                sent.status,
                StatusCode::SEE_OTHER,
                "[{label}] {}",
                sent.body
            );
            assert!(sent.location.starts_with(&format!("{page}?done=")));
        }
        let pole = server.store.pole("ptce-rhone").await.expect("pole");
        let logo = pole.logo.as_ref().expect("logo").sha256.clone();
        assert!(pole.banner.is_some(), "[{label}]");
        let shown = v.get(page).await.body;
        assert!(
            shown.contains(&format!("src=\"/media/{logo}\""))
                && shown.contains("alt=\"Logo de PTCE Rhône Solidaire\""),
            "[{label}] the preview: {shown}"
        );
        let image = v.get(&format!("/media/{logo}")).await;
        assert_eq!(image.status, StatusCode::OK, "[{label}]");
        // The profile as the API and federation give it carries the logo.
        let json = common::ok(
            &server,
            reqwest::Method::GET,
            "/api/v1/poles/ptce-rhone",
            None,
        )
        .await;
        assert!(
            json.to_string().contains(&logo),
            "[{label}] the API shows the logo: {json}"
        );
        settled(&server).await;

        // Removing asks first.
        let path = format!("{page}/logo/delete");
        let token = asks(&mut v, &path, "Logo de PTCE Rhône Solidaire", label).await;
        let removed = v.post(&path, &[("_csrf", &token)]).await;
        assert_eq!(removed.status, StatusCode::SEE_OTHER, "[{label}]");
        let pole = server.store.pole("ptce-rhone").await.expect("pole");
        assert!(pole.logo.is_none() && pole.banner.is_some(), "[{label}]");
        assert!(
            v.get(page)
                .await
                .body
                .contains("Aucune image pour l’instant."),
            "[{label}]"
        );
        server.stop().await;
        db.drop_now().await;
    }
}
