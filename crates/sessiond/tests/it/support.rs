//! Spawning the application for a test and talking to it.
use std::future::pending;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::Value;
use sessiond::clock::{Clock, ManualClock, SystemClock};
use sessiond::config::{Config, Settings};
use sessiond::domain::{ClientKind, GrantType, NewClient, Scope};
use sessiond::secrets::Secret;
use sessiond::{accounts, http, App};
use tempfile::TempDir;

/// Where a test keeps its state: a temporary directory, and — when
/// `SESSIOND_TEST_DATABASE_URL` names a PostgreSQL server — a database of its
/// own on that server, dropped at the end.
pub struct TestData {
    pub dir: TempDir,
    pub database_url: Option<String>,
    /// Dropped with the data.
    _db: Option<TestDatabase>,
}

/// The master key tests on PostgreSQL share (32 zero-ish bytes, base64).
pub const TEST_MASTER_KEY: &str = "c2Vzc2lvbmQgdGVzdCBtYXN0ZXIga2V5IDMyIGJ5dGU=";

impl TestData {
    pub async fn new() -> Arc<TestData> {
        let db = match std::env::var("SESSIOND_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(TestDatabase::create(&url).await),
            _ => None,
        };
        Arc::new(TestData { dir: TempDir::new().unwrap(), database_url: db.as_ref().map(|d| d.url.clone()), _db: db })
    }

    /// Data on a PostgreSQL database the caller owns (not dropped here).
    pub fn on_database(url: &str) -> Arc<TestData> {
        Arc::new(TestData { dir: TempDir::new().unwrap(), database_url: Some(url.to_owned()), _db: None })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the tests run on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.database_url.is_some()
    }

    /// Settings that open this data, with a cheap password hash.
    pub fn settings(&self) -> Settings {
        Settings {
            data_dir: Some(self.dir.path().to_path_buf()),
            database_url: self.database_url.as_deref().map(Into::into),
            master_key: self.database_url.as_ref().map(|_| TEST_MASTER_KEY.into()),
            password_memory_kib: Some(256),
            password_iterations: Some(1),
            ..Settings::default()
        }
    }

    /// Points a `sessiond` command at this data.
    pub fn configure(&self, cmd: &mut std::process::Command) {
        cmd.arg("--data-dir").arg(self.dir.path());
        if let Some(url) = &self.database_url {
            cmd.env("SESSIOND_DATABASE_URL", url).env("SESSIOND_MASTER_KEY", TEST_MASTER_KEY);
        }
    }
}

/// A database created for one test on the server at
/// `SESSIOND_TEST_DATABASE_URL`.
struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    async fn create(admin_url: &str) -> TestDatabase {
        use sqlx::Connection;
        let name = format!("sessiond_t_{}", sessiond::secrets::random_token(9).to_lowercase().replace(['-', '_'], "x"));
        let mut conn = sqlx::PgConnection::connect(admin_url).await.expect("SESSIOND_TEST_DATABASE_URL reachable");
        sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE \"{name}\"").as_str()).await.unwrap();
        let mut url = url::Url::parse(admin_url).unwrap();
        url.set_path(&format!("/{name}"));
        TestDatabase { admin_url: admin_url.to_owned(), name, url: url.to_string() }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::Executor::execute(&mut conn, sql.as_str()).await;
                }
            });
        })
        .join();
    }
}

/// A running server and handles on its insides.
pub struct TestApp {
    pub base: String,
    pub app: Arc<App>,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    pub data: Arc<TestData>,
}

