//! No token, secret, password, cookie or Authorization header in the logs,
//! at any level: a server logging everything (`trace`, every crate, JSON)
//! goes through sign-in, refresh, introspection, revocation, logout, the
//! session API and a browser sign-in, and its log is searched for every
//! secret it saw.
use std::process::{Command, Stdio};

use reqwest::StatusCode;

use crate::cli::{cli, json, run, serve, sessiond};
use crate::remote::Remote;
use crate::support::{s, TestClient, TestData};

const ISSUER: &str = "http://sessiond.test";
const PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_logs() {
    let dir = TestData::new().await;
    assert!(cli(&dir, &["--issuer", ISSUER, "init"]).status.success());
    let mut add = sessiond(&dir);
    add.args(["user", "add", "alice", "--password-stdin"]);
    assert!(run(add, Some(&format!("{PASSWORD}\n"))).status.success());
    let registered = json(&cli(
        &dir,
        &["client", "add", "app", "--grant", "password", "refresh_token", "client_credentials", "--json"],
    ));
    let client = TestClient { id: s(&registered, "client_id"), secret: s(&registered, "client_secret") };
    let log_path = dir.path().join("server.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let server = serve(&dir, |c: &mut Command| {
        c.args(["--issuer", ISSUER, "--log-format", "json"]).env("SESSIOND_LOG", "trace").stderr(Stdio::from(log_file));
    });
    let remote = Remote::new(&server.base, &client);

    let mut secrets = vec![PASSWORD.to_owned(), client.secret.clone()];
    let first = remote.sign_in("alice", PASSWORD).await;
    let (status, second) = remote.refresh(&s(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    // Introspection of both kinds of token.
    assert!(remote.active(&s(&second, "access_token")).await);
    assert!(remote.active(&s(&second, "refresh_token")).await);
    let listed = remote
        .http
        .get(format!("{}/api/v1/me/sessions", server.base))
        .bearer_auth(s(&second, "access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    remote.revoke(&s(&second, "refresh_token")).await;
    let cc = remote.client_token().await;
    remote.revoke(&cc).await;
    let third = remote.sign_in("alice", PASSWORD).await;
    remote.logout(&s(&third, "access_token")).await;
    // A wrong password is logged as a failure, without the attempt.
    let (status, _) = remote
        .post("/oauth2/token", &[("grant_type", "password"), ("username", "alice"), ("password", "hunter2-x")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    secrets.push("hunter2-x".into());
    for tokens in [&first, &second, &third] {
        secrets.push(s(tokens, "access_token"));
        secrets.push(s(tokens, "refresh_token"));
    }
    secrets.push(cc);

    // A browser signs in: its cookies are secrets too.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(format!("{}/login", server.base)).send().await.unwrap();
    let mut cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
        .collect();
    let html = page.text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_owned();
    let signed_in = http
        .post(format!("{}/login", server.base))
        .header("cookie", cookies.join("; "))
        .header("origin", ISSUER)
        .form(&[("csrf", csrf.as_str()), ("username", "alice"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(signed_in.status().is_redirection(), "browser sign-in: {}", signed_in.status());
    cookies.extend(
        signed_in
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").to_owned()),
    );
    for cookie in &cookies {
        if let Some((_, value)) = cookie.split_once('=') {
            if value.len() >= 16 {
                secrets.push(value.to_owned());
            }
        }
    }
    assert!(cookies.iter().any(|c| c.starts_with("sessiond=")), "the SSO cookie was set: {cookies:?}");

    drop(server);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.lines().count() > 50, "the server logged at trace level");
    assert!(log.contains("\"request_id\""), "JSON lines with the request span");
    // The request line names the route and, once authenticated, the client.
    let token_line = log
        .lines()
        .find(|l| l.contains("\"route\":\"/oauth2/token\"") && l.contains("\"status\":200"))
        .expect("a request line for the token endpoint");
    assert!(token_line.contains(&format!("\"client_id\":\"{}\"", client.id)), "{token_line}");
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a secret reached the log: {}…", &secret[..8.min(secret.len())]);
    }
    let basic = base64_basic(&client);
    for marker in ["authorization:", "Authorization:", "Bearer ey", &basic] {
        assert!(!log.contains(marker), "the log holds {marker:?}");
    }
}

fn base64_basic(client: &TestClient) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", client.id, client.secret))
}
