//! End to end in a real browser: Debian's headless Chromium, driven by
//! Python Playwright through tests/browser/driver.py, signs people in
//! through the authorization code flow, uses the account and admin pages,
//! and signs out; this side exchanges the codes, refreshes and introspects,
//! and checks that what the pages promise happened to the tokens.
//!
//! Ignored by default (they need chromium and playwright); `.ci/run`
//! installs both and runs them with `--include-ignored`. Run explicitly
//! without them, they fail rather than pass untested.
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use sessiond::clock::Clock;
use sessiond::domain::{Client, ClientId, ClientKind, GrantType, Scope, UnixTime};
use sessiond::secrets::Secret;

use crate::support::{claims, s, TestApp, TestClient};

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/driver.py");
/// Longest one driver command may take: each is a page load or two on
/// loopback, bounded in the driver at 10 s a step.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Chromium on Linux and Firefox on Windows, so that the account page can
/// tell two browsers apart.
const CHROME_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const FIREFOX_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";

/// The relying party the browser is sent back to: a listener on loopback
/// that answers every path with a page marked `#rp`. The test reads the
/// authorization response from the URL the browser arrived at.
struct Rp {
    origin: String,
}

impl Rp {
    async fn start() -> Rp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        // `localhost`, while the server is `127.0.0.1`: another site, so
        // the browser treats the application's navigations to the server
        // as cross-site, and SameSite cookies behave as in production.
        let origin = format!("http://localhost:{}", listener.local_addr().unwrap().port());
        let page = "<!doctype html><title>Application</title><p id=rp>Back at the application.</p>";
        let app = axum::Router::new().fallback(move || async move { axum::response::Html(page) });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Rp { origin }
    }

    fn callback(&self) -> String {
        format!("{}/callback", self.origin)
    }

    fn signed_out(&self) -> String {
        format!("{}/signed-out", self.origin)
    }
}

/// Where the browser is after a step.
#[derive(Debug)]
struct Page {
    url: String,
    /// `login`, `consent`, `logout`, `signed_out`, `account`, `admin`,
    /// `admin_user`, `error`, `rp` (back at the relying party),
    /// `rp_unreachable`, `unknown`.
    kind: String,
    status: Option<u64>,
    error: Option<String>,
    message: Option<String>,
}

impl Page {
    fn from(v: &Value) -> Page {
        let text = |k: &str| v[k].as_str().map(str::to_owned);
        Page {
            url: s(v, "url"),
            kind: s(v, "kind"),
            status: v["status"].as_u64(),
            error: text("error"),
            message: text("message"),
        }
    }

    /// Asserts the browser is on the `kind` page.
    fn expect(self, kind: &str) -> Page {
        assert_eq!(self.kind, kind, "expected the {kind} page, the browser is at {self:?}");
        self
    }

    /// A query parameter of the URL (the authorization response).
    fn param(&self, name: &str) -> Option<String> {
        let url = url::Url::parse(&self.url).unwrap();
        url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }
}

/// One headless Chromium (its driver process); contexts inside it are
/// separate browsers, each with its own cookies.
struct Browser {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<String>>,
}

