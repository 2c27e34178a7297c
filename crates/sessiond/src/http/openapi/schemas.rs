//! Schemas of types that are not serialized through a `ToSchema` derive:
//! string enums the code spells with `as_str` (so the contract lists
//! exactly the values the code knows), and the JWK Set, which the key ring
//! writes once as text.
use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::domain::GrantType;
use crate::http::error::ErrorCode;

/// A string schema that takes exactly `values`.
fn one_of(values: impl IntoIterator<Item = &'static str>, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).description(Some(description)).into()
}

impl PartialSchema for GrantType {
    fn schema() -> RefOr<Schema> {
        one_of(GrantType::ALL.map(GrantType::as_str), "An OAuth 2.0 grant type (RFC 6749 §4, §6)")
    }
}

impl ToSchema for GrantType {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("GrantType")
    }
}

impl PartialSchema for ErrorCode {
    fn schema() -> RefOr<Schema> {
        one_of(ErrorCode::ALL.map(ErrorCode::as_str), "An error code (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1)")
    }
}

impl ToSchema for ErrorCode {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

/// A JWK Set (RFC 7517 §5), as `/jwks.json` serves it: the shape of
/// `sessiond_guard::Jwk`, which the key ring serializes.
#[derive(ToSchema)]
#[allow(dead_code)] // Never built: the key ring writes the set as text.
pub struct JwkSet {
    /// The published keys.
    keys: Vec<Jwk>,
}

/// One public key, pinned to one algorithm.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only.
pub struct Jwk {
    /// Key type: `EC`, `OKP` or `RSA`.
    kty: String,
    /// Key id (the RFC 7638 thumbprint), matched against a JWT's `kid`.
    kid: String,
    /// The one algorithm this key is used with: `ES256`, `EdDSA` or `RS256`.
    alg: String,
    /// Always `sig`.
    #[schema(rename = "use")]
    use_: Option<String>,
    /// EC and OKP: the curve (`P-256`, `Ed25519`).
    crv: Option<String>,
    /// EC and OKP: the x coordinate (base64url).
    x: Option<String>,
    /// EC: the y coordinate (base64url).
    y: Option<String>,
    /// RSA: the modulus (base64url).
    n: Option<String>,
    /// RSA: the public exponent (base64url).
    e: Option<String>,
}
