//! The Redis follower of the revocation log. It keeps its position in Redis
//! itself (`sessiond:mirror:seq`), so it resumes where the mirror left off
//! after a restart of this process, picks up after a Redis outage, and
//! starts again from the beginning of the log when Redis has lost its data
//! (the position went with the keys).
//!
//! Each round, on one connection of its own:
//!
//! 1. `WATCH sessiond:mirror:seq` and `GET` it: the position `p`;
//! 2. read the log after `p` from the store, up to this process's own log
//!    position (everything below it has been read without gaps, so the
//!    mirror never gets ahead of what the index holds);
//! 3. `MULTI`, one `SET key value EX ttl` per entry still live, `SET
//!    sessiond:mirror:seq` to the last entry, `EXEC`.
//!
//! `EXEC` fails as a whole if another node moved the position meanwhile
//! (`WATCH`); the round then starts again from the new position. So with
//! several nodes mirroring into one Redis the writes still land in log
//! order and the position never goes back, and the only cost of a race is
//! a batch read twice. A Redis that fails is retried with a back-off, and
//! nothing here can hold up a revocation: this task only reads the log.
use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use sessiond_guard::Revocation;
use tokio::sync::broadcast::error::RecvError;

use super::entry::deny_entry;
use crate::app::App;
use crate::secrets::Secret;
use crate::store::StoreError;

/// Where the mirror keeps its position in the log.
pub const POSITION_KEY: &str = "sessiond:mirror:seq";
/// Log entries per transaction.
const BATCH: u32 = 500;
/// How often Redis is looked at when no revocation wakes the mirror: the
/// longest a Redis that restarted empty waits to be filled again.
const POLL: Duration = Duration::from_secs(1);
/// First and longest wait after a failure.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Redis answers a transaction of a batch in microseconds; far longer
/// means it is gone, and the connection is dropped and made again.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a round failed.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("reading the revocation log: {0}")]
    Store(#[from] StoreError),
}

/// What a round did.
enum Round {
    /// Redis holds every entry up to this process's log position.
    CaughtUp,
    /// Entries written; there may be more.
    Wrote(usize),
    /// Another node moved the position first.
    Raced,
}

/// Mirrors the log to the Redis at `url` until the process ends.
pub async fn run(app: Arc<App>, url: Secret) {
    let client = match redis::Client::open(url.expose()) {
        Ok(client) => client,
        Err(e) => {
            // The scheme was checked when the configuration was read; what
            // is left (a bad port, say) stops the mirror, not the server.
            tracing::error!(error = %e, "redis_url: the Redis denylist bridge is off");
            return;
        }
    };
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT));
    let mut wake = app.subscribe_log();
    let mut conn: Option<MultiplexedConnection> = None;
    let mut failures: u32 = 0;
    let mut written_since_failure = 0usize;
    loop {
        let result = match conn.as_mut() {
            Some(c) => round(&app, c).await,
            None => match client.get_multiplexed_async_connection_with_config(&config).await {
                Ok(c) => {
                    conn = Some(c);
                    continue;
                }
                Err(e) => Err(RoundError::Redis(e)),
            },
        };
        match result {
            Ok(Round::Wrote(n)) => written_since_failure += n,
            Ok(Round::Raced) => {}
            Ok(Round::CaughtUp) => {
                if failures > 0 {
                    tracing::info!(entries = written_since_failure, "Redis denylist caught up");
                }
                failures = 0;
                written_since_failure = 0;
                wait_for_entries(&mut wake).await;
            }
            Err(e) => {
                if matches!(e, RoundError::Redis(_)) {
                    // Whatever state the connection is in (a WATCH pending,
                    // a half-read answer), a new one starts clean.
                    conn = None;
                }
                if failures % 10 == 0 {
                    tracing::warn!(error = %e, failures = failures + 1, "Redis denylist behind; retrying");
                }
                failures = failures.saturating_add(1);
                written_since_failure = 0;
                tokio::time::sleep(backoff(failures)).await;
            }
        }
    }
}

/// Until the log follower reads new entries, or the poll interval passes.
async fn wait_for_entries(wake: &mut tokio::sync::broadcast::Receiver<Revocation>) {
    tokio::select! {
        received = wake.recv() => {
            if let Err(RecvError::Closed) = received {
                // The application is going away: keep to the poll.
                tokio::time::sleep(POLL).await;
            }
        }
        () = tokio::time::sleep(POLL) => {}
    }
}

/// 0.1 s doubling to 5 s: a short blip costs little, a Redis that is down
/// is asked about every few seconds, never in a tight loop.
fn backoff(failures: u32) -> Duration {
    MIN_BACKOFF.saturating_mul(1u32 << failures.saturating_sub(1).min(6)).min(MAX_BACKOFF)
}

/// One round: see the module documentation.
async fn round(app: &App, conn: &mut MultiplexedConnection) -> Result<Round, RoundError> {
    let (position,): (Option<i64>,) =
        redis::pipe().cmd("WATCH").arg(POSITION_KEY).ignore().cmd("GET").arg(POSITION_KEY).query_async(conn).await?;
    let mut position = position.unwrap_or(0).max(0);
    let read_up_to = app.log_position();
    if position >= read_up_to {
        // Another node may be ahead of this one, which is fine. But a
        // position past every entry the store has ever held belongs to
        // another log (a new database behind an old Redis): start over.
        if position == 0 || position <= app.store.last_revocation_seq().await?.max(read_up_to) {
            redis::cmd("UNWATCH").exec_async(conn).await?;
            return Ok(Round::CaughtUp);
        }
        tracing::warn!(position, "the Redis denylist is ahead of this log; mirroring it again from the start");
        position = 0;
    }
    let page = app.store.revocations_after(position, BATCH).await?;
    let full = page.len() == BATCH as usize;
    let page: Vec<Revocation> = page.into_iter().filter(|r| r.seq <= read_up_to).collect();
    // A full page ends at its last entry; otherwise everything up to the
    // read position has been seen (the rest was pruned: it had expired).
    let next = match page.last() {
        Some(last) if full => last.seq,
        _ => read_up_to,
    };
    let now = app.clock.now();
    let leeway = app.config.clock_skew;
    let mut tx = redis::pipe();
    tx.atomic();
    let mut written = 0;
    for entry in page.iter().filter_map(|r| deny_entry(r, now, leeway)) {
        tx.cmd("SET").arg(entry.key).arg(entry.value).arg("EX").arg(entry.ttl_secs).ignore();
        written += 1;
    }
    tx.cmd("SET").arg(POSITION_KEY).arg(next);
    let reply: redis::Value = tx.query_async(conn).await?;
    if matches!(reply, redis::Value::Nil) {
        return Ok(Round::Raced);
    }
    Ok(Round::Wrote(written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_tenth_of_a_second_to_five() {
        let waits: Vec<u128> = (1..=8).map(|n| backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
