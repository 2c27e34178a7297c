//! `password` (RFC 6749 §4.3): for legacy applications that trade a user's
//! name and password for tokens. Opt-in per client. Every successful
//! sign-in creates a session; its tokens name it in `sid`.
use super::{mint_session_token, require_grant, resolve_scope, GrantError, Refusal, TokenResponse};
use crate::app::App;
use crate::domain::{name_hint, AuditEvent, AuditKind, Client, GrantType, SignInContext, User};
use crate::login;
use crate::secrets::Secret;
use crate::sessions::{open_session, OpenError, OpenedSession};

/// A parsed password-grant request.
#[derive(Debug)]
pub struct PasswordRequest {
    /// `username`.
    pub username: String,
    /// `password`.
    pub password: Secret,
    /// `scope`, if given.
    pub scope: Option<String>,
    /// Where the request came from, recorded on the session.
    pub context: SignInContext,
}

/// Checks the user's password, opens a session and issues its tokens.
/// Successes and failures alike go to the audit trail.
pub async fn password(app: &App, client: &Client, req: PasswordRequest) -> Result<TokenResponse, GrantError> {
    require_grant(client, GrantType::Password)?;
    // Before anything is recorded: such a name is nobody's (and may be a
    // flood of junk meant for the audit trail).
    login::check_username_length(&req.username)?;
    let scope = resolve_scope(req.scope.as_deref(), &client.scope)?;
    let event = AuditEvent {
        user_name: Some(req.username.clone()),
        client_id: Some(client.id.to_string()),
        ip: req.context.ip.clone(),
        user_agent: req.context.user_agent.clone(),
        ..AuditEvent::new(AuditKind::SignIn, app.clock.now())
    };
    match sign_in(app, client, &scope, req, event.clone()).await {
        // The sign-in's own event was recorded with its session.
        Ok(response) => Ok(response),
        Err(e) if e.is_backpressure() => Err(e),
        Err(e) => {
            let mut failed = AuditEvent { kind: Some(AuditKind::SignInFailed), detail: Some(e.to_string()), ..event };
            if matches!(e, GrantError::BadCredentials(Refusal::UnknownUser)) {
                // Not a user: possibly a password typed into the name field.
                failed.user_name = failed.user_name.as_deref().map(name_hint);
            }
            app.audit(failed).await;
            Err(e)
        }
    }
}

async fn sign_in(
    app: &App,
    client: &Client,
    scope: &crate::domain::Scope,
    req: PasswordRequest,
    signed_in: AuditEvent,
) -> Result<TokenResponse, GrantError> {
    let user = check_password(app, &req.username, req.password, req.context.ip.as_deref()).await?;

    let opened = open_session(app, &user, client, scope, req.context, signed_in).await.map_err(|e| match e {
        // Disabled since its password was checked: the same answer as any
        // refused sign-in.
        OpenError::UserDisabled => GrantError::BadCredentials(Refusal::Disabled),
        OpenError::LimitReached => GrantError::InvalidGrant("session limit reached"),
        OpenError::ClientRemoved => GrantError::ClientRemoved,
        OpenError::Store(e) => e.into(),
    })?;
    let OpenedSession { session, grant, refresh } = opened;
    let now = session.created_at;
    let minted = mint_session_token(app, now, &user, &client.id, scope, &session, &grant.id)?;
    let response = TokenResponse {
        expires_in: minted.expires_in(),
        access_token: minted.token,
        token_type: "Bearer",
        refresh_token: refresh,
        scope: scope.to_string(),
        id_token: None,
    };
    Ok(response)
}

/// Checks the name and password through the sign-in gate (throttling,
/// bounded hashing; see `login`). An unknown user, a wrong password and a
/// disabled user get one answer, in the same time.
async fn check_password(app: &App, username: &str, password: Secret, ip: Option<&str>) -> Result<User, GrantError> {
    login::check_credentials(app, username, password, ip).await
}
