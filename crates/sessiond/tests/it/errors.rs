//! Bad input: every refusal is a 4xx in the spec's format, never a 5xx.
use reqwest::StatusCode;
use sessiond::domain::GrantType;

use crate::support::{TestApp, TestClient};

async fn raw(
    t: &TestApp,
    client: Option<&TestClient>,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, reqwest::header::HeaderMap, serde_json::Value) {
    let mut request = t.http.post(t.url("/oauth2/token")).header("Content-Type", content_type).body(body);
    if let Some(c) = client {
        request = request.basic_auth(&c.id, Some(&c.secret));
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {status} {text}"));
    (status, headers, json)
}

fn assert_error(got: (StatusCode, reqwest::header::HeaderMap, serde_json::Value), status: u16, error: &str) {
    let (s, headers, body) = got;
    assert_eq!(s.as_u16(), status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers.get("www-authenticate").is_none(), "never a Basic challenge");
}

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn malformed_token_requests_get_rfc_6749_errors() {
    let t = TestApp::spawn().await;
    let c = t.client(&[GrantType::ClientCredentials, GrantType::Password, GrantType::RefreshToken], "api:read").await;
    let r = |body: &str| raw(&t, Some(&c), FORM, body.as_bytes().to_vec());

    assert_error(r("").await, 400, "invalid_request");
    assert_error(r("scope=api:read").await, 400, "invalid_request");
    assert_error(r("grant_type=implicit").await, 400, "unsupported_grant_type");
    assert_error(r("grant_type=urn:ietf:params:oauth:grant-type:device_code").await, 400, "unsupported_grant_type");
    assert_error(r("grant_type=client_credentials&grant_type=password").await, 400, "invalid_request");
    assert_error(r("grant_type=client_credentials&scope=a&scope=b").await, 400, "invalid_request");
    assert_error(r("grant_type=client_credentials&scope=%22bad").await, 400, "invalid_request");
    assert_error(r("grant_type=password&username=x").await, 400, "invalid_request");
    assert_error(r("grant_type=refresh_token").await, 400, "invalid_request");
    assert_error(r("grant_type=refresh_token&refresh_token=nonsense").await, 400, "invalid_grant");
    assert_error(r("%%%garbage=%zz&&&==").await, 400, "invalid_request");
    assert_error(
        raw(&t, Some(&c), "application/json", b"{\"grant_type\":\"client_credentials\"}".to_vec()).await,
        400,
        "invalid_request",
    );
    assert_error(raw(&t, Some(&c), FORM, vec![0xff, 0xfe, 0x00, b'=']).await, 400, "invalid_request");
}

#[tokio::test]
async fn wrong_credentials_never_trigger_a_browser_login_dialog() {
    let t = TestApp::spawn().await;
    let c = t.user_client().await;
    t.user("alice", "correct horse").await;

    // Wrong user password: invalid_grant, 400, no WWW-Authenticate.
    let body = b"grant_type=password&username=alice&password=wrong".to_vec();
    assert_error(raw(&t, Some(&c), FORM, body).await, 400, "invalid_grant");
    // Unknown user: the same answer.
    let body = b"grant_type=password&username=nobody&password=wrong".to_vec();
    assert_error(raw(&t, Some(&c), FORM, body).await, 400, "invalid_grant");

    // Wrong client secret, unknown client, missing authentication: 401 invalid_client.
    let wrong = TestClient { id: c.id.clone(), secret: "not-the-secret".into() };
    assert_error(raw(&t, Some(&wrong), FORM, b"grant_type=client_credentials".to_vec()).await, 401, "invalid_client");
    let unknown = TestClient { id: "nope".into(), secret: "nope".into() };
    assert_error(raw(&t, Some(&unknown), FORM, b"grant_type=client_credentials".to_vec()).await, 401, "invalid_client");
    assert_error(raw(&t, None, FORM, b"grant_type=client_credentials".to_vec()).await, 401, "invalid_client");
    // A confidential client that leaves out its secret.
    let body = format!("grant_type=client_credentials&client_id={}", c.id).into_bytes();
    assert_error(raw(&t, None, FORM, body).await, 401, "invalid_client");
}

#[tokio::test]
async fn garbage_authorization_headers_are_refused_cleanly() {
    let t = TestApp::spawn().await;
    let c = t.client(&[GrantType::ClientCredentials], "").await;
    for header in ["Basic", "Basic !!!notbase64", "Basic Zm9v", "Bearer abc", "Digest x=y", "\u{7f}"] {
        let response = t
            .http
            .post(t.url("/oauth2/token"))
            .header("Content-Type", FORM)
            .header("Authorization", header)
            .body("grant_type=client_credentials")
            .send()
            .await;
        let Ok(response) = response else { continue }; // the client itself may refuse a header
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header}");
        assert!(response.headers().get("www-authenticate").is_none());
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{header}");
    }
    // Two authentication methods at once (RFC 6749 §2.3).
    let body = format!("grant_type=client_credentials&client_secret={}", c.secret).into_bytes();
    assert_error(raw(&t, Some(&c), FORM, body).await, 400, "invalid_request");
}

#[tokio::test]
async fn oversized_bodies_and_headers_are_refused() {
    let t = TestApp::spawn_with(|s| sessiond::config::Settings { max_body_bytes: Some(4096), ..s }).await;
    let c = t.client(&[GrantType::ClientCredentials], "").await;

    let big = format!("grant_type=client_credentials&pad={}", "a".repeat(5000));
    assert_error(raw(&t, Some(&c), FORM, big.into_bytes()).await, 413, "invalid_request");

    let response = t.http.get(t.url("/healthz")).header("X-Pad", "a".repeat(20_000)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);

    let mut request = t.http.get(t.url("/healthz"));
    for i in 0..150 {
        request = request.header(format!("x-h{i}"), "1");
    }
    assert_eq!(request.send().await.unwrap().status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);

    // The server is still fine.
    let (status, _) = t.token(&c, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_4xx() {
    let t = TestApp::spawn().await;
    let response = t.http.get(t.url("/nope")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    let response = t.http.get(t.url("/oauth2/token")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}
