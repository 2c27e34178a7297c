//! A relying party nobody here wrote: the `openidconnect` crate discovers
//! sessiond, builds the authorization request (PKCE S256, nonce, state),
//! exchanges the code, validates the ID token (signature, issuer,
//! audience, nonce, and `at_hash` against the access token), reads `sid`,
//! calls UserInfo, refreshes and revokes; the browser in between is driven
//! by hand (cookies, hidden fields, `Origin`); the test then signs out
//! through RP-Initiated Logout, built by the library from discovery.
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClientAuthMethod,
    CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreResponseMode, CoreResponseType,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreSubjectIdentifierType, CoreTokenIntrospectionResponse,
    CoreTokenType, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AdditionalProviderMetadata, AuthorizationCode, Client, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointNotSet, IdToken, IdTokenFields, IssuerUrl, LogoutProviderMetadata,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl,
    RequestTokenError, RevocationUrl, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use sessiond::domain::ClientKind;
use sessiond_guard::SigningAlgorithm;

use crate::support::{claims, Browser, TestApp, TestClient};

const CALLBACK: &str = "https://rp.example.com/callback";
const SIGNED_OUT: &str = "https://rp.example.com/signed-out";

/// RFC 7009's endpoint, which OpenID Connect Discovery does not name.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RevocationMetadata {
    revocation_endpoint: RevocationUrl,
}
impl AdditionalProviderMetadata for RevocationMetadata {}

/// Discovery with `end_session_endpoint` (the library's RP-Initiated
/// Logout metadata) and `revocation_endpoint`.
type Metadata = ProviderMetadata<
    LogoutProviderMetadata<RevocationMetadata>,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The ID token's `sid` (Front-/Back-Channel Logout), which the core
/// claims do not include.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionClaims {
    sid: String,
}
impl AdditionalClaims for SessionClaims {}

type RpIdToken = IdToken<SessionClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
type RpTokenResponse = StandardTokenResponse<
    IdTokenFields<
        SessionClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// `CoreClient` with `sid` in the ID token's claims.
type RpClient<
    HasAuthUrl = EndpointNotSet,
    HasDeviceAuthUrl = EndpointNotSet,
    HasIntrospectionUrl = EndpointNotSet,
    HasRevocationUrl = EndpointNotSet,
    HasTokenUrl = EndpointNotSet,
    HasUserInfoUrl = EndpointNotSet,
> = Client<
    SessionClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    RpTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    HasAuthUrl,
    HasDeviceAuthUrl,
    HasIntrospectionUrl,
    HasRevocationUrl,
    HasTokenUrl,
    HasUserInfoUrl,
>;

/// The client as discovery leaves it, with a redirect URI and the
/// revocation endpoint set.
type Rp = RpClient<
    openidconnect::EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    openidconnect::EndpointSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The library's HTTP client: reqwest, redirects off (the library's
