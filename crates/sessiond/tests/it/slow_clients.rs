//! Slow and idle clients, over raw TCP: a request body that stalls or
//! trickles is cut off at one total deadline with 408 and the connection
//! closed, and `/healthz` stays reachable meanwhile.
//!
//! Bounds on time are generous on purpose (the suite shares two cores): a
//! test checks that connections end within the deadline plus seconds, never
//! how fast.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sessiond::config::{ConfigDuration, Settings};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::support::TestApp;

/// Time past a deadline allowed for a loaded machine to act on it.
const MARGIN: Duration = Duration::from_secs(10);

fn with_body_timeout(timeout: Duration) -> impl FnOnce(Settings) -> Settings {
    move |s| Settings { body_timeout: Some(ConfigDuration(timeout)), ..s }
}

fn addr(t: &TestApp) -> String {
    t.base.trim_start_matches("http://").to_owned()
}

/// The head of a token request announcing a 100-byte body.
fn token_head(t: &TestApp) -> String {
    format!(
        "POST /oauth2/token HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 100\r\n\r\n",
        addr(t)
    )
}

/// Everything the server sends until it closes the connection. A reset
/// counts as closed: the server may reset a connection it closes with
/// unread bytes from the client.
async fn read_until_closed(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A raw HTTP/1.1 response: status, lower-cased head, body.
struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
}

fn parse(raw: &[u8]) -> Raw {
    let text = String::from_utf8_lossy(raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no full head: {text:?}"));
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status: {text:?}"));
    Raw { status, head, body: raw[split + 4..].to_vec() }
}

/// Asserts a 408 in the project's error format that closes the connection.
fn assert_timeout_response(raw: &Raw) {
    assert_eq!(raw.status, 408, "{}", raw.head);
    assert!(raw.head.contains("\r\nconnection: close"), "{}", raw.head);
    assert!(raw.head.contains("\r\ncache-control: no-store"), "{}", raw.head);
    let body: Value = serde_json::from_slice(&raw.body).unwrap();
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
}

/// `GET /healthz` on a connection of its own; the status.
async fn healthz_fresh(t: &TestApp) -> u16 {
    let mut stream = TcpStream::connect(addr(t)).await.unwrap();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", addr(t));
    stream.write_all(request.as_bytes()).await.unwrap();
    let raw = tokio::time::timeout(MARGIN, read_until_closed(&mut stream)).await.expect("/healthz answered");
    parse(&raw).status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_are_answered_408_and_closed_while_healthz_answers() {
    let body_timeout = Duration::from_secs(2);
    let t = TestApp::spawn_with(with_body_timeout(body_timeout)).await;
    let start = Instant::now();
    let (sent_tx, mut sent_rx) = tokio::sync::mpsc::channel::<()>(300);
    let mut stalled = Vec::new();
    for _ in 0..300 {
        let (addr, head, sent) = (addr(&t), token_head(&t), sent_tx.clone());
        stalled.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.write_all(b"grant_type=").await.unwrap(); // 11 of 100 bytes, then nothing
            let _ = sent.send(()).await;
            read_until_closed(&mut stream).await
        }));
    }
    for _ in 0..300 {
        sent_rx.recv().await.unwrap();
    }

    // Meanwhile the server answers on fresh connections.
    for _ in 0..5 {
        assert_eq!(healthz_fresh(&t).await, 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every stalled connection is answered and closed by the deadline.
    let mut answered = 0;
    for task in stalled {
        let raw = tokio::time::timeout_at(start + body_timeout + MARGIN, task)
            .await
            .expect("a stalled body holds its connection past the deadline")
            .unwrap();
        if !raw.is_empty() {
            assert_timeout_response(&parse(&raw));
            answered += 1;
        }
    }
    assert!(answered > 0, "no stalled request was answered 408");
    assert_eq!(healthz_fresh(&t).await, 200);
}

#[tokio::test]
async fn a_trickling_body_is_cut_off_at_the_total_deadline() {
    let body_timeout = Duration::from_secs(2);
    let t = TestApp::spawn_with(with_body_timeout(body_timeout)).await;
    let start = Instant::now();
    let stream = TcpStream::connect(addr(&t)).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(token_head(&t).as_bytes()).await.unwrap();
    // One byte every 500 ms: the 100 bytes would take 50 s, and no single
    // gap comes near the deadline.
    let sent = Arc::new(AtomicUsize::new(0));
    let trickle = tokio::spawn({
        let sent = Arc::clone(&sent);
        async move {
            for _ in 0..100 {
                if writer.write_all(b"a").await.is_err() {
                    return;
                }
                sent.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    });

    let raw = tokio::time::timeout(body_timeout + MARGIN, read_until_closed(&mut reader))
        .await
        .expect("a trickling body holds its connection past the total deadline");
    assert!(start.elapsed() >= body_timeout, "cut off before the deadline");
    assert!(sent.load(Ordering::SeqCst) < 100, "the body was cut off before it was complete");
    if !raw.is_empty() {
        assert_timeout_response(&parse(&raw));
    }
    trickle.abort();
}
