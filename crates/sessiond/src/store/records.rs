//! Records that only the store and the grant flows exchange.
use sessiond_guard::{Revocation, RevocationKind};

use crate::domain::{AuditEvent, ClientId, GrantId, Scope, Session, SessionId, UnixTime, User, UserId};

/// The audit events that describe a write, built from its outcome and
/// recorded in the write's own transaction (never as a second write that
/// could be lost while the change stays, or kept while the change is
/// rolled back). It may run more than once (a batch that is rolled back
/// runs its writes again).
pub type Audit<T> = Box<dyn Fn(&T) -> Vec<AuditEvent> + Send + Sync>;

/// Audits a write with what `f` makes of its outcome.
pub fn audit<T>(f: impl Fn(&T) -> Vec<AuditEvent> + Send + Sync + 'static) -> Audit<T> {
    Box::new(f)
}

/// A write that nobody audits (the event, if any, is recorded by another).
pub fn unaudited<T>() -> Audit<T> {
    Box::new(|_| Vec::new())
}

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

/// A back-channel logout to deliver (OpenID Connect Back-Channel Logout
/// 1.0): one per client with a `backchannel_logout_uri` and a grant in a
/// session that ended.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LogoutDelivery {
    /// Its id in the outbox.
    pub id: i64,
    /// The client to tell.
    pub client_id: String,
    /// Where.
    pub uri: String,
    /// The session's user.
    pub user_id: String,
    /// The session that ended.
    pub session_id: String,
    /// When the session ended.
    pub created_at: i64,
    /// When the next attempt is due.
    pub next_attempt_at: i64,
    /// Attempts so far.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<i64>,
    /// When it was given up on.
    pub failed_at: Option<i64>,
}

/// A new sign-in: a session, and either its first grant (an API sign-in,
/// the password grant) or the hash of a browser's SSO cookie (grants then
/// come with each authorization code redeemed in it).
#[derive(Debug, Clone)]
pub struct NewSignIn {
    /// The session.
    pub session: Session,
    /// Its first grant, with its first refresh token if the client may
    /// refresh.
    pub grant: Option<(Grant, Option<NewRefreshToken>)>,
    /// SHA-256 of the browser's SSO cookie.
    pub cookie_hash: Option<[u8; 32]>,
}

/// An authorization code to store: only its hash (RFC 6749 §4.1.2).
#[derive(Debug, Clone)]
pub struct NewCode {
    /// SHA-256 of the code.
    pub hash: [u8; 32],
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The session it was issued in.
    pub session_id: SessionId,
    /// The redirect URI of the request (§4.1.3: must come back unchanged).
    pub redirect_uri: String,
    /// The scope granted.
    pub scope: Scope,
    /// OpenID Connect `nonce`, echoed in the ID token.
    pub nonce: Option<String>,
    /// RFC 7636 S256 challenge.
    pub code_challenge: Option<String>,
    /// When it was issued.
    pub created_at: UnixTime,
    /// When it stops being redeemable.
    pub expires_at: UnixTime,
}

/// A stored authorization code, as read before redeeming it.
#[derive(Debug, Clone)]
pub struct StoredCode {
    /// The client it was issued to.
    pub client_id: ClientId,
    /// Its session.
    pub session_id: SessionId,
    /// The redirect URI of its request.
    pub redirect_uri: String,
    /// The scope granted.
    pub scope: Scope,
    /// `nonce`.
    pub nonce: Option<String>,
    /// S256 challenge.
    pub code_challenge: Option<String>,
}

/// The result of redeeming an authorization code.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Redemption {
    /// The code is spent; a grant was created in its session.
    Redeemed {
        /// The session.
        session: Session,
        /// The new grant.
        grant: Grant,
        /// The user.
        user: User,
        /// The authorization request's `nonce`, for the ID token.
        nonce: Option<String>,
    },
    /// The code was redeemed before: the session it was issued in has ended,
    /// with every token issued from the code (RFC 6749 §4.1.2).
    Reused {
        /// The revocations appended (empty if it was revoked already).
        revocations: Vec<Revocation>,
    },
    /// Not redeemable: unknown, expired, another client's, or its session or
    /// user is no longer live. Nothing changed.
    Rejected,
}

/// What the session limit made of a sign-in.
#[derive(Debug, Clone)]
pub enum SignInOutcome {
    /// Signed in; older sessions may have been ended to make room.
    Admitted {
        /// Sessions ended with reason `session_limit`, and their revocations.
        ended: Ended,
    },
    /// The user is at the limit and the policy refuses new sign-ins.
    LimitReached,
    /// The user was disabled (or removed) meanwhile.
    UserDisabled,
    /// The client was removed meanwhile.
    ClientRemoved,
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
        /// The session's revocation (empty if it had already ended).
        revocations: Vec<Revocation>,
    },
    /// Not accepted; nothing changed.
    Rejected(RejectReason),
}

/// A revocation to append to the log.
#[derive(Debug, Clone)]
pub struct NewRevocation {
    /// What it applies to.
    pub kind: RevocationKind,
    /// The id of that thing.
    pub subject: String,
    /// For user and client cut-offs: tokens issued at or before this die.
    pub cutoff: Option<UnixTime>,
    /// When no token it could affect is valid any more.
    pub expires_at: UnixTime,
}

/// Which sessions to end.
#[derive(Debug, Clone)]
pub enum SessionSelector {
    /// One session.
    One(SessionId),
    /// Every live session of a user, except perhaps one.
    OfUser {
        /// The user.
        user: UserId,
        /// A session to keep (the caller's own).
        except: Option<SessionId>,
    },
}

/// A session that was ended, and who held grants in it.
#[derive(Debug, Clone)]
pub struct EndedSession {
    /// The session, as ended.
    pub session: Session,
    /// Every client with a grant in it (each has a logout to hear of).
    pub clients: Vec<ClientId>,
}

/// Sessions that were ended, and the revocations that record it.
#[derive(Debug, Clone, Default)]
pub struct Ended {
    /// The sessions, as ended.
    pub sessions: Vec<EndedSession>,
    /// Their revocations, with sequence numbers.
    pub revocations: Vec<Revocation>,
}

/// The outcome of revoking a refresh token.
#[derive(Debug, Clone)]
pub enum RefreshRevocation {
    /// No such token.
    Unknown,
    /// Issued to another client; nothing revoked.
    OtherClient,
    /// Its grant is revoked (now, or it already was: then no revocations).
    Revoked {
        /// The grant.
        grant: Grant,
        /// The revocations appended.
        revocations: Vec<Revocation>,
    },
}

/// A refresh token and what it belongs to.
#[derive(Debug, Clone)]
pub struct RefreshTokenInfo {
    /// Its grant.
    pub grant: Grant,
    /// Its session.
    pub session: Session,
    /// Its user.
    pub user: User,
    /// When it was issued.
    pub created_at: UnixTime,
    /// When it stops being usable.
    pub expires_at: UnixTime,
    /// Whether it has been exchanged already.
    pub used: bool,
}

/// How many rows a prune deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneCounts {
    /// Expired revocations.
    pub revocations: u64,
    /// Expired or orphaned refresh tokens.
    pub refresh_tokens: u64,
    /// Ended sessions past retention.
    pub sessions: u64,
    /// Audit events past retention.
    pub audit_events: u64,
}

/// A change announced by another node (PostgreSQL LISTEN/NOTIFY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// New revocation log entries.
    Revocation,
    /// Signing keys changed.
    Keys,
    /// The connection was re-established: announcements may have been lost.
    Resync,
}
