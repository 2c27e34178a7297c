//! Sessions: one sign-in of one user on one device, with its timeouts and the
//! per-user limit on how many may be live at once.
use std::fmt;
use std::time::Duration;

use super::{ClientId, SessionId, UnixTime, UserId};

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The user logged out.
    Logout,
    /// A token of the session was revoked in a way that ends it.
    Revoked,
    /// An administrator ended it.
    Admin,
    /// Idle or absolute timeout.
    Expired,
    /// An already-used refresh token was presented (RFC 9700 §4.14.2).
    RefreshReuse,
    /// An already-redeemed authorization code was presented (RFC 6749
    /// §4.1.2).
    CodeReuse,
    /// The user was disabled.
    UserDisabled,
    /// A newer sign-in pushed it out under the `end_oldest` limit policy.
    SessionLimit,
}

impl EndReason {
    /// Every reason, in a stable order.
    pub const ALL: [EndReason; 8] = [
        Self::Logout,
        Self::Revoked,
        Self::Admin,
        Self::Expired,
        Self::RefreshReuse,
        Self::CodeReuse,
        Self::UserDisabled,
        Self::SessionLimit,
    ];

    /// Storage and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::Revoked => "revoked",
            Self::Admin => "admin",
            Self::Expired => "expired",
            Self::RefreshReuse => "refresh_reuse",
            Self::CodeReuse => "code_reuse",
            Self::UserDisabled => "user_disabled",
            Self::SessionLimit => "session_limit",
        }
    }

    /// Parses a storage name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a sign-in came from, as recorded on the session.
#[derive(Debug, Clone, Default)]
pub struct SignInContext {
    /// The peer address (or the configured forwarded-for header's value).
    pub ip: Option<String>,
    /// The `User-Agent` header, truncated.
    pub user_agent: Option<String>,
}

/// A stored session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The `sid`.
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// The client the user signed in through.
    pub client_id: ClientId,
    /// Sign-in time.
    pub created_at: UnixTime,
    /// Last time a token of the session was issued or refreshed.
    pub last_seen_at: UnixTime,
    /// The session ends if not used before this.
    pub idle_expires_at: UnixTime,
    /// The session ends at this time whatever happens.
    pub absolute_expires_at: UnixTime,
    /// When it ended, if it has.
    pub ended_at: Option<UnixTime>,
    /// Why it ended.
    pub end_reason: Option<EndReason>,
    /// Where the sign-in came from.
    pub context: SignInContext,
}

impl Session {
    /// Whether the session is live at `now`: not ended and within both timeouts.
    pub fn is_live(&self, now: UnixTime) -> bool {
        self.ended_at.is_none() && now < self.idle_expires_at && now < self.absolute_expires_at
    }

    /// The moment the session stops being live unless used again.
    pub fn expires_at(&self) -> UnixTime {
        self.idle_expires_at.min(self.absolute_expires_at)
    }
}

/// What to do when a user already has the maximum number of live sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitPolicy {
    /// Refuse the new sign-in.
    Refuse,
    /// End the oldest live session (reason `session_limit`) and sign in.
    EndOldest,
}

/// The per-user limit on concurrent sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimit {
    /// Most live sessions a user may hold; `None` means no limit.
    pub max: Option<u32>,
    /// What happens at the limit.
    pub policy: LimitPolicy,
}

/// Session lifetimes and limits.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, however much it is used.
    pub absolute_timeout: Duration,
    /// Concurrent session limit.
    pub limit: SessionLimit,
}

impl SessionPolicy {
    /// Timeouts for a session signed in at `now`.
    pub fn expiries_at_sign_in(&self, now: UnixTime) -> (UnixTime, UnixTime) {
        let absolute = now.plus(self.absolute_timeout);
        (now.plus(self.idle_timeout).min(absolute), absolute)
    }

    /// The new idle expiry after the session is used at `now`; never past the
    /// absolute expiry.
    pub fn idle_expiry_after_use(&self, now: UnixTime, absolute: UnixTime) -> UnixTime {
        now.plus(self.idle_timeout).min(absolute)
    }

    /// Given how many live sessions the user holds, what a new sign-in must do.
    pub fn admission(&self, live_sessions: u64) -> Admission {
        match self.limit.max {
            Some(max) if live_sessions >= u64::from(max) => match self.limit.policy {
                LimitPolicy::Refuse => Admission::Refuse,
                LimitPolicy::EndOldest => Admission::EndOldest(live_sessions + 1 - u64::from(max)),
            },
            _ => Admission::Admit,
        }
    }
}

/// The outcome of the session limit for one new sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Sign in.
    Admit,
    /// Refuse the sign-in.
    Refuse,
    /// End this many of the oldest live sessions, then sign in.
    EndOldest(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max: Option<u32>, policy: LimitPolicy) -> SessionPolicy {
        SessionPolicy {
            idle_timeout: Duration::from_secs(100),
            absolute_timeout: Duration::from_secs(1000),
            limit: SessionLimit { max, policy },
        }
    }

    #[test]
    fn idle_expiry_never_passes_absolute() {
        let p = policy(None, LimitPolicy::Refuse);
        let (idle, abs) = p.expiries_at_sign_in(UnixTime(0));
        assert_eq!((idle, abs), (UnixTime(100), UnixTime(1000)));
        assert_eq!(p.idle_expiry_after_use(UnixTime(950), abs), UnixTime(1000));
    }

    #[test]
    fn admission_follows_the_limit() {
        assert_eq!(policy(None, LimitPolicy::Refuse).admission(1_000), Admission::Admit);
        assert_eq!(policy(Some(2), LimitPolicy::Refuse).admission(1), Admission::Admit);
        assert_eq!(policy(Some(2), LimitPolicy::Refuse).admission(2), Admission::Refuse);
        assert_eq!(policy(Some(2), LimitPolicy::EndOldest).admission(2), Admission::EndOldest(1));
        // Lowered limit: end enough to fit the new one.
        assert_eq!(policy(Some(2), LimitPolicy::EndOldest).admission(4), Admission::EndOldest(3));
    }

    #[test]
    fn liveness() {
        let s = Session {
            id: SessionId::new("s"),
            user_id: UserId::new("u"),
            client_id: ClientId::new("c"),
            created_at: UnixTime(0),
            last_seen_at: UnixTime(0),
            idle_expires_at: UnixTime(10),
            absolute_expires_at: UnixTime(20),
            ended_at: None,
            end_reason: None,
            context: SignInContext::default(),
        };
        assert!(s.is_live(UnixTime(9)));
        assert!(!s.is_live(UnixTime(10)));
        let ended = Session { ended_at: Some(UnixTime(1)), ..s };
        assert!(!ended.is_live(UnixTime(2)));
    }

    #[test]
    fn end_reasons_round_trip() {
        for r in EndReason::ALL {
            assert_eq!(EndReason::parse(r.as_str()), Some(r));
        }
    }
}
