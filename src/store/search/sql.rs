//! Statements under construction, for either database.
//!
//! The [`Sql`] builder is where the two databases' syntaxes part: it numbers the
//! placeholders for the backend (`?` or `$n`) and writes the text match against the
//! backend's text index (FTS5 or a `tsvector`). Everything else the directory writes is
//! the same SQL on both. Invariant: placeholders appear in the text in the order their
//! values were bound.

use sea_orm::{DbBackend, Statement, Value};

/// A statement under construction, with its placeholders numbered for the backend.
pub(super) struct Sql {
    pub(super) backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub(super) fn new(backend: DbBackend) -> Sql {
        Sql {
            backend,
            text: String::new(),
            values: Vec::new(),
        }
    }

    /// Adds a value and gives its placeholder; placeholders must appear in the text in
    /// the order they were bound (SQLite's `?` are positional).
    pub(super) fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_owned(),
        }
    }

    pub(super) fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// The condition that the entry `d` holds every one of `terms` (word, facet, kind or
    /// title tokens) in the backend's text index.
    pub(super) fn text_match(&mut self, terms: &[String]) -> String {
        match self.backend {
            DbBackend::Postgres => {
                let p = self.bind(terms.join(" & "));
                format!("d.tsv @@ to_tsquery('simple', {p})")
            }
            _ => {
                let p = self.bind(fts_all(terms.iter().map(|t| fts_token(t))));
                format!("d.id IN (SELECT rowid FROM directory_fts WHERE directory_fts MATCH {p})")
            }
        }
    }

    pub(super) fn statement(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

/// A token as an FTS5 string (`"cooper"`): tokens are plain ASCII words, never operators.
pub(super) fn fts_token(token: &str) -> String {
    format!("\"{token}\"")
}

/// An FTS5 query every one of whose `parts` must match.
pub(super) fn fts_all(parts: impl IntoIterator<Item = String>) -> String {
    parts.into_iter().collect::<Vec<_>>().join(" AND ")
}
