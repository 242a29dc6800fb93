//! The command line: serve, migrate, and manage the instance, its people, poles and tokens.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::domain::{PoleInput, TerritoryInput};
use crate::error::{Error, Result};
use crate::store::{InstanceSettings, Role, Store};
use crate::{auth, web};

mod accounts;

#[derive(Debug, Parser)]
#[command(
    name = "maillage",
    version,
    about = "A federated directory of PTCE poles (Pôles territoriaux de coopération économique)"
)]
pub struct Cli {
    /// TOML configuration file; settings not in it keep their defaults, and MAILLAGE_* variables override both.
    #[arg(long, short = 'c', global = true, env = "MAILLAGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Create the database if there is none yet. Only `serve`, `migrate` and `restore`
    /// create one without it: any other command refuses to start on a database that does
    /// not exist (a wrong directory or path), rather than make a new, empty one.
    #[arg(long, global = true)]
    pub create: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default): migrates the database, then listens.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate {
        /// Only report how many migrations are applied and pending.
        #[arg(long)]
        status: bool,
    },
    /// Write a consistent copy of the whole database to FILE while the server runs (SQLite:
    /// a database file; PostgreSQL: a `pg_dump` archive). FILE must not exist yet.
    Backup { file: PathBuf },
    /// Replace the database with a backup made by `maillage backup`, then bring it to this
    /// version's schema. Stop the service first.
    Restore { file: PathBuf },
    /// Write one local pole, with its members, projects, events, calls, images and signing
    /// keys, to FILE as a JSON archive (readable by its owner only: it holds the private key).
    Export {
        #[arg(long)]
        pole: String,
        file: PathBuf,
    },
    /// Create a local pole from an archive made by `export`, here or on another instance;
    /// everything in it is checked first, and nothing is created unless all of it is valid.
    Import {
        file: PathBuf,
        /// Import it under this slug instead of the archive's.
        #[arg(long)]
        slug: Option<String>,
    },
    /// Create local poles from a table with the columns of /feeds/poles.csv (`,` or `;`
    /// separated) or from a GoGoCarto or Transiscope JSON export, and their members from a
    /// table with the columns of /feeds/members.csv; every row is checked first, and nothing
    /// is created unless all of them are valid.
    ImportPoles {
        file: PathBuf,
        /// `csv` or `gogocarto`; by default told from the file's content.
        #[arg(long, value_parser = ["csv", "gogocarto"])]
        format: Option<String>,
        /// A table of members of these poles (or of poles already here), imported with them.
        #[arg(long)]
        members: Option<PathBuf>,
        /// Only check the files and say what would be created.
        #[arg(long)]
        dry_run: bool,
    },
    /// Add members to poles of this instance from a table with the columns of
    /// /feeds/members.csv; nothing is created unless every row is valid.
    ImportMembers {
        file: PathBuf,
        /// Only check the file and say what would be created.
        #[arg(long)]
        dry_run: bool,
    },
    /// Name the instance (creates its settings on a new database).
    Init(InitArgs),
    /// Manage administrators and pole editors.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the poles of this instance.
    #[command(subcommand)]
    Pole(PoleCommand),
    /// Issue, list and revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check the e-mail settings (`[smtp]`) and send the daily digest now.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Follow another instance (its domain, or `relay@domain`) or any actor (URL or
    /// handle) from this instance's actor, or from one of its poles with `--pole`. The running
    /// server sends the request.
    Follow {
        target: String,
        /// Follow from this local pole instead of the instance.
        #[arg(long, conflicts_with = "relay")]
        pole: Option<String>,
        /// Subscribe to a relay the way Mastodon does (a `Follow` of the public collection);
        /// the relay then receives the instance's public activities.
        #[arg(long)]
        relay: bool,
    },
    /// Stop following, by the number `follows` shows.
    Unfollow {
        id: i64,
        /// Also forget the poles and objects that came through that instance.
        #[arg(long)]
        purge: bool,
    },
    /// List whom this instance (or a pole, with `--pole`) follows.
    Follows {
        #[arg(long)]
        pole: Option<String>,
    },
    /// Walk the graph of instances from one of them (whom they follow, their peers) and list
    /// what is found, to choose whom to follow; nothing is followed.
    Discover {
        /// An instance's domain or URL.
        from: String,
        /// How many follows away to look (0: that instance alone).
        #[arg(long, default_value_t = 2)]
        depth: u32,
    },
    /// Block a domain and its subdomains: its followers, likes, boosts, replies and poles are
    /// forgotten, its activities refused, and nothing is fetched from or sent to it. A running
    /// server sharing the database applies it within a minute.
    Block {
        domain: String,
        /// Why, for the other administrators.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift a block added with `block` (or through the administration).
    Unblock { domain: String },
    /// List the blocked domains, those of the configuration too.
    Blocks,
    /// Read again from their origin the copies of other instances' poles and objects not
    /// read for a while (as the server does in the background): update what changed, delete
    /// what is gone at the source, keep what cannot be read now.
    Refresh {
        /// Read again what was last read longer ago than this (45s, 30m, 12h, 7d); by
        /// default `federation.refresh_after`.
        #[arg(long)]
        older_than: Option<crate::config::Age>,
        /// The most documents to fetch; by default `federation.refresh_batch`.
        #[arg(long)]
        limit: Option<usize>,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Name shown on the instance's pages.
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub summary: Option<String>,
    #[arg(long)]
    pub contact_email: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a person who can sign in or hold API tokens.
    #[command(group(clap::ArgGroup::new("role").required(true).args(["admin", "poles"])))]
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
        /// Administrator of the whole instance (otherwise an editor of the poles given with --pole).
        #[arg(long)]
        admin: bool,
        /// Slug of a pole this editor may edit; repeat for several.
        #[arg(long = "pole")]
        poles: Vec<String>,
        /// Read the password from the first line of standard input instead of asking for it.
        #[arg(long)]
        password_stdin: bool,
        /// Create the person without a password (API tokens only).
        #[arg(long, conflicts_with = "password_stdin")]
        no_password: bool,
    },
    /// List people.
    List,
    /// Invite someone by e-mail to edit a pole: they receive a link to choose their
    /// password (valid 7 days). Someone who has an account is given the pole and told so.
    Invite {
        email: String,
        #[arg(long)]
        pole: String,
    },
    /// Let an editor edit one more pole.
    Grant {
        #[arg(long)]
        username: String,
        #[arg(long)]
        pole: String,
    },
    /// Set a person's password: asked for twice on a terminal, otherwise read from the
    /// first line of standard input (never from the command line). Their sessions end and
    /// a lock after failed sign-ins is lifted.
    Passwd { username: String },
    /// Lift the lock that repeated failed sign-ins put on an account.
    Unlock { username: String },
    /// Delete a person with their API tokens and sessions (not the last administrator).
    Delete { username: String },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Send a test message to ADDRESS through the configured SMTP server.
    Test { address: String },
    /// Send the day's digests now (to those who have something waiting and did not receive
    /// today's yet).
    Digest,
}

