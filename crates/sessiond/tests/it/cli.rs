//! The `sessiond` binary: management commands and `serve`, on real data
//! directories, with and without a server running on the same data.
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{s, TestApp, TestClient, TestData};

pub fn sessiond(data: &TestData) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessiond"));
    data.configure(&mut cmd);
    cmd.args(["--password-memory-kib", "256", "--password-iterations", "1"]);
    cmd.env_remove("SESSIOND_LOG");
    cmd
}

pub fn run(mut cmd: Command, stdin: Option<&str>) -> Output {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

pub fn json(out: &Output) -> Value {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&out.stdout)))
}

pub fn cli(dir: &TestData, args: &[&str]) -> Output {
    let mut cmd = sessiond(dir);
    cmd.args(args);
    let out = run(cmd, None);
    if !out.status.success() {
        eprintln!("sessiond {args:?} failed");
    }
    out
}

// Multi-threaded: the test blocks on CLI processes, and the in-process
// server must keep running meanwhile (on a current-thread runtime a server
// task caught mid-transaction would hold SQLite's write lock until the CLI
// gave up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_commands_work_while_a_server_runs_on_the_same_data() {
    let t = TestApp::spawn().await;
    let dir = &*t.data;

    let mut add = sessiond(dir);
    add.args(["user", "add", "alice", "--password-stdin", "--json"]);
    let user = json(&run(add, Some("correct horse\n")));
    assert_eq!(user["name"], "alice");
    assert!(user.get("password").is_none(), "a password from stdin is never echoed");

    let generated = json(&cli(dir, &["user", "add", "root", "--admin", "--json"]));
    assert_eq!(generated["is_admin"], true);
    assert!(generated["password"].as_str().unwrap().len() >= 20, "a generated password is shown once");

    let client = json(&cli(
        dir,
        &[
            "client",
            "add",
            "shop",
            "--confidential",
            "--grant",
            "password",
            "refresh_token",
            "--scope",
            "api:read",
            "--json",
        ],
    ));
    assert_eq!(client["grant_types"], serde_json::json!(["password", "refresh_token"]));
    let tc = TestClient { id: s(&client, "client_id"), secret: s(&client, "client_secret") };
    assert_eq!(tc.secret.len(), 43, "256-bit secret");

    // The running server sees what the CLI wrote.
    let tokens = t.sign_in(&tc, "alice", "correct horse").await;
    let listed = json(&cli(dir, &["client", "list", "--json"]));
    assert!(listed.as_array().unwrap().iter().all(|c| c.get("client_secret").is_none()), "secrets never listed");
    let users = json(&cli(dir, &["user", "list", "--json"]));
    assert_eq!(users.as_array().unwrap().len(), 2);

    // Disabling from the CLI ends the user's sessions at once.
    let disabled = json(&cli(dir, &["user", "disable", "alice", "--json"]));
    assert_eq!(disabled["sessions_ended"], 1);
    let (status, _) = t.refresh(&tc, &s(&tokens, "refresh_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    json(&cli(dir, &["user", "enable", "alice", "--json"]));

    let mut passwd = sessiond(dir);
    passwd.args(["user", "passwd", "alice", "--password-stdin"]);
    assert!(run(passwd, Some("battery staple\n")).status.success());
    t.sign_in(&tc, "alice", "battery staple").await;

    // Key rotation by the CLI reaches the server when it reloads its keys.
    let key = json(&cli(dir, &["key", "rotate", "--json"]));
    t.app.reload_keys().await.unwrap();
    assert_eq!(t.app.keys().signing_key().kid().as_str(), key["kid"].as_str().unwrap());
    assert_eq!(json(&cli(dir, &["key", "list", "--json"])).as_array().unwrap().len(), 2);

    json(&cli(dir, &["client", "remove", &tc.id, "--json"]));
    // The server learns of it from the revocation log (its follower polls;
    // catch up now rather than wait for the next poll).
    t.app.catch_up().await.unwrap();
    let (status, _) =
        t.token(&tc, &[("grant_type", "password"), ("username", "alice"), ("password", "battery staple")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a removed client cannot authenticate");
}

#[tokio::test]
async fn bad_input_to_the_cli_fails_with_a_message() {
    let data = TestData::new().await;
    let d = &*data;
    let init = cli(d, &["init"]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let cases: &[&[&str]] = &[
        &["user", "add", "bad name"],
        &["user", "disable", "nobody"],
        &["client", "add", "x", "--public", "--grant", "client_credentials"],
        &["client", "add", "x", "--grant", "implicit"],
        &["client", "add", "x", "--grant", "authorization_code"],
        &["client", "add", "x", "--redirect-uri", "not a uri"],
        &["client", "remove", "nope"],
    ];
    for args in cases {
        let out = cli(d, args);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(!out.stderr.is_empty(), "{args:?} explains itself");
    }
    let mut short = sessiond(d);
    short.args(["user", "add", "x", "--password-stdin"]);
    let out = run(short, Some("short\n"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("8"), "says how long a password must be");

    json(&cli(d, &["user", "add", "twice", "--json"]));
    let out = cli(d, &["user", "add", "twice"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
}

#[tokio::test]
async fn configuration_errors_are_reported_not_ignored() {
    let data = TestData::new().await;
    let toml = data.path().join("sessiond.toml");
    std::fs::write(&toml, "acces_token_ttl = \"5m\"\n").unwrap();
    let mut cmd = sessiond(&data);
    cmd.arg("--config").arg(&toml).args(["user", "list"]);
    let out = run(cmd, None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("acces_token_ttl"));

    let mut cmd = sessiond(&data);
    cmd.env("SESSIOND_ISSUR", "https://typo").args(["user", "list"]);
    let out = run(cmd, None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SESSIOND_ISSUR"));
}

/// A running `sessiond serve` child, killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub banner: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `sessiond serve` and reads its banner up to the line that ends it.
pub fn serve(dir: &TestData, configure: impl FnOnce(&mut Command)) -> Server {
    serve_on(dir, free_port(), configure)
}

/// The same on a given port (to restart a server where its clients expect it).
pub fn serve_on(dir: &TestData, port: u16, configure: impl FnOnce(&mut Command)) -> Server {
    let mut cmd = sessiond(dir);
    cmd.args(["--listen", &format!("127.0.0.1:{port}")]);
    // Before `configure`, which may keep the logs.
    cmd.stderr(Stdio::null());
    configure(&mut cmd);
    cmd.arg("serve").stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // Drain stdout on a thread for the server's whole life, as a terminal would.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut banner = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else { break };
        banner.push_str(&line);
        banner.push('\n');
        // The banner's last line: the password-grant example on a first
        // start, the management hint otherwise.
        if line.contains("grant_type=password") || line.contains("manage users") {
            break;
        }
    }
    let base = format!("http://127.0.0.1:{port}");
    // Wait until it accepts connections.
    while Instant::now() < deadline && std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child, base, banner }
}

pub fn word_after<'a>(text: &'a str, marker: &str) -> &'a str {
    let at = text.find(marker).unwrap_or_else(|| panic!("{marker:?} not in {text}")) + marker.len();
    text[at..].split_whitespace().next().unwrap()
}

#[tokio::test]
async fn first_start_prints_working_credentials_once() {
    let dir = TestData::new().await;
    let server = serve(&dir, |_| {});
    assert!(server.banner.contains("First start"), "{}", server.banner);
    let client = TestClient {
        id: word_after(&server.banner, "client_id").to_owned(),
        secret: word_after(&server.banner, "client_secret").to_owned(),
    };
    let admin_password = word_after(&server.banner, "admin / ").to_owned();
    let http = reqwest::Client::new();
    let token = |form: Vec<(&'static str, String)>| {
        http.post(format!("{}/oauth2/token", server.base))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&form)
            .send()
    };
    let response = token(vec![("grant_type", "client_credentials".into())]).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = token(vec![
        ("grant_type", "password".into()),
        ("username", "admin".into()),
        ("password", admin_password.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("refresh_token").is_some());
    drop(server);

    let again = serve(&dir, |_| {});
    assert!(!again.banner.contains("First start"), "credentials are shown once: {}", again.banner);
    assert!(!again.banner.contains(&admin_password));
}

#[tokio::test]
async fn environment_overrides_the_file_and_flags_override_the_environment() {
    let dir = TestData::new().await;
    let toml = dir.path().join("sessiond.toml");
    std::fs::write(&toml, "access_token_ttl = \"2m\"\n").unwrap();
    let ttl_of = |server: &Server| {
        let client = TestClient {
            id: word_after(&server.banner, "client_id").to_owned(),
            secret: word_after(&server.banner, "client_secret").to_owned(),
        };
        let url = format!("{}/oauth2/token", server.base);
        async move {
            let body: Value = reqwest::Client::new()
                .post(url)
                .basic_auth(&client.id, Some(&client.secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["expires_in"].as_u64().unwrap()
        }
    };
    let (a, b, c) = (TestData::new().await, TestData::new().await, TestData::new().await);
    let file_only = serve(&a, |c| {
        c.arg("--config").arg(&toml);
    });
    assert_eq!(ttl_of(&file_only).await, 120);
    let env = serve(&b, |c| {
        c.arg("--config").arg(&toml).env("SESSIOND_ACCESS_TOKEN_TTL", "90");
    });
    assert_eq!(ttl_of(&env).await, 90);
    let flag = serve(&c, |c| {
        c.arg("--config").arg(&toml).env("SESSIOND_ACCESS_TOKEN_TTL", "90").args(["--access-token-ttl", "30s"]);
    });
    assert_eq!(ttl_of(&flag).await, 30);
}

/// `--help` names the environment variables of secret settings but never
/// prints their values (clap shows `[env: NAME=value]` unless told not to).
#[test]
fn help_never_prints_secret_values_from_the_environment() {
    let password = "hunter2secret";
    let master_key = "aGVscCB0ZXN0IG1hc3RlciBrZXksIDMyIGJ5dGVzIQ==";
    for args in [&["--help"][..], &["serve", "--help"], &["--no-such-flag"]] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sessiond"));
        cmd.args(args)
            .env("SESSIOND_DATABASE_URL", format!("postgres://u:{password}@127.0.0.1:1/db"))
            .env("SESSIOND_MASTER_KEY", master_key)
            .env_remove("SESSIOND_LOG");
        let out = run(cmd, None);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.success(), args[0] != "--no-such-flag", "{args:?}: {text}");
        assert!(!text.contains(password), "{args:?} shows the database password:\n{text}");
        assert!(!text.contains(master_key), "{args:?} shows the master key:\n{text}");
        if args == ["--help"] {
            assert!(text.contains("SESSIOND_DATABASE_URL") && text.contains("SESSIOND_MASTER_KEY"), "{text}");
        }
    }
}
