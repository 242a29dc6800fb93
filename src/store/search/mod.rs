//! The directory: full-text search, filters and statistics over every pole and object this instance knows.
//!
//! Each live pole, project, event and call has one row in `directory`, written in the same
//! transaction as the thing it describes, with facet rows (territory codes, themes, pooling
//! kinds, member legal forms) in `directory_facets`. Text is folded and stemmed here, in
//! Rust, so that both databases index exactly the same tokens (FTS5 on SQLite, a `tsvector`
//! on PostgreSQL), and results are ranked by rules both databases evaluate identically.
//!
//! The files, each using only those listed before it:
//! - `text`: tokens of the text index, facet names;
//! - `params`: the query parameters, checked into a [`DirectoryQuery`];
//! - `sql`: the statement builder, where the databases' syntaxes part;
//! - `entries` and `upkeep`: the index rows, written, removed and rebuilt;
//! - `conditions`: the WHERE conditions of a query, once for both databases;
//! - `results`: hits read from the selected rows;
//! - `sqlite`: SQLite's own plans; `plan`: the plan both databases run;
//! - `statistics`: figures over the directory.

mod conditions;
mod entries;
mod params;
mod plan;
mod results;
mod sql;
mod sqlite;
mod statistics;
mod text;
mod upkeep;

pub use params::{
    CallState, DEFAULT_PER_PAGE, DirectoryKind, DirectoryOrder, DirectoryParams, DirectoryQuery,
    DirectoryQueryError, DirectoryQueryErrors, MAX_PER_PAGE, MAX_QUERY_CHARS, MAX_ROWS, PageLimits,
};
pub use results::{COUNT_CAP, DirectoryHit, DirectoryResults, HitPole};
pub use statistics::{CountBy, DirectoryStatistics, PoolingShare};
pub use text::{query_tokens, tokens};
pub use upkeep::INDEX_VERSION;
pub(crate) use upkeep::{index_object, index_pole, unindex_object, unindex_pole};