#[derive(Debug, Subcommand)]
pub enum PoleCommand {
    /// Create a pole; fill in the rest of its profile through the API.
    Create {
        /// Lower-case identifier, used in URLs and in @slug@domain; it cannot change later.
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        summary: Option<String>,
        /// INSEE code of a commune of its territory; repeat for several.
        #[arg(long = "commune")]
        communes: Vec<String>,
        /// New followers wait for the pole's approval.
        #[arg(long)]
        manually_approves_followers: bool,
    },
    /// List the poles of this instance.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token for a person; it is shown once, only its hash is kept.
    Issue {
        #[arg(long)]
        user: String,
        /// What the token is for (a laptop, a script…).
        #[arg(long)]
        name: String,
    },
    /// List tokens (never the tokens themselves).
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by its number, as shown by `token list`.
    Revoke { id: i64 },
}

/// The configured database, refused unless it holds an instance already or `create` says
/// to make one: a command run from the wrong directory, or with a mistyped path, must not
/// leave a new, empty database behind and act on it.
async fn existing_store(config: &Config, create: bool) -> Result<Store> {
    let refuse = |what: String| {
        Error::Usage(format!(
            "{what}: this command would create a new, empty database. Check the directory \
             it runs in, `--config` and `MAILLAGE_DATABASE_URL`; to create it, run \
             `maillage migrate` or pass `--create`"
        ))
    };
    let url = &config.database.url;
    if !create && config.backend()? == crate::config::Backend::Sqlite {
        let file = crate::store::sqlite_file(url)?;
        if !file.exists() {
            return Err(refuse(format!(
                "there is no database at {}",
                file.display()
            )));
        }
    }
    let store = Store::connect(config).await?;
    if !create && store.migration_status().await?.0 == 0 {
        store.close().await?;
        return Err(refuse("the database holds no Maillage instance".into()));
    }
    Ok(store)
}

