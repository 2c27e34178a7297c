//! Records that only the store and the grant flows exchange.
use crate::domain::{ClientId, GrantId, Scope, Session, SessionId, UnixTime, User, UserId};

/// One client inside one session; refresh tokens belong to it.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Grant id (`gid` claim).
    pub id: GrantId,
    /// Its session.
    pub session_id: SessionId,
    /// Its client.
    pub client_id: ClientId,
    /// Scope granted.
    pub scope: Scope,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixTime>,
}

/// A refresh token to store: only its hash.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// SHA-256 of the token.
    pub hash: [u8; 32],
    /// When it was issued.
    pub created_at: UnixTime,
}

/// A new sign-in: session, grant, first refresh token.
#[derive(Debug, Clone)]
pub struct NewSignIn {
    /// The session.
    pub session: Session,
    /// Its first grant.
    pub grant: Grant,
    /// Its first refresh token, if the client may refresh.
    pub refresh: Option<NewRefreshToken>,
}

/// What the session limit made of a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInOutcome {
    /// Signed in; these older sessions were ended to make room.
    Admitted {
        /// Sessions ended with reason `session_limit`.
        ended: Vec<SessionId>,
    },
    /// The user is at the limit and the policy refuses new sign-ins.
    LimitReached,
    /// The user was disabled (or removed) meanwhile.
    UserDisabled,
}

/// Why a refresh token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// No such token.
    Unknown,
    /// Issued to another client (RFC 6749 §6).
    OtherClient,
    /// Its session has ended or timed out.
    SessionNotLive,
    /// Its grant was revoked.
    GrantRevoked,
    /// The user is disabled.
    UserDisabled,
    /// The requested scope exceeds the grant's (RFC 6749 §6).
    ScopeExceeded,
}

/// The result of presenting a refresh token. (Returned once per request, so
/// the size difference between variants does not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Rotation {
    /// The token was consumed and its successor stored.
    Rotated {
        /// The session, with its new last-seen and idle expiry.
        session: Session,
        /// The grant.
        grant: Grant,
        /// The user.
        user: User,
    },
    /// The token had been used before: its session is now ended.
    Reused {
        /// The session that was ended.
        session_id: SessionId,
        /// Its user.
        user_id: UserId,
    },
    /// Not accepted; nothing changed.
    Rejected(RejectReason),
}
