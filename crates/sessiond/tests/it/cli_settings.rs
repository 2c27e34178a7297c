//! The command line and the server never silently disagree: management
//! commands judge tokens with the settings the server recorded, refuse
//! explicit settings that differ, and refuse data that does not exist.
use reqwest::StatusCode;

use crate::cli::{cli, json, serve};
use crate::remote::Remote;
use crate::support::{s, TestClient, TestData};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// Multi-threaded: the test waits on CLI processes while it also talks HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_commands_agree_with_a_server_on_another_address() {
    let dir = TestData::new().await;
    assert!(cli(&dir, &["init"]).status.success());
    let registered =
        json(&cli(&dir, &["client", "add", "rs", "--grant", "client_credentials", "--resource-server", "--json"]));
    let client = TestClient { id: s(&registered, "client_id"), secret: s(&registered, "client_secret") };
    // The server's issuer is its own address, not the default one the
    // command line would assume.
    let server = serve(&dir, |c| {
        c.args(["--access-token-ttl", "30m"]);
    });
    let remote = Remote::new(&server.base, &client);
    let (status, body) = remote.post("/oauth2/token", &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = s(&body, "access_token");

    let seen = json(&cli(&dir, &["token", "introspect", &token, "--json"]));
    assert_eq!(seen["active"], true, "the command line sees the live token the server issued: {seen}");
    assert_eq!(seen["iss"], server.base.as_str());

    let revoked = cli(&dir, &["token", "revoke", &token, "--json"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert_eq!(json(&revoked)["revoked"], true);
    let (_, answer) = remote.post("/oauth2/introspect", &[("token", &token)]).await;
    // The server follows the log the command line wrote (polled on SQLite).
    let mut answer = answer;
    for _ in 0..50 {
        if answer["active"] == false {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        answer = remote.post("/oauth2/introspect", &[("token", &token)]).await.1;
    }
    assert_eq!(answer, serde_json::json!({"active": false}));

    // Nothing left to revoke: the command says so and fails.
    let again = cli(&dir, &["token", "revoke", &token]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("nothing revoked"), "{}", stderr(&again));
    let garbage = cli(&dir, &["token", "revoke", "not.a.token"]);
    assert!(!garbage.status.success());

    // An explicit setting that differs from the recorded one is refused,
    // not silently used.
    let out = cli(&dir, &["--issuer", "https://elsewhere.example", "token", "introspect", &token]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("issuer"), "{}", stderr(&out));
    let out = cli(&dir, &["--access-token-ttl", "5m", "user", "list"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("access_token_ttl"), "{}", stderr(&out));
    // The recorded value itself is fine.
    assert!(cli(&dir, &["--access-token-ttl", "30m", "user", "list"]).status.success());
}

#[tokio::test]
async fn a_missing_data_directory_is_an_error_not_an_empty_database() {
    let parent = TestData::new().await;
    let typo = parent.path().join("sesiond-data");
    for args in [&["user", "list"][..], &["session", "list"], &["client", "list"], &["key", "list"]] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sessiond"));
        cmd.arg("--data-dir").arg(&typo).args(args).env_remove("SESSIOND_DATABASE_URL");
        let out = crate::cli::run(cmd, None);
        assert!(!out.status.success(), "{args:?} succeeded on a missing data directory");
        assert!(stderr(&out).contains("no sessiond data"), "{}", stderr(&out));
        assert!(!typo.exists(), "{args:?} created the directory");
    }
    // `init` creates it; then the same commands work.
    let mut init = std::process::Command::new(env!("CARGO_BIN_EXE_sessiond"));
    init.arg("--data-dir")
        .arg(&typo)
        .args(["--password-memory-kib", "256", "init"])
        .env_remove("SESSIOND_DATABASE_URL");
    let out = crate::cli::run(init, None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("admin /"), "init shows the first credentials once");
    let mut list = std::process::Command::new(env!("CARGO_BIN_EXE_sessiond"));
    list.arg("--data-dir").arg(&typo).args(["user", "list", "--json"]).env_remove("SESSIOND_DATABASE_URL");
    let users = json(&crate::cli::run(list, None));
    assert_eq!(users[0]["name"], "admin");
}
