//! The revocation feed: a snapshot after a position, and a Server-Sent
//! Events stream that delivers every new entry in order, resumes with
//! `Last-Event-ID`, and beats while quiet.
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{claims, s, TestApp, TestClient};

async fn get(t: &TestApp, who: Option<&TestClient>, path: &str) -> (StatusCode, Value) {
    let mut req = t.http.get(t.url(path));
    if let Some(c) = who {
        req = req.basic_auth(&c.id, Some(&c.secret));
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_snapshot_carries_what_an_index_needs_and_only_resource_servers_read_it() {
    let t = TestApp::spawn().await;
    let users = t.user_client().await;
    let rs = t.resource_server().await;
    t.user("alice", "alice password").await;
    let tokens = t.sign_in(&users, "alice", "alice password").await;
    let access = s(&tokens, "access_token");
    let (status, _) = get(&t, Some(&rs), "/api/v1/revocations").await;
    assert_eq!(status, StatusCode::OK);

    // A token revoked, then the session logged out.
    let revoke = t.http.post(t.url("/oauth2/revoke")).basic_auth(&users.id, Some(&users.secret));
    assert!(revoke.form(&[("token", access.as_str())]).send().await.unwrap().status().is_success());
    let logout =
        t.bearer(Method::POST, "/logout", &s(&t.sign_in(&users, "alice", "alice password").await, "access_token"));
    assert_eq!(logout.send().await.unwrap().status(), StatusCode::NO_CONTENT);

    let (status, body) = get(&t, Some(&rs), "/api/v1/revocations").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entries = body["entries"].as_array().unwrap();
    let jti = s(&claims(&access), "jti");
    let token = entries.iter().find(|e| e["kind"] == "token").expect("the token's entry");
    assert_eq!(token["id"], jti.as_str());
    assert_eq!(token["expires_at"], claims(&access)["exp"]);
    assert!(entries.iter().any(|e| e["kind"] == "session"));
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in log order");
    let position = body["position"].as_i64().unwrap();
    assert_eq!(position, *seqs.last().unwrap());

    let (_, after) = get(&t, Some(&rs), &format!("/api/v1/revocations?since={position}")).await;
    assert_eq!(after["entries"], serde_json::json!([]));
    assert_eq!(after["position"], position);
    let (_, from_first) = get(&t, Some(&rs), &format!("/api/v1/revocations?since={}", seqs[0])).await;
    assert_eq!(from_first["entries"].as_array().unwrap().len(), seqs.len() - 1);

    assert_eq!(get(&t, None, "/api/v1/revocations").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&t, Some(&users), "/api/v1/revocations").await.0, StatusCode::FORBIDDEN);
    assert_eq!(get(&t, Some(&rs), "/api/v1/revocations?since=x").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(get(&t, Some(&rs), "/api/v1/revocations?from=1").await.0, StatusCode::BAD_REQUEST);
}

/// Reads the stream until `want` is in what arrived, or the deadline.
async fn read_until(r: &mut reqwest::Response, seen: &mut String, want: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while !seen.contains(want) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, r.chunk()).await {
            Ok(Ok(Some(bytes))) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            _ => return false,
        }
    }
    true
}

#[tokio::test]
async fn the_stream_delivers_each_revocation_at_once_and_resumes_where_it_left() {
    let t = TestApp::spawn().await;
    let machine = t.client(&[sessiond::domain::GrantType::ClientCredentials], "").await;
    let rs = t.resource_server().await;
    let issue = || async {
        let (status, body) = t.token(&machine, &[("grant_type", "client_credentials")]).await;
        assert_eq!(status, StatusCode::OK);
        s(&body, "access_token")
    };
    let revoke = |token: String| {
        let req = t.http.post(t.url("/oauth2/revoke")).basic_auth(&machine.id, Some(&machine.secret));
        async move { assert!(req.form(&[("token", token.as_str())]).send().await.unwrap().status().is_success()) }
    };
    let open = |last: Option<String>| {
        let mut req = t.http.get(t.url("/api/v1/revocations/stream")).basic_auth(&rs.id, Some(&rs.secret));
        if let Some(id) = last {
            req = req.header("Last-Event-ID", id);
        }
        req.send()
    };
    // The query is checked even when `Last-Event-ID` wins over it.
    let bad = t.http.get(t.url("/api/v1/revocations/stream?from=1")).basic_auth(&rs.id, Some(&rs.secret));
    assert_eq!(bad.header("Last-Event-ID", "1").send().await.unwrap().status(), StatusCode::BAD_REQUEST);

    let mut stream = open(None).await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));

    let first = issue().await;
    let first_jti = s(&claims(&first), "jti");
    revoke(first).await;
    let mut seen = String::new();
    assert!(read_until(&mut stream, &mut seen, &first_jti, Duration::from_secs(5)).await, "no event: {seen}");
    assert!(seen.contains("event: revocation"), "{seen}");
    let id_line = seen.lines().find(|l| l.starts_with("id:")).expect("an id").to_owned();
    let last_id = id_line.trim_start_matches("id:").trim().to_owned();
    drop(stream);

    // Revoked while no one listened: the resumed stream starts with it,
    // and not with what was already delivered.
    let second = issue().await;
    let second_jti = s(&claims(&second), "jti");
    revoke(second).await;
    let mut resumed = open(Some(last_id)).await.unwrap();
    let mut again = String::new();
    assert!(read_until(&mut resumed, &mut again, &second_jti, Duration::from_secs(5)).await, "{again}");
    assert!(!again.contains(&first_jti), "resumed after the last event seen");

    // A quiet stream still beats.
    let mut quiet = String::new();
    let beat = read_until(&mut resumed, &mut quiet, "heartbeat", Duration::from_secs(8)).await;
    assert!(beat, "no heartbeat in {quiet:?}");
}
