//! Signing in to the administration: each attempt is counted before its password is
//! checked, and few password checks run at once, from one address and in all.
//!
//! An argon2 check with the default parameters works in 19 MiB, and memory freed by checks
//! made on many threads, or split by the allocations made between them, stays with the
//! process. So checks run on `web.password_checks` threads of their own (2 by default), one
//! at a time on each, each thread in 19 MiB it takes at its first check and keeps: sign-ins
//! never hold more than that many times 19 MiB (38 MiB by default), however many arrive.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::store::{LoginCheck, Store, StoreError, User};

/// Password checks from one address at once (running or waiting for their turn): one
/// address cannot take every turn of the others.
pub const PER_ADDRESS: usize = 2;
/// How long an attempt waits for its turn before it is answered "busy, try again".
pub const TURN_WAIT: Duration = Duration::from_secs(10);

/// The bound on password checks, shared by every sign-in of the process.
pub struct PasswordGate {
    turns: Arc<Semaphore>,
    per_address: Mutex<HashMap<String, usize>>,
    per_address_limit: usize,
    wait: Duration,
    stats: Arc<Stats>,
    /// The checkers' queue; they stop when the gate is dropped.
    jobs: mpsc::Sender<Job>,
}

/// One password to check, with the turn it holds until the check ends.
struct Job {
    password: String,
    stored_hash: Option<String>,
    _turn: OwnedSemaphorePermit,
    reply: oneshot::Sender<bool>,
}

#[derive(Default)]
struct Stats {
    started: AtomicU64,
    running: AtomicUsize,
    peak: AtomicUsize,
}

/// An address's place among the attempts under way, given back when dropped.
pub struct AddressSlot<'a> {
    gate: &'a PasswordGate,
    address: String,
}

impl Drop for AddressSlot<'_> {
    fn drop(&mut self) {
        let mut counts = self
            .gate
            .per_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.address) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

impl PasswordGate {
    /// At most `concurrent` checks at once (at least one).
    pub fn new(concurrent: usize) -> PasswordGate {
        PasswordGate::with_limits(concurrent, PER_ADDRESS, TURN_WAIT)
    }

    pub fn with_limits(concurrent: usize, per_address: usize, wait: Duration) -> PasswordGate {
        let concurrent = concurrent.max(1);
        let stats = Arc::<Stats>::default();
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..concurrent {
            let queue = queue.clone();
            let stats = stats.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-check-{i}"))
                .spawn(move || run_checks(&queue, &stats));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password checker");
            }
        }
        PasswordGate {
            turns: Arc::new(Semaphore::new(concurrent)),
            per_address: Mutex::new(HashMap::new()),
            per_address_limit: per_address.max(1),
            wait,
            stats,
            jobs,
        }
    }

    /// A place for one more attempt from `address`, unless it has as many under way as it may.
    pub fn enter(&self, address: &str) -> Option<AddressSlot<'_>> {
        let mut counts = self
            .per_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = counts.entry(address.to_owned()).or_insert(0);
        if *n >= self.per_address_limit {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            gate: self,
            address: address.to_owned(),
        })
    }

    /// Checks `password` against `stored_hash` (a stand-in hash when there is none) when its
    /// turn comes; `None` when the turn did not come in time.
    pub async fn check(&self, password: String, stored_hash: Option<String>) -> Option<bool> {
        let turn = tokio::time::timeout(self.wait, self.turns.clone().acquire_owned())
            .await
            .ok()?
            .ok()?;
        let (reply, answer) = oneshot::channel();
        // The turn goes with the check: were the request given up meanwhile, the check would
        // still hold it until it ends.
        let job = Job {
            password,
            stored_hash,
            _turn: turn,
            reply,
        };
        if self.jobs.send(job).is_err() {
            tracing::error!("no password checker is running");
            return Some(false);
        }
        match answer.await {
            Ok(verified) => Some(verified),
            Err(_) => {
                tracing::error!("a password check ended without an answer");
                Some(false)
            }
        }
    }

    /// Password checks started since the process began, stand-in ones included.
    pub fn checks_started(&self) -> u64 {
        self.stats.started.load(Ordering::SeqCst)
    }

    /// The most password checks that ran at the same time.
    pub fn peak_concurrent(&self) -> usize {
        self.stats.peak.load(Ordering::SeqCst)
    }
}

