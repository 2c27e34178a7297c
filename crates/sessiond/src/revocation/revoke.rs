//! Token revocation (RFC 7009 §2.1).
use sessiond_guard::RevocationKind;

use super::is_jwt;
use crate::app::App;
use crate::domain::{AuditEvent, AuditKind, Client, UnixTime};
use crate::secrets::sha256;
use crate::sessions::Actor;
use crate::store::{self, NewRevocation, RefreshRevocation, StoreError};

/// What a revocation request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// The token (and what depends on it) is now revoked.
    Revoked,
    /// Nothing to do: unknown, expired or already revoked (still 200, §2.2).
    NothingToDo,
    /// The token was issued to another client; it was not revoked.
    OtherClient,
}

/// Revokes an access token (its `jti`) or a refresh token (its whole grant,
/// with every access token of the grant: §2.1 "SHOULD also invalidate all
/// access tokens based on the same authorization grant"). With `client`,
/// only tokens issued to that client are revoked; without (the CLI), any.
pub async fn revoke(
    app: &App,
    token: &str,
    client: Option<&Client>,
    actor: &Actor,
) -> Result<RevokeOutcome, StoreError> {
    let now = app.clock.now();
    let event = actor.event(app, AuditKind::TokenRevoked);
    if is_jwt(token) {
        return revoke_access_token(app, token, client, now, event).await;
    }
    let client_id = client.map(|c| &c.id);
    let audit = store::audit(move |outcome: &RefreshRevocation| match outcome {
        RefreshRevocation::Revoked { grant, revocations } if !revocations.is_empty() => vec![AuditEvent {
            client_id: Some(grant.client_id.to_string()),
            session_id: Some(grant.session_id.to_string()),
            detail: Some("refresh token; grant revoked".into()),
            ..event.clone()
        }],
        _ => Vec::new(),
    });
    match app.store.revoke_refresh_token(&sha256(token), client_id, now, audit).await? {
        RefreshRevocation::Unknown => Ok(RevokeOutcome::NothingToDo),
        RefreshRevocation::OtherClient => Ok(RevokeOutcome::OtherClient),
        RefreshRevocation::Revoked { revocations, .. } if revocations.is_empty() => Ok(RevokeOutcome::NothingToDo),
        RefreshRevocation::Revoked { revocations, .. } => {
            app.apply_revocations(&revocations);
            Ok(RevokeOutcome::Revoked)
        }
    }
}

async fn revoke_access_token(
    app: &App,
    token: &str,
    client: Option<&Client>,
    now: UnixTime,
    event: AuditEvent,
) -> Result<RevokeOutcome, StoreError> {
    // Not signed by one of our keys: nothing of ours to revoke. Issuer and
    // audience are not checked: a token signed under an earlier setting is
    // still ours to revoke.
    let Ok(claims) = app.validator.inspect_signed(token) else { return Ok(RevokeOutcome::NothingToDo) };
    if client.is_some_and(|c| c.id.as_str() != claims.client_id) {
        return Ok(RevokeOutcome::OtherClient);
    }
    let skew = app.config.clock_skew;
    if UnixTime(claims.exp).plus(skew) <= now || app.validator.is_revoked(&claims) {
        return Ok(RevokeOutcome::NothingToDo);
    }
    let new = NewRevocation {
        kind: RevocationKind::Token,
        subject: claims.jti.clone(),
        cutoff: None,
        // The token's own expiry; validators keep the entry for their leeway
        // beyond it.
        expires_at: UnixTime(claims.exp),
    };
    let revoked = AuditEvent {
        user_id: claims.sid.is_some().then(|| claims.sub.clone()),
        user_name: claims.username.clone(),
        client_id: Some(claims.client_id.clone()),
        session_id: claims.sid.clone(),
        detail: Some(format!("access token {}", claims.jti)),
        ..event
    };
    let revocations = app.store.append_revocations(&[new], now, store::audit(move |_| vec![revoked.clone()])).await?;
    app.apply_revocations(&revocations);
    Ok(RevokeOutcome::Revoked)
}
