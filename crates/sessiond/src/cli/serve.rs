//! `sessiond serve`.
use std::sync::Arc;

use tokio::net::TcpListener;

use super::{bootstrap, CliError};
use crate::app::App;
use crate::http;

/// Binds, prints how to use the server, and serves until SIGINT/SIGTERM.
///
/// Stopping is the way a node leaves a load balancer without dropping work:
/// at the signal `/readyz` turns 503 and every response closes its
/// connection; the node serves on for `shutdown_drain`, then stops
/// accepting and waits (at most `shutdown_timeout`) for requests in flight;
/// then the back-channel sender finishes its pass, every queued write is
/// committed and the store closed, and the process exits 0.
pub async fn serve(app: Arc<App>) -> Result<(), CliError> {
    let listener = TcpListener::bind(app.config.listen)
        .await
        .map_err(|e| CliError(format!("cannot listen on {}: {e}", app.config.listen)))?;
    let first = bootstrap::first_start(&app).await?;
    super::output::print_line(&bootstrap::banner(&app.config.issuer, app.config.cookies.secure, first.as_ref()));
    tracing::info!(listen = %app.config.listen, issuer = %app.config.issuer, "serving");

    if app.config.metrics {
        crate::observe::handle();
        crate::observe::spawn_upkeep();
    }
    if let Some(addr) = app.config.metrics_listen {
        let metrics = TcpListener::bind(addr).await.map_err(|e| CliError(format!("cannot listen on {addr}: {e}")))?;
        tracing::info!(metrics_listen = %addr, "serving /metrics");
        let router = http::metrics_router(Arc::clone(&app));
        tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics, router).await {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    crate::revocation::spawn_background(Arc::clone(&app));
    let sender = crate::notify::spawn_logout_sender(Arc::clone(&app));
    crate::mirror::spawn(Arc::clone(&app));

    let limits = http::ServeLimits::from_config(&app.config);
    let drain = {
        let app = Arc::clone(&app);
        async move {
            shutdown_signal().await;
            app.start_draining();
            tracing::info!(drain = ?app.config.shutdown_drain, "draining: not ready, closing connections");
            tokio::time::sleep(app.config.shutdown_drain).await;
        }
    };
    http::serve(listener, http::router(Arc::clone(&app)), limits, drain).await.map_err(CliError::from_display)?;
    // Every request has been answered: tell the applications of the
    // sessions that ended meanwhile. A delivery cut off here keeps its
    // lease and is retried when it runs out, by this node or another.
    sender.abort();
    if tokio::time::timeout(app.config.shutdown_timeout, crate::notify::last_pass(&app)).await.is_err() {
        tracing::warn!("back-channel logouts still being sent at shutdown; they stay queued");
    }
    app.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}
