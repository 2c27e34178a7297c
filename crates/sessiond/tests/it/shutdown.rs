//! Stopping without dropping work: SIGTERM under keep-alive load.
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::CONNECTION;
use reqwest::StatusCode;

use crate::cli::{cli, json, serve};
use crate::remote::Remote;
use crate::support::{s, TestClient, TestData};

const ISSUER: &str = "http://sessiond.test";
const CLIENTS: usize = 8;

/// What one keep-alive client saw.
#[derive(Default)]
struct Seen {
    answers: usize,
    /// A response asked it to close the connection: it moved on, as a
    /// client behind a load balancer would.
    told_to_close: bool,
    /// Requests that got no response (the connection closed under them).
    dropped: Vec<String>,
}

/// SIGTERM while 8 keep-alive clients issue and revoke tokens: `/readyz`
/// turns 503 at once, the server keeps answering through the drain period
/// with `Connection: close`, no client sees a connection closed without a
/// response, the process exits 0, and every revocation answered 200 is in
/// force after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_keep_alive_clients_without_dropping_a_request() {
    let dir = TestData::new().await;
    assert!(cli(&dir, &["--issuer", ISSUER, "init"]).status.success());
    let registered = json(&cli(&dir, &["client", "add", "app", "--grant", "client_credentials", "--json"]));
    let client = TestClient { id: s(&registered, "client_id"), secret: s(&registered, "client_secret") };
    let start = |drain: &str| {
        let drain = drain.to_owned();
        serve(&dir, move |c: &mut Command| {
            c.args(["--issuer", ISSUER, "--shutdown-drain", &drain]);
        })
    };
    let mut server = start("1s");
    let base = server.base.clone();

    let revoked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        // One connection each, kept alive between requests.
        let http = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
        let remote = Remote { base: base.clone(), client: client.clone(), http };
        let (revoked, stop) = (revoked.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut seen = Seen::default();
            let mut token: Option<String> = None;
            while !stop.load(Ordering::Relaxed) {
                // Alternately: issue a token, revoke the one issued.
                let (path, form) = match &token {
                    None => ("/oauth2/token", vec![("grant_type", "client_credentials".to_owned())]),
                    Some(t) => ("/oauth2/revoke", vec![("token", t.clone())]),
                };
                let sent = remote
                    .http
                    .post(format!("{}{path}", remote.base))
                    .basic_auth(&remote.client.id, Some(&remote.client.secret))
                    .form(&form)
                    .send()
                    .await;
                let response = match sent {
                    Ok(r) => r,
                    Err(e) => {
                        seen.dropped.push(format!("{path}: {e:?}"));
                        return seen;
                    }
                };
                let close = response.headers().get(CONNECTION).is_some_and(|v| v == "close");
                let status = response.status();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                assert_eq!(status, StatusCode::OK, "{path}: {body}");
                seen.answers += 1;
                token = match token.take() {
                    None => Some(s(&body, "access_token")),
                    Some(t) => {
                        revoked.lock().unwrap().push(t);
                        None
                    }
                };
                if close {
                    seen.told_to_close = true;
                    return seen;
                }
            }
            seen
        }));
    }

    tokio::time::sleep(Duration::from_millis(500)).await;
    let signalled = Instant::now();
    assert!(Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap().success());
    // Not ready at once, while it still answers.
    let probe = reqwest::Client::new();
    let mut draining = false;
    while signalled.elapsed() < Duration::from_millis(800) {
        let r = probe.get(format!("{base}/readyz")).send().await.unwrap();
        if r.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(r.headers().get(CONNECTION).unwrap(), "close");
            assert_eq!(r.json::<serde_json::Value>().await.unwrap()["status"], "draining");
            draining = true;
            break;
        }
    }
    assert!(draining, "/readyz did not turn 503 within the drain period");
    // A new connection during the drain is still served, and told to close.
    let r = probe.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!((r.status(), r.headers().get(CONNECTION).unwrap().to_str().unwrap()), (StatusCode::OK, "close"));

    let mut answers = 0;
    for c in clients {
        let seen = c.await.unwrap();
        assert!(seen.dropped.is_empty(), "a request got no response: {:?}", seen.dropped);
        assert!(seen.told_to_close, "a keep-alive client was never told to close");
        answers += seen.answers;
    }
    stop.store(true, Ordering::Relaxed);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(signalled.elapsed() < Duration::from_secs(20), "the server did not exit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status}");
    assert!(signalled.elapsed() >= Duration::from_secs(1), "exited before the drain period ended");
    // After the drain, the port refuses connections (it does not hang).
    assert!(probe.get(format!("{base}/healthz")).send().await.is_err());

    let revoked = revoked.lock().unwrap().clone();
    assert!(answers > 0 && !revoked.is_empty());
    let server = start("0s");
    let remote = Remote::new(&server.base, &client);
    for t in &revoked {
        assert!(!remote.active(t).await, "a revocation answered 200 before SIGTERM was lost");
    }
}
