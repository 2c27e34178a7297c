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
        sessiond::notify::spawn_logout_sender(app.clone());
        sessiond::mirror::spawn(app.clone());
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
            backchannel_logout_session_required: false,
        })
        .await
    }

    /// A client that signs people in through the browser (authorization
    /// code and refresh token), named `name`, with its redirect and
    /// post-logout redirect URIs; not first-party, so consent is asked.
    pub async fn code_flow_client(
        &self,
        name: &str,
        kind: ClientKind,
        redirect_uris: &[&str],
        post_logout_redirect_uris: &[&str],
    ) -> TestClient {
        self.register_client(code_flow(name, kind, redirect_uris, post_logout_redirect_uris)).await
    }

    /// A confidential code-flow client with one redirect and one
    /// post-logout URI; a `first_party` client skips the consent page.
    pub async fn browser_client(
        &self,
        name: &str,
        redirect_uri: &str,
        post_logout_redirect_uri: &str,
        first_party: bool,
    ) -> TestClient {
        let new = code_flow(name, ClientKind::Confidential, &[redirect_uri], &[post_logout_redirect_uri]);
        self.register_client(NewClient { first_party, ..new }).await
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

/// A browser, as far as sessiond can tell: it keeps the cookies it is
/// given (by hand, from `Set-Cookie`), sends them back, sends `Origin` on
/// a POST as browsers do, and never follows a redirect by itself.
pub struct Browser {
    pub http: reqwest::Client,
    pub origin: String,
    pub cookies: std::collections::BTreeMap<String, String>,
}

/// One answer as the browser saw it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Browser {
    pub fn new(t: &TestApp) -> Browser {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { http, origin: t.base.clone(), cookies: Default::default() }
    }

    /// The `Cookie` header this browser would send.
    pub fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// A request carrying this browser's cookies (and nothing else).
    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, url);
        match self.cookies.is_empty() {
            true => r,
            false => r.header(reqwest::header::COOKIE, self.cookie_header()),
        }
    }

    /// Sends `request`, keeps the cookies it sets (`Max-Age=0` deletes).
    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        for set in headers.get_all(reqwest::header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let deleted = attributes.split(';').any(|a| a.trim().eq_ignore_ascii_case("Max-Age=0"));
            if deleted || value.is_empty() {
                self.cookies.remove(name.trim());
            } else {
                self.cookies.insert(name.trim().to_owned(), value.to_owned());
            }
        }
        Page { status, headers, body: response.text().await.unwrap() }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let request = self.request(reqwest::Method::GET, url);
        self.send(request).await
    }

    /// POSTs a form from one of the server's pages: cookies, and `Origin`.
    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let request = self.request(reqwest::Method::POST, url).header(reqwest::header::ORIGIN, &self.origin).form(form);
        self.send(request).await
    }

    /// Submits the form of `page` whose action is `action`, with its hidden
    /// fields and `extra`.
    pub async fn submit(&mut self, page: &Page, action: &str, extra: &[(&str, &str)]) -> Page {
        let hidden = page.hidden_fields(action);
        let mut form: Vec<(&str, &str)> = hidden.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        form.extend_from_slice(extra);
        let url = format!("{}{action}", self.origin);
        self.post(&url, &form).await
    }

    /// Follows an authorization URL the way a person would: signs in when
    /// the login page comes, allows when the consent page comes, and
    /// returns the redirect back to the application (its `Location`).
    pub async fn authorize(&mut self, url: &str, user: &str, password: &str) -> url::Url {
        let mut page = self.get(url).await;
        for _ in 0..3 {
            if page.is_form("/login") {
                page = self.submit(&page, "/login", &[("username", user), ("password", password)]).await;
            } else if page.is_form("/consent") {
                page = self.submit(&page, "/consent", &[("decision", "allow")]).await;
            } else {
                break;
            }
        }
        assert!(page.status.is_redirection(), "expected a redirect back, got {}: {}", page.status, page.body);
        url::Url::parse(&page.location().unwrap()).unwrap()
    }
}

impl Page {
    pub fn location(&self) -> Option<String> {
        self.headers.get(reqwest::header::LOCATION).map(|v| v.to_str().unwrap().to_owned())
    }

    /// Whether the page has a form posting to `action`.
    pub fn is_form(&self, action: &str) -> bool {
        self.body.contains(&format!("action=\"{action}\""))
    }

    /// The hidden fields of the form posting to `action`, unescaped.
    pub fn hidden_fields(&self, action: &str) -> Vec<(String, String)> {
        let start = self
            .body
            .find(&format!("action=\"{action}\""))
            .unwrap_or_else(|| panic!("no form {action}: {}", self.body));
        let form = &self.body[start..];
        let form = &form[..form.find("</form>").unwrap()];
        let mut fields = Vec::new();
        for input in form.split("<input").skip(1) {
            if !input.contains("type=\"hidden\"") {
                continue;
            }
            let attr = |name: &str| {
                let at = input.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
                html_unescape(&input[at..at + input[at..].find('"').unwrap()])
            };
            fields.push((attr("name"), attr("value")));
        }
        fields
    }

    /// One hidden field of the form posting to `action`.
    pub fn hidden(&self, action: &str, name: &str) -> String {
        let fields = self.hidden_fields(action);
        fields.into_iter().find(|(k, _)| k == name).unwrap_or_else(|| panic!("no field {name}")).1
    }

    /// The query parameters of the redirect.
    pub fn redirect_params(&self) -> std::collections::HashMap<String, String> {
        let location = self.location().unwrap_or_else(|| panic!("no redirect ({}): {}", self.status, self.body));
        url::Url::parse(&location).unwrap().query_pairs().into_owned().collect()
    }
}

/// Undoes HTML escaping (`&amp;`, `&quot;`, `&#x2f;` …), as a browser does
/// before it submits a field.
pub fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let entity_end = rest[at..].find(';').map(|e| at + e).unwrap();
        let entity = &rest[at + 1..entity_end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") || e.starts_with("#X") => {
                char::from_u32(u32::from_str_radix(&e[2..], 16).unwrap()).unwrap()
            }
            e if e.starts_with('#') => char::from_u32(e[1..].parse().unwrap()).unwrap(),
            e => panic!("unknown entity &{e};"),
        };
        out.push(c);
        rest = &rest[entity_end + 1..];
    }
    out.push_str(rest);
    out
}

/// A PKCE verifier and its S256 challenge (RFC 7636 §4.1, §4.2).
pub fn pkce_pair() -> (String, String) {
    use sha2::Digest;
    let verifier = sessiond::secrets::random_token(32);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("{key} missing in {v}")).to_owned()
}

/// A code-flow client's registration: authorization code and refresh
/// token, `api:read`, not first-party.
pub fn code_flow(
    name: &str,
    kind: ClientKind,
    redirect_uris: &[&str],
    post_logout_redirect_uris: &[&str],
) -> NewClient {
    NewClient {
        name: name.into(),
        kind,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        redirect_uris: redirect_uris.iter().map(|u| u.to_string()).collect(),
        post_logout_redirect_uris: post_logout_redirect_uris.iter().map(|u| u.to_string()).collect(),
        backchannel_logout_uri: None,
        scope: Scope::parse("api:read").unwrap(),
        resource_server: false,
        first_party: false,
        backchannel_logout_session_required: false,
    }
}
