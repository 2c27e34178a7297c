//! A revocation never lapses before the tokens it covers, whoever wrote it
//! and whatever the configuration says later: after a restart with a
//! shorter token lifetime, when the command line (with its own defaults)
//! disables a user, and between nodes configured with different lifetimes.
//! Time moves on the injected clock; nothing sleeps.
use std::time::Duration;

use reqwest::{Method, StatusCode};
use sessiond::clock::Clock;
use sessiond::config::{ConfigDuration, Settings};
use sessiond::domain::GrantType;
use sessiond::revocation::prune_once;
use sessiond::sessions::{self, Actor};

use crate::cli::cli;
use crate::support::{s, TestApp};

fn ttl(minutes: u64) -> impl FnOnce(Settings) -> Settings {
    move |s| Settings { access_token_ttl: Some(ConfigDuration(Duration::from_secs(minutes * 60))), ..s }
}

/// The same server restarted: same data, same issuer, another lifetime.
fn restarted(issuer: &str, minutes: u64) -> impl FnOnce(Settings) -> Settings + '_ {
    move |s| ttl(minutes)(Settings { issuer: Some(issuer.to_owned()), ..s })
}

/// Moves the clock, applies what the log holds and prunes, as the
/// background task would.
async fn later(t: &TestApp, by: Duration) {
    t.clock.advance(by);
    t.app.catch_up().await.unwrap();
    prune_once(&t.app).await.unwrap();
}

async fn me_status(t: &TestApp, token: &str) -> StatusCode {
    t.bearer(Method::GET, "/api/v1/me/sessions", token).send().await.unwrap().status()
}

#[tokio::test]
async fn a_restart_with_a_shorter_lifetime_never_revives_revoked_tokens() {
    // Tokens issued for 30 minutes.
    let before = TestApp::spawn_with(ttl(30)).await;
    let client = before.user_client().await;
    let rs = before.resource_server().await;
    before.user("alice", "alice password").await;
    before.user("bob", "bob password").await;
    let alice = s(&before.sign_in(&client, "alice", "alice password").await, "access_token");
    let bob = s(&before.sign_in(&client, "bob", "bob password").await, "access_token");

    // Incident response: lifetime lowered to one minute, server restarted
    // on the same data; then alice logs out and bob is disabled.
    let after = TestApp::spawn_on(before.data.clone(), restarted(&before.base, 1)).await;
    after.clock.set(before.clock.now());
    let logout = after.bearer(Method::POST, "/logout", &alice).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    sessions::disable_user(&after.app, "bob", &Actor::cli()).await.unwrap().unwrap();
    assert!(!after.active(&rs, &alice).await && !after.active(&rs, &bob).await);

    // Well past one minute (and its margin), while the tokens still live.
    for _ in 0..3 {
        later(&after, Duration::from_secs(5 * 60)).await;
        assert!(!after.active(&rs, &alice).await, "alice's logged-out token revived");
        assert!(!after.active(&rs, &bob).await, "the disabled user's token revived");
        assert_eq!(me_status(&after, &bob).await, StatusCode::UNAUTHORIZED);
    }
    // A fresh process on the same data (its index rebuilt from the log)
    // agrees.
    let third = TestApp::spawn_on(before.data.clone(), restarted(&before.base, 1)).await;
    third.clock.set(after.clock.now());
    third.app.catch_up().await.unwrap();
    prune_once(&third.app).await.unwrap();
    assert!(!third.active(&rs, &alice).await && !third.active(&rs, &bob).await);
}

// Multi-threaded: the test waits on a CLI process while the server runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_disabled_from_the_command_line_with_default_settings_stays_out() {
    let t = TestApp::spawn_with(ttl(30)).await;
    let client = t.user_client().await;
    let rs = t.resource_server().await;
    t.user("bob", "bob password").await;
    let bob = s(&t.sign_in(&client, "bob", "bob password").await, "access_token");

    // The command line knows nothing of the server's 30 minutes.
    let out = cli(&t.data, &["user", "disable", "bob"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    t.app.catch_up().await.unwrap();
    assert!(!t.active(&rs, &bob).await);

    // Past the CLI's default five minutes and margin, with no restart.
    for _ in 0..4 {
        later(&t, Duration::from_secs(5 * 60)).await;
        assert!(!t.active(&rs, &bob).await, "bob's token is active again");
        assert_eq!(me_status(&t, &bob).await, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn nodes_with_different_lifetimes_agree_on_every_revocation() {
    let long = TestApp::spawn_with(ttl(30)).await;
    let short = TestApp::spawn_on(long.data.clone(), ttl(5)).await;
    short.clock.set(long.clock.now());
    let users = long.user_client().await;
    let machine = long.client(&[GrantType::ClientCredentials], "").await;
    let rs = long.resource_server().await;
    long.user("carol", "carol password").await;
    long.user("dave", "dave password").await;
    let carol = long.sign_in(&users, "carol", "carol password").await;
    let dave = s(&long.sign_in(&users, "dave", "dave password").await, "access_token");
    let (status, body) = long.token(&machine, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::OK);
    let machine_token = s(&body, "access_token");

    // The short-lived node ends carol's session, disables dave and removes
    // the machine client: each revocation covers tokens of the long node.
    let sid = sessiond::domain::SessionId::new(s(&crate::support::claims(&s(&carol, "access_token")), "sid"));
    sessions::end_session(&short.app, &sid, sessiond::domain::EndReason::Admin, &Actor::cli()).await.unwrap();
    sessions::disable_user(&short.app, "dave", &Actor::cli()).await.unwrap().unwrap();
    sessiond::accounts::remove_client(&short.app, &machine.id, &Actor::cli()).await.unwrap();
    long.app.catch_up().await.unwrap();

    let carol_token = s(&carol, "access_token");
    for _ in 0..5 {
        later(&long, Duration::from_secs(5 * 60)).await;
        for token in [&carol_token, &dave, &machine_token] {
            assert!(!long.active(&rs, token).await, "a token of the long-lived node revived");
        }
    }
    let (status, _) = long.refresh(&users, &s(&carol, "refresh_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