/// advice: following them opens the RP to SSRF).
fn rp_http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The RP's HTTP client for revocation: the request the library built for
/// `https://…` goes to sessiond's plain-http listener, as a TLS-terminating
/// proxy would forward it; everything else of the request is untouched.
async fn behind_tls(
    http: reqwest::Client,
    mut request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, openidconnect::HttpClientError<reqwest::Error>> {
    let uri = request.uri().to_string();
    assert!(uri.starts_with("https://127.0.0.1:"), "{uri}");
    *request.uri_mut() = uri.replacen("https://", "http://", 1).parse().unwrap();
    openidconnect::AsyncHttpClient::call(&http, request).await
}

/// An RP set up from discovery alone, and what discovery said.
struct Relying {
    rp: Rp,
    http: reqwest::Client,
    end_session: openidconnect::EndSessionUrl,
}

impl Relying {
    /// RFC 7009 revocation through the library.
    async fn revoke(&self, token: CoreRevocableToken) {
        let http = self.http.clone();
        let client = move |request| behind_tls(http.clone(), request);
        self.rp.revoke_token(token).unwrap().request_async(&client).await.unwrap();
    }
}

async fn discover(t: &TestApp, client: &TestClient) -> Relying {
    let http = rp_http();
    let issuer = IssuerUrl::new(t.base.clone()).unwrap();
    // The plain core metadata parses too (what most RPs use) …
    let core = CoreProviderMetadata::discover_async(issuer.clone(), &http).await.unwrap();
    assert_eq!(core.issuer(), &issuer);
    // … and the same document with the two endpoints the core omits.
    let metadata = Metadata::discover_async(issuer, &http).await.unwrap();
    assert_eq!(metadata.authorization_endpoint().as_str(), t.url("/oauth2/authorize"));
    assert_eq!(metadata.token_endpoint().map(|u| u.as_str().to_owned()), Some(t.url("/oauth2/token")));
    assert!(!metadata.jwks().keys().is_empty(), "discovery fetched the JWK Set");
    let extra = metadata.additional_metadata();
    let end_session = extra.end_session_endpoint.clone().expect("end_session_endpoint");
    assert_eq!(end_session.as_str(), t.url("/oauth2/logout"));
    let revocation = extra.additional_metadata.revocation_endpoint.clone();
    assert_eq!(revocation.as_str(), t.url("/oauth2/revoke"));
    // RFC 7009 §2 requires TLS and the library refuses anything else; in
    // production sessiond sits behind TLS. Here the RP is configured with
    // the https address and `behind_tls` plays the terminating proxy.
    let revocation = RevocationUrl::new(revocation.as_str().replacen("http://", "https://", 1)).unwrap();
    let secret = (!client.secret.is_empty()).then(|| ClientSecret::new(client.secret.clone()));
    let rp = RpClient::from_provider_metadata(metadata, ClientId::new(client.id.clone()), secret)
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap())
        .set_revocation_url(revocation);
    Relying { rp, http, end_session }
}

/// An authorization the RP started: where it sends the browser, and what
/// it keeps to check the answer.
struct Started {
    url: String,
    state: CsrfToken,
    nonce: Nonce,
    verifier: openidconnect::PkceCodeVerifier,
}

