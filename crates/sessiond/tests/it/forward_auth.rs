//! Forward authentication for reverse proxies: who a live token is, in
//! headers; 401 the moment it is revoked.
use reqwest::{Method, StatusCode};

use crate::support::{claims, s, TestApp};

#[tokio::test]
async fn forward_auth_names_live_tokens_and_refuses_revoked_ones_at_once() {
    let t = TestApp::spawn().await;
    let users = t.user_client().await;
    t.user("alice", "alice password").await;
    let tokens = t.sign_in(&users, "alice", "alice password").await;
    let access = s(&tokens, "access_token");
    let forward = |path: &str, token: Option<&str>| {
        let mut req = t.http.get(t.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send()
    };

    let r = forward("/authz/forward", Some(&access)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let c = claims(&access);
    assert_eq!(r.headers()["x-sessiond-sub"], s(&c, "sub").as_str());
    assert_eq!(r.headers()["x-sessiond-sid"], s(&c, "sid").as_str());
    assert_eq!(r.headers()["x-sessiond-client"], users.id.as_str());
    assert_eq!(r.headers()["x-sessiond-scope"], "api:read api:write");
    assert_eq!(forward("/authz/forward?scope=api:read", Some(&access)).await.unwrap().status(), StatusCode::OK);
    let r = forward("/authz/forward?scope=admin", Some(&access)).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    for token in [None, Some("garbage"), Some("a.b.c")] {
        let r = forward("/authz/forward", token).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    }

    // Logged out: refused on the very next request.
    let logout = t.bearer(Method::POST, "/logout", &access).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let r = forward("/authz/forward", Some(&access)).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    assert_eq!(forward("/authz/forward?bogus=1", Some(&access)).await.unwrap().status(), StatusCode::BAD_REQUEST);
}
