//! Access-token verification: one code path for every validator.
//!
//! The JWS compact serialization (RFC 7515 §7.1) is taken apart here and
//! the signature checked with `aws-lc-rs` against a key parsed once (see
//! `jwk.rs`); a JOSE library would parse the key again for every token.
//! Cheapest refusals come first: size, shape, header, key, algorithm pin,
//! `typ`, then (ES256) the low-S rule, and only then the signature. The
//! claims are read only once the signature has verified.
use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;

use crate::{low_s, AccessClaims, KeySet, SigningAlgorithm};

/// The JWT `typ` header of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Longest token accepted before any parsing. sessiond's tokens are well
/// under 1 KiB; anything far larger is an attack on the parser.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a token was not accepted. Callers answer all of them the same way
/// (`active: false`, 401); the variants are for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Longer than [`MAX_TOKEN_BYTES`].
    #[error("token too large")]
    TooLarge,
    /// Not a JWS compact serialization, or claims of the wrong shape.
    #[error("malformed token")]
    Malformed,
    /// The header names no key, or one not in the key set.
    #[error("unknown signing key")]
    UnknownKey,
    /// The header's `alg` is not the one the key is pinned to (this covers
    /// `alg: none` and HMAC-with-the-public-key confusion).
    #[error("algorithm not allowed for this key")]
    AlgorithmMismatch,
    /// `typ` is not `at+jwt` (RFC 9068 §4: an ID token is not an access token).
    #[error("not an access token")]
    WrongType,
    /// The signature does not verify, or is an ES256 signature whose `s`
    /// is above half the group order: the malleated twin of a valid one,
    /// refused so that every token has one accepted text (see `low_s`).
    #[error("bad signature")]
    BadSignature,
    /// `iss` or `aud` is not this deployment's.
    #[error("wrong issuer or audience")]
    WrongIssuerOrAudience,
    /// `exp` has passed.
    #[error("expired")]
    Expired,
    /// `iat` lies in the future beyond the allowed skew.
    #[error("issued in the future")]
    IssuedInFuture,
}

/// Verifies sessiond access tokens against a trusted [`KeySet`].
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: KeySet,
    issuer: String,
    audience: String,
    leeway_secs: i64,
}

impl Verifier {
    /// A verifier for tokens from `issuer` meant for `audience`.
    pub fn new(keys: KeySet, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self { keys, issuer: issuer.into(), audience: audience.into(), leeway_secs: 0 }
    }

    /// Tolerates this much clock difference between issuer and verifier.
    pub fn with_leeway(mut self, seconds: i64) -> Self {
        self.leeway_secs = seconds.max(0);
        self
    }

    /// The trusted keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Checks a token's form, signature and claims at time `now` (Unix
    /// seconds). It says nothing of revocation: that is the index's job.
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, VerifyError> {
        let claims = self.verify_ignoring_lifetime(token)?;
        self.check_lifetime(&claims, now)?;
        Ok(claims)
    }

    /// Checks form, signature, `typ`, `iss` and `aud`, not `exp`/`iat`.
    pub fn verify_ignoring_lifetime(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        self.decode(token, ACCESS_TOKEN_TYPE, Some((&self.issuer, &self.audience)))
    }

