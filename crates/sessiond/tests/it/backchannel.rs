//! Back-channel logout: every way a session ends sends each of its clients
//! a logout token that a standard JOSE library verifies against
//! `/jwks.json`; failures are retried; nodes sharing the outbox send once.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use jsonwebtoken::{DecodingKey, Validation};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sessiond::domain::{ClientKind, EndReason, GrantType, NewClient, Scope, SessionId};
use sessiond::sessions::Actor;

use crate::support::{claims, s, TestApp, TestClient};

/// A relying party's back-channel logout endpoint: records every token,
/// answering 500 to the first `failures` deliveries.
#[derive(Clone, Default)]
pub struct Receiver {
    pub tokens: Arc<Mutex<Vec<String>>>,
    failures: Arc<Mutex<u32>>,
}

impl Receiver {
    pub async fn start(failures: u32) -> (Receiver, String) {
        let receiver = Receiver { failures: Arc::new(Mutex::new(failures)), ..Receiver::default() };
        let app = axum::Router::new().route("/backchannel", axum::routing::post(receive)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}/backchannel", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, uri)
    }

    pub fn received(&self) -> Vec<String> {
        self.tokens.lock().unwrap().clone()
    }

    /// Waits (bounded) until `n` tokens arrived, moving `clock` (if any)
    /// past each retry's back-off.
    pub async fn wait_for(&self, n: usize, clock: Option<&sessiond::clock::ManualClock>) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.received().len() < n {
            assert!(Instant::now() < deadline, "only {} of {n} logout tokens arrived", self.received().len());
            if let Some(clock) = clock {
                clock.advance(Duration::from_secs(2));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.received()
    }
}

async fn receive(State(r): State<Receiver>, body: String) -> AxumStatus {
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let mut failures = r.failures.lock().unwrap();
    if *failures > 0 {
        *failures -= 1;
        return AxumStatus::INTERNAL_SERVER_ERROR;
    }
    r.tokens.lock().unwrap().push(token);
    AxumStatus::OK
}

/// A client with password and refresh grants and a back-channel logout URI.
async fn rp(t: &TestApp, uri: &str) -> TestClient {
    let new = NewClient {
        name: "rp".into(),
        kind: ClientKind::Confidential,
        grant_types: vec![GrantType::Password, GrantType::RefreshToken],
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: Some(uri.to_owned()),
        scope: Scope::parse("api:read").unwrap(),
        resource_server: false,
        first_party: false,
        backchannel_logout_session_required: true,
    };
    let registered = sessiond::accounts::register_client(&t.app, new).await.unwrap();
    TestClient { id: registered.client.id.to_string(), secret: registered.secret.unwrap().expose().to_owned() }
}

/// Verifies a logout token as a relying party would (Back-Channel Logout
/// §2.6), with `jsonwebtoken` and the published keys.
async fn verify(t: &TestApp, token: &str, client: &TestClient) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let jwks = t.jwks().await;
    let key = DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&t.base]);
    validation.set_audience(&[&client.id]);
    // The test's clock may run ahead of the system clock the library reads.
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap().claims;
    assert!(claims.get("nonce").is_none(), "§2.4: never a nonce");
    assert_eq!(claims["events"], serde_json::json!({"http://schemas.openid.net/event/backchannel-logout": {}}));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 120);
    assert!(claims["jti"].is_string());
    claims
}

