//! The errors that stop a command, each with what a person needs to fix it.

use crate::auth::AuthError;
use crate::config::ConfigError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("cannot listen on {0}: {1}")]
    Listen(String, std::io::Error),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Federation(#[from] crate::federation::fetch::service::FederationError),
    #[error(transparent)]
    Archive(#[from] crate::archive::ArchiveError),
    #[error(transparent)]
    Backup(#[from] crate::store::backup::BackupError),
    #[error("cannot read standard input: {0}")]
    Input(std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