/// A registered client's credentials.
#[derive(Clone)]
pub struct TestClient {
    pub id: String,
    pub secret: String,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|s| s).await
    }

    /// Spawns with settings adjusted by `adjust`, on fresh data.
    pub async fn spawn_with(adjust: impl FnOnce(Settings) -> Settings) -> TestApp {
        Self::spawn_on(TestData::new().await, adjust).await
    }

    /// Spawns on existing data.
    pub async fn spawn_on(data: Arc<TestData>, adjust: impl FnOnce(Settings) -> Settings) -> TestApp {
        // The server's warnings and errors, in the output of a failing test.
        let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let settings = adjust(Settings { issuer: Some(base.clone()), ..data.settings() });
        let config = Config::resolve(settings).unwrap();
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let app = App::open(config, clock.clone()).await.unwrap();
        let router = http::router(app.clone());
        let limits = http::ServeLimits::from_config(&app.config);
        tokio::spawn(async move { http::serve(listener, router, limits, pending()).await });
        sessiond::revocation::spawn_background(app.clone());
        TestApp { base, app, clock, http: reqwest::Client::new(), data }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Registers a confidential client.
    pub async fn client(&self, grants: &[GrantType], scope: &str) -> TestClient {
        self.client_of_kind(ClientKind::Confidential, grants, scope).await
    }

    /// A resource server: may introspect every client's tokens (RFC 7662 §4).
    pub async fn resource_server(&self) -> TestClient {
        self.register(ClientKind::Confidential, &[GrantType::ClientCredentials], "", true).await
    }

    pub async fn client_of_kind(&self, kind: ClientKind, grants: &[GrantType], scope: &str) -> TestClient {
        self.register(kind, grants, scope, false).await
    }

    async fn register(&self, kind: ClientKind, grants: &[GrantType], scope: &str, resource_server: bool) -> TestClient {
        self.register_client(NewClient {
            name: "test".into(),
            kind,
            grant_types: grants.to_vec(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            scope: Scope::parse(scope).unwrap(),
            resource_server,
            first_party: false,
        })
        .await
    }

    /// A confidential client that signs people in through the browser
    /// (authorization code, with refresh tokens), named `name` on the
    /// login and consent pages, answered at `redirect_uri` and allowed to
    /// send the browser to `post_logout_redirect_uri` after RP-initiated
    /// logout. A `first_party` client skips the consent page.
    pub async fn browser_client(
        &self,
        name: &str,
        redirect_uri: &str,
        post_logout_redirect_uri: &str,
        first_party: bool,
    ) -> TestClient {
        self.register_client(NewClient {
            name: name.into(),
            kind: ClientKind::Confidential,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            redirect_uris: vec![redirect_uri.into()],
            post_logout_redirect_uris: vec![post_logout_redirect_uri.into()],
            backchannel_logout_uri: None,
            scope: Scope::parse("api:read").unwrap(),
            resource_server: false,
            first_party,
        })
        .await
    }

    /// Registers `new` through the same operation as the CLI.
    pub async fn register_client(&self, new: NewClient) -> TestClient {
        let registered = accounts::register_client(&self.app, new).await.unwrap();
        TestClient {
            id: registered.client.id.to_string(),
            secret: registered.secret.map(|s| s.expose().to_owned()).unwrap_or_default(),
        }
    }

    /// A client for user sign-in: password and refresh_token grants.
    pub async fn user_client(&self) -> TestClient {
        self.client(&[GrantType::Password, GrantType::RefreshToken], "api:read api:write").await
    }

    pub async fn user(&self, name: &str, password: &str) {
        accounts::create_user(&self.app, name, &Secret::new(password), false).await.unwrap();
    }

    /// POSTs a form to the token endpoint with client_secret_basic.
    pub async fn token(&self, client: &TestClient, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url("/oauth2/token"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// Signs a user in with the password grant; returns the token response.
    pub async fn sign_in(&self, client: &TestClient, user: &str, password: &str) -> Value {
        let (status, body) =
            self.token(client, &[("grant_type", "password"), ("username", user), ("password", password)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Presents a refresh token.
    pub async fn refresh(&self, client: &TestClient, refresh_token: &str) -> (StatusCode, Value) {
        self.token(client, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
    }

    /// Introspects a token as the resource server `rs`.
    pub async fn introspect(&self, rs: &TestClient, token: &str) -> Value {
        let response = self
            .http
            .post(self.url("/oauth2/introspect"))
            .basic_auth(&rs.id, Some(&rs.secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Whether introspection says the token is active.
    pub async fn active(&self, rs: &TestClient, token: &str) -> bool {
        let body = self.introspect(rs, token).await;
        match body["active"].as_bool().unwrap() {
            true => true,
            false => {
                assert_eq!(
                    body,
                    serde_json::json!({"active": false}),
                    "RFC 7662 §2.2: nothing else for inactive tokens"
                );
                false
            }
        }
    }

    /// A request with a Bearer token.
    pub fn bearer(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(token)
    }

    /// An admin user signed in; returns its token response.
    pub async fn admin_tokens(&self, client: &TestClient) -> Value {
        accounts::create_user(&self.app, "root", &Secret::new("root password"), true).await.unwrap();
        self.sign_in(client, "root", "root password").await
    }

    pub async fn jwks(&self) -> JwkSet {
        self.http.get(self.url("/jwks.json")).send().await.unwrap().json().await.unwrap()
    }

    /// Verifies an access token with `jsonwebtoken` against the published
    /// JWK Set, independently of the server's own verifier.
    pub async fn verify_with_jwks(&self, token: &str) -> Value {
        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 §2.1 typ");
        let kid = header.kid.expect("kid");
        let jwks = self.jwks().await;
        let jwk = jwks.find(&kid).unwrap_or_else(|| panic!("kid {kid} not in /jwks.json"));
        let key = DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.base]);
        validation.set_audience(&[&self.base]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap().claims
    }
}

/// The claims of a JWT, without verification (for tests that only look).
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("{key} missing in {v}")).to_owned()
}
