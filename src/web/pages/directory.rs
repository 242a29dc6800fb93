//! The directory page's selection: the same query parameters, parser and search as the API
//! and the feeds ([`DirectoryParams::parse_with`], [`Store::search_directory`]), shown as
//! page items.

use super::Lang;
use super::views::ObjectItem;
use crate::config::ApiConfig;
use crate::domain::FieldError;
use crate::store::DirectoryRecord;
use crate::store::search::{DirectoryParams, PageLimits};
use crate::store::{DirectoryQuery, PoleRecord, Store, StoreError};

pub const KINDS: [&str; 4] = ["pole", "project", "event", "call"];

/// The page's query string, checked with the API's page sizes; every wrong value is
/// reported with its parameter. Unknown parameters (trackers) are ignored, and the form's
/// `kind` check boxes combine.
pub fn page_query(raw: &str, api: &ApiConfig) -> Result<DirectoryQuery, Vec<FieldError>> {
    let limits = PageLimits {
        default_per_page: api.default_page_size,
        max_per_page: api.max_page_size,
    };
    DirectoryParams::from_query(raw, true)
        .and_then(|p| p.parse_with(limits))
        .map_err(|e| {
            e.0.into_iter()
                .map(|e| FieldError {
                    field: e.parameter.to_owned(),
                    message: e.message,
                })
                .collect()
        })
}

/// One page of matches, and how many there are in all.
pub struct Selection {
    pub items: Vec<ObjectItem>,
    pub total: u64,
    /// False when `total` is a lower bound.
    pub total_exact: bool,
}

/// Every local pole, page after page.
pub async fn all_poles(store: &Store) -> Result<Vec<PoleRecord>, StoreError> {
    store.all_local_poles().await
}

/// One page of what matches `query`, in the directory's order.
pub async fn select(
    store: &Store,
    query: &DirectoryQuery,
    lang: Lang,
) -> Result<Selection, StoreError> {
    let page = store.search_directory(query).await?;
    let records = store.directory_records(&page.items).await?;
    let items = records
        .items
        .iter()
        .filter_map(|record| {
            Some(match record {
                DirectoryRecord::Pole(p) => ObjectItem::pole(p, lang),
                DirectoryRecord::Project(r) => {
                    ObjectItem::project(r, records.poles.get(&r.pole_id)?, lang)
                }
                DirectoryRecord::Event(r) => {
                    ObjectItem::event(r, records.poles.get(&r.pole_id)?, lang)
                }
                DirectoryRecord::Call(r) => {
                    ObjectItem::call(r, records.poles.get(&r.pole_id)?, lang)
                }
            })
        })
        .collect();
    Ok(Selection {
        items,
        total: page.total,
        total_exact: page.total_exact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_combine_and_bad_ones_are_named() {
        let api = ApiConfig::default();
        let q = page_query(
            "q=circuit+court&region=84&theme=agriculture-food&kind=event&kind=call&upcoming=on&from=2026-01-01&call_status=open&page=2&utm_source=x",
            &api,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(q.region.as_deref(), Some("84"));
        assert_eq!(q.kinds.len(), 2);
        assert!(q.upcoming);
        assert_eq!((q.page, q.per_page), (2, api.default_page_size));
        let again = page_query(&q.to_query(Some(2)), &api).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(again, q);
        let e = page_query("from=tomorrow&kind=shop&per_page=1000&epci=12", &api).unwrap_err();
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["epci", "kind", "from", "per_page"]);
    }
}
