//! The web interface over real HTTP, on SQLite and PostgreSQL: public pages and content
//! negotiation, sign-in, anti-forgery tokens, lock-out, roles, and publishing through the
//! administration's forms.

mod common;

use common::scenario::follow_state;
use common::visitor::{Answer, PASSWORD, Visitor, csrf, hidden};
use common::{PIXEL_PNG, TestDb, TestServer};
use maillage::store::Role;
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

/// Two poles in two régions, an administrator and an editor of the first pole.
pub async fn setup(server: &TestServer) -> i64 {
    api(
        server,
        "/api/v1/poles",
        json!({"slug": "ptce-rhone", "name": "PTCE Rhône Solidaire", "summary": "Coopérer à Villeurbanne",
               "territory": {"communes": ["69266"]}, "themes": ["agriculture-food"], "pooling": ["premises"],
               "shared_place": {"name": "La Fabrique", "commune": "69266", "latitude": 45.77, "longitude": 4.88}}),
    )
    .await;
    api(
        server,
        "/api/v1/poles",
        json!({"slug": "ptce-breizh", "name": "Pôle Breizh Coop", "summary": "Coopérer à Rennes",
               "territory": {"communes": ["35238"]}}),
    )
    .await;
    api(
        server,
        "/api/v1/poles/ptce-rhone/members",
        json!({"name": "Jardins de Cocagne", "legal_form": "association"}),
    )
    .await;
    api(
        server,
        "/api/v1/poles/ptce-rhone/events",
        json!({"title": "Marché des producteurs", "summary": "Producteurs du coin",
               "starts_at": "2030-05-04T09:00", "ends_at": "2030-05-04T13:00",
               "place": {"name": "Place Lazare-Goujon", "commune": "69266", "latitude": 45.766, "longitude": 4.879}}),
    )
    .await;
    person(server, "webadmin", Role::Admin).await;
    let editor = person(server, "editrice", Role::Editor).await;
    let pole = server.store.pole("ptce-rhone").await.expect("pole");
    server
        .store
        .grant_pole(editor, pole.id)
        .await
        .expect("grant");
    person(server, "cible", Role::Editor).await
}

#[tokio::test]
async fn public_pages_and_administration() {
    common::init_logs();
    common::install_tls_provider();
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        setup(&server).await;
        public_pages(&server, db.label).await;
        statistics_page(&server, db.label).await;
        sign_in_is_guarded(&server, db.label).await;
        publishing_through_forms(&server, db.label).await;
        editors_keep_to_their_poles(&server, db.label).await;
        replies_are_moderated(&server, db.label).await;
        server.stop().await;
        db.drop_now().await;
    }
}

