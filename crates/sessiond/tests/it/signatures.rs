//! ES256 signatures: each token has one accepted text. The high-S twin of a
//! signature, `(r, n − s)`, verifies under plain ECDSA; sessiond signs only
//! low-S and refuses the twin everywhere it validates.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Method, StatusCode};
use sessiond::domain::GrantType;
use sessiond_guard::low_s;

use crate::support::{s, TestApp};

/// `⌊n / 2⌋` for the P-256 group order `n`, big-endian; written out here
/// rather than taken from the code under test.
const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, //
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// The raw 64-byte `r ‖ s` signature of a token.
fn signature(token: &str) -> [u8; 64] {
    let encoded = token.rsplit('.').next().unwrap();
    URL_SAFE_NO_PAD.decode(encoded).unwrap().try_into().expect("a 64-byte ES256 signature")
}

/// The same token with `s` replaced by `n − s`.
fn high_s_twin(token: &str) -> String {
    let mut sig = signature(token);
    let s: [u8; 32] = sig[32..].try_into().unwrap();
    sig[32..].copy_from_slice(&low_s::order_minus(&s));
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

#[tokio::test]
async fn the_high_s_twin_of_an_issued_token_is_inactive_and_unauthorized() {
    let t = TestApp::spawn().await;
    let rs = t.resource_server().await;
    let client = t.user_client().await;
    t.user("alice", "alice password").await;
    let token = s(&t.sign_in(&client, "alice", "alice password").await, "access_token");
    let twin = high_s_twin(&token);
    assert_ne!(twin, token);
    // A plain JOSE library accepts the twin: it is a valid ECDSA signature.
    t.verify_with_jwks(&twin).await;

    // The original is active and authorizes; cached now, by its exact text.
    assert!(t.active(&rs, &token).await);
    let me = |at: &str| t.bearer(Method::GET, "/api/v1/me/sessions", at).send();
    assert_eq!(me(&token).await.unwrap().status(), StatusCode::OK);

    // The twin is not the token.
    assert!(!t.active(&rs, &twin).await, "RFC 7662: {{\"active\": false}} for the high-S twin");
    let r = me(&twin).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));

    // And refusing it changed nothing for the original.
    assert!(t.active(&rs, &token).await);
    assert_eq!(me(&token).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn every_issued_es256_signature_is_low_s() {
    let t = TestApp::spawn().await;
    let machine = t.client(&[GrantType::ClientCredentials], "").await;
    // Unnormalised, about half would be high-S: 50 low in a row by chance
    // is one run in 2^50.
    for i in 0..50 {
        let (status, body) = t.token(&machine, &[("grant_type", "client_credentials")]).await;
        assert_eq!(status, StatusCode::OK);
        let sig = signature(&s(&body, "access_token"));
        // Equal-width big-endian arrays compare as the numbers they encode.
        assert!(sig[32..] <= HALF_ORDER[..], "token {i} has s > n/2");
    }
}
