//! Cost of `Verifier::verify` on a typical access token, per algorithm, and
//! of the bare P-256 operations under it (to set beside `openssl speed`).
//!
//! Keys are generated with `aws-lc-rs` and the ES256 and EdDSA tokens signed
//! with `jsonwebtoken` (another JOSE implementation, on `ring`), so this
//! bench needs nothing from the server crate; the RS256 token is signed with
//! `aws-lc-rs` directly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, ParsedPublicKey, RsaKeyPair, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sessiond_guard::{low_s, AccessClaims, Jwk, KeySet, Validator, Verifier, ACCESS_TOKEN_TYPE};

const ISSUER: &str = "https://id.example";
const AUDIENCE: &str = "https://api.example";
/// The time passed to `verify`; tokens are issued then and live a year.
const NOW: i64 = 1_700_000_000;

fn jwk(kty: &str, kid: &str, alg: &str, crv: Option<&str>) -> Jwk {
    Jwk {
        kty: kty.into(),
        kid: kid.into(),
        alg: alg.into(),
        use_: Some("sig".into()),
        crv: crv.map(Into::into),
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

fn header(alg: Algorithm, kid: &str) -> Header {
    Header { typ: Some(ACCESS_TOKEN_TYPE.into()), kid: Some(kid.into()), ..Header::new(alg) }
}

fn sign(alg: Algorithm, kid: &str, key: &EncodingKey) -> String {
    let token = jsonwebtoken::encode(&header(alg, kid), &claims(), key).expect("sign token");
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

/// An ES256 key pair: the public JWK, the private PKCS#8 DER for
/// `jsonwebtoken`, and the pair itself.
fn es256() -> (Jwk, EncodingKey, EcdsaKeyPair) {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .expect("generate P-256 key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("load key");
    // Uncompressed point: 0x04 ‖ x ‖ y, 32 bytes each.
    let point = pair.public_key().as_ref();
    assert_eq!((point.len(), point[0]), (65, 0x04));
    let mut jwk = jwk("EC", "bench-es256", "ES256", Some("P-256"));
    jwk.x = Some(URL_SAFE_NO_PAD.encode(&point[1..33]));
    jwk.y = Some(URL_SAFE_NO_PAD.encode(&point[33..65]));
    (jwk, EncodingKey::from_ec_der(pkcs8.as_ref()), pair)
}

/// An Ed25519 key pair: the public JWK and the private PKCS#8 DER.
fn ed25519() -> (Jwk, EncodingKey) {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("generate Ed25519 key");
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("load key");
    let mut jwk = jwk("OKP", "bench-eddsa", "EdDSA", Some("Ed25519"));
    jwk.x = Some(URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()));
    (jwk, EncodingKey::from_ed_der(pkcs8.as_ref()))
}

/// A 2048-bit RSA key's public JWK and an RS256 token signed with it.
fn rs256() -> (Jwk, String) {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("generate RSA key");
    let public = pair.public_key();
    let mut jwk = jwk("RSA", "bench-rs256", "RS256", None);
    jwk.n = Some(URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()));
    jwk.e = Some(URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()));
    fn b64json<T: serde::Serialize>(value: &T) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("serialize"))
    }
    let input = format!("{}.{}", b64json(&header(Algorithm::RS256, &jwk.kid)), b64json(&claims()));
    let mut sig = vec![0u8; pair.public_modulus_len()];
    pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut sig).expect("sign");
    (jwk, format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

fn verify(c: &mut Criterion) {
    let (es_jwk, es_key, es_pair) = es256();
    let (ed_jwk, ed_key) = ed25519();
    let (rs_jwk, rs_token) = rs256();
    // All keys in one set, as a resource server holding a rotated JWKS would.
    let keys = KeySet::from_jwks([&es_jwk, &ed_jwk, &rs_jwk]).expect("key set");
    let verifier = Verifier::new(keys, ISSUER, AUDIENCE);
    let cases = [
        ("ES256", sign(Algorithm::ES256, &es_jwk.kid, &es_key)),
        ("EdDSA", sign(Algorithm::EdDSA, &ed_jwk.kid, &ed_key)),
        ("RS256", rs_token),
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

    // The crypto backend alone, on what `openssl speed ecdsap256` measures:
    // one P-256 ECDSA signature and one verification of a short message
    // (a SHA-256 of a 20-byte input here, of a 20-byte digest there).
    let message = [0x5au8; 20];
    let rng = SystemRandom::new();
    let signature = es_pair.sign(&rng, &message).expect("sign");
    let public = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, es_pair.public_key().as_ref()).expect("public key");
    assert!(public.verify_sig(&message, signature.as_ref()).is_ok());
    let mut group = c.benchmark_group("p256");
    group.bench_function("sign", |b| b.iter(|| es_pair.sign(&rng, black_box(&message))));
    group
        .bench_function("verify", |b| b.iter(|| public.verify_sig(black_box(&message), black_box(signature.as_ref()))));
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
