//! The background work of federation: publishing new changes, and sending the delivery
//! queue with one worker per destination domain, so that a slow or dead server never delays
//! the others.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinSet;

use super::publish::publish_pending;
use super::service::Federation;
use super::signatures::body_digest;
use crate::store::queue::{Delivery, HISTORY_KEPT, Outcome, OutgoingActivity};

/// How often the queue is looked at when nothing wakes the workers (other processes may
/// have queued work, and retries fall due).
const POLL: Duration = Duration::from_secs(1);
/// Deliveries a domain worker claims at once.
const BATCH: u64 = 16;
/// How long the recorder of delivered activities waits for more before writing.
const RECORD_LINGER: Duration = Duration::from_millis(20);
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

/// Reads the stored domain blocks at start, then every [`super::blocks::RELOAD_EVERY`], for
/// the changes other processes sharing the database made.
async fn block_reloader(fed: Arc<Federation>, mut shutdown: watch::Receiver<bool>) {
    loop {
        match super::blocks::reload(&fed).await {
            Ok(count) => tracing::debug!(stored = count, "domain blocks read"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the domain blocks; keeping the last ones")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(super::blocks::RELOAD_EVERY) => {}
            () = stopped(&mut shutdown) => return,
        }
    }
}

async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            std::future::pending::<()>().await;
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
    let options = super::refresh::RefreshOptions::from_config(&fed.config);
    let mut backoff = super::refresh::Backoff::default();
    loop {
        // The first run waits too: a server that starts has other things to do.
        tokio::select! {
            () = tokio::time::sleep(REFRESH_EVERY) => {}
            () = stopped(&mut shutdown) => return,
        }
        tokio::select! {
            result = super::refresh::refresh_stale(&fed, &options, &mut backoff) => match result {
                Ok(report) => tracing::debug!(?report, "refreshed stale copies"),
                Err(e) => tracing::warn!(error = %e, "refreshing stale copies failed; trying again later"),
            },
            () = stopped(&mut shutdown) => return,
        }
    }
}

async fn deliverer(fed: Arc<Federation>, mut shutdown: watch::Receiver<bool>) {
    // Domains with a worker. At most `limit` at once; a worker that ends makes room.
    let active: Arc<Mutex<HashSet<String>>> = Arc::new(Mutex::new(HashSet::new()));
    let limit = fed.config.federation.delivery_concurrency.max(1);
    let slot_freed = Arc::new(Notify::new());
    let (delivered, delivered_rx) = mpsc::unbounded_channel();
    let recorder = tokio::spawn(record_delivered(fed.clone(), delivered_rx));
    let mut workers = JoinSet::new();
    // Due domains not yet claimed for. A fan-out to many domains reads the list of due
    // domains once, not once per domain.
    let mut backlog: VecDeque<String> = VecDeque::new();
    // Deliveries claimed ahead, by domain, for the next workers: one statement claims for
    // as many domains as can run at once, so a fan-out to a thousand instances is claimed in
    // a few statements.
    let mut ready: VecDeque<(String, Vec<Delivery>)> = VecDeque::new();
    let activities = Arc::new(Activities::default());
    let mut refresh = true;
    // Whether due domains were left out of the backlog for having a worker or deliveries
    // claimed ahead (see `admit`): when a worker ends, the queue is read again only then (that worker may have ended
    // before taking what was queued for its domain meanwhile). Reading it again at every
    // worker's end would make a fan-out to many instances read the queue once per instance.
    let mut skipped_busy = false;
    loop {
        if refresh {
            match fed.store.due_domains(chrono::Utc::now()).await {
                Ok(domains) => {
                    backlog.clear();
                    skipped_busy = admit(domains, &active, &ready, &mut backlog);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the delivery queue");
                    // Read it again when a worker ends, as before any reading.
                    skipped_busy = true;
                }
            }
        }
        loop {
            let running = active.lock().map_or(limit, |a| a.len());
            if running >= limit {
                break;
            }
            if ready.is_empty() {
                if backlog.is_empty() {
                    break;
                }
                let domains: Vec<String> = backlog.drain(..backlog.len().min(limit)).collect();
                match fed
                    .store
                    .claim_many(&domains, &fed.worker_id, BATCH, chrono::Utc::now())
                    .await
                {
                    Ok(claimed) => {
                        tracing::debug!(deliveries = claimed.len(), "deliveries claimed");
                        // The activities and their signers' keys are read here, once, not
                        // by every worker of a fan-out at the same moment.
                        if let Ok(prepared) = activities.for_batch(&fed, &claimed).await {
                            let mut signers: Vec<&str> =
                                prepared.values().map(|p| p.signer.as_str()).collect();
                            signers.sort_unstable();
                            signers.dedup();
                            for signer in signers {
                                // A key that cannot be read is reported by the workers.
                                let _ = fed.signer_for(signer).await;
                            }
                        }
                        ready.extend(by_domain(claimed));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot claim deliveries");
                        break;
                    }
                }
                continue;
            }
            let Some((domain, batch)) = ready.pop_front() else {
                break;
            };
            if let Ok(mut a) = active.lock() {
                a.insert(domain.clone());
            }
            workers.spawn(domain_worker(
                fed.clone(),
                activities.clone(),
                domain,
                batch,
                active.clone(),
                slot_freed.clone(),
                delivered.clone(),
                shutdown.clone(),
            ));
        }
        while workers.try_join_next().is_some() {}
        tokio::select! {
            () = fed.deliver_wakeup.notified() => {
                // What this process just queued is claimed without reading the queue first;
                // a wake-up without it (or the poll) reads the queue.
                let just = fed
                    .queued
                    .lock()
                    .map(|mut q| std::mem::take(&mut *q))
                    .unwrap_or_default();
                refresh = just.overflowed || just.entries.is_empty();
                for queued in just.entries {
                    activities.keep(queued.activity);
                    skipped_busy |= admit(queued.domains, &active, &ready, &mut backlog);
                }
            }
            () = slot_freed.notified() => refresh = skipped_busy && backlog.is_empty(),
            () = tokio::time::sleep(POLL) => refresh = true,
            () = stopped(&mut shutdown) => break,
        }
    }
    // Let the deliveries in flight finish and their outcomes be written, then hand back
    // what is still claimed (with what was claimed ahead).
    let finished = tokio::time::timeout(Duration::from_secs(10), async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        workers.shutdown().await;
    }
    drop(delivered);
    if tokio::time::timeout(Duration::from_secs(10), recorder)
        .await
        .is_err()
    {
        tracing::warn!(
            "the last delivered activities were not all recorded; they will be sent again"
        );
    }
    match fed.store.release_claims(&fed.worker_id).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(released = n, "handed deliveries back to the queue"),
        Err(e) => tracing::warn!(error = %e, "cannot hand deliveries back; their leases will end"),
    }
}

