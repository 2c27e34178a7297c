//! The browser sign-in flow under bad input, over real HTTP: what must be
//! a page and never a redirect (an unknown client or redirect URI, open-
//! redirect attempts), what goes back to the client (with `state` and
//! `iss`), PKCE and code misuse at the token endpoint, forged forms, ended
//! sessions, forged ID token hints, throttling, and malformed requests.
//! No answer here may be a 5xx.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;
use sessiond::config::Settings;
use sessiond::domain::{ClientKind, SessionId};

use crate::support::{claims, pkce_pair, s, Browser, Page, TestApp, TestClient};

const CALLBACK: &str = "https://rp.example.com/callback";
const OTHER_CALLBACK: &str = "https://rp.example.com/other";
const NATIVE: &str = "http://127.0.0.1/native";
const SIGNED_OUT: &str = "https://rp.example.com/signed-out";

struct Setup {
    t: TestApp,
    /// Confidential, with CALLBACK, OTHER_CALLBACK and SIGNED_OUT.
    rp: TestClient,
    /// Public, with NATIVE (a loopback URI: any port) and CALLBACK.
    app: TestClient,
    rs: TestClient,
}

async fn setup_with(adjust: impl FnOnce(Settings) -> Settings) -> Setup {
    let t = TestApp::spawn_with(adjust).await;
    t.user("alice", "alice password").await;
    let rp =
        t.code_flow_client("Photo Book", ClientKind::Confidential, &[CALLBACK, OTHER_CALLBACK], &[SIGNED_OUT]).await;
    let app = t.code_flow_client("Phone App", ClientKind::Public, &[NATIVE, CALLBACK], &[]).await;
    let rs = t.resource_server().await;
    Setup { t, rp, app, rs }
}

async fn setup() -> Setup {
    setup_with(|s| s).await
}

fn authorize_url(t: &TestApp, params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    t.url(&format!("/oauth2/authorize?{query}"))
}

/// A valid request of `client` to `redirect_uri`, with `extra` appended.
fn request<'a>(client: &'a TestClient, redirect_uri: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", redirect_uri),
        ("scope", "openid api:read"),
        ("state", "st-1"),
        ("nonce", "n-1"),
    ];
    p.extend_from_slice(extra);
    p
}

/// A refusal shown to the person: an HTML error page, 4xx, and nobody
/// sent anywhere.
fn assert_error_page(page: &Page, status: StatusCode, what: &str) {
    assert_eq!(page.status, status, "{what}: {}", page.body);
    assert!(page.location().is_none(), "{what}: no redirect, got {:?}", page.location());
    let content_type = page.headers.get(reqwest::header::CONTENT_TYPE).unwrap().to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{what}: {content_type}");
    assert!(page.body.contains("id=\"error\""), "{what}: {}", page.body);
}

/// An error sent back to the client's redirect URI (RFC 6749 §4.1.2.1)
/// with `state` and RFC 9207 `iss`.
fn assert_error_redirect(t: &TestApp, page: &Page, redirect_uri: &str, error: &str, what: &str) {
    assert_eq!(page.status, StatusCode::FOUND, "{what}: {}", page.body);
    let location = page.location().unwrap();
    assert!(location.starts_with(&format!("{redirect_uri}?")), "{what}: {location}");
    let params = page.redirect_params();
    assert_eq!(params.get("error").map(String::as_str), Some(error), "{what}: {location}");
    assert_eq!(params.get("state").map(String::as_str), Some("st-1"), "{what}: {location}");
    assert_eq!(params.get("iss"), Some(&t.base), "{what}: {location}");
    assert!(!params.contains_key("code"), "{what}");
}

/// Signs alice in through `client`'s authorization request and returns the
/// code.
async fn code_for(t: &TestApp, browser: &mut Browser, params: &[(&str, &str)]) -> String {
    let back = browser.authorize(&authorize_url(t, params), "alice", "alice password").await;
    let params: std::collections::HashMap<_, _> = back.query_pairs().into_owned().collect();
    params.get("code").unwrap_or_else(|| panic!("no code in {back}")).clone()
}

