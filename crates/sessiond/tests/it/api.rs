//! The session API, logout, introspection and revocation: what they show,
//! who may call them, and how they refuse bad input.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond::domain::GrantType;

use crate::support::{claims, s, TestApp};

async fn json_of(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn me_lists_my_live_sessions_and_marks_the_current_one() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    t.user("alice", "alice password").await;
    t.user("bob", "bob password").await;
    let first = t.sign_in(&client, "alice", "alice password").await;
    let second = t.sign_in(&client, "alice", "alice password").await;
    t.sign_in(&client, "bob", "bob password").await;

    let (status, body) =
        json_of(t.bearer(Method::GET, "/api/v1/me/sessions", &s(&second, "access_token")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let sessions = body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "only mine: {body}");
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["sid"], claims(&s(&second, "access_token"))["sid"]);
    assert_eq!(current[0]["client_id"], client.id.as_str());
    assert_eq!(current[0]["ip"], "127.0.0.1");
    for key in ["created_at", "last_seen_at", "idle_expires_at", "absolute_expires_at", "user_agent"] {
        assert!(current[0].get(key).is_some(), "{key}");
    }

    // End all but the current one.
    let r = t
        .bearer(Method::DELETE, "/api/v1/me/sessions?except_current=true", &s(&second, "access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(r).await.1["ended"], 1);
    let body = json_of(t.bearer(Method::GET, "/api/v1/me/sessions", &s(&second, "access_token")).send().await.unwrap())
        .await
        .1;
    assert_eq!(body["sessions"].as_array().unwrap().len(), 1);
    let (status, _) = t.refresh(&client, &s(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Ending a session that is not mine looks like ending one that does not exist.
    let bob = t.sign_in(&client, "bob", "bob password").await;
    let path = format!("/api/v1/me/sessions/{}", claims(&s(&bob, "access_token"))["sid"].as_str().unwrap());
    let r = t.bearer(Method::DELETE, &path, &s(&second, "access_token")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r =
        t.bearer(Method::DELETE, "/api/v1/me/sessions/nonexistent", &s(&second, "access_token")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admin_api_needs_an_admin_and_pages_through_sessions() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    let admin = t.admin_tokens(&client).await;
    t.user("alice", "alice password").await;
    let alice = t.sign_in(&client, "alice", "alice password").await;
    for _ in 0..4 {
        t.sign_in(&client, "alice", "alice password").await;
    }

    // Not an admin: 403 with an RFC 6750 challenge.
    let r = t.bearer(Method::GET, "/api/v1/admin/sessions", &s(&alice, "access_token")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("insufficient_scope"));
    // A client token: 403 too.
    let machine = t.client(&[GrantType::ClientCredentials], "").await;
    let ct = s(&t.token(&machine, &[("grant_type", "client_credentials")]).await.1, "access_token");
    assert_eq!(
        t.bearer(Method::GET, "/api/v1/admin/sessions", &ct).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(t.bearer(Method::GET, "/api/v1/me/sessions", &ct).send().await.unwrap().status(), StatusCode::FORBIDDEN);

    // Pages of 2 over 6 live sessions (5 of alice, 1 of root).
    let at = s(&admin, "access_token");
    let mut seen = Vec::new();
    let mut path = "/api/v1/admin/sessions?limit=2".to_owned();
    loop {
        let body = json_of(t.bearer(Method::GET, &path, &at).send().await.unwrap()).await.1;
        let page = body["sessions"].as_array().unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|s| s["sid"].as_str().unwrap().to_owned()));
        match body["next"].as_str() {
            Some(next) => path = format!("/api/v1/admin/sessions?limit=2&after={next}"),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (6, 6));

    let body = json_of(t.bearer(Method::GET, "/api/v1/admin/users/alice/sessions", &at).send().await.unwrap()).await.1;
    assert_eq!(body["sessions"].as_array().unwrap().len(), 5);
    for (path, want) in [
        ("/api/v1/admin/sessions?limit=0", StatusCode::BAD_REQUEST),
        ("/api/v1/admin/sessions?limit=abc", StatusCode::BAD_REQUEST),
        ("/api/v1/admin/sessions?limit=1&limit=2", StatusCode::BAD_REQUEST),
        ("/api/v1/admin/users/nobody/sessions", StatusCode::NOT_FOUND),
    ] {
        let (status, body) = json_of(t.bearer(Method::GET, path, &at).send().await.unwrap()).await;
        assert_eq!(status, want, "{path}: {body}");
        assert!(body["error"].is_string());
    }
    let r = t.bearer(Method::DELETE, "/api/v1/admin/sessions/nonexistent", &at).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = t.bearer(Method::POST, "/api/v1/admin/users/nobody/disable", &at).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Disable, then enable: alice signs in again, old sessions stay ended.
    let r = t.bearer(Method::POST, "/api/v1/admin/users/alice/disable", &at).send().await.unwrap();
    assert_eq!(json_of(r).await.1["sessions_ended"], 5);
    let (status, _) =
        t.token(&client, &[("grant_type", "password"), ("username", "alice"), ("password", "alice password")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let r = t.bearer(Method::POST, "/api/v1/admin/users/alice/enable", &at).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    t.sign_in(&client, "alice", "alice password").await;
    let (status, _) = t.refresh(&client, &s(&alice, "refresh_token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_audit_trail_records_who_did_what_when_and_from_where() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    let admin = t.admin_tokens(&client).await;
    t.user("alice", "alice password").await;
    let start = sessiond::clock::Clock::now(&*t.clock).0;

    let (status, _) =
        t.token(&client, &[("grant_type", "password"), ("username", "alice"), ("password", "wrong")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let tokens = t.sign_in(&client, "alice", "alice password").await;
    let (_, next) = t.refresh(&client, &s(&tokens, "refresh_token")).await;
    t.refresh(&client, &s(&tokens, "refresh_token")).await; // reuse
    let other = t.sign_in(&client, "alice", "alice password").await;
    t.bearer(Method::POST, "/logout", &s(&other, "access_token")).send().await.unwrap();
    drop(next);

    let at = s(&admin, "access_token");
    let body = json_of(t.bearer(Method::GET, "/api/v1/admin/audit?user=alice", &at).send().await.unwrap()).await.1;
    let kinds: Vec<&str> = body["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for want in ["sign_in_failed", "sign_in", "refresh_reuse"] {
        assert!(kinds.contains(&want), "{want} in {kinds:?}");
    }
    let all = json_of(t.bearer(Method::GET, "/api/v1/admin/audit?limit=1000", &at).send().await.unwrap()).await.1;
    let events = all["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for want in ["refresh", "session_ended"] {
        assert!(kinds.contains(&want), "{want} in {kinds:?}");
    }
    let failed = events.iter().find(|e| e["kind"] == "sign_in_failed").unwrap();
    assert_eq!(failed["ip"], "127.0.0.1");
    assert_eq!(failed["user_name"], "alice");
    assert!(failed["at"].as_i64().unwrap() >= start);
    let ended = events.iter().find(|e| e["kind"] == "session_ended" && e["detail"] == "logout").unwrap();
    assert_eq!(ended["actor"], "alice");
    // Time filter: nothing in the future.
    let path = format!("/api/v1/admin/audit?since={}", start + 3600);
    let body = json_of(t.bearer(Method::GET, &path, &at).send().await.unwrap()).await.1;
    assert_eq!(body["events"].as_array().unwrap().len(), 0);
    // Nobody's password or token is in the trail.
    let text = all.to_string();
    assert!(!text.contains("alice password") && !text.contains(&s(&tokens, "refresh_token")));
}

#[tokio::test]
async fn bearer_endpoints_refuse_bad_tokens_with_rfc_6750_challenges() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    t.user("alice", "alice password").await;
    let tokens = t.sign_in(&client, "alice", "alice password").await;

    let r = t.http.post(t.url("/logout")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], r#"Bearer realm="sessiond""#);
    for auth in ["Bearer garbage", "Bearer a.b.c", "Basic YTpi", "Bearer"] {
        let r = t.http.post(t.url("/logout")).header("Authorization", auth).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{auth}");
        let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.starts_with("Bearer"), "never Basic: {challenge}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_token");
    }
    let at = s(&tokens, "access_token");
    for (path, want) in [
        ("/logout?revoke=everything", StatusCode::BAD_REQUEST),
        ("/logout?cb=https://evil.example", StatusCode::BAD_REQUEST),
        ("/logout?cb=a&cb=b", StatusCode::BAD_REQUEST),
        ("/logout?revokee=token", StatusCode::BAD_REQUEST),
    ] {
        let (status, body) = json_of(t.bearer(Method::POST, path, &at).send().await.unwrap()).await;
        assert_eq!(status, want, "{path}");
        assert_eq!(body["error"], "invalid_request");
    }
    let r = t
        .bearer(Method::POST, "/logout", &at)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Form-body parameters work like query parameters.
    let r = t
        .bearer(Method::POST, "/logout", &at)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("revoke=token&cb=none")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // The token is dead now: a second logout is 401.
    assert_eq!(t.bearer(Method::POST, "/logout", &at).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);

    let machine = t.client(&[GrantType::ClientCredentials], "").await;
    let ct = s(&t.token(&machine, &[("grant_type", "client_credentials")]).await.1, "access_token");
    let (status, body) = json_of(t.bearer(Method::POST, "/logout", &ct).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn introspection_says_inactive_for_forged_tokens() {
    let t = TestApp::spawn().await;
    let rs = t.resource_server().await;
    let real = s(&t.token(&rs, &[("grant_type", "client_credentials")]).await.1, "access_token");
    let parts: Vec<&str> = real.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let kid = header["kid"].as_str().unwrap();

    let mut forged = Vec::new();
    // alg=none, with and without a signature.
    let none = json!({"alg": "none", "typ": "at+jwt", "kid": kid});
    forged.push(format!("{}.{}.", b64(&none), parts[1]));
    forged.push(format!("{}.{}.{}", b64(&none), parts[1], parts[2]));
    // Algorithm confusion: HS256 keyed with the public key's JSON.
    let jwks = t.http.get(t.url("/jwks.json")).send().await.unwrap().text().await.unwrap();
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            alg: jsonwebtoken::Algorithm::HS256,
            kid: Some(kid.into()),
            typ: Some("at+jwt".into()),
            ..Default::default()
        },
        &payload,
        &jsonwebtoken::EncodingKey::from_secret(jwks.as_bytes()),
    )
    .unwrap();
    forged.push(hs);
    // A changed claim under the original signature.
    let mut elevated = payload.clone();
    elevated["scope"] = json!("admin");
    forged.push(format!("{}.{}.{}", parts[0], b64(&elevated), parts[2]));
    // An unknown key id, a wrong typ, garbage.
    let mut unknown = header.clone();
    unknown["kid"] = json!("nope");
    forged.push(format!("{}.{}.{}", b64(&unknown), parts[1], parts[2]));
    let mut id_token = header.clone();
    id_token["typ"] = json!("JWT");
    forged.push(format!("{}.{}.{}", b64(&id_token), parts[1], parts[2]));
    forged.extend(["x.y.z".into(), "....".into(), "not-a-token".into(), "%%%".into()]);

    assert!(t.active(&rs, &real).await);
    for token in &forged {
        assert!(!t.active(&rs, token).await, "forged token accepted: {token}");
    }
    // The real token is still fine (the forgeries did not poison the cache).
    assert!(t.active(&rs, &real).await);
}

#[tokio::test]
async fn revoke_and_introspect_refuse_bad_requests() {
    let t = TestApp::spawn().await;
    let rs = t.resource_server().await;
    let public = t.client_of_kind(sessiond::domain::ClientKind::Public, &[GrantType::Password], "").await;
    let huge = "a".repeat(9000);
    for path in ["/oauth2/revoke", "/oauth2/introspect"] {
        let post = |body: String| {
            t.http
                .post(t.url(path))
                .basic_auth(&rs.id, Some(&rs.secret))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
        };
        for (body, want, error) in [
            (String::new(), 400, "invalid_request"),
            ("token=a&token=b".into(), 400, "invalid_request"),
            ("token_type_hint=access_token".into(), 400, "invalid_request"),
            (format!("token={huge}"), 400, "invalid_request"),
        ] {
            let (status, json) = json_of(post(body.clone()).send().await.unwrap()).await;
            assert_eq!(
                (status.as_u16(), json["error"].as_str()),
                (want, Some(error)),
                "{path} {}",
                &body[..body.len().min(40)]
            );
        }
        // No or wrong client authentication: 401 invalid_client, no challenge.
        let r = t.http.post(t.url(path)).form(&[("token", "x")]).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().get("www-authenticate").is_none());
        let r =
            t.http.post(t.url(path)).basic_auth(&rs.id, Some("wrong")).form(&[("token", "x")]).send().await.unwrap();
        assert_eq!(json_of(r).await, (StatusCode::UNAUTHORIZED, json_of_error("invalid_client")));
    }
    // Unknown tokens: revoke says 200 (RFC 7009 §2.2), introspect inactive.
    let r = t
        .http
        .post(t.url("/oauth2/revoke"))
        .basic_auth(&rs.id, Some(&rs.secret))
        .form(&[("token", "unknown"), ("token_type_hint", "weird")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(!t.active(&rs, "unknown").await);
    // Public clients may revoke their tokens but not introspect.
    let r = t
        .http
        .post(t.url("/oauth2/introspect"))
        .form(&[("token", "x"), ("client_id", public.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = t
        .http
        .post(t.url("/oauth2/revoke"))
        .form(&[("token", "x"), ("client_id", public.id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

fn json_of_error(code: &str) -> Value {
    json!({"error": code, "error_description": "client authentication failed"})
}

#[tokio::test]
async fn introspection_of_refresh_tokens_reads_their_session() {
    let t = TestApp::spawn().await;
    let client = t.user_client().await;
    let rs = t.resource_server().await;
    t.user("alice", "alice password").await;
    let tokens = t.sign_in(&client, "alice", "alice password").await;
    let body = t.introspect(&rs, &s(&tokens, "refresh_token")).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");
    assert_eq!(body["username"], "alice");
    assert_eq!(body["sid"], claims(&s(&tokens, "access_token"))["sid"]);
    let access = t.introspect(&rs, &s(&tokens, "access_token")).await;
    for key in ["scope", "client_id", "username", "token_type", "exp", "iat", "sub", "aud", "iss", "jti", "sid"] {
        assert!(access.get(key).is_some(), "{key} in {access}");
    }
    assert_eq!(access["token_type"], "Bearer");
    // Used: inactive.
    t.refresh(&client, &s(&tokens, "refresh_token")).await;
    assert!(!t.active(&rs, &s(&tokens, "refresh_token")).await);
}

#[tokio::test]
async fn cors_allows_listed_origins_with_credentials_and_no_others() {
    let t = TestApp::spawn_with(|s| sessiond::config::Settings {
        cors_allowed_origins: Some(vec!["https://app.example".into()]),
        ..s
    })
    .await;
    let preflight = |origin: &'static str| {
        t.http
            .request(Method::OPTIONS, t.url("/logout"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization")
            .send()
    };
    let r = preflight("https://app.example").await.unwrap();
    assert!(r.status().is_success());
    assert_eq!(r.headers()["access-control-allow-origin"], "https://app.example");
    assert_eq!(r.headers()["access-control-allow-credentials"], "true");
    let r = preflight("https://evil.example").await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}
