//! A resource server guarded by `sessiond-guard`: its example API
//! (`crates/sessiond-guard/examples/guarded_api.rs`), built once and run
//! as a separate process against a real server, accepts live tokens,
//! refuses a token within a second of its revocation, picks up again
//! after sessiond restarts, and fails closed while sessiond is
//! unreachable past the staleness bound.
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::cli::{cli, free_port, json, run, serve_on, sessiond, Server};
use crate::remote::Remote;
use crate::support::{claims, s, TestApp, TestClient, TestData};

/// How long the guard gets to load keys and take its first snapshot.
const STARTUP: Duration = Duration::from_secs(15);
/// The promise under test: a revocation reaches the guard within this.
const PROPAGATION: Duration = Duration::from_secs(1);

/// Builds the example once per test run (`cargo build`, as a user would)
/// and returns its executable.
fn guarded_api() -> PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args(["build", "-p", "sessiond-guard", "--example", "guarded_api", "--features", "layer"])
            .arg("--message-format=json-render-diagnostics")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(Stdio::inherit());
        // Cargo gives this test the variables it gives build scripts
        // (CARGO_PKG_NAME, CARGO_MANIFEST_DIR, OUT_DIR …). Build scripts
        // that watch them (ring's does) would see them changed and be
        // rebuilt here, and again by the next `cargo test`.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let set_by_cargo = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_CFG_"]
                .iter()
                .any(|prefix| name.starts_with(prefix))
                || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "CARGO_RUSTC_CURRENT_DIR", "OUT_DIR"]
                    .contains(&name.as_ref());
            if set_by_cargo {
                cargo.env_remove(name.as_ref());
            }
        }
        let out = cargo.output().unwrap();
        assert!(out.status.success(), "building the guarded_api example failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "guarded_api")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo names the example's executable")
    })
    .clone()
}

/// The example API running as its own process, killed on drop.
struct GuardedApi {
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
    http: reqwest::Client,
}

