//! What the soak counts: every request by route (latency, errors, 5xx), the deliveries of
//! the fan-outs as the stand-in instances receive them, and the server's memory; and the
//! verdicts drawn from them. Pure bookkeeping, no I/O but the clock.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::stand_ins::Receipt;
use crate::{MARK, ms, percentile};

/// How much the resident memory at the end may exceed the memory after the first minute
/// before it counts as growth: 10 %.
pub(crate) const MEMORY_TOLERANCE: f64 = 0.10;

/// Error descriptions kept to print, the first ones.
const KEPT_ERRORS: usize = 20;

/// One route's requests.
#[derive(Debug, Default, Clone)]
pub(crate) struct RouteStats {
    pub(crate) latencies: Vec<Duration>,
    pub(crate) errors: u64,
    pub(crate) server_errors: u64,
}

/// What happened to one request.
pub(crate) enum Outcome {
    /// An answer of this status.
    Status(u16),
    /// No answer within the client's timeout.
    Timeout,
    /// No answer: the connection failed or the body could not be read.
    Failed(String),
}

/// Every request of the soak, by route pattern.
#[derive(Default)]
pub(crate) struct Recorder {
    routes: Mutex<BTreeMap<&'static str, RouteStats>>,
    requests: AtomicU64,
    errors: AtomicU64,
    server_errors: AtomicU64,
    first_errors: Mutex<Vec<String>>,
}

/// Requests, errors and 5xx so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) server_errors: u64,
}

impl Recorder {
    /// Records one request of `route` that took `latency`: an error unless it was answered
    /// with `expected`.
    pub(crate) fn record(
        &self,
        route: &'static str,
        latency: Duration,
        outcome: &Outcome,
        expected: u16,
        detail: impl FnOnce() -> String,
    ) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let (error, server_error) = match outcome {
            Outcome::Status(status) => (*status != expected, *status >= 500),
            Outcome::Timeout | Outcome::Failed(_) => (true, false),
        };
        if error {
            self.errors.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut kept) = self.first_errors.lock()
                && kept.len() < KEPT_ERRORS
            {
                let what = match outcome {
                    Outcome::Status(status) => format!("status {status}, expected {expected}"),
                    Outcome::Timeout => "timed out".to_owned(),
                    Outcome::Failed(e) => format!("failed: {e}"),
                };
                kept.push(format!("{route}: {what} {}", detail()));
            }
        }
        if server_error {
            self.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut routes) = self.routes.lock() {
            let stats = routes.entry(route).or_default();
            stats.latencies.push(latency);
            stats.errors += u64::from(error);
            stats.server_errors += u64::from(server_error);
        }
    }

    pub(crate) fn counts(&self) -> Counts {
        Counts {
            requests: self.requests.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            server_errors: self.server_errors.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn routes(&self) -> BTreeMap<&'static str, RouteStats> {
        self.routes.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub(crate) fn first_errors(&self) -> Vec<String> {
        self.first_errors
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }
}

/// One line of the table per route.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RouteRow {
    pub(crate) route: String,
    pub(crate) count: usize,
    pub(crate) errors: u64,
    pub(crate) server_errors: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
}

/// The table's rows, in the order of the routes, then the line of totals.
pub(crate) fn route_rows(routes: &BTreeMap<&'static str, RouteStats>) -> Vec<RouteRow> {
    let row = |route: &str, latencies: &mut Vec<Duration>, errors, server_errors| {
        latencies.sort_unstable();
        RouteRow {
            route: route.to_owned(),
            count: latencies.len(),
            errors,
            server_errors,
            p50_ms: ms(percentile(latencies, 0.5)),
            p99_ms: ms(percentile(latencies, 0.99)),
        }
    };
    let mut rows = Vec::with_capacity(routes.len() + 1);
    let mut all = Vec::new();
    let (mut errors, mut server_errors) = (0, 0);
    for (route, stats) in routes {
        let mut latencies = stats.latencies.clone();
        all.extend_from_slice(&latencies);
        errors += stats.errors;
        server_errors += stats.server_errors;
        rows.push(row(
            route,
            &mut latencies,
            stats.errors,
            stats.server_errors,
        ));
    }
    rows.push(row("total", &mut all, errors, server_errors));
    rows
}