/// Runs a command; `serve` is the default.
pub async fn run(cli: Cli, config: Config) -> Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    match command {
        Command::Serve => return web::serve(config).await,
        Command::Restore { file } => {
            let restored = crate::store::backup::restore(&config, &file).await?;
            println!("{}", summary("restored from", &restored));
            return Ok(());
        }
        Command::Backup { file } => {
            let store = existing_store(&config, cli.create).await?;
            let written = store.backup(&config.database.url, &file).await;
            store.close().await?;
            println!("{}", summary("backup written to", &written?));
            return Ok(());
        }
        _ => {}
    }
    let store = match command {
        Command::Migrate { status: false } => Store::connect(&config).await?,
        _ => existing_store(&config, cli.create).await?,
    };
    // `migrate --status` reports; everything else works on the current schema.
    if !matches!(command, Command::Migrate { status: true }) {
        store.migrate().await?;
    }
    let result = match command {
        Command::Follow { .. }
        | Command::Unfollow { .. }
        | Command::Follows { .. }
        | Command::Discover { .. }
        | Command::Block { .. }
        | Command::Unblock { .. }
        | Command::Blocks
        | Command::Refresh { .. } => {
            let fed = crate::federation::fetch::service::Federation::new(
                store.clone(),
                std::sync::Arc::new(config),
            )?;
            // The stored blocks hold for what this command fetches or sends.
            match crate::federation::blocks::reload(&fed).await {
                Ok(_) => federate(&fed, command).await,
                Err(e) => Err(e.into()),
            }
        }
        Command::Export { pole, file } => export(&store, &pole, &file).await,
        Command::User(UserCommand::Invite { email, pole }) => {
            invite(&store, &config, &email, &pole).await
        }
        Command::User(
            command @ (UserCommand::Passwd { .. }
            | UserCommand::Unlock { .. }
            | UserCommand::Delete { .. }),
        ) => accounts::run(&store, command).await,
        Command::Mail(command) => mail(&store, &config, command).await,
        Command::Import { file, slug } => {
            import(&store, &file, slug.as_deref(), config.uploads.max_bytes).await
        }
        Command::ImportPoles {
            file,
            format,
            members,
            dry_run,
        } => {
            let mut parsed = crate::import::Parsed::default();
            let format = format
                .as_deref()
                .and_then(crate::import::PoleFormat::from_id);
            parsed.poles(&read_file(&file)?, format);
            if let Some(members) = members {
                parsed.members(&read_file(&members)?);
            }
            import_rows(&store, parsed, dry_run).await
        }
        Command::ImportMembers { file, dry_run } => {
            let mut parsed = crate::import::Parsed::default();
            parsed.members(&read_file(&file)?);
            import_rows(&store, parsed, dry_run).await
        }
        command => manage(&store, command).await,
    };
    store.close().await?;
    result
}

