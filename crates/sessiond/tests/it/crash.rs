//! Durability: a revocation acknowledged before a crash is enforced after
//! the restart (design invariant 2).
use std::process::Command;

use reqwest::StatusCode;

use crate::cli::{cli, json, run, serve, sessiond, Server};
use crate::remote::Remote;
use crate::support::{s, TestClient, TestData};

const ISSUER: &str = "http://sessiond.test";

fn start(dir: &TestData) -> Server {
    serve(dir, |c: &mut Command| {
        c.args(["--issuer", ISSUER]);
    })
}

#[tokio::test]
async fn revocations_survive_sigkill_and_restart() {
    let dir = TestData::new().await;
    assert!(cli(&dir, &["--issuer", ISSUER, "init"]).status.success());
    let mut add = sessiond(&dir);
    add.args(["user", "add", "alice", "--password-stdin"]);
    assert!(run(add, Some("alice password\n")).status.success());

    let registered = json(&cli(
        &dir,
        &["client", "add", "app", "--grant", "client_credentials", "password", "refresh_token", "--json"],
    ));
    let client = TestClient { id: s(&registered, "client_id"), secret: s(&registered, "client_secret") };
    let mut server = start(&dir);
    let mut remote = Remote::new(&server.base, &client);

    let revoked_access = remote.sign_in("alice", "alice password").await;
    let logged_out = remote.sign_in("alice", "alice password").await;
    let revoked_refresh = remote.sign_in("alice", "alice password").await;
    let control = remote.sign_in("alice", "alice password").await;
    let cc_revoked = remote.client_token().await;
    let cc_control = remote.client_token().await;

    for token in [s(&revoked_access, "access_token"), s(&revoked_refresh, "refresh_token"), cc_revoked.clone()] {
        remote.revoke(&token).await;
    }
    remote.logout(&s(&logged_out, "access_token")).await;

    // Crash: no shutdown, no flush, nothing.
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    // While no server runs, the CLI already sees the revocations.
    let out =
        json(&cli(&dir, &["--issuer", ISSUER, "token", "introspect", &s(&revoked_access, "access_token"), "--json"]));
    assert_eq!(out, serde_json::json!({"active": false}));

    let server = start(&dir);
    remote.base = server.base.clone();
    let dead = [
        s(&revoked_access, "access_token"),
        s(&logged_out, "access_token"),
        s(&revoked_refresh, "access_token"),
        s(&revoked_refresh, "refresh_token"),
        s(&logged_out, "refresh_token"),
        cc_revoked,
    ];
    for token in &dead {
        assert!(!remote.active(token).await, "revoked before the crash, alive after it: {token}");
    }
    for token in
        [s(&control, "access_token"), s(&control, "refresh_token"), cc_control, s(&revoked_access, "refresh_token")]
    {
        assert!(remote.active(&token).await, "never revoked: {token}");
    }
    for (tokens, want) in [
        (&logged_out, StatusCode::BAD_REQUEST),
        (&revoked_refresh, StatusCode::BAD_REQUEST),
        (&control, StatusCode::OK),
    ] {
        let (status, _) = remote
            .post("/oauth2/token", &[("grant_type", "refresh_token"), ("refresh_token", &s(tokens, "refresh_token"))])
            .await;
        assert_eq!(status, want);
    }
}

/// Group commit: 32 clients revoke as fast as they can and the server is
/// SIGKILLed among them. Every revocation answered 200 was committed before
/// its answer, so each is in force after the restart; the ones cut off
/// unanswered may have landed or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_revocation_answered_under_load_survives_sigkill() {
    const CLIENTS: usize = 32;
    let dir = TestData::new().await;
    assert!(cli(&dir, &["--issuer", ISSUER, "init"]).status.success());
    let registered = json(&cli(&dir, &["client", "add", "app", "--grant", "client_credentials", "--json"]));
    let client = TestClient { id: s(&registered, "client_id"), secret: s(&registered, "client_secret") };
    let mut server = start(&dir);
    let remote = Remote::new(&server.base, &client);

    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..CLIENTS {
        let (remote, answered, stop) = (remote.clone(), answered.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(issued) = remote
                    .http
                    .post(format!("{}/oauth2/token", remote.base))
                    .basic_auth(&remote.client.id, Some(&remote.client.secret))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                else {
                    return;
                };
                let Ok(body) = issued.json::<serde_json::Value>().await else { return };
                let token = s(&body, "access_token");
                let revoked = remote
                    .http
                    .post(format!("{}/oauth2/revoke", remote.base))
                    .basic_auth(&remote.client.id, Some(&remote.client.secret))
                    .form(&[("token", token.as_str())])
                    .send()
                    .await;
                match revoked {
                    Ok(r) if r.status() == StatusCode::OK => answered.lock().unwrap().push(token),
                    Ok(r) => panic!("revocation answered {}", r.status()),
                    // Cut off by the crash: never answered.
                    Err(_) => return,
                }
            }
        }));
    }
    // Crash while the revocations are in full flow.
    let started = std::time::Instant::now();
    while answered.lock().unwrap().len() < 400 && started.elapsed() < std::time::Duration::from_secs(60) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() >= 400, "the load never got going: {} revocations answered", answered.len());

    let server = start(&dir);
    let remote = Remote::new(&server.base, &client);
    for token in &answered {
        assert!(!remote.active(token).await, "a revocation answered 200 before the crash was lost");
    }
    // And the server still issues what it should: the control.
    assert!(remote.active(&remote.client_token().await).await);
}