impl Browser {
    async fn launch(rp: &Rp) -> Browser {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: the browser tests need Debian's chromium package (.ci/run installs it)"
        );
        let playwright = std::process::Command::new("python3")
            .args(["-c", "import playwright.sync_api"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(playwright, "python3 with playwright is required for the browser tests (.ci/run installs it)");
        let mut child = tokio::process::Command::new("python3")
            .arg(DRIVER)
            .arg(&rp.origin)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs");
        // The driver's (and Chromium's) complaints, kept for a failure message.
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let sink = stderr.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let mut all = sink.lock().unwrap();
                if all.len() < 64 * 1024 {
                    all.push_str(&line);
                    all.push('\n');
                }
            }
        });
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut browser = Browser { child, stdin, stdout, stderr };
        let ready = browser.read().await;
        assert_eq!(ready, json!({"ready": true}));
        browser
    }

    async fn read(&mut self) -> Value {
        let line = match tokio::time::timeout(COMMAND_TIMEOUT, self.stdout.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) | Ok(Err(_)) => panic!("the browser driver exited:\n{}", self.stderr()),
            Err(_) => panic!("the browser driver did not answer within {COMMAND_TIMEOUT:?}:\n{}", self.stderr()),
        };
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("driver said {line:?} ({e}):\n{}", self.stderr()))
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends one command and returns its result; a command that failed in
    /// the browser fails the test.
    async fn call(&mut self, cmd: Value) -> Value {
        let mut line = cmd.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
        let result = self.read().await;
        if let Some(error) = result["driver_error"].as_str() {
            panic!("browser: {error}\n{}", self.stderr());
        }
        result
    }

    async fn open(&mut self, ctx: &str, user_agent: &str) {
        self.call(json!({"cmd": "open", "ctx": ctx, "user_agent": user_agent})).await;
    }

    async fn goto(&mut self, ctx: &str, url: &str) -> Page {
        Page::from(&self.call(json!({"cmd": "goto", "ctx": ctx, "url": url})).await)
    }

    /// The relying party's page sends the browser to `url` (a navigation
    /// another site starts, as an application's link or redirect is).
    async fn follow(&mut self, ctx: &str, url: &str) -> Page {
        Page::from(&self.call(json!({"cmd": "follow", "ctx": ctx, "url": url})).await)
    }

    async fn click(&mut self, ctx: &str, selector: &str) -> Page {
        Page::from(&self.call(json!({"cmd": "click", "ctx": ctx, "selector": selector})).await)
    }

    async fn fill(&mut self, ctx: &str, fields: &[(&str, &str)]) {
        let fields: serde_json::Map<String, Value> = fields.iter().map(|(k, v)| ((*k).into(), json!(v))).collect();
        self.call(json!({"cmd": "fill", "ctx": ctx, "fields": fields})).await;
    }

    async fn login(&mut self, ctx: &str, username: &str, password: &str) -> Page {
        let cmd = json!({"cmd": "login", "ctx": ctx, "username": username, "password": password});
        Page::from(&self.call(cmd).await)
    }

    async fn checked(&mut self, ctx: &str, selector: &str) -> bool {
        self.call(json!({"cmd": "checked", "ctx": ctx, "selector": selector})).await["checked"].as_bool().unwrap()
    }

    async fn texts(&mut self, ctx: &str, selector: &str) -> Vec<String> {
        let v = self.call(json!({"cmd": "text", "ctx": ctx, "selector": selector})).await;
        v["texts"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect()
    }

    /// The session rows of the account (or admin user) page.
    async fn sessions(&mut self, ctx: &str) -> Vec<Value> {
        self.call(json!({"cmd": "sessions", "ctx": ctx})).await["sessions"].as_array().unwrap().clone()
    }

    async fn screenshot(&mut self, ctx: &str, path: &Path) {
        self.call(json!({"cmd": "screenshot", "ctx": ctx, "path": path.to_str().unwrap()})).await;
        let png = std::fs::read(path).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000, "{} is a PNG", path.display());
    }

    async fn quit(mut self) {
        let _ = self.stdin.write_all(b"{\"cmd\": \"quit\"}\n").await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}

/// An authorization request as a relying party makes it: PKCE S256, a
/// fresh `state` and `nonce`.
struct Authorization {
    url: String,
    state: String,
    nonce: String,
    verifier: String,
}