async fn export(store: &Store, slug: &str, file: &std::path::Path) -> Result<()> {
    use std::io::Write as _;
    let archive = crate::archive::export(store, slug).await?;
    let text = serde_json::to_string_pretty(&archive)
        .map_err(|e| Error::Usage(format!("cannot write the archive: {e}")))?;
    let written = |e: std::io::Error| Error::Usage(format!("{}: {e}", file.display()));
    // Never over another file, and readable by its owner only: it holds the private key.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(file).map_err(written)?;
    out.write_all(text.as_bytes()).map_err(written)?;
    out.sync_all().map_err(written)?;
    println!(
        "pole `{slug}` written to {}: {} members, {} projects, {} events, {} calls",
        file.display(),
        archive.members.len(),
        archive.projects.len(),
        archive.events.len(),
        archive.calls.len()
    );
    Ok(())
}

async fn import(
    store: &Store,
    file: &std::path::Path,
    slug: Option<&str>,
    max_image_bytes: usize,
) -> Result<()> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::Usage(format!("{}: {e}", file.display())))?;
    let archive = crate::archive::parse(&text)?;
    let imported = crate::archive::import(store, archive, slug, max_image_bytes).await?;
    println!(
        "pole `{}` imported at {}: {} members, {} projects, {} events, {} calls",
        imported.slug,
        imported.ap_id,
        imported.members,
        imported.projects,
        imported.events,
        imported.calls
    );
    if !imported.left_out_organisers.is_empty() {
        println!(
            "co-organisers that are not poles of this instance were left out: {}",
            imported.left_out_organisers.join(", ")
        );
    }
    Ok(())
}

/// The mailer of the settings, or an error saying e-mail is not configured.
fn mailer(config: &Config) -> Result<web::mail::Mailer> {
    let mailer =
        web::mail::Mailer::new(config).map_err(|e| Error::Usage(format!("e-mail: {e}")))?;
    if !mailer.enabled() {
        return Err(Error::Usage(
            "e-mail is not configured: add an [smtp] section (or MAILLAGE_SMTP_* variables)".into(),
        ));
    }
    Ok(mailer)
}

async fn invite(store: &Store, config: &Config, email: &str, slug: &str) -> Result<()> {
    let mailer = mailer(config)?;
    let pole = store.pole(slug).await?;
    let invited = store.invite_editor(email, pole.id).await?;
    web::mail::send_invitation(
        store,
        &mailer,
        &invited,
        &pole.pole.name,
        web::mail::messages::BOTH,
    )
    .await
    .map_err(|e| {
        Error::Usage(format!(
            "`{}` may edit `{slug}`, but the message was not sent: {e}",
            invited.user.username
        ))
    })?;
    if invited.needs_password {
        println!(
            "invited `{}` <{email}> to edit `{slug}`: a link to choose a password was sent",
            invited.user.username
        );
    } else {
        println!(
            "`{}` <{email}> already had an account: may now edit `{slug}`, told by e-mail",
            invited.user.username
        );
    }
    Ok(())
}

async fn mail(store: &Store, config: &Config, command: MailCommand) -> Result<()> {
    let mailer = mailer(config)?;
    match command {
        MailCommand::Test { address } => {
            let name = web::mail::site_name(store).await;
            let url = store.url("/");
            let site = web::mail::messages::Site {
                name: &name,
                url: &url,
            };
            let message = web::mail::messages::test(web::mail::messages::BOTH, &site);
            mailer
                .send(&address, &message)
                .await
                .map_err(|e| Error::Usage(format!("not sent: {e}")))?;
            println!("test message sent to {address}");
        }
        MailCommand::Digest => {
            let report =
                web::mail::digest::send_digests(store, &mailer, chrono::Utc::now().date_naive())
                    .await?;
            println!("digests sent {}	failed {}", report.sent, report.failed);
        }
    }
    Ok(())
}

fn read_file(file: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(file).map_err(|e| Error::Usage(format!("{}: {e}", file.display())))
}

/// A problem of an import, in English.
fn english(problem: &crate::import::Problem) -> String {
    problem.line(&crate::web::pages::Lang::En.message(&problem.message))
}