/// A token request as `client`: Basic for a confidential client, its
/// `client_id` in the form for a public one.
async fn token(t: &TestApp, client: &TestClient, form: &[(&str, &str)]) -> (StatusCode, Value) {
    if !client.secret.is_empty() {
        return t.token(client, form).await;
    }
    let mut form = form.to_vec();
    form.push(("client_id", &client.id));
    let response = t.http.post(t.url("/oauth2/token")).form(&form).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn assert_invalid_grant((status, body): &(StatusCode, Value), what: &str) {
    assert_eq!((*status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{what}: {body}");
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_a_page_that_echoes_nothing() {
    let Setup { t, rp, .. } = setup().await;
    let mut browser = Browser::new(&t);
    let evil = "https://evil.example/cb?x=<script>alert(1)</script>";
    let state = "\"><script>alert(2)</script>";
    let url = authorize_url(
        &t,
        &[
            ("response_type", "code"),
            ("client_id", &rp.id),
            ("redirect_uri", evil),
            ("scope", "openid"),
            ("state", state),
        ],
    );
    let page = browser.get(&url).await;
    assert_error_page(&page, StatusCode::BAD_REQUEST, "unregistered redirect_uri");
    assert!(page.body.contains("not one this application registered"), "{}", page.body);
    for echoed in ["evil.example", "<script>", "alert("] {
        assert!(!page.body.contains(echoed), "{echoed:?} echoed: {}", page.body);
    }
    // The same for an unknown client, a missing client_id, a missing
    // redirect_uri, and a client that may not use the browser flow.
    let password_only = t.user_client().await;
    for (what, params) in [
        ("unknown client", vec![("client_id", "no-such-client<b>"), ("redirect_uri", CALLBACK)]),
        ("no client_id", vec![("redirect_uri", CALLBACK)]),
        ("no redirect_uri", vec![("client_id", rp.id.as_str())]),
        ("password-grant client", vec![("client_id", password_only.id.as_str()), ("redirect_uri", CALLBACK)]),
    ] {
        let mut params = params;
        params.extend([("response_type", "code"), ("scope", "openid"), ("state", state)]);
        let page = browser.get(&authorize_url(&t, &params)).await;
        assert_error_page(&page, StatusCode::BAD_REQUEST, what);
        assert!(!page.body.contains("<script>") && !page.body.contains("<b>"), "{what}: {}", page.body);
    }
}

#[tokio::test]
async fn open_redirect_attempts_on_redirect_uri_are_pages() {
    let Setup { t, rp, app, .. } = setup().await;
    let mut browser = Browser::new(&t);
    // The registered ones work (so the refusals below are not vacuous):
    // exactly CALLBACK, and NATIVE on any port (RFC 8252 §7.3).
    for (client, uri) in [(&rp, CALLBACK), (&app, "http://127.0.0.1:49152/native"), (&app, NATIVE)] {
        let (_, challenge) = pkce_pair();
        let params = request(client, uri, &[("code_challenge", &challenge), ("code_challenge_method", "S256")]);
        let page = browser.get(&authorize_url(&t, &params)).await;
        assert!(page.status == StatusCode::OK && page.is_form("/login"), "{uri}: {} {}", page.status, page.body);
    }
    let attempts = [
        // userinfo@host
        "https://rp.example.com@evil.example/callback",
        "https://rp.example.com/callback@evil.example",
        "https://evil.example@rp.example.com/callback",
        "https://rp.example.com\\@evil.example/callback",
        // prefixes and suffixes
        "https://rp.example.com/callback/",
        "https://rp.example.com/callback/extra",
        "https://rp.example.com/callbackx",
        "https://rp.example.com/call",
        "https://rp.example.com.evil.example/callback",
        "https://rp.example.com/callback?next=https://evil.example",
        // fragments
        "https://rp.example.com/callback#",
        "https://rp.example.com/callback#@evil.example",
        // another port or scheme for a non-loopback URI
        "https://rp.example.com:8443/callback",
        "https://rp.example.com:443/callback",
        "http://rp.example.com/callback",
        "//evil.example/callback",
        // path traversal
        "https://rp.example.com/callback/../evil",
        "https://rp.example.com/callback/%2e%2e/evil",
        "https://rp.example.com/evil/../callback",
        // the loopback rule is about the port only
        "http://127.0.0.1:1234@evil.example/native",
        "http://127.0.0.1.evil.example/native",
        "http://127.0.0.1:99999999/native",
        "http://127.0.0.1:/native",
        "http://127.0.0.1:1234/native/../evil",
        "http://127.0.0.1:1234/native#x",
        "http://127.0.0.1:1234/nativex",
        "https://127.0.0.1:1234/native",
        "http://localhost:1234/native",
        "http://[::1]:1234/native",
    ];
    for uri in attempts {
        for client in [&rp, &app] {
            let (_, challenge) = pkce_pair();
            let params = request(client, uri, &[("code_challenge", &challenge), ("code_challenge_method", "S256")]);
            let page = browser.get(&authorize_url(&t, &params)).await;
            assert_error_page(&page, StatusCode::BAD_REQUEST, uri);
            assert!(!page.body.contains("evil.example"), "{uri} echoed");
        }
    }
}

#[tokio::test]
async fn open_redirect_attempts_on_post_logout_redirect_uri_are_pages() {
    let Setup { t, rp, app, .. } = setup().await;
    let mut browser = Browser::new(&t);
    let (verifier, challenge) = pkce_pair();
    let code = code_for(
        &t,
        &mut browser,
        &request(&rp, CALLBACK, &[("code_challenge", &challenge), ("code_challenge_method", "S256")]),
    )
    .await;
    let (_, tokens) = t
        .token(
            &rp,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    let id_token = s(&tokens, "id_token");
    let sid = SessionId::new(s(&claims(&id_token), "sid"));
    let attempts = [
        "https://rp.example.com@evil.example/signed-out",
        "https://evil.example@rp.example.com/signed-out",
        "https://rp.example.com/signed-out@evil.example",
        "https://rp.example.com/signed-out/",
        "https://rp.example.com/signed-outx",
        "https://rp.example.com/signed",
        "https://rp.example.com/signed-out?next=https://evil.example",
        "https://rp.example.com/signed-out#@evil.example",
        "https://rp.example.com:8443/signed-out",
        "http://rp.example.com/signed-out",
        "https://rp.example.com/signed-out/../evil",
        "https://rp.example.com/evil/../signed-out",
        "https://evil.example/signed-out",
        // a redirect URI is not a post-logout redirect URI
        CALLBACK,
    ];
    for uri in attempts {
        let with_hint = [("id_token_hint", id_token.as_str()), ("post_logout_redirect_uri", uri), ("state", "x")];
        let with_client = [("client_id", rp.id.as_str()), ("post_logout_redirect_uri", uri), ("state", "x")];
        for params in [&with_hint[..], &with_client[..]] {
            let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
            let page = browser.get(&t.url(&format!("/oauth2/logout?{query}"))).await;
            assert_error_page(&page, StatusCode::BAD_REQUEST, uri);
            assert!(!page.body.contains("evil.example"), "{uri} echoed");
        }
    }
    // Another client's registered URI, or one with no client named at all.
    for params in [
        vec![("client_id", app.id.as_str()), ("post_logout_redirect_uri", SIGNED_OUT)],
        vec![("post_logout_redirect_uri", SIGNED_OUT)],
    ] {
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
        let page = browser.get(&t.url(&format!("/oauth2/logout?{query}"))).await;
        assert_error_page(&page, StatusCode::BAD_REQUEST, "unregistered for that client");
    }
    // None of that signed anyone out.
    assert!(t.app.store.session(&sid).await.unwrap().unwrap().is_live(t.app.clock.now()));
    assert!(browser.cookies.contains_key("sessiond"));
}

#[tokio::test]
async fn a_missing_or_wrong_pkce_verifier_is_invalid_grant() {
    let Setup { t, rp, app, .. } = setup().await;
    let mut browser = Browser::new(&t);
    for client in [&rp, &app] {
        let redirect = if client.secret.is_empty() { NATIVE } else { CALLBACK };
        let (verifier, challenge) = pkce_pair();
        let pkce = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
        let code = code_for(&t, &mut browser, &request(client, redirect, &pkce)).await;
        let base = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", redirect)];
        let (other, _) = pkce_pair();
        let short = &verifier[..42];
        for (what, extra) in [
            ("no verifier", None),
            ("another verifier", Some(other.as_str())),
            ("a verifier too short", Some(short)),
            ("the challenge itself", Some(challenge.as_str())),
        ] {
            let mut form = base.to_vec();
            form.extend(extra.map(|v| ("code_verifier", v)));
            assert_invalid_grant(&token(&t, client, &form).await, what);
        }
        // The code was not spent by those: its rightful holder redeems it.
        let mut form = base.to_vec();
        form.push(("code_verifier", &verifier));
        let (status, body) = token(&t, client, &form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

#[tokio::test]
async fn plain_pkce_and_public_clients_without_pkce_are_refused_at_the_redirect_uri() {
    let Setup { t, rp, app, .. } = setup().await;
    let mut browser = Browser::new(&t);
    let (verifier, challenge) = pkce_pair();
    for (what, client, extra) in [
        ("plain", &rp, vec![("code_challenge", verifier.as_str()), ("code_challenge_method", "plain")]),
        ("plain, public", &app, vec![("code_challenge", verifier.as_str()), ("code_challenge_method", "plain")]),
        ("challenge without a method (plain by default)", &app, vec![("code_challenge", challenge.as_str())]),
        ("method without a challenge", &app, vec![("code_challenge_method", "S256")]),
        ("malformed challenge", &app, vec![("code_challenge", "short"), ("code_challenge_method", "S256")]),
        ("unknown method", &app, vec![("code_challenge", challenge.as_str()), ("code_challenge_method", "S512")]),
        ("public client without PKCE", &app, vec![]),
    ] {
        let page = browser.get(&authorize_url(&t, &request(client, CALLBACK, &extra))).await;
        assert_error_redirect(&t, &page, CALLBACK, "invalid_request", what);
    }
    // A confidential client may go without PKCE; presenting a verifier for
    // such a code is a downgrade and refused, without spending the code.
    let code = code_for(&t, &mut browser, &request(&rp, CALLBACK, &[])).await;
    let base = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", CALLBACK)];
    let mut with_verifier = base.to_vec();
    with_verifier.push(("code_verifier", &verifier));
    assert_invalid_grant(&t.token(&rp, &with_verifier).await, "verifier for a code without challenge");
    let (status, body) = t.token(&rp, &base).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_reused_code_revokes_the_tokens_it_issued() {
    let Setup { t, rp, rs, .. } = setup().await;
    let mut browser = Browser::new(&t);
    let (verifier, challenge) = pkce_pair();
    let pkce = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let code = code_for(&t, &mut browser, &request(&rp, CALLBACK, &pkce)).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, tokens) = t.token(&rp, &form).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = s(&tokens, "access_token");
    assert!(t.active(&rs, &access).await);
    // The same code again: refused, and what it issued is revoked.
    assert_invalid_grant(&t.token(&rp, &form).await, "reused code");
    assert!(!t.active(&rs, &access).await, "the access token from the reused code is inactive");
    assert_invalid_grant(&t.refresh(&rp, &s(&tokens, "refresh_token")).await, "refresh token from the reused code");
    let userinfo = t.bearer(reqwest::Method::GET, "/oauth2/userinfo", &access).send().await.unwrap();
    assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);
    // The session the code was issued in ended with it (reason
    // `code_reuse`, as for a reused refresh token: someone else holds a copy
    // of what it issued), so the browser is asked to sign in again.
    let (_, challenge) = pkce_pair();
    let pkce = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let page = browser.get(&authorize_url(&t, &request(&rp, CALLBACK, &pkce))).await;
    assert_eq!(page.status, StatusCode::OK, "the login form");
    assert!(page.body.contains("id=\"sign-in\""), "{}", page.body);
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let Setup { t, rp, .. } = setup().await;
    let mut browser = Browser::new(&t);
    let code = code_for(&t, &mut browser, &request(&rp, CALLBACK, &[])).await;
    t.clock.advance(sessiond::browser::CODE_LIFETIME + std::time::Duration::from_secs(1));
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", CALLBACK)];
    assert_invalid_grant(&t.token(&rp, &form).await, "expired code");
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let Setup { t, rp, app, .. } = setup().await;
    let other = t.code_flow_client("Other", ClientKind::Confidential, &[CALLBACK], &[]).await;
    let mut browser = Browser::new(&t);
    let (verifier, challenge) = pkce_pair();
    let pkce = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    let code = code_for(&t, &mut browser, &request(&rp, CALLBACK, &pkce)).await;
    let form = |redirect: Option<&'static str>| {
        let mut f =
            vec![("grant_type", "authorization_code"), ("code", code.as_str()), ("code_verifier", verifier.as_str())];
        f.extend(redirect.map(|r| ("redirect_uri", r)));
        f
    };
    assert_invalid_grant(&t.token(&other, &form(Some(CALLBACK))).await, "another confidential client");
    assert_invalid_grant(&token(&t, &app, &form(Some(CALLBACK))).await, "a public client");
    // The client's own id without its secret is no authentication.
    let mut bare = form(Some(CALLBACK));
    bare.push(("client_id", &rp.id));
    let response = t.http.post(t.url("/oauth2/token")).form(&bare).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .is_none_or(|v| !v.to_str().unwrap().starts_with("Basic")));
    assert_invalid_grant(&t.token(&rp, &form(Some(OTHER_CALLBACK))).await, "another registered redirect_uri");
    assert_invalid_grant(&t.token(&rp, &form(Some("https://rp.example.com/callback/"))).await, "a near miss");
    assert_invalid_grant(&t.token(&rp, &form(None)).await, "no redirect_uri");
    // None of that spent it.
    let (status, body) = t.token(&rp, &form(Some(CALLBACK))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(claims(&s(&body, "id_token"))["aud"], rp.id.as_str());
}

/// The 403 page of a forged form.
fn assert_forged(page: &Page, what: &str) {
    assert_error_page(page, StatusCode::FORBIDDEN, what);
    assert!(page.body.contains("did not come from this site"), "{what}: {}", page.body);
}

#[tokio::test]
async fn forged_or_missing_csrf_tokens_get_403() {
    let Setup { t, rp, .. } = setup().await;
    let mut browser = Browser::new(&t);
    let login = browser.get(&authorize_url(&t, &request(&rp, CALLBACK, &[]))).await;
    let request_field = login.hidden("/login", "request");
    let csrf = login.hidden("/login", "csrf");
    let credentials = [("username", "alice"), ("password", "alice password")];
    let login_url = t.url("/login");

    // Another browser's token, a made-up one, none at all, and a real token
    // without its cookie.
    let mut other = Browser::new(&t);
    let other_login = other.get(&authorize_url(&t, &request(&rp, CALLBACK, &[]))).await;
    let other_csrf = other_login.hidden("/login", "csrf");
    let made_up = URL_SAFE_NO_PAD.encode([7u8; 32]);
    for (what, token) in [
        ("another browser's token", Some(other_csrf.as_str())),
        ("a made-up token", Some(&made_up)),
        ("no token", None),
    ] {
        let mut form = vec![("request", request_field.as_str())];
        form.extend(token.map(|c| ("csrf", c)));
        form.extend(credentials);
        let page = browser.post(&login_url, &form).await;
        assert_forged(&page, what);
        assert!(!browser.cookies.contains_key("sessiond"), "{what}: nobody signed in");
    }
    let mut cookieless = Browser::new(&t);
    let page = cookieless
        .post(&login_url, &[("request", &request_field), ("csrf", &csrf), credentials[0], credentials[1]])
        .await;
    assert_forged(&page, "a token without its cookie");

    // The real form works; then the consent form, forged.
    let consent = browser.submit(&login, "/login", &credentials).await;
    assert!(consent.is_form("/consent"), "{}", consent.body);
    let consent_request = consent.hidden("/consent", "request");
    for (what, token) in [("forged consent", Some(made_up.as_str())), ("consent without a token", None)] {
        let mut form = vec![("request", consent_request.as_str()), ("decision", "allow")];
        form.extend(token.map(|c| ("csrf", c)));
        assert_forged(&browser.post(&t.url("/consent"), &form).await, what);
    }
    // Nothing was allowed: the next request asks again.
    let again = browser.get(&authorize_url(&t, &request(&rp, CALLBACK, &[]))).await;
    assert!(again.is_form("/consent"), "no consent was recorded: {}", again.body);
    let back = browser.submit(&again, "/consent", &[("decision", "allow")]).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);

    // The account page's forms.
    let account = browser.get(&t.url("/account")).await;
    assert_eq!(account.status, StatusCode::OK, "{}", account.body);
    let sid = account.body.split("data-sid=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let session = SessionId::new(sid.clone());
    let forms = [
        format!("/account/sessions/{sid}/end"),
        "/account/sessions/end-others".to_owned(),
        "/account/sessions/end-all".to_owned(),
        "/account/password".to_owned(),
        format!("/account/consents/{}/revoke", rp.id),
    ];
    for action in &forms {
        for token in [Some(made_up.as_str()), None] {
            let mut form = vec![("current_password", "alice password"), ("new_password", "a new password")];
            form.extend(token.map(|c| ("csrf", c)));
            assert_forged(&browser.post(&t.url(action), &form).await, action);
        }
    }
    assert!(t.app.store.session(&session).await.unwrap().unwrap().is_live(t.app.clock.now()), "still signed in");
    assert!(t
        .app
        .store
        .consent(
            &t.app.store.session(&session).await.unwrap().unwrap().user_id,
            &sessiond::domain::ClientId::new(rp.id.clone())
        )
        .await
        .unwrap()
        .is_some());

    // The logout confirmation form (RP-Initiated Logout without a hint).
    let confirm = browser.get(&t.url(&format!("/oauth2/logout?client_id={}", rp.id))).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.is_form("/oauth2/logout"), "{}", confirm.body);
    for token in [Some(made_up.as_str()), None] {
        let mut form = vec![("confirm", "yes"), ("client_id", rp.id.as_str())];
        form.extend(token.map(|c| ("csrf", c)));
        assert_forged(&browser.post(&t.url("/oauth2/logout"), &form).await, "forged sign-out");
    }
    assert!(t.app.store.session(&session).await.unwrap().unwrap().is_live(t.app.clock.now()), "still signed in");
    // The real one signs out.
    let out = browser.submit(&confirm, "/oauth2/logout", &[]).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert!(!t.app.store.session(&session).await.unwrap().unwrap().is_live(t.app.clock.now()), "signed out");
}

#[tokio::test]
async fn a_post_from_another_origin_gets_403() {
    let Setup { t, rp, .. } = setup().await;
    let port = t.base.rsplit(':').next().unwrap().to_owned();
    for origin in [
        "https://evil.example".to_owned(),
        "null".to_owned(),
        format!("http://localhost:{port}"),
        format!("https://127.0.0.1:{port}"),
        format!("{}/", t.base),
    ] {
        let mut browser = Browser::new(&t);
        let login = browser.get(&authorize_url(&t, &request(&rp, CALLBACK, &[]))).await;
        let mut form = login.hidden_fields("/login");
        form.extend([("username".into(), "alice".into()), ("password".into(), "alice password".into())]);
        let request = browser
            .request(reqwest::Method::POST, &t.url("/login"))
            .header(reqwest::header::ORIGIN, &origin)
            .form(&form);
        let page = browser.send(request).await;
        assert_forged(&page, &origin);
        assert!(!browser.cookies.contains_key("sessiond"), "{origin}");
        // The same form from our own origin goes through.
        let page = browser.submit(&login, "/login", &[("username", "alice"), ("password", "alice password")]).await;
        assert!(page.is_form("/consent"), "{origin}: {}", page.body);
    }
}

#[tokio::test]
async fn a_cookie_from_an_ended_session_gets_the_login_form() {
    let Setup { t, rp, .. } = setup().await;
    let mut browser = Browser::new(&t);
    code_for(&t, &mut browser, &request(&rp, CALLBACK, &[])).await;
    let cookie = browser.cookies["sessiond"].clone();
    // Signing out everywhere from the account page ends the session.
    let account = browser.get(&t.url("/account")).await;
    let out = browser.submit(&account, "/account/sessions/end-all", &[]).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert!(!browser.cookies.contains_key("sessiond"), "the cookie is cleared");
    // A browser that kept the old cookie anyway gets the login form, and
    // prompt=none says login_required.
    let mut stale = Browser::new(&t);
    stale.cookies.insert("sessiond".into(), cookie);
    let page = stale.get(&authorize_url(&t, &request(&rp, CALLBACK, &[]))).await;
    assert!(page.status == StatusCode::OK && page.is_form("/login"), "{}", page.body);
    let page = stale.get(&authorize_url(&t, &request(&rp, CALLBACK, &[("prompt", "none")]))).await;
    assert_error_redirect(&t, &page, CALLBACK, "login_required", "prompt=none with an ended session");
    let page = stale.get(&t.url("/account")).await;
    assert_eq!((page.status, page.location().as_deref()), (StatusCode::SEE_OTHER, Some("/login")));
}

/// `token` re-signed with a P-256 key made here, keeping its header
/// (`kid` included) and claims.
fn resign(token: &str) -> String {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = SystemRandom::new();
    let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let signing_input = token.rsplit_once('.').unwrap().0;
    let signature = key.sign(&rng, signing_input.as_bytes()).unwrap();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}

#[tokio::test]
async fn an_id_token_hint_signed_by_another_key_is_refused() {
    let Setup { t, rp, .. } = setup().await;
    let mut browser = Browser::new(&t);
    let code = code_for(&t, &mut browser, &request(&rp, CALLBACK, &[])).await;
    let (_, tokens) =
        t.token(&rp, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CALLBACK)]).await;
    let id_token = s(&tokens, "id_token");
    let session = SessionId::new(s(&claims(&id_token), "sid"));
    let forged = resign(&id_token);
    assert_ne!(forged, id_token);
    // The same claims and header under another key; one with a kid we do
    // not publish; one with no signature at all.
    let (header, rest) = id_token.split_once('.').unwrap();
    let mut h: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    h["kid"] = "made-up".into();
    let other_kid = resign(&format!("{}.{rest}", URL_SAFE_NO_PAD.encode(h.to_string())));
    h["alg"] = "none".into();
    let unsigned = format!("{}.{}.", URL_SAFE_NO_PAD.encode(h.to_string()), rest.split('.').next().unwrap());
    for (what, hint) in [("another key", &forged), ("unknown kid", &other_kid), ("alg none", &unsigned)] {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("id_token_hint", hint.as_str()), ("post_logout_redirect_uri", SIGNED_OUT), ("state", "x")])
            .finish();
        let page = browser.get(&t.url(&format!("/oauth2/logout?{query}"))).await;
        assert_error_page(&page, StatusCode::BAD_REQUEST, what);
        assert!(page.body.contains("not an ID token this server issued"), "{what}: {}", page.body);
        // And as a form POST.
        let page =
            browser.post(&t.url("/oauth2/logout"), &[("id_token_hint", hint.as_str()), ("client_id", &rp.id)]).await;
        assert_error_page(&page, StatusCode::BAD_REQUEST, what);
    }
    assert!(t.app.store.session(&session).await.unwrap().unwrap().is_live(t.app.clock.now()), "nobody was signed out");
    // The genuine hint ends the session.
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("id_token_hint", id_token.as_str()), ("post_logout_redirect_uri", SIGNED_OUT), ("state", "x")])
        .finish();
    let page = browser.get(&t.url(&format!("/oauth2/logout?{query}"))).await;
    assert_eq!(page.location().as_deref(), Some(format!("{SIGNED_OUT}?state=x").as_str()));
    assert!(!t.app.store.session(&session).await.unwrap().unwrap().is_live(t.app.clock.now()));
}

