//! A real nginx in front of an API that knows nothing of sessiond, asking
//! `/authz/forward` on every request (`auth_request`): logout, disabling the
//! user and revoking the token each shut the API on the very next request.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};

use crate::support::{claims, s, TestApp};

/// nginx, started on a loopback port with a configuration of ours, stopped
/// (by its PID) when dropped.
pub struct Nginx {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    /// SIGTERM to the master, by its PID, so it stops its workers too (a
    /// SIGKILL would orphan them); SIGKILL only if it does not exit.
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_nginx() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"].iter().map(PathBuf::from).find(|p| p.exists())
}

impl Nginx {
    fn start(sessiond: &str, upstream: &str) -> Nginx {
        let dir = tempfile::TempDir::new().unwrap();
        let port = crate::cli::free_port();
        let d = dir.path().display();
        // Workers run as root when the test does (the temporary directory is
        // the test's own); otherwise as the test's user, which nginx keeps.
        let running_as_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"));
        let user = if running_as_root { "user root;" } else { "" };
        let conf = format!(
            r#"{user}
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 128; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /_sessiond {{
            internal;
            proxy_pass {sessiond}/authz/forward;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
        }}
        location /api/ {{
            auth_request /_sessiond;
            auth_request_set $sessiond_sub $upstream_http_x_sessiond_sub;
            proxy_set_header X-User $sessiond_sub;
            proxy_pass {upstream};
        }}
    }}
}}
"#
        );
        Nginx::run(dir, port, &conf, &[])
    }

    /// Checks `conf` with `nginx -t`, then runs it with `dir` as its prefix
    /// and `args` on both command lines; `port` is where it listens. Its
    /// error log is `dir/error.log`, or `dir/stderr.log` for `stderr`.
    pub fn run(dir: tempfile::TempDir, port: u16, conf: &str, args: &[&str]) -> Nginx {
        let binary = find_nginx().expect("nginx is required (.ci/run installs it)");
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let nginx = || {
            let mut cmd = Command::new(&binary);
            cmd.arg("-p").arg(dir.path()).arg("-c").arg(&conf_path).args(args);
            cmd
        };
        let test = nginx().arg("-t").output().unwrap();
        assert!(test.status.success(), "nginx -t: {}", String::from_utf8_lossy(&test.stderr));
        // Its output goes to files, not to the test's pipes, which a worker
        // outliving the test would hold open.
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let child = nginx().stdin(Stdio::null()).stdout(Stdio::null()).stderr(stderr).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let logs = || read(&dir.path().join("error.log")) + &read(&dir.path().join("stderr.log"));
            assert!(Instant::now() < deadline, "nginx did not start: {}", logs());
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx { child, port, _dir: dir }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The API behind nginx: it trusts the `X-User` header nginx sets.
async fn upstream() -> String {
    let app = axum::Router::new().route(
        "/api/whoami",
        axum::routing::get(|headers: axum::http::HeaderMap| async move {
            let user = headers.get("x-user").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            format!("hello {user}")
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nginx; .ci/run installs it and runs it"]
async fn nginx_auth_request_shuts_the_api_on_the_next_request_after_logout_disable_and_revocation() {
    let t = TestApp::spawn().await;
    let nginx = Nginx::start(&t.base, &upstream().await);
    let api = format!("http://127.0.0.1:{}/api/whoami", nginx.port);
    let call = |token: &str| t.http.get(&api).bearer_auth(token).send();
    let users = t.user_client().await;
    for name in ["alice", "bob", "carol"] {
        t.user(name, &format!("{name} password")).await;
    }
    let sign_in = |name: &'static str| t.sign_in(&users, name, Box::leak(format!("{name} password").into_boxed_str()));

    // Logout.
    let alice = s(&sign_in("alice").await, "access_token");
    let r = call(&alice).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), format!("hello {}", s(&claims(&alice), "sub")));
    assert_eq!(t.bearer(Method::POST, "/logout", &alice).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(call(&alice).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // An administrator disables the user.
    let bob = s(&sign_in("bob").await, "access_token");
    assert_eq!(call(&bob).await.unwrap().status(), StatusCode::OK);
    sessiond::sessions::disable_user(&t.app, "bob", &sessiond::sessions::Actor::cli()).await.unwrap().unwrap();
    assert_eq!(call(&bob).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // The token alone is revoked (RFC 7009).
    let carol = s(&sign_in("carol").await, "access_token");
    assert_eq!(call(&carol).await.unwrap().status(), StatusCode::OK);
    let revoke = t.http.post(t.url("/oauth2/revoke")).basic_auth(&users.id, Some(&users.secret));
    assert!(revoke.form(&[("token", carol.as_str())]).send().await.unwrap().status().is_success());
    assert_eq!(call(&carol).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // No token, or a forged one.
    assert_eq!(t.http.get(&api).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(call("forged.token.value").await.unwrap().status(), StatusCode::UNAUTHORIZED);
}
