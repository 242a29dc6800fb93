//! HTTPS served by Maillage itself (`tls.certificate` and `tls.private_key`), for an instance
//! without a reverse proxy in front.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::{ListenerExt, TapIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::TlsConfig;

/// How long a client may take to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once; more wait for their turn.
const HANDSHAKES_AT_ONCE: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("both `tls.certificate` and `tls.private_key` are needed to serve HTTPS")]
    Incomplete,
    #[error("cannot read the certificate chain `{0}`: {1}")]
    Certificate(String, String),
    #[error("`{0}` holds no PEM certificate")]
    NoCertificate(String),
    #[error("cannot read the private key `{0}`: {1}")]
    Key(String, String),
    #[error("the certificate and the private key cannot be used together: {0}")]
    Mismatch(String),
}

impl TlsError {
    /// The setting a person would change to fix it.
    pub fn setting(&self) -> &'static str {
        match self {
            TlsError::Key(..) => "tls.private_key",
            _ => "tls.certificate",
        }
    }
}

/// The server's TLS configuration, from its PEM files; HTTP/1.1 only, as the server speaks.
pub fn server_config(tls: &TlsConfig) -> Result<rustls::ServerConfig, TlsError> {
    let (Some(cert_path), Some(key_path)) = (&tls.certificate, &tls.private_key) else {
        return Err(TlsError::Incomplete);
    };
    let chain = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| TlsError::Certificate(cert_path.clone(), e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificate(cert_path.clone(), e.to_string()))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(cert_path.clone()));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| TlsError::Key(key_path.clone(), e.to_string()))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Mismatch(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Serves `app` over HTTPS on `listener` until the listener fails.
pub async fn serve_tls(
    listener: TcpListener,
    app: axum::Router,
    tls: &TlsConfig,
) -> io::Result<()> {
    axum::serve(
        listener_for(listener, tls)?,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

/// A listener speaking TLS. Wrapped in axum's `TapIo` (with nothing to do), which gives
/// requests the client's address (`ConnectInfo<SocketAddr>`) as a plain listener does.
pub type HttpsListener = TapIo<TlsListener, fn(&mut TlsStream<TcpStream>)>;

/// `listener`, speaking TLS with the configured certificate.
pub fn listener_for(listener: TcpListener, tls: &TlsConfig) -> io::Result<HttpsListener> {
    let config = server_config(tls).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let untouched: fn(&mut TlsStream<TcpStream>) = |_| {};
    Ok(TlsListener::new(listener, TlsAcceptor::from(Arc::new(config))).tap_io(untouched))
}

/// Accepts TCP connections and hands over those whose handshake succeeded; handshakes run
/// apart from the accepting, so that a slow client holds up no other.
pub struct TlsListener {
    local: SocketAddr,
    ready: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    fn new(listener: TcpListener, acceptor: TlsAcceptor) -> TlsListener {
        let local = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (sender, ready) = tokio::sync::mpsc::channel(64);
        let slots = Arc::new(tokio::sync::Semaphore::new(HANDSHAKES_AT_ONCE));
        let accepting = tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, mostly: wait rather than spin.
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (acceptor, sender) = (acceptor.clone(), sender.clone());
                tokio::spawn(async move {
                    let _slot = slot;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = sender.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        TlsListener {
            local,
            ready,
            accepting,
        }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task ended (the listener failed): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}
