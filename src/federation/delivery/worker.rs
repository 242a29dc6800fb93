//! Sending the delivery queue, with one worker per destination domain, so that a slow or
//! dead server never delays the others.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinSet;

use crate::federation::fetch::service::Federation;
use crate::federation::signatures::body_digest;
use crate::store::queue::{Delivery, Outcome, OutgoingActivity};

/// How often the queue is looked at when nothing wakes the workers (other processes may
/// have queued work, and retries fall due).
pub(crate) const POLL: Duration = Duration::from_secs(1);
/// Deliveries a domain worker claims at once.
const BATCH: u64 = 16;

/// Returns when `shutdown` turns true.
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// How long a delivery waiting for an answer is given when the server stops: what is about
/// to be answered is recorded, what hangs is given up and handed back to the queue, still
/// due, so that a server that never answers does not hold up the stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// How the delivery slots are shared. A domain whose server is failing (no answer, 5xx,
/// 429) may hold a slot for as long as a request may take; such domains are kept to a lane
/// of their own, a small share of the slots, so that a crowd of dead servers never holds
/// up the live ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limits {
    /// Workers at once, in both lanes.
    total: usize,
    /// Workers at once for failing domains.
    failing: usize,
}

impl Limits {
    fn new(concurrency: usize) -> Limits {
        let total = concurrency.max(1);
        // An eighth, at least one, and never every slot when there are two or more.
        let failing = (total / 8).clamp(1, total.saturating_sub(1).max(1));
        Limits { total, failing }
    }
}

/// The domains with a worker, and what this process knows of their servers' health.
#[derive(Default)]
struct Lanes {
    /// Domains with a worker, each with whether it runs in the lane of failing domains.
    running: HashMap<String, bool>,
    failing_running: usize,
    /// Domains whose last attempt failed with an error worth retrying, as far as this
    /// process knows: the queue says so on each reading, and the workers on each attempt.
    failing: HashSet<String>,
}

impl Lanes {
    /// Free slots for domains that answer, and for failing ones.
    fn room(&self, limits: Limits) -> (usize, usize) {
        let free = limits.total.saturating_sub(self.running.len());
        let failing = limits
            .failing
            .saturating_sub(self.failing_running)
            .min(free);
        (free, failing)
    }

    fn start(&mut self, domain: &str, failing: bool) {
        if self.running.insert(domain.to_owned(), failing).is_none() && failing {
            self.failing_running += 1;
        }
    }

    fn end(&mut self, domain: &str) {
        if self.running.remove(domain) == Some(true) {
            self.failing_running = self.failing_running.saturating_sub(1);
        }
    }

    fn learn(&mut self, domain: &str, failing: bool) {
        if failing {
            self.failing.insert(domain.to_owned());
        } else {
            self.failing.remove(domain);
        }
    }
}

/// Due domains not yet claimed for, and deliveries claimed ahead for the next workers, for
/// one lane.
#[derive(Default)]
struct Lane {
    backlog: VecDeque<String>,
    ready: VecDeque<(String, Vec<Delivery>)>,
}

/// What every domain worker shares.
struct Shared {
    fed: Arc<Federation>,
    activities: Arc<Activities>,
    lanes: Mutex<Lanes>,
    slot_freed: Notify,
    recorder: mpsc::UnboundedSender<Success>,
}