/// Imports rows of poles and members, printing each warning and problem on a line.
async fn import_rows(store: &Store, parsed: crate::import::Parsed, dry_run: bool) -> Result<()> {
    let report = crate::import::run(store, parsed, dry_run).await?;
    for warning in &report.warnings {
        println!("warning: {}", english(warning));
    }
    if !report.is_valid() {
        for problem in &report.problems {
            eprintln!("{}", english(problem));
        }
        return Err(Error::Usage(format!(
            "{} problems: nothing was imported",
            report.problems.len()
        )));
    }
    let verb = if report.created {
        "imported"
    } else {
        "valid, would import"
    };
    println!(
        "{verb} {} poles and {} members",
        report.poles.len(),
        report.members
    );
    for (slug, name) in &report.poles {
        println!("{slug}\t{name}");
    }
    Ok(())
}

/// What a backup holds, for the person who made or restored it.
fn summary(what: &str, backup: &crate::store::backup::BackupSummary) -> String {
    let mut text = format!("{what} {} ({} bytes)", backup.path.display(), backup.bytes);
    for (table, rows) in &backup.rows {
        text.push_str(&format!("\n  {table}: {rows} rows"));
    }
    text
}

/// The local actor a command acts as: the instance, or the pole named by `--pole`.
async fn acting_actor(
    fed: &crate::federation::fetch::service::Federation,
    pole: Option<&str>,
) -> Result<String> {
    match pole {
        Some(slug) => Ok(fed.store.pole(slug).await?.ap_id),
        None => Ok(fed.instance_actor_id()),
    }
}

async fn federate(
    fed: &crate::federation::fetch::service::Federation,
    command: Command,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        Command::Follow {
            target,
            pole,
            relay,
        } => {
            let local = acting_actor(fed, pole.as_deref()).await?;
            let record =
                crate::federation::activities::follow::follow_actor(fed, &local, &target, relay)
                    .await?;
            let _ = writeln!(
                out,
                "follow {} of {} requested; it is {} until the other side answers",
                record.id, record.actor.ap_id, record.state
            );
        }
        Command::Unfollow { id, purge } => {
            let following = fed.store.following(id).await?;
            crate::federation::activities::undo::unfollow(fed, id).await?;
            let _ = writeln!(out, "no longer following {}", following.actor.ap_id);
            if purge {
                let purged =
                    crate::federation::activities::announce::purge(fed, &following.actor.ap_id)
                        .await?;
                let _ = writeln!(out, "forgot {purged} poles that came through it");
            }
        }
        Command::Follows { pole } => {
            let local = acting_actor(fed, pole.as_deref()).await?;
            for f in fed.store.list_following(&local).await? {
                let relay = if f.relay { "\trelay" } else { "" };
                let _ = writeln!(out, "{}\t{}\t{}{relay}", f.id, f.state, f.actor.ap_id);
            }
        }
        Command::Discover { from, depth } => {
            let found = crate::federation::fetch::discover::discover(fed, &from, depth).await;
            let _ = writeln!(
                out,
                "depth\tdomain\tsoftware\tpoles\tregions\tlast activity\tfollowed\tactor"
            );
            for i in found {
                let line = match &i.error {
                    Some(e) => format!("{}\t{}\tunreachable: {e}", i.depth, i.domain),
                    None => format!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        i.depth,
                        i.domain,
                        i.software.as_deref().unwrap_or("?"),
                        i.poles.map_or("?".into(), |p| p.to_string()),
                        i.regions.join(", "),
                        i.last_activity.as_deref().unwrap_or("?"),
                        if i.followed { "yes" } else { "no" },
                        i.actor.as_deref().unwrap_or("-"),
                    ),
                };
                let _ = writeln!(out, "{line}");
            }
        }
        Command::Block { domain, reason } => {
            let record =
                crate::federation::blocks::block(fed, &domain, reason.as_deref(), None).await?;
            let _ = writeln!(
                out,
                "{} is blocked, with its subdomains; what came from it is forgotten",
                record.domain
            );
        }
        Command::Unblock { domain } => {
            crate::federation::blocks::unblock(fed, &domain, None).await?;
            let _ = writeln!(out, "{} is no longer blocked", domain.trim());
        }
        Command::Blocks => {
            let _ = writeln!(out, "domain\tsince\tby\treason");
            for b in fed.store.domain_blocks().await? {
                let _ = writeln!(
                    out,
                    "{}\t{}\t{}\t{}",
                    b.domain,
                    b.created_at.format("%Y-%m-%d %H:%M"),
                    b.created_by.as_deref().unwrap_or("-"),
                    b.reason.as_deref().unwrap_or("")
                );
            }
            for domain in fed.client.blocks().configured() {
                let _ = writeln!(out, "{domain}\t-\tconfiguration\t");
            }
        }
        Command::Refresh { older_than, limit } => {
            let mut options =
                crate::federation::fetch::refresh::RefreshOptions::from_config(&fed.config);
            if let Some(age) = older_than {
                options.older_than = age.as_chrono();
            }
            if let Some(limit) = limit {
                options.limit = limit;
            }
            let report = crate::federation::fetch::refresh::refresh_stale(
                fed,
                &options,
                &mut crate::federation::fetch::refresh::Backoff::default(),
            )
            .await?;
            let _ = writeln!(
                out,
                "unchanged {}\tupdated {}\tdeleted {}\tdeferred {}\trefused {}",
                report.unchanged, report.updated, report.deleted, report.deferred, report.refused
            );
        }
        _ => {}
    }
    Ok(())
}

