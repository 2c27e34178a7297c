//! SQLite WAL checkpoints, off the commit path.
//!
//! By default SQLite checkpoints inside whichever commit pushes the WAL past
//! 1,000 pages: that commit copies the WAL back into the database and
//! fsyncs it, and every request in its batch waits (a p99 spike every few
//! thousand writes). Autocheckpointing is off on every connection
//! (`wal_autocheckpoint = 0`) and this task checkpoints instead, `PASSIVE`:
//! it copies what no reader still needs without taking the write lock, so
//! the writer commits meanwhile. Once a checkpoint has caught up, the next
//! commit starts the WAL again from its beginning, so the file stays small.
//!
//! If readers kept a passive checkpoint from ever catching up, the WAL would
//! grow without bound; past `WAL_LIMIT_PAGES` a `TRUNCATE` checkpoint waits
//! for them (and briefly holds writers) and shrinks the file.
use std::time::Duration;

use sqlx::{AnyPool, Row};

/// How often the WAL is checkpointed.
const INTERVAL: Duration = Duration::from_millis(500);
/// A WAL this long (pages of 4 KiB: 64 MiB) is checkpointed even if that
/// must wait for readers and writers.
const WAL_LIMIT_PAGES: i64 = 16_384;

/// Starts the checkpointer of a store's pool; it ends when the pool closes.
pub(super) fn spawn(pool: AnyPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut mode = "PASSIVE";
        while !pool.is_closed() {
            tick.tick().await;
            mode = match checkpoint(&pool, mode).await {
                Ok(wal_pages) if wal_pages > WAL_LIMIT_PAGES => "TRUNCATE",
                Ok(_) => "PASSIVE",
                Err(e) => {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                    "PASSIVE"
                }
            };
        }
    });
}

/// Runs one checkpoint; returns the WAL's length in pages before it.
async fn checkpoint(pool: &AnyPool, mode: &str) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(&format!("PRAGMA wal_checkpoint({mode})")).fetch_one(pool).await?;
    row.try_get::<i64, _>(1)
}
