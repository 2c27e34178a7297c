//! Prometheus metrics, through the `metrics` facade and the Prometheus
//! exporter's recorder (text exposition format, rendered by `GET /metrics`).
//!
//! Names follow Prometheus conventions: the `sessiond_` prefix, `_total` for
//! counters, base units (`_seconds`, `_bytes`). Labels have few values each
//! (route templates, never paths; grant types; reasons), so the series stay
//! bounded whatever clients send. Counting costs a hash look-up and an
//! atomic add; gauges that need the database (active sessions, pending
//! back-channel logouts) are read at most every `DB_GAUGE_TTL`, at scrape.
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Counter, Histogram, Unit,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sessiond_guard::Revocation;

use crate::app::App;
use crate::domain::EndReason;

/// How stale the gauges read from the database may be.
const DB_GAUGE_TTL: Duration = Duration::from_secs(10);
/// Resident memory per revocation index entry, measured at 1M entries
/// (BENCHMARKS.md): the index's memory estimate.
const INDEX_BYTES_PER_ENTRY: u64 = 73;

/// Latency buckets, in seconds: 100 µs to 5 s.
const LATENCY_BUCKETS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// Writes per group-commit batch (the batch holds at most 256).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The process's recorder, once installed.
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Whether metrics are kept: the recorder is installed (`metrics = true`,
/// the default). Until it is, every counter and histogram of the `metrics`
/// macros goes to its no-op recorder, and the per-request counting is
/// skipped altogether.
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

/// The process's recorder, installed at the first call (tests build many
/// apps in one process; they share it).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full("sessiond_store_batch_writes".into()), BATCH_BUCKETS));
        let recorder = match builder {
            Ok(b) => b.build_recorder(),
            // Only on empty bucket lists, which these are not.
            Err(_) => PrometheusBuilder::new().build_recorder(),
        };
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only this one's");
        }
        describe();
        handle
    })
}

fn describe() {
    describe_counter!("sessiond_http_requests_total", "HTTP requests answered, by route template and status");
    describe_histogram!("sessiond_http_request_duration_seconds", Unit::Seconds, "HTTP request latency by route");
    describe_counter!("sessiond_tokens_issued_total", "Access tokens issued, by grant type");
    describe_counter!("sessiond_revocations_total", "Revocations written by this node, by kind");
    describe_counter!("sessiond_sessions_started_total", "Sessions opened by this node");
    describe_counter!("sessiond_sessions_ended_total", "Sessions ended by this node, by reason");
    describe_gauge!("sessiond_sessions_active", "Live sessions in the store (read at most every 10 s)");
    describe_gauge!("sessiond_revocation_index_entries", "Entries in this node's revocation index");
    describe_gauge!("sessiond_revocation_index_bytes", Unit::Bytes, "Estimated memory of the revocation index");
    describe_gauge!("sessiond_revocation_log_seq", "Highest revocation log sequence this node has read");
    describe_gauge!(
        "sessiond_revocation_lag_seconds",
        Unit::Seconds,
        "Time since the index was last confirmed current (readyz fails past max_revocation_lag)"
    );
    describe_histogram!("sessiond_store_batch_writes", "Writes committed together per group-commit batch");
    describe_histogram!("sessiond_store_batch_seconds", Unit::Seconds, "Time to run and commit one batch");
    describe_counter!("sessiond_store_batches_failed_total", "Group-commit batches that could not be committed");
    describe_counter!("sessiond_logout_deliveries_total", "Back-channel logout attempts, by outcome");
    describe_gauge!("sessiond_logout_deliveries_pending", "Back-channel logouts not yet delivered or given up");
}

/// Starts draining the histograms' recorded samples into their buckets
/// every few seconds. The exporter keeps each sample until then (or until
/// a scrape), so without this a server nobody scrapes would grow without
/// bound.
pub fn spawn_upkeep() {
    tokio::spawn(async {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle().run_upkeep();
        }
    });
}

/// One answered HTTP request.
pub fn http_request(route: &'static str, status: u16, latency: Duration) {
    if !enabled() {
        return;
    }
    // The status as one of a fixed set of strings: no allocation per request.
    let (requests, latencies) = route_metrics(route, status_label(status));
    requests.increment(1);
    latencies.record(latency.as_secs_f64());
}

