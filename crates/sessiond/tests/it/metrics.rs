//! `/metrics` in the Prometheus text format, read by a parser nobody here
//! wrote; request ids echoed; the metrics on a listener of their own.
use std::process::Command;

use prometheus_parse::{Scrape, Value};
use reqwest::StatusCode;

use crate::cli::{cli, free_port, json, serve};
use crate::remote::Remote;
use crate::support::{s, TestClient, TestData};

const ISSUER: &str = "http://sessiond.test";

async fn scrape(url: &str) -> Scrape {
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = r.text().await.unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("the exposition parses")
}

/// The value of the sample named `name` whose labels include `labels`
/// (0 when absent: a counter not yet incremented is not exported).
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            Value::Summary(_) => 0.0,
        })
        .sum()
}

fn provision(dir: &TestData) -> TestClient {
    assert!(cli(dir, &["--issuer", ISSUER, "init"]).status.success());
    let registered = json(&cli(dir, &["client", "add", "app", "--grant", "client_credentials", "--json"]));
    TestClient { id: s(&registered, "client_id"), secret: s(&registered, "client_secret") }
}

#[tokio::test]
async fn counters_move_as_requests_are_made() {
    let dir = TestData::new().await;
    let client = provision(&dir);
    let server = serve(&dir, |c: &mut Command| {
        c.args(["--issuer", ISSUER]);
    });
    let remote = Remote::new(&server.base, &client);
    let metrics = format!("{}/metrics", server.base);

    let before = scrape(&metrics).await;
    let tokens: Vec<String> = futures_util::future::join_all((0..3).map(|_| remote.client_token())).await;
    remote.revoke(&tokens[0]).await;
    let after = scrape(&metrics).await;

    let issued = |s: &Scrape| value(s, "sessiond_tokens_issued_total", &[("grant_type", "client_credentials")]);
    assert_eq!(issued(&after) - issued(&before), 3.0);
    let revoked = |s: &Scrape| value(s, "sessiond_revocations_total", &[("kind", "token")]);
    assert_eq!(revoked(&after) - revoked(&before), 1.0);
    let answered =
        |s: &Scrape| value(s, "sessiond_http_requests_total", &[("route", "/oauth2/token"), ("status", "200")]);
    assert_eq!(answered(&after) - answered(&before), 3.0);
    let timed = value(&after, "sessiond_http_request_duration_seconds_count", &[("route", "/oauth2/token")])
        + value(&after, "sessiond_http_request_duration_seconds", &[("route", "/oauth2/token")]);
    assert!(timed >= 3.0, "latency histogram by route");
    assert!(value(&after, "sessiond_revocation_index_entries", &[]) >= 1.0);
    assert!(value(&after, "sessiond_revocation_index_bytes", &[]) > 0.0);
    // The log position moves when the follower reads the entry back, just after.
    let mut position = value(&after, "sessiond_revocation_log_seq", &[]);
    for _ in 0..100 {
        if position >= 1.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        position = value(&scrape(&metrics).await, "sessiond_revocation_log_seq", &[]);
    }
    assert!(position >= 1.0, "the log position follows the log");
    let batches =
        value(&after, "sessiond_store_batch_writes_count", &[]) + value(&after, "sessiond_store_batch_writes", &[]);
    assert!(batches >= 1.0, "group-commit batch sizes");
    assert!(after.samples.iter().any(|s| s.metric == "sessiond_sessions_active"));
    assert!(after.samples.iter().any(|s| s.metric == "sessiond_revocation_lag_seconds"));

    // The request id: the client's, echoed; or a new one.
    let r = remote.http.get(format!("{}/healthz", server.base)).header("x-request-id", "trace-42").send().await;
    assert_eq!(r.unwrap().headers()["x-request-id"], "trace-42");
    let r = remote.http.get(format!("{}/healthz", server.base)).send().await.unwrap();
    assert!(!r.headers()["x-request-id"].is_empty());
}

#[tokio::test]
async fn metrics_can_have_a_listener_of_their_own() {
    let dir = TestData::new().await;
    provision(&dir);
    let port = free_port();
    let server = serve(&dir, |c: &mut Command| {
        c.args(["--issuer", ISSUER, "--metrics-listen", &format!("127.0.0.1:{port}")]);
    });
    let on_main = reqwest::get(format!("{}/metrics", server.base)).await.unwrap();
    assert_eq!(on_main.status(), StatusCode::NOT_FOUND, "not on the public listener");
    let own = scrape(&format!("http://127.0.0.1:{port}/metrics")).await;
    assert!(own.samples.iter().any(|s| s.metric == "sessiond_revocation_index_entries"));
}

/// `metrics = false`: nothing is counted and nothing is served; asking for
/// a metrics listener as well is a configuration error, not ignored.
#[tokio::test]
async fn metrics_can_be_turned_off() {
    let dir = TestData::new().await;
    let client = provision(&dir);
    let server = serve(&dir, |c: &mut Command| {
        c.args(["--issuer", ISSUER, "--metrics", "false"]);
    });
    let remote = Remote::new(&server.base, &client);
    assert!(!remote.client_token().await.is_empty(), "the server works without them");
    let r = reqwest::get(format!("{}/metrics", server.base)).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let mut both = Command::new(env!("CARGO_BIN_EXE_sessiond"));
    dir.configure(&mut both);
    let out = both.args(["--metrics", "false", "--metrics-listen", "127.0.0.1:1", "serve"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("metrics_listen is set but metrics are off"), "{stderr}");
}
