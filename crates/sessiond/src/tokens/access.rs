//! Minting access tokens: JWTs in the RFC 9068 profile.
use std::time::Duration;

use sessiond_guard::{AccessClaims, ACCESS_TOKEN_TYPE};

use super::{jws, KeyRing, SigningKeyError};
use crate::domain::{ClientId, GrantId, Scope, SessionId, UnixTime};
use crate::secrets;

/// What an access token is for.
#[derive(Debug, Clone, Copy)]
pub struct AccessTokenSpec<'a> {
    /// `sub`: the user's id, or the client id for `client_credentials`
    /// (RFC 9068 §2.2).
    pub subject: &'a str,
    /// The client it is issued to.
    pub client_id: &'a ClientId,
    /// Granted scope.
    pub scope: &'a Scope,
    /// The session and grant it belongs to; `None` only for
    /// `client_credentials` (design invariant 1).
    pub session: Option<(&'a SessionId, &'a GrantId)>,
    /// The user's name, for introspection's `username`.
    pub username: Option<&'a str>,
    /// Lifetime.
    pub ttl: Duration,
    /// The token expires no later than this: its session's expiry, so that
    /// checking `exp` enforces the session's idle and absolute timeouts on
    /// every validation without a look-up.
    pub not_after: Option<UnixTime>,
}

impl MintedAccessToken {
    /// Seconds until it expires, for `expires_in`.
    pub fn expires_in(&self) -> u64 {
        u64::try_from(self.claims.exp - self.claims.iat).unwrap_or(0)
    }
}

/// A minted token and its claims.
#[derive(Debug, Clone)]
pub struct MintedAccessToken {
    /// The compact JWS.
    pub token: String,
    /// What it says.
    pub claims: AccessClaims,
}

/// Signs a new access token with the ring's current key.
pub fn mint_access_token(
    ring: &KeyRing,
    now: UnixTime,
    spec: AccessTokenSpec<'_>,
) -> Result<MintedAccessToken, SigningKeyError> {
    let audience = ring.audience();
    let claims = AccessClaims {
        iss: audience.issuer.clone(),
        sub: spec.subject.to_owned(),
        aud: audience.audience.clone(),
        exp: spec.not_after.map_or(now.plus(spec.ttl), |limit| now.plus(spec.ttl).min(limit)).0,
        iat: now.0,
        jti: secrets::new_id(),
        client_id: spec.client_id.to_string(),
        scope: (!spec.scope.is_empty()).then(|| spec.scope.to_string()),
        sid: spec.session.map(|(sid, _)| sid.to_string()),
        gid: spec.session.map(|(_, gid)| gid.to_string()),
        username: spec.username.map(str::to_owned),
    };
    let token = jws::encode(ring.signing_key(), ACCESS_TOKEN_TYPE, &claims)?;
    Ok(MintedAccessToken { token, claims })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::KeyId;
    use crate::tokens::{generate_key, StoredKey, TokenAudience};
    use sessiond_guard::{SigningAlgorithm, VerifyError};

    fn ring(alg: SigningAlgorithm) -> KeyRing {
        let g = generate_key(alg).unwrap();
        let key = StoredKey {
            kid: KeyId::new(g.jwk.kid.clone()),
            alg,
            private_der: g.private_der,
            jwk: g.jwk,
            created_at: UnixTime(0),
            retired_at: None,
            publish_until: None,
        };
        let audience =
            TokenAudience { issuer: "https://id".into(), audience: "https://api".into(), leeway: Duration::ZERO };
        KeyRing::build(&[key], UnixTime(0), audience).unwrap()
    }

    #[test]
    fn minted_tokens_verify_with_the_guard_for_every_algorithm() {
        for alg in [SigningAlgorithm::ES256, SigningAlgorithm::EdDSA, SigningAlgorithm::RS256] {
            let ring = ring(alg);
            let client = ClientId::new("c1");
            let scope = Scope::parse("api:read").unwrap();
            let (sid, gid) = (SessionId::new("s1"), GrantId::new("g1"));
            let spec = AccessTokenSpec {
                subject: "u1",
                client_id: &client,
                scope: &scope,
                session: Some((&sid, &gid)),
                username: Some("alice"),
                ttl: Duration::from_secs(300),
                not_after: None,
            };
            let minted = mint_access_token(&ring, UnixTime(1_000), spec).unwrap();
            let claims = ring.verifier().verify(&minted.token, 1_000).unwrap();
            assert_eq!(claims, minted.claims);
            assert_eq!(claims.sid.as_deref(), Some("s1"));
            assert_eq!(claims.exp, 1_300);
            assert_eq!(ring.verifier().verify(&minted.token, 1_300), Err(VerifyError::Expired));
            let capped =
                mint_access_token(&ring, UnixTime(1_000), AccessTokenSpec { not_after: Some(UnixTime(1_100)), ..spec });
            assert_eq!(capped.unwrap().claims.exp, 1_100, "never outlives its session");
        }
    }
}
