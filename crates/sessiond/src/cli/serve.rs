//! `sessiond serve`.
use std::sync::Arc;

use tokio::net::TcpListener;

use super::{bootstrap, CliError};
use crate::app::App;
use crate::http;

/// Binds, prints how to use the server, and serves until SIGINT/SIGTERM.
pub async fn serve(app: Arc<App>) -> Result<(), CliError> {
    let listener = TcpListener::bind(app.config.listen)
        .await
        .map_err(|e| CliError(format!("cannot listen on {}: {e}", app.config.listen)))?;
    let first = bootstrap::first_start(&app).await?;
    super::output::print_line(&bootstrap::banner(&app.config.issuer, app.config.cookies.secure, first.as_ref()));
    tracing::info!(listen = %app.config.listen, issuer = %app.config.issuer, "serving");

    crate::revocation::spawn_background(Arc::clone(&app));
    crate::notify::spawn_logout_sender(Arc::clone(&app));
    crate::mirror::spawn(Arc::clone(&app));

    let limits = http::ServeLimits::from_config(&app.config);
    http::serve(listener, http::router(app), limits, shutdown_signal()).await.map_err(CliError::from_display)
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
