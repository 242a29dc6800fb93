//! `maillage user passwd`, `user unlock` and `user delete`: what an operator does to one
//! person's account from a shell.

use std::io::{IsTerminal, Write};

use super::{UserCommand, find_user, prompt_password, read_stdin_line};
use crate::auth;
use crate::error::{Error, Result};
use crate::store::{Store, StoreError};

pub async fn run(store: &Store, command: UserCommand) -> Result<()> {
    let line = match command {
        UserCommand::Passwd { username } => {
            let user = find_user(store, &username).await?;
            // Never from the command line, where other users of the machine can read it.
            let password = if std::io::stdin().is_terminal() {
                prompt_password()?
            } else {
                read_stdin_line()?
            };
            let hash = auth::hash_password(&password)?;
            store.replace_password(user.id, &hash, None).await?;
            tracing::info!(user = %user.username, "password set from the command line");
            format!(
                "password of `{}` changed; their sessions ended",
                user.username
            )
        }
        UserCommand::Unlock { username } => {
            let user = find_user(store, &username).await?;
            if store.unlock_account(&user.username).await? {
                tracing::info!(user = %user.username, "account unlocked from the command line");
                format!("`{}` unlocked: they may sign in again", user.username)
            } else {
                format!("`{}` was not locked", user.username)
            }
        }
        UserCommand::Delete { username } => {
            let user = find_user(store, &username).await?;
            match store.delete_user(user.id).await {
                Ok(user) => {
                    tracing::info!(user = %user.username, "account deleted from the command line");
                    format!(
                        "deleted {} `{}` with their tokens and sessions",
                        user.role.id(),
                        user.username
                    )
                }
                Err(StoreError::Conflict(message)) => return Err(Error::Usage(message)),
                Err(e) => return Err(e.into()),
            }
        }
        other => {
            return Err(Error::Usage(format!("not an account command: {other:?}")));
        }
    };
    let _ = writeln!(std::io::stdout().lock(), "{line}");
    Ok(())
}