    /// Checks form, signature, `iss`, that `typ` (when present) is
    /// `typ`, and that `aud` names `audience`, not lifetime; for the other
    /// JWTs sessiond signs with the same keys (an ID token presented back as
    /// `id_token_hint`, OpenID Connect RP-Initiated Logout §2). `typ` may be
    /// absent, as OpenID Connect does not require it.
    pub fn verify_other<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        audience: &str,
    ) -> Result<C, VerifyError> {
        self.decode_as(token, Some(typ), true, Some((&self.issuer, audience)))
    }

    /// Checks form, signature and `typ` only: whether one of the trusted
    /// keys signed this access token, whatever issuer or audience it names.
    /// For revocation, which must reach every token the keys signed even
    /// after the issuer or audience setting changed; never for accepting a
    /// token.
    pub fn verify_signature_only(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        self.decode(token, ACCESS_TOKEN_TYPE, None)
    }

    fn decode(&self, token: &str, typ: &str, iss_aud: Option<(&str, &str)>) -> Result<AccessClaims, VerifyError> {
        self.decode_as(token, Some(typ), false, iss_aud)
    }

    fn decode_as<C: DeserializeOwned>(
        &self,
        token: &str,
        typ: Option<&str>,
        typ_optional: bool,
        iss_aud: Option<(&str, &str)>,
    ) -> Result<C, VerifyError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::TooLarge);
        }
        let (signing_input, signature) = token.rsplit_once('.').ok_or(VerifyError::Malformed)?;
        let (header, payload) = signing_input.split_once('.').ok_or(VerifyError::Malformed)?;
        if payload.contains('.') {
            return Err(VerifyError::Malformed);
        }
        let header = URL_SAFE_NO_PAD.decode(header).map_err(|_| VerifyError::Malformed)?;
        let header: Header<'_> = serde_json::from_slice(&header).map_err(|_| VerifyError::Malformed)?;
        // RFC 7515 §4.1.11: extensions marked critical must be understood,
        // and sessiond uses none.
        if header.crit.is_some() {
            return Err(VerifyError::Malformed);
        }
        let kid = header.kid.as_deref().ok_or(VerifyError::UnknownKey)?;
        let key = self.keys.get(kid).ok_or(VerifyError::UnknownKey)?;
        // The key's own algorithm, never the token's choice.
        if header.alg != key.alg.as_str() {
            return Err(VerifyError::AlgorithmMismatch);
        }
        let typ_ok = match (header.typ.as_deref(), typ) {
            (Some(found), Some(wanted)) => found.eq_ignore_ascii_case(wanted),
            (None, _) => typ_optional,
            (Some(_), None) => true,
        };
        if !typ_ok {
            return Err(VerifyError::WrongType);
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| VerifyError::Malformed)?;
        // ECDSA accepts both (r, s) and (r, n − s); only the low-S form,
        // the one sessiond signs, is the token.
        if key.alg == SigningAlgorithm::ES256 && !low_s::is_low_s(&signature) {
            return Err(VerifyError::BadSignature);
        }
        key.key.verify_sig(signing_input.as_bytes(), &signature).map_err(|_| VerifyError::BadSignature)?;

        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| VerifyError::Malformed)?;
        let claims = serde_json::from_slice(&payload).map_err(|_| VerifyError::Malformed)?;
        if let Some((issuer, audience)) = iss_aud {
            let registered: Registered<'_> = serde_json::from_slice(&payload).map_err(|_| VerifyError::Malformed)?;
            if !registered.is_for(issuer, audience) {
                return Err(VerifyError::WrongIssuerOrAudience);
            }
        }
        Ok(claims)
    }

    /// Checks `exp` and `iat` against `now` (Unix seconds), with the leeway.
    pub fn check_lifetime(&self, claims: &AccessClaims, now: i64) -> Result<(), VerifyError> {
        if claims.exp + self.leeway_secs <= now {
            return Err(VerifyError::Expired);
        }
        if claims.iat - self.leeway_secs > now {
            return Err(VerifyError::IssuedInFuture);
        }
        Ok(())
    }
}

/// The JOSE header members sessiond reads (RFC 7515 §4.1); others are
/// ignored.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow, default)]
    kid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    typ: Option<Cow<'a, str>>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
}

/// The claims that say whom a token is from and for (RFC 7519 §4.1.1,
/// §4.1.3), read beside the caller's own claims type.
#[derive(Deserialize)]
struct Registered<'a> {
    #[serde(borrow, default)]
    iss: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    aud: Option<Audience<'a>>,
}

