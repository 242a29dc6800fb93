//! The PTCE domain as plain Rust types: what a pole publishes, and the rules its data obey.
//!
//! Nothing here touches the database, HTTP or ActivityPub. Each `*Input` type is what a
//! person sends (API, CLI); `validate` turns it into the checked type or lists every
//! field that is wrong.

pub mod calendar;
pub mod call;
pub mod check;
pub mod event;
pub mod image;
pub mod member;
pub mod message;
pub mod place;
pub mod pole;
pub mod project;
pub mod territory;
pub mod territory_ref;
pub mod text;
pub mod vocab;

pub use call::{CallForCooperation, CallInput};
pub use event::{Event, EventInput};
pub use member::{Member, MemberInput};
pub use message::{Code, Message};
pub use pole::{Pole, PoleInput};
pub use project::{Project, ProjectInput};
pub use territory::{Territory, TerritoryInput};

/// One field that is wrong, and why: a [`Message`] the web puts in the reader's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field in the submitted JSON, such as `territory.communes[2]`.
    pub field: String,
    pub message: Message,
}

/// Every problem found in one submission.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.summary())]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, message: impl Into<Message>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<Message>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Records the error of a check, if any, and gives back its value.
    pub fn take<T>(&mut self, field: &str, result: Result<T, Message>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    /// Adds the errors of a nested value under a prefix.
    pub fn nest(&mut self, prefix: &str, other: ValidationErrors) {
        for e in other.0 {
            self.add(format!("{prefix}.{}", e.field), e.message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.field.as_str()).collect()
    }

    /// `Ok(value)` when nothing was recorded.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, ValidationErrors> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }

    fn summary(&self) -> String {
        self.0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}
