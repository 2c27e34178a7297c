//! The guard's background work: following sessiond's revocation feed into
//! the validator's index, keeping the keys fresh, and pruning.
//!
//! Following is a loop of connections. Each one first asks for a snapshot
//! of every entry after the guard's position in the log (everything, the
//! first time) — that answer confirms the index current — then opens the
//! event stream with `Last-Event-ID` set to the same position, so nothing
//! that happens between the two is missed, and applies each entry as it
//! arrives. Events and heartbeats keep the index confirmed; a stream
//! silent for longer than the staleness bound (and at least two
//! heartbeats) is dropped. Any failure waits a growing, jittered delay and
//! starts a new connection from the position reached.
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CACHE_CONTROL};
use reqwest::StatusCode;

use super::backoff::Backoff;
use super::feed::{parse_snapshot, stream_item, StreamItem};
use super::fetch::{get_body, FetchError, REQUEST_TIMEOUT, SNAPSHOT_CAP};
use super::sse::SseParser;
use super::{unix_now, Shared};

/// The snapshot endpoint, under the issuer.
const SNAPSHOT_PATH: &str = "/api/v1/revocations";
/// The stream endpoint, under the issuer.
const STREAM_PATH: &str = "/api/v1/revocations/stream";
/// sessiond's heartbeat interval on the stream.
pub(crate) const SERVER_HEARTBEAT: Duration = Duration::from_secs(5);
/// First and largest delay between reconnection attempts.
const RECONNECT_FIRST: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(5);
/// First and largest delay between attempts to load keys that failed.
const KEYS_RETRY_FIRST: Duration = Duration::from_millis(500);
const KEYS_RETRY_MAX: Duration = Duration::from_secs(30);
/// How often entries that no longer matter are dropped.
const PRUNE_EVERY: Duration = Duration::from_secs(30);

/// Follows the feed for ever (until the task is aborted).
pub(crate) async fn follow(shared: Arc<Shared>) {
    let mut backoff = Backoff::new(RECONNECT_FIRST, RECONNECT_MAX);
    let mut failures = 0u32;
    loop {
        let mut streaming = false;
        let outcome = follow_once(&shared, &mut streaming).await;
        // Only a stream that opened counts as a connection that worked: a
        // snapshot alone must not reset the back-off, or a stream endpoint
        // that keeps failing would cost a snapshot every 100 ms.
        if streaming {
            if failures > 0 {
                tracing::info!(position = shared.position(), "following sessiond's revocation feed again");
            }
            failures = 0;
            backoff.reset();
        }
        match outcome {
            Ok(()) => tracing::debug!("sessiond ended the revocation stream; reconnecting"),
            Err(e) => {
                failures += 1;
                // The first failure is news; the rest of an outage is not.
                if failures == 1 {
                    tracing::warn!(error = %e, "lost sessiond's revocation feed; reconnecting");
                } else {
                    tracing::debug!(error = %e, failures, "revocation feed still unreachable");
                }
            }
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// One connection: snapshot, then the stream until it ends or fails.
/// `streaming` is set once the stream has opened.
async fn follow_once(shared: &Shared, streaming: &mut bool) -> Result<(), FetchError> {
    let o = &shared.options;
    let since = shared.position();
    let url = format!("{}?since={since}", o.url(SNAPSHOT_PATH));
    let request = shared.http.get(&url).basic_auth(&o.client_id, Some(&o.client_secret));
    let snapshot = parse_snapshot(&get_body(request, &url, SNAPSHOT_CAP).await?)?;
    shared.validator.apply(&snapshot.entries);
    shared.advance(snapshot.position);
    shared.freshness.confirm(Instant::now());

    let url = o.url(STREAM_PATH);
    let request = shared
        .http
        .get(&url)
        .basic_auth(&o.client_id, Some(&o.client_secret))
        .header(ACCEPT, "text/event-stream")
        .header(CACHE_CONTROL, "no-cache")
        .header("Last-Event-ID", shared.position().to_string());
    let mut response = tokio::time::timeout(REQUEST_TIMEOUT, request.send())
        .await
        .map_err(|_| FetchError::NoAnswer(url.clone()))??;
    if response.status() != StatusCode::OK {
        return Err(FetchError::Status { url, status: response.status() });
    }
    *streaming = true;

    let idle = o.staleness_bound.max(2 * SERVER_HEARTBEAT);
    let mut parser = SseParser::new();
    let mut items = Vec::new();
    loop {
        let chunk = match tokio::time::timeout(idle, response.chunk()).await {
            Err(_) => return Err(FetchError::Silent(idle)),
            Ok(chunk) => chunk?,
        };
        let Some(chunk) = chunk else { return Ok(()) };
        parser.push(&chunk, &mut items)?;
        if items.is_empty() {
            // Part of an event; it proves nothing until it is whole.
            continue;
        }
        let mut batch = Vec::new();
        for item in items.drain(..) {
            if let StreamItem::Revocation(r) = stream_item(item)? {
                batch.push(r);
            }
        }
        if let Some(last) = batch.last().map(|r| r.seq) {
            shared.validator.apply(&batch);
            shared.advance(last);
        }
        // Applied first, confirmed after: an event or a heartbeat means
        // everything sessiond had read before it has been sent.
        shared.freshness.confirm(Instant::now());
    }
}

/// Loads the keys, retrying until it works, then refreshes them routinely.
pub(crate) async fn keep_keys(shared: Arc<Shared>) {
    let mut backoff = Backoff::new(KEYS_RETRY_FIRST, KEYS_RETRY_MAX);
    loop {
        let wait = match shared.load_keys().await {
            Ok(count) => {
                tracing::debug!(keys = count, "loaded sessiond's keys");
                backoff.reset();
                shared.options.jwks_refresh
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not fetch sessiond's keys");
                backoff.next_delay()
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// Drops index entries no token can need any more: an entry's
/// `expires_at` is the latest `exp` it covers, and tokens are accepted up
/// to the leeway past `exp`.
pub(crate) async fn prune(shared: Arc<Shared>) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let dropped = shared.validator.prune(unix_now().saturating_sub(shared.options.leeway_secs()));
        if dropped > 0 {
            tracing::debug!(dropped, left = shared.validator.index_len(), "pruned revocations");
        }
    }
}
