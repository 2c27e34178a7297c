//! The files in `deploy/`, checked by the tools that will read them:
//! `nginx.conf` passes `nginx -t` and then, run for real, balances three
//! sessiond nodes and guards the example application with forward
//! authentication; `sessiond.service` passes `systemd-analyze verify`
//! without a warning. (No container runtime here: the Dockerfile's build
//! command is run by `.ci/run`.)
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sessiond::clock::Clock;
use sessiond::config::Settings;

use crate::nginx::Nginx;
use crate::support::{claims, s, TestApp};

fn deploy_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Replaces every `from` in `text`, which must contain it `times` times: a
/// rewrite that no longer finds its text means the file changed under the
/// test, and the test must change with it.
fn rewrite(text: &str, from: &str, to: &str, times: usize) -> String {
    assert_eq!(text.matches(from).count(), times, "{from:?} in deploy/nginx.conf");
    text.replace(from, to)
}

/// The example application behind /app/: it trusts the `X-User` header.
async fn app_upstream() -> u16 {
    let app = axum::Router::new().route(
        "/whoami",
        axum::routing::get(|headers: axum::http::HeaderMap| async move {
            let user = headers.get("x-user").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            format!("hello {user}")
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nginx; .ci/run installs it and runs it"]
async fn deploy_nginx_conf_passes_nginx_t_and_balances_three_nodes_with_forward_auth() {
    let port = crate::cli::free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    // Three nodes on the same data (PostgreSQL in CI's second pass), every
    // one with nginx's address as the issuer, as in compose.yaml.
    let node =
        |s: Settings, issuer: &str| Settings { issuer: Some(issuer.to_owned()), login_attempts_per_ip: Some(0), ..s };
    let first = TestApp::spawn_with(|s| node(s, &issuer)).await;
    let second = TestApp::spawn_on(first.data.clone(), |s| node(s, &issuer)).await;
    let third = TestApp::spawn_on(first.data.clone(), |s| node(s, &issuer)).await;
    // Each test node has a clock of its own, stopped at its start: one time
    // for all, as nodes with synchronised clocks have (a token minted by a
    // node started a second later is otherwise issued in another's future).
    for later in [&second, &third] {
        later.clock.set(first.clock.now());
    }
    let api = app_upstream().await;

    // What is rewritten, and only that: the compose service names (which
    // resolve only inside compose) become the test's loopback addresses,
    // the listen port a free one, and /tmp the test's own directory.
    let dir = tempfile::TempDir::new().unwrap();
    // Workers are unprivileged when the test runs as root: let them in.
    #[cfg(unix)]
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut conf = deploy_file("nginx.conf");
    for (name, t) in [("sessiond-1", &first), ("sessiond-2", &second), ("sessiond-3", &third)] {
        conf = rewrite(
            &conf,
            &format!("server {name}:8080 "),
            &format!("server {} ", t.base.trim_start_matches("http://")),
            1,
        );
    }
    conf = rewrite(&conf, "server api:80;", &format!("server 127.0.0.1:{api};"), 1);
    conf = rewrite(&conf, "listen 8080;", &format!("listen 127.0.0.1:{port};"), 1);
    conf = rewrite(&conf, "/tmp/", &format!("{}/", dir.path().display()), 6);
    // The image runs nginx in the foreground with this flag; so does the test.
    let nginx = Nginx::run(dir, port, &conf, &["-g", "daemon off;"]);
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{}{path}", nginx.port);

    // The issuer answers through nginx, whichever node serves it.
    for _ in 0..6 {
        assert_eq!(http.get(url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
        let discovery: serde_json::Value =
            http.get(url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
        assert_eq!(discovery["issuer"], issuer.as_str());
    }

    // Sign in through nginx; the application sees who it is.
    let client = first.user_client().await;
    first.user("alice", "alice password").await;
    let form = [("grant_type", "password"), ("username", "alice"), ("password", "alice password")];
    let response =
        http.post(url("/oauth2/token")).basic_auth(&client.id, Some(&client.secret)).form(&form).send().await;
    let tokens: serde_json::Value = response.unwrap().json().await.unwrap();
    let token = s(&tokens, "access_token");
    let whoami = || http.get(url("/app/whoami")).bearer_auth(&token).send();
    for _ in 0..6 {
        let r = whoami().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.text().await.unwrap(), format!("hello {}", s(&claims(&token), "sub")));
    }
    assert_eq!(http.get(url("/app/whoami")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // Sign out through nginx (one node); every node refuses the token once
    // it has read the log (on SQLite, its next poll).
    let r = http.post(url("/logout")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut refused_in_a_row = 0;
    while refused_in_a_row < 6 {
        let status = whoami().await.unwrap().status();
        refused_in_a_row = if status == StatusCode::UNAUTHORIZED { refused_in_a_row + 1 } else { 0 };
        assert!(Instant::now() < deadline, "still {status} through nginx after logout");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn find_systemd_analyze() -> PathBuf {
    ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("systemd-analyze is required (.ci/run installs systemd)")
}

#[test]
#[ignore = "needs systemd-analyze; .ci/run installs it and runs it"]
fn deploy_systemd_unit_verifies_without_a_warning() {
    // The one rewrite: ExecStart names the binary these tests built, since
    // `verify` checks that the command exists.
    let unit = rewrite_unit(&deploy_file("sessiond.service"));
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("sessiond.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new(find_systemd_analyze()).arg("verify").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
    // Unknown or misspelled settings are only warnings to systemd, which
    // then ignores them: a hardening line with a typo would do nothing.
    let about_the_unit: Vec<&str> = stderr.lines().filter(|l| l.contains("sessiond.service")).collect();
    assert!(about_the_unit.is_empty(), "{about_the_unit:#?}");
}

fn rewrite_unit(unit: &str) -> String {
    let from = "ExecStart=/usr/local/bin/sessiond serve";
    assert_eq!(unit.matches(from).count(), 1, "{from:?} in deploy/sessiond.service");
    unit.replace(from, &format!("ExecStart={} serve", env!("CARGO_BIN_EXE_sessiond")))
}