#[tokio::test]
async fn repeated_sign_in_failures_are_throttled_with_429_and_retry_after() {
    let Setup { t, rp, .. } = setup_with(|s| Settings { login_attempts_per_account: Some(3), ..s }).await;
    let mut browser = Browser::new(&t);
    let login = browser.get(&authorize_url(&t, &request(&rp, CALLBACK, &[]))).await;
    for attempt in 1..=3 {
        let page = browser.submit(&login, "/login", &[("username", "alice"), ("password", "wrong")]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "attempt {attempt}: {}", page.body);
        assert!(page.body.contains("Invalid user name or password."), "{}", page.body);
        assert!(page.headers.get(reqwest::header::RETRY_AFTER).is_none());
    }
    // Past the quota, even the right password waits.
    for password in ["wrong", "alice password"] {
        let page = browser.submit(&login, "/login", &[("username", "ALICE"), ("password", password)]).await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
        let retry_after: u64 = page.headers[reqwest::header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        assert!(page.body.contains(&format!("Too many sign-in attempts. Wait {retry_after} seconds")), "{}", page.body);
        assert!(page.is_form("/login"), "the form stays, to try again later");
        assert!(!browser.cookies.contains_key("sessiond"));
    }
}

#[tokio::test]
async fn oversized_and_malformed_requests_never_get_5xx() {
    let Setup { t, rp, .. } = setup().await;
    let mut browser = Browser::new(&t);
    // A valid request without state and nonce, which some cases add.
    let valid = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(request(&rp, CALLBACK, &[]).into_iter().filter(|(k, _)| !matches!(*k, "state" | "nonce")))
        .finish();
    let huge = "a".repeat(20_000);
    let big = "b".repeat(8_000);
    let cases: Vec<(String, Option<StatusCode>)> = vec![
        // Over max_header_bytes (16 KiB): hyper's 431.
        (format!("{valid}&login_hint={huge}"), Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)),
        (format!("client_id={huge}"), Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)),
        // Under it, but long.
        (format!("client_id={big}&redirect_uri={CALLBACK}"), Some(StatusCode::BAD_REQUEST)),
        (format!("{valid}&login_hint={big}"), Some(StatusCode::OK)),
        (format!("{valid}&scope={big}"), None),
        (format!("{valid}&x={}", "&y=1".repeat(2_000)), None),
        // Malformed.
        ("%".to_owned(), Some(StatusCode::BAD_REQUEST)),
        ("client_id=%zz&redirect_uri=%".to_owned(), Some(StatusCode::BAD_REQUEST)),
        (format!("{valid}&nonce=%ff%fe%00"), Some(StatusCode::BAD_REQUEST)),
        (format!("client_id={}%00&redirect_uri={CALLBACK}", rp.id), Some(StatusCode::BAD_REQUEST)),
        ("&&&===&=&".to_owned(), Some(StatusCode::BAD_REQUEST)),
        (format!("{valid}&state=%ff%fe"), Some(StatusCode::OK)),
        (format!("{valid}&max_age=99999999999999999999999"), Some(StatusCode::FOUND)),
        (format!("{valid}&max_age=-1"), Some(StatusCode::FOUND)),
        (format!("{valid}&prompt=none%20login"), Some(StatusCode::FOUND)),
        (format!("{valid}&state={}", "s".repeat(600)), Some(StatusCode::FOUND)),
        (format!("{valid}&request=eyJhbGciOiJub25lIn0.e30."), Some(StatusCode::FOUND)),
    ];
    for (query, expected) in &cases {
        let shown: String = query.chars().take(80).collect();
        for method in ["GET", "POST"] {
            let page = match method {
                "GET" => browser.get(&t.url(&format!("/oauth2/authorize?{query}"))).await,
                _ => {
                    let request = browser
                        .request(reqwest::Method::POST, &t.url("/oauth2/authorize"))
                        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(query.clone());
                    browser.send(request).await
                }
            };
            assert!(!page.status.is_server_error(), "{method} {shown}: {}", page.status);
            assert!(page.status != StatusCode::OK || page.is_form("/login"), "{method} {shown}: {}", page.body);
            // A body is not a head: a POST is not 431 but takes its course.
            if let Some(expected) =
                expected.filter(|e| method == "GET" || *e != StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
            {
                assert_eq!(page.status, expected, "{method} {shown}: {}", page.body);
            }
            if page.status == StatusCode::FOUND {
                let params = page.redirect_params();
                assert!(params.contains_key("error"), "{method} {shown}: {params:?}");
            }
        }
    }
    // The login form's own fields, malformed.
    let login = browser.get(&authorize_url(&t, &request(&rp, CALLBACK, &[]))).await;
    let csrf = login.hidden("/login", "csrf");
    for (what, request_field) in [("garbage", "%%%"), ("no client", "response_type=code"), ("huge", big.as_str())] {
        let page = browser
            .post(
                &t.url("/login"),
                &[("csrf", &csrf), ("request", request_field), ("username", "alice"), ("password", "alice password")],
            )
            .await;
        assert_error_page(&page, StatusCode::BAD_REQUEST, what);
    }
    let long_name = "n".repeat(300);
    let page = browser.submit(&login, "/login", &[("username", &long_name), ("password", "x")]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    let page = browser.submit(&login, "/login", &[("username", "alice")]).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
}

#[tokio::test]
async fn request_errors_after_a_valid_redirect_uri_go_back_with_state_and_iss() {
    let Setup { t, rp, .. } = setup().await;
    let mut browser = Browser::new(&t);
    let without = |name: &str| -> Vec<(&str, &str)> {
        request(&rp, CALLBACK, &[]).into_iter().filter(|(k, _)| *k != name).collect()
    };
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        let mut p: Vec<(&str, &str)> =
            request(&rp, CALLBACK, &[]).into_iter().filter(|(k, _)| !extra.iter().any(|(e, _)| e == k)).collect();
        p.extend_from_slice(extra);
        p
    };
    for (what, params, error) in [
        ("response_type=token", with(&[("response_type", "token")]), "unsupported_response_type"),
        ("response_type=id_token", with(&[("response_type", "id_token")]), "unsupported_response_type"),
        ("response_type=code token", with(&[("response_type", "code token")]), "unsupported_response_type"),
        ("no response_type", without("response_type"), "invalid_request"),
        ("no scope", without("scope"), "invalid_scope"),
        ("a scope the client may not have", with(&[("scope", "openid admin")]), "invalid_scope"),
        ("unknown prompt", with(&[("prompt", "sometimes")]), "invalid_request"),
        ("prompt=none login", with(&[("prompt", "none login")]), "invalid_request"),
        ("max_age not a number", with(&[("max_age", "soon")]), "invalid_request"),
        ("response_mode=fragment", with(&[("response_mode", "fragment")]), "invalid_request"),
        ("request object", with(&[("request_uri", "https://evil.example/r")]), "request_not_supported"),
        ("prompt=none, no session", with(&[("prompt", "none")]), "login_required"),
    ] {
        let page = browser.get(&authorize_url(&t, &params)).await;
        assert_error_redirect(&t, &page, CALLBACK, error, what);
        // By POST too (§3.1.2.1 allows both).
        let request = browser.request(reqwest::Method::POST, &t.url("/oauth2/authorize")).form(&params);
        let page = browser.send(request).await;
        assert_error_redirect(&t, &page, CALLBACK, error, what);
    }
    // prompt=none with a session but no consent yet: consent_required.
    let login = browser.get(&authorize_url(&t, &request(&rp, CALLBACK, &[]))).await;
    let consent = browser.submit(&login, "/login", &[("username", "alice"), ("password", "alice password")]).await;
    assert!(consent.is_form("/consent"));
    let page = browser.get(&authorize_url(&t, &with(&[("prompt", "none")]))).await;
    assert_error_redirect(&t, &page, CALLBACK, "consent_required", "prompt=none without consent");
    // Denying consent: access_denied.
    let page = browser.submit(&consent, "/consent", &[("decision", "deny")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let params = page.redirect_params();
    assert_eq!(
        (params["error"].as_str(), params["state"].as_str(), &params["iss"]),
        ("access_denied", "st-1", &t.base)
    );
}

#[tokio::test]
async fn repeated_parameters_are_refused_on_a_page() {
    let Setup { t, rp, .. } = setup().await;
    let mut browser = Browser::new(&t);
    for name in ["client_id", "redirect_uri", "response_type", "state", "scope", "code_challenge"] {
        let mut params = request(&rp, CALLBACK, &[]);
        if !params.iter().any(|(k, _)| *k == name) {
            params.push((name, "x"));
        }
        // The same value again, or (for redirect_uri) another one.
        let value = params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v).unwrap();
        params.push((name, if name == "redirect_uri" { "https://evil.example/cb" } else { value }));
        let page = browser.get(&authorize_url(&t, &params)).await;
        assert_error_page(&page, StatusCode::BAD_REQUEST, name);
        assert!(page.body.contains(&format!("The parameter {name} is repeated.")), "{}", page.body);
        assert!(!page.body.contains("evil.example"));
    }
}

#[tokio::test]
async fn hostile_values_are_escaped_on_the_pages_and_returned_intact() {
    let Setup { t, rp, .. } = setup().await;
    let mut browser = Browser::new(&t);
    let state = "\"><script>alert(1)</script>&amp;'";
    let hint = "<img src=x onerror=alert(2)>";
    let mut params = request(&rp, CALLBACK, &[("login_hint", hint)]);
    params.retain(|(k, _)| *k != "state");
    params.push(("state", state));
    let login = browser.get(&authorize_url(&t, &params)).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    for raw in ["<script>", "<img", "\"><"] {
        assert!(!login.body.contains(raw), "{raw:?} unescaped on the login page: {}", login.body);
    }
    assert!(login.body.contains("&lt;img src=x onerror=alert(2)&gt;"), "the hint fills the field, escaped");
    let consent = browser.submit(&login, "/login", &[("username", "alice"), ("password", "alice password")]).await;
    assert!(!consent.body.contains("<script>"), "{}", consent.body);
    let back = browser.submit(&consent, "/consent", &[("decision", "allow")]).await;
    assert_eq!(back.redirect_params()["state"], state, "state comes back byte for byte");
}

/// Not bad input but a browser that signed in twice: another application
/// asked for the password again (`prompt=login`), which opened a new
/// session in the browser and left the first one, whose tokens the first
/// application holds. Its RP-Initiated Logout names the first session.
#[tokio::test]
async fn logout_after_a_re_authentication_ends_the_session_the_hint_names() {
    let Setup { t, rp, rs, .. } = setup().await;
    let other = t.code_flow_client("Other", ClientKind::Confidential, &[CALLBACK], &[]).await;
    let mut browser = Browser::new(&t);
    let exchange = |client: &TestClient, code: String| {
        let client = client.clone();
        let t = &t;
        async move {
            let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", CALLBACK)];
            let (status, body) = t.token(&client, &form).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let first = exchange(&rp, code_for(&t, &mut browser, &request(&rp, CALLBACK, &[])).await).await;
    let again = request(&other, CALLBACK, &[("prompt", "login")]);
    let second = exchange(&other, code_for(&t, &mut browser, &again).await).await;
    let (sid1, sid2) = (s(&claims(&s(&first, "id_token")), "sid"), s(&claims(&s(&second, "id_token")), "sid"));
    assert_ne!(sid1, sid2, "prompt=login opened a new session");

    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("id_token_hint", s(&first, "id_token").as_str()), ("post_logout_redirect_uri", SIGNED_OUT)])
        .finish();
    let page = browser.get(&t.url(&format!("/oauth2/logout?{query}"))).await;
    // Not this browser's current session: the person confirms.
    assert!(page.is_form("/oauth2/logout"), "{}", page.body);
    let out = browser.submit(&page, "/oauth2/logout", &[]).await;
    assert_eq!(out.location().as_deref(), Some(SIGNED_OUT));
    for (what, tokens) in [("the hint's session", &first), ("the browser's session", &second)] {
        assert!(!t.active(&rs, &s(tokens, "access_token")).await, "{what}: access token");
    }
    assert_invalid_grant(&t.refresh(&rp, &s(&first, "refresh_token")).await, "the first application's refresh token");
}
