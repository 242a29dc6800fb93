//! Accounts in the administration, on SQLite and PostgreSQL, through its forms as a browser
//! without JavaScript sends them: a person's own password, and for administrators the
//! accounts (created, given and taken poles, reset, unlocked, deleted after a confirmation
//! page) and API tokens (created once shown, revoked after a confirmation page); everyone
//! else is refused, in their language.

mod common;

use common::visitor::{Answer, PASSWORD, Visitor, csrf};
use common::{TestDb, TestServer, ok};
use maillage::store::{LOCKOUT_FAILURES, Role};
use reqwest::{Method, StatusCode};
use serde_json::json;

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn person(server: &TestServer, name: &str, role: Role) -> i64 {
    let hash = maillage::auth::hash_password(PASSWORD).expect("hash");
    server
        .store
        .create_user(name, None, Some(hash), role)
        .await
        .expect("user")
        .id
}

/// A pole, an administrator and an editor of the pole; the editor's id.
async fn setup(server: &TestServer) -> i64 {
    ok(
        server,
        Method::POST,
        "/api/v1/poles",
        Some(json!({"slug": "ptce-rhone", "name": "PTCE Rhône Solidaire",
                    "territory": {"communes": ["69266"]}})),
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
    editor
}

async fn signed_in(server: &TestServer, name: &str, password: &str) -> Visitor {
    let mut v = Visitor::new(server);
    let answer = v.sign_in(name, password).await;
    assert_eq!(
        answer.status,
        StatusCode::SEE_OTHER,
        "{name}: {}",
        answer.body
    );
    v
}

/// The secret a page shows once.
fn secret(answer: &Answer) -> String {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let start = answer
        .body
        .find("<code>")
        .unwrap_or_else(|| panic!("no secret in {}", answer.body))
        + 6;
    answer.body[start..]
        .split('<')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The number in `/admin/users/N` of this row's link.
fn user_id(server_store_id: i64) -> String {
    format!("/admin/users/{server_store_id}")
}

#[tokio::test]
async fn accounts_and_tokens_from_the_administration() {
    common::install_tls_provider();
    for db in TestDb::all().await {
        let server = TestServer::start(&db).await;
        let editor = setup(&server).await;
        others_are_refused(&server, db.label, editor).await;
        own_password(&server, db.label).await;
        managing_accounts(&server, db.label).await;
        managing_tokens(&server, db.label).await;
        server.stop().await;
        db.drop_now().await;
    }
}

async fn others_are_refused(server: &TestServer, label: &str, editor: i64) {
    let token = server.store.list_tokens(None).await.expect("tokens")[0].id;
    let mut v = signed_in(server, "editrice", PASSWORD).await;
    let pages = [
        "/admin/users".to_owned(),
        "/admin/tokens".to_owned(),
        user_id(editor),
        format!("{}/delete", user_id(editor)),
        format!("/admin/tokens/{token}/revoke"),
    ];
    for page in &pages {
        let answer = v.get(page).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "[{label}] {page}");
        assert!(
            answer
                .body
                .contains("Seuls les administrateurs de l’instance ont accès à cette page."),
            "[{label}] {page}: {}",
            answer.body
        );
    }
    // Forms posted with a valid token are refused too, and change nothing.
    let token_field = csrf(&v.get("/admin").await.body);
    let users = server.store.list_users().await.expect("users").len();
    for (action, fields) in [
        (
            "/admin/users",
            vec![("username", "intrus"), ("role", "admin")],
        ),
        (
            "/admin/tokens",
            vec![("user", "editrice"), ("name", "à moi")],
        ),
        ("/admin/users/1/delete", vec![]),
        ("/admin/users/1/password", vec![("how", "password")]),
    ] {
        let mut all = vec![("_csrf", token_field.as_str())];
        all.extend(fields);
        let answer = v.post(action, &all).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "[{label}] {action}");
    }
    assert_eq!(
        server.store.list_users().await.expect("users").len(),
        users,
        "[{label}]"
    );
    assert_eq!(
        server.store.list_tokens(None).await.expect("tokens").len(),
        1,
        "[{label}]"
    );
    // In English for who reads English.
    v.cookies.insert("lang".into(), "en".into());
    let answer = v.get("/admin/users").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "[{label}]");
    assert!(
        answer.body.contains("administrators can use this page."),
        "[{label}] {}",
        answer.body
    );
}

