//! The stand-in instances: loopback ports that count the deliveries of the marked project
//! (or, for the dead-destinations mode, never answer), on a runtime of their own whose
//! threads' CPU time is theirs alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::{BenchResult, MARK};

/// The name of the threads running the stand-in instances.
pub(crate) const STAND_INS: &str = "stand-in";

/// The runtime of the stand-in instances, stopped without waiting when dropped (a runtime
/// cannot be dropped from within another).
pub(crate) struct StandIns(pub(crate) Option<tokio::runtime::Runtime>);

impl StandIns {
    /// A runtime of threads named [`STAND_INS`], whose CPU time is theirs alone.
    pub(crate) fn start() -> BenchResult<StandIns> {
        Ok(StandIns(Some(
            tokio::runtime::Builder::new_multi_thread()
                .thread_name(STAND_INS)
                .enable_all()
                .build()?,
        )))
    }

    pub(crate) fn handle(&self) -> BenchResult<&tokio::runtime::Handle> {
        Ok(self
            .0
            .as_ref()
            .ok_or("the stand-in runtime stopped")?
            .handle())
    }
}

impl Drop for StandIns {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The deliveries of the marked project that one round's stand-ins received, and the
/// moment the last one expected arrived: the end of the fan-out, taken where it happens
/// rather than by a clock polling the count.
pub(crate) struct Tally {
    received: AtomicUsize,
    expected: usize,
    last: std::sync::OnceLock<Instant>,
    done: tokio::sync::Notify,
    /// When each delivery arrived, for the latencies of the dead-destinations mode.
    pub(crate) arrivals: std::sync::Mutex<Vec<Instant>>,
}

impl Tally {
    pub(crate) fn new(expected: usize) -> Tally {
        Tally {
            received: AtomicUsize::new(0),
            expected,
            last: std::sync::OnceLock::new(),
            done: tokio::sync::Notify::new(),
            arrivals: std::sync::Mutex::new(Vec::with_capacity(expected)),
        }
    }

    pub(crate) fn count(&self) {
        if let Ok(mut arrivals) = self.arrivals.lock() {
            arrivals.push(Instant::now());
        }
        if self.received.fetch_add(1, Ordering::SeqCst) + 1 == self.expected {
            let _ = self.last.set(Instant::now());
            self.done.notify_one();
        }
    }

    pub(crate) fn received(&self) -> usize {
        self.received.load(Ordering::SeqCst)
    }

    /// When the last expected delivery arrived, waiting for it until `deadline`.
    pub(crate) async fn finished(&self, deadline: Duration) -> BenchResult<Instant> {
        let wait = async {
            loop {
                if let Some(last) = self.last.get() {
                    return *last;
                }
                self.done.notified().await;
            }
        };
        tokio::time::timeout(deadline, wait).await.map_err(|_| {
            format!(
                "only {} of {} deliveries arrived in time",
                self.received(),
                self.expected
            )
            .into()
        })
    }
}

/// What stand-in instances do with each request they read: the port it came to and the
/// whole request, head and body.
pub(crate) trait Receipt: Send + Sync + 'static {
    fn record(&self, port: u16, request: &[u8]);
}

/// A [`Tally`] counts the requests that carry the marked project.
impl Receipt for Tally {
    fn record(&self, _port: u16, request: &[u8]) {
        if request.windows(MARK.len()).any(|w| w == MARK.as_bytes()) {
            self.count();
        }
    }
}

/// Stand-in instances: each a loopback port whose shared inbox hands what it receives to
/// `received` (a [`Tally`] counts the deliveries of the marked project). They are as lean as an HTTP/1.1 server can be (read the request,
/// answer 202 and close), so that the machine's two cores go to the server measured; the
/// connection closed after each answer keeps every fan-out on new connections, as a
/// fan-out to instances not written to lately is. They stop listening when the returned
/// set is dropped.
pub(crate) async fn receivers<R: Receipt>(
    runtime: &tokio::runtime::Handle,
    count: usize,
    received: Arc<R>,
) -> BenchResult<(Vec<u16>, tokio::task::JoinSet<()>)> {
    let mut ports = Vec::with_capacity(count);
    let mut servers = tokio::task::JoinSet::new();
    for _ in 0..count {
        let received = received.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        ports.push(port);
        servers.spawn_on(
            async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(receive(stream, port, received.clone()));
                }
            },
            runtime,
        );
    }
    Ok((ports, servers))
}

/// Reads one request, hands it to `received`, answers 202 and closes.
pub(crate) async fn receive<R: Receipt>(
    mut stream: tokio::net::TcpStream,
    port: u16,
    received: Arc<R>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    let mut expected = None;
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        request.extend_from_slice(&chunk[..n]);
        if expected.is_none()
            && let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n")
        {
            let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            expected = Some(end + 4 + length);
        }
        if expected.is_some_and(|total| request.len() >= total) {
            break;
        }
    }
    received.record(port, &request);
    let _ = stream
        .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await;
    let _ = stream.shutdown().await;
}

/// Loopback ports that take connections, read what comes and never answer.
pub(crate) async fn black_holes(
    runtime: &tokio::runtime::Handle,
    count: usize,
) -> BenchResult<(Vec<u16>, tokio::task::JoinSet<()>)> {
    let mut ports = Vec::with_capacity(count);
    let mut servers = tokio::task::JoinSet::new();
    for _ in 0..count {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        ports.push(listener.local_addr()?.port());
        servers.spawn_on(
            async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                while let Ok((mut stream, _)) = listener.accept().await {
                    tokio::spawn(async move {
                        use tokio::io::AsyncReadExt;
                        let mut buffer = [0u8; 8192];
                        while matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {}
                    });
                }
            },
            runtime,
        );
    }
    Ok((ports, servers))
}
