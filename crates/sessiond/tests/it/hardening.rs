//! Findings of an adversarial review, each with the behaviour that fixes it:
//! stored state refuses what the index alone might miss, JSON APIs refuse
//! unknown parameters and NUL bytes, a password change ends the other
//! sessions, only resource servers introspect other clients' tokens.
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sessiond::accounts::{self, KeepSessions};
use sessiond::domain::GrantType;
use sessiond::secrets::Secret;
use sessiond::sessions::Actor;

use crate::support::{claims, s, TestApp};

async fn get(t: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    let r = t.bearer(Method::GET, path, token).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn my_sessions_page_like_the_admin_list_and_unknown_parameters_are_refused() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    t.user("alice", "alice password").await;
    let mut sids = Vec::new();
    let mut token = String::new();
    for _ in 0..5 {
        token = s(&t.sign_in(&client, "alice", "alice password").await, "access_token");
        sids.push(s(&claims(&token), "sid"));
    }
    sids.sort();
    let (status, first) = get(&t, "/api/v1/me/sessions?limit=2", &token).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let page: Vec<String> = first["sessions"].as_array().unwrap().iter().map(|v| s(v, "sid")).collect();
    assert_eq!(page, sids[..2]);
    let next = s(&first, "next");
    let (_, second) = get(&t, &format!("/api/v1/me/sessions?limit=2&after={next}"), &token).await;
    let page: Vec<String> = second["sessions"].as_array().unwrap().iter().map(|v| s(v, "sid")).collect();
    assert_eq!(page, sids[2..4]);
    let (_, all) = get(&t, "/api/v1/me/sessions", &token).await;
    assert_eq!(all["sessions"].as_array().unwrap().len(), 5);
    assert!(all["next"].is_null());

    for path in [
        "/api/v1/me/sessions?limt=2",
        "/api/v1/me/sessions?user=bob",
        "/api/v1/me/sessions?limit=0",
        "/api/v1/me/sessions?typo=",
        "/api/v1/admin/audit?usr=alice",
    ] {
        let (status, body) = get(&t, path, &token).await;
        // The admin path refuses a non-admin first; either way a 4xx with
        // an RFC 6749 error body, never a silently ignored parameter.
        assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::FORBIDDEN, "{path}: {status}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    let (status, body) = get(&t, "/api/v1/me/sessions?limt=2", &token).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let r = t.bearer(Method::DELETE, &format!("/api/v1/me/sessions/{}?force=1", sids[0]), &token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn nul_bytes_are_refused_with_400_and_nothing_reaches_the_store() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    t.user("alice", "alice password").await;
    for form in [
        vec![("grant_type", "password"), ("username", "ali\0ce"), ("password", "alice password")],
        vec![("grant_type", "password"), ("username", "alice"), ("password", "alice\0password")],
        vec![("grant_type", "client_credentials"), ("scope", "a\0b")],
    ] {
        let (status, body) = t.token(&client, &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_request");
    }
    let token = s(&t.sign_in(&client, "alice", "alice password").await, "access_token");
    let r = t.bearer(Method::DELETE, "/api/v1/me/sessions/a%00b", &token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (status, _) = get(&t, "/api/v1/me/sessions?after=a%00b", &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_unless_told_not_to() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    let rs = t.resource_server().await;
    t.user("alice", "alice password").await;
    let one = t.sign_in(&client, "alice", "alice password").await;
    let two = t.sign_in(&client, "alice", "alice password").await;

    let new = Secret::new("a new password");
    let ended = accounts::set_password(&t.app, "alice", &new, KeepSessions::All, &Actor::cli()).await.unwrap();
    assert_eq!(ended, 0);
    assert!(t.active(&rs, &s(&one, "access_token")).await);

    let keep = sessiond::domain::SessionId::new(s(&claims(&s(&two, "access_token")), "sid"));
    let newer = Secret::new("another new password");
    let ended = accounts::set_password(&t.app, "alice", &newer, KeepSessions::AllBut(Some(&keep)), &Actor::cli())
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert!(!t.active(&rs, &s(&one, "access_token")).await, "the other session ended");
    assert_eq!(t.refresh(&client, &s(&one, "refresh_token")).await.0, StatusCode::BAD_REQUEST);
    assert!(t.active(&rs, &s(&two, "access_token")).await, "the kept one lives");
    let (status, _) =
        t.token(&client, &[("grant_type", "password"), ("username", "alice"), ("password", "alice password")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the old password no longer works");
}

#[tokio::test]
async fn only_resource_servers_introspect_other_clients_tokens() {
    let t = TestApp::spawn().await;
    let users = t.user_client().await;
    let other = t.client(&[GrantType::ClientCredentials], "").await;
    let rs = t.resource_server().await;
    t.user("alice", "alice password").await;
    let tokens = t.sign_in(&users, "alice", "alice password").await;
    for token in [s(&tokens, "access_token"), s(&tokens, "refresh_token")] {
        assert!(t.active(&rs, &token).await, "a resource server sees it");
        assert!(t.active(&users, &token).await, "the client it was issued to sees it");
        assert!(!t.active(&other, &token).await, "another client learns nothing (RFC 7662 §4)");
    }
}

#[tokio::test]
async fn a_client_removed_on_another_node_is_refused_at_once() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_on(a.data.clone(), |s| s).await;
    let client = a.client(&[GrantType::ClientCredentials, GrantType::Password, GrantType::RefreshToken], "").await;
    let rs = a.resource_server().await;
    a.user("alice", "alice password").await;
    let signed_in = a.sign_in(&client, "alice", "alice password").await;
    // Warm node A's client cache, then remove the client on node B.
    let (status, _) = a.token(&client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::OK);
    accounts::remove_client(&b.app, &client.id, &Actor::cli()).await.unwrap();

    // Node A may not have heard yet: a sign-in reads the stored client, a
    // refresh the revoked grant.
    let (status, body) =
        a.token(&client, &[("grant_type", "password"), ("username", "alice"), ("password", "alice password")]).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")), "{body}");
    // (400 invalid_grant from the revoked grant, or 401 if node A has
    // already heard: PostgreSQL announces the removal within milliseconds.)
    let (status, _) = a.refresh(&client, &s(&signed_in, "refresh_token")).await;
    assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED, "{status}");
    // A client token node A issues from its cache before it hears of the
    // removal is dead as soon as it does: the removal covers every token of
    // the client, whenever issued.
    let (status, body) = a.token(&client, &[("grant_type", "client_credentials")]).await;
    a.app.catch_up().await.unwrap();
    if status == StatusCode::OK {
        assert!(!a.active(&rs, &s(&body, "access_token")).await);
    }
    assert!(!a.active(&rs, &s(&signed_in, "access_token")).await);
    let (status, _) = a.token(&client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn json_apis_are_never_cached_or_sniffed_and_cors_stays_where_it_belongs() {
    let t = TestApp::spawn_with(|s| sessiond::config::Settings {
        cors_allowed_origins: Some(vec!["https://app.example".into()]),
        ..s
    })
    .await;
    let client = t.user_client().await;
    t.user("alice", "alice password").await;
    let token = s(&t.sign_in(&client, "alice", "alice password").await, "access_token");
    for (path, bearer) in [
        ("/api/v1/me/sessions", Some(&token)),
        ("/api/v1/me/sessions", None),
        ("/api/v1/admin/sessions", Some(&token)),
        ("/api/v1/me/sessions?bad=1", Some(&token)),
    ] {
        let mut req = t.http.get(t.url(path)).header("Origin", "https://app.example");
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(r.headers()["access-control-allow-origin"], "https://app.example", "{path}");
    }
    // Operations endpoints are for load balancers, not browsers.
    let r = t.http.get(t.url("/healthz")).header("Origin", "https://app.example").send().await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn ending_a_session_reports_the_clients_that_held_grants_in_it() {
    let t = TestApp::spawn().await;
    let web = t.user_client().await;
    let mobile = t.user_client().await;
    t.user("alice", "alice password").await;
    let first = t.sign_in(&web, "alice", "alice password").await;
    t.sign_in(&mobile, "alice", "alice password").await;
    let sid = sessiond::domain::SessionId::new(s(&claims(&s(&first, "access_token")), "sid"));
    let ended = sessiond::sessions::end_session(&t.app, &sid, sessiond::domain::EndReason::Logout, &Actor::cli())
        .await
        .unwrap()
        .expect("a live session ends");
    assert_eq!(ended.clients.iter().map(|c| c.as_str()).collect::<Vec<_>>(), [web.id.as_str()]);
    let (_, rest) = sessiond::sessions::disable_user(&t.app, "alice", &Actor::cli()).await.unwrap().unwrap();
    assert_eq!(rest.len(), 1, "only the live session remained");
    assert_eq!(rest[0].clients.iter().map(|c| c.as_str()).collect::<Vec<_>>(), [mobile.id.as_str()]);
}

#[tokio::test]
async fn a_signed_in_user_who_is_not_an_administrator_cannot_use_the_admin_forms() {
    let t = TestApp::spawn().await;
    t.user("alice", "alice password").await;
    t.user("bob", "bob password").await;
    let mut browser = crate::support::Browser::new(&t);
    let login = browser.get(&t.url("/login")).await;
    let account = browser.submit(&login, "/login", &[("username", "alice"), ("password", "alice password")]).await;
    assert_eq!(account.status, StatusCode::SEE_OTHER, "{}", account.body);
    let page = browser.get(&t.url("/account")).await;
    assert_eq!(page.status, StatusCode::OK);
    // A valid CSRF token and a live session, but no administrator.
    let refused = browser.submit(&page, "/account/sessions/end-others", &[]).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "alice's own form works");
    let page = browser.get(&t.url("/account")).await;
    let csrf = page.body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let refused = browser.post(&t.url("/admin/users/bob/disable"), &[("csrf", csrf.as_str())]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let bob = t.app.store.user_by_name("bob").await.unwrap().unwrap();
    assert!(bob.is_enabled(), "nothing was done");
}