/// The request counter and latency histogram of a route and status, looked
/// up in the recorder once and then kept: a look-up by name and labels
/// hashes their text each time, this one two pointers (route templates are
/// interned, status labels are constants).
fn route_metrics(route: &'static str, status: &'static str) -> (Counter, Histogram) {
    type Key = (usize, usize);
    static KNOWN: OnceLock<RwLock<HashMap<Key, (Counter, Histogram)>>> = OnceLock::new();
    let known = KNOWN.get_or_init(Default::default);
    let key = (route.as_ptr() as usize, status.as_ptr() as usize);
    if let Some(found) = known.read().ok().and_then(|k| k.get(&key).cloned()) {
        return found;
    }
    let made = (
        counter!("sessiond_http_requests_total", "route" => route, "status" => status),
        histogram!("sessiond_http_request_duration_seconds", "route" => route),
    );
    if let Ok(mut known) = known.write() {
        known.insert(key, made.clone());
    }
    made
}

fn status_label(status: u16) -> &'static str {
    // The common codes by name, the rest by class.
    #[allow(clippy::match_overlapping_arm)]
    match status {
        200 => "200",
        201 => "201",
        204 => "204",
        302 => "302",
        303 => "303",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        413 => "413",
        415 => "415",
        429 => "429",
        431 => "431",
        500 => "500",
        503 => "503",
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// An access token issued by the token endpoint.
pub fn token_issued(grant_type: &'static str) {
    counter!("sessiond_tokens_issued_total", "grant_type" => grant_type).increment(1);
}

/// Revocations this node wrote (and applied).
pub fn revocations_written(revocations: &[Revocation]) {
    for r in revocations {
        counter!("sessiond_revocations_total", "kind" => r.kind.as_str()).increment(1);
    }
}

/// A session opened.
pub fn session_started() {
    counter!("sessiond_sessions_started_total").increment(1);
}

/// Sessions ended for `reason`.
pub fn sessions_ended(reason: EndReason, count: usize) {
    if count > 0 {
        counter!("sessiond_sessions_ended_total", "reason" => reason.as_str()).increment(count as u64);
    }
}

/// One group-commit batch.
pub fn batch(writes: usize, took: Duration, committed: bool) {
    histogram!("sessiond_store_batch_writes").record(writes as f64);
    histogram!("sessiond_store_batch_seconds").record(took.as_secs_f64());
    if !committed {
        counter!("sessiond_store_batches_failed_total").increment(1);
    }
}

/// One back-channel logout attempt: `sent`, `failed` (retried) or
/// `given_up`.
pub fn delivery(outcome: &'static str) {
    counter!("sessiond_logout_deliveries_total", "outcome" => outcome).increment(1);
}

/// Refreshes the gauges, then renders every metric (text format 0.0.4).
pub async fn render(app: &App) -> String {
    let entries = app.validator.index_len() as u64;
    gauge!("sessiond_revocation_index_entries").set(entries as f64);
    gauge!("sessiond_revocation_index_bytes").set((entries * INDEX_BYTES_PER_ENTRY) as f64);
    gauge!("sessiond_revocation_log_seq").set(app.log_position() as f64);
    gauge!("sessiond_revocation_lag_seconds").set(app.revocation_lag().as_secs_f64());
    refresh_db_gauges(app).await;
    handle().render()
}

/// Reads the database gauges if the last reading is older than the TTL
/// (one scraper at a time reads; the others render the last values).
async fn refresh_db_gauges(app: &App) {
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    {
        let Ok(mut last) = LAST.lock() else { return };
        if last.is_some_and(|at| at.elapsed() < DB_GAUGE_TTL) {
            return;
        }
        *last = Some(Instant::now());
    }
    let now = app.clock.now();
    match app.store.count_live_sessions(now).await {
        Ok(n) => gauge!("sessiond_sessions_active").set(n as f64),
        Err(e) => tracing::warn!(error = %e, "could not count live sessions"),
    }
    match app.store.count_pending_deliveries().await {
        Ok(n) => gauge!("sessiond_logout_deliveries_pending").set(n as f64),
        Err(e) => tracing::warn!(error = %e, "could not count pending logouts"),
    }
}
