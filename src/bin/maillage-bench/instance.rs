//! The instance a run measures, prepared in its database before the server starts: poles,
//! their keys and their followers, and an administrator's API token.
//!
//! What is set up here is marked as federated before the server starts, so that only the
//! projects a run creates afterwards are published.

use std::path::Path;

use maillage::config::Config;
use maillage::domain::PoleInput;
use maillage::store::{NewRemoteActor, PoleRecord, Role, Store};

use crate::{BenchResult, free_port};

/// A prepared instance, its database still open for a run's own additions.
pub(crate) struct Instance {
    pub(crate) store: Store,
    pub(crate) database_url: String,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    pub(crate) port: u16,
    pub(crate) poles: Vec<PoleRecord>,
    /// The administrator's API token.
    pub(crate) token: String,
}

/// The URL of a fresh SQLite database in `dir`.
pub(crate) fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("bench.db").display())
}

/// A scratch PostgreSQL database created empty on the server of a URL, dropped when
/// [`ScratchPostgres::drop_database`] is called (or kept with MAILLAGE_BENCH_KEEP=1).
pub(crate) struct ScratchPostgres {
    admin: sea_orm::DatabaseConnection,
    name: String,
    /// The URL of the scratch database.
    pub(crate) url: String,
}

impl ScratchPostgres {
    /// Drops `name` if it is left from an earlier run and creates it again, empty, on the
    /// server of `server_url` (the URL of any database the user may connect to).
    pub(crate) async fn create(server_url: &str, name: &str) -> BenchResult<ScratchPostgres> {
        use sea_orm::ConnectionTrait;
        let (prefix, _) = server_url
            .split('?')
            .next()
            .and_then(|u| u.rsplit_once('/'))
            .ok_or("the PostgreSQL URL must end with /database")?;
        let admin = sea_orm::Database::connect(server_url).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        Ok(ScratchPostgres {
            admin,
            name: name.to_owned(),
            url: format!("{prefix}/{name}"),
        })
    }

    pub(crate) async fn drop_database(self) -> BenchResult<()> {
        use sea_orm::ConnectionTrait;
        if std::env::var_os("MAILLAGE_BENCH_KEEP").is_none() {
            self.admin
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .await?;
        }
        self.admin.close().await?;
        Ok(())
    }
}

/// An instance on the empty database of `database_url`, with one pole per set of `followers` ports, each pole followed by the instances on its ports
/// and on `every_pole`'s. The ports are taken before the server's, which cannot be one of
/// them.
pub(crate) async fn prepare(
    database_url: &str,
    followers: &[&[u16]],
    every_pole: &[u16],
) -> BenchResult<Instance> {
    let port = free_port()?;
    let database_url = database_url.to_owned();
    let base = format!("http://127.0.0.1:{port}");
    let mut config = Config::default();
    config.database.url = database_url.clone();
    config.public_url = base.clone();

    // The instance as it would be after followers came: poles, their keys, their followers.
    let store = Store::connect(&config).await?;
    store.migrate().await?;
    store.ensure_instance("Maillage bench").await?;
    store.instance_keys().await?;
    let mut poles = Vec::with_capacity(followers.len());
    for (round, ports) in followers.iter().enumerate() {
        let pole = store
            .create_pole(
                &PoleInput {
                    slug: format!("banc-{round}"),
                    name: format!("Pôle banc d'essai {round}"),
                    ..Default::default()
                }
                .validate()?,
            )
            .await?;
        store.pole_keys(pole.id).await?;
        for port in ports.iter().chain(every_pole) {
            let actor = store
                .upsert_remote_actor(&NewRemoteActor {
                    ap_id: format!("http://127.0.0.1:{port}/users/f"),
                    kind: "Person".into(),
                    username: Some("f".into()),
                    name: None,
                    domain: format!("127.0.0.1:{port}"),
                    inbox: format!("http://127.0.0.1:{port}/users/f/inbox"),
                    shared_inbox: Some(format!("http://127.0.0.1:{port}/inbox")),
                    key_id: None,
                    public_key_pem: None,
                    url: None,
                })
                .await?;
            store
                .add_follower(
                    &pole.ap_id,
                    Some(pole.id),
                    actor.id,
                    &format!("http://127.0.0.1:{port}/follows/{round}"),
                    "accepted",
                )
                .await?;
        }
        poles.push(pole);
    }
    let user = store.create_user("bench", None, None, Role::Admin).await?;
    let token = maillage::auth::new_token();
    store
        .create_token(user.id, "bench", &token.prefix, &token.hash)
        .await?;
    Ok(Instance {
        store,
        database_url,
        base,
        port,
        poles,
        token: token.token,
    })
}

impl Instance {
    /// Marks what was set up as history (only what is created afterwards is published)
    /// and closes the database, for the server to open.
    pub(crate) async fn close(&self) -> BenchResult<()> {
        sea_orm::ConnectionTrait::execute_unprepared(
            self.store.connection(),
            "UPDATE changes SET federated_at = created_at",
        )
        .await?;
        self.store.clone().close().await?;
        Ok(())
    }
}
