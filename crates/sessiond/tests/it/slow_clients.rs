//! Slow and idle clients, over raw TCP: a request body that stalls or
//! trickles is cut off at one total deadline with 408 and the connection
//! closed; at the connection cap further clients wait instead of costing
//! descriptors, and are served once connections end; `/healthz` stays
//! reachable throughout.
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

fn with_limits(body_timeout: Duration, max_connections: usize) -> impl FnOnce(Settings) -> Settings {
    move |s| Settings { body_timeout: Some(ConfigDuration(body_timeout)), max_connections: Some(max_connections), ..s }
}

fn addr(t: &TestApp) -> String {
    t.base.trim_start_matches("http://").to_owned()
}

/// The head of a token request announcing a 100-byte body.
fn token_head(addr: &str) -> String {
    format!(
        "POST /oauth2/token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 100\r\n\r\n"
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

/// A connection that has sent `GET /healthz` and waits for the answer.
async fn send_healthz(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// A connection that has sent a token request's head and 11 of its 100
/// body bytes, and then stalls.
async fn send_stalled(addr: &str, head: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"grant_type=").await.unwrap();
    stream
}

/// Whether the server sends anything on `stream` within `wait`.
async fn answers_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut byte = [0u8; 1];
    // A peek leaves the answer for a later read.
    tokio::time::timeout(wait, stream.peek(&mut byte)).await.is_ok()
}

/// `GET /healthz` on a connection of its own; the status.
async fn healthz_fresh(t: &TestApp) -> u16 {
    let mut stream = send_healthz(&addr(t)).await;
    let raw = tokio::time::timeout(MARGIN, read_until_closed(&mut stream)).await.expect("/healthz answered");
    parse(&raw).status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_are_answered_408_and_closed_while_healthz_answers() {
    let body_timeout = Duration::from_secs(2);
    // Room for every stalled connection: this test is about the deadline.
    let t = TestApp::spawn_with(with_limits(body_timeout, 1000)).await;
    let start = Instant::now();
    let (server, head) = (addr(&t), token_head(&addr(&t)));
    let (sent_tx, mut sent_rx) = tokio::sync::mpsc::channel::<()>(300);
    let mut stalled = Vec::new();
    for _ in 0..300 {
        let (addr, head, sent) = (server.clone(), head.clone(), sent_tx.clone());
        stalled.push(tokio::spawn(async move {
            let mut stream = send_stalled(&addr, &head).await;
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
    let t = TestApp::spawn_with(with_limits(body_timeout, 100)).await;
    let start = Instant::now();
    let stream = TcpStream::connect(addr(&t)).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(token_head(&addr(&t)).as_bytes()).await.unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_clients_wait_and_are_served_once_connections_end() {
    let body_timeout = Duration::from_secs(2);
    let t = TestApp::spawn_with(with_limits(body_timeout, 20)).await;

    // 40 idle connections: 20 take every slot, 20 wait in the listen backlog.
    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(TcpStream::connect(addr(&t)).await.unwrap());
    }
    // A health check behind them waits too: nothing is accepted beyond the
    // cap. (The idle connections hold their slots for the 10 s head timeout.)
    let mut probe = send_healthz(&addr(&t)).await;
    assert!(!answers_within(&mut probe, Duration::from_secs(1)).await, "served beyond the connection cap");
    // They leave; the server, still up, serves the health check.
    drop(idle);
    let raw = tokio::time::timeout(MARGIN, read_until_closed(&mut probe)).await.expect("served once slots freed");
    assert_eq!(parse(&raw).status, 200);

    // 40 stalled bodies: the deadline frees the slots, 20 at a time, each
    // with a 408 in the error format; the health check behind them follows.
    let start = Instant::now();
    let (server, head) = (addr(&t), token_head(&addr(&t)));
    let mut stalled = Vec::new();
    for _ in 0..40 {
        stalled.push(send_stalled(&server, &head).await);
    }
    let mut probe = send_healthz(&server).await;
    for stream in &mut stalled {
        let raw = tokio::time::timeout_at(start + 2 * body_timeout + MARGIN, read_until_closed(stream))
            .await
            .expect("a stalled body holds its slot past the deadline");
        if !raw.is_empty() {
            assert_timeout_response(&parse(&raw));
        }
    }
    let raw = tokio::time::timeout(MARGIN, read_until_closed(&mut probe)).await.expect("served once slots freed");
    assert_eq!(parse(&raw).status, 200);
    assert_eq!(t.http.get(t.url("/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_by_the_head_timeout_and_free_their_slots() {
    let t = TestApp::spawn_with(with_limits(Duration::from_secs(2), 2)).await;
    // One connection that never sends a byte, one idle after a request.
    let mut silent = TcpStream::connect(addr(&t)).await.unwrap();
    let mut kept_alive = TcpStream::connect(addr(&t)).await.unwrap();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", addr(&t));
    kept_alive.write_all(request.as_bytes()).await.unwrap();
    let mut first = vec![0u8; 4096];
    let n = tokio::time::timeout(MARGIN, kept_alive.read(&mut first)).await.unwrap().unwrap();
    assert_eq!(parse(&first[..n]).status, 200);
    let mut probe = send_healthz(&addr(&t)).await;

    // hyper's head timeout (10 s) covers a connection waiting for its
    // first head and one waiting for its next, so neither holds a slot
    // for ever.
    let head_timeout = Duration::from_secs(10);
    for stream in [&mut silent, &mut kept_alive] {
        let rest = tokio::time::timeout(head_timeout + MARGIN, read_until_closed(stream))
            .await
            .expect("an idle connection is held open past the head timeout");
        assert!(rest.is_empty() || parse(&rest).status == 408, "{}", String::from_utf8_lossy(&rest));
    }
    let raw = tokio::time::timeout(MARGIN, read_until_closed(&mut probe)).await.expect("served once slots freed");
    assert_eq!(parse(&raw).status, 200);
}

/// `sessiond serve` in a child process whose open-file limit, soft and
/// hard, is `nofile` (so it cannot raise it); its log in a file. Killed on
/// drop.
#[cfg(unix)]
struct LimitedServer {
    child: std::process::Child,
    addr: String,
    log: std::path::PathBuf,
    _data: Arc<crate::support::TestData>,
}

#[cfg(unix)]
impl LimitedServer {
    async fn start(nofile: u32, args: &[&str]) -> LimitedServer {
        let data = crate::support::TestData::new().await;
        let addr = format!("127.0.0.1:{}", crate::cli::free_port());
        let log = data.path().join("server.log");
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", &format!("ulimit -n {nofile} && exec \"$0\" \"$@\""), env!("CARGO_BIN_EXE_sessiond")]);
        data.configure(&mut cmd);
        cmd.args(["--password-memory-kib", "256", "--password-iterations", "1", "--listen", &addr]).args(args);
        cmd.arg("serve").env("SESSIOND_LOG", "info");
        cmd.stdout(std::process::Stdio::null()).stderr(std::fs::File::create(&log).unwrap());
        let server = LimitedServer { child: cmd.spawn().unwrap(), addr, log, _data: data };
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = reqwest::Client::new();
        loop {
            let up = http.get(format!("http://{}/healthz", server.addr)).send().await;
            if up.is_ok_and(|r| r.status() == 200) {
                return server;
            }
            assert!(Instant::now() < deadline, "server did not start: {}", server.log_text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The log so far, without colour codes.
    fn log_text(&self) -> String {
        let raw = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut text = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                chars.by_ref().find(|&c| c == 'm');
            } else {
                text.push(c);
            }
        }
        text
    }
}

#[cfg(unix)]
impl Drop for LimitedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The finding itself: a 256-descriptor limit and 300 clients that send a
/// head and stall their bodies. The server keeps below the limit (at most
/// 128 connections), cuts each stalled body off at the deadline, and
/// `/healthz`, queued behind them, is answered.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_256_descriptor_limit_300_stalled_bodies_do_not_shut_out_healthz() {
    let body_timeout = Duration::from_secs(2);
    let server = LimitedServer::start(256, &["--body-timeout", "2s"]).await;
    assert!(server.log_text().contains("max_connections=128"), "{}", server.log_text());
    let head = token_head(&server.addr);
    let start = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..300 {
        stalled.push(send_stalled(&server.addr, &head).await);
    }
    // Three waves of at most 128 stalled bodies ahead of it.
    let bound = start + 3 * body_timeout + 2 * MARGIN;
    let mut probe = send_healthz(&server.addr).await;
    for stream in &mut stalled {
        let raw = tokio::time::timeout_at(bound, read_until_closed(stream))
            .await
            .unwrap_or_else(|_| panic!("a stalled body holds its connection past the deadline: {}", server.log_text()));
        if !raw.is_empty() {
            assert_timeout_response(&parse(&raw));
        }
    }
    let raw = tokio::time::timeout_at(bound, read_until_closed(&mut probe))
        .await
        .unwrap_or_else(|_| panic!("/healthz not answered: {}", server.log_text()));
    assert_eq!(parse(&raw).status, 200);
    let log = server.log_text();
    assert!(!log.contains("Too many open files"), "{log}");
}

/// When descriptors do run out (here: a cap configured above the limit),
/// failed accepts are logged once per five seconds with a count, not
/// twenty times a second, and the server recovers.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_accepts_are_logged_once_per_interval_with_a_count() {
    let server = LimitedServer::start(128, &["--max-connections", "1000"]).await;
    assert!(server.log_text().contains("max_connections leaves too few descriptors"), "{}", server.log_text());
    // More idle connections than descriptors; the accepted ones stay for
    // the 10 s head timeout, so accepts keep failing for longer than that.
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(TcpStream::connect(&server.addr).await.unwrap());
    }
    let failures =
        |log: &str| log.lines().filter(|l| l.contains("accept failed")).map(str::to_owned).collect::<Vec<_>>();
    let deadline = Instant::now() + 2 * MARGIN;
    while failures(&server.log_text()).len() < 2 {
        assert!(Instant::now() < deadline, "accepts did not keep failing: {}", server.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lines = failures(&server.log_text());
    assert!(lines[0].contains("Too many open files"), "{}", lines[0]);
    assert!(lines[0].contains("suppressed=0"), "{}", lines[0]);
    // Five seconds of retries every 50 ms, in one line.
    let suppressed: u64 = lines[1]
        .split("suppressed=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count: {}", lines[1]));
    assert!(suppressed >= 10, "{}", lines[1]);
    assert!(lines.len() <= 3, "{}", lines.join("\n"));

    drop(idle);
    let mut probe = send_healthz(&server.addr).await;
    let raw = tokio::time::timeout(2 * MARGIN, read_until_closed(&mut probe)).await.expect("the server recovers");
    assert_eq!(parse(&raw).status, 200);
}