/// Takes due `domains` into the backlog, each once, leaving out those that have a worker or
/// deliveries claimed ahead. Says whether any was left out: its worker may end without taking
/// what is due there now, and the queue is then read again.
fn admit(
    domains: impl IntoIterator<Item = String>,
    active: &Mutex<HashSet<String>>,
    ready: &VecDeque<(String, Vec<Delivery>)>,
    backlog: &mut VecDeque<String>,
) -> bool {
    let mut taken: HashSet<String> = active.lock().map(|a| a.clone()).unwrap_or_default();
    taken.extend(ready.iter().map(|(domain, _)| domain.clone()));
    let mut waiting: HashSet<String> = backlog.iter().cloned().collect();
    let mut left_out = false;
    for domain in domains {
        if taken.contains(&domain) {
            left_out = true;
        } else if waiting.insert(domain.clone()) {
            backlog.push_back(domain);
        }
    }
    left_out
}

/// Claimed deliveries grouped by domain, in the order they came.
fn by_domain(claimed: Vec<Delivery>) -> Vec<(String, Vec<Delivery>)> {
    let mut groups: Vec<(String, Vec<Delivery>)> = Vec::new();
    for delivery in claimed {
        match groups.last_mut() {
            Some((domain, batch)) if *domain == delivery.domain => batch.push(delivery),
            _ => groups.push((delivery.domain.clone(), vec![delivery])),
        }
    }
    groups
}

/// Sends the deliveries of one domain claimed for it, then a batch at a time what else is
/// due there, until none is.
#[allow(clippy::too_many_arguments)]
async fn domain_worker(
    fed: Arc<Federation>,
    activities: Arc<Activities>,
    domain: String,
    mut batch: Vec<Delivery>,
    active: Arc<Mutex<HashSet<String>>>,
    slot_freed: Arc<Notify>,
    delivered: mpsc::UnboundedSender<(i64, String)>,
    shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() && !batch.is_empty() {
        // A short batch was all that was due: no need to ask again.
        let last = (batch.len() as u64) < BATCH;
        let mut failure: Option<Outcome> = None;
        let prepared = activities.for_batch(&fed, &batch).await;
        for delivery in std::mem::take(&mut batch) {
            let outcome = match (&failure, &prepared) {
                // The server is down: what was claimed with this delivery waits as it does.
                (Some(failed), _) => failed.clone(),
                (None, Err(e)) => Outcome::Retry(format!("cannot read the activity: {e}")),
                (None, Ok(prepared)) => match prepared.get(&delivery.activity) {
                    Some(activity) => attempt(&fed, &delivery, activity).await,
                    None => Outcome::Refused("the activity is no longer stored".into()),
                },
            };
            match &outcome {
                Outcome::Delivered => {
                    tracing::debug!(inbox = %delivery.inbox, activity = delivery.activity, "delivered")
                }
                Outcome::Retry(e) => {
                    tracing::info!(inbox = %delivery.inbox, error = %e, "delivery failed; will retry")
                }
                Outcome::Refused(e) => {
                    tracing::info!(inbox = %delivery.inbox, error = %e, "delivery refused; giving up")
                }
            }
            if outcome == Outcome::Delivered {
                if delivered.send((delivery.id, domain.clone())).is_err() {
                    tracing::warn!("the delivery recorder has stopped");
                }
            } else if let Err(e) = fed
                .store
                .finish(delivery.id, &fed.worker_id, &outcome, chrono::Utc::now())
                .await
            {
                tracing::warn!(error = %e, "cannot record a delivery's outcome");
            }
            if failure.is_none() && matches!(outcome, Outcome::Retry(_)) {
                failure = Some(outcome);
            }
        }
        // A failing domain is left alone until its next attempt falls due.
        if failure.is_some() || last || *shutdown.borrow() {
            break;
        }
        batch = match fed
            .store
            .claim(&domain, &fed.worker_id, BATCH, chrono::Utc::now())
            .await
        {
            Ok(batch) => batch,
            Err(e) => {
                tracing::warn!(%domain, error = %e, "cannot claim deliveries");
                break;
            }
        };
    }
    if let Ok(mut a) = active.lock() {
        a.remove(&domain);
    }
    // Room for another domain.
    slot_freed.notify_one();
}

