//! `authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5, OpenID Connect
//! Core §3.1.3): a code the browser brought back is exchanged, once, for an
//! access token, an ID token when `openid` was asked for, and a refresh
//! token when the client may refresh — all belonging to the browser's
//! session, so ending the session ends them.
use super::{mint_session_token, require_grant, GrantError, TokenResponse};
use crate::app::App;
use crate::domain::{pkce_matches, AuditEvent, AuditKind, Client, GrantId, GrantType, SignInContext};
use crate::secrets::{self, Secret};
use crate::store::{self, NewRefreshToken, Redemption};
use crate::tokens::{mint_id_token, IdTokenSpec};

/// A parsed code exchange.
#[derive(Debug)]
pub struct CodeRequest {
    /// `code`.
    pub code: Secret,
    /// `redirect_uri`: the one the authorization request used (§4.1.3).
    pub redirect_uri: Option<String>,
    /// `code_verifier` (RFC 7636 §4.5).
    pub code_verifier: Option<String>,
    /// Where the request came from, for the audit trail.
    pub context: SignInContext,
}

const INVALID_CODE: &str = "invalid authorization code";

/// Exchanges a code for tokens.
pub async fn authorization_code(app: &App, client: &Client, req: CodeRequest) -> Result<TokenResponse, GrantError> {
    require_grant(client, GrantType::AuthorizationCode)?;
    let now = app.clock.now();
    let hash = req.code.hash();
    // The checks that need the code's own record come before it is spent:
    // a wrong verifier or redirect URI leaves the code to its rightful
    // holder. (A code already spent or unknown is not found here; the
    // redemption below tells reuse from nonsense.)
    let pending = app.store.code(&hash, now).await?;
    if let Some(code) = &pending {
        if code.client_id != client.id {
            return Err(GrantError::InvalidGrant(INVALID_CODE));
        }
        // §4.1.3: the same redirect_uri as the authorization request.
        if req.redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
            return Err(GrantError::InvalidGrant("redirect_uri does not match the authorization request"));
        }
        match (code.code_challenge.as_deref(), req.code_verifier.as_deref()) {
            (Some(challenge), Some(verifier)) if pkce_matches(challenge, verifier) => {}
            (Some(_), _) => return Err(GrantError::InvalidGrant("code_verifier does not match the code_challenge")),
            // RFC 9700 §2.1.1: a verifier for a code issued without a
            // challenge is refused (a PKCE downgrade).
            (None, Some(_)) => return Err(GrantError::InvalidGrant("the code was issued without a code_challenge")),
            (None, None) => {}
        }
    }
    let grant_id = GrantId::new(secrets::new_id());
    let refresh = client.allows(GrantType::RefreshToken).then(Secret::generate);
    let stored_refresh = refresh.as_ref().map(|r| NewRefreshToken { hash: r.hash(), created_at: now });
    let event = AuditEvent {
        client_id: Some(client.id.to_string()),
        ip: req.context.ip.clone(),
        user_agent: req.context.user_agent.clone(),
        ..AuditEvent::new(AuditKind::CodeExchanged, now)
    };
    let audit = store::audit(move |redemption: &Redemption| match redemption {
        Redemption::Redeemed { session, user, .. } => vec![AuditEvent {
            actor: Some(user.name.clone()),
            user_id: Some(user.id.to_string()),
            user_name: Some(user.name.clone()),
            session_id: Some(session.id.to_string()),
            ..event.clone()
        }],
        Redemption::Reused { .. } => vec![AuditEvent {
            kind: Some(AuditKind::CodeReuse),
            detail: Some("a used authorization code was presented; its session was ended".into()),
            ..event.clone()
        }],
        Redemption::Rejected => Vec::new(),
    });
    let (session, grant, user, nonce) = match app
        .store
        .redeem_code(&hash, &client.id, &grant_id, stored_refresh.as_ref(), now, app.session_policy(), audit)
        .await?
    {
        Redemption::Redeemed { session, grant, user, nonce } => (session, grant, user, nonce),
        Redemption::Reused { revocations } => {
            let ended = revocations.iter().filter(|r| r.kind == sessiond_guard::RevocationKind::Session).count();
            crate::observe::sessions_ended(crate::domain::EndReason::CodeReuse, ended);
            app.apply_revocations(&revocations);
            tracing::warn!(client_id = %client.id, "authorization code reuse; the session it was issued in is ended");
            return Err(GrantError::InvalidGrant(INVALID_CODE));
        }
        Redemption::Rejected => return Err(GrantError::InvalidGrant(INVALID_CODE)),
    };
    let minted = mint_session_token(app, now, &user, &client.id, &grant.scope, &session, &grant.id)?;
    let keys = app.keys();
    let id_token = if grant.scope.contains("openid") {
        let spec = IdTokenSpec {
            subject: user.id.as_str(),
            client_id: &client.id,
            session: &session.id,
            auth_time: session.created_at,
            nonce: nonce.as_deref(),
            access_token: &minted.token,
            expires_at: crate::domain::UnixTime(minted.claims.exp),
        };
        Some(mint_id_token(&keys, now, spec)?)
    } else {
        None
    };
    Ok(TokenResponse {
        expires_in: minted.expires_in(),
        access_token: minted.token,
        token_type: "Bearer",
        refresh_token: refresh,
        scope: grant.scope.to_string(),
        id_token,
    })
}
