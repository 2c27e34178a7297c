//! Token introspection (RFC 7662 §2.2).
use std::sync::Arc;

use serde::Serialize;
use sessiond_guard::{AccessClaims, RevocationKind};

use super::is_jwt;
use crate::app::App;
use crate::domain::{Client, RefreshFacts, RefreshState};
use crate::secrets::sha256;
use crate::store::StoreError;

/// An introspection response: for a live token its metadata, otherwise only
/// `{"active": false}` (§2.2: nothing else may be said of an inactive token).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Introspection {
    /// Whether the token is currently usable.
    pub active: bool,
    /// Space-separated scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client it was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The user's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// Expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Session id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl Introspection {
    /// `{"active": false}`.
    pub fn inactive() -> Self {
        Self::default()
    }
}

/// What introspection answers: a live access token's claims (serialized
/// straight from them), or an owned body (refresh tokens, inactive).
#[derive(Debug, Clone)]
pub enum Answer {
    /// A live access token.
    Access(Arc<AccessClaims>),
    /// Anything else (boxed: the rarer, larger answer).
    Other(Box<Introspection>),
}

impl Serialize for Answer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Access(claims) => ActiveAccessToken::new(claims).serialize(s),
            Self::Other(i) => i.serialize(s),
        }
    }
}

/// The RFC 7662 body of a live access token, serialized straight from its
/// claims (the hot path of introspection: no copies).
#[derive(Serialize)]
struct ActiveAccessToken<'a> {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    token_type: &'static str,
    exp: i64,
    iat: i64,
    sub: &'a str,
    aud: &'a str,
    iss: &'a str,
    jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
}

impl<'a> ActiveAccessToken<'a> {
    fn new(c: &'a AccessClaims) -> Self {
        Self {
            active: true,
            scope: c.scope.as_deref(),
            client_id: &c.client_id,
            username: c.username.as_deref(),
            token_type: "Bearer",
            exp: c.exp,
            iat: c.iat,
            sub: &c.sub,
            aud: &c.aud,
            iss: &c.iss,
            jti: &c.jti,
            sid: c.sid.as_deref(),
        }
    }
}

/// Who asks: any client may learn of its own tokens; only a resource
/// server may learn of tokens issued to other clients (RFC 7662 §4: the
/// endpoint must not let a client scan tokens it has no business with).
#[derive(Debug, Clone, Copy)]
pub enum Asker<'a> {
    /// The command line, on the server's own data: any token.
    Operator,
    /// An authenticated client.
    Client(&'a Client),
}

impl Asker<'_> {
    fn may_see(&self, issued_to: &str) -> bool {
        match self {
            Self::Operator => true,
            Self::Client(c) => c.resource_server || c.id.as_str() == issued_to,
        }
    }
}

/// Introspects any token. Access tokens are answered from memory alone
/// (signature or the verified-token cache, lifetime, revocation index);
/// refresh tokens, which are opaque, are looked up by hash. A token the
/// asker may not see is answered as inactive.
pub async fn introspect(app: &App, token: &str, asker: Asker<'_>) -> Result<Answer, StoreError> {
    if is_jwt(token) {
        return Ok(match app.validator.validate(token, app.clock.now().0) {
            Ok(claims) if asker.may_see(&claims.client_id) => Answer::Access(claims),
            _ => Answer::Other(Box::new(Introspection::inactive())),
        });
    }
    refresh_token(app, token, asker).await.map(|i| Answer::Other(Box::new(i)))
}

async fn refresh_token(app: &App, token: &str, asker: Asker<'_>) -> Result<Introspection, StoreError> {
    let Some(info) = app.store.refresh_token_info(&sha256(token)).await? else {
        return Ok(Introspection::inactive());
    };
    if !asker.may_see(info.grant.client_id.as_str()) {
        return Ok(Introspection::inactive());
    }
    let now = app.clock.now();
    let session_revoked = app.validator.is_id_revoked(RevocationKind::Session, info.session.id.as_str())
        || app.validator.is_id_revoked(RevocationKind::Grant, info.grant.id.as_str());
    let facts = RefreshFacts {
        used: info.used,
        expires_at: info.expires_at,
        grant_revoked: info.grant.revoked_at.is_some(),
        session: &info.session,
        user_enabled: info.user.is_enabled(),
    };
    // The same rule the token endpoint applies, plus the index (which may
    // know of an ending another node has not yet written back here).
    if facts.state(now) != RefreshState::Usable || session_revoked {
        return Ok(Introspection::inactive());
    }
    Ok(Introspection {
        active: true,
        scope: Some(info.grant.scope.to_string()).filter(|s| !s.is_empty()),
        client_id: Some(info.grant.client_id.to_string()),
        username: Some(info.user.name.clone()),
        token_type: Some("refresh_token"),
        exp: Some(info.expires_at.min(info.session.expires_at()).0),
        iat: Some(info.created_at.0),
        sub: Some(info.user.id.to_string()),
        aud: None,
        iss: Some(app.config.issuer.clone()),
        jti: None,
        sid: Some(info.session.id.to_string()),
    })
}
