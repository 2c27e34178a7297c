//! Every way of ending a session or a token: the affected tokens are
//! inactive in the very next request, refresh fails, and nothing unrelated
//! is touched.
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sessiond::config::{ConfigDuration, Settings};
use sessiond::domain::GrantType;

use crate::support::{claims, s, TestApp, TestClient};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    RevokeAccessToken,
    RevokeRefreshToken,
    Logout,
    MeDelete,
    AdminDelete,
    AdminEndAll,
    UserDisable,
    RefreshReuse,
    IdleTimeout,
}

struct World {
    t: TestApp,
    client: TestClient,
    rs: TestClient,
    admin: Value,
    /// alice's session A: the target.
    a: Value,
    /// alice's session B.
    b: Value,
    /// bob's session C.
    c: Value,
}

async fn world() -> World {
    let t = TestApp::spawn_with(|s| Settings {
        session_idle_timeout: Some(ConfigDuration(Duration::from_secs(200))),
        session_absolute_timeout: Some(ConfigDuration(Duration::from_secs(1000))),
        ..s
    })
    .await;
    let client = t.user_client().await;
    let rs = t.resource_server().await;
    t.user("alice", "alice password").await;
    t.user("bob", "bob password").await;
    let admin = t.admin_tokens(&client).await;
    let a = t.sign_in(&client, "alice", "alice password").await;
    let b = t.sign_in(&client, "alice", "alice password").await;
    let c = t.sign_in(&client, "bob", "bob password").await;
    World { t, client, rs, admin, a, b, c }
}

fn sid(tokens: &Value) -> String {
    claims(&s(tokens, "access_token"))["sid"].as_str().unwrap().to_owned()
}