impl Shared {
    fn lanes(&self) -> std::sync::MutexGuard<'_, Lanes> {
        // The lock is never held across a panic-prone call; a poisoned one still holds
        // consistent sets.
        self.lanes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A successful delivery for the recorder, with whom to tell once it is written.
struct Success {
    id: i64,
    domain: String,
    written: oneshot::Sender<()>,
}

/// Claims due deliveries and hands them to one worker per domain, until `shutdown`.
pub(crate) async fn deliverer(fed: Arc<Federation>, mut shutdown: watch::Receiver<bool>) {
    let limits = Limits::new(fed.config.federation.delivery_concurrency);
    let (recorder_tx, recorder_rx) = mpsc::unbounded_channel();
    // Owned here, not detached: if the deliverer is aborted, as in a crash, nothing more is
    // written.
    let mut recorder = JoinSet::new();
    recorder.spawn(record_delivered(fed.clone(), recorder_rx));
    let shared = Arc::new(Shared {
        fed: fed.clone(),
        activities: Arc::new(Activities::default()),
        lanes: Mutex::new(Lanes::default()),
        slot_freed: Notify::new(),
        recorder: recorder_tx,
    });
    let mut workers = JoinSet::new();
    // A fan-out to many domains reads the list of due domains once, not once per domain,
    // and claims for as many domains as can run at once in one statement.
    let mut healthy = Lane::default();
    let mut failing = Lane::default();
    let mut refresh = true;
    let mut last_read = tokio::time::Instant::now();
    // Whether due domains were left out of the backlog for having a worker or deliveries
    // claimed ahead (see `admit`): when a worker ends, the queue is read again only then (that
    // worker may have ended before taking what was queued for its domain meanwhile). Reading
    // it again at every worker's end would make a fan-out to many instances read the queue
    // once per instance.
    let mut skipped_busy = false;
    loop {
        // Retries and failing domains fall due with time alone: the queue is read at least
        // that often, even while fan-outs keep the workers busy.
        if refresh || last_read.elapsed() >= POLL {
            last_read = tokio::time::Instant::now();
            match fed.store.due_domains_by_health(chrono::Utc::now()).await {
                Ok(due) => {
                    healthy.backlog.clear();
                    failing.backlog.clear();
                    skipped_busy = admit(
                        due.into_iter().map(|d| (d.domain, Some(d.failing))),
                        &shared,
                        &mut healthy,
                        &mut failing,
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the delivery queue");
                    // Read it again when a worker ends, as before any reading.
                    skipped_busy = true;
                }
            }
        }
        loop {
            let (room, failing_room) = shared.lanes().room(limits);
            if room > 0
                && let Some((domain, batch)) = healthy.ready.pop_front()
            {
                start_worker(&mut workers, &shared, domain, batch, false, &shutdown);
                continue;
            }
            if failing_room > 0
                && let Some((domain, batch)) = failing.ready.pop_front()
            {
                start_worker(&mut workers, &shared, domain, batch, true, &shutdown);
                continue;
            }
            let mut domains: Vec<String> = Vec::new();
            if room > 0 && healthy.ready.is_empty() {
                let n = healthy.backlog.len().min(limits.total);
                domains.extend(healthy.backlog.drain(..n));
            }
            // Failing domains are claimed for no further ahead than they may run: each may
            // hold its slot for as long as a request may take.
            if failing_room > 0 && failing.ready.is_empty() {
                let n = failing.backlog.len().min(failing_room);
                domains.extend(failing.backlog.drain(..n));
            }
            if domains.is_empty() {
                break;
            }
            match fed
                .store
                .claim_many(&domains, &fed.worker_id, BATCH, chrono::Utc::now())
                .await
            {
                Ok(claimed) => {
                    tracing::debug!(deliveries = claimed.len(), "deliveries claimed");
                    // The activities and their signers' keys are read here, once, not by
                    // every worker of a fan-out at the same moment.
                    if let Ok(prepared) = shared.activities.for_batch(&fed, &claimed).await {
                        let mut signers: Vec<&str> =
                            prepared.values().map(|p| p.signer.as_str()).collect();
                        signers.sort_unstable();
                        signers.dedup();
                        for signer in signers {
                            // A key that cannot be read is reported by the workers.
                            let _ = fed.signer_for(signer).await;
                        }
                    }
                    // The lane is the one the queue gives at the claim: another process
                    // may have learnt of a failure, or of a recovery.
                    let mut lanes = shared.lanes();
                    for (domain, batch) in by_domain(claimed) {
                        let is_failing = batch.iter().any(|d| d.failing);
                        lanes.learn(&domain, is_failing);
                        if is_failing {
                            failing.ready.push_back((domain, batch));
                        } else {
                            healthy.ready.push_back((domain, batch));
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim deliveries");
                    break;
                }
            }
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
                    shared.activities.keep(queued.activity);
                    skipped_busy |= admit(
                        queued.domains.into_iter().map(|d| (d, None)),
                        &shared,
                        &mut healthy,
                        &mut failing,
                    );
                }
            }
            () = shared.slot_freed.notified() => {
                refresh = skipped_busy && healthy.backlog.is_empty() && failing.backlog.is_empty();
            }
            () = tokio::time::sleep(POLL) => refresh = true,
            () = stopped(&mut shutdown) => break,
        }
    }
    // The workers stop before their next delivery, and give up one that waits for an answer
    // after `SHUTDOWN_GRACE`; then their outcomes are written and what they still hold is
    // handed back to the queue (with what was claimed ahead).
    let finished = tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(10), async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!("delivery workers did not stop in time; stopping them now");
        workers.shutdown().await;
    }
    drop(shared);
    let recorded = tokio::time::timeout(Duration::from_secs(10), async {
        while recorder.join_next().await.is_some() {}
    })
    .await;
    if recorded.is_err() {
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

fn start_worker(
    workers: &mut JoinSet<()>,
    shared: &Arc<Shared>,
    domain: String,
    batch: Vec<Delivery>,
    failing: bool,
    shutdown: &watch::Receiver<bool>,
) {
    shared.lanes().start(&domain, failing);
    workers.spawn(domain_worker(
        shared.clone(),
        domain,
        batch,
        shutdown.clone(),
    ));
}

/// Takes due `domains` into the backlog of their lane, each once, leaving out those that
/// have a worker or deliveries claimed ahead. The queue's reading says whether each is
/// failing; for the domains just queued (`None`), what this process knows decides, and a
/// domain known to be failing is left to the next reading of the queue, which gives it when
/// its next attempt falls due. Says whether any was left out for being busy: its worker may
/// end without taking what is due there now, and the queue is then read again.
fn admit(
    domains: impl IntoIterator<Item = (String, Option<bool>)>,
    shared: &Shared,
    healthy: &mut Lane,
    failing: &mut Lane,
) -> bool {
    let mut lanes = shared.lanes();
    let mut taken: HashSet<&str> = lanes.running.keys().map(String::as_str).collect();
    taken.extend(
        healthy
            .ready
            .iter()
            .chain(failing.ready.iter())
            .map(|(domain, _)| domain.as_str()),
    );
    let mut waiting: HashSet<String> = healthy
        .backlog
        .iter()
        .chain(failing.backlog.iter())
        .cloned()
        .collect();
    let mut left_out = false;
    let mut admitted: Vec<(String, bool)> = Vec::new();
    for (domain, read) in domains {
        if taken.contains(domain.as_str()) {
            left_out = true;
            continue;
        }
        let is_failing = match read {
            Some(is_failing) => is_failing,
            None if lanes.failing.contains(&domain) => continue,
            None => false,
        };
        if waiting.insert(domain.clone()) {
            admitted.push((domain, is_failing));
        }
    }
    drop(taken);
    for (domain, is_failing) in admitted {
        lanes.learn(&domain, is_failing);
        if is_failing {
            failing.backlog.push_back(domain);
        } else {
            healthy.backlog.push_back(domain);
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

/// Waits for the stop, then for `SHUTDOWN_GRACE`: what a delivery in flight still has.
async fn given_up(shutdown: &mut watch::Receiver<bool>) {
    stopped(shutdown).await;
    tokio::time::sleep(SHUTDOWN_GRACE).await;
}

/// Sends the deliveries of one domain claimed for it, then a batch at a time what else is
/// due there, until none is. A success is written before the next delivery, and the slot
/// is given up only then: what was delivered but not yet recorded, and would be sent again
/// after a crash, is never more than one delivery per slot.
async fn domain_worker(
    shared: Arc<Shared>,
    domain: String,
    mut batch: Vec<Delivery>,
    mut shutdown: watch::Receiver<bool>,
) {
    let fed = &shared.fed;
    'work: while !batch.is_empty() {
        // A short batch was all that was due: no need to ask again.
        let last = (batch.len() as u64) < BATCH;
        let mut failure: Option<Outcome> = None;
        let prepared = shared.activities.for_batch(fed, &batch).await;
        for delivery in std::mem::take(&mut batch) {
            // What is left stays claimed, and is handed back to the queue on the way out.
            if *shutdown.borrow() {
                break 'work;
            }
            let outcome = match (&failure, &prepared) {
                // The server is down: what was claimed with this delivery waits as it does.
                (Some(failed), _) => failed.clone(),
                (None, Err(e)) => Outcome::Retry(format!("cannot read the activity: {e}")),
                (None, Ok(prepared)) => match prepared.get(&delivery.activity) {
                    Some(activity) => {
                        let sent = tokio::select! {
                            outcome = attempt(fed, &delivery, activity) => Some(outcome),
                            () = given_up(&mut shutdown) => None,
                        };
                        let Some(outcome) = sent else {
                            tracing::info!(inbox = %delivery.inbox, "stopping: a delivery with no answer yet is handed back to the queue");
                            break 'work;
                        };
                        outcome
                    }
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
                let (written, wait) = oneshot::channel();
                let success = Success {
                    id: delivery.id,
                    domain: domain.clone(),
                    written,
                };
                if shared.recorder.send(success).is_err() {
                    tracing::warn!("the delivery recorder has stopped");
                } else {
                    // Told even when the write failed (the recorder says so): the delivery
                    // then stays claimed, and is sent again when its lease ends.
                    let _ = wait.await;
                }
            } else if let Err(e) = fed
                .store
                .finish(delivery.id, &fed.worker_id, &outcome, chrono::Utc::now())
                .await
            {
                tracing::warn!(error = %e, "cannot record a delivery's outcome");
            }
            if failure.is_none() {
                shared
                    .lanes()
                    .learn(&domain, matches!(outcome, Outcome::Retry(_)));
                if matches!(outcome, Outcome::Retry(_)) {
                    failure = Some(outcome);
                }
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
    shared.lanes().end(&domain);
    // Room for another domain.
    shared.slot_freed.notify_one();
}

/// Writes successful deliveries as soon as they are known: each write takes every success
/// that came in while the one before was written, so that under load one write covers many
/// deliveries, and none waits for others to come. Until it is written, a delivery stays
/// claimed; if the process dies first, it is sent again when its lease ends, and the
/// receiver drops the duplicate.
async fn record_delivered(fed: Arc<Federation>, mut done: mpsc::UnboundedReceiver<Success>) {
    const MOST: usize = 500;
    let mut batch = Vec::with_capacity(MOST);
    while done.recv_many(&mut batch, MOST).await > 0 {
        tracing::debug!(
            deliveries = batch.len(),
            "writing the outcome of successful deliveries"
        );
        let (ids, domains): (Vec<i64>, Vec<String>) =
            batch.iter().map(|s| (s.id, s.domain.clone())).unzip();
        if let Err(e) = fed
            .store
            .finish_delivered(&ids, &domains, &fed.worker_id, chrono::Utc::now())
            .await
        {
            tracing::warn!(error = %e, deliveries = ids.len(), "cannot record delivered activities; they will be sent again");
        }
        for success in batch.drain(..) {
            let _ = success.written.send(());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_domains_get_a_small_share_of_the_slots_and_never_all() {
        let share = |n| {
            let l = Limits::new(n);
            (l.total, l.failing)
        };
        assert_eq!(share(64), (64, 8));
        assert_eq!(share(16), (16, 2));
        assert_eq!(share(8), (8, 1));
        assert_eq!(share(2), (2, 1));
        assert_eq!(share(1), (1, 1));
        assert_eq!(share(0), (1, 1));
    }

    #[test]
    fn failing_domains_take_no_room_beyond_their_lane() {
        let limits = Limits::new(16);
        let mut lanes = Lanes::default();
        assert_eq!(lanes.room(limits), (16, 2));
        lanes.start("dead-1", true);
        lanes.start("dead-2", true);
        assert_eq!(lanes.room(limits), (14, 0));
        for n in 0..14 {
            lanes.start(&format!("live-{n}"), false);
        }
        assert_eq!(lanes.room(limits), (0, 0));
        lanes.end("dead-1");
        assert_eq!(lanes.room(limits), (1, 1));
        lanes.end("dead-1");
        assert_eq!(lanes.failing_running, 1, "an end counted once");
    }
}
