//! Signing keys: algorithms, rotation, publication.
use std::time::Duration;

use reqwest::StatusCode;
use sessiond::clock::Clock;
use sessiond::domain::GrantType;
use sessiond_guard::SigningAlgorithm;

use crate::support::{s, TestApp};

#[tokio::test]
async fn every_signing_algorithm_produces_tokens_a_jose_library_verifies() {
    for alg in [SigningAlgorithm::ES256, SigningAlgorithm::EdDSA, SigningAlgorithm::RS256] {
        let t = TestApp::spawn_with(|s| sessiond::config::Settings { signing_alg: Some(alg), ..s }).await;
        let client = t.client(&[GrantType::ClientCredentials], "api:read").await;
        let (status, body) = t.token(&client, &[("grant_type", "client_credentials")]).await;
        assert_eq!(status, StatusCode::OK);
        let token = s(&body, "access_token");
        assert_eq!(
            jsonwebtoken::decode_header(&token).unwrap().alg,
            alg.as_str().parse::<jsonwebtoken::Algorithm>().unwrap()
        );
        t.verify_with_jwks(&token).await;
    }
}

#[tokio::test]
async fn rotation_keeps_old_tokens_verifiable_until_they_expire() {
    let t = TestApp::spawn().await;
    let client = t.client(&[GrantType::ClientCredentials], "api:read").await;
    let (_, before) = t.token(&client, &[("grant_type", "client_credentials")]).await;
    let old_token = s(&before, "access_token");
    let old_kid = jsonwebtoken::decode_header(&old_token).unwrap().kid.unwrap();

    let new_key = t.app.rotate_key().await.unwrap();
    assert_ne!(new_key.kid.as_str(), old_kid);
    let (_, after) = t.token(&client, &[("grant_type", "client_credentials")]).await;
    let new_token = s(&after, "access_token");
    assert_eq!(jsonwebtoken::decode_header(&new_token).unwrap().kid.as_deref(), Some(new_key.kid.as_str()));

    // Both keys are published; both tokens verify.
    assert_eq!(t.jwks().await.keys.len(), 2);
    t.verify_with_jwks(&old_token).await;
    t.verify_with_jwks(&new_token).await;
    // The server's own verifier agrees.
    let now = t.clock.now().0;
    assert!(t.app.keys().verifier().verify(&old_token, now).is_ok());

    // Once every token the old key signed has expired, it is withdrawn.
    t.clock.advance(Duration::from_secs(301));
    t.app.reload_keys().await.unwrap();
    let jwks = t.jwks().await;
    assert_eq!(jwks.keys.len(), 1);
    assert!(jwks.find(&old_kid).is_none());
}

#[tokio::test]
async fn keys_survive_a_restart_and_are_not_regenerated() {
    let t = TestApp::spawn().await;
    let kid_before = t.app.keys().signing_key().kid().clone();
    let again = TestApp::spawn_on(t.data.clone(), |s| s).await;
    assert_eq!(again.app.keys().signing_key().kid(), &kid_before);
    assert_eq!(again.jwks().await.keys.len(), 1);
}

#[tokio::test]
async fn discovery_advertises_what_exists() {
    let t = TestApp::spawn().await;
    for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let doc: serde_json::Value = t.http.get(t.url(path)).send().await.unwrap().json().await.unwrap();
        assert_eq!(doc["issuer"], t.base.as_str());
        assert_eq!(doc["token_endpoint"], format!("{}/oauth2/token", t.base));
        assert_eq!(doc["jwks_uri"], format!("{}/jwks.json", t.base));
        let grants: Vec<&str> =
            doc["grant_types_supported"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(grants, ["authorization_code", "client_credentials", "password", "refresh_token"]);
        assert_eq!(doc["authorization_endpoint"], format!("{}/oauth2/authorize", t.base));
        assert_eq!(doc["userinfo_endpoint"], format!("{}/oauth2/userinfo", t.base));
        assert_eq!(doc["end_session_endpoint"], format!("{}/oauth2/logout", t.base));
        assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        for key in ["scopes_supported", "claims_supported", "prompt_values_supported", "subject_types_supported"] {
            assert!(doc[key].as_array().is_some_and(|a| !a.is_empty()), "{key}");
        }
        // Every advertised endpoint answers (without credentials: not 404).
        let jwks = t.http.get(doc["jwks_uri"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(jwks.status(), StatusCode::OK);
        for key in ["authorization_endpoint", "userinfo_endpoint", "end_session_endpoint"] {
            let r = t.http.get(doc[key].as_str().unwrap()).send().await.unwrap();
            assert_ne!(r.status(), StatusCode::NOT_FOUND, "{key}");
            assert!(r.status().as_u16() < 500, "{key}");
        }
    }
}

#[tokio::test]
async fn the_suite_runs_on_the_backend_the_environment_names() {
    let t = TestApp::spawn().await;
    let sqlite_file = t.data.path().join("sessiond.db");
    assert_eq!(sqlite_file.exists(), !t.data.is_postgres(), "PostgreSQL when SESSIOND_TEST_DATABASE_URL is set");
    // Signing keys are sealed at rest on either backend.
    let client = t.client(&[GrantType::ClientCredentials], "").await;
    let (status, _) = t.token(&client, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, StatusCode::OK);
    if !t.data.is_postgres() {
        assert!(t.data.path().join("master.key").exists(), "the embedded default generates its master key");
        let db = std::fs::read(&sqlite_file).unwrap();
        assert!(!db.windows(4).any(|w| w == [0x30, 0x81, 0x87, 0x02]), "no PKCS#8 P-256 key in the clear");
    }
}
