//! The background work of federation, started with the server: publishing new changes,
//! the delivery workers, reading the domain blocks again, forgetting old activity ids and
//! deliveries, and reading stale copies again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::activities::publish::publish_pending;
use super::blocks;
use super::delivery::worker::{POLL, deliverer, stopped};
use super::fetch::refresh;
use super::fetch::service::Federation;
use crate::store::queue::HISTORY_KEPT;

/// How long activity ids are remembered against duplicates.
const SEEN_FOR: chrono::Duration = chrono::Duration::days(7);

/// Starts the publisher and the delivery workers; they stop when `shutdown` turns true, the
/// deliveries they hold handed back to the queue.
pub fn spawn(fed: Arc<Federation>, shutdown: watch::Receiver<bool>) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    tasks.spawn(publisher(fed.clone(), shutdown.clone()));
    tasks.spawn(deliverer(fed.clone(), shutdown.clone()));
    tasks.spawn(block_reloader(fed.clone(), shutdown.clone()));
    tasks.spawn(housekeeping(fed.clone(), shutdown.clone()));
    tasks.spawn(refresher(fed, shutdown));
    tasks
}

/// Reads the stored domain blocks at start, then every [`blocks::RELOAD_EVERY`], for
/// the changes other processes sharing the database made.
async fn block_reloader(fed: Arc<Federation>, mut shutdown: watch::Receiver<bool>) {
    loop {
        match blocks::reload(&fed).await {
            Ok(count) => tracing::debug!(stored = count, "domain blocks read"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the domain blocks; keeping the last ones")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(blocks::RELOAD_EVERY) => {}
            () = stopped(&mut shutdown) => return,
        }
    }
}

async fn publisher(fed: Arc<Federation>, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Err(e) = publish_pending(&fed).await {
            tracing::warn!(error = %e, "publishing changes failed; retrying shortly");
        }
        tokio::select! {
            () = fed.publish_wakeup.notified() => {}
            () = tokio::time::sleep(POLL) => {}
            () = stopped(&mut shutdown) => return,
        }
    }
}

async fn housekeeping(fed: Arc<Federation>, mut shutdown: watch::Receiver<bool>) {
    loop {
        match fed.store.prune_seen(chrono::Utc::now() - SEEN_FOR).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(pruned = n, "forgot old activity ids"),
            Err(e) => tracing::warn!(error = %e, "cannot prune activity ids"),
        }
        match fed
            .store
            .prune_deliveries(chrono::Utc::now() - HISTORY_KEPT)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(pruned = n, "forgot old deliveries"),
            Err(e) => tracing::warn!(error = %e, "cannot prune old deliveries"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            () = stopped(&mut shutdown) => return,
        }
    }
}

/// How often stale copies of other instances' data are looked for.
const REFRESH_EVERY: Duration = Duration::from_secs(600);

/// Reads again, now and then, the copies of other instances' poles and objects that have
/// not been read for longer than `federation.refresh_after`.
async fn refresher(fed: Arc<Federation>, mut shutdown: watch::Receiver<bool>) {
    let options = refresh::RefreshOptions::from_config(&fed.config);
    let mut backoff = refresh::Backoff::default();
    loop {
        // The first run waits too: a server that starts has other things to do.
        tokio::select! {
            () = tokio::time::sleep(REFRESH_EVERY) => {}
            () = stopped(&mut shutdown) => return,
        }
        tokio::select! {
            result = refresh::refresh_stale(&fed, &options, &mut backoff) => match result {
                Ok(report) => tracing::debug!(?report, "refreshed stale copies"),
                Err(e) => tracing::warn!(error = %e, "refreshing stale copies failed; trying again later"),
            },
            () = stopped(&mut shutdown) => return,
        }
    }
}