/// `aud`: one string, or an array of them (RFC 7519 §4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience<'a> {
    One(#[serde(borrow)] Cow<'a, str>),
    Many(#[serde(borrow)] Vec<Cow<'a, str>>),
}

impl Registered<'_> {
    /// `iss` is `issuer` and `aud` is, or includes, `audience`.
    fn is_for(&self, issuer: &str, audience: &str) -> bool {
        let aud_ok = match &self.aud {
            Some(Audience::One(aud)) => aud == audience,
            Some(Audience::Many(auds)) => auds.iter().any(|aud| aud == audience),
            None => false,
        };
        self.iss.as_deref() == Some(issuer) && aud_ok
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
        ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
    };
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::{Algorithm, EncodingKey};
    use serde_json::{json, Value};

    use super::*;
    use crate::{low_s, Jwk, Validator};

    const ISSUER: &str = "https://id.example";
    const AUDIENCE: &str = "https://api.example";
    const NOW: i64 = 1_700_000_000;

    fn jwk(kty: &str, kid: &str, alg: &str) -> Jwk {
        Jwk {
            kty: kty.into(),
            kid: kid.into(),
            alg: alg.into(),
            use_: Some("sig".into()),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
        }
    }

    /// A real ES256 key: its verifier, its pair, its PKCS#8 document and
    /// its raw public point.
    fn es256() -> (Verifier, EcdsaKeyPair, Vec<u8>, Vec<u8>) {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let mut jwk = jwk("EC", "k1", "ES256");
        jwk.crv = Some("P-256".into());
        jwk.x = Some(URL_SAFE_NO_PAD.encode(&point[1..33]));
        jwk.y = Some(URL_SAFE_NO_PAD.encode(&point[33..65]));
        let keys = KeySet::from_jwks([&jwk]).unwrap();
        (Verifier::new(keys, ISSUER, AUDIENCE), pair, pkcs8.as_ref().to_vec(), point)
    }

    fn access_claims() -> Value {
        json!({
            "iss": ISSUER, "sub": "u1", "aud": AUDIENCE, "exp": NOW + 300, "iat": NOW,
            "jti": "j1", "client_id": "c1", "sid": "s1", "gid": "g1",
        })
    }

    /// An access token signed by another JOSE implementation
    /// (`jsonwebtoken`, on `ring`), in whichever ECDSA form it gave.
    fn signed_elsewhere(alg: Algorithm, kid: &str, key: &EncodingKey) -> String {
        let header = jsonwebtoken::Header {
            typ: Some(ACCESS_TOKEN_TYPE.into()),
            kid: Some(kid.into()),
            ..jsonwebtoken::Header::new(alg)
        };
        jsonwebtoken::encode(&header, &access_claims(), key).unwrap()
    }

    fn b64json(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    /// A JWS with any header and claims, signed ES256 (low-S) by `pair`.
    fn jws(pair: &EcdsaKeyPair, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64json(header), b64json(claims));
        let sig = pair.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        let mut raw: [u8; 64] = sig.as_ref().try_into().unwrap();
        low_s::normalize(&mut raw);
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(raw))
    }

    fn es256_header() -> Value {
        json!({"alg": "ES256", "kid": "k1", "typ": ACCESS_TOKEN_TYPE})
    }

    /// The token with its signature's `s` replaced: normalised to low-S, or
    /// flipped to `n − s`.
    fn with_signature(token: &str, change: impl FnOnce(&mut [u8; 64])) -> String {
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut raw: [u8; 64] = URL_SAFE_NO_PAD.decode(sig).unwrap().try_into().unwrap();
        change(&mut raw);
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(raw))
    }

    fn flip_s(sig: &mut [u8; 64]) {
        let s: [u8; 32] = sig[32..].try_into().unwrap();
        sig[32..].copy_from_slice(&low_s::order_minus(&s));
    }

    /// Plain ECDSA verification (SEC 1), as any JOSE library does it.
    fn plain_ecdsa_accepts(token: &str, point: &[u8]) -> bool {
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(input.as_bytes(), &sig).is_ok()
    }

    #[test]
    fn the_high_s_twin_of_an_es256_token_is_refused() {
        let (verifier, _, pkcs8, point) = es256();
        let key = EncodingKey::from_ec_der(&pkcs8);
        for _ in 0..8 {
            // The library signs either form; take the low one and its twin.
            let low = with_signature(&signed_elsewhere(Algorithm::ES256, "k1", &key), |sig| {
                low_s::normalize(sig);
            });
            let high = with_signature(&low, flip_s);
            assert_ne!(low, high);
            assert!(plain_ecdsa_accepts(&low, &point));
            assert!(plain_ecdsa_accepts(&high, &point), "the twin is a valid ECDSA signature");
            assert!(verifier.verify(&low, NOW).is_ok());
            assert_eq!(verifier.verify(&high, NOW), Err(VerifyError::BadSignature));
            assert_eq!(verifier.verify_ignoring_lifetime(&high), Err(VerifyError::BadSignature));
        }
    }

    #[test]
    fn the_validator_and_its_cache_refuse_the_twin_of_a_cached_token() {
        let (verifier, pair, _, _) = es256();
        let validator = Validator::new(verifier);
        let low = jws(&pair, &es256_header(), &access_claims());
        let high = with_signature(&low, flip_s);
        assert!(validator.validate(&low, NOW).is_ok());
        assert!(validator.validate(&high, NOW).is_err(), "validate");
        assert!(validator.inspect(&high).is_err(), "inspect");
        assert!(validator.validate(&low, NOW).is_ok(), "the original stays valid");
    }

    #[test]
    fn an_es256_signature_of_the_wrong_size_is_refused() {
        let (verifier, pair, _, _) = es256();
        let token = jws(&pair, &es256_header(), &access_claims());
        let (input, _) = token.rsplit_once('.').unwrap();
        for len in [0, 63, 65, 72] {
            let bad = format!("{input}.{}", URL_SAFE_NO_PAD.encode(vec![1u8; len]));
            assert_eq!(verifier.verify(&bad, NOW), Err(VerifyError::BadSignature), "{len} bytes");
        }
    }

    #[test]
    fn eddsa_and_rs256_tokens_verify_and_their_alterations_do_not() {
        let rng = SystemRandom::new();
        let ed_pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ed = Ed25519KeyPair::from_pkcs8(ed_pkcs8.as_ref()).unwrap();
        let mut ed_jwk = jwk("OKP", "ed", "EdDSA");
        ed_jwk.crv = Some("Ed25519".into());
        ed_jwk.x = Some(URL_SAFE_NO_PAD.encode(ed.public_key().as_ref()));

        let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let mut rsa_jwk = jwk("RSA", "rsa", "RS256");
        rsa_jwk.n = Some(URL_SAFE_NO_PAD.encode(rsa.public_key().modulus().big_endian_without_leading_zero()));
        rsa_jwk.e = Some(URL_SAFE_NO_PAD.encode(rsa.public_key().exponent().big_endian_without_leading_zero()));

        let verifier = Verifier::new(KeySet::from_jwks([&ed_jwk, &rsa_jwk]).unwrap(), ISSUER, AUDIENCE);
        let ed_token = signed_elsewhere(Algorithm::EdDSA, "ed", &EncodingKey::from_ed_der(ed_pkcs8.as_ref()));
        let rsa_token = {
            let input = format!(
                "{}.{}",
                b64json(&json!({"alg": "RS256", "kid": "rsa", "typ": ACCESS_TOKEN_TYPE})),
                b64json(&access_claims())
            );
            let mut sig = vec![0u8; rsa.public_modulus_len()];
            rsa.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig).unwrap();
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
        };
        for token in [ed_token, rsa_token] {
            assert_eq!(verifier.verify(&token, NOW).unwrap().jti, "j1");
            // Another token's claims under this signature.
            let (header, rest) = token.split_once('.').unwrap();
            let (_, sig) = rest.split_once('.').unwrap();
            let mut claims = access_claims();
            claims["jti"] = json!("j2");
            let swapped = format!("{header}.{}.{sig}", b64json(&claims));
            assert_eq!(verifier.verify(&swapped, NOW), Err(VerifyError::BadSignature));
        }
    }

    #[test]
    fn an_eddsa_signature_with_s_plus_l_is_refused() {
        // RFC 8032 §5.1.7 requires S < L, so an Ed25519 signature has no
        // twin (S + L would verify under a check that skipped it).
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, //
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let mut jwk = jwk("OKP", "ed", "EdDSA");
        jwk.crv = Some("Ed25519".into());
        jwk.x = Some(URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()));
        let verifier = Verifier::new(KeySet::from_jwks([&jwk]).unwrap(), ISSUER, AUDIENCE);
        let token = signed_elsewhere(Algorithm::EdDSA, "ed", &EncodingKey::from_ed_der(pkcs8.as_ref()));
        assert!(verifier.verify(&token, NOW).is_ok());
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        // S is the second half, little-endian; S + L < 2^256 as S < L < 2^253.
        let mut carry = 0u16;
        for (byte, l) in sig[32..].iter_mut().zip(L) {
            let sum = u16::from(*byte) + u16::from(l) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        let twin = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
        assert_eq!(verifier.verify(&twin, NOW), Err(VerifyError::BadSignature));
    }

    #[test]
    fn the_header_cannot_choose_the_algorithm() {
        let (verifier, pair, _, _) = es256();
        for alg in ["none", "HS256", "ES384", "EdDSA", "RS256", "es256"] {
            let token = jws(&pair, &json!({"alg": alg, "kid": "k1", "typ": ACCESS_TOKEN_TYPE}), &access_claims());
            assert_eq!(verifier.verify(&token, NOW), Err(VerifyError::AlgorithmMismatch), "{alg}");
        }
        let no_kid = jws(&pair, &json!({"alg": "ES256", "typ": ACCESS_TOKEN_TYPE}), &access_claims());
        assert_eq!(verifier.verify(&no_kid, NOW), Err(VerifyError::UnknownKey));
        let other_kid = jws(&pair, &json!({"alg": "ES256", "kid": "k2", "typ": ACCESS_TOKEN_TYPE}), &access_claims());
        assert_eq!(verifier.verify(&other_kid, NOW), Err(VerifyError::UnknownKey));
    }

    #[test]
    fn a_critical_extension_is_refused() {
        let (verifier, pair, _, _) = es256();
        let mut header = es256_header();
        header["crit"] = json!(["exp"]);
        header["exp"] = json!(NOW);
        assert_eq!(verifier.verify(&jws(&pair, &header, &access_claims()), NOW), Err(VerifyError::Malformed));
        // Members it does not know are ignored (RFC 7515 §4).
        let mut header = es256_header();
        header["x5t"] = json!("ignored");
        assert!(verifier.verify(&jws(&pair, &header, &access_claims()), NOW).is_ok());
    }

    #[test]
    fn anything_but_three_base64url_segments_is_malformed() {
        let (verifier, pair, _, _) = es256();
        let token = jws(&pair, &es256_header(), &access_claims());
        let (header, rest) = token.split_once('.').unwrap();
        let (payload, sig) = rest.split_once('.').unwrap();
        for bad in [
            String::new(),
            "a".into(),
            format!("{header}.{payload}"),
            format!("{token}.{sig}"),
            format!("{header}.{payload}.{payload}.{sig}"),
            format!("{header}=.{payload}.{sig}"),
            format!("{header}.{payload}.{sig}="),
            format!("{}.{payload}.{sig}", URL_SAFE_NO_PAD.encode("not json")),
        ] {
            assert_eq!(verifier.verify(&bad, NOW), Err(VerifyError::Malformed), "{bad}");
        }
        // A payload that is not the claims' shape: signed, still refused.
        let shapeless = jws(&pair, &es256_header(), &json!({"iss": ISSUER, "aud": AUDIENCE}));
        assert_eq!(verifier.verify(&shapeless, NOW), Err(VerifyError::Malformed));
    }

    #[test]
    fn issuer_and_audience_must_be_this_deployments() {
        let (verifier, pair, _, _) = es256();
        let with = |member: &str, value: Value| {
            let mut claims = access_claims();
            claims[member] = value;
            jws(&pair, &es256_header(), &claims)
        };
        let other_iss = with("iss", json!("https://evil.example"));
        assert_eq!(verifier.verify(&other_iss, NOW), Err(VerifyError::WrongIssuerOrAudience));
        let other_aud = with("aud", json!("https://other.example"));
        assert_eq!(verifier.verify(&other_aud, NOW), Err(VerifyError::WrongIssuerOrAudience));
        // Revocation reaches them all the same: the keys signed them.
        assert!(verifier.verify_signature_only(&other_iss).is_ok());
        assert!(verifier.verify_signature_only(&other_aud).is_ok());

        // Other JWTs: `aud` may be an array (RFC 7519 §4.1.3); `typ` may be absent.
        let id_header = json!({"alg": "ES256", "kid": "k1"});
        let id = |aud: Value| jws(&pair, &id_header, &json!({"iss": ISSUER, "aud": aud, "sub": "u1"}));
        let ok: Result<Value, _> = verifier.verify_other(&id(json!(["c0", "c1"])), "JWT", "c1");
        assert_eq!(ok.unwrap()["sub"], "u1");
        let wrong: Result<Value, _> = verifier.verify_other(&id(json!(["c0", "c2"])), "JWT", "c1");
        assert_eq!(wrong, Err(VerifyError::WrongIssuerOrAudience));
        let no_aud = jws(&pair, &id_header, &json!({"iss": ISSUER, "sub": "u1"}));
        let missing: Result<Value, _> = verifier.verify_other(&no_aud, "JWT", "c1");
        assert_eq!(missing, Err(VerifyError::WrongIssuerOrAudience));
        let no_iss = jws(&pair, &id_header, &json!({"aud": "c1", "sub": "u1"}));
        let missing: Result<Value, _> = verifier.verify_other(&no_iss, "JWT", "c1");
        assert_eq!(missing, Err(VerifyError::WrongIssuerOrAudience));
    }

    #[test]
    fn an_access_token_must_say_so() {
        let (verifier, pair, _, _) = es256();
        for typ in [Some("JWT"), Some("logout+jwt"), None] {
            let mut header = json!({"alg": "ES256", "kid": "k1"});
            if let Some(typ) = typ {
                header["typ"] = json!(typ);
            }
            assert_eq!(verifier.verify(&jws(&pair, &header, &access_claims()), NOW), Err(VerifyError::WrongType));
        }
        let mut header = es256_header();
        header["typ"] = json!("AT+JWT");
        assert!(verifier.verify(&jws(&pair, &header, &access_claims()), NOW).is_ok(), "media types ignore case");
    }
}