/// The rows as a text table.
pub(crate) fn route_table(rows: &[RouteRow]) -> String {
    let width = rows
        .iter()
        .map(|r| r.route.chars().count())
        .max()
        .unwrap_or(5);
    let mut table = format!(
        "  {:<width$}  {:>8}  {:>6}  {:>4}  {:>9}  {:>9}\n",
        "route", "count", "errors", "5xx", "p50 ms", "p99 ms"
    );
    for r in rows {
        table.push_str(&format!(
            "  {:<width$}  {:>8}  {:>6}  {:>4}  {:>9.1}  {:>9.1}\n",
            r.route, r.count, r.errors, r.server_errors, r.p50_ms, r.p99_ms
        ));
    }
    table
}

/// The server's resident memory at one moment, in MiB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Memory {
    /// `VmRSS`: everything resident.
    pub(crate) rss: f64,
    /// `RssAnon`: the heap and the stacks, without the mapped files (the binary, SQLite's
    /// memory-mapped database).
    pub(crate) anonymous: f64,
    /// `VmHWM`: the peak of `VmRSS` so far.
    pub(crate) peak: f64,
}

/// Whether the server's own memory grew after the first minute: the anonymous resident
/// memory (heap and stacks) at the end above that after the first minute by more than
/// `tolerance` (a fraction). The rest of `VmRSS` is mapped files: the binary, and on SQLite
/// the database file that SQLite maps (`database.sqlite_mmap_mib`), whose pages are the
/// kernel's file cache — they grow with the database and the kernel takes them back when
/// it needs to. Without a sample after the first minute there is nothing to compare, and
/// no growth.
pub(crate) fn memory_grew(per_minute: &[Memory], tolerance: f64) -> bool {
    match (per_minute.first(), per_minute.last()) {
        (Some(first), Some(last)) if per_minute.len() > 1 => {
            last.anonymous > first.anonymous * (1.0 + tolerance)
        }
        _ => false,
    }
}

