//! Whole-database copies: taken while the server runs, restored while it is stopped.
//!
//! On SQLite a backup is `VACUUM INTO`: one read transaction, so the copy is the database
//! as it was at one instant, whatever is being written meanwhile; it is a SQLite file that
//! the `sqlite3` shell opens. On PostgreSQL it is `pg_dump --format=custom` (one snapshot
//! too), restored with `pg_restore`. A copy is written next to its destination and renamed
//! once complete, so a failed backup never leaves a half-written file under its name.

use std::path::{Path, PathBuf};
use std::process::Command;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};

use super::{Backend, Store, StoreError};
use crate::config::Config;

/// Why a backup or a restore could not be made; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists: choose another file or remove it first")]
    Exists(PathBuf),
    #[error("{0} does not exist")]
    Missing(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "`{0}` was not found: it comes with PostgreSQL's client programs (Debian: apt install postgresql-client)"
    )]
    ToolMissing(&'static str),
    #[error("`{tool}` failed ({status}): {stderr}")]
    Tool {
        tool: &'static str,
        status: String,
        stderr: String,
    },
    #[error("{path} is not a Maillage backup: {why}")]
    NotABackup { path: PathBuf, why: String },
    #[error(
        "{path} was made by a newer Maillage (migration `{migration}` is unknown to this one): install that version or a later one to restore it"
    )]
    Newer { path: PathBuf, migration: String },
    #[error(
        "the database is in use: stop the service (and every other `maillage` command) before restoring"
    )]
    InUse,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for BackupError {
    fn from(e: sea_orm::DbErr) -> Self {
        BackupError::Store(e.into())
    }
}

/// What a backup holds.
#[derive(Debug, Clone)]
pub struct BackupSummary {
    pub path: PathBuf,
    pub bytes: u64,
    /// Rows per table, for SQLite copies (a PostgreSQL archive is not opened again).
    pub rows: Vec<(String, i64)>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// `file.partial-<pid>` next to `file`: written first, renamed once complete.
fn partial(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".partial-{}", std::process::id()));
    file.with_file_name(name)
}

/// The file of a SQLite `database.url`.
fn sqlite_file(url: &str) -> Result<PathBuf, BackupError> {
    super::sqlite_file(url).map_err(|e| BackupError::NotABackup {
        path: PathBuf::from(url),
        why: format!("not a SQLite URL ({e})"),
    })
}

/// One connection to a SQLite file, read-only or not.
async fn sqlite_connection(
    file: &Path,
    read_only: bool,
) -> Result<DatabaseConnection, BackupError> {
    let mut options = ConnectOptions::new(format!("sqlite://{}", file.display()));
    options
        .max_connections(1)
        .min_connections(0)
        .sqlx_logging(false);
    options.map_sqlx_sqlite_opts(move |o| {
        o.read_only(read_only)
            .create_if_missing(false)
            .busy_timeout(std::time::Duration::from_millis(200))
    });
    Ok(Database::connect(options).await?)
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Rows per table of a SQLite file, after checking that it is whole and Maillage's.
async fn check_sqlite_copy(file: &Path) -> Result<(Vec<(String, i64)>, Vec<String>), BackupError> {
    let not = |why: String| BackupError::NotABackup {
        path: file.to_owned(),
        why,
    };
    let db = sqlite_connection(file, true)
        .await
        .map_err(|e| not(e.to_string()))?;
    let backend = db.get_database_backend();
    let integrity = db
        .query_one_raw(Statement::from_string(backend, "PRAGMA integrity_check"))
        .await
        .map_err(|e| not(e.to_string()))?
        .and_then(|row| row.try_get_by_index::<String>(0).ok())
        .unwrap_or_default();
    if integrity != "ok" {
        return Err(not(format!("SQLite's integrity check says {integrity}")));
    }
    let tables: Vec<String> = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE 'directory_fts_%' ORDER BY name",
        ))
        .await?
        .iter()
        .filter_map(|row| row.try_get_by_index::<String>(0).ok())
        .collect();
    if !tables.iter().any(|t| t == "seaql_migrations") {
        return Err(not("it has no migration history".into()));
    }
    let mut rows = Vec::new();
    for table in tables {
        let count = db
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT COUNT(*) FROM {}", quoted(&table)),
            ))
            .await?
            .and_then(|row| row.try_get_by_index::<i64>(0).ok())
            .unwrap_or(0);
        rows.push((table, count));
    }
    let migrations = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT version FROM seaql_migrations ORDER BY version",
        ))
        .await?
        .iter()
        .filter_map(|row| row.try_get_by_index::<String>(0).ok())
        .collect();
    db.close().await?;
    Ok((rows, migrations))
}

