//! `refresh_token` (RFC 6749 §6) with rotation on every use and reuse
//! detection (RFC 9700 §4.14.2; design invariant 5).
use super::{mint_session_token, require_grant, GrantError, TokenResponse};
use crate::app::App;
use crate::domain::{AuditEvent, AuditKind, Client, GrantType, Scope, SignInContext};
use crate::secrets::Secret;
use crate::store::{self, NewRefreshToken, RejectReason, Rotation};

/// A parsed refresh request.
#[derive(Debug)]
pub struct RefreshRequest {
    /// `refresh_token`.
    pub refresh_token: Secret,
    /// `scope`: at most the originally granted scope.
    pub scope: Option<String>,
    /// Where the request came from, for the audit trail.
    pub context: SignInContext,
}

/// Consumes the refresh token and issues its successor with a new access
/// token. When two requests present the same token at once, exactly one
/// wins; the other is treated as reuse and ends the session — a client must
/// not send a refresh token twice.
pub async fn refresh(app: &App, client: &Client, req: RefreshRequest) -> Result<TokenResponse, GrantError> {
    require_grant(client, GrantType::RefreshToken)?;
    let requested = req
        .scope
        .as_deref()
        .map(Scope::parse)
        .transpose()
        .map_err(|_| GrantError::InvalidRequest("malformed scope".into()))?;
    let now = app.clock.now();
    let next = Secret::generate();
    let event = AuditEvent {
        client_id: Some(client.id.to_string()),
        ip: req.context.ip.clone(),
        user_agent: req.context.user_agent.clone(),
        ..AuditEvent::new(AuditKind::Refresh, now)
    };
    let audit = store::audit(move |rotation: &Rotation| match rotation {
        Rotation::Rotated { session, user, .. } => vec![AuditEvent {
            actor: Some(user.name.clone()),
            user_id: Some(user.id.to_string()),
            user_name: Some(user.name.clone()),
            session_id: Some(session.id.to_string()),
            ..event.clone()
        }],
        Rotation::Reused { session_id, user_id, .. } => vec![AuditEvent {
            kind: Some(AuditKind::RefreshReuse),
            user_id: Some(user_id.to_string()),
            session_id: Some(session_id.to_string()),
            detail: Some("a used refresh token was presented; session ended".into()),
            ..event.clone()
        }],
        Rotation::Rejected(_) => Vec::new(),
    });
    let rotation = app
        .store
        .rotate_refresh_token(
            &req.refresh_token.hash(),
            &client.id,
            requested.as_ref(),
            &NewRefreshToken { hash: next.hash(), created_at: now },
            now,
            app.session_policy(),
            audit,
        )
        .await?;
    let (session, grant, user) = match rotation {
        Rotation::Rotated { session, grant, user } => (session, grant, user),
        Rotation::Reused { session_id, user_id, revocations } => {
            crate::observe::sessions_ended(crate::domain::EndReason::RefreshReuse, 1);
            app.apply_revocations(&revocations);
            tracing::warn!(sid = %session_id, user_id = %user_id, client_id = %client.id,
                "refresh token reuse detected; session ended");
            return Err(GrantError::InvalidGrant("refresh token was already used; the session has been ended"));
        }
        Rotation::Rejected(RejectReason::ScopeExceeded) => return Err(GrantError::InvalidScope),
        Rotation::Rejected(reason) => return Err(GrantError::InvalidGrant(describe(reason))),
    };
    // §6: the new access token may have a narrower scope, never a wider one
    // (the store has checked the subset).
    let scope = requested.unwrap_or_else(|| grant.scope.clone());
    let minted = mint_session_token(app, now, &user, &client.id, &scope, &session, &grant.id)?;
    Ok(TokenResponse {
        expires_in: minted.expires_in(),
        access_token: minted.token,
        token_type: "Bearer",
        refresh_token: Some(next),
        scope: scope.to_string(),
        // OpenID Connect Core §12.2: a refresh answer may omit it; only the
        // code exchange, which authenticates the user, issues one.
        id_token: None,
    })
}

fn describe(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::Unknown | RejectReason::OtherClient => "invalid refresh token",
        RejectReason::SessionNotLive => "the session has ended or expired",
        RejectReason::GrantRevoked => "the grant has been revoked",
        RejectReason::UserDisabled => "user is disabled",
        RejectReason::ScopeExceeded => "requested scope exceeds the grant",
    }
}