impl Drop for GuardedApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl GuardedApi {
    /// Starts the example for `issuer` with the resource server's
    /// credentials, on a free port.
    async fn start(issuer: &str, rs: &TestClient, extra: &[&str]) -> GuardedApi {
        let exe = tokio::task::spawn_blocking(guarded_api).await.unwrap();
        let mut cmd = Command::new(exe);
        cmd.args(["--issuer", issuer, "--client-id", &rs.id, "--client-secret", &rs.secret])
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn,sessiond_guard=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in ["GUARD_ISSUER", "GUARD_CLIENT_ID", "GUARD_CLIENT_SECRET", "GUARD_LISTEN", "GUARD_AUDIENCE"] {
            cmd.env_remove(var);
        }
        for var in ["GUARD_STALENESS_BOUND", "GUARD_FAIL_OPEN"] {
            cmd.env_remove(var);
        }
        let mut child = cmd.spawn().unwrap();
        // Its log, for the messages of failing assertions.
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buf) {
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = tokio::task::spawn_blocking(move || rx.recv_timeout(STARTUP)).await.unwrap();
        let line = line.unwrap_or_else(|_| panic!("the example did not start: {}", log.lock().unwrap()));
        let base = line.strip_prefix("listening on ").expect("the example says where it listens").to_owned();
        GuardedApi { child, base, log, http: reqwest::Client::new() }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// `GET /whoami`, with a Bearer token or none.
    async fn whoami(&self, token: Option<&str>) -> (StatusCode, HeaderMap, Value) {
        let mut request = self.http.get(format!("{}/whoami", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.json().await.unwrap_or(Value::Null))
    }

    /// Asks `/whoami` with `token` until it answers `want`; how long that
    /// took, or `None` if it did not within `within`.
    async fn answers(&self, token: &str, want: StatusCode, within: Duration) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() <= within {
            if self.whoami(Some(token)).await.0 == want {
                return Some(start.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        None
    }
}

fn challenge(headers: &HeaderMap) -> &str {
    headers.get(WWW_AUTHENTICATE).map_or("", |v| v.to_str().unwrap())
}

// Multi-threaded: the guarded API's process and the in-process server
// both need the test's runtime to make progress while the test waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_token_is_accepted_and_refused_within_a_second_of_its_revocation() {
    let t = TestApp::spawn().await;
    let users = t.user_client().await;
    let rs = t.resource_server().await;
    t.user("alice", "alice password").await;
    let revoked = s(&t.sign_in(&users, "alice", "alice password").await, "access_token");
    let logged_out = s(&t.sign_in(&users, "alice", "alice password").await, "access_token");
    let live = s(&t.sign_in(&users, "alice", "alice password").await, "access_token");
    let api = GuardedApi::start(&t.base, &rs, &[]).await;

    assert!(api.answers(&revoked, StatusCode::OK, STARTUP).await.is_some(), "never accepted: {}", api.log());
    let (_, _, body) = api.whoami(Some(&revoked)).await;
    let issued = claims(&revoked);
    assert_eq!((&body["sub"], &body["sid"]), (&issued["sub"], &issued["sid"]), "the handler sees the token's claims");

    // RFC 6750 §3.1: no token, a bare challenge; a bad one, invalid_token.
    let (status, headers, _) = api.whoami(None).await;
    assert_eq!((status, challenge(&headers)), (StatusCode::UNAUTHORIZED, "Bearer"));
    let (status, headers, body) = api.whoami(Some("not.a.token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge(&headers).starts_with(r#"Bearer error="invalid_token""#), "{}", challenge(&headers));
    assert_eq!(body["error"], "invalid_token");

    // One token revoked (RFC 7009).
    let revoke = t.http.post(t.url("/oauth2/revoke")).basic_auth(&users.id, Some(&users.secret));
    assert!(revoke.form(&[("token", revoked.as_str())]).send().await.unwrap().status().is_success());
    let took = api.answers(&revoked, StatusCode::UNAUTHORIZED, PROPAGATION).await;
    let took = took.unwrap_or_else(|| panic!("still accepted a second after its revocation: {}", api.log()));
    eprintln!("a token revocation reached the guarded API in {took:?}");
    let (_, headers, _) = api.whoami(Some(&revoked)).await;
    assert!(challenge(&headers).contains("revoked"), "{}", challenge(&headers));

    // A whole session ended by logout.
    let logout = t.bearer(Method::POST, "/logout", &logged_out).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let took = api.answers(&logged_out, StatusCode::UNAUTHORIZED, PROPAGATION).await;
    let took = took.unwrap_or_else(|| panic!("a logged-out session's token still accepted: {}", api.log()));
    eprintln!("a logout reached the guarded API in {took:?}");

    assert_eq!(api.whoami(Some(&live)).await.0, StatusCode::OK, "another session lives on");
}

/// A `sessiond serve` process's data, port and clients, so that it can be
/// stopped and started again where the guarded API expects it.
struct Deployment {
    data: Arc<TestData>,
    port: u16,
    base: String,
    app: TestClient,
    rs: TestClient,
}

impl Deployment {
    async fn new() -> Deployment {
        let data = TestData::new().await;
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        assert!(cli(&data, &["--issuer", &base, "init"]).status.success());
        let mut add = sessiond(&data);
        add.args(["user", "add", "alice", "--password-stdin"]);
        assert!(run(add, Some("alice password\n")).status.success());
        let client = |args: &[&str]| {
            let out = json(&cli(&data, args));
            TestClient { id: s(&out, "client_id"), secret: s(&out, "client_secret") }
        };
        let app = client(&["client", "add", "app", "--grant", "password", "refresh_token", "--json"]);
        let rs = client(&["client", "add", "rs", "--grant", "client_credentials", "--resource-server", "--json"]);
        Deployment { data, port, base, app, rs }
    }

    fn serve(&self) -> Server {
        serve_on(&self.data, self.port, |c: &mut Command| {
            c.args(["--issuer", &self.base]);
        })
    }

    async fn sign_in(&self) -> String {
        s(&Remote::new(&self.base, &self.app).sign_in("alice", "alice password").await, "access_token")
    }
}

/// Stops a server the hard way: no graceful end of its streams.
fn crash(mut server: Server) {
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_picks_up_where_it_left_off_after_sessiond_restarts() {
    let d = Deployment::new().await;
    let server = d.serve();
    let (while_down, after_restart, live) = (d.sign_in().await, d.sign_in().await, d.sign_in().await);
    let api = GuardedApi::start(&d.base, &d.rs, &[]).await;
    for token in [&while_down, &after_restart, &live] {
        assert!(api.answers(token, StatusCode::OK, STARTUP).await.is_some(), "never accepted: {}", api.log());
    }

    crash(server);
    // Revoked while no server runs, by the command line on its data.
    assert!(cli(&d.data, &["token", "revoke", &while_down]).status.success());
    let server = d.serve();
    let resumed = api.answers(&while_down, StatusCode::UNAUTHORIZED, STARTUP).await;
    assert!(resumed.is_some(), "what was revoked while sessiond was down is still accepted: {}", api.log());

    // Following the restarted server live.
    Remote::new(&d.base, &d.app).revoke(&after_restart).await;
    let took = api.answers(&after_restart, StatusCode::UNAUTHORIZED, PROPAGATION).await;
    let took = took.unwrap_or_else(|| panic!("a revocation after the restart did not arrive: {}", api.log()));
    eprintln!("after a restart, a revocation reached the guarded API in {took:?}");
    assert_eq!(api.whoami(Some(&live)).await.0, StatusCode::OK, "{}", api.log());
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_fails_closed_when_sessiond_is_unreachable_past_the_staleness_bound() {
    let bound = sessiond_guard::DEFAULT_STALENESS_BOUND;
    let d = Deployment::new().await;
    let server = d.serve();
    let token = d.sign_in().await;
    let closed = GuardedApi::start(&d.base, &d.rs, &[]).await;
    let open = GuardedApi::start(&d.base, &d.rs, &["--fail-open"]).await;
    for api in [&closed, &open] {
        assert!(api.answers(&token, StatusCode::OK, STARTUP).await.is_some(), "never accepted: {}", api.log());
    }

    crash(server);
    let crashed = Instant::now();
    // Within the bound the index is as good as its last confirmation.
    assert_eq!(closed.whoami(Some(&token)).await.0, StatusCode::OK);
    // Confirmed at most one heartbeat (5 s) before the crash, so stale
    // between 5 s and the bound after it.
    let failed = closed.answers(&token, StatusCode::SERVICE_UNAVAILABLE, bound + Duration::from_secs(3)).await;
    assert!(failed.is_some(), "still answering 200 long past the bound: {}", closed.log());
    let after = crashed.elapsed();
    assert!(after <= bound + Duration::from_secs(1), "failed closed only after {after:?}");
    eprintln!("failed closed {after:?} after sessiond went away");

    let (status, headers, body) = closed.whoami(Some(&token)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(headers.get(RETRY_AFTER).is_some());
    assert!(headers.get(WWW_AUTHENTICATE).is_none(), "not the token's fault");
    assert_eq!(closed.whoami(Some("not.a.token")).await.0, StatusCode::SERVICE_UNAVAILABLE, "it vouches for nothing");

    // Configured to fail open, the other one goes on checking signatures.
    assert_eq!(open.whoami(Some(&token)).await.0, StatusCode::OK, "{}", open.log());
    assert_eq!(open.whoami(Some("not.a.token")).await.0, StatusCode::UNAUTHORIZED);
}
