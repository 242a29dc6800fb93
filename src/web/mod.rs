//! HTTP: the router, shared state and the server's life cycle.

pub mod admin;
pub mod api;
pub mod error;
pub mod extract;
pub mod federation;
pub mod feeds;
pub mod headers;
pub mod mail;
pub mod metrics;
pub mod pages;
pub mod statistics_cache;
pub mod strict_json;
pub mod tls;

pub use tls::serve_tls;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::store::Store;
use error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub fed: Arc<crate::federation::fetch::service::Federation>,
    /// The directory's statistics, kept while the directory stays the same.
    pub statistics: Arc<statistics_cache::StatisticsCache>,
    /// The bound on sign-ins' password checks running at once.
    pub password_gate: Arc<admin::sign_in::PasswordGate>,
    /// The figures `/metrics` serves.
    pub metrics: Arc<metrics::Metrics>,
    /// E-mail, off without `[smtp]`.
    pub mailer: Arc<mail::Mailer>,
}

impl AppState {
    /// Fails if federation cannot be set up as configured.
    pub fn new(
        store: Store,
        config: Config,
    ) -> Result<AppState, crate::federation::fetch::service::FederationError> {
        let config = Arc::new(config);
        let mailer = mail::Mailer::new(&config).map_err(|e| {
            crate::federation::fetch::service::FederationError::Setup(format!(
                "e-mail cannot be set up: {e}"
            ))
        })?;
        Ok(AppState {
            mailer: Arc::new(mailer),
            password_gate: Arc::new(admin::sign_in::PasswordGate::new(
                config.web.password_checks,
            )),
            fed: crate::federation::fetch::service::Federation::new(store.clone(), config.clone())?,
            store,
            config,
            statistics: Arc::default(),
            metrics: Arc::new(metrics::Metrics::new().map_err(|e| {
                crate::federation::fetch::service::FederationError::Setup(format!(
                    "the metrics cannot be registered: {e}"
                ))
            })?),
        })
    }
}

/// The federation workers of a running server, stopped with [`Background::stop`].
pub struct Background {
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
}

impl Background {
    /// Starts publishing changes and sending deliveries, and the daily digest when e-mail
    /// is configured.
    pub fn start(state: &AppState) -> Background {
        let (shutdown, receiver) = tokio::sync::watch::channel(false);
        let mut tasks = crate::federation::tasks::spawn(state.fed.clone(), receiver.clone());
        if let Some(smtp) = &state.config.smtp {
            tasks.spawn(mail::digest::run(
                state.store.clone(),
                state.mailer.clone(),
                smtp.digest_hour,
                receiver,
            ));
        }
        Background { tasks, shutdown }
    }

    /// Stops the workers at once, as a crash would: deliveries they hold stay claimed until
    /// their lease ends.
    pub fn abort(mut self) {
        self.tasks.abort_all();
    }

    /// Stops the workers; deliveries they hold go back to the queue.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::router(&state))
        .route("/", get(pages::home::home))
        .route("/directory", get(pages::directory::directory))
        .route("/map", get(pages::map::map))
        .route("/statistics", get(pages::statistics::statistics))
        .route("/lang/{code}", get(pages::switch_language))
        .route("/static/{*path}", get(pages::assets::serve))
        .route("/poles/{slug}/follow", get(pages::pole::follow_redirect))
        .merge(admin::router(&state).layer(not_framed()))
        .merge(feeds::router())
        .route("/robots.txt", get(headers::robots))
        .route("/favicon.ico", get(headers::favicon))
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics::metrics))
        .route("/media/{sha256}", get(media))
        .route("/.well-known/webfinger", get(federation::webfinger))
        .route("/.well-known/host-meta", get(federation::host_meta))
        .route("/.well-known/nodeinfo", get(federation::nodeinfo_links))
        .route("/nodeinfo/2.1", get(federation::nodeinfo))
        .route("/api/v1/instance/peers", get(federation::peers))
        .route("/actor", get(federation::instance_actor))
        .merge(
            // The documents that `federation.require_signed_fetch` keeps to signed requests.
            // The instance actor stays public: other servers read its key to verify the
            // fetches it signs.
            Router::new()
                .route("/actor/outbox", get(federation::instance_outbox))
                .route("/actor/followers", get(federation::instance_followers))
                .route("/actor/following", get(federation::instance_following))
                .route("/poles/{slug}", get(federation::pole))
                .route("/poles/{slug}/outbox", get(federation::outbox))
                .route("/poles/{slug}/followers", get(federation::pole_followers))
                .route("/poles/{slug}/following", get(federation::pole_following))
                .route("/projects/{id}", get(federation::project_document))
                .route("/events/{id}", get(federation::event_document))
                .route("/calls/{id}", get(federation::call_document))
                .route("/themes/{id}", get(federation::theme))
                .route_layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    federation::signed_fetch,
                )),
        )
        .merge(
            Router::new()
                .route("/inbox", axum::routing::post(federation::shared_inbox))
                .route(
                    "/actor/inbox",
                    axum::routing::post(federation::shared_inbox),
                )
                .route(
                    "/poles/{slug}/inbox",
                    axum::routing::post(federation::pole_inbox),
                )
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::federation::fetch::client::MAX_BODY,
                )),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn(pages::i18n::scope))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::secure,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::map_response(json_client_errors))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The administration is never shown inside a frame, where a click could be lured onto one
