//! `password` (RFC 6749 §4.3): for legacy applications that trade a user's
//! name and password for tokens. Opt-in per client. Every successful
//! sign-in creates a session; its tokens name it in `sid`.
use super::{require_grant, resolve_scope, GrantError, TokenResponse};
use crate::app::App;
use crate::domain::{Client, GrantId, GrantType, Session, SignInContext, User};
use crate::secrets::{self, Secret};
use crate::store::{Grant, NewRefreshToken, NewSignIn, SignInOutcome};
use crate::tokens::{mint_access_token, AccessTokenSpec};

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

const BAD_CREDENTIALS: &str = "invalid username or password";

/// Checks the user's password, opens a session and issues its tokens.
pub async fn password(app: &App, client: &Client, req: PasswordRequest) -> Result<TokenResponse, GrantError> {
    require_grant(client, GrantType::Password)?;
    let scope = resolve_scope(req.scope.as_deref(), &client.scope)?;
    let user = check_password(app, &req.username, req.password).await?;
    if !user.is_enabled() {
        return Err(GrantError::InvalidGrant("user is disabled"));
    }

    let now = app.clock.now();
    let policy = app.session_policy();
    let (idle, absolute) = policy.expiries_at_sign_in(now);
    let session = Session {
        id: secrets::new_session_id(),
        user_id: user.id.clone(),
        client_id: client.id.clone(),
        created_at: now,
        last_seen_at: now,
        idle_expires_at: idle,
        absolute_expires_at: absolute,
        ended_at: None,
        end_reason: None,
        context: req.context,
    };
    let grant = Grant {
        id: GrantId::new(secrets::new_id()),
        session_id: session.id.clone(),
        client_id: client.id.clone(),
        scope: scope.clone(),
        created_at: now,
        revoked_at: None,
    };
    let refresh = client.allows(GrantType::RefreshToken).then(Secret::generate);
    let sign_in = NewSignIn {
        session,
        grant,
        refresh: refresh.as_ref().map(|r| NewRefreshToken { hash: r.hash(), created_at: now }),
    };
    match app.store.sign_in(&sign_in, policy).await? {
        SignInOutcome::Admitted { ended } => {
            for sid in &ended {
                tracing::info!(user = %user.name, sid = %sid, "session ended by the session limit");
            }
        }
        SignInOutcome::LimitReached => return Err(GrantError::InvalidGrant("session limit reached")),
        SignInOutcome::UserDisabled => return Err(GrantError::InvalidGrant("user is disabled")),
    }

    let ttl = app.config.access_token_ttl;
    let spec = AccessTokenSpec {
        subject: user.id.as_str(),
        client_id: &client.id,
        scope: &scope,
        session: Some((&sign_in.session.id, &sign_in.grant.id)),
        ttl,
    };
    let minted = mint_access_token(&app.keys(), now, spec)?;
    Ok(TokenResponse {
        access_token: minted.token,
        token_type: "Bearer",
        expires_in: ttl.as_secs(),
        refresh_token: refresh,
        scope: scope.to_string(),
    })
}

/// Verifies the password off the async runtime (Argon2id takes tens of
/// milliseconds by design). An unknown user costs the same time as a wrong
/// password, so timing does not tell which names exist.
async fn check_password(app: &App, username: &str, password: Secret) -> Result<User, GrantError> {
    let user = app.store.user_by_name(username).await?;
    let hasher = app.hasher.clone();
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || match stored {
        Some(hash) => hasher.verify(password.expose(), &hash),
        None => hasher.verify_decoy(password.expose()),
    })
    .await
    .map_err(|e| GrantError::Internal(e.to_string()))?;
    match user {
        Some(user) if ok => Ok(user),
        _ => Err(GrantError::InvalidGrant(BAD_CREDENTIALS)),
    }
}
