//! The accept loop. axum's own `serve` cannot limit the request head, so
//! connections are served by hyper directly: a head larger than the limit is
//! answered `431 Request Header Fields Too Large` by hyper itself, and a head
//! not complete within ten seconds ends its connection.
//!
//! Connections are capped: each holds a permit for as long as it lives, and
//! at the cap the loop stops accepting until one ends. Clients beyond it
//! wait in the kernel's listen backlog, where they cost this process no
//! descriptor, instead of taking the last ones the database and the next
//! health check need.
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::log_throttle::LogThrottle;
use super::open_files;
use crate::config::Config;

/// Most header fields in one request.
const MAX_HEADERS: usize = 100;
/// Longest a request head may take to arrive.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a failed accept (out of descriptors and the like).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// At most one warning this often for a condition that can repeat many
/// times a second.
const WARN_EVERY: Duration = Duration::from_secs(5);

/// How much the server takes on at once.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Largest request head, in bytes.
    pub max_header_bytes: usize,
    /// Most connections served at once.
    pub max_connections: usize,
    /// Longest to wait for requests in flight once accepting stops.
    pub shutdown_timeout: Duration,
}

impl ServeLimits {
    /// The limits `config` asks for. Raises the process's open-file limit
    /// as far as allowed first, since the default connection cap follows
    /// from it.
    pub fn from_config(config: &Config) -> ServeLimits {
        let soft = open_files::raise_soft_limit();
        tracing::debug!(open_files = ?soft, "open-file limit");
        let max_connections = match config.max_connections {
            Some(n) => {
                let needed = u64::try_from(n).unwrap_or(u64::MAX).saturating_add(open_files::RESERVED);
                if let Some(soft) = soft.filter(|&soft| needed > soft) {
                    tracing::warn!(
                        max_connections = n,
                        open_files = soft,
                        "max_connections leaves too few descriptors for the database and files"
                    );
                }
                n
            }
            None => open_files::default_cap(soft),
        };
        ServeLimits {
            max_header_bytes: config.max_header_bytes,
            max_connections,
            shutdown_timeout: config.shutdown_timeout,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops
/// accepting, closes idle connections and lets requests in flight finish
/// (up to `limits.shutdown_timeout`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.max_buf_size(limits.max_header_bytes.max(8192))
        .max_headers(MAX_HEADERS)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let max_connections = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut accept_errors = LogThrottle::new(WARN_EVERY);
    let mut at_cap = LogThrottle::new(WARN_EVERY);
    tracing::info!(max_connections, "accepting connections");
    tokio::pin!(shutdown);
    loop {
        if slots.available_permits() == 0 {
            if let Some(suppressed) = at_cap.occurred(Instant::now()) {
                tracing::warn!(max_connections, suppressed, "at the connection limit; new connections wait");
            }
        }
        // A slot before a connection: at the cap nothing more is accepted.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break, // closed: never, the loop owns the semaphore
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off, go on,
                    // and say so without writing twenty lines a second.
                    if let Some(suppressed) = accept_errors.occurred(Instant::now()) {
                        tracing::warn!(error = %e, suppressed, "accept failed");
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = router.clone().map_request(move |mut req: axum::http::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            req
        });
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    // New connections are refused from here on, not left in the backlog.
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_timeout) => tracing::warn!("requests still in flight at shutdown"),
    }
    Ok(())
}