async fn public_pages(server: &TestServer, label: &str) {
    let mut v = Visitor::new(server);
    let home = v.get("/").await;
    assert_eq!(home.status, StatusCode::OK, "[{label}]");
    assert!(
        home.body.contains("PTCE Rhône Solidaire") && home.body.contains("Marché des producteurs"),
        "[{label}] {}",
        home.body
    );
    assert!(
        home.body.contains("<html lang=\"fr\""),
        "[{label}] French by default"
    );

    let english = v
        .send(
            v.client
                .get(format!("{}/", v.base))
                .header("accept-language", "en-GB,en;q=0.9"),
        )
        .await;
    assert!(
        english.body.contains("<html lang=\"en\"") && english.body.contains("Upcoming events"),
        "[{label}]"
    );
    let switch = v.get("/lang/en?back=/directory").await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER, "[{label}]");
    assert_eq!(switch.location, "/directory");
    assert!(
        v.get("/").await.body.contains("<html lang=\"en\""),
        "[{label}] the cookie keeps English"
    );
    let back = v.get("/lang/fr?back=//evil.example").await;
    assert_eq!(back.location, "/", "[{label}] no redirect to another site");

    let region = v.get("/directory?region=84").await;
    assert!(
        region.body.contains("PTCE Rhône Solidaire") && !region.body.contains("Pôle Breizh Coop"),
        "[{label}] Auvergne-Rhône-Alpes only"
    );
    let text = v.get("/directory?q=breizh&kind=pole").await;
    assert!(
        text.body.contains("Pôle Breizh Coop") && !text.body.contains("PTCE Rhône Solidaire"),
        "[{label}]"
    );
    let bad = v.get("/directory?from=tomorrow&kind=shop").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "[{label}]");
    assert!(
        bad.body.contains("tomorrow") && bad.body.contains("shop"),
        "[{label}] says which values are wrong"
    );

    let pole = v.get("/poles/ptce-rhone").await;
    assert_eq!(pole.status, StatusCode::OK, "[{label}]");
    for needle in [
        "@ptce-rhone@127.0.0.1",
        "Jardins de Cocagne",
        "Villeurbanne",
        "Métropole de Lyon",
        "\"@type\":\"Organization\"",
        "og:title",
        "/poles/ptce-rhone/feed.atom",
        "/poles/ptce-rhone/events.ics",
        "/poles/ptce-rhone/follow",
    ] {
        assert!(
            pole.body.contains(needle),
            "[{label}] pole page lacks {needle}"
        );
    }
    let follow = v
        .get("/poles/ptce-rhone/follow?server=%40moi%40piaille.fr")
        .await;
    assert_eq!(follow.status, StatusCode::SEE_OTHER, "[{label}]");
    assert!(
        follow
            .location
            .starts_with("https://piaille.fr/authorize_interaction?uri=http%3A%2F%2F127.0.0.1"),
        "[{label}] {}",
        follow.location
    );
    let bad_follow = v
        .get("/poles/ptce-rhone/follow?server=javascript%3Aalert(1)")
        .await;
    assert_eq!(bad_follow.status, StatusCode::BAD_REQUEST, "[{label}]");

    // Federation clients still get ActivityPub from the same URLs.
    let res = server
        .client
        .get(server.url("/poles/ptce-rhone"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("actor");
    let actor: Value = res.json().await.expect("json");
    assert_eq!(actor["type"], "Group", "[{label}]");

    let event_url = pole
        .body
        .split("href=\"/events/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|id| format!("/events/{id}"))
        .expect("an event link on the pole page");
    let event = v.get(&event_url).await;
    assert_eq!(event.status, StatusCode::OK, "[{label}]");
    assert!(
        event.body.contains("\"@type\":\"Event\"")
            && event.body.contains(&format!("{event_url}/calendar.ics")),
        "[{label}]"
    );
    let res = server
        .client
        .get(server.url(&event_url))
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("event");
    let object: Value = res.json().await.expect("json");
    assert_eq!(object["type"], "Event", "[{label}]");

    let map = v.get("/map").await;
    assert!(
        map.body.contains("La Fabrique") || map.body.contains("PTCE Rhône Solidaire"),
        "[{label}] the list beside the map"
    );
    assert!(
        map.body.contains("/static/vendor/leaflet/leaflet."),
        "[{label}]"
    );
    let css_url = home
        .body
        .split("href=\"/static/css/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(|r| format!("/static/css/{r}"))
        .expect("stylesheet");
    let css = server
        .client
        .get(server.url(&css_url))
        .send()
        .await
        .expect("css");
    assert_eq!(
        css.headers()["cache-control"],
        "public, max-age=31536000, immutable",
        "[{label}]"
    );
    let missing = v.get("/nowhere-at-all").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "[{label}]");
    assert!(
        missing.body.contains("Page introuvable"),
        "[{label}] a page for browsers"
    );
    let res = server
        .client
        .get(server.url("/nowhere-at-all"))
        .send()
        .await
        .expect("missing");
    let json: Value = res.json().await.expect("JSON for other clients");
    assert_eq!(json["error"], "not_found", "[{label}]");
    assert_eq!(
        v.get("/poles/nobody").await.status,
        StatusCode::NOT_FOUND,
        "[{label}]"
    );
}

/// The statistics page draws a chart per figure, with the same figures in a table, in
/// both languages and for a chosen région.
async fn statistics_page(server: &TestServer, label: &str) {
    api(
        server,
        "/api/v1/poles/ptce-breizh/calls",
        json!({"title": "Recherche un atelier partagé", "direction": "seeking", "subjects": ["premises"],
               "themes": ["circular-economy"], "deadline": "2099-01-31", "how_to_answer": "Par courriel"}),
    )
    .await;
    let mut v = Visitor::new(server);
    let fr = v.get("/statistics").await;
    assert_eq!(fr.status, StatusCode::OK, "[{label}]");
    assert!(fr.body.contains("<html lang=\"fr\""), "[{label}]");
    assert_eq!(fr.body.matches("<svg").count(), 6, "[{label}] {}", fr.body);
    assert_eq!(fr.body.matches("<table>").count(), 6, "[{label}]");
    for needle in [
        "Statistiques",
        "<dd>2</dd>",
        "<th scope=\"row\">Auvergne-Rhône-Alpes</th><td>1</td>",
        "<th scope=\"row\">Bretagne</th><td>1</td>",
        "<th scope=\"row\">Locaux (1)</th><td>50,0 %</td>",
        "<th scope=\"row\">Association</th><td>1</td>",
        "<th scope=\"row\">Non renseigné</th><td>1</td>",
        "<th scope=\"row\">mai 2030</th><td>1</td>",
        "<th scope=\"row\">Déchets et économie circulaire</th><td>1</td>",
        "<desc id=\"svg-regions-desc\">",
        "role=\"img\"",
        "viewBox=\"0 0 480 ",
        "property=\"og:title\" content=\"Statistiques",
        "href=\"/statistics\"",
        "<time datetime=\"",
    ] {
        assert!(fr.body.contains(needle), "[{label}] lacks {needle}");
    }
    let en = v
        .send(
            v.client
                .get(format!("{}/statistics", v.base))
                .header("accept-language", "en"),
        )
        .await;
    assert_eq!(en.status, StatusCode::OK, "[{label}]");
    assert_eq!(en.body.matches("<svg").count(), 6, "[{label}]");
    for needle in [
        "<html lang=\"en\"",
        "Hubs per région",
        "<th scope=\"row\">Premises (1)</th><td>50.0%</td>",
        "<th scope=\"row\">Not given</th><td>1</td>",
        "<th scope=\"row\">May 2030</th><td>1</td>",
        "<th scope=\"row\">Waste and circular economy</th><td>1</td>",
    ] {
        assert!(en.body.contains(needle), "[{label}] lacks {needle}");
    }
    let breizh = v
        .get("/statistics?region=53&theme=&pooling=&utm_source=x")
        .await;
    assert_eq!(breizh.status, StatusCode::OK, "[{label}]");
    assert!(
        breizh
            .body
            .contains("<th scope=\"row\">Bretagne</th><td>1</td>")
            && !breizh.body.contains("Auvergne-Rhône-Alpes</th>")
            && breizh
                .body
                .contains("<th scope=\"row\">Locaux (0)</th><td>0,0 %</td>")
            && breizh.body.contains("<option value=\"53\" selected>"),
        "[{label}] one région"
    );
    let pooled = v.get("/statistics?pooling=premises").await;
    assert!(
        pooled.body.contains("<dd>1</dd>") && !pooled.body.contains("Bretagne</th>"),
        "[{label}] the poles pooling premises"
    );
    for bad in ["region=99", "theme=nope", "pooling=everything"] {
        let answer = v.get(&format!("/statistics?{bad}")).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "[{label}] {bad}");
        let value = bad.split('=').nth(1).unwrap_or_default();
        assert!(answer.body.contains(value), "[{label}] says why: {bad}");
    }
}

async fn sign_in_is_guarded(server: &TestServer, label: &str) {
    let mut v = Visitor::new(server);
    let anonymous = v.get("/admin/poles/ptce-rhone").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "[{label}]");
    assert!(
        anonymous.location.starts_with("/admin/login?next="),
        "[{label}]"
    );

    let wrong = v.sign_in("webadmin", "not the password at all").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "[{label}]");
    assert!(!v.cookies.contains_key("maillage_session"), "[{label}]");

    let no_token = v
        .post(
            "/admin/login",
            &[("username", "webadmin"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        no_token.status,
        StatusCode::FORBIDDEN,
        "[{label}] sign-in without anti-forgery token"
    );

    // Five failures lock the account, even for the right password.
    let mut other = Visitor::new(server);
    for _ in 0..5 {
        assert_eq!(
            other.sign_in("cible", "wrong password here").await.status,
            StatusCode::UNAUTHORIZED,
            "[{label}]"
        );
    }
    let locked = other.sign_in("cible", PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "[{label}] locked out"
    );

    let ok = v.sign_in("webadmin", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "[{label}] {}", ok.body);
    assert!(v.cookies.contains_key("maillage_session"), "[{label}]");
    let dashboard = v.get("/admin").await;
    assert!(
        dashboard.body.contains("PTCE Rhône Solidaire")
            && dashboard.body.contains("Pôle Breizh Coop"),
        "[{label}]"
    );

    // A signed-in form without its token is refused and changes nothing.
    let forged = v
        .post(
            "/admin/poles/ptce-rhone/calls/new",
            &[("title", "Forgé"), ("how_to_answer", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "[{label}]");
    let calls = server
        .store
        .list_calls(
            server.store.pole("ptce-rhone").await.expect("pole").id,
            maillage::store::PageRequest {
                page: 1,
                per_page: 10,
            },
        )
        .await
        .expect("calls");
    assert_eq!(calls.total, 0, "[{label}] nothing stored");

    let out = v.submit("/admin", "/admin/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "[{label}]");
    assert_eq!(
        v.get("/admin").await.status,
        StatusCode::SEE_OTHER,
        "[{label}] signed out"
    );
}

async fn publishing_through_forms(server: &TestServer, label: &str) {
    let mut v = Visitor::new(server);
    assert_eq!(
        v.sign_in("webadmin", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    // A wrong form keeps what was typed and says what is wrong, next to the field.
    let wrong = v
        .submit(
            "/admin/poles/ptce-rhone/events/new",
            "/admin/poles/ptce-rhone/events/new",
            &[
                ("title", "Atelier compost"),
                ("starts_at", "demain"),
                ("place.commune", "Nulle-Part-Sur-Rien"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
    assert!(
        wrong.body.contains("value=\"Atelier compost\""),
        "[{label}] keeps the title"
    );
    assert!(
        wrong.body.contains("id=\"f-starts_at-error\"")
            && wrong.body.contains("id=\"f-place-commune-error\""),
        "[{label}] {}",
        wrong.body
    );

    let profile = v
        .submit(
            "/admin/poles/ptce-rhone/profile",
            "/admin/poles/ptce-rhone/profile",
            &[
                ("name", "PTCE Rhône Solidaire"),
                ("summary", "Coopérer entre Villeurbanne et Vaulx-en-Velin"),
                ("territory.communes", "Villeurbanne\n69120"),
                ("themes", "agriculture-food"),
                ("themes", "mobility"),
                ("pooling", "premises"),
                ("shared_place.name", "La Fabrique"),
                ("shared_place.commune", "69266"),
                ("shared_place.latitude", "45.77"),
                ("shared_place.longitude", "4.88"),
            ],
        )
        .await;
    assert_eq!(
        profile.status,
        StatusCode::SEE_OTHER,
        "[{label}] {}",
        profile.body
    );
    let pole = server.store.pole("ptce-rhone").await.expect("pole");
    assert_eq!(
        pole.pole.territory.communes,
        vec!["69266", "69256"],
        "[{label}] Vaulx-en-Velin by its postal code"
    );
    assert_eq!(
        pole.pole.summary.as_deref(),
        Some("Coopérer entre Villeurbanne et Vaulx-en-Velin")
    );

    let event = v
        .submit(
            "/admin/poles/ptce-rhone/events/new",
            "/admin/poles/ptce-rhone/events/new",
            &[
                ("title", "Petit-déjeuner de la coopération"),
                ("summary", "Rencontre des membres"),
                ("starts_at", "2030-06-12T08:30"),
                ("ends_at", "2030-06-12T10:00"),
                ("timezone", "Europe/Paris"),
                ("status", "scheduled"),
                ("place.name", "La Fabrique"),
                ("place.commune", "Villeurbanne"),
                ("themes", "agriculture-food"),
                ("themes", "mobility"),
            ],
        )
        .await;
    assert_eq!(
        event.status,
        StatusCode::SEE_OTHER,
        "[{label}] {}",
        event.body
    );
    // Events have themes, as projects and calls.
    let events = common::ok(
        server,
        reqwest::Method::GET,
        "/api/v1/poles/ptce-rhone/events",
        None,
    )
    .await;
    let breakfast = events["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["title"] == "Petit-déjeuner de la coopération");
    assert_eq!(
        breakfast.map(|e| e["themes"].clone()),
        Some(serde_json::json!(["agriculture-food", "mobility"])),
        "[{label}] {events}"
    );
    assert!(
        v.get("/admin/poles/ptce-rhone/events/new")
            .await
            .body
            .contains("name=\"themes\" value=\"agriculture-food\""),
        "[{label}] the event form has the themes"
    );
    let call = v
        .submit(
            "/admin/poles/ptce-rhone/calls/new",
            "/admin/poles/ptce-rhone/calls/new",
            &[
                ("title", "Cherche un local de stockage"),
                ("summary", "Pour la légumerie"),
                ("direction", "seeking"),
                ("subjects", "premises"),
                ("deadline", "2030-09-30"),
                ("how_to_answer", "Écrire à contact@example.org"),
                ("status", "open"),
            ],
        )
        .await;
    assert_eq!(
        call.status,
        StatusCode::SEE_OTHER,
        "[{label}] {}",
        call.body
    );

    let page = v.get("/poles/ptce-rhone").await.body;
    assert!(
        page.contains("Petit-déjeuner de la coopération")
            && page.contains("Cherche un local de stockage"),
        "[{label}]"
    );
    let outbox = outbox_text(server).await;
    assert!(
        outbox.contains("Petit-déjeuner de la coopération")
            && outbox.contains("Cherche un local de stockage"),
        "[{label}] {outbox}"
    );

    let pole_id = server.store.pole("ptce-rhone").await.expect("pole").id;
    let call_id = server
        .store
        .list_calls(
            pole_id,
            maillage::store::PageRequest {
                page: 1,
                per_page: 10,
            },
        )
        .await
        .expect("calls")
        .items[0]
        .public_id
        .clone();
    let closed = v
        .submit(
            "/admin/poles/ptce-rhone",
            &format!("/admin/calls/{call_id}/close"),
            &[],
        )
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "[{label}]");
    let call = server.store.call(&call_id).await.expect("call");
    assert_eq!(
        call.data.status,
        maillage::domain::vocab::CallStatus::Closed,
        "[{label}]"
    );
    let open = v.get("/directory?kind=call&call_status=open").await.body;
    assert!(
        !open.contains("Cherche un local de stockage"),
        "[{label}] closed calls leave the open ones"
    );
}

/// The text of the pole's outbox, once the publisher has recorded the changes.
pub async fn outbox_text(server: &TestServer) -> String {
    let res = server
        .client
        .get(server.url("/poles/ptce-rhone/outbox?page=1"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("outbox");
    res.text().await.expect("outbox body")
}

async fn editors_keep_to_their_poles(server: &TestServer, label: &str) {
    let mut v = Visitor::new(server);
    assert_eq!(
        v.sign_in("editrice", PASSWORD).await.status,
        StatusCode::SEE_OTHER,
        "[{label}]"
    );
    let dashboard = v.get("/admin").await.body;
    assert!(
        dashboard.contains("PTCE Rhône Solidaire") && !dashboard.contains("Pôle Breizh Coop"),
        "[{label}]"
    );
    assert_eq!(
        v.get("/admin/poles/ptce-rhone").await.status,
        StatusCode::OK,
        "[{label}]"
    );
    assert_eq!(
        v.get("/admin/poles/ptce-breizh").await.status,
        StatusCode::FORBIDDEN,
        "[{label}]"
    );
    assert_eq!(
        v.get("/admin/federation").await.status,
        StatusCode::FORBIDDEN,
        "[{label}] instance pages are for administrators"
    );
    let own = v.get("/admin/poles/ptce-rhone/events/new").await;
    let token = csrf(&own.body);
    let other = v
        .post(
            "/admin/poles/ptce-breizh/events/new",
            &[
                ("_csrf", &token),
                ("title", "Intrusion"),
                ("starts_at", "2030-01-01T10:00"),
            ],
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "[{label}]");
    let breizh = server.store.pole("ptce-breizh").await.expect("pole");
    let events = server
        .store
        .list_events(
            breizh.id,
            maillage::store::PageRequest {
                page: 1,
                per_page: 10,
            },
        )
        .await
        .expect("events");
    assert_eq!(
        events.total, 0,
        "[{label}] nothing published on the other pole"
    );
}

async fn replies_are_moderated(server: &TestServer, label: &str) {
    let pole = server.store.pole("ptce-rhone").await.expect("pole");
    let event = server
        .store
        .list_events(
            pole.id,
            maillage::store::PageRequest {
                page: 1,
                per_page: 10,
            },
        )
        .await
        .expect("events")
        .items
        .into_iter()
        .find(|e| e.data.title == "Marché des producteurs")
        .expect("the event");
    let author = server
        .store
        .upsert_remote_actor(&maillage::store::NewRemoteActor {
            ap_id: "https://masto.example/users/alice".into(),
            kind: "Person".into(),
            username: Some("alice".into()),
            name: Some("Alice Martin".into()),
            domain: "masto.example".into(),
            inbox: "https://masto.example/users/alice/inbox".into(),
            shared_inbox: None,
            key_id: None,
            public_key_pem: None,
            url: Some("https://masto.example/@alice".into()),
        })
        .await
        .expect("actor");
    let object = server
        .store
        .local_object(&event.ap_id)
        .await
        .expect("lookup")
        .expect("local object");
    server
        .store
        .add_reply(&maillage::store::NewReply {
            ap_id: "https://masto.example/users/alice/statuses/1",
            object,
            author_id: author.id,
            content_html: "<p>J’y serai avec des semis !</p>",
            url: None,
            published_at: chrono::Utc::now(),
            needs_approval: true,
        })
        .await
        .expect("reply");
    let mut v = Visitor::new(server);
    let page = format!("/events/{}", event.public_id);
    assert!(
        !v.get(&page).await.body.contains("des semis"),
        "[{label}] a pending reply is not shown"
    );
    assert_eq!(
        v.sign_in("editrice", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let hub = v.get("/admin/poles/ptce-rhone").await.body;
    assert!(
        hub.contains("des semis") && hub.contains("Alice Martin"),
        "[{label}] the editor sees it"
    );
    let action = hub
        .split("action=\"/admin/replies/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(|r| format!("/admin/replies/{r}"))
        .expect("a moderation form");
    assert!(action.ends_with("/visible"), "[{label}] {action}");
    let shown = v.submit("/admin/poles/ptce-rhone", &action, &[]).await;
    assert_eq!(
        shown.status,
        StatusCode::SEE_OTHER,
        "[{label}] {}",
        shown.body
    );
    let public = v.get(&page).await.body;
    assert!(
        public.contains("des semis") && public.contains("Alice Martin"),
        "[{label}] an approved reply is shown"
    );
}

/// A Follow of `target` by `actor`, signed with `pem`, posted to `server`'s shared inbox.
async fn signed_follow(
    server: &TestServer,
    actor: &str,
    pem: &str,
    target: &str,
    n: u32,
) -> StatusCode {
    let body = serde_json::to_vec(&json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}/activities/follow-{n}"), "type": "Follow",
        "actor": actor, "object": target,
    }))
    .expect("json");
    let url = url::Url::parse(&server.url("/inbox")).expect("url");
    let headers = maillage::federation::signatures::sign_post(
        &url,
        &body,
        &format!("{actor}#main-key"),
        pem,
        std::time::SystemTime::now(),
    )
    .expect("sign");
    let mut request = server
        .client
        .post(url)
        .header("content-type", "application/activity+json")
        .body(body);
    for (name, value) in headers.into_iter().filter(|(n, _)| n != "host") {
        request = request.header(name, value);
    }
    request.send().await.expect("inbox").status()
}

async fn instance_followers(server: &TestServer) -> Vec<maillage::store::FollowerRecord> {
    server
        .store
        .list_followers(
            &server.url("/actor"),
            maillage::store::PageRequest {
                page: 1,
                per_page: 50,
            },
        )
        .await
        .expect("followers")
        .items
}

async fn stored_blocks(server: &TestServer) -> Value {
    let (status, blocks) =
        common::call(server, reqwest::Method::GET, "/api/v1/admin/blocks", None).await;
    assert_eq!(status, StatusCode::OK, "{blocks}");
    blocks["blocks"].clone()
}

/// Instances asking to follow this one are accepted or refused from the federation page, and
/// the answers reach them; a domain blocked there is refused at the inbox until unblocked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_followers_and_blocks() {
    common::init_logs();
    common::install_tls_provider();
    for db in TestDb::all().await {
        let label = db.label;
        let a = TestServer::start_on(&db, 0, |c| {
            c.federation.approve_instance_followers = true;
        })
        .await;
        // One peer named `localhost`, so that it has a domain to block; one by address.
        let (db_b, db_c) = (TestDb::sqlite(), TestDb::sqlite());
        let b = TestServer::start_on(&db_b, 0, |c| {
            c.public_url = c.public_url.replace("127.0.0.1", "localhost");
        })
        .await;
        let c = TestServer::start(&db_c).await;
        setup(&a).await;
        let a_actor = a.url("/actor");
        let b_actor = format!("http://localhost:{}/actor", b.port);
        let c_actor = c.url("/actor");
        for peer in [&b, &c] {
            common::ok(
                peer,
                reqwest::Method::POST,
                "/api/v1/admin/follows",
                Some(json!({"actor": a_actor})),
            )
            .await;
        }
        common::eventually("both follows to arrive", || async {
            instance_followers(&a).await.len() == 2
        })
        .await;
        let followers = instance_followers(&a).await;
        let id_of = |actor: &str| {
            followers
                .iter()
                .find(|f| f.actor.ap_id == actor)
                .map(|f| (f.id, f.state.clone(), f.actor.handle()))
                .expect("a follower")
        };
        let (b_id, b_state, b_handle) = id_of(&b_actor);
        let (c_id, c_state, _) = id_of(&c_actor);
        assert_eq!(
            (b_state.as_str(), c_state.as_str()),
            ("pending", "pending"),
            "[{label}]"
        );

        let mut v = Visitor::new(&a);
        assert_eq!(
            v.sign_in("webadmin", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        let page = v.get("/admin/federation").await;
        assert_eq!(page.status, StatusCode::OK, "[{label}]");
        for id in [b_id, c_id] {
            assert!(
                page.body
                    .contains(&format!("action=\"/admin/followers/{id}/accept\""))
                    && page
                        .body
                        .contains(&format!("action=\"/admin/followers/{id}/reject\"")),
                "[{label}] follower {id} can be answered"
            );
        }
        assert!(page.body.contains(&b_handle), "[{label}] {b_handle}");

        let accepted = v
            .submit(
                "/admin/federation",
                &format!("/admin/followers/{b_id}/accept"),
                &[],
            )
            .await;
        assert_eq!(
            accepted.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            accepted.body
        );
        let after = v.get(&accepted.location).await.body;
        assert!(
            after.contains("Instance acceptée"),
            "[{label}] flash after accepting"
        );
        assert!(
            !after.contains(&format!("/admin/followers/{b_id}/accept")),
            "[{label}] no more buttons for an accepted instance"
        );
        common::eventually("the Accept to reach the follower", || async {
            follow_state(&b, &a_actor).await.as_deref() == Some("accepted")
        })
        .await;

        let refused = v
            .submit(
                "/admin/federation",
                &format!("/admin/followers/{c_id}/reject"),
                &[],
            )
            .await;
        assert_eq!(refused.status, StatusCode::SEE_OTHER, "[{label}]");
        assert!(
            v.get(&refused.location)
                .await
                .body
                .contains("Instance refusée"),
            "[{label}] flash after refusing"
        );
        common::eventually("the Reject to reach the follower", || async {
            follow_state(&c, &a_actor).await.as_deref() == Some("rejected")
        })
        .await;
        assert!(
            a.store.follower(c_id).await.is_err(),
            "[{label}] a refused instance is no longer a follower"
        );

        // A bad domain is refused next to its field, what was typed kept, nothing stored.
        let bad = v
            .submit(
                "/admin/federation",
                "/admin/blocks",
                &[
                    ("domain", "https://spam.example/x"),
                    ("reason", "Publicités"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "[{label}]");
        assert!(
            bad.body.contains("id=\"b-domain-error\"")
                && bad.body.contains("Ce n’est pas un nom de domaine")
                && bad.body.contains("value=\"https://spam.example/x\"")
                && bad.body.contains("value=\"Publicités\"")
                && bad.body.contains("aria-invalid=\"true\""),
            "[{label}] {}",
            bad.body
        );
        assert_eq!(stored_blocks(&a).await, json!([]), "[{label}]");

        // A pole editor is refused the page and every form.
        let mut e = Visitor::new(&a);
        assert_eq!(
            e.sign_in("editrice", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            e.get("/admin/federation").await.status,
            StatusCode::FORBIDDEN,
            "[{label}]"
        );
        for action in [
            "/admin/blocks".to_owned(),
            "/admin/blocks/spam.example/delete".to_owned(),
            format!("/admin/followers/{b_id}/accept"),
            format!("/admin/followers/{b_id}/reject"),
        ] {
            let answer = e
                .submit("/admin", &action, &[("domain", "spam.example")])
                .await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "[{label}] {action}");
        }
        assert_eq!(stored_blocks(&a).await, json!([]), "[{label}]");
        assert_eq!(instance_followers(&a).await.len(), 1, "[{label}]");

        // Blocking the peer's domain refuses its activities and removes it as a follower.
        let b_key = b.store.instance_keys().await.expect("keys").private_key;
        let blocked = v
            .submit(
                "/admin/federation",
                "/admin/blocks",
                &[("domain", "LocalHost."), ("reason", "Essai de blocage")],
            )
            .await;
        assert_eq!(
            blocked.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            blocked.body
        );
        let after = v.get(&blocked.location).await.body;
        assert!(
            after.contains("Bloqué : localhost")
                && after.contains("action=\"/admin/blocks/localhost/delete\"")
                && after.contains("Essai de blocage"),
            "[{label}] {after}"
        );
        let blocks = stored_blocks(&a).await;
        assert_eq!(blocks[0]["domain"], "localhost", "[{label}] {blocks}");
        assert_eq!(blocks[0]["reason"], "Essai de blocage", "[{label}]");
        assert_eq!(blocks[0]["created_by"], "webadmin", "[{label}]");
        assert!(
            instance_followers(&a).await.is_empty(),
            "[{label}] the blocked domain's follower is removed"
        );
        assert_eq!(
            signed_follow(&a, &b_actor, &b_key, &a_actor, 1).await,
            StatusCode::FORBIDDEN,
            "[{label}] a blocked domain is refused at the inbox"
        );
        assert!(instance_followers(&a).await.is_empty(), "[{label}]");

        let unblocked = v
            .submit("/admin/federation", "/admin/blocks/localhost/delete", &[])
            .await;
        assert_eq!(unblocked.status, StatusCode::SEE_OTHER, "[{label}]");
        assert!(
            v.get(&unblocked.location)
                .await
                .body
                .contains("Débloqué : localhost"),
            "[{label}]"
        );
        assert_eq!(stored_blocks(&a).await, json!([]), "[{label}]");
        assert_eq!(
            signed_follow(&a, &b_actor, &b_key, &a_actor, 2).await,
            StatusCode::ACCEPTED,
            "[{label}] an unblocked domain is let through again"
        );
        let followers = instance_followers(&a).await;
        assert!(
            followers.len() == 1 && followers[0].state == "pending",
            "[{label}] the new follow waits for approval"
        );

        for server in [a, b, c] {
            server.stop().await;
        }
        db.drop_now().await;
    }
}

/// Owned form pairs as `Visitor::post` takes them.
fn as_form(all: &[(String, String)]) -> Vec<(&str, &str)> {
    all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Two people open the same form; the second to save is shown the first one's change,
/// keeps what they typed, and saves knowingly on the second try.
#[tokio::test]
async fn a_form_saved_by_someone_else_meanwhile_is_not_overwritten_blindly() {
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        setup(&server).await;
        let mut camille = Visitor::new(&server);
        let mut dominique = Visitor::new(&server);
        for (who, name) in [(&mut camille, "webadmin"), (&mut dominique, "editrice")] {
            assert_eq!(
                who.sign_in(name, PASSWORD).await.status,
                StatusCode::SEE_OTHER
            );
        }
        let page = "/admin/poles/ptce-rhone/profile";
        let form_a = camille.get(page).await;
        let form_b = dominique.get(page).await;
        let version = hidden(&form_a.body, "_version");
        assert_eq!(version, hidden(&form_b.body, "_version"), "[{label}]");
        let fields = |summary: &'static str| {
            vec![
                ("name", "PTCE Rhône Solidaire"),
                ("summary", summary),
                ("territory.communes", "69266"),
                ("themes", "agriculture-food"),
                ("pooling", "premises"),
            ]
        };
        let send = |form: &Answer, version: &str, summary: &'static str| {
            let mut all = vec![
                ("_csrf".to_owned(), csrf(&form.body)),
                ("_version".to_owned(), version.to_owned()),
            ];
            all.extend(
                fields(summary)
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned())),
            );
            all
        };
        let a = send(&form_a, &version, "La version de Camille");
        let a = as_form(&a);
        let saved = camille.post(page, &a).await;
        assert_eq!(
            saved.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            saved.body
        );

        let b = send(&form_b, &version, "La version de Dominique");
        let b = as_form(&b);
        let refused = dominique.post(page, &b).await;
        assert_eq!(
            refused.status,
            StatusCode::CONFLICT,
            "[{label}] {}",
            refused.body
        );
        assert!(
            refused
                .body
                .contains("Quelqu’un d’autre a enregistré cette fiche"),
            "[{label}] says what happened, in French: {}",
            refused.body
        );
        assert!(
            refused.body.contains("<dd>La version de Camille</dd>"),
            "[{label}] shows the other person's change: {}",
            refused.body
        );
        assert!(
            refused.body.contains("value=\"La version de Dominique\"")
                || refused.body.contains(">La version de Dominique<"),
            "[{label}] keeps what this person typed"
        );
        let pole = server.store.pole("ptce-rhone").await.expect("pole");
        assert_eq!(
            pole.pole.summary.as_deref(),
            Some("La version de Camille"),
            "[{label}] the refused save changed nothing"
        );
        let newer = hidden(&refused.body, "_version");
        assert_eq!(
            newer,
            pole.version.to_string(),
            "[{label}] the form is now based on the stored version"
        );

        // Saving again, knowingly, goes through.
        let again = send(&refused, &newer, "La version de Dominique");
        let again = as_form(&again);
        let saved = dominique.post(page, &again).await;
        assert_eq!(
            saved.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            saved.body
        );
        let pole = server.store.pole("ptce-rhone").await.expect("pole");
        assert_eq!(
            pole.pole.summary.as_deref(),
            Some("La version de Dominique"),
            "[{label}]"
        );
        server.stop().await;
        db.drop_now().await;
    }
}

/// Thirty sign-ins on one account at the same moment, each from another address: five
/// passwords are checked, the rest find the account locked, and the right password is
/// refused after them. No more checks run at once than `web.password_checks`.
#[tokio::test]
async fn simultaneous_sign_ins_are_counted_before_their_password_is_checked() {
    common::init_logs();
    common::install_tls_provider();
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start_on(&db, 0, |c| c.web.password_checks = 2).await;
        person(&server, "cible", Role::Editor).await;
        let gate = server.state.password_gate.clone();

        let mut visitors = Vec::new();
        for i in 0..30 {
            let mut v = Visitor::new(&server);
            let token = v.open_sign_in().await;
            visitors.push((v, token, format!("192.0.2.{i}")));
        }
        let before = gate.checks_started();
        let mut tasks = tokio::task::JoinSet::new();
        for (mut v, token, address) in visitors {
            tasks.spawn(async move {
                v.sign_in_from(&token, &address, "cible", "wrong password here")
                    .await
                    .status
            });
        }
        let mut statuses = Vec::new();
        while let Some(status) = tasks.join_next().await {
            statuses.push(status.expect("task"));
        }
        let refused = statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count();
        let locked = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!(
            (refused, locked),
            (5, 25),
            "[{label}] five checked, the others locked out: {statuses:?}"
        );
        assert_eq!(
            gate.checks_started() - before,
            5,
            "[{label}] only five passwords were checked"
        );
        assert!(
            gate.peak_concurrent() <= 2,
            "[{label}] {} checks ran at once",
            gate.peak_concurrent()
        );

        let mut v = Visitor::new(&server);
        let token = v.open_sign_in().await;
        let right = v
            .sign_in_from(&token, "198.51.100.1", "cible", PASSWORD)
            .await;
        assert_eq!(
            right.status,
            StatusCode::TOO_MANY_REQUESTS,
            "[{label}] the right password comes too late"
        );
        assert!(
            right.body.contains("bloquée jusqu"),
            "[{label}] says why: {}",
            right.body
        );
        assert!(!v.cookies.contains_key("maillage_session"), "[{label}]");

        server.stop().await;
        db.drop_now().await;
    }
}

/// An unknown user name costs a password check too, and is answered as a wrong password is.
#[tokio::test]
async fn unknown_user_names_cost_a_password_check_like_known_ones() {
    common::init_logs();
    common::install_tls_provider();
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start_on(&db, 0, |c| c.web.password_checks = 2).await;
        person(&server, "connue", Role::Editor).await;
        let gate = server.state.password_gate.clone();
        let mut answers = Vec::new();
        for (i, user) in ["connue", "inconnue", "connue"].into_iter().enumerate() {
            let mut v = Visitor::new(&server);
            let token = v.open_sign_in().await;
            let before = gate.checks_started();
            let answer = v
                .sign_in_from(&token, &format!("203.0.113.{i}"), user, "not the password")
                .await;
            assert_eq!(
                gate.checks_started() - before,
                1,
                "[{label}] {user}: one password check"
            );
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "[{label}] {user}");
            answers.push(answer.body.replace(user, "…"));
        }
        let message = |body: &str| {
            body.split("role=\"alert\"><p>")
                .nth(1)
                .map(|rest| rest.split('<').next().unwrap_or_default().to_owned())
        };
        assert_eq!(
            message(&answers[0]),
            message(&answers[1]),
            "[{label}] the same answer"
        );

        // Many at once, each from its own address: every one is checked in turn, never more
        // than the bound at the same time. Six, so that the last one's turn comes well within
        // the wait allowed even on a busy machine (a debug build's check takes about a second).
        let mut visitors = Vec::new();
        for i in 0..6 {
            let mut v = Visitor::new(&server);
            let token = v.open_sign_in().await;
            visitors.push((v, token, format!("198.51.100.{i}")));
        }
        let before = gate.checks_started();
        let mut tasks = tokio::task::JoinSet::new();
        for (i, (mut v, token, address)) in visitors.into_iter().enumerate() {
            tasks.spawn(async move {
                v.sign_in_from(&token, &address, &format!("personne{i}"), "whatever it is")
                    .await
                    .status
            });
        }
        while let Some(status) = tasks.join_next().await {
            assert_eq!(status.expect("task"), StatusCode::UNAUTHORIZED, "[{label}]");
        }
        assert_eq!(gate.checks_started() - before, 6, "[{label}]");
        assert!(
            gate.peak_concurrent() <= 2,
            "[{label}] {} checks ran at once",
            gate.peak_concurrent()
        );

        server.stop().await;
        db.drop_now().await;
    }
}

/// Redirects given by the visitor (`back` of the language switch, `next` of the sign-in)
/// stay on this site, as a browser reads them, and a bad one falls back to a safe page.
#[tokio::test]
async fn redirects_never_leave_the_site() {
    common::init_logs();
    common::install_tls_provider();
    let db = TestDb::sqlite();
    let server = TestServer::start(&db).await;
    person(&server, "webadmin", Role::Admin).await;
    let mut v = Visitor::new(&server);
    for (back, expected) in [
        ("/directory%3Fq%3Dcoop", "/directory?q=coop"),
        ("/%09/evil.example/", "/"),
        ("/%0a/evil.example/", "/"),
        ("/%5C/evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/.//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/%0a", "/"),
        ("/%0d", "/"),
        ("/%00", "/"),
        ("/%7f", "/"),
    ] {
        let answer = v.get(&format!("/lang/en?back={back}")).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "back={back}");
        assert_eq!(answer.location, expected, "back={back}");
    }

    let form = v.get("/admin/login?next=/%09/evil.example/").await;
    assert_eq!(form.status, StatusCode::OK);
    let next = form
        .body
        .split("name=\"next\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default();
    assert!(
        next.ends_with("admin") && !next.contains("evil"),
        "the form carries a safe next: {next}"
    );
    for (next, expected) in [
        ("/\t/evil.example/", "/admin"),
        ("/\\evil.example/", "/admin"),
        ("/a\u{7f}", "/admin"),
        // Form values are trimmed: what is left of this one is the home page.
        ("/\n", "/"),
        ("/poles/ptce-rhone", "/poles/ptce-rhone"),
    ] {
        let mut v = Visitor::new(&server);
        let token = v.open_sign_in().await;
        let answer = v
            .post(
                "/admin/login",
                &[
                    ("_csrf", token.as_str()),
                    ("username", "webadmin"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "next={next:?}");
        assert_eq!(answer.location, expected, "next={next:?}");
    }
    server.stop().await;
    db.drop_now().await;
}

/// On https, the sign-in form's anti-forgery cookie is `Secure` like the session's; the
/// administration cannot be framed by another site.
#[tokio::test]
async fn cookies_are_secure_on_https_and_the_administration_is_not_framed() {
    common::init_logs();
    common::install_tls_provider();
    let db = TestDb::sqlite();
    let server = TestServer::start_on(&db, 0, |c| {
        c.public_url = c.public_url.replace("http://", "https://");
    })
    .await;
    person(&server, "webadmin", Role::Admin).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = client
        .get(server.url("/admin/login"))
        .send()
        .await
        .expect("login form");
    let headers = res.headers().clone();
    let cookie = headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("maillage_login_csrf="))
        .expect("anti-forgery cookie")
        .to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    for path in ["/admin/login", "/admin", "/admin/federation"] {
        let res = client.get(server.url(path)).send().await.expect(path);
        let policy = res.headers()["content-security-policy"]
            .to_str()
            .expect("ASCII");
        assert!(
            policy.ends_with("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(policy.contains("script-src 'self';"), "{path}: {policy}");
        assert_eq!(res.headers()["x-frame-options"], "DENY", "{path}");
        assert_eq!(
            res.headers()["strict-transport-security"],
            "max-age=31536000",
            "{path}"
        );
    }
    // Public pages may be framed by the site itself only; HSTS on https.
    let res = client.get(server.url("/")).send().await.expect("home");
    let policy = res.headers()["content-security-policy"]
        .to_str()
        .expect("ASCII");
    assert!(policy.ends_with("frame-ancestors 'self'"), "{policy}");
    assert!(res.headers().contains_key("strict-transport-security"));

    let mut v = Visitor::new(&server);
    let token = v.open_sign_in().await;
    let mut signed_in = v
        .client
        .post(server.url("/admin/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "cookie",
            format!("maillage_login_csrf={}", v.cookies["maillage_login_csrf"]),
        )
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("_csrf", token.as_str()),
                    ("username", "webadmin"),
                    ("password", PASSWORD),
                ])
                .finish(),
        )
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session = signed_in
        .headers_mut()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("maillage_session="))
        .expect("session cookie")
        .to_owned();
    assert!(session.contains("; Secure"), "{session}");

    // The language chosen is remembered the same way.
    let chosen = client
        .get(server.url("/lang/en?back=/directory"))
        .send()
        .await
        .expect("language");
    let lang = chosen
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        lang.starts_with("lang=en") && lang.contains("; Secure"),
        "{lang}"
    );

    // Public pages may be embedded (a map in a network's site).
    let home = client.get(server.url("/")).send().await.expect("home");
    assert!(home.headers().get("x-frame-options").is_none());
    server.stop().await;
    db.drop_now().await;
}

/// An administrator subscribes the instance to a relay from the federation page: the relay
/// receives a `Follow` of the public collection and the page lists the subscription as one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_subscribes_to_a_relay_from_the_federation_page() {
    common::init_logs();
    let db = TestDb::sqlite();
    let a = TestServer::start(&db).await;
    setup(&a).await;
    let relay = common::stand_ins::StandInRelay::start().await;
    let mut v = Visitor::new(&a);
    assert_eq!(
        v.sign_in("webadmin", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let page = v.get("/admin/federation").await.body;
    assert!(page.contains("C’est un relais"), "{page}");
    let sent = v
        .submit(
            "/admin/federation",
            "/admin/follows",
            &[("actor", relay.actor.as_str()), ("relay", "1")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    common::eventually("the relay to receive the Follow", || async {
        !relay.received("Follow").is_empty()
    })
    .await;
    assert_eq!(
        relay.received("Follow")[0]["object"],
        "https://www.w3.org/ns/activitystreams#Public"
    );
    let page = v.get("/admin/federation").await.body;
    assert!(page.contains("(relais)"), "{page}");
    a.stop().await;
}

/// What every answer tells the browser, over plain http: a content security policy, a
/// referrer policy, no sniffing, no HSTS; answers compressed for clients that accept it;
/// `/robots.txt` and the icon.
#[tokio::test]
async fn pages_carry_their_policies_and_are_compressed() {
    let db = TestDb::sqlite();
    let server = TestServer::start(&db).await;
    let client = reqwest::Client::new();
    for path in ["/", "/directory", "/map", "/api/v1/directory", "/nowhere"] {
        let res = client.get(server.url(path)).send().await.expect(path);
        let headers = res.headers();
        let policy = headers["content-security-policy"].to_str().expect("ASCII");
        assert!(
            policy.starts_with("default-src 'self'; script-src 'self'; style-src 'self';"),
            "{path}: {policy}"
        );
        assert_eq!(
            headers["referrer-policy"], "strict-origin-when-cross-origin",
            "{path}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert!(
            !headers.contains_key("strict-transport-security"),
            "{path}: no HSTS over http"
        );
    }

    // Compressed for a client that says it reads gzip or brotli, plain otherwise.
    let plain = client
        .get(server.url("/directory"))
        .send()
        .await
        .expect("page");
    assert!(!plain.headers().contains_key("content-encoding"));
    let plain = plain.bytes().await.expect("body").len();
    for encoding in ["gzip", "br"] {
        let res = client
            .get(server.url("/directory"))
            .header("accept-encoding", encoding)
            .send()
            .await
            .expect("page");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-encoding"], encoding);
        let packed = res.bytes().await.expect("body").len();
        assert!(packed < plain / 2, "{encoding}: {packed} of {plain} bytes");
    }

    let robots = client
        .get(server.url("/robots.txt"))
        .send()
        .await
        .expect("robots");
    assert_eq!(robots.status(), StatusCode::OK);
    let robots = robots.text().await.expect("text");
    assert!(robots.contains("Disallow: /admin"), "{robots}");
    let icon = client
        .get(server.url("/favicon.ico"))
        .send()
        .await
        .expect("icon");
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(icon.text().await.expect("svg").starts_with("<svg"));
    let home = client
        .get(server.url("/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("html");
    assert!(
        home.contains(r#"<link rel="icon" href="/static/favicon."#),
        "icon link"
    );
    server.stop().await;
}

#[tokio::test]
async fn pole_pages_show_their_logo_banner_and_place() {
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        setup(&server).await;
        let mut v = Visitor::new(&server);
        let bare = v.get("/poles/ptce-breizh").await;
        assert_eq!(bare.status, StatusCode::OK, "[{label}]");
        assert!(
            !bare.body.contains("class=\"banner\"") && !bare.body.contains("class=\"logo\""),
            "[{label}] no image without an upload"
        );
        assert!(
            !bare.body.contains("place-map") && !bare.body.contains("/static/vendor/leaflet/"),
            "[{label}] no map without a shared place"
        );
        let placed = v.get("/poles/ptce-rhone").await;
        assert!(
            placed
                .body
                .contains("<p class=\"place-address\">La Fabrique")
                && placed
                    .body
                    .contains("data-lat=\"45.77\" data-lon=\"4.88\" data-tiles=\"")
                && placed.body.contains("aria-label=\"Carte du lieu partagé\"")
                && placed.body.contains("/static/js/map."),
            "[{label}] the shared place's address and small map: {}",
            placed.body
        );
        let mut urls = Vec::new();
        for kind in ["logo", "banner"] {
            let res = server
                .client
                .put(server.url(&format!("/api/v1/poles/ptce-breizh/{kind}")))
                .bearer_auth(&server.admin_token)
                .header("content-type", "image/png")
                .body(PIXEL_PNG.to_vec())
                .send()
                .await
                .expect("upload");
            assert_eq!(res.status(), reqwest::StatusCode::OK, "[{label}] {kind}");
            let pole: Value = res.json().await.expect("json");
            let url = pole[format!("{kind}_url")]
                .as_str()
                .expect("url")
                .to_owned();
            let path = url
                .find("/media/")
                .map(|i| url[i..].to_owned())
                .expect("media path");
            urls.push(path);
        }
        let page = v.get("/poles/ptce-breizh").await;
        assert_eq!(page.status, StatusCode::OK, "[{label}]");
        assert!(
            page.body.contains(&format!(
                "{}\" alt=\"Logo de Pôle Breizh Coop\" width=\"96\" height=\"96\"",
                urls[0]
            )),
            "[{label}] logo with its alternative text: {}",
            page.body
        );
        assert!(
            page.body.contains(&format!(
                "{}\" alt=\"Bannière de Pôle Breizh Coop\"",
                urls[1]
            )),
            "[{label}] banner with its alternative text"
        );
        let english = v
            .send(
                v.client
                    .get(format!("{}/poles/ptce-breizh", v.base))
                    .header("accept-language", "en"),
            )
            .await;
        assert!(
            english.body.contains("alt=\"Pôle Breizh Coop logo\"")
                && english.body.contains("alt=\"Pôle Breizh Coop banner\""),
            "[{label}] English alternative texts"
        );
        let card = format!(
            "<img class=\"card-logo\" src=\"{}\" alt=\"\" width=\"40\" height=\"40\" loading=\"lazy\"",
            urls[0]
        );
        for path in ["/directory?kind=pole", "/"] {
            let list = v.get(path).await;
            assert_eq!(list.status, StatusCode::OK, "[{label}] {path}");
            assert_eq!(
                list.body.matches("class=\"card-logo\"").count(),
                1,
                "[{label}] {path}: only the pole with a logo shows one"
            );
            assert!(list.body.contains(&card), "[{label}] {path}: {}", list.body);
        }
        server.stop().await;
        db.drop_now().await;
    }
}