fn start(rp: &Rp) -> Started {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = rp
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("api:read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query.get("code_challenge_method").map(String::as_str), Some("S256"));
    assert_eq!(query.get("scope").map(String::as_str), Some("openid profile api:read"));
    Started { url: url.to_string(), state, nonce, verifier }
}

/// The code from the redirect back, after checking `state` and RFC 9207's
/// `iss` as an RP must.
fn code_from(t: &TestApp, back: &url::Url, started: &Started) -> AuthorizationCode {
    assert!(back.as_str().starts_with(&format!("{CALLBACK}?")), "{back}");
    let params: std::collections::HashMap<_, _> = back.query_pairs().into_owned().collect();
    assert_eq!(params.get("state"), Some(started.state.secret()), "state comes back unchanged");
    assert_eq!(params.get("iss"), Some(&t.base), "RFC 9207 iss");
    AuthorizationCode::new(params.get("code").expect("code").clone())
}

/// Exchanges the code and validates the ID token the way the library
/// documents it: signature, issuer, audience, expiry, nonce, then `at_hash`
/// against the access token that came with it. Returns the tokens, the
/// ID token, and what the validated ID token says.
async fn exchange(r: &Relying, started: Started, code: AuthorizationCode) -> (RpTokenResponse, RpIdToken, Said) {
    let tokens =
        r.rp.exchange_code(code)
            .unwrap()
            .set_pkce_verifier(started.verifier)
            .request_async(&r.http)
            .await
            .unwrap_or_else(|e| panic!("code exchange: {e:?}"));
    let id_token = tokens.id_token().expect("an ID token for scope openid").clone();
    let verifier = r.rp.id_token_verifier();
    let checked = id_token.claims(&verifier, &started.nonce).unwrap_or_else(|e| panic!("ID token: {e:?}"));
    // The nonce is really compared: another one is refused.
    let other = Nonce::new_random();
    assert!(id_token.claims(&verifier, &other).is_err(), "a different nonce is refused");
    let expected = checked.access_token_hash().expect("at_hash");
    let alg = id_token.signing_alg().unwrap();
    let actual =
        AccessTokenHash::from_token(tokens.access_token(), alg, id_token.signing_key(&verifier).unwrap()).unwrap();
    assert_eq!(&actual, expected, "at_hash matches the access token issued with it");
    assert!(checked.auth_time().is_some(), "auth_time");
    let sid = checked.additional_claims().sid.clone();
    assert_eq!(claims(tokens.access_token().secret())["sid"], sid.as_str(), "the ID token names the token's session");
    let said = Said { sid, subject: checked.subject().clone() };
    (tokens, id_token, said)
}

/// From a validated ID token: the session and the user.
struct Said {
    sid: String,
    subject: openidconnect::SubjectIdentifier,
}

async fn confidential_round_trip(alg: SigningAlgorithm) {
    let t = TestApp::spawn_with(|s| sessiond::config::Settings { signing_alg: Some(alg), ..s }).await;
    t.user("alice", "alice password").await;
    let client = t.code_flow_client("Photo Book", ClientKind::Confidential, &[CALLBACK], &[SIGNED_OUT]).await;
    let rs = t.resource_server().await;
    let r = discover(&t, &client).await;
    let mut browser = Browser::new(&t);

    // The browser arrives with nothing: the login page, naming the client.
    let started = start(&r.rp);
    let login = browser.get(&started.url).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    assert!(login.is_form("/login") && login.body.contains("Photo Book"), "{}", login.body);
    assert!(browser.cookies.contains_key("sessiond-csrf"), "the CSRF cookie is set: {:?}", browser.cookies);
    let consent = browser.submit(&login, "/login", &[("username", "alice"), ("password", "alice password")]).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    assert!(consent.is_form("/consent"), "a third-party client asks for consent: {}", consent.body);
    assert!(browser.cookies.contains_key("sessiond"), "signed in: the SSO cookie is set");
    let back = browser.submit(&consent, "/consent", &[("decision", "allow")]).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let code = code_from(&t, &url::Url::parse(&back.location().unwrap()).unwrap(), &started);
    let (tokens, _, Said { sid, subject }) = exchange(&r, started, code).await;
    let access = tokens.access_token().clone();
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    assert!(t.active(&rs, access.secret()).await);

    // UserInfo, its `sub` checked by the library against the ID token's.
    let info: CoreUserInfoClaims =
        r.rp.user_info(access.clone(), Some(subject.clone())).unwrap().request_async(&r.http).await.unwrap();
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));

    // Refresh: rotated, same session.
    let refreshed = r.rp.exchange_refresh_token(&refresh).unwrap().request_async(&r.http).await.unwrap();
    let new_refresh = refreshed.refresh_token().expect("a rotated refresh token").clone();
    assert_ne!(new_refresh.secret(), refresh.secret());
    assert_eq!(claims(refreshed.access_token().secret())["sid"], sid.as_str());
    assert!(t.active(&rs, refreshed.access_token().secret()).await);

    // RFC 7009 through the library: the refresh token's grant ends, with
    // its access tokens; the refresh token is refused.
    r.revoke(CoreRevocableToken::from(new_refresh.clone())).await;
    assert!(!t.active(&rs, refreshed.access_token().secret()).await);
    assert!(!t.active(&rs, access.secret()).await);
    match r.rp.exchange_refresh_token(&new_refresh).unwrap().request_async(&r.http).await {
        Err(RequestTokenError::ServerResponse(e)) => assert_eq!(e.error(), &CoreErrorResponseType::InvalidGrant),
        other => panic!("a revoked refresh token: {other:?}"),
    }

    // The browser's session lives on: single sign-on, no page at all
    // (consent is remembered), a new grant in the same session.
    let started = start(&r.rp);
    let page = browser.get(&started.url).await;
    assert_eq!(page.status, StatusCode::FOUND, "SSO redirects straight back: {}", page.body);
    let code = code_from(&t, &url::Url::parse(&page.location().unwrap()).unwrap(), &started);
    let (tokens, id_token, second) = exchange(&r, started, code).await;
    assert_eq!(second.sid, sid, "the same browser session");
    assert_eq!(second.subject, subject);
    let access = tokens.access_token().clone();
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    assert!(t.active(&rs, access.secret()).await);

    // RP-Initiated Logout, the URL built by the library from discovery.
    let state = CsrfToken::new_random();
    let logout = LogoutRequest::from(r.end_session.clone())
        .set_id_token_hint(&id_token)
        .set_client_id(ClientId::new(client.id.clone()))
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(SIGNED_OUT.into()).unwrap())
        .set_state(state.clone())
        .http_get_url();
    let page = browser.get(logout.as_str()).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let to = url::Url::parse(&page.location().unwrap()).unwrap();
    assert_eq!(format!("{}{}", to.origin().ascii_serialization(), to.path()), SIGNED_OUT);
    let params: std::collections::HashMap<_, _> = to.query_pairs().into_owned().collect();
    assert_eq!(params.get("state"), Some(state.secret()), "state comes back");
    assert!(!browser.cookies.contains_key("sessiond"), "the SSO cookie is cleared");

    // Everything of the session is over.
    assert!(!t.active(&rs, access.secret()).await);
    let info: Result<CoreUserInfoClaims, _> =
        r.rp.user_info(access.clone(), Some(subject)).unwrap().request_async(&r.http).await;
    assert!(info.is_err(), "UserInfo refuses the ended session's token");
    let (status, body) = t.refresh(&client, refresh.secret()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    // The same browser is asked to sign in again.
    let started = start(&r.rp);
    assert!(browser.get(&started.url).await.is_form("/login"));
}