/// A checker: takes the next password from the queue until the gate is gone.
fn run_checks(queue: &Mutex<mpsc::Receiver<Job>>, stats: &Stats) {
    let mut memory = crate::auth::CheckMemory::default();
    loop {
        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = job else {
            return;
        };
        stats.started.fetch_add(1, Ordering::SeqCst);
        let running = stats.running.fetch_add(1, Ordering::SeqCst) + 1;
        stats.peak.fetch_max(running, Ordering::SeqCst);
        let verified =
            crate::auth::verify_sign_in(&job.password, job.stored_hash.as_deref(), &mut memory);
        stats.running.fetch_sub(1, Ordering::SeqCst);
        // The sign-in may have been given up: nobody to answer then.
        let _ = job.reply.send(verified);
    }
}

/// What became of a sign-in attempt.
#[derive(Debug)]
pub enum Outcome {
    SignedIn(User),
    /// Wrong user name or password (the same answer for both).
    Refused,
    /// The account or the address is locked after too many failures.
    Locked(DateTime<Utc>),
    /// Too many attempts are under way, from this address or in all: nothing was checked.
    Busy,
}

/// Signs `username` in from `address` if `password` is theirs and neither is locked.
pub async fn attempt(
    store: &Store,
    gate: &PasswordGate,
    username: &str,
    password: String,
    address: &str,
) -> Result<Outcome, StoreError> {
    let Some(_slot) = gate.enter(address) else {
        tracing::warn!(%username, %address, "sign-in refused: too many at once from this address");
        return Ok(Outcome::Busy);
    };
    let account = format!("account:{username}");
    let others = vec![format!("address:{address}")];
    let keys = [vec![account.clone()], others.clone()].concat();
    if let LoginCheck::LockedUntil(until) = store.begin_login_attempt(&keys).await? {
        tracing::warn!(%username, %address, "sign-in refused: locked after repeated failures");
        return Ok(Outcome::Locked(until));
    }
    let user = store.user_by_username(username).await?;
    let hash = user
        .as_ref()
        .filter(|u| !u.disabled)
        .and_then(|u| u.password_hash.clone());
    let Some(verified) = gate.check(password, hash).await else {
        tracing::warn!(%username, %address, "sign-in refused: too many password checks waiting");
        store.forgive_login_attempt(&keys).await?;
        return Ok(Outcome::Busy);
    };
    match user.filter(|u| verified && !u.disabled) {
        Some(user) => {
            store.login_succeeded(&account, &others).await?;
            Ok(Outcome::SignedIn(user))
        }
        None => {
            tracing::warn!(%username, %address, "sign-in failed");
            Ok(Outcome::Refused)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_has_at_most_its_share_of_attempts_under_way() {
        let gate = PasswordGate::with_limits(4, 2, Duration::from_millis(10));
        let first = gate.enter("192.0.2.1").expect("first");
        let second = gate.enter("192.0.2.1").expect("second");
        assert!(
            gate.enter("192.0.2.1").is_none(),
            "a third at once is refused"
        );
        assert!(gate.enter("192.0.2.2").is_some(), "other addresses are not");
        drop(first);
        let third = gate
            .enter("192.0.2.1")
            .expect("a place freed is taken again");
        drop((second, third));
        assert!(gate.per_address.lock().unwrap().is_empty(), "nothing kept");
    }

    #[tokio::test]
    async fn checks_wait_for_a_turn_and_give_up_when_none_comes() {
        let gate = PasswordGate::with_limits(2, 2, Duration::from_millis(50));
        let held = [
            gate.turns.clone().try_acquire_owned().expect("turn"),
            gate.turns.clone().try_acquire_owned().expect("turn"),
        ];
        assert_eq!(
            gate.check("whatever password".into(), None).await,
            None,
            "no turn while both are taken"
        );
        assert_eq!(gate.checks_started(), 0, "nothing was checked");
        drop(held);
        assert_eq!(
            gate.check("whatever password".into(), None).await,
            Some(false),
            "a turn freed is taken"
        );
        assert_eq!(gate.checks_started(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_checks_run_at_once_than_the_bound() {
        let gate = Arc::new(PasswordGate::with_limits(2, 2, Duration::from_secs(60)));
        let hash = crate::auth::hash_password("correct horse battery").expect("hash");
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            let gate = gate.clone();
            let hash = (i % 2 == 0).then(|| hash.clone());
            tasks.spawn(async move { gate.check("wrong horse battery".into(), hash).await });
        }
        while let Some(done) = tasks.join_next().await {
            assert_eq!(done.expect("task"), Some(false));
        }
        assert_eq!(
            gate.checks_started(),
            8,
            "every attempt was checked in turn"
        );
        assert!(gate.peak_concurrent() <= 2, "{}", gate.peak_concurrent());
    }
}