#[tokio::test]
async fn every_way_a_session_ends_sends_a_verifiable_logout_token() {
    let t = TestApp::spawn_with(|s| sessiond::config::Settings {
        max_sessions_per_user: Some(1),
        session_limit_policy: Some(sessiond::domain::LimitPolicy::EndOldest),
        ..s
    })
    .await;
    let (receiver, uri) = Receiver::start(0).await;
    let client = rp(&t, &uri).await;
    let sid_of = |tokens: &Value| s(&claims(&s(tokens, "access_token")), "sid");
    let mut expected = Vec::new();
    let admin = t.user_client().await;
    let admin_token = s(&t.admin_tokens(&admin).await, "access_token");

    // Each way, for its own user (the limit is one session per user).
    for (n, way) in ["logout", "me", "admin", "disable", "refresh reuse", "timeout", "session limit"].iter().enumerate()
    {
        let user = format!("user{n}");
        t.user(&user, "user password").await;
        let tokens = t.sign_in(&client, &user, "user password").await;
        let sid = sid_of(&tokens);
        let access = s(&tokens, "access_token");
        match *way {
            "logout" => assert!(t.bearer(Method::POST, "/logout", &access).send().await.unwrap().status().is_success()),
            "me" => {
                let path = format!("/api/v1/me/sessions/{sid}");
                assert!(t.bearer(Method::DELETE, &path, &access).send().await.unwrap().status().is_success());
            }
            "admin" => {
                let path = format!("/api/v1/admin/sessions/{sid}");
                assert!(t.bearer(Method::DELETE, &path, &admin_token).send().await.unwrap().status().is_success());
            }
            "disable" => {
                sessiond::sessions::disable_user(&t.app, &user, &Actor::cli()).await.unwrap().unwrap();
            }
            "refresh reuse" => {
                let refresh = s(&tokens, "refresh_token");
                assert_eq!(t.refresh(&client, &refresh).await.0, StatusCode::OK);
                assert_eq!(t.refresh(&client, &refresh).await.0, StatusCode::BAD_REQUEST);
            }
            "timeout" => {
                // Only this session is live for a week; move past it, prune.
                let other = t.app.store.session(&SessionId::new(sid.clone())).await.unwrap().unwrap();
                t.clock.set(other.absolute_expires_at);
                sessiond::revocation::prune_once(&t.app).await.unwrap();
                // Earlier users' sessions ended already; later ones start now.
            }
            _ => {
                // A second sign-in of the same user pushes this one out.
                t.sign_in(&client, &user, "user password").await;
            }
        }
        expected.push((sid, s(&claims(&access), "sub")));
        let got = receiver.wait_for(expected.len(), None).await;
        let claims = verify(&t, got.last().unwrap(), &client).await;
        let (sid, sub) = expected.last().unwrap();
        assert_eq!(
            (claims["sid"].as_str().unwrap(), claims["sub"].as_str().unwrap()),
            (sid.as_str(), sub.as_str()),
            "{way}"
        );
        assert_eq!(claims["aud"], client.id.as_str(), "{way}");
    }
    // The admin API lists nothing pending once all arrived (a fresh token:
    // the clock moved a week).
    let admin_token = s(&t.sign_in(&admin, "root", "root password").await, "access_token");
    // (The last one may still be being recorded as delivered: bounded wait.)
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = t.bearer(Method::GET, "/api/v1/admin/logout-deliveries", &admin_token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        if body["deliveries"] == serde_json::json!([]) {
            break;
        }
        assert!(Instant::now() < deadline, "still pending: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_it_on_the_third_try_and_a_dead_one_is_given_up() {
    let t = TestApp::spawn_with(|s| sessiond::config::Settings {
        backchannel_logout_max_age: Some(sessiond::config::ConfigDuration(Duration::from_secs(60))),
        ..s
    })
    .await;
    let (receiver, uri) = Receiver::start(2).await;
    let client = rp(&t, &uri).await;
    t.user("alice", "alice password").await;
    let tokens = t.sign_in(&client, "alice", "alice password").await;
    let sid = s(&claims(&s(&tokens, "access_token")), "sid");
    sessiond::sessions::end_session(&t.app, &SessionId::new(sid.clone()), EndReason::Admin, &Actor::cli())
        .await
        .unwrap();
    let got = receiver.wait_for(1, Some(&t.clock)).await;
    assert_eq!(verify(&t, &got[0], &client).await["sid"], sid.as_str());
    let admin = t.user_client().await;
    let admin_token = s(&t.admin_tokens(&admin).await, "access_token");
    let pending = t.app.store.deliveries(false, 10).await.unwrap();
    assert!(pending.is_empty(), "{pending:?}");

    // A receiver that never answers is retried until the maximum age, then
    // listed as failed.
    let dead = rp(&t, "http://127.0.0.1:1/backchannel").await;
    t.user("bob", "bob password").await;
    let bob = t.sign_in(&dead, "bob", "bob password").await;
    let bob_sid = SessionId::new(s(&claims(&s(&bob, "access_token")), "sid"));
    sessiond::sessions::end_session(&t.app, &bob_sid, EndReason::Admin, &Actor::cli()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let failed = t.app.store.deliveries(true, 10).await.unwrap();
        if let Some(d) = failed.first() {
            assert_eq!(d.client_id, dead.id);
            assert!(d.attempts >= 2, "{d:?}");
            assert!(d.last_error.is_some());
            break;
        }
        assert!(Instant::now() < deadline, "never given up");
        t.clock.advance(Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = t.bearer(Method::GET, "/api/v1/admin/logout-deliveries?failed=true", &admin_token).send().await.unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["deliveries"][0]["client_id"], dead.id.as_str());
}

#[tokio::test]
async fn two_nodes_sharing_the_outbox_deliver_each_logout_once() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_on(a.data.clone(), |s| s).await;
    b.clock.set(sessiond::clock::Clock::now(&*a.clock));
    let (receiver, uri) = Receiver::start(0).await;
    let client = rp(&a, &uri).await;
    for n in 0..10 {
        let user = format!("user{n}");
        a.user(&user, "user password").await;
        let tokens = a.sign_in(&client, &user, "user password").await;
        let sid = SessionId::new(s(&claims(&s(&tokens, "access_token")), "sid"));
        let node = if n % 2 == 0 { &a } else { &b };
        sessiond::sessions::end_session(&node.app, &sid, EndReason::Admin, &Actor::cli()).await.unwrap();
    }
    receiver.wait_for(10, None).await;
    // Both senders keep polling; nothing more arrives.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = receiver.received();
    assert_eq!(got.len(), 10, "each logout once");
    let mut sids: Vec<String> = got.iter().map(|t| s(&claims(t), "sid")).collect();
    sids.sort();
    sids.dedup();
    assert_eq!(sids.len(), 10);
}

impl Receiver {
    /// From now on, accept every delivery.
    pub fn recover(&self) {
        *self.failures.lock().unwrap() = 0;
    }
}

// Multi-threaded: the test waits on the server process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_pending_when_the_server_is_killed_is_sent_after_restart() {
    use crate::cli::{cli, json, serve};
    let data = crate::support::TestData::new().await;
    assert!(cli(&data, &["init"]).status.success());
    let (receiver, uri) = Receiver::start(u32::MAX).await;
    let added =
        json(&cli(&data, &["client", "add", "rp", "--grant", "password", "--backchannel-logout-uri", &uri, "--json"]));
    let client = TestClient { id: s(&added, "client_id"), secret: s(&added, "client_secret") };
    let mut add = crate::cli::sessiond(&data);
    add.args(["user", "add", "alice", "--password-stdin"]);
    assert!(crate::cli::run(add, Some("alice password\n")).status.success());

    let mut server = serve(&data, |_| {});
    let remote = crate::remote::Remote::new(&server.base, &client);
    let tokens = remote.sign_in("alice", "alice password").await;
    let access = s(&tokens, "access_token");
    let r = reqwest::Client::new().post(format!("{}/logout", server.base)).bearer_auth(&access).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // The receiver refuses; the delivery waits in the outbox. Kill -9.
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert!(receiver.received().is_empty());
    let pending = json(&cli(&data, &["logout-deliveries", "list", "--json"]));
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");

    receiver.recover();
    let _again = serve(&data, |_| {});
    let got = receiver.wait_for(1, None).await;
    assert_eq!(s(&claims(&got[0]), "sid"), s(&claims(&access), "sid"));
}

#[tokio::test]
async fn a_reused_code_ends_its_session_and_the_application_hears_of_it() {
    let t = TestApp::spawn().await;
    let (receiver, uri) = Receiver::start(0).await;
    let callback = "http://127.0.0.1:9/callback";
    let mut new = crate::support::code_flow("rp", ClientKind::Confidential, &[callback], &[]);
    new.backchannel_logout_uri = Some(uri);
    new.first_party = true;
    let client = t.register_client(new).await;
    t.user("alice", "alice password").await;
    let (verifier, challenge) = crate::support::pkce_pair();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", callback),
            ("scope", "openid"),
            ("state", "st"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let mut browser = crate::support::Browser::new(&t);
    let back = browser.authorize(&format!("{}/oauth2/authorize?{query}", t.base), "alice", "alice password").await;
    let code = back.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", callback),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, tokens) = t.token(&client, &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(receiver.received().is_empty());
    assert_eq!(t.token(&client, &form).await.0, StatusCode::BAD_REQUEST);
    let got = receiver.wait_for(1, None).await;
    let logout = verify(&t, &got[0], &client).await;
    assert_eq!(logout["sid"], claims(&s(&tokens, "access_token"))["sid"]);
}
