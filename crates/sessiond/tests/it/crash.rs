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
