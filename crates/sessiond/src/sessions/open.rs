//! Opening a session at sign-in: the session record, its first grant and
//! refresh token, under the per-user session limit. Every way of signing in
//! (the password grant today, the browser's code flow next) comes here, so
//! a session is opened one way only.
use super::{record_end, Actor};
use crate::app::App;
use crate::domain::{Client, EndReason, GrantId, GrantType, Scope, Session, SignInContext, User};
use crate::secrets::{self, Secret};
use crate::store::{Grant, NewRefreshToken, NewSignIn, SignInOutcome, StoreError};

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

/// Opens a session for `user` through `client` with `scope`. The user's
/// and client's stored state is checked inside the transaction that creates
/// the session; sessions ended to make room (`end_oldest`) are revoked and
/// audited before this returns.
pub async fn open_session(
    app: &App,
    user: &User,
    client: &Client,
    scope: &Scope,
    context: SignInContext,
) -> Result<OpenedSession, OpenError> {
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
        context,
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
            app.apply_revocations(&ended.revocations);
            let actor = Actor { name: Some(user.name.clone()), ..Actor::default() };
            for s in &ended.sessions {
                record_end(app, &s.session, EndReason::SessionLimit, &actor).await;
            }
        }
        SignInOutcome::LimitReached => return Err(OpenError::LimitReached),
        SignInOutcome::UserDisabled => return Err(OpenError::UserDisabled),
        SignInOutcome::ClientRemoved => return Err(OpenError::ClientRemoved),
    }
    let NewSignIn { session, grant, .. } = sign_in;
    Ok(OpenedSession { session, grant, refresh })
}
