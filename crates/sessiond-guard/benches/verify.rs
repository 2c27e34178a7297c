//! Cost of `Verifier::verify` on a typical access token, per algorithm.
//!
//! Keys are generated with `ring` and tokens signed with `jsonwebtoken`, so
//! this bench needs nothing from the server crate. RS256 is not covered here:
//! `ring` cannot generate RSA keys and this crate has no RSA key generator
//! among its dependencies (the server's `issue` bench covers RS256 signing).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use sessiond_guard::{low_s, AccessClaims, Jwk, KeySet, Validator, Verifier, ACCESS_TOKEN_TYPE};

const ISSUER: &str = "https://id.example";
const AUDIENCE: &str = "https://api.example";
/// The time passed to `verify`; tokens are issued then and live a year.
const NOW: i64 = 1_700_000_000;

fn jwk(kty: &str, kid: &str, alg: &str, crv: &str) -> Jwk {
    Jwk {
        kty: kty.into(),
        kid: kid.into(),
        alg: alg.into(),
        use_: Some("sig".into()),
        crv: Some(crv.into()),
        x: None,
        y: None,
        n: None,
        e: None,
    }
}

/// Claims shaped like a user-bound token from the password or refresh grant.
/// Built from JSON rather than a struct literal so that optional claims added
/// to `AccessClaims` later do not break the bench.
fn claims() -> AccessClaims {
    serde_json::from_value(serde_json::json!({
        "iss": ISSUER,
        "sub": "Zk9xV3JtT2hQb2xxY2pBbQ",
        "aud": AUDIENCE,
        "exp": NOW + 365 * 24 * 3600,
        "iat": NOW,
        "jti": "q8mF2c1dQy6tR0wZ3bJv4A",
        "client_id": "n7Yw0fKp9sLr2uXb5eQh1g",
        "scope": "openid api:read api:write",
        "sid": "b3JkZXJlZC1zZXNzaW9uLWlk",
        "gid": "Z3JhbnQtaWQtZm9yLWJlbmNo",
    }))
    .expect("claims")
}

fn sign(alg: Algorithm, kid: &str, key: &EncodingKey) -> String {
    let header = Header { typ: Some(ACCESS_TOKEN_TYPE.into()), kid: Some(kid.into()), ..Header::new(alg) };
    let token = jsonwebtoken::encode(&header, &claims(), key).expect("sign token");
    if alg != Algorithm::ES256 {
        return token;
    }
    // `jsonwebtoken` signs either half of an ECDSA pair; the verifier
    // accepts only the low-S one, as sessiond signs it.
    let (input, sig) = token.rsplit_once('.').expect("three segments");
    let mut raw: [u8; low_s::SIGNATURE_LEN] =
        URL_SAFE_NO_PAD.decode(sig).expect("base64url").try_into().expect("a 64-byte signature");
    low_s::normalize(&mut raw);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(raw))
}

/// An ES256 key pair: the public JWK and the private PKCS#8 DER.
fn es256() -> (Jwk, EncodingKey) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("generate P-256 key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).expect("load key");
    // Uncompressed point: 0x04 ‖ x ‖ y, 32 bytes each.
    let point = pair.public_key().as_ref();
    assert_eq!((point.len(), point[0]), (65, 0x04));
    let mut jwk = jwk("EC", "bench-es256", "ES256", "P-256");
    jwk.x = Some(URL_SAFE_NO_PAD.encode(&point[1..33]));
    jwk.y = Some(URL_SAFE_NO_PAD.encode(&point[33..65]));
    (jwk, EncodingKey::from_ec_der(pkcs8.as_ref()))
}

/// An Ed25519 key pair: the public JWK and the private PKCS#8 DER.
fn ed25519() -> (Jwk, EncodingKey) {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("generate Ed25519 key");
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("load key");
    let mut jwk = jwk("OKP", "bench-eddsa", "EdDSA", "Ed25519");
    jwk.x = Some(URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()));
    (jwk, EncodingKey::from_ed_der(pkcs8.as_ref()))
}

fn verify(c: &mut Criterion) {
    let (es_jwk, es_key) = es256();
    let (ed_jwk, ed_key) = ed25519();
    // Both keys in one set, as a resource server holding a rotated JWKS would.
    let keys = KeySet::from_jwks([&es_jwk, &ed_jwk]).expect("key set");
    let verifier = Verifier::new(keys, ISSUER, AUDIENCE);
    let cases = [
        ("ES256", sign(Algorithm::ES256, &es_jwk.kid, &es_key)),
        ("EdDSA", sign(Algorithm::EdDSA, &ed_jwk.kid, &ed_key)),
    ];

    let mut group = c.benchmark_group("verify");
    for (name, token) in &cases {
        // Checked once, outside the timed loop: a failing verify would be
        // measuring the early-exit path.
        assert_eq!(verifier.verify(token, NOW).expect("token verifies"), claims(), "{name}");
        group.bench_function(*name, |b| b.iter(|| verifier.verify(black_box(token), black_box(NOW))));
    }
    group.finish();

    // The whole validation path for a token seen before: verified-token
    // cache, lifetime, revocation index (empty here; see the index bench).
    let validator = Validator::new(verifier.clone());
    let mut group = c.benchmark_group("validate_seen_token");
    for (name, token) in &cases {
        assert!(validator.validate(token, NOW).is_ok());
        group.bench_function(*name, |b| b.iter(|| validator.validate(black_box(token), black_box(NOW))));
    }
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