/// Refuses a backup whose migrations this binary does not know.
fn known_migrations(path: &Path, applied: &[String]) -> Result<(), BackupError> {
    use migration::MigratorTrait;
    let known: Vec<String> = migration::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    match applied.iter().find(|m| !known.contains(m)) {
        Some(unknown) => Err(BackupError::Newer {
            path: path.to_owned(),
            migration: unknown.clone(),
        }),
        None => Ok(()),
    }
}

fn run(tool: &'static str, command: &mut Command) -> Result<(), BackupError> {
    output(tool, command, None).map(drop)
}

/// Runs `tool`, with `input` on its standard input, and gives back its standard output.
fn output(
    tool: &'static str,
    command: &mut Command,
    input: Option<&[u8]>,
) -> Result<Vec<u8>, BackupError> {
    use std::io::Write;
    use std::process::Stdio;
    let started = command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let failed = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => BackupError::ToolMissing(tool),
        _ => BackupError::Tool {
            tool,
            status: "not started".into(),
            stderr: e.to_string(),
        },
    };
    let mut child = started.map_err(failed)?;
    // Written from a thread of its own, so that a tool that writes while it reads never
    // waits for this one; a tool that stops reading on an error says so by its status.
    let writer = match (input, child.stdin.take()) {
        (Some(input), Some(mut stdin)) => {
            let input = input.to_vec();
            Some(std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            }))
        }
        _ => None,
    };
    let output = child.wait_with_output().map_err(failed)?;
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    if output.status.success() {
        return Ok(output.stdout);
    }
    Err(BackupError::Tool {
        tool,
        status: output.status.to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}

impl Store {
    /// Writes a consistent copy of the whole database to `to`, which must not exist yet;
    /// other connections go on reading and writing meanwhile. `database_url` is the one
    /// this store was opened with (PostgreSQL's tools connect with it).
    pub async fn backup(
        &self,
        database_url: &str,
        to: &Path,
    ) -> Result<BackupSummary, BackupError> {
        if to.exists() {
            return Err(BackupError::Exists(to.to_owned()));
        }
        let part = partial(to);
        let _ = std::fs::remove_file(&part);
        let rows = match self.backend {
            Backend::Sqlite => {
                let target = part.to_str().ok_or_else(|| BackupError::Io {
                    path: part.clone(),
                    source: std::io::Error::other("the path is not valid UTF-8"),
                })?;
                let done = self
                    .db
                    .execute_raw(Statement::from_sql_and_values(
                        self.db.get_database_backend(),
                        "VACUUM INTO ?",
                        [target.into()],
                    ))
                    .await;
                if let Err(e) = done {
                    let _ = std::fs::remove_file(&part);
                    return Err(e.into());
                }
                match check_sqlite_copy(&part).await {
                    Ok((rows, _)) => rows,
                    Err(e) => {
                        let _ = std::fs::remove_file(&part);
                        return Err(e);
                    }
                }
            }
            Backend::Postgres => {
                let dumped = run(
                    "pg_dump",
                    Command::new("pg_dump")
                        .arg("--format=custom")
                        .arg("--no-owner")
                        .arg("--file")
                        .arg(&part)
                        .arg("--dbname")
                        .arg(database_url),
                );
                // The archive must read back whole.
                let listed = dumped.and_then(|()| {
                    run(
                        "pg_restore",
                        Command::new("pg_restore").arg("--list").arg(&part),
                    )
                });
                if let Err(e) = listed {
                    let _ = std::fs::remove_file(&part);
                    return Err(e);
                }
                Vec::new()
            }
        };
        std::fs::rename(&part, to).map_err(io(to))?;
        let bytes = std::fs::metadata(to).map_err(io(to))?.len();
        tracing::info!(path = %to.display(), bytes, "backup written");
        Ok(BackupSummary {
            path: to.to_owned(),
            bytes,
            rows,
        })
    }
}

/// Replaces the configured database with the backup `from`, then brings it to this
/// version's schema. The service must be stopped: on SQLite, a database that another
/// process has open is refused.
pub async fn restore(config: &Config, from: &Path) -> Result<BackupSummary, BackupError> {
    if !from.is_file() {
        return Err(BackupError::Missing(from.to_owned()));
    }
    let backend = config
        .backend()
        .map_err(|e| StoreError::Conflict(e.to_string()))?;
    let rows = match backend {
        Backend::Sqlite => restore_sqlite(config, from).await?,
        Backend::Postgres => {
            restore_postgres(config, from)?;
            Vec::new()
        }
    };
    // A backup of an earlier version is brought to this one's schema.
    let store = Store::connect(config).await?;
    store.migrate().await?;
    store.close().await?;
    let bytes = std::fs::metadata(from).map_err(io(from))?.len();
    tracing::info!(path = %from.display(), "database restored");
    Ok(BackupSummary {
        path: from.to_owned(),
        bytes,
        rows,
    })
}

/// The migrations a PostgreSQL archive's history lists, read from its data.
fn archive_migrations(from: &Path) -> Result<Vec<String>, BackupError> {
    let data = output(
        "pg_restore",
        Command::new("pg_restore")
            .args(["--data-only", "--table=seaql_migrations", "--file=-"])
            .arg(from),
        None,
    )?;
    let text = String::from_utf8_lossy(&data);
    let mut lines = text.lines().skip_while(|l| !l.starts_with("COPY "));
    if lines.next().is_none() {
        return Err(BackupError::NotABackup {
            path: from.to_owned(),
            why: "it has no migration history".into(),
        });
    }
    Ok(lines
        .take_while(|l| *l != "\\.")
        .filter_map(|l| l.split('\t').next().map(str::to_owned))
        .collect())
}

/// Drops what migrations made in the current schema (tables with their triggers and
/// sequences, then functions that are not an extension's), so that what a later migration
/// made does not outlive a restore of an earlier archive.
const CLEAR_SCHEMA: &str = "DO $$ DECLARE item record; BEGIN
  FOR item IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
  END LOOP;
  FOR item IN SELECT p.oid::regprocedure AS routine FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = current_schema()
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') LOOP
    EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', item.routine);
  END LOOP;
END $$;
";

/// Replaces every table of the database with the archive's, in one transaction: `psql`
/// runs what `pg_restore` writes, after dropping the tables of later migrations that the
/// archive does not have. A failure leaves the database as it was.
fn restore_postgres(config: &Config, from: &Path) -> Result<(), BackupError> {
    run(
        "pg_restore",
        Command::new("pg_restore").arg("--list").arg(from),
    )
    .map_err(|e| BackupError::NotABackup {
        path: from.to_owned(),
        why: e.to_string(),
    })?;
    known_migrations(from, &archive_migrations(from)?)?;
    let script = output(
        "pg_restore",
        Command::new("pg_restore")
            .args(["--clean", "--if-exists", "--no-owner", "--file=-"])
            .arg(from),
        None,
    )?;
    let mut input = CLEAR_SCHEMA.as_bytes().to_vec();
    input.extend_from_slice(&script);
    output(
        "psql",
        Command::new("psql")
            .args([
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                "--file=-",
            ])
            .arg("--dbname")
            .arg(&config.database.url),
        Some(&input),
    )?;
    Ok(())
}

async fn restore_sqlite(config: &Config, from: &Path) -> Result<Vec<(String, i64)>, BackupError> {
    let (rows, migrations) = check_sqlite_copy(from).await?;
    known_migrations(from, &migrations)?;
    let file = sqlite_file(&config.database.url)?;
    // The new file is complete next to the database before it takes its place.
    let part = partial(&file);
    std::fs::copy(from, &part).map_err(io(&part))?;
    if file.exists() {
        // Nobody else may have the database open: in exclusive locking mode, a write
        // transaction cannot start while any other connection is open on a WAL database.
        let check = async {
            let db = sqlite_connection(&file, false).await?;
            let backend = db.get_database_backend();
            db.execute_raw(Statement::from_string(
                backend,
                "PRAGMA locking_mode = EXCLUSIVE",
            ))
            .await?;
            let alone = db
                .execute_raw(Statement::from_string(backend, "BEGIN EXCLUSIVE"))
                .await
                .is_ok();
            if alone {
                db.execute_raw(Statement::from_string(backend, "ROLLBACK"))
                    .await?;
            }
            db.close().await?;
            Ok::<bool, BackupError>(alone)
        };
        match check.await {
            Ok(true) => {}
            Ok(false) => {
                let _ = std::fs::remove_file(&part);
                return Err(BackupError::InUse);
            }
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                return Err(e);
            }
        }
    }
    for suffix in ["-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let side = PathBuf::from(name);
        if side.exists() {
            std::fs::remove_file(&side).map_err(io(&side))?;
        }
    }
    std::fs::rename(&part, &file).map_err(io(&file))?;
    Ok(rows)
}
