//! Conversions between stored columns and domain values.

use sea_orm::prelude::Json;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Result, StoreError};
use crate::domain::text::RichText;
use crate::domain::vocab::TextFormat;

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<Json> {
    serde_json::to_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn from_json<T: DeserializeOwned>(column: &str, value: Json) -> Result<T> {
    serde_json::from_value(value).map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
}

pub(crate) fn vocab<T>(column: &str, id: &str, from_id: fn(&str) -> Option<T>) -> Result<T> {
    from_id(id).ok_or_else(|| StoreError::Corrupt(format!("column {column}: unknown value `{id}`")))
}

pub(crate) fn opt_vocab<T>(
    column: &str,
    id: Option<&str>,
    from_id: fn(&str) -> Option<T>,
) -> Result<Option<T>> {
    id.map(|id| vocab(column, id, from_id)).transpose()
}

/// The three columns of a long text.
pub(crate) fn rich_text_columns(
    text: &Option<RichText>,
) -> (Option<String>, Option<String>, Option<String>) {
    match text {
        Some(t) => (
            Some(t.source.clone()),
            Some(t.format.id().to_owned()),
            Some(t.html.clone()),
        ),
        None => (None, None, None),
    }
}

pub(crate) fn rich_text(
    source: Option<String>,
    format: Option<String>,
    html: Option<String>,
) -> Result<Option<RichText>> {
    let Some(source) = source else {
        return Ok(None);
    };
    let format = opt_vocab("description_format", format.as_deref(), TextFormat::from_id)?
        .unwrap_or(TextFormat::Markdown);
    let html = html.unwrap_or_else(|| crate::domain::text::render(&source, format));
    Ok(Some(RichText {
        source,
        format,
        html,
    }))
}