/// An authorization request of `client` at the relying party, with
/// `extra` parameters.
fn authorization(t: &TestApp, rp: &Rp, client: &TestClient, extra: &[(&str, &str)]) -> Authorization {
    let state = sessiond::secrets::random_token(12);
    let nonce = sessiond::secrets::random_token(12);
    let verifier = sessiond::secrets::random_token(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let callback = rp.callback();
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", callback.as_str()),
        ("scope", "openid api:read"),
        ("state", state.as_str()),
        ("nonce", nonce.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    params.extend_from_slice(extra);
    let mut url = url::Url::parse(&t.url("/oauth2/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    Authorization { url: url.to_string(), state, nonce, verifier }
}

/// Tokens from one code exchange.
#[derive(Debug)]
struct Tokens {
    access: String,
    refresh: String,
    id_token: String,
    sid: String,
}

/// A server, a relying party, a resource server and a browser.
struct E2e {
    t: TestApp,
    rp: Rp,
    rs: TestClient,
    browser: Browser,
}

impl E2e {
    async fn start() -> E2e {
        let t = TestApp::spawn().await;
        let rp = Rp::start().await;
        let rs = t.resource_server().await;
        let browser = Browser::launch(&rp).await;
        E2e { t, rp, rs, browser }
    }

    /// A client registered for the relying party.
    async fn client(&self, name: &str, first_party: bool) -> TestClient {
        self.t.browser_client(name, &self.rp.callback(), &self.rp.signed_out(), first_party).await
    }

    fn authorization(&self, client: &TestClient, extra: &[(&str, &str)]) -> Authorization {
        authorization(&self.t, &self.rp, client, extra)
    }

    /// Checks the authorization response the browser brought back and
    /// exchanges its code (with the PKCE verifier) for tokens.
    async fn exchange(&self, client: &TestClient, auth: &Authorization, back: &Page) -> Tokens {
        assert_eq!(back.kind, "rp", "the browser is back at the application: {back:?}");
        assert!(back.url.starts_with(&self.rp.callback()), "{back:?}");
        assert_eq!(back.param("state").as_deref(), Some(auth.state.as_str()), "state comes back unchanged");
        assert_eq!(back.param("iss").as_deref(), Some(self.t.base.as_str()), "RFC 9207 iss");
        assert_eq!(back.param("error"), None, "{back:?}");
        let code = back.param("code").unwrap_or_else(|| panic!("no code in {}", back.url));
        let callback = self.rp.callback();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", callback.as_str()),
            ("code_verifier", auth.verifier.as_str()),
        ];
        let (status, body) = self.t.token(client, &form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let access = s(&body, "access_token");
        let id_token = s(&body, "id_token");
        let sid = s(&claims(&access), "sid");
        let id = self.verify_id_token(&id_token, client).await;
        assert_eq!(id["nonce"], json!(auth.nonce), "the ID token carries the request's nonce");
        assert_eq!(id["sid"], json!(sid), "the ID token names the access token's session");
        assert_eq!(id["sub"], claims(&access)["sub"]);
        Tokens { access, refresh: s(&body, "refresh_token"), id_token, sid }
    }

    /// Verifies an ID token against the published keys, as a relying
    /// party would: signature, issuer, audience (the client), lifetime.
    async fn verify_id_token(&self, token: &str, client: &TestClient) -> Value {
        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        let jwks = self.t.jwks().await;
        let jwk = jwks.find(header.kid.as_deref().unwrap()).expect("the ID token's key is published");
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.t.base]);
        validation.set_audience(&[&client.id]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation).unwrap().claims
    }

    /// `ctx` signs in through the code flow of `client` (allowing it when
    /// asked) and the relying party gets its tokens.
    async fn sign_in(&mut self, ctx: &str, client: &TestClient, user: &str, password: &str) -> Tokens {
        let auth = self.authorization(client, &[]);
        self.browser.follow(ctx, &auth.url).await.expect("login");
        let mut page = self.browser.login(ctx, user, password).await;
        if page.kind == "consent" {
            page = self.browser.click(ctx, "#allow").await;
        }
        self.exchange(client, &auth, &page).await
    }

    /// Asserts that every token of a sign-in is dead: the access token
    /// introspects inactive and the refresh token is refused.
    async fn assert_ended(&self, client: &TestClient, tokens: &Tokens) {
        assert!(!self.t.active(&self.rs, &tokens.access).await, "the access token is inactive");
        let (status, body) = self.t.refresh(client, &tokens.refresh).await;
        assert_eq!((status, s(&body, "error").as_str()), (StatusCode::BAD_REQUEST, "invalid_grant"), "{body}");
    }

    /// Asserts that a sign-in is alive: its access token is active and its
    /// refresh token works. Returns the rotated tokens.
    async fn assert_live(&self, client: &TestClient, tokens: &Tokens) -> Tokens {
        assert!(self.t.active(&self.rs, &tokens.access).await, "the access token is active");
        let (status, body) = self.t.refresh(client, &tokens.refresh).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        Tokens {
            access: s(&body, "access_token"),
            refresh: s(&body, "refresh_token"),
            id_token: tokens.id_token.clone(),
            sid: tokens.sid.clone(),
        }
    }

    /// Asserts that the browser `ctx` is not signed in: a new authorization
    /// request shows the login form. Returns the request, which the form
    /// carries on with.
    async fn assert_asks_for_password(&mut self, ctx: &str, client: &TestClient) -> Authorization {
        let auth = self.authorization(client, &[]);
        self.browser.follow(ctx, &auth.url).await.expect("login");
        auth
    }
}

/// The repository's docs/screenshots, where the README shows the pages.
fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A browser client with a fixed id (the shape of a generated one), stored
/// directly, so that the admin page looks the same from run to run.
async fn fixed_client(t: &TestApp, rp: &Rp, id: &str, name: &str, first_party: bool) -> TestClient {
    let secret = Secret::generate();
    let client = Client {
        id: ClientId::new(id),
        name: name.into(),
        kind: ClientKind::Confidential,
        secret_hash: Some(secret.hash()),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        redirect_uris: vec![rp.callback()],
        post_logout_redirect_uris: vec![rp.signed_out()],
        backchannel_logout_uri: None,
        scope: Scope::parse("api:read").unwrap(),
        resource_server: false,
        first_party,
        backchannel_logout_session_required: false,
        created_at: t.clock.now(),
    };
    t.app.store.create_client(&client).await.unwrap();
    TestClient { id: id.into(), secret: secret.expose().into() }
}

/// Exchanges the code the browser brought back, as the relying party does
/// (without checking the tokens: the screenshots run on a fixed clock).
async fn redeem(t: &TestApp, rp: &Rp, client: &TestClient, auth: &Authorization, back: &Page) {
    assert_eq!(back.kind, "rp", "{back:?}");
    let code = back.param("code").unwrap_or_else(|| panic!("no code in {back:?}"));
    let callback = rp.callback();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", callback.as_str()),
        ("code_verifier", auth.verifier.as_str()),
    ];
    let (status, body) = t.token(client, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Takes the screenshots the README shows: the login, consent, account and
/// admin pages, as a person sees them. The clock, the client ids and the
/// browsers' User-Agents are fixed, so a run rewrites the files with the
/// same pictures unless a page changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and python3 playwright; .ci/run installs them"]
async fn screenshots_of_the_pages() {
    let t = TestApp::spawn().await;
    let rp = Rp::start().await;
    let mut browser = Browser::launch(&rp).await;
    let dir = screenshots();
    // Monday 2 March 2026, 08:12 UTC.
    t.clock.set(UnixTime(1_772_439_120));
    let photos = fixed_client(&t, &rp, "Kq7vR2xN9pLw4TzB8mYc3A", "Photo Share", false).await;
    let intranet = fixed_client(&t, &rp, "Xe5hJ1sDq8VnG6uWkZ0rFt", "Intranet", true).await;
    t.user("alice", "alice password").await;
    sessiond::accounts::create_user(&t.app, "root", &Secret::new("root password"), true).await.unwrap();

    // Alice signed in on her phone this morning…
    browser.open("phone", FIREFOX_WINDOWS).await;
    let auth = authorization(&t, &rp, &intranet, &[]);
    browser.follow("phone", &auth.url).await.expect("login");
    let back = browser.login("phone", "alice", "alice password").await;
    redeem(&t, &rp, &intranet, &auth, &back).await;

    // …and now on her laptop, for a third-party application.
    t.clock.advance(Duration::from_secs(89 * 60));
    browser.open("laptop", CHROME_LINUX).await;
    let auth = authorization(&t, &rp, &photos, &[]);
    browser.follow("laptop", &auth.url).await.expect("login");
    browser.fill("laptop", &[("#username", "alice")]).await;
    browser.screenshot("laptop", &dir.join("login.png")).await;
    browser.fill("laptop", &[("#password", "alice password")]).await;
    browser.click("laptop", "#sign-in").await.expect("consent");
    browser.screenshot("laptop", &dir.join("consent.png")).await;
    let back = browser.click("laptop", "#allow").await;
    redeem(&t, &rp, &photos, &auth, &back).await;

    browser.goto("laptop", &t.url("/account")).await.expect("account");
    assert_eq!(browser.sessions("laptop").await.len(), 2);
    browser.screenshot("laptop", &dir.join("account.png")).await;

    browser.open("admin", CHROME_LINUX).await;
    browser.goto("admin", &t.url("/login")).await.expect("login");
    browser.login("admin", "root", "root password").await.expect("account");
    browser.goto("admin", &t.url("/admin")).await.expect("admin");
    assert!(!browser.texts("admin", "#audit tbody tr").await.is_empty());
    browser.screenshot("admin", &dir.join("admin.png")).await;
    browser.goto("admin", &t.url("/admin/users/alice")).await.expect("admin_user");
    let rows = browser.sessions("admin").await;
    let signed_in: Vec<bool> = rows.iter().map(|r| r["text"].as_str().unwrap().contains("09:41")).collect();
    assert_eq!(signed_in, [true, false], "the newest session first: {rows:?}");
    browser.screenshot("admin", &dir.join("admin-user.png")).await;
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and python3 playwright; .ci/run installs them"]
async fn code_flow_with_consent_then_sso_and_prompt_none() {
    let mut e = E2e::start().await;
    let client = e.client("Photo Share", false).await;
    e.t.user("alice", "alice password").await;
    e.browser.open("alice", CHROME_LINUX).await;

    // Login form, then consent for a third-party application, then back.
    let auth = e.authorization(&client, &[]);
    let page = e.browser.follow("alice", &auth.url).await.expect("login");
    assert_eq!(page.status, Some(200));
    let page = e.browser.login("alice", "alice", "wrong password").await.expect("login");
    assert_eq!(page.error.as_deref(), Some("Invalid user name or password."));
    let page = e.browser.login("alice", "alice", "alice password").await.expect("consent");
    assert!(page.url.starts_with(&e.t.url("/login")), "{page:?}");
    let mut scopes = e.browser.texts("alice", ".scopes li").await;
    scopes.sort();
    assert_eq!(scopes, ["api:read", "openid"], "the consent page lists what is asked for");
    let back = e.browser.click("alice", "#allow").await;
    let first = e.exchange(&client, &auth, &back).await;
    let claims_first = claims(&first.access);
    assert_eq!(claims_first["username"], "alice");
    assert!(e.t.active(&e.rs, &first.access).await);

    let first_code = back.param("code").unwrap();
    let first_verifier = auth.verifier.clone();

    // SSO: the same browser gets a code at once, no form, no consent.
    let auth = e.authorization(&client, &[]);
    let back = e.browser.follow("alice", &auth.url).await.expect("rp");
    let second = e.exchange(&client, &auth, &back).await;
    assert_eq!(second.sid, first.sid, "the same browser session");

    // prompt=none with a session: a code.
    let auth = e.authorization(&client, &[("prompt", "none")]);
    let back = e.browser.follow("alice", &auth.url).await.expect("rp");
    let silent = e.exchange(&client, &auth, &back).await;
    assert_eq!(silent.sid, first.sid);

    // prompt=consent asks again, even though alice allowed it before; and
    // Deny sends access_denied back to the application.
    let auth = e.authorization(&client, &[("prompt", "consent")]);
    e.browser.follow("alice", &auth.url).await.expect("consent");
    let back = e.browser.click("alice", "#deny").await.expect("rp");
    assert_eq!(back.param("error").as_deref(), Some("access_denied"));
    assert_eq!(back.param("state").as_deref(), Some(auth.state.as_str()));
    assert_eq!(back.param("code"), None);

    // The code is single-use: presenting it again is refused, and the
    // session it was issued in ends (someone else holds a copy of what it
    // issued): its tokens die and the browser is asked to sign in again.
    let callback = e.rp.callback();
    let again = [
        ("grant_type", "authorization_code"),
        ("code", first_code.as_str()),
        ("redirect_uri", callback.as_str()),
        ("code_verifier", first_verifier.as_str()),
    ];
    assert_eq!(e.t.token(&client, &again).await.0, StatusCode::BAD_REQUEST);
    assert!(!e.t.active(&e.rs, &first.access).await);
    let auth = e.authorization(&client, &[]);
    e.browser.follow("alice", &auth.url).await.expect("login");

    // prompt=none in a browser without a session: login_required at the
    // redirect URI, with the state, and no page shown.
    e.browser.open("stranger", FIREFOX_WINDOWS).await;
    let auth = e.authorization(&client, &[("prompt", "none")]);
    let back = e.browser.follow("stranger", &auth.url).await.expect("rp");
    assert!(back.url.starts_with(&e.rp.callback()), "{back:?}");
    assert_eq!(back.param("error").as_deref(), Some("login_required"));
    assert_eq!(back.param("state").as_deref(), Some(auth.state.as_str()));
    assert_eq!(back.param("code"), None);
    // And without prompt=none that browser is asked to sign in.
    e.assert_asks_for_password("stranger", &client).await;
    e.browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and python3 playwright; .ci/run installs them"]
async fn account_page_ends_the_other_browsers_session() {
    let mut e = E2e::start().await;
    // First party: no consent page.
    let client = e.client("Intranet", true).await;
    e.t.user("alice", "alice password").await;
    e.browser.open("laptop", CHROME_LINUX).await;
    e.browser.open("desktop", FIREFOX_WINDOWS).await;
    let laptop = e.sign_in("laptop", &client, "alice", "alice password").await;
    let desktop = e.sign_in("desktop", &client, "alice", "alice password").await;
    assert_ne!(laptop.sid, desktop.sid);

    let page = e.browser.goto("laptop", &e.t.url("/account")).await.expect("account");
    assert_eq!(page.status, Some(200));
    let rows = e.browser.sessions("laptop").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let row = |sid: &str| rows.iter().find(|r| r["sid"] == sid).unwrap_or_else(|| panic!("{sid} not listed"));
    let (mine, other) = (row(&laptop.sid), row(&desktop.sid));
    assert_eq!((mine["current"].as_bool(), mine["this_browser"].as_bool()), (Some(true), Some(true)));
    assert_eq!((other["current"].as_bool(), other["this_browser"].as_bool()), (Some(false), Some(false)));
    assert!(mine["text"].as_str().unwrap().contains("Chrome on Linux"), "{mine}");
    assert!(other["text"].as_str().unwrap().contains("Firefox on Windows"), "{other}");
    assert!(other["text"].as_str().unwrap().contains("Intranet"), "the application is listed: {other}");

    // Sign the desktop out from the laptop.
    let selector = format!("tr.session[data-sid=\"{}\"] .end-session", desktop.sid);
    e.browser.click("laptop", &selector).await.expect("account");
    let rows = e.browser.sessions("laptop").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["sid"], json!(laptop.sid));

    e.assert_ended(&client, &desktop).await;
    e.assert_live(&client, &laptop).await;
    e.assert_asks_for_password("desktop", &client).await;
    // The laptop is still signed in: SSO gives it a code.
    let auth = e.authorization(&client, &[]);
    let back = e.browser.follow("laptop", &auth.url).await.expect("rp");
    assert_eq!(e.exchange(&client, &auth, &back).await.sid, laptop.sid);
    e.browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and python3 playwright; .ci/run installs them"]
async fn sign_out_everywhere_else() {
    let mut e = E2e::start().await;
    let client = e.client("Intranet", true).await;
    e.t.user("alice", "alice password").await;
    let mut others = Vec::new();
    for ctx in ["phone", "tablet"] {
        e.browser.open(ctx, FIREFOX_WINDOWS).await;
        others.push(e.sign_in(ctx, &client, "alice", "alice password").await);
    }
    e.browser.open("laptop", CHROME_LINUX).await;
    let laptop = e.sign_in("laptop", &client, "alice", "alice password").await;
    e.browser.goto("laptop", &e.t.url("/account")).await.expect("account");
    assert_eq!(e.browser.sessions("laptop").await.len(), 3);

    e.browser.click("laptop", "#end-others").await.expect("account");
    let rows = e.browser.sessions("laptop").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0]["sid"].as_str(), rows[0]["current"].as_bool()), (Some(laptop.sid.as_str()), Some(true)));
    for tokens in &others {
        e.assert_ended(&client, tokens).await;
    }
    e.assert_live(&client, &laptop).await;
    e.assert_asks_for_password("phone", &client).await;
    e.assert_asks_for_password("tablet", &client).await;

    // "Sign out everywhere" then ends this one too.
    e.browser.click("laptop", "#end-all").await.expect("signed_out");
    e.assert_ended(&client, &laptop).await;
    e.assert_asks_for_password("laptop", &client).await;
    e.browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and python3 playwright; .ci/run installs them"]
async fn rp_initiated_logout_returns_to_the_application() {
    let mut e = E2e::start().await;
    let client = e.client("Photo Share", false).await;
    e.t.user("alice", "alice password").await;
    e.browser.open("alice", CHROME_LINUX).await;
    let tokens = e.sign_in("alice", &client, "alice", "alice password").await;

    // With an id_token_hint naming this browser's session: signed out at
    // once, and back at the registered post-logout URI with the state.
    let mut logout = url::Url::parse(&e.t.url("/oauth2/logout")).unwrap();
    logout.query_pairs_mut().extend_pairs([
        ("id_token_hint", tokens.id_token.as_str()),
        ("post_logout_redirect_uri", e.rp.signed_out().as_str()),
        ("state", "bye-1"),
    ]);
    let back = e.browser.follow("alice", logout.as_str()).await.expect("rp");
    assert!(back.url.starts_with(&e.rp.signed_out()), "{back:?}");
    assert_eq!(back.param("state").as_deref(), Some("bye-1"));
    e.assert_ended(&client, &tokens).await;
    e.assert_asks_for_password("alice", &client).await;

    // Without a hint the request is not tied to this browser's session:
    // the person confirms first, then is sent back all the same.
    let tokens = e.sign_in("alice", &client, "alice", "alice password").await;
    let mut logout = url::Url::parse(&e.t.url("/oauth2/logout")).unwrap();
    logout.query_pairs_mut().extend_pairs([
        ("client_id", client.id.as_str()),
        ("post_logout_redirect_uri", e.rp.signed_out().as_str()),
        ("state", "bye-2"),
    ]);
    e.browser.follow("alice", logout.as_str()).await.expect("logout");
    e.assert_live(&client, &tokens).await;
    let back = e.browser.click("alice", "#logout").await.expect("rp");
    assert!(back.url.starts_with(&e.rp.signed_out()), "{back:?}");
    assert_eq!(back.param("state").as_deref(), Some("bye-2"));
    e.assert_ended(&client, &tokens).await;
    e.assert_asks_for_password("alice", &client).await;
    e.browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and python3 playwright; .ci/run installs them"]
async fn admin_disables_a_user_whose_browser_is_signed_out_at_once() {
    let mut e = E2e::start().await;
    let client = e.client("Intranet", true).await;
    sessiond::accounts::create_user(&e.t.app, "root", &Secret::new("root password"), true).await.unwrap();
    e.t.user("bob", "bob password").await;
    e.browser.open("bob", FIREFOX_WINDOWS).await;
    let bob = e.sign_in("bob", &client, "bob", "bob password").await;

    // The administrator signs in to the account page, then administers.
    e.browser.open("admin", CHROME_LINUX).await;
    e.browser.goto("admin", &e.t.url("/login")).await.expect("login");
    e.browser.login("admin", "root", "root password").await.expect("account");
    e.browser.goto("admin", &e.t.url("/admin")).await.expect("admin");
    e.browser.fill("admin", &[("#user", "bob")]).await;
    e.browser.click("admin", "#find-user").await.expect("admin_user");
    let rows = e.browser.sessions("admin").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["sid"], json!(bob.sid));

    e.browser.click("admin", "#disable").await.expect("admin_user");
    assert_eq!(e.browser.texts("admin", "#disabled-badge").await, ["disabled"]);
    assert!(e.browser.sessions("admin").await.is_empty());

    // Bob's browser and tokens are signed out, and he cannot sign in again.
    e.assert_ended(&client, &bob).await;
    e.assert_asks_for_password("bob", &client).await;
    let page = e.browser.login("bob", "bob", "bob password").await.expect("login");
    assert_eq!(page.error.as_deref(), Some("Invalid user name or password."));

    // The audit trail on the admin page says who did it.
    e.browser.goto("admin", &e.t.url("/admin")).await.expect("admin");
    let audit = e.browser.texts("admin", "#audit tbody tr").await;
    assert!(audit.iter().any(|r| r.contains("user_disabled") && r.contains("root") && r.contains("bob")), "{audit:?}");

    // Enabled again later (a user's cut-off covers every token issued up
    // to its second), bob signs in anew; his old tokens stay dead.
    e.t.clock.advance(Duration::from_secs(60));
    e.browser.goto("admin", &e.t.url("/admin/users/bob")).await.expect("admin_user");
    e.browser.click("admin", "#enable").await.expect("admin_user");
    let again = e.sign_in("bob", &client, "bob", "bob password").await;
    e.assert_live(&client, &again).await;
    assert!(!e.t.active(&e.rs, &bob.access).await);
    e.browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and python3 playwright; .ci/run installs them"]
async fn password_change_ends_the_other_sessions() {
    let mut e = E2e::start().await;
    let client = e.client("Intranet", true).await;
    e.t.user("carol", "old password").await;
    e.browser.open("laptop", CHROME_LINUX).await;
    e.browser.open("phone", FIREFOX_WINDOWS).await;
    let laptop = e.sign_in("laptop", &client, "carol", "old password").await;
    let phone = e.sign_in("phone", &client, "carol", "old password").await;

    e.browser.goto("laptop", &e.t.url("/account")).await.expect("account");
    assert!(e.browser.checked("laptop", "#end_other_sessions").await, "checked by default");
    e.browser.fill("laptop", &[("#current_password", "old password"), ("#new_password", "new password")]).await;
    let page = e.browser.click("laptop", "#change-password").await.expect("account");
    assert_eq!(page.message.as_deref(), Some("Password changed; 1 other session(s) signed out."));
    let rows = e.browser.sessions("laptop").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["sid"], json!(laptop.sid));

    e.assert_ended(&client, &phone).await;
    e.assert_live(&client, &laptop).await;
    let auth = e.assert_asks_for_password("phone", &client).await;
    let page = e.browser.login("phone", "carol", "old password").await.expect("login");
    assert_eq!(page.error.as_deref(), Some("Invalid user name or password."));
    // The form still carries the authorization request: the new password
    // carries on with it.
    let back = e.browser.login("phone", "carol", "new password").await;
    let again = e.exchange(&client, &auth, &back).await;
    assert_ne!(again.sid, phone.sid, "a new session");
    e.browser.quit().await;
}
