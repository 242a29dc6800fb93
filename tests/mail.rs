//! E-mail, on SQLite and PostgreSQL, against a real SMTP server (aiosmtpd, started by the
//! test on loopback): invitations, forgotten passwords, the daily digest and its
//! unsubscribe link, the command line; and, without `[smtp]`, forms that say e-mail is off.

mod common;

use common::smtp::{Received, SmtpPeer};
use common::visitor::{PASSWORD, Visitor, csrf};
use common::{TestDb, TestServer, count, ok};
use maillage::store::{Role, Store};
use maillage::web::mail::digest::{DigestReport, send_digests};
use reqwest::{Method, StatusCode};
use sea_orm::ConnectionTrait;
use serde_json::json;

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn person(store: &Store, name: &str, email: Option<&str>, role: Role) -> i64 {
    let hash = maillage::auth::hash_password(PASSWORD).expect("hash");
    store
        .create_user(name, email, Some(hash), role)
        .await
        .expect("user")
        .id
}

async fn pole(server: &TestServer, slug: &str, name: &str) -> i64 {
    ok(
        server,
        Method::POST,
        "/api/v1/poles",
        Some(
            json!({"slug": slug, "name": name, "territory": {"communes": ["69266"]},
                    "manually_approves_followers": true}),
        ),
    )
    .await;
    server.store.pole(slug).await.expect("pole").id
}

/// The path of a link of this server in a message.
fn path_of(server: &TestServer, mail: &Received, start: &str) -> String {
    let link = mail
        .link(&format!("{}{start}", server.base))
        .unwrap_or_else(|| panic!("no link {start} in {}", mail.body));
    link.trim_start_matches(&server.base).to_owned()
}

/// Opens the page of a link and submits its form with these passwords.
async fn choose(v: &mut Visitor, path: &str, password: &str, again: &str) -> (StatusCode, String) {
    let page = v.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
    let token = common::visitor::hidden(&page.body, "token");
    let action = path.split('?').next().unwrap_or_default().to_owned();
    let answer = v
        .post(
            &action,
            &[
                ("_csrf", csrf(&page.body).as_str()),
                ("token", token.as_str()),
                ("password", password),
                ("password2", again),
            ],
        )
        .await;
    (answer.status, answer.body)
}

