//! Following changes announced by other nodes: PostgreSQL LISTEN, with
//! reconnection. A lost connection is reported as `Resync`, because
//! announcements made meanwhile are gone; the follower then re-reads the log
//! from its last sequence number, which loses nothing.
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use super::CHANGES_CHANNEL;
use crate::store::Change;

/// Starts listening; the receiver ends when the process does.
pub fn spawn(url: &str) -> mpsc::Receiver<Change> {
    let (tx, rx) = mpsc::channel(64);
    let url = url.to_owned();
    tokio::spawn(async move {
        loop {
            if let Err(e) = listen(&url, &tx).await {
                tracing::warn!(error = %e, "lost the change feed; reconnecting");
            }
            if tx.is_closed() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    rx
}

async fn listen(url: &str, tx: &mpsc::Sender<Change>) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANGES_CHANNEL).await?;
    // Whatever was announced before this point may have been missed.
    if tx.send(Change::Resync).await.is_err() {
        return Ok(());
    }
    loop {
        let change = match listener.try_recv().await? {
            Some(n) if n.payload() == "keys" => Change::Keys,
            Some(_) => Change::Revocation,
            // The connection dropped and sqlx re-established it.
            None => Change::Resync,
        };
        if tx.send(change).await.is_err() {
            return Ok(());
        }
    }
}
