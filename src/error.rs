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

impl Error {
    /// What the command line prints: wrong fields with the English words of the catalogue.
    pub fn english(&self) -> String {
        let (what, invalid) = match self {
            Error::Store(StoreError::Invalid(errors)) => ("invalid data", errors),
            Error::Archive(crate::archive::ArchiveError::Invalid(errors)) => {
                ("the archive holds invalid data", errors)
            }
            _ => return self.to_string(),
        };
        let lang = crate::web::pages::Lang::En;
        let fields: Vec<String> = invalid
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, lang.message(&e.message)))
            .collect();
        format!("{what}: {}", fields.join("; "))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
