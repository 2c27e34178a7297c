//! Talking to a `sessiond serve` process over HTTP as one client would.
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{s, TestClient};

/// One server, seen through one registered client.
#[derive(Clone)]
pub struct Remote {
    pub base: String,
    pub client: TestClient,
    pub http: reqwest::Client,
}

impl Remote {
    pub fn new(base: &str, client: &TestClient) -> Remote {
        Remote { base: base.to_owned(), client: client.clone(), http: reqwest::Client::new() }
    }

    /// POSTs a form with client_secret_basic; the status and JSON body (or null).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.client.id, Some(&self.client.secret))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn sign_in(&self, user: &str, password: &str) -> Value {
        let (status, body) =
            self.post("/oauth2/token", &[("grant_type", "password"), ("username", user), ("password", password)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn client_token(&self) -> String {
        s(&self.post("/oauth2/token", &[("grant_type", "client_credentials")]).await.1, "access_token")
    }

    pub async fn refresh(&self, refresh_token: &str) -> (StatusCode, Value) {
        self.post("/oauth2/token", &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
    }

    pub async fn revoke(&self, token: &str) {
        let (status, body) = self.post("/oauth2/revoke", &[("token", token)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    pub async fn logout(&self, access_token: &str) {
        let r = self.http.post(format!("{}/logout", self.base)).bearer_auth(access_token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    /// Introspection's verdict; panics unless the node answered 200.
    pub async fn active(&self, token: &str) -> bool {
        let (status, body) = self.post("/oauth2/introspect", &[("token", token)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["active"].as_bool().unwrap()
    }

    pub async fn ready(&self) -> bool {
        match self.http.get(format!("{}/readyz", self.base)).send().await {
            Ok(r) => r.status() == StatusCode::OK,
            Err(_) => false,
        }
    }
}