/// of its buttons: its content security policy says `frame-ancestors 'none'`
/// ([`headers::secure`]), and this says the same to browsers that do not read it.
fn not_framed() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"))
}

/// Errors raised by axum itself (a path segment of the wrong type, a method not allowed)
/// get the same JSON body as the API's own.
async fn json_client_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let media = v.split(';').next().unwrap_or_default().trim();
            media.ends_with("/json") || media.ends_with("+json")
        });
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !status.is_client_error() || is_json || is_html {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let message = String::from_utf8_lossy(&text).trim().to_owned();
    let message = if message.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("client error")
            .to_owned()
    } else {
        message
    };
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        _ => "bad_request",
    };
    let mut json = axum::Json(error::ErrorBody {
        error: code,
        message,
        fields: Vec::new(),
    })
    .into_response();
    *json.status_mut() = status;
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().insert(name.clone(), value.clone());
        }
    }
    json
}

/// Nothing here: a page for browsers, JSON for the rest.
async fn not_found(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let error = ApiError::Refused(
        error::Refusal::NotFound,
        crate::domain::Message::new(crate::domain::Code::NoPage).arg("value", uri.path()),
    );
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html {
        let c = pages::Ctx::build(&state, &headers, &uri).await;
        return pages::error_page(&c, error);
    }
    error.into_response()
}

/// Liveness: the process answers. Nothing else is asked, so that a slow database does
/// not get a live process restarted.
async fn health() -> &'static str {
    "ok"
}

/// Readiness: the database answers and every migration this version knows is applied;
/// otherwise `503` with what is wrong, so that a proxy or an orchestrator sends no traffic.
async fn ready(State(state): State<AppState>) -> Response {
    // The reason is for whoever runs the instance; the database's own error is logged only.
    let unready = |reason: String| {
        tracing::warn!(%reason, "not ready");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"ready": false, "reason": reason})),
        )
            .into_response()
    };
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "the database does not answer");
        return unready("the database does not answer".into());
    }
    match state.store.migration_status().await {
        Ok((applied, 0)) => axum::Json(serde_json::json!({
            "ready": true,
            "migrations": {"applied": applied, "pending": 0}
        }))
        .into_response(),
        Ok((applied, pending)) => unready(format!(
            "{pending} migrations are pending ({applied} applied): run `maillage migrate`"
        )),
        Err(e) => {
            tracing::warn!(error = %e, "the migrations cannot be read");
            unready("the migrations cannot be read".into())
        }
    }
}

/// Serves an uploaded image; its address contains its hash, so it can be cached for ever.
async fn media(
    State(state): State<AppState>,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound("image".into()));
    }
    let (content_type, bytes) = state.store.media(&sha256.to_ascii_lowercase()).await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// Opens the database, migrates it, and serves until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> Result<(), crate::Error> {
    let store = Store::connect(&config).await?;
    store.migrate().await?;
    store.ensure_instance("Maillage").await?;
    // The territory reference is read now (a few milliseconds, about 150 KiB), not by the
    // first request that validates or indexes a place.
    crate::domain::territory_ref::Reference::get();
    let addr = config.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| crate::Error::Listen(addr.to_string(), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| crate::Error::Listen(addr.to_string(), e))?;
    let tls = config.tls.clone();
    tracing::info!(listen = %local, https = tls.enabled(), public_url = %config.public_url, backend = ?store.backend(), "maillage is serving");
    let state = AppState::new(store.clone(), config)?;
    // The stored blocks hold from the first request on.
    crate::federation::blocks::reload(&state.fed).await?;
    let background = Background::start(&state);
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = if tls.enabled() {
        match tls::listener_for(listener, &tls) {
            Ok(listener) => {
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown_signal())
                    .await
            }
            Err(e) => Err(e),
        }
    } else {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
    }
    .map_err(|e| crate::Error::Listen(addr.to_string(), e));
    background.stop().await;
    served?;
    tracing::info!("stopped");
    store.close().await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