async fn manage(store: &Store, command: Command) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let print = |out: &mut std::io::StdoutLock, line: String| {
        // A closed pipe (`maillage pole list | head`) is not an error worth reporting.
        let _ = writeln!(out, "{line}");
    };
    match command {
        // `run` starts the server, backups and federation commands before this.
        Command::Serve
        | Command::Backup { .. }
        | Command::Restore { .. }
        | Command::Export { .. }
        | Command::Import { .. }
        | Command::ImportPoles { .. }
        | Command::ImportMembers { .. }
        | Command::Follow { .. }
        | Command::Unfollow { .. }
        | Command::Follows { .. }
        | Command::Discover { .. }
        | Command::Block { .. }
        | Command::Unblock { .. }
        | Command::Blocks
        | Command::Refresh { .. }
        | Command::Mail(_)
        | Command::User(
            UserCommand::Invite { .. }
            | UserCommand::Passwd { .. }
            | UserCommand::Unlock { .. }
            | UserCommand::Delete { .. },
        ) => {}
        Command::Migrate { status } => {
            let (applied, pending) = store.migration_status().await?;
            let note = if status {
                ""
            } else {
                " (the database is up to date)"
            };
            print(
                &mut out,
                format!("{applied} migrations applied, {pending} pending{note}"),
            );
        }
        Command::Init(args) => {
            let settings = store
                .update_instance(&InstanceSettings {
                    name: args.name,
                    summary: args.summary,
                    contact_email: args.contact_email,
                })
                .await?;
            print(
                &mut out,
                format!("instance `{}` ready at {}", settings.name, store.url("/")),
            );
        }
        Command::User(UserCommand::Create {
            username,
            email,
            admin,
            poles,
            password_stdin,
            no_password,
        }) => {
            if admin && !poles.is_empty() {
                return Err(Error::Usage(
                    "an administrator edits every pole: give either --admin or --pole".into(),
                ));
            }
            if !admin && poles.is_empty() {
                return Err(Error::Usage(
                    "give --admin, or --pole SLUG for each pole this editor may edit".into(),
                ));
            }
            let mut pole_ids = Vec::new();
            for slug in &poles {
                pole_ids.push(store.pole(slug).await?.id);
            }
            let password = if no_password {
                None
            } else if password_stdin {
                Some(read_stdin_line()?)
            } else if std::io::stdin().is_terminal() {
                Some(prompt_password()?)
            } else {
                return Err(Error::Usage(
                    "standard input is not a terminal: pass the password with --password-stdin, or use --no-password".into(),
                ));
            };
            let hash = password.as_deref().map(auth::hash_password).transpose()?;
            let role = if admin { Role::Admin } else { Role::Editor };
            let user = store
                .create_user(&username, email.as_deref(), hash, role)
                .await?;
            for id in pole_ids {
                store.grant_pole(user.id, id).await?;
            }
            print(
                &mut out,
                format!("created {} `{}`", role.id(), user.username),
            );
        }
        Command::User(UserCommand::List) => {
            for user in store.list_users().await? {
                let disabled = if user.disabled { " (disabled)" } else { "" };
                print(
                    &mut out,
                    format!("{}\t{}{disabled}", user.username, user.role.id()),
                );
            }
        }
        Command::User(UserCommand::Grant { username, pole }) => {
            let user = find_user(store, &username).await?;
            let pole = store.pole(&pole).await?;
            store.grant_pole(user.id, pole.id).await?;
            print(
                &mut out,
                format!("`{}` may now edit `{}`", user.username, pole.pole.slug),
            );
        }
        Command::Pole(PoleCommand::Create {
            slug,
            name,
            summary,
            communes,
            manually_approves_followers,
        }) => {
            let input = PoleInput {
                slug,
                name,
                summary,
                territory: TerritoryInput {
                    communes,
                    ..Default::default()
                },
                manually_approves_followers,
                ..Default::default()
            };
            let pole = input.validate().map_err(crate::store::StoreError::from)?;
            let record = store.create_pole(&pole).await?;
            print(
                &mut out,
                format!(
                    "created pole `{}`: @{}@{} at {}",
                    record.pole.name, record.pole.slug, record.domain, record.ap_id
                ),
            );
        }
        Command::Pole(PoleCommand::List) => {
            let mut page = 1;
            loop {
                let poles = store
                    .list_poles(crate::store::PageRequest {
                        page,
                        per_page: 100,
                    })
                    .await?;
                for p in &poles.items {
                    print(
                        &mut out,
                        format!("{}\t{}\t{}", p.pole.slug, p.pole.name, p.ap_id),
                    );
                }
                if page * 100 >= poles.total {
                    break;
                }
                page += 1;
            }
        }
        Command::Token(TokenCommand::Issue { user, name }) => {
            let user = find_user(store, &user).await?;
            let token = auth::new_token();
            let record = store
                .create_token(user.id, &name, &token.prefix, &token.hash)
                .await?;
            eprintln!(
                "token {} for `{}` (shown only once, keep it safe):",
                record.id, user.username
            );
            print(&mut out, token.token);
        }
        Command::Token(TokenCommand::List { user }) => {
            let user_id = match user {
                Some(u) => Some(find_user(store, &u).await?.id),
                None => None,
            };
            let users = store.list_users().await?;
            for t in store.list_tokens(user_id).await? {
                let owner = users
                    .iter()
                    .find(|u| u.id == t.user_id)
                    .map(|u| u.username.as_str())
                    .unwrap_or("?");
                let state = match t.revoked_at {
                    Some(at) => format!("revoked {}", at.format("%Y-%m-%d")),
                    None => "active".into(),
                };
                print(
                    &mut out,
                    format!("{}\t{owner}\t{}\t{}…\t{state}", t.id, t.name, t.prefix),
                );
            }
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            let token = store.revoke_token(id).await?;
            print(
                &mut out,
                format!("token {} (`{}`) revoked", token.id, token.name),
            );
        }
    }
    Ok(())
}

pub(crate) async fn find_user(store: &Store, username: &str) -> Result<crate::store::User> {
    store.user_by_username(username).await?.ok_or_else(|| {
        Error::Usage(format!(
            "there is no user `{username}` (see `maillage user list`)"
        ))
    })
}

pub(crate) fn read_stdin_line() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(Error::Input)?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err(Error::Usage("no password on standard input".into()));
    }
    Ok(password)
}

pub(crate) fn prompt_password() -> Result<String> {
    let first =
        rpassword::prompt_password("Password (12 characters or more): ").map_err(Error::Input)?;
    let second = rpassword::prompt_password("Same password again: ").map_err(Error::Input)?;
    if first != second {
        return Err(Error::Usage("the two passwords differ".into()));
    }
    Ok(first)
}
