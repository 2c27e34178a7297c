//! Each grant of the token endpoint, end to end.
use reqwest::StatusCode;
use sessiond::clock::Clock;
use sessiond::domain::{ClientKind, GrantType, SessionId};

use crate::support::{claims, s, TestApp};

#[tokio::test]
async fn client_credentials_token_verifies_against_the_published_jwks() {
    let t = TestApp::spawn().await;
    let client = t.client(&[GrantType::ClientCredentials], "api:read api:write").await;

    let (status, body) = t.token(&client, &[("grant_type", "client_credentials"), ("scope", "api:read")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "api:read");
    assert!(body.get("refresh_token").is_none(), "RFC 6749 §4.4.3: no refresh token");

    let c = t.verify_with_jwks(&s(&body, "access_token")).await;
    assert_eq!(c["sub"], client.id.as_str(), "RFC 9068 §2.2: sub is the client");
    assert_eq!(c["client_id"], client.id.as_str());
    assert_eq!(c["scope"], "api:read");
    assert!(c.get("sid").is_none(), "client tokens belong to no session");
    assert!(c["jti"].as_str().unwrap().len() >= 22);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 300);
}

#[tokio::test]
async fn client_secret_post_works_like_basic() {
    let t = TestApp::spawn().await;
    let client = t.client(&[GrantType::ClientCredentials], "").await;
    let response = t
        .http
        .post(t.url("/oauth2/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", &client.id), ("client_secret", &client.secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body.get("scope").is_none(), "an empty scope is not sent");
}

#[tokio::test]
async fn password_grant_opens_a_session_that_names_every_token() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    t.user("alice", "correct horse").await;

    let response = t
        .http
        .post(t.url("/oauth2/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .header("User-Agent", "it-test/1.0")
        .form(&[("grant_type", "password"), ("username", "alice"), ("password", "correct horse")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(s(&body, "refresh_token").len(), 43, "256-bit refresh token");

    let c = t.verify_with_jwks(&s(&body, "access_token")).await;
    let user = t.app.store.user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(c["sub"], user.id.as_str());
    let sid = SessionId::new(c["sid"].as_str().expect("user tokens carry sid"));
    let session = t.app.store.session(&sid).await.unwrap().expect("session stored");
    assert_eq!(session.user_id, user.id);
    assert_eq!(session.client_id.as_str(), client.id);
    assert_eq!(session.context.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(session.context.user_agent.as_deref(), Some("it-test/1.0"));
    assert!(session.is_live(t.clock.now()));
}

#[tokio::test]
async fn refresh_rotates_and_keeps_the_session() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    t.user("alice", "correct horse").await;
    let first = t.sign_in(&client, "alice", "correct horse").await;
    let sid = claims(&s(&first, "access_token"))["sid"].clone();

    let (status, second) = t.refresh(&client, &s(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"], "rotated");
    let c = t.verify_with_jwks(&s(&second, "access_token")).await;
    assert_eq!(c["sid"], sid, "same session");

    // The successor works in turn; a narrower scope is allowed, a wider one is not.
    let (status, third) = t
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &s(&second, "refresh_token")), ("scope", "api:read")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{third}");
    assert_eq!(third["scope"], "api:read");
    let (status, err) = t
        .token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &s(&third, "refresh_token")), ("scope", "admin")],
        )
        .await;
    assert_eq!((status, err["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
    // The rejected request did not consume the token.
    let (status, _) = t.refresh(&client, &s(&third, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn reusing_a_refresh_token_ends_the_whole_session() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    t.user("alice", "correct horse").await;
    let first = t.sign_in(&client, "alice", "correct horse").await;
    let other = t.sign_in(&client, "alice", "correct horse").await;
    let (_, second) = t.refresh(&client, &s(&first, "refresh_token")).await;

    // The old token comes back (stolen copy or replay): invalid_grant...
    let (status, err) = t.refresh(&client, &s(&first, "refresh_token")).await;
    assert_eq!((status, err["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    // ...the session is over, so even the legitimate successor is dead...
    let (status, err) = t.refresh(&client, &s(&second, "refresh_token")).await;
    assert_eq!((status, err["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let sid = SessionId::new(claims(&s(&first, "access_token"))["sid"].as_str().unwrap());
    let session = t.app.store.session(&sid).await.unwrap().unwrap();
    assert_eq!(session.end_reason.map(|r| r.as_str()), Some("refresh_reuse"));
    // ...and the user's other session is untouched.
    let (status, _) = t.refresh(&client, &s(&other, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_refresh_token_belongs_to_its_client() {
    let t = TestApp::spawn().await;
    let mine = t.user_client().await;
    let theirs = t.user_client().await;
    t.user("alice", "correct horse").await;
    let tokens = t.sign_in(&mine, "alice", "correct horse").await;
    let (status, err) = t.refresh(&theirs, &s(&tokens, "refresh_token")).await;
    assert_eq!((status, err["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    // Not consumed by the wrong client's attempt.
    let (status, _) = t.refresh(&mine, &s(&tokens, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_disabled_user_can_neither_sign_in_nor_refresh() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    t.user("bob", "correct horse").await;
    let tokens = t.sign_in(&client, "bob", "correct horse").await;

    let ended = sessiond::accounts::disable_user(&t.app, "bob", &sessiond::sessions::Actor::cli()).await.unwrap();
    assert_eq!(ended, 1);
    let (status, err) =
        t.token(&client, &[("grant_type", "password"), ("username", "bob"), ("password", "correct horse")]).await;
    assert_eq!((status, err["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (status, err) = t.refresh(&client, &s(&tokens, "refresh_token")).await;
    assert_eq!((status, err["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));

    sessiond::accounts::enable_user(&t.app, "bob", &sessiond::sessions::Actor::cli()).await.unwrap();
    t.sign_in(&client, "bob", "correct horse").await;
    // Enabling does not bring ended sessions back.
    let (status, _) = t.refresh(&client, &s(&tokens, "refresh_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn session_limit_refuse_policy_refuses_the_extra_sign_in() {
    let t = TestApp::spawn_with(|s| sessiond::config::Settings { max_sessions_per_user: Some(2), ..s }).await;
    let client = t.user_client().await;
    t.user("carol", "correct horse").await;
    let first = t.sign_in(&client, "carol", "correct horse").await;
    t.sign_in(&client, "carol", "correct horse").await;

    let (status, err) =
        t.token(&client, &[("grant_type", "password"), ("username", "carol"), ("password", "correct horse")]).await;
    assert_eq!((status, err["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    assert!(err["error_description"].as_str().unwrap().contains("session limit"));
    // Existing sessions keep working.
    let (status, _) = t.refresh(&client, &s(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK);
    // Another user is not affected by carol's limit.
    t.user("dave", "correct horse").await;
    t.sign_in(&client, "dave", "correct horse").await;
}

#[tokio::test]
async fn session_limit_end_oldest_policy_ends_the_oldest_session() {
    let t = TestApp::spawn_with(|s| sessiond::config::Settings {
        max_sessions_per_user: Some(2),
        session_limit_policy: Some(sessiond::domain::LimitPolicy::EndOldest),
        ..s
    })
    .await;
    let client = t.user_client().await;
    t.user("carol", "correct horse").await;
    let oldest = t.sign_in(&client, "carol", "correct horse").await;
    t.clock.advance(std::time::Duration::from_secs(1));
    let middle = t.sign_in(&client, "carol", "correct horse").await;
    t.clock.advance(std::time::Duration::from_secs(1));
    let newest = t.sign_in(&client, "carol", "correct horse").await;

    let (status, _) = t.refresh(&client, &s(&oldest, "refresh_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "oldest session was ended");
    let sid = SessionId::new(claims(&s(&oldest, "access_token"))["sid"].as_str().unwrap());
    let session = t.app.store.session(&sid).await.unwrap().unwrap();
    assert_eq!(session.end_reason.map(|r| r.as_str()), Some("session_limit"));
    for kept in [&middle, &newest] {
        let (status, _) = t.refresh(&client, &s(kept, "refresh_token")).await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn sessions_end_at_their_idle_and_absolute_timeouts() {
    use std::time::Duration;
    let t = TestApp::spawn_with(|s| sessiond::config::Settings {
        session_idle_timeout: Some(sessiond::config::ConfigDuration(Duration::from_secs(600))),
        session_absolute_timeout: Some(sessiond::config::ConfigDuration(Duration::from_secs(1000))),
        ..s
    })
    .await;
    let client = t.user_client().await;
    t.user("erin", "correct horse").await;

    // Idle: unused for the idle timeout.
    let idle = t.sign_in(&client, "erin", "correct horse").await;
    // Absolute: used often, but past the absolute timeout.
    let busy = t.sign_in(&client, "erin", "correct horse").await;
    let mut busy_rt = s(&busy, "refresh_token");
    for _ in 0..2 {
        t.clock.advance(Duration::from_secs(400));
        let (status, next) = t.refresh(&client, &busy_rt).await;
        assert_eq!(status, StatusCode::OK, "{next}");
        busy_rt = s(&next, "refresh_token");
    }
    // Now 800 s in: the idle session has been unused for > 600 s.
    let (status, _) = t.refresh(&client, &s(&idle, "refresh_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    t.clock.advance(Duration::from_secs(200));
    let (status, _) = t.refresh(&client, &busy_rt).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "absolute timeout reached at 1000 s");
}

#[tokio::test]
async fn grants_are_only_for_clients_registered_for_them() {
    let t = TestApp::spawn().await;
    let machine = t.client(&[GrantType::ClientCredentials], "api:read").await;
    t.user("alice", "correct horse").await;
    let (status, err) =
        t.token(&machine, &[("grant_type", "password"), ("username", "alice"), ("password", "correct horse")]).await;
    assert_eq!((status, err["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));

    let users = t.user_client().await;
    let (status, err) = t.token(&users, &[("grant_type", "client_credentials")]).await;
    assert_eq!((status, err["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));

    let (status, err) = t.token(&machine, &[("grant_type", "client_credentials"), ("scope", "api:write")]).await;
    assert_eq!((status, err["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
}

#[tokio::test]
async fn public_clients_sign_in_with_their_id_only() {
    let t = TestApp::spawn().await;
    let public =
        t.client_of_kind(ClientKind::Public, &[GrantType::Password, GrantType::RefreshToken], "api:read").await;
    t.user("alice", "correct horse").await;
    let form = |extra: &[(&'static str, String)]| {
        let mut f = vec![("client_id", public.id.clone())];
        f.extend(extra.iter().cloned());
        f
    };
    let response = t
        .http
        .post(t.url("/oauth2/token"))
        .form(&form(&[
            ("grant_type", "password".into()),
            ("username", "alice".into()),
            ("password", "correct horse".into()),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // A secret it cannot have is refused.
    let response = t
        .http
        .post(t.url("/oauth2/token"))
        .form(&form(&[("grant_type", "password".into()), ("client_secret", "guess".into())]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