#[tokio::test]
async fn without_smtp_settings_the_forms_say_so_and_nothing_breaks() {
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start(&db).await;
        assert!(server.state.config.smtp.is_none());
        assert!(!server.state.mailer.enabled());
        pole(&server, "ptce-rhone", "PTCE Rhône").await;
        person(&server.store, "webadmin", None, Role::Admin).await;
        let users = count(&server.store, "SELECT COUNT(*) FROM users").await;
        let mut v = Visitor::new(&server);
        let login = v.get("/admin/login").await;
        assert!(login.body.contains("/admin/login/forgot"), "[{label}]");
        assert_eq!(
            v.sign_in("webadmin", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        let hub = v.get("/admin/poles/ptce-rhone").await;
        assert!(
            hub.body.contains("/admin/poles/ptce-rhone/invite"),
            "[{label}]"
        );
        let dashboard = v.get("/admin").await;
        let form = v.get("/admin/poles/ptce-rhone/invite").await;
        assert_eq!(form.status, StatusCode::OK, "[{label}] {}", form.body);
        assert!(
            form.body.contains("n’est pas configuré") && !form.body.contains("name=\"email\""),
            "[{label}] the invitation form says e-mail is off: {}",
            form.body
        );
        let posted = v
            .post(
                "/admin/poles/ptce-rhone/invite",
                &[
                    ("_csrf", csrf(&dashboard.body).as_str()),
                    ("email", "jeanne@example.org"),
                ],
            )
            .await;
        assert_eq!(posted.status, StatusCode::CONFLICT, "[{label}]");
        assert!(posted.body.contains("n’est pas configuré"), "[{label}]");
        assert_eq!(
            count(&server.store, "SELECT COUNT(*) FROM users").await,
            users,
            "[{label}] nobody created"
        );
        let account = v.get("/admin/account").await;
        assert_eq!(account.status, StatusCode::OK, "[{label}]");
        assert!(account.body.contains("n’est pas configuré"), "[{label}]");
        let mut anonymous = Visitor::new(&server);
        let forgot = anonymous.get("/admin/login/forgot").await;
        assert_eq!(forgot.status, StatusCode::OK, "[{label}]");
        assert!(
            forgot.body.contains("n’est pas configuré") && !forgot.body.contains("name=\"login\""),
            "[{label}] {}",
            forgot.body
        );
        // A link that does not exist is a page that says so.
        let dead = anonymous.get("/admin/login/reset?token=nothing").await;
        assert_eq!(dead.status, StatusCode::NOT_FOUND, "[{label}]");
        assert!(dead.body.contains("pas valable"), "[{label}]");
        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
#[ignore = "needs MAILLAGE_TEST_SMTP=1 (Python 3 and PyPI)"]
async fn an_invited_editor_chooses_a_password_once_and_edits_the_pole() {
    let peer = SmtpPeer::start();
    let mut seen = 0;
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start_on(&db, 0, |c| peer.configure(c)).await;
        pole(&server, "ptce-rhone", "PTCE Rhône").await;
        pole(&server, "ptce-breizh", "Pôle Breizh").await;
        person(&server.store, "webadmin", None, Role::Admin).await;
        let mut admin = Visitor::new(&server);
        assert_eq!(
            admin.sign_in("webadmin", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        let sent = admin
            .submit(
                "/admin/poles/ptce-rhone/invite",
                "/admin/poles/ptce-rhone/invite",
                &[("email", "Jeanne.Martin@example.org")],
            )
            .await;
        assert_eq!(
            sent.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            sent.body
        );
        assert!(sent.location.starts_with("/admin/poles/ptce-rhone?done="));
        let mail = peer.wait_for(seen + 1).await.pop().expect("a message");
        seen += 1;
        assert_eq!(mail.to, ["Jeanne.Martin@example.org"], "[{label}]");
        assert!(
            mail.subject.contains("PTCE Rhône") && mail.subject.contains("invité"),
            "[{label}] French, as the administrator reads: {}",
            mail.subject
        );
        assert!(
            mail.body.contains("jeanne.martin"),
            "[{label}] {}",
            mail.body
        );
        let user = server
            .store
            .user_by_username("jeanne.martin")
            .await
            .expect("read")
            .expect("the invited editor");
        assert!(
            user.disabled && user.password_hash.is_none(),
            "[{label}] disabled until a password is chosen"
        );
        let link = path_of(&server, &mail, "/admin/login/invite?token=");
        let mut jeanne = Visitor::new(&server);
        let (status, _) = choose(&mut jeanne, &link, NEW_PASSWORD, "something else entirely").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
        let (status, body) = choose(&mut jeanne, &link, "short", "short").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
        assert!(body.contains("12 caractères"), "[{label}]");
        let (status, body) = choose(&mut jeanne, &link, NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "[{label}] {body}");
        // The link works once.
        let again = jeanne.get(&link).await;
        assert_eq!(again.status, StatusCode::GONE, "[{label}]");
        assert!(again.body.contains("déjà servi"), "[{label}]");
        // The new editor signs in and may edit this pole, not another.
        assert_eq!(
            jeanne.sign_in("jeanne.martin", NEW_PASSWORD).await.status,
            StatusCode::SEE_OTHER,
            "[{label}]"
        );
        let profile = jeanne.get("/admin/poles/ptce-rhone/profile").await;
        assert_eq!(profile.status, StatusCode::OK, "[{label}]");
        let saved = jeanne
            .submit(
                "/admin/poles/ptce-rhone/profile",
                "/admin/poles/ptce-rhone/profile",
                &[
                    ("name", "PTCE Rhône Solidaire"),
                    ("summary", "Coopérer à Villeurbanne"),
                    ("territory.communes", "69266"),
                ],
            )
            .await;
        assert_eq!(
            saved.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            saved.body
        );
        assert_eq!(
            server
                .store
                .pole("ptce-rhone")
                .await
                .expect("pole")
                .pole
                .name,
            "PTCE Rhône Solidaire",
            "[{label}] the invited editor edited the pole"
        );
        assert_eq!(
            jeanne.get("/admin/poles/ptce-breizh/profile").await.status,
            StatusCode::FORBIDDEN,
            "[{label}]"
        );

        // An address with an account is given the pole and told so, in English here.
        admin.get("/lang/en?back=/admin").await;
        let sent = admin
            .submit(
                "/admin/poles/ptce-breizh/invite",
                "/admin/poles/ptce-breizh/invite",
                &[("email", "jeanne.martin@example.org")],
            )
            .await;
        assert_eq!(
            sent.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            sent.body
        );
        let mail = peer.wait_for(seen + 1).await.pop().expect("a message");
        seen += 1;
        assert!(
            mail.subject.contains("you may now edit Pôle Breizh"),
            "[{label}] {}",
            mail.subject
        );
        assert!(!mail.body.contains("token="), "[{label}] no password link");
        assert_eq!(
            server
                .store
                .user_pole_ids(user.id)
                .await
                .expect("poles")
                .len(),
            2,
            "[{label}]"
        );

        // An expired invitation is refused with a page that says so.
        admin
            .submit(
                "/admin/poles/ptce-rhone/invite",
                "/admin/poles/ptce-rhone/invite",
                &[("email", "paul@example.org")],
            )
            .await;
        let mail = peer.wait_for(seen + 1).await.pop().expect("a message");
        seen += 1;
        assert!(
            mail.subject.contains("invited"),
            "[{label}] {}",
            mail.subject
        );
        server
            .store
            .connection()
            .execute_unprepared(
                "UPDATE mail_tokens SET expires_at = '2000-01-01 00:00:00+00:00' WHERE used_at IS NULL",
            )
            .await
            .expect("expire the link");
        let link = path_of(&server, &mail, "/admin/login/invite?token=");
        let expired = Visitor::new(&server).get(&link).await;
        assert_eq!(expired.status, StatusCode::GONE, "[{label}]");
        assert!(expired.body.contains("expiré"), "[{label}]");
        let paul = server
            .store
            .user_by_username("paul")
            .await
            .expect("read")
            .expect("paul");
        assert!(paul.password_hash.is_none(), "[{label}]");
        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
#[ignore = "needs MAILLAGE_TEST_SMTP=1 (Python 3 and PyPI)"]
async fn a_forgotten_password_is_reset_by_mail_without_revealing_accounts() {
    let peer = SmtpPeer::start();
    let mut seen = 0;
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start_on(&db, 0, |c| peer.configure(c)).await;
        person(
            &server.store,
            "alice",
            Some("alice@example.org"),
            Role::Editor,
        )
        .await;
        let resets = "SELECT COUNT(*) FROM mail_tokens WHERE purpose = 'reset'";
        // Signed in elsewhere: this session ends with the reset.
        let mut elsewhere = Visitor::new(&server);
        assert_eq!(
            elsewhere.sign_in("alice", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(elsewhere.get("/admin").await.status, StatusCode::OK);

        let mut v = Visitor::new(&server);
        let login = v.get("/admin/login").await;
        assert!(login.body.contains("/admin/login/forgot"), "[{label}]");
        let notice = |body: &str| {
            body.split("<p class=\"flash\" role=\"status\">")
                .nth(1)
                .and_then(|r| r.split("</p>").next())
                .unwrap_or_default()
                .to_owned()
        };
        let unknown = v
            .submit(
                "/admin/login/forgot",
                "/admin/login/forgot",
                &[("login", "nobody@example.org")],
            )
            .await;
        assert_eq!(unknown.status, StatusCode::OK, "[{label}]");
        assert_eq!(count(&server.store, resets).await, 0, "[{label}] no link");
        let known = v
            .submit(
                "/admin/login/forgot",
                "/admin/login/forgot",
                &[("login", "ALICE@example.org")],
            )
            .await;
        assert_eq!(known.status, StatusCode::OK, "[{label}]");
        assert!(!notice(&known.body).is_empty(), "[{label}] {}", known.body);
        assert_eq!(
            notice(&known.body),
            notice(&unknown.body),
            "[{label}] the same answer"
        );
        let mail = peer.wait_for(seen + 1).await.pop().expect("a message");
        seen += 1;
        assert_eq!(mail.to, ["alice@example.org"], "[{label}]");
        assert!(mail.subject.contains("nouveau mot de passe"), "[{label}]");
        let first_link = path_of(&server, &mail, "/admin/login/reset?token=");

        // By user name too, in English; then the limit: three an hour.
        v.get("/lang/en?back=/admin/login/forgot").await;
        for _ in 0..3 {
            let answer = v
                .submit(
                    "/admin/login/forgot",
                    "/admin/login/forgot",
                    &[("login", "alice")],
                )
                .await;
            assert_eq!(answer.status, StatusCode::OK, "[{label}]");
        }
        assert_eq!(count(&server.store, resets).await, 3, "[{label}] at most 3");
        let all = peer.wait_for(seen + 2).await;
        seen += 2;
        let last = all.last().expect("a message");
        assert!(
            last.subject.contains("choose a new password"),
            "[{label}] {}",
            last.subject
        );
        let link = path_of(&server, last, "/admin/login/reset?token=");

        let (status, body) = choose(
            &mut Visitor::new(&server),
            &link,
            NEW_PASSWORD,
            NEW_PASSWORD,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "[{label}] {body}");
        assert_eq!(
            elsewhere.get("/admin").await.status,
            StatusCode::SEE_OTHER,
            "[{label}] the other session ended"
        );
        // Every other reset link of the account is used up with it.
        assert_eq!(
            Visitor::new(&server).get(&first_link).await.status,
            StatusCode::GONE,
            "[{label}]"
        );
        let mut again = Visitor::new(&server);
        assert_eq!(
            again.sign_in("alice", PASSWORD).await.status,
            StatusCode::UNAUTHORIZED,
            "[{label}] the old password no longer works"
        );
        assert_eq!(
            again.sign_in("alice", NEW_PASSWORD).await.status,
            StatusCode::SEE_OTHER,
            "[{label}]"
        );
        assert_eq!(
            peer.messages().len(),
            seen,
            "[{label}] nothing else was sent"
        );
        server.stop().await;
        db.drop_now().await;
    }
}

/// A follower awaiting approval and a reply awaiting moderation at `slug`.
async fn something_waiting(server: &TestServer, slug: &str) {
    let pole = server.store.pole(slug).await.expect("pole");
    ok(
        server,
        Method::POST,
        &format!("/api/v1/poles/{slug}/events"),
        Some(
            json!({"title": "Marché des producteurs", "summary": "Producteurs du coin",
                    "starts_at": "2035-05-04T09:00", "ends_at": "2035-05-04T13:00",
                    "place": {"name": "Place Lazare-Goujon", "commune": "69266",
                              "latitude": 45.766, "longitude": 4.879}}),
        ),
    )
    .await;
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
        .next()
        .expect("the event");
    let actor = server
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
            url: None,
        })
        .await
        .expect("actor");
    server
        .store
        .add_follower(
            &pole.ap_id,
            Some(pole.id),
            actor.id,
            "https://masto.example/follows/1",
            "pending",
        )
        .await
        .expect("follower");
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
            author_id: actor.id,
            content_html: "<p>J’y serai !</p>",
            url: None,
            published_at: chrono::Utc::now(),
            needs_approval: true,
        })
        .await
        .expect("reply");
}

#[tokio::test]
#[ignore = "needs MAILLAGE_TEST_SMTP=1 (Python 3 and PyPI)"]
async fn the_daily_digest_goes_once_a_day_to_those_with_something_waiting() {
    let peer = SmtpPeer::start();
    let mut seen = 0;
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start_on(&db, 0, |c| peer.configure(c)).await;
        let rhone = pole(&server, "ptce-rhone", "PTCE Rhône").await;
        let breizh = pole(&server, "ptce-breizh", "Pôle Breizh").await;
        let edith = person(
            &server.store,
            "edith",
            Some("edith@example.org"),
            Role::Editor,
        )
        .await;
        let otto = person(
            &server.store,
            "otto",
            Some("otto@example.org"),
            Role::Editor,
        )
        .await;
        let nina = person(
            &server.store,
            "nina",
            Some("nina@example.org"),
            Role::Editor,
        )
        .await;
        for (user, pole) in [(edith, rhone), (otto, rhone), (nina, breizh)] {
            server.store.grant_pole(user, pole).await.expect("grant");
        }
        // Otto opts out in his account.
        let mut v = Visitor::new(&server);
        assert_eq!(
            v.sign_in("otto", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        let account = v.get("/admin/account").await;
        assert!(
            account
                .body
                .contains("name=\"digest\" value=\"on\" checked"),
            "[{label}]"
        );
        let saved = v.submit("/admin/account", "/admin/account", &[]).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "[{label}]");
        assert!(
            !server.store.wants_digest(otto).await.expect("read"),
            "[{label}]"
        );

        let day = chrono::Utc::now().date_naive();
        let mailer = &server.state.mailer;
        let nothing = send_digests(&server.store, mailer, day)
            .await
            .expect("digest");
        assert_eq!(
            nothing,
            DigestReport::default(),
            "[{label}] nothing waits: no message"
        );
        something_waiting(&server, "ptce-rhone").await;

        // Two processes at once: one message.
        let (a, b) = tokio::join!(
            send_digests(&server.store, mailer, day),
            send_digests(&server.store, mailer, day)
        );
        let sent = a.expect("digest").sent + b.expect("digest").sent;
        assert_eq!(sent, 1, "[{label}]");
        let mail = peer.wait_for(seen + 1).await.pop().expect("a message");
        seen += 1;
        assert_eq!(mail.to, ["edith@example.org"], "[{label}]");
        for needle in [
            "1 abonné(s) en attente",
            "1 réponse(s) à modérer",
            "1 follower(s) awaiting approval",
            "1 reply(ies) to moderate",
            "PTCE Rhône",
        ] {
            assert!(
                mail.body.contains(needle),
                "[{label}] {needle}: {}",
                mail.body
            );
        }
        assert!(
            mail.body
                .contains(&format!("{}/admin/poles/ptce-rhone", server.base)),
            "[{label}] {}",
            mail.body
        );
        let unsubscribe = mail.header("List-Unsubscribe").expect("List-Unsubscribe");
        assert_eq!(
            mail.header("List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click"),
            "[{label}]"
        );
        let unsubscribe = unsubscribe.trim_matches(['<', '>']).to_owned();
        assert!(mail.body.contains(&unsubscribe), "[{label}]");

        // The same day again: nothing.
        let again = send_digests(&server.store, mailer, day)
            .await
            .expect("digest");
        assert_eq!(again.sent, 0, "[{label}]");
        // The next day, what still waits is told again.
        let next = send_digests(&server.store, mailer, day.succ_opt().expect("day"))
            .await
            .expect("digest");
        assert_eq!(next.sent, 1, "[{label}]");
        peer.wait_for(seen + 1).await;
        seen += 1;

        // The link shows a button; a mail reader's one-click POST stops the digest.
        let path = unsubscribe.trim_start_matches(&server.base).to_owned();
        let page = Visitor::new(&server).get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "[{label}]");
        assert!(page.body.contains("<button"), "[{label}]");
        assert!(
            server.store.wants_digest(edith).await.expect("read"),
            "[{label}] a GET changes nothing"
        );
        let one_click = reqwest::Client::new()
            .post(&unsubscribe)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .expect("post");
        assert_eq!(one_click.status(), StatusCode::OK, "[{label}]");
        assert!(
            !server.store.wants_digest(edith).await.expect("read"),
            "[{label}]"
        );
        let later = send_digests(&server.store, mailer, day + chrono::Days::new(2))
            .await
            .expect("digest");
        assert_eq!(
            later,
            DigestReport::default(),
            "[{label}] nobody left to tell"
        );
        let messages = peer.messages();
        assert_eq!(messages.len(), seen, "[{label}]");
        assert!(
            messages
                .iter()
                .all(|m| m.to.iter().all(|t| t == "edith@example.org")),
            "[{label}] Otto (opted out) and Nina (nothing waiting) received nothing"
        );
        server.stop().await;
        db.drop_now().await;
    }
}

#[tokio::test]
#[ignore = "needs MAILLAGE_TEST_SMTP=1 (Python 3 and PyPI)"]
async fn the_command_line_sends_a_test_message_invitations_and_the_digest() {
    let peer = SmtpPeer::start();
    let mut seen = 0;
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start_on(&db, 0, |c| peer.configure(c)).await;
        pole(&server, "ptce-rhone", "PTCE Rhône").await;
        let dir = tempfile::tempdir().expect("folder");
        let maillage = |args: &[&str]| {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_maillage"));
            for (name, _) in std::env::vars_os() {
                if name.to_string_lossy().starts_with("MAILLAGE_") {
                    command.env_remove(&name);
                }
            }
            let output = command
                .args(args)
                .current_dir(dir.path())
                .env("MAILLAGE_DATABASE_URL", &db.url)
                .env("MAILLAGE_PUBLIC_URL", &server.base)
                .env("MAILLAGE_SMTP_HOST", "127.0.0.1")
                .env("MAILLAGE_SMTP_PORT", peer.port.to_string())
                .env("MAILLAGE_SMTP_SECURITY", "none")
                .env("MAILLAGE_SMTP_FROM", "Maillage <noreply@example.org>")
                .output()
                .expect("maillage");
            assert!(
                output.status.success(),
                "[{label}] maillage {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8_lossy(&output.stdout).into_owned()
        };
        maillage(&["mail", "test", "ops@example.org"]);
        let mail = peer.wait_for(seen + 1).await.pop().expect("a message");
        seen += 1;
        assert_eq!(mail.to, ["ops@example.org"], "[{label}]");
        assert!(
            mail.subject.contains("message d’essai") && mail.subject.contains("test message"),
            "[{label}] French and English: {}",
            mail.subject
        );
        let out = maillage(&["user", "invite", "lea@example.org", "--pole", "ptce-rhone"]);
        assert!(out.contains("invited `lea`"), "[{label}] {out}");
        let mail = peer.wait_for(seen + 1).await.pop().expect("a message");
        seen += 1;
        assert_eq!(mail.to, ["lea@example.org"], "[{label}]");
        assert!(
            mail.body.contains("/admin/login/invite?token="),
            "[{label}] {}",
            mail.body
        );
        let out = maillage(&["mail", "digest"]);
        assert!(out.contains("digests sent 0"), "[{label}] {out}");
        server.stop().await;
        db.drop_now().await;
    }
}
