//! Directory statistics kept while the directory stays the same: at a million entries they
//! take seconds to compute, and the same figures are asked for far more often than the
//! directory changes. One computation runs at a time, so that many requests for figures
//! not yet kept wait for each other instead of each taking the database's time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::store::search::{DirectoryQuery, DirectoryStatistics};
use crate::store::{Store, StoreError};

/// How long figures are kept at most: those that depend on the date (open calls, upcoming
/// events) move with time even when the directory does not.
const KEPT_FOR: Duration = Duration::from_secs(60);
/// The most queries whose figures are kept at once.
const MOST: usize = 256;

struct Kept {
    generation: i64,
    at: Instant,
    statistics: Arc<DirectoryStatistics>,
}

#[derive(Default)]
pub struct StatisticsCache {
    kept: Mutex<HashMap<String, Kept>>,
    computing: tokio::sync::Mutex<()>,
}

impl StatisticsCache {
    /// The statistics of `query`: those kept, if the directory has not changed since they
    /// were computed (nor a minute passed), else computed now.
    pub async fn get(
        &self,
        store: &Store,
        query: &DirectoryQuery,
    ) -> Result<Arc<DirectoryStatistics>, StoreError> {
        let arrival = store.directory_generation().await?;
        self.get_as_of(store, query, arrival).await
    }

    /// The statistics of `query` holding at least every change up to the directory's
    /// generation `arrival` (read when the request came): those kept if they are as new,
    /// else computed now.
    ///
    /// Figures that another request computed while this one waited for its turn answer it
    /// too, even if the directory changed again meanwhile: they hold every change made
    /// before it came. Asking for the generation of when its turn comes instead would, under
    /// a steady stream of writes, have each waiting request compute the figures again in
    /// turn, and the requests queue behind each other for seconds.
    pub async fn get_as_of(
        &self,
        store: &Store,
        query: &DirectoryQuery,
        arrival: i64,
    ) -> Result<Arc<DirectoryStatistics>, StoreError> {
        // Queries that differ only in what the figures do not depend on share them.
        let key = query.for_statistics().to_query(None);
        if let Some(kept) = self.kept(&key, arrival) {
            return Ok(kept);
        }
        let _one_at_a_time = self.computing.lock().await;
        if let Some(kept) = self.kept(&key, arrival) {
            return Ok(kept);
        }
        // The generation is read before computing: a change made during the computation
        // makes the figures older than their generation says, never newer, so they are
        // computed again next time.
        let generation = store.directory_generation().await?;
        let statistics = Arc::new(store.directory_statistics(query).await?);
        if let Ok(mut kept) = self.kept.lock() {
            kept.retain(|_, k| k.at.elapsed() < KEPT_FOR);
            if kept.len() >= MOST
                && let Some(oldest) = kept
                    .iter()
                    .min_by_key(|(_, k)| k.at)
                    .map(|(key, _)| key.clone())
            {
                kept.remove(&oldest);
            }
            kept.insert(
                key,
                Kept {
                    generation,
                    at: Instant::now(),
                    statistics: statistics.clone(),
                },
            );
        }
        Ok(statistics)
    }

    /// The figures kept for `key`, if they hold every change up to `generation` (the
    /// generation only grows) and are less than [`KEPT_FOR`] old.
    fn kept(&self, key: &str, generation: i64) -> Option<Arc<DirectoryStatistics>> {
        let kept = self.kept.lock().ok()?;
        let k = kept.get(key)?;
        (k.generation >= generation && k.at.elapsed() < KEPT_FOR).then(|| k.statistics.clone())
    }
}
