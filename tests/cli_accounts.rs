//! `maillage user passwd`, `user unlock` and `user delete`, on SQLite and PostgreSQL: the
//! binary run as an operator runs it, and what it leaves in the database.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use chrono::Duration;
use common::TestDb;
use maillage::store::{LOCKOUT_FAILURES, LoginCheck, Role, Store, account_key};

const OLD_PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a brand new passphrase";

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `maillage ARGS` on this database, with `stdin` as its standard input (none: closed).
fn maillage(db: &TestDb, args: &[&str], stdin: Option<&str>) -> Outcome {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_maillage"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MAILLAGE_") {
            cmd.env_remove(&name);
        }
    }
    cmd.current_dir(dir.path())
        .env("MAILLAGE_DATABASE_URL", &db.url)
        .env("MAILLAGE_PUBLIC_URL", "http://127.0.0.1:8080")
        .env("MAILLAGE_DATABASE_MAX_CONNECTIONS", "2")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start the maillage binary");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("standard input");
        pipe.write_all(text.as_bytes())
            .expect("write standard input");
    }
    let output = child.wait_with_output().expect("wait for maillage");
    Outcome {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn ok(db: &TestDb, args: &[&str], stdin: Option<&str>) -> String {
    let out = maillage(db, args, stdin);
    assert_eq!(
        out.code,
        Some(0),
        "[{}] `maillage {}`: {}{}",
        db.label,
        args.join(" "),
        out.stdout,
        out.stderr
    );
    out.stdout
}

fn fails(db: &TestDb, args: &[&str], stdin: Option<&str>) -> String {
    let out = maillage(db, args, stdin);
    assert_eq!(
        out.code,
        Some(1),
        "[{}] `maillage {}` should fail: {}{}",
        db.label,
        args.join(" "),
        out.stdout,
        out.stderr
    );
    out.stderr
}

async fn person(store: &Store, name: &str, role: Role) -> i64 {
    let hash = maillage::auth::hash_password(OLD_PASSWORD).expect("hash");
    store
        .create_user(name, None, Some(hash), role)
        .await
        .expect("user")
        .id
}

async fn hash_of(store: &Store, name: &str) -> String {
    store
        .user_by_username(name)
        .await
        .expect("read")
        .and_then(|u| u.password_hash)
        .expect("a password")
}

#[tokio::test]
async fn passwd_unlock_and_delete_from_the_command_line() {
    for db in TestDb::all().await {
        let label = db.label;
        let store = common::store(&db).await;
        person(&store, "ana", Role::Admin).await;
        let bob = person(&store, "bob", Role::Editor).await;
        store
            .create_session("session-of-bob", bob, "csrf", Duration::hours(1))
            .await
            .expect("session");
        let token = maillage::auth::new_token();
        store
            .create_token(bob, "script", &token.prefix, &token.hash)
            .await
            .expect("token");

        // Unknown people are named in the error, for each command.
        for command in ["passwd", "unlock", "delete"] {
            let err = fails(&db, &["user", command, "nobody"], Some("whatever it is\n"));
            assert!(
                err.contains("there is no user `nobody`"),
                "[{label}] {command}: {err}"
            );
        }

        // The password comes from standard input, never from the command line.
        let out = maillage(&db, &["user", "passwd", "bob", NEW_PASSWORD], None);
        assert_eq!(out.code, Some(2), "[{label}] {}", out.stderr);
        let err = fails(&db, &["user", "passwd", "bob"], Some(""));
        assert!(err.contains("no password"), "[{label}] {err}");
        let err = fails(&db, &["user", "passwd", "bob"], Some("short\n"));
        assert!(err.contains("12 characters"), "[{label}] {err}");
        assert!(
            maillage::auth::verify_password(OLD_PASSWORD, &hash_of(&store, "bob").await),
            "[{label}] a refused password changes nothing"
        );

        let out = ok(
            &db,
            &["user", "passwd", "bob"],
            Some(&format!("{NEW_PASSWORD}\n")),
        );
        assert!(out.contains("password of `bob` changed"), "[{label}] {out}");
        let hash = hash_of(&store, "bob").await;
        assert!(
            maillage::auth::verify_password(NEW_PASSWORD, &hash),
            "[{label}]"
        );
        assert!(
            !maillage::auth::verify_password(OLD_PASSWORD, &hash),
            "[{label}]"
        );
        assert!(
            store
                .session("session-of-bob")
                .await
                .expect("read")
                .is_none(),
            "[{label}] bob's sessions ended"
        );

        // Failed sign-ins lock the account until `unlock`.
        let key = vec![account_key("bob")];
        for _ in 0..LOCKOUT_FAILURES {
            store.begin_login_attempt(&key).await.expect("attempt");
        }
        assert!(
            matches!(
                store.begin_login_attempt(&key).await.expect("attempt"),
                LoginCheck::LockedUntil(_)
            ),
            "[{label}] locked"
        );
        let out = ok(&db, &["user", "unlock", "bob"], None);
        assert!(out.contains("`bob` unlocked"), "[{label}] {out}");
        assert_eq!(
            store.begin_login_attempt(&key).await.expect("attempt"),
            LoginCheck::Allowed,
            "[{label}] unlocked"
        );
        let out = ok(&db, &["user", "unlock", "bob"], None);
        assert!(out.contains("was not locked"), "[{label}] {out}");

        // Deleting takes the tokens along; the last administrator stays.
        let out = ok(&db, &["user", "delete", "bob"], None);
        assert!(out.contains("deleted editor `bob`"), "[{label}] {out}");
        assert!(
            store.user_by_username("bob").await.expect("read").is_none(),
            "[{label}]"
        );
        assert!(
            store
                .user_by_token_hash(&token.hash)
                .await
                .expect("read")
                .is_none(),
            "[{label}] the token went with its owner"
        );
        assert!(store.list_tokens(None).await.expect("tokens").is_empty());
        let err = fails(&db, &["user", "delete", "ana"], None);
        assert!(err.contains("last administrator"), "[{label}] {err}");
        assert!(
            store.user_by_username("ana").await.expect("read").is_some(),
            "[{label}]"
        );

        store.close().await.expect("close");
        db.drop_now().await;
    }
}