async fn own_password(server: &TestServer, label: &str) {
    let mut here = signed_in(server, "editrice", PASSWORD).await;
    let mut elsewhere = signed_in(server, "editrice", PASSWORD).await;
    let account = here.get("/admin/account").await;
    assert!(
        account.body.contains("/admin/account/password"),
        "[{label}] linked from the account page"
    );
    let page = "/admin/account/password";
    let form = here.get(page).await;
    assert_eq!(form.status, StatusCode::OK, "[{label}]");
    assert!(
        form.body.contains("Mot de passe actuel"),
        "[{label}] {}",
        form.body
    );

    let wrong = here
        .submit(
            page,
            page,
            &[
                ("current", "not my password at all"),
                ("password", NEW_PASSWORD),
                ("password2", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
    assert!(
        wrong.body.contains("Le mot de passe actuel est incorrect."),
        "[{label}] {}",
        wrong.body
    );
    let differ = here
        .submit(
            page,
            page,
            &[
                ("current", PASSWORD),
                ("password", NEW_PASSWORD),
                ("password2", "another passphrase entirely"),
            ],
        )
        .await;
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
    assert!(
        differ.body.contains("Les deux mots de passe diffèrent."),
        "[{label}]"
    );
    let short = here
        .submit(
            page,
            page,
            &[
                ("current", PASSWORD),
                ("password", "short"),
                ("password2", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
    let forged = here
        .post(
            page,
            &[
                ("current", PASSWORD),
                ("password", NEW_PASSWORD),
                ("password2", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "[{label}]");
    let hash = server
        .store
        .user_by_username("editrice")
        .await
        .expect("read")
        .and_then(|u| u.password_hash)
        .expect("hash");
    assert!(
        maillage::auth::verify_password(PASSWORD, &hash),
        "[{label}] unchanged so far"
    );

    let done = here
        .submit(
            page,
            page,
            &[
                ("current", PASSWORD),
                ("password", NEW_PASSWORD),
                ("password2", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        done.status,
        StatusCode::SEE_OTHER,
        "[{label}] {}",
        done.body
    );
    assert!(
        done.location.starts_with("/admin/account?done="),
        "[{label}]"
    );
    assert_eq!(
        here.get("/admin").await.status,
        StatusCode::OK,
        "[{label}] this session stays"
    );
    assert_eq!(
        elsewhere.get("/admin").await.status,
        StatusCode::SEE_OTHER,
        "[{label}] the other session ended"
    );
    let mut old = Visitor::new(server);
    assert_eq!(
        old.sign_in("editrice", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED,
        "[{label}]"
    );
    signed_in(server, "editrice", NEW_PASSWORD).await;
}

async fn managing_accounts(server: &TestServer, label: &str) {
    let mut admin = signed_in(server, "webadmin", PASSWORD).await;
    let dashboard = admin.get("/admin").await;
    assert!(
        dashboard.body.contains("href=\"/admin/users\""),
        "[{label}]"
    );
    let list = admin.get("/admin/users").await;
    assert_eq!(list.status, StatusCode::OK, "[{label}]");
    assert!(
        list.body.contains("editrice") && list.body.contains("PTCE Rhône Solidaire"),
        "[{label}] {}",
        list.body
    );
    assert!(list.body.contains("Créer un compte"), "[{label}]");

    // Mistakes come back with the form, in French, and nothing is created.
    let bad = admin
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("username", "Nom Avec Espaces"),
                ("email", "pas une adresse"),
                ("role", "editor"),
                ("pole", "ptce-inconnu"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
    for message in [
        "L’identifiant doit compter de 1 à 64 caractères",
        "Ce n’est pas une adresse électronique valable.",
        "Choisissez un pôle de la liste.",
    ] {
        assert!(
            bad.body.contains(message),
            "[{label}] {message}: {}",
            bad.body
        );
    }
    assert!(
        bad.body.contains("value=\"Nom Avec Espaces\""),
        "[{label}] kept"
    );
    let taken = admin
        .submit(
            "/admin/users",
            "/admin/users",
            &[("username", "editrice"), ("role", "editor")],
        )
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
    assert!(taken.body.contains("déjà pris"), "[{label}]");

    // An account, its password shown once.
    let created = admin
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("username", "nouvelle"),
                ("email", "nouvelle@example.org"),
                ("role", "editor"),
                ("pole", "ptce-rhone"),
            ],
        )
        .await;
    let password = secret(&created);
    assert!(password.len() >= 12, "[{label}] {password}");
    let user = server
        .store
        .user_by_username("nouvelle")
        .await
        .expect("read")
        .expect("created");
    assert_eq!(user.role, Role::Editor, "[{label}]");
    let pole = server.store.pole("ptce-rhone").await.expect("pole");
    assert_eq!(
        server.store.user_pole_ids(user.id).await.expect("poles"),
        vec![pole.id],
        "[{label}]"
    );
    let mut nouvelle = signed_in(server, "nouvelle", &password).await;
    let page = user_id(user.id);

    // Poles taken back and given again.
    let revoked = admin
        .submit(&page, &format!("{page}/poles/ptce-rhone/revoke"), &[])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "[{label}]");
    assert!(
        server
            .store
            .user_pole_ids(user.id)
            .await
            .expect("poles")
            .is_empty(),
        "[{label}]"
    );
    assert_eq!(
        nouvelle.get("/admin/poles/ptce-rhone/profile").await.status,
        StatusCode::FORBIDDEN,
        "[{label}] no longer an editor of the pole"
    );
    let granted = admin
        .submit(&page, &format!("{page}/poles"), &[("pole", "ptce-rhone")])
        .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "[{label}]");
    assert_eq!(
        server.store.user_pole_ids(user.id).await.expect("poles"),
        vec![pole.id],
        "[{label}]"
    );

    // Locked by failed sign-ins, unlocked by an administrator.
    let mut guesser = Visitor::new(server);
    for _ in 0..LOCKOUT_FAILURES {
        guesser.sign_in("nouvelle", "a wrong guess again").await;
    }
    assert_eq!(
        guesser.sign_in("nouvelle", &password).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "[{label}] locked"
    );
    let shown = admin.get(&page).await;
    assert!(
        shown.body.contains("Connexion bloquée") && shown.body.contains("/unlock"),
        "[{label}] {}",
        shown.body
    );
    let list = admin.get("/admin/users").await;
    assert!(
        list.body.contains("Bloqué après des échecs de connexion"),
        "[{label}]"
    );
    let unlocked = admin.submit(&page, &format!("{page}/unlock"), &[]).await;
    assert_eq!(unlocked.status, StatusCode::SEE_OTHER, "[{label}]");
    assert_eq!(
        guesser.sign_in("nouvelle", &password).await.status,
        StatusCode::SEE_OTHER,
        "[{label}] unlocked"
    );

    // A new password, shown once, ends the person's sessions.
    let reset = admin
        .submit(&page, &format!("{page}/password"), &[("how", "password")])
        .await;
    let again = secret(&reset);
    assert_ne!(again, password, "[{label}]");
    assert_eq!(
        nouvelle.get("/admin").await.status,
        StatusCode::SEE_OTHER,
        "[{label}] signed out"
    );
    assert_eq!(
        Visitor::new(server)
            .sign_in("nouvelle", &password)
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "[{label}] the old password no longer works"
    );
    signed_in(server, "nouvelle", &again).await;

    // Deleting asks first, on a page of its own.
    let confirm = admin.get(&format!("{page}/delete")).await;
    assert_eq!(confirm.status, StatusCode::OK, "[{label}]");
    assert!(
        confirm.body.contains("Supprimer le compte « nouvelle » ?")
            && confirm.body.contains(&format!("href=\"{page}\""))
            && confirm.body.contains(&format!("action=\"{page}/delete\"")),
        "[{label}] {}",
        confirm.body
    );
    assert!(
        server
            .store
            .user_by_username("nouvelle")
            .await
            .expect("read")
            .is_some(),
        "[{label}] asking deletes nothing"
    );
    let forged = admin.post(&format!("{page}/delete"), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "[{label}]");
    let deleted = admin
        .submit(&format!("{page}/delete"), &format!("{page}/delete"), &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "[{label}]");
    assert!(
        deleted.location.starts_with("/admin/users?done="),
        "[{label}]"
    );
    assert!(
        server
            .store
            .user_by_username("nouvelle")
            .await
            .expect("read")
            .is_none(),
        "[{label}]"
    );
    assert_eq!(
        admin.get(&page).await.status,
        StatusCode::NOT_FOUND,
        "[{label}]"
    );

    // Nobody deletes their own account.
    let me = server
        .store
        .user_by_username("webadmin")
        .await
        .expect("read")
        .expect("admin");
    let own = admin.get(&format!("{}/delete", user_id(me.id))).await;
    assert_eq!(own.status, StatusCode::CONFLICT, "[{label}]");
    assert!(
        own.body
            .contains("Vous ne pouvez pas supprimer votre propre compte."),
        "[{label}]"
    );

    // The pages in English.
    admin.cookies.insert("lang".into(), "en".into());
    let list = admin.get("/admin/users").await;
    assert!(
        list.body.contains("Create an account") && list.body.contains("Accounts"),
        "[{label}]"
    );
}

async fn managing_tokens(server: &TestServer, label: &str) {
    let mut admin = signed_in(server, "webadmin", PASSWORD).await;
    let page = "/admin/tokens";
    let list = admin.get(page).await;
    assert_eq!(list.status, StatusCode::OK, "[{label}]");
    assert!(list.body.contains("Jetons d’API"), "[{label}]");

    let unnamed = admin
        .submit(page, page, &[("user", "editrice"), ("name", "  ")])
        .await;
    assert_eq!(
        unnamed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "[{label}]"
    );
    assert!(unnamed.body.contains("Donnez un nom au jeton"), "[{label}]");

    let created = admin
        .submit(page, page, &[("user", "editrice"), ("name", "Tableur")])
        .await;
    let token = secret(&created);
    assert!(token.starts_with("mlg_"), "[{label}] {token}");
    let works = server
        .store
        .user_by_token_hash(&maillage::auth::hash_token(&token))
        .await
        .expect("read");
    assert_eq!(
        works.map(|(u, _)| u.username),
        Some("editrice".to_owned()),
        "[{label}]"
    );
    let list = admin.get(page).await;
    assert!(
        list.body.contains("Tableur") && !list.body.contains(&token),
        "[{label}] listed, never shown again"
    );
    let id = server
        .store
        .list_tokens(None)
        .await
        .expect("tokens")
        .into_iter()
        .find(|t| t.name == "Tableur")
        .expect("stored")
        .id;

    let revoke = format!("/admin/tokens/{id}/revoke");
    let confirm = admin.get(&revoke).await;
    assert_eq!(confirm.status, StatusCode::OK, "[{label}]");
    assert!(
        confirm.body.contains("Révoquer le jeton « Tableur » ?")
            && confirm.body.contains("href=\"/admin/tokens\""),
        "[{label}] {}",
        confirm.body
    );
    let forged = admin.post(&revoke, &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "[{label}]");
    assert!(
        server
            .store
            .user_by_token_hash(&maillage::auth::hash_token(&token))
            .await
            .expect("read")
            .is_some(),
        "[{label}] still works"
    );
    let revoked = admin.submit(&revoke, &revoke, &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "[{label}]");
    assert!(
        server
            .store
            .user_by_token_hash(&maillage::auth::hash_token(&token))
            .await
            .expect("read")
            .is_none(),
        "[{label}] revoked"
    );
    let list = admin.get(page).await;
    assert!(list.body.contains("Révoqué le"), "[{label}]");
    assert_eq!(
        admin.get("/admin/tokens/999999/revoke").await.status,
        StatusCode::NOT_FOUND,
        "[{label}]"
    );
}

/// Opens the page of an e-mailed link and chooses this password there.
async fn choose(v: &mut Visitor, path: &str, password: &str) -> StatusCode {
    let page = v.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
    let token = common::visitor::hidden(&page.body, "token");
    let action = path.split('?').next().unwrap_or_default().to_owned();
    v.post(
        &action,
        &[
            ("_csrf", csrf(&page.body).as_str()),
            ("token", token.as_str()),
            ("password", password),
            ("password2", password),
        ],
    )
    .await
    .status
}

/// With e-mail configured, the accounts page invites by e-mail and an account's page sends a
/// reset link.
#[tokio::test]
#[ignore = "needs MAILLAGE_TEST_SMTP=1 (Python 3 and PyPI)"]
async fn with_e_mail_the_administration_invites_and_sends_reset_links() {
    use common::smtp::SmtpPeer;
    common::smtp::require_enabled();
    let peer = SmtpPeer::start();
    let mut seen = 0;
    for db in TestDb::all().await {
        let label = db.label;
        let server = TestServer::start_on(&db, 0, |c| peer.configure(c)).await;
        setup(&server).await;
        let hash = maillage::auth::hash_password(PASSWORD).expect("hash");
        let bob = server
            .store
            .create_user("bob", Some("bob@example.org"), Some(hash), Role::Editor)
            .await
            .expect("bob")
            .id;
        let mut admin = signed_in(&server, "webadmin", PASSWORD).await;
        let list = admin.get("/admin/users").await;
        assert!(
            list.body.contains("action=\"/admin/users/invite\""),
            "[{label}] {}",
            list.body
        );
        let bad = admin
            .submit(
                "/admin/users",
                "/admin/users/invite",
                &[("email", "not an address"), ("pole", "ptce-rhone")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "[{label}]");
        let sent = admin
            .submit(
                "/admin/users",
                "/admin/users/invite",
                &[("email", "jeanne@example.org"), ("pole", "ptce-rhone")],
            )
            .await;
        assert_eq!(
            sent.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            sent.body
        );
        assert!(sent.location.starts_with("/admin/users?done="), "[{label}]");
        let mail = peer.wait_for(seen + 1).await.pop().expect("a message");
        seen += 1;
        assert_eq!(mail.to, ["jeanne@example.org"], "[{label}]");
        let link = mail
            .link(&format!("{}/admin/login/invite?token=", server.base))
            .expect("an invitation link");
        let mut jeanne = Visitor::new(&server);
        let path = link.trim_start_matches(&server.base).to_owned();
        assert_eq!(
            choose(&mut jeanne, &path, NEW_PASSWORD).await,
            StatusCode::OK,
            "[{label}]"
        );
        signed_in(&server, "jeanne", NEW_PASSWORD).await;

        let page = user_id(bob);
        let shown = admin.get(&page).await;
        assert!(
            shown.body.contains("Envoyer un lien de réinitialisation"),
            "[{label}] {}",
            shown.body
        );
        let mut bob_here = signed_in(&server, "bob", PASSWORD).await;
        let asked = admin
            .submit(&page, &format!("{page}/password"), &[("how", "link")])
            .await;
        assert_eq!(
            asked.status,
            StatusCode::SEE_OTHER,
            "[{label}] {}",
            asked.body
        );
        let mail = peer.wait_for(seen + 1).await.pop().expect("a message");
        seen += 1;
        assert_eq!(mail.to, ["bob@example.org"], "[{label}]");
        let link = mail
            .link(&format!("{}/admin/login/reset?token=", server.base))
            .expect("a reset link");
        assert_eq!(
            bob_here.get("/admin").await.status,
            StatusCode::OK,
            "[{label}] nothing changes until the link is followed"
        );
        let path = link.trim_start_matches(&server.base).to_owned();
        assert_eq!(
            choose(&mut Visitor::new(&server), &path, NEW_PASSWORD).await,
            StatusCode::OK,
            "[{label}]"
        );
        assert_eq!(
            bob_here.get("/admin").await.status,
            StatusCode::SEE_OTHER,
            "[{label}] bob's sessions ended"
        );
        signed_in(&server, "bob", NEW_PASSWORD).await;
        server.stop().await;
        db.drop_now().await;
    }
}