#[tokio::test]
async fn a_confidential_rp_signs_in_refreshes_revokes_and_signs_out_es256() {
    confidential_round_trip(SigningAlgorithm::ES256).await;
}

#[tokio::test]
async fn a_confidential_rp_signs_in_refreshes_revokes_and_signs_out_eddsa() {
    // Ed25519's at_hash uses SHA-512 (the hash EdDSA signs with): the
    // library computes it on its own and must agree.
    confidential_round_trip(SigningAlgorithm::EdDSA).await;
}

#[tokio::test]
async fn a_confidential_rp_signs_in_refreshes_revokes_and_signs_out_rs256() {
    confidential_round_trip(SigningAlgorithm::RS256).await;
}

#[tokio::test]
async fn a_public_rp_uses_pkce_alone() {
    let t = TestApp::spawn().await;
    t.user("bob", "bob password").await;
    let client = t.code_flow_client("Phone App", ClientKind::Public, &[CALLBACK], &[SIGNED_OUT]).await;
    assert!(client.secret.is_empty());
    let rs = t.resource_server().await;
    let r = discover(&t, &client).await;
    let mut browser = Browser::new(&t);

    let started = start(&r.rp);
    let back = browser.authorize(&started.url, "bob", "bob password").await;
    let code = code_from(&t, &back, &started);
    let (tokens, id_token, Said { sid, .. }) = exchange(&r, started, code).await;
    assert!(t.active(&rs, tokens.access_token().secret()).await);
    // A public client refreshes and revokes with its client_id alone.
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = r.rp.exchange_refresh_token(&refresh).unwrap().request_async(&r.http).await.unwrap();
    assert_eq!(claims(refreshed.access_token().secret())["sid"], sid.as_str());
    let new_refresh = refreshed.refresh_token().expect("rotated").clone();
    r.revoke(CoreRevocableToken::from(new_refresh)).await;
    assert!(!t.active(&rs, refreshed.access_token().secret()).await);

    // Logout by id_token_hint alone (the hint names the client).
    let logout = LogoutRequest::from(r.end_session.clone())
        .set_id_token_hint(&id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(SIGNED_OUT.into()).unwrap())
        .http_get_url();
    let page = browser.get(logout.as_str()).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location().as_deref(), Some(SIGNED_OUT));
    let session = sessiond::domain::SessionId::new(sid);
    assert!(!t.app.store.session(&session).await.unwrap().unwrap().is_live(t.app.clock.now()), "the session ended");
}