/// Ends things the way named; returns the tokens that should now be live
/// for B and C (they may have been refreshed meanwhile).
async fn end(w: &World, way: Way) -> (Value, Value) {
    let t = &w.t;
    let at = s(&w.a, "access_token");
    let (mut b, mut c) = (w.b.clone(), w.c.clone());
    match way {
        Way::RevokeAccessToken | Way::RevokeRefreshToken => {
            let token = if way == Way::RevokeAccessToken { at } else { s(&w.a, "refresh_token") };
            let status = t
                .http
                .post(t.url("/oauth2/revoke"))
                .basic_auth(&w.client.id, Some(&w.client.secret))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, StatusCode::OK);
        }
        Way::Logout => {
            let r = t.bearer(Method::POST, "/logout?revoke=token&revoke=token_refresh", &at).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::NO_CONTENT);
        }
        Way::MeDelete => {
            let path = format!("/api/v1/me/sessions/{}", sid(&w.a));
            let r = t.bearer(Method::DELETE, &path, &s(&w.b, "access_token")).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::NO_CONTENT);
        }
        Way::AdminDelete => {
            let path = format!("/api/v1/admin/sessions/{}", sid(&w.a));
            let r = t.bearer(Method::DELETE, &path, &s(&w.admin, "access_token")).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::NO_CONTENT);
        }
        Way::AdminEndAll => {
            let r = t
                .bearer(Method::DELETE, "/api/v1/admin/users/alice/sessions", &s(&w.admin, "access_token"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(r.json::<Value>().await.unwrap()["ended"], 2);
        }
        Way::UserDisable => {
            let r = t
                .bearer(Method::POST, "/api/v1/admin/users/alice/disable", &s(&w.admin, "access_token"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(r.json::<Value>().await.unwrap()["sessions_ended"], 2);
        }
        Way::RefreshReuse => {
            let (status, _) = t.refresh(&w.client, &s(&w.a, "refresh_token")).await;
            assert_eq!(status, StatusCode::OK);
            let (status, _) = t.refresh(&w.client, &s(&w.a, "refresh_token")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
        }
        Way::IdleTimeout => {
            // B and C are used at 150 s; A is not used at all.
            t.clock.advance(Duration::from_secs(150));
            b = t.refresh(&w.client, &s(&b, "refresh_token")).await.1;
            c = t.refresh(&w.client, &s(&c, "refresh_token")).await.1;
            t.clock.advance(Duration::from_secs(51));
        }
    }
    (b, c)
}

async fn check(way: Way) {
    let w = world().await;
    let t = &w.t;
    // Everything is live before.
    for tokens in [&w.a, &w.b, &w.c] {
        assert!(t.active(&w.rs, &s(tokens, "access_token")).await);
    }
    let (b, c) = end(&w, way).await;

    // The very next request sees it.
    assert!(!t.active(&w.rs, &s(&w.a, "access_token")).await, "{way:?}: A's access token is dead");
    let a_refresh_dies = way != Way::RevokeAccessToken;
    let (status, body) = t.refresh(&w.client, &s(&w.a, "refresh_token")).await;
    if a_refresh_dies {
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{way:?}");
        assert!(!t.active(&w.rs, &s(&w.a, "refresh_token")).await, "{way:?}: A's refresh token is dead");
    } else {
        assert_eq!(status, StatusCode::OK, "{way:?}: revoking an access token leaves its refresh token");
    }

    // B belongs to the same user: it dies only with the user.
    let b_dies = matches!(way, Way::AdminEndAll | Way::UserDisable);
    assert_eq!(t.active(&w.rs, &s(&b, "access_token")).await, !b_dies, "{way:?}: B");
    let (status, _) = t.refresh(&w.client, &s(&b, "refresh_token")).await;
    assert_eq!(status == StatusCode::OK, !b_dies, "{way:?}: B's refresh");

    // C (another user) and the admin are never touched.
    assert!(t.active(&w.rs, &s(&c, "access_token")).await, "{way:?}: C unaffected");
    let (status, _) = t.refresh(&w.client, &s(&c, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{way:?}: C's refresh");
    if way != Way::IdleTimeout {
        assert!(t.active(&w.rs, &s(&w.admin, "access_token")).await);
    }
}

#[tokio::test]
async fn revoking_an_access_token() {
    check(Way::RevokeAccessToken).await;
}

#[tokio::test]
async fn revoking_a_refresh_token() {
    check(Way::RevokeRefreshToken).await;
}

#[tokio::test]
async fn logout() {
    check(Way::Logout).await;
}

#[tokio::test]
async fn deleting_my_session() {
    check(Way::MeDelete).await;
}

#[tokio::test]
async fn admin_deleting_a_session() {
    check(Way::AdminDelete).await;
}

#[tokio::test]
async fn admin_ending_all_sessions_of_a_user() {
    check(Way::AdminEndAll).await;
}

#[tokio::test]
async fn disabling_a_user() {
    check(Way::UserDisable).await;
}

#[tokio::test]
async fn refresh_token_reuse() {
    check(Way::RefreshReuse).await;
}

#[tokio::test]
async fn idle_timeout() {
    check(Way::IdleTimeout).await;
}

#[tokio::test]
async fn absolute_timeout() {
    let w = world().await;
    let t = &w.t;
    // A is used every 150 s, so it never idles out, until 1000 s have passed.
    let mut a = w.a.clone();
    for _ in 0..6 {
        t.clock.advance(Duration::from_secs(150));
        let (status, next) = t.refresh(&w.client, &s(&a, "refresh_token")).await;
        assert_eq!(status, StatusCode::OK, "{next}");
        a = next;
    }
    // 900 s: A's last access token is capped at the absolute expiry.
    assert_eq!(
        claims(&s(&a, "access_token"))["exp"].as_i64().unwrap()
            - claims(&s(&a, "access_token"))["iat"].as_i64().unwrap(),
        100
    );
    let fresh = t.sign_in(&w.client, "bob", "bob password").await;
    t.clock.advance(Duration::from_secs(100));
    assert!(!t.active(&w.rs, &s(&a, "access_token")).await, "absolute timeout ends A's tokens");
    let (status, _) = t.refresh(&w.client, &s(&a, "refresh_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(t.active(&w.rs, &s(&fresh, "access_token")).await, "a session begun later lives on");
}

#[tokio::test]
async fn revoking_a_client_credentials_token_and_removing_a_client() {
    let t = TestApp::spawn().await;
    let rs = t.resource_server().await;
    let machine = t.client(&[GrantType::ClientCredentials], "api:read").await;
    let token = |c: &TestClient| {
        let (t, c) = (&t, c.clone());
        async move { s(&t.token(&c, &[("grant_type", "client_credentials")]).await.1, "access_token") }
    };
    let first = token(&machine).await;
    let second = token(&machine).await;
    let status = t
        .http
        .post(t.url("/oauth2/revoke"))
        .basic_auth(&machine.id, Some(&machine.secret))
        .form(&[("token", first.as_str()), ("token_type_hint", "access_token")])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
    assert!(!t.active(&rs, &first).await);
    assert!(t.active(&rs, &second).await, "only the revoked token");

    // Removing the client kills every token it holds.
    sessiond::accounts::remove_client(&t.app, &machine.id, &sessiond::sessions::Actor::cli()).await.unwrap();
    assert!(!t.active(&rs, &second).await);
    let (status, _) = t.token(&machine, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(t.active(&rs, &token(&rs).await).await, "other clients' tokens live on");
}

#[tokio::test]
async fn a_token_of_another_client_is_not_revoked() {
    let t = TestApp::spawn().await;
    let rs = t.resource_server().await;
    let victim = t.client(&[GrantType::ClientCredentials], "").await;
    let other = t.client(&[GrantType::ClientCredentials], "").await;
    let token = s(&t.token(&victim, &[("grant_type", "client_credentials")]).await.1, "access_token");
    let response = t
        .http
        .post(t.url("/oauth2/revoke"))
        .basic_auth(&other.id, Some(&other.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "unauthorized_client");
    assert!(t.active(&rs, &token).await);
}

#[tokio::test]
async fn revocations_made_by_another_process_reach_the_server() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    let rs = t.resource_server().await;
    t.user("alice", "alice password").await;
    let tokens = t.sign_in(&client, "alice", "alice password").await;
    // A second App on the same data: what the CLI does.
    let config = t.app.config.clone();
    let other = sessiond::App::open(config, std::sync::Arc::new(sessiond::clock::SystemClock)).await.unwrap();
    let ended = sessiond::sessions::end_session(
        &other,
        &sessiond::domain::SessionId::new(sid(&tokens)),
        sessiond::domain::EndReason::Admin,
        &sessiond::sessions::Actor::cli(),
    )
    .await
    .unwrap();
    assert!(ended.is_some());
    // The server's follower polls every 200 ms; wait for it (bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while t.active(&rs, &s(&tokens, "access_token")).await {
        assert!(std::time::Instant::now() < deadline, "the follower never applied the revocation");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn pruning_forgets_what_can_no_longer_matter() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    let rs = t.resource_server().await;
    t.user("alice", "alice password").await;
    let tokens = t.sign_in(&client, "alice", "alice password").await;
    let r = t.bearer(Method::POST, "/logout", &s(&tokens, "access_token")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(t.app.validator.index_len(), 1);
    // The follower has read the entry back (its own writes are applied at
    // once, but read from the log later): it cannot bring it back after
    // the prune below.
    t.app.catch_up().await.unwrap();

    // Before the horizon the entry stays; after it, it goes, and the token
    // is still rejected (it has expired).
    sessiond::revocation::prune_once(&t.app).await.unwrap();
    assert_eq!(t.app.validator.index_len(), 1);
    t.clock.advance(Duration::from_secs(300 + 61));
    let counts = sessiond::revocation::prune_once(&t.app).await.unwrap();
    assert_eq!(t.app.validator.index_len(), 0);
    assert_eq!(counts.revocations, 1);
    assert!(!t.active(&rs, &s(&tokens, "access_token")).await);

    // A session past its idle timeout is marked expired by the pruner.
    let idle = t.sign_in(&client, "alice", "alice password").await;
    t.clock.advance(Duration::from_secs(13 * 3600));
    sessiond::revocation::prune_once(&t.app).await.unwrap();
    let session = t.app.store.session(&sessiond::domain::SessionId::new(sid(&idle))).await.unwrap().unwrap();
    assert_eq!(session.end_reason.map(|r| r.as_str()), Some("expired"));
}

/// A process applies its own revocations at once, but its place in the log
/// moves only by reading it: an entry another process numbered lower and
/// committed earlier is still read (on PostgreSQL the two commit in number
/// order, yet this process may write before it reads the other's).
#[tokio::test]
async fn applying_its_own_revocation_never_makes_a_process_skip_anothers() {
    use sessiond::config::{Config, Settings};
    use sessiond::store::NewRevocation;
    use sessiond_guard::RevocationKind;

    let data = crate::support::TestData::new().await;
    let config = Config::resolve(Settings { issuer: Some("http://sessiond.test".into()), ..data.settings() }).unwrap();
    let clock = std::sync::Arc::new(sessiond::clock::SystemClock);
    let a = sessiond::App::open(config.clone(), clock.clone()).await.unwrap();
    let b = sessiond::App::open(config, clock).await.unwrap();
    let now = sessiond::clock::Clock::now(&sessiond::clock::SystemClock);
    let token = |jti: &str| NewRevocation {
        kind: RevocationKind::Token,
        subject: jti.to_owned(),
        cutoff: None,
        expires_at: now.plus(Duration::from_secs(600)),
    };
    let first = a.store.append_revocations(&[token("written-by-a")], now, sessiond::store::unaudited()).await.unwrap();
    a.apply_revocations(&first);
    let second = b.store.append_revocations(&[token("written-by-b")], now, sessiond::store::unaudited()).await.unwrap();
    b.apply_revocations(&second);
    assert!(second[0].seq > first[0].seq);
    b.catch_up().await.unwrap();
    assert!(b.validator.is_id_revoked(RevocationKind::Token, "written-by-a"), "b skipped a's entry");
    assert!(b.validator.is_id_revoked(RevocationKind::Token, "written-by-b"));
    assert_eq!(b.log_position(), second[0].seq);
}

/// Revocations that arrive together are committed together (their log rows
/// and audit events inserted many to a statement): each still gets a log
/// row of its own with its own `seq`, and an audit event, and a server
/// started afterwards on the same data, which rebuilds its index from the
/// log, finds every token revoked. Each token is revoked twice at once, so
/// some batches hold two rows that are the same but for `seq`.
#[tokio::test]
async fn revocations_committed_together_each_get_their_row_and_audit_event() {
    const TOKENS: usize = 48;
    let t = TestApp::spawn().await;
    let rs = t.resource_server().await;
    let machine = t.client(&[GrantType::ClientCredentials], "api:read").await;
    let mut tokens = Vec::new();
    for _ in 0..TOKENS {
        tokens.push(s(&t.token(&machine, &[("grant_type", "client_credentials")]).await.1, "access_token"));
    }
    let revoke = |token: String| {
        let request = t.http.post(t.url("/oauth2/revoke")).basic_auth(&machine.id, Some(&machine.secret));
        async move { request.form(&[("token", token.as_str())]).send().await.unwrap().status() }
    };
    let statuses = futures_util::future::join_all(tokens.iter().chain(&tokens).map(|tok| revoke(tok.clone()))).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");

    let log = t.app.store.revocations_after(0, 10_000).await.unwrap();
    let jtis: Vec<String> = tokens.iter().map(|tok| s(&claims(tok), "jti")).collect();
    let mut seqs: Vec<i64> = log.iter().map(|r| r.seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), log.len(), "every row has a seq of its own");
    for jti in &jtis {
        assert!(log.iter().any(|r| &r.subject == jti), "{jti} is in the log");
    }
    let filter = sessiond::domain::AuditFilter { limit: 10_000, ..Default::default() };
    let events = t.app.store.audit_events(&filter).await.unwrap();
    let revoked: Vec<_> = events.iter().filter_map(|e| e.detail.as_deref()?.strip_prefix("access token ")).collect();
    assert_eq!(revoked.len(), log.len(), "one audit event a log row");
    for jti in &jtis {
        assert!(revoked.contains(&jti.as_str()), "{jti} is in the audit trail");
    }

    let restarted = TestApp::spawn_on(t.data.clone(), |s| s).await;
    let rs_again = TestClient { id: rs.id.clone(), secret: rs.secret.clone() };
    for tok in &tokens {
        assert!(!restarted.active(&rs_again, tok).await, "still revoked after the index is rebuilt");
    }
}
