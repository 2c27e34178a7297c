//! The sign-in gate, over HTTP: password hashing bounded by its permits
//! (503 beyond them), throttling per client IP and per account (429), one
//! answer for every refused credential, and what a failed sign-in may leave
//! in the audit trail.
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sessiond::config::{ConfigDuration, Settings};
use sessiond::domain::AuditFilter;

use crate::support::{s, TestApp, TestClient};

/// One answer, whole.
struct Answer {
    status: StatusCode,
    retry_after: Option<u64>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn error(&self) -> String {
        s(&self.json(), "error")
    }

    /// 429 or 503 in the RFC 6749 §5.2 format, with a usable `Retry-After`.
    fn assert_shed(&self, status: StatusCode) {
        assert_eq!(self.status, status, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.error(), "temporarily_unavailable");
        assert!(self.json()["error_description"].is_string());
        assert!(self.retry_after.is_some_and(|secs| secs >= 1), "Retry-After in whole seconds");
    }
}

/// A password-grant attempt from `http` (whose source address may differ).
async fn attempt(t: &TestApp, http: &reqwest::Client, client: &TestClient, user: &str, password: &str) -> Answer {
    let response = http
        .post(t.url("/oauth2/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("grant_type", "password"), ("username", user), ("password", password)])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
    Answer { status, retry_after, body: response.bytes().await.unwrap().to_vec() }
}

/// Both limiters off.
fn unthrottled(s: Settings) -> Settings {
    Settings { login_attempts_per_account: Some(0), login_attempts_per_ip: Some(0), ..s }
}

async fn audit_rows(t: &TestApp) -> Vec<sessiond::domain::AuditEvent> {
    t.app.store.audit_events(&AuditFilter { limit: 1000, ..AuditFilter::default() }).await.unwrap()
}

#[tokio::test]
async fn password_hashing_never_exceeds_its_permits_and_the_overflow_gets_503() {
    // Room for one 16 MiB hash at a time, and a short wait for it.
    let t = TestApp::spawn_with(|s| Settings {
        password_memory_kib: Some(16 * 1024),
        password_iterations: Some(2),
        password_memory_budget_kib: Some(16 * 1024),
        password_queue_wait: Some(ConfigDuration(Duration::from_millis(50))),
        ..unthrottled(s)
    })
    .await;
    let client = t.user_client().await;
    t.user("alice", "correct horse").await;

    let flood = (0..32).map(|i| {
        let (t, client) = (&t, &client);
        async move { attempt(t, &t.http, client, "alice", &format!("wrong {i}")).await }
    });
    let answers = join_all(flood).await;
    let checked = answers.iter().filter(|a| a.status == StatusCode::BAD_REQUEST).count();
    let shed: Vec<&Answer> = answers.iter().filter(|a| a.status == StatusCode::SERVICE_UNAVAILABLE).collect();
    assert_eq!(checked + shed.len(), answers.len(), "only 400 and 503");
    assert!(checked >= 1, "the permit holder is answered");
    assert!(!shed.is_empty(), "32 at once with room for one: some are shed");
    for a in shed {
        a.assert_shed(StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(t.app.hashing.peak(), 1, "never more than one hash at once");
    assert_eq!(t.app.hashing.size(), 1);

    // The flood over, the permit is free again.
    t.sign_in(&client, "alice", "correct horse").await;
}

#[tokio::test]
async fn the_account_limiter_answers_429_after_its_quota_and_spares_other_accounts() {
    // All test traffic comes from 127.0.0.1: the IP limiter stays off here.
    let t =
        TestApp::spawn_with(|s| Settings { login_attempts_per_account: Some(3), login_attempts_per_ip: Some(0), ..s })
            .await;
    let client = t.user_client().await;
    t.user("alice", "correct horse").await;
    t.user("bob", "correct horse").await;

    for i in 0..3 {
        let a = attempt(&t, &t.http, &client, "alice", &format!("guess {i}")).await;
        assert_eq!((a.status, a.error()), (StatusCode::BAD_REQUEST, "invalid_grant".into()));
    }
    let hashed = t.app.hashing.started();
    // Even the right password: the account is throttled, whatever the case.
    for name in ["alice", "ALICE", "Alice"] {
        let a = attempt(&t, &t.http, &client, name, "correct horse").await;
        a.assert_shed(StatusCode::TOO_MANY_REQUESTS);
        assert!(a.retry_after.unwrap() <= 20, "one attempt back every 60 s / 3");
    }
    assert_eq!(t.app.hashing.started(), hashed, "refused without running Argon2");

    t.sign_in(&client, "bob", "correct horse").await;

    // A name that is nobody's is throttled exactly the same way, so a 429
    // does not tell which accounts exist.
    for _ in 0..3 {
        assert_eq!(attempt(&t, &t.http, &client, "nobody", "guess").await.status, StatusCode::BAD_REQUEST);
    }
    attempt(&t, &t.http, &client, "nobody", "guess").await.assert_shed(StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_ip_limiter_answers_429_to_an_address_spraying_names_and_spares_other_addresses() {
    let t =
        TestApp::spawn_with(|s| Settings { login_attempts_per_account: Some(0), login_attempts_per_ip: Some(4), ..s })
            .await;
    let client = t.user_client().await;
    t.user("alice", "correct horse").await;

    for name in ["u0", "u1", "u2", "alice"] {
        let a = attempt(&t, &t.http, &client, name, "guess").await;
        assert_eq!((a.status, a.error()), (StatusCode::BAD_REQUEST, "invalid_grant".into()), "{name}");
    }
    let hashed = t.app.hashing.started();
    let a = attempt(&t, &t.http, &client, "alice", "correct horse").await;
    a.assert_shed(StatusCode::TOO_MANY_REQUESTS);
    attempt(&t, &t.http, &client, "u4", "guess").await.assert_shed(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(t.app.hashing.started(), hashed, "refused without running Argon2");

    // Another address (all of 127/8 is loopback) is not affected.
    let other = reqwest::Client::builder().local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).build().unwrap();
    let a = attempt(&t, &other, &client, "alice", "correct horse").await;
    assert_eq!(a.status, StatusCode::OK, "{}", String::from_utf8_lossy(&a.body));
}

#[tokio::test]
async fn unknown_user_wrong_password_and_disabled_user_get_byte_identical_answers() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    t.user("alice", "correct horse").await;
    t.user("bob", "correct horse").await;
    sessiond::accounts::disable_user(&t.app, "bob", &sessiond::sessions::Actor::cli()).await.unwrap();

    let answers = [
        attempt(&t, &t.http, &client, "carol", "correct horse").await,
        attempt(&t, &t.http, &client, "alice", "wrong horse").await,
        attempt(&t, &t.http, &client, "bob", "correct horse").await,
        attempt(&t, &t.http, &client, "bob", "wrong horse").await,
    ];
    let first = &answers[0];
    assert_eq!(first.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        first.json(),
        serde_json::json!({"error": "invalid_grant", "error_description": "invalid username or password"})
    );
    for (i, a) in answers.iter().enumerate() {
        assert_eq!(
            (a.status, &a.body),
            (first.status, &first.body),
            "answer {i}: {}",
            String::from_utf8_lossy(&a.body)
        );
    }

    // The audit trail, for administrators only, still says why.
    let details: Vec<String> = audit_rows(&t)
        .await
        .into_iter()
        .filter(|e| e.kind == Some(sessiond::domain::AuditKind::SignInFailed))
        .filter_map(|e| e.detail)
        .collect();
    for why in ["unknown user", "wrong password", "user is disabled"] {
        assert!(details.iter().any(|d| d == why), "{why} in {details:?}");
    }
}

#[tokio::test]
async fn an_oversized_username_is_refused_before_hashing_and_leaves_no_audit_row() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    t.user("alice", "correct horse").await;
    let hashed = t.app.hashing.started();

    let huge = "x".repeat(10 * 1024);
    let a = attempt(&t, &t.http, &client, &huge, "guess").await;
    assert_eq!((a.status, a.error()), (StatusCode::BAD_REQUEST, "invalid_request".into()));
    assert_eq!(t.app.hashing.started(), hashed, "no Argon2 for it");
    let rows = audit_rows(&t).await;
    assert!(rows.iter().all(|e| e.kind != Some(sessiond::domain::AuditKind::SignInFailed)), "{rows:?}");
    assert!(!format!("{rows:?}").contains("xxxx"));

    // At the limit, a name is checked (and refused) like any other.
    let a = attempt(&t, &t.http, &client, &"y".repeat(256), "guess").await;
    assert_eq!((a.status, a.error()), (StatusCode::BAD_REQUEST, "invalid_grant".into()));
}

#[tokio::test]
async fn a_failed_sign_in_of_an_unknown_name_stores_only_its_first_characters() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    t.user("alice", "correct horse").await;
    let admin = t.admin_tokens(&client).await;

    // A password typed into the name field, a real user's wrong password
    // (from a User-Agent with a tab, the one control character a header may
    // carry), a name carrying a terminal escape.
    attempt(&t, &t.http, &client, "Tr0ub4dor&3-correct", "x").await;
    let tabbed = reqwest::Client::builder().user_agent("agent\tsecond: line").build().unwrap();
    attempt(&t, &tabbed, &client, "alice", "wrong horse").await;
    attempt(&t, &t.http, &client, "\u{1b}[2Jforged", "x").await;

    let r = t.bearer(Method::GET, "/api/v1/admin/audit?limit=1000", &s(&admin, "access_token")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let failed: Vec<&Value> =
        body["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "sign_in_failed").collect();
    let names: Vec<&str> = failed.iter().map(|e| e["user_name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.contains(&"Tr0…"), "{names:?}");
    assert!(names.contains(&"alice"), "a real user's name is kept whole: {names:?}");
    assert!(names.contains(&"\u{fffd}[2…"), "control characters replaced: {names:?}");
    let alice = failed.iter().find(|e| e["user_name"] == "alice").unwrap();
    assert_eq!(alice["user_agent"], "agent\u{fffd}second: line");
    let text = body.to_string();
    assert!(!text.contains("Tr0ub4dor") && !text.contains("forged"));
}
