//! Figures for whoever runs the instance, in Prometheus' text format at `/metrics`: served
//! only when `web.metrics_token` is set, and only to requests that carry it.
//!
//! Requests are counted by route (the route's pattern, never the path asked for, so that
//! the number of series stays bounded), method and status, with their latency; the
//! delivery queue, unreachable domains and the database's connections are read when the
//! figures are asked for.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use super::AppState;

/// What the inbox did with an activity (`accepted`, `duplicate`, `ignored`) or why it
/// refused it (`bad_signature`, `key_unavailable`, …), kept with the response for the
/// metrics.
#[derive(Debug, Clone, Copy)]
pub struct InboxOutcome(pub &'static str);

/// The instance's figures, registered once.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    inbox: IntCounterVec,
    deliveries: IntGaugeVec,
    oldest_pending: Gauge,
    unreachable: IntGauge,
    connections: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new_custom(Some("maillage".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["route", "method"],
        )?;
        let inbox = IntCounterVec::new(
            Opts::new(
                "inbox_activities_total",
                "Activities posted to an inbox: accepted, duplicate or ignored, or why they were refused",
            ),
            &["outcome"],
        )?;
        let deliveries = IntGaugeVec::new(
            Opts::new("deliveries", "Deliveries in the queue, by state"),
            &["state"],
        )?;
        let oldest_pending = Gauge::new(
            "delivery_oldest_pending_seconds",
            "Age of the oldest delivery still to send",
        )?;
        let unreachable = IntGauge::new(
            "unreachable_domains",
            "Destination domains that have been failing long enough to be held back",
        )?;
        let connections = IntGaugeVec::new(
            Opts::new("database_connections", "The database pool's connections"),
            &["state"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(inbox.clone()))?;
        registry.register(Box::new(deliveries.clone()))?;
        registry.register(Box::new(oldest_pending.clone()))?;
        registry.register(Box::new(unreachable.clone()))?;
        registry.register(Box::new(connections.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            inbox,
            deliveries,
            oldest_pending,
            unreachable,
            connections,
        })
    }
}

/// Counts every request by its route, method and status, times it, and logs it in one line
/// at `info`.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = request.method().as_str().to_owned();
    // The path without its query: searches' words and tokens in links stay out of the log.
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16().to_string();
    tracing::info!(
        target: "maillage::request",
        %method,
        %path,
        status = response.status().as_u16(),
        ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    let metrics = &state.metrics;
    if method == "POST" && route.ends_with("inbox") {
        let extensions = response.extensions();
        let outcome = match extensions.get::<InboxOutcome>() {
            Some(outcome) => outcome.0,
            None if response.status().is_success() => "accepted",
            // Refused before the inbox read it (too large, no such pole).
            None => extensions
                .get::<super::error::ErrorCode>()
                .map_or("refused", |code| code.0),
        };
        metrics.inbox.with_label_values(&[outcome]).inc();
    }
    metrics
        .requests
        .with_label_values(&[route.as_str(), method.as_str(), status.as_str()])
        .inc();
    metrics
        .latency
        .with_label_values(&[route.as_str(), method.as_str()])
        .observe(elapsed.as_secs_f64());
    response
}

/// `/metrics`: 404 when no token is set, 401 without the right one.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = state.config.web.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Digests are compared, so that the time taken tells nothing of the token.
    let digest = |t: &str| <sha2::Sha256 as sha2::Digest>::digest(t.trim().as_bytes());
    if digest(given) != digest(token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
        )
            .into_response();
    }
    let m = &state.metrics;
    match state.store.queue_state().await {
        Ok(domains) => {
            let sum = |f: fn(&crate::store::queue::DomainQueueState) -> u64| {
                i64::try_from(domains.iter().map(f).sum::<u64>()).unwrap_or(i64::MAX)
            };
            m.deliveries
                .with_label_values(&["pending"])
                .set(sum(|d| d.pending));
            m.deliveries
                .with_label_values(&["failed"])
                .set(sum(|d| d.failed));
            m.deliveries
                .with_label_values(&["delivered"])
                .set(sum(|d| d.delivered));
            m.unreachable
                .set(i64::try_from(domains.iter().filter(|d| d.unreachable).count()).unwrap_or(0));
        }
        Err(e) => tracing::warn!(error = %e, "the queue cannot be read for /metrics"),
    }
    match state.store.oldest_pending_delivery().await {
        Ok(oldest) => m.oldest_pending.set(oldest.map_or(0.0, |at| {
            (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
        })),
        Err(e) => tracing::warn!(error = %e, "the queue cannot be read for /metrics"),
    }
    let (open, idle, max) = state.store.pool_use();
    m.connections.with_label_values(&["open"]).set(open);
    m.connections.with_label_values(&["idle"]).set(idle);
    m.connections.with_label_values(&["max"]).set(max);
    let mut body = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&m.registry.gather(), &mut body) {
        tracing::error!(error = %e, "the metrics cannot be written");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], body).into_response()
}
