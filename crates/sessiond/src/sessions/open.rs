//! Opening a session at sign-in, under the per-user session limit: by an
//! API grant (the session with its first grant and refresh token) or by a
//! browser (the session with the hash of its SSO cookie). Every way of
//! signing in comes here, so a session is opened one way only.
use super::ended_events;
use crate::app::App;
use crate::domain::{
    AuditEvent, AuditKind, Client, ClientId, EndReason, GrantId, GrantType, Scope, Session, SignInContext, User,
};
use crate::secrets::{self, Secret};
use crate::store::{self, Grant, NewRefreshToken, NewSignIn, SignInOutcome, StoreError};

/// A session that was just opened.
#[derive(Debug)]
pub struct OpenedSession {
    /// The session.
    pub session: Session,
    /// Its first grant, to `client`.
    pub grant: Grant,
    /// Its first refresh token, if the client may refresh.
    pub refresh: Option<Secret>,
}

/// Why a session was not opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The user holds the most sessions allowed and the policy refuses more.
    #[error("session limit reached")]
    LimitReached,
    /// The user was disabled (possibly a moment ago, on another node).
    #[error("user is disabled")]
    UserDisabled,
    /// The client was removed (possibly a moment ago, on another node).
    #[error("client was removed")]
    ClientRemoved,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens a session for `user` through `client` with `scope` (an API
/// sign-in: the password grant), with its first grant and refresh token.
/// The user's and client's stored state is checked inside the transaction
/// that creates the session; sessions ended to make room (`end_oldest`) are
/// revoked before this returns. `signed_in` is the audit event of the
/// sign-in, recorded with the session (the session's ids are added).
pub async fn open_session(
    app: &App,
    user: &User,
    client: &Client,
    scope: &Scope,
    context: SignInContext,
    signed_in: AuditEvent,
) -> Result<OpenedSession, OpenError> {
    let now = app.clock.now();
    let session = new_session(app, user, &client.id, context);
    let grant = Grant {
        id: GrantId::new(secrets::new_id()),
        session_id: session.id.clone(),
        client_id: client.id.clone(),
        scope: scope.clone(),
        created_at: now,
        revoked_at: None,
    };
    let refresh = client.allows(GrantType::RefreshToken).then(Secret::generate);
    let stored_refresh = refresh.as_ref().map(|r| NewRefreshToken { hash: r.hash(), created_at: now });
    let sign_in = NewSignIn { session, grant: Some((grant, stored_refresh)), cookie_hash: None };
    let NewSignIn { session, grant, .. } = admit(app, user, sign_in, signed_in).await?;
    let (grant, _) = grant.ok_or_else(|| OpenError::Store(StoreError::Corrupt("sign-in lost its grant".into())))?;
    Ok(OpenedSession { session, grant, refresh })
}

/// Opens a browser's session: signed in through the login page on behalf of
/// `client` (the application that sent the browser there), identified from
/// now on by the SSO cookie whose hash is `cookie_hash`. Grants come later,
/// one per authorization code redeemed in it. The same checks and session
/// limit as any sign-in.
pub async fn open_browser_session(
    app: &App,
    user: &User,
    client: &ClientId,
    cookie_hash: [u8; 32],
    context: SignInContext,
    signed_in: AuditEvent,
) -> Result<Session, OpenError> {
    let session = new_session(app, user, client, context);
    let sign_in = NewSignIn { session, grant: None, cookie_hash: Some(cookie_hash) };
    Ok(admit(app, user, sign_in, signed_in).await?.session)
}

/// A session for `user` starting now, with the configured timeouts.
fn new_session(app: &App, user: &User, client: &ClientId, context: SignInContext) -> Session {
    let now = app.clock.now();
    let (idle, absolute) = app.session_policy().expiries_at_sign_in(now);
    Session {
        id: secrets::new_session_id(),
        user_id: user.id.clone(),
        client_id: client.clone(),
        created_at: now,
        last_seen_at: now,
        idle_expires_at: idle,
        absolute_expires_at: absolute,
        ended_at: None,
        end_reason: None,
        context,
    }
}

/// Stores the sign-in under the session limit, with its audit event and
/// those of the sessions it ended to make room; revokes those.
async fn admit(app: &App, user: &User, sign_in: NewSignIn, signed_in: AuditEvent) -> Result<NewSignIn, OpenError> {
    let signed_in = AuditEvent {
        kind: Some(AuditKind::SignIn),
        actor: Some(user.name.clone()),
        user_id: Some(user.id.to_string()),
        user_name: Some(user.name.clone()),
        session_id: Some(sign_in.session.id.to_string()),
        ..signed_in
    };
    let audit = store::audit(move |outcome: &SignInOutcome| match outcome {
        SignInOutcome::Admitted { ended } => {
            let mut events = vec![signed_in.clone()];
            events.extend(ended_events(&signed_in, &ended.sessions, EndReason::SessionLimit));
            events
        }
        _ => Vec::new(),
    });
    match app.store.sign_in(&sign_in, app.session_policy(), audit).await? {
        SignInOutcome::Admitted { ended } => {
            crate::observe::session_started();
            crate::observe::sessions_ended(EndReason::SessionLimit, ended.sessions.len());
            app.apply_revocations(&ended.revocations);
            Ok(sign_in)
        }
        SignInOutcome::LimitReached => Err(OpenError::LimitReached),
        SignInOutcome::UserDisabled => Err(OpenError::UserDisabled),
        SignInOutcome::ClientRemoved => Err(OpenError::ClientRemoved),
    }
}