/// Writes what was delivered, as many at once as have finished meanwhile: under load, one
/// write for many deliveries. Until it is written, a delivery stays claimed; if the process
/// dies first, it is sent again when its lease ends, and the receiver drops the duplicate.
async fn record_delivered(fed: Arc<Federation>, mut done: mpsc::UnboundedReceiver<(i64, String)>) {
    const MOST: usize = 500;
    let mut batch = Vec::with_capacity(MOST);
    while done.recv_many(&mut batch, MOST).await > 0 {
        // A fan-out's deliveries end close together: waiting a moment for the rest of them
        // makes one write of many instead of many writes of a few.
        if batch.len() < MOST {
            tokio::time::sleep(RECORD_LINGER).await;
            while batch.len() < MOST {
                match done.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
        }
        tracing::debug!(
            deliveries = batch.len(),
            "writing the outcome of successful deliveries"
        );
        let (ids, domains): (Vec<i64>, Vec<String>) = batch.drain(..).unzip();
        if let Err(e) = fed
            .store
            .finish_delivered(&ids, &domains, &fed.worker_id, chrono::Utc::now())
            .await
        {
            tracing::warn!(error = %e, deliveries = ids.len(), "cannot record delivered activities; they will be sent again");
        }
    }
}

/// An activity ready to send: its bytes and their digest, computed once for all its
/// inboxes.
struct Prepared {
    signer: String,
    body: bytes::Bytes,
    digest: String,
}

impl From<OutgoingActivity> for Prepared {
    fn from(activity: OutgoingActivity) -> Prepared {
        Prepared {
            digest: body_digest(activity.body.as_bytes()),
            body: bytes::Bytes::from(activity.body),
            signer: activity.signer,
        }
    }
}

/// The activities being sent, by row id, read once for a whole fan-out.
#[derive(Default)]
struct Activities(Mutex<HashMap<i64, Arc<Prepared>>>);

impl Activities {
    /// At most this many are kept; the oldest fan-outs are long sent when it fills.
    const KEPT: usize = 256;

    /// Keeps an activity just queued, for the deliveries about to be claimed.
    fn keep(&self, activity: OutgoingActivity) {
        if let Ok(mut kept) = self.0.lock() {
            if kept.len() >= Self::KEPT {
                kept.clear();
            }
            kept.insert(activity.id, Arc::new(Prepared::from(activity)));
        }
    }

    /// The activities of a batch of deliveries, read from the database if not yet here.
    async fn for_batch(
        &self,
        fed: &Federation,
        batch: &[Delivery],
    ) -> crate::store::Result<HashMap<i64, Arc<Prepared>>> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        if let Ok(kept) = self.0.lock() {
            for delivery in batch {
                if found.contains_key(&delivery.activity) || missing.contains(&delivery.activity) {
                    continue;
                }
                match kept.get(&delivery.activity) {
                    Some(prepared) => {
                        found.insert(delivery.activity, prepared.clone());
                    }
                    None => missing.push(delivery.activity),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let rows = fed.store.outgoing_activities(&missing).await?;
        let mut kept = self.0.lock().ok();
        if let Some(kept) = kept.as_mut()
            && kept.len() + rows.len() > Self::KEPT
        {
            kept.clear();
        }
        for row in rows {
            let id = row.id;
            let prepared = Arc::new(Prepared::from(row));
            if let Some(kept) = kept.as_mut() {
                kept.insert(id, prepared.clone());
            }
            found.insert(id, prepared);
        }
        Ok(found)
    }
}

async fn attempt(fed: &Federation, delivery: &Delivery, activity: &Prepared) -> Outcome {
    let signer = match fed.signer_for(&activity.signer).await {
        Ok(s) => s,
        Err(e) => return Outcome::Refused(format!("cannot sign as `{}`: {e}", activity.signer)),
    };
    fed.client
        .deliver(&delivery.inbox, &activity.body, &activity.digest, &signer)
        .await
}