/// The number of a fan-out's publication in a request carrying it: the project is titled
/// `MARK (N)`.
pub(crate) fn publication_number(request: &[u8]) -> Option<u64> {
    let at = request
        .windows(MARK.len())
        .position(|w| w == MARK.as_bytes())?;
    let rest = request.get(at + MARK.len()..)?.strip_prefix(b" (")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if rest.get(digits) != Some(&b')') {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// The deliveries of the fan-outs: each publication must reach each stand-in instance
/// once.
#[derive(Default)]
pub(crate) struct Ledger {
    seen: Mutex<HashSet<(u16, u64)>>,
    received: AtomicU64,
    duplicates: AtomicU64,
}

impl Receipt for Ledger {
    fn record(&self, port: u16, request: &[u8]) {
        let Some(number) = publication_number(request) else {
            return;
        };
        let new = self
            .seen
            .lock()
            .map(|mut seen| seen.insert((port, number)))
            .unwrap_or(true);
        if new {
            self.received.fetch_add(1, Ordering::SeqCst);
        } else {
            self.duplicates.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Ledger {
    /// Distinct deliveries received.
    pub(crate) fn received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }

    /// Deliveries received again.
    pub(crate) fn duplicates(&self) -> u64 {
        self.duplicates.load(Ordering::SeqCst)
    }

    /// Waits until `expected` distinct deliveries arrived, or `deadline` passed.
    pub(crate) async fn drained(&self, expected: u64, deadline: Duration) -> bool {
        let start = Instant::now();
        while self.received() < expected {
            if start.elapsed() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        true
    }
}

/// Requests the stand-ins of the remote senders received (accepts of their follows and
/// what the poles they follow publish): counted, not checked.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Receipt for Counter {
    fn record(&self, _port: u16, _request: &[u8]) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Counter {
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(rss: f64) -> Memory {
        Memory {
            rss,
            anonymous: rss / 2.0,
            peak: rss,
        }
    }

    #[test]
    fn memory_grows_only_beyond_the_tolerance_after_the_first_minute() {
        let steady = [memory(40.0), memory(43.0), memory(39.0), memory(44.0)];
        assert!(!memory_grew(&steady, 0.10));
        let growing = [memory(40.0), memory(42.0), memory(44.0), memory(44.5)];
        assert!(memory_grew(&growing, 0.10));
        // The first minute is not compared: only what follows it.
        assert!(!memory_grew(&[memory(40.0)], 0.10));
        assert!(!memory_grew(&[], 0.10));
        // A peak in between that came down again is not growth.
        assert!(!memory_grew(
            &[memory(40.0), memory(80.0), memory(41.0)],
            0.10
        ));
    }

    #[test]
    fn the_table_gives_each_route_its_percentiles_and_the_totals() {
        let mut routes = BTreeMap::new();
        routes.insert(
            "GET /a",
            RouteStats {
                latencies: (1..=100).rev().map(Duration::from_millis).collect(),
                errors: 1,
                server_errors: 0,
            },
        );
        routes.insert(
            "GET /b",
            RouteStats {
                latencies: vec![Duration::from_millis(500)],
                errors: 0,
                server_errors: 1,
            },
        );
        let rows = route_rows(&routes);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].route, "GET /a");
        assert_eq!(rows[0].count, 100);
        assert_eq!(rows[0].p50_ms, 51.0);
        assert_eq!(rows[0].p99_ms, 99.0);
        assert_eq!(rows[1].p50_ms, 500.0);
        let total = &rows[2];
        assert_eq!(
            (
                total.route.as_str(),
                total.count,
                total.errors,
                total.server_errors
            ),
            ("total", 101, 1, 1)
        );
        assert_eq!(total.p99_ms, 100.0);
        let table = route_table(&rows);
        assert!(table.lines().nth(1).is_some_and(|l| l.contains("GET /a")));
        assert_eq!(table.lines().count(), 4);
    }

    #[test]
    fn an_error_is_a_wrong_status_a_timeout_or_a_failure() {
        let recorder = Recorder::default();
        let ms = Duration::from_millis(3);
        recorder.record("GET /", ms, &Outcome::Status(200), 200, String::new);
        recorder.record("GET /", ms, &Outcome::Status(404), 200, String::new);
        recorder.record("POST /inbox", ms, &Outcome::Status(502), 202, String::new);
        recorder.record("POST /inbox", ms, &Outcome::Timeout, 202, String::new);
        recorder.record(
            "POST /inbox",
            ms,
            &Outcome::Failed("reset".into()),
            202,
            String::new,
        );
        assert_eq!(
            recorder.counts(),
            Counts {
                requests: 5,
                errors: 4,
                server_errors: 1
            }
        );
        let routes = recorder.routes();
        assert_eq!(routes["GET /"].errors, 1);
        assert_eq!(routes["POST /inbox"].server_errors, 1);
        assert_eq!(recorder.first_errors().len(), 4);
    }

    #[test]
    fn deliveries_are_counted_once_per_instance_and_publication() {
        let body = |n: u64| format!("POST / HTTP/1.1\r\n\r\n{{\"name\":\"{MARK} ({n})\"}}");
        assert_eq!(publication_number(body(12).as_bytes()), Some(12));
        assert_eq!(publication_number(MARK.as_bytes()), None);
        assert_eq!(publication_number(b"nothing"), None);
        let ledger = Ledger::default();
        ledger.record(1, body(1).as_bytes());
        ledger.record(2, body(1).as_bytes());
        ledger.record(1, body(2).as_bytes());
        ledger.record(1, body(1).as_bytes());
        ledger.record(1, b"an accept");
        assert_eq!((ledger.received(), ledger.duplicates()), (3, 1));
    }
}
