//! The one rule for whether a refresh token may be used, shared by rotation
//! (the token endpoint) and introspection, so the two can never disagree.
use super::{Session, UnixTime};

/// What is known of a refresh token and what it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct RefreshFacts<'a> {
    /// It was exchanged before (by another request).
    pub used: bool,
    /// When it stops being usable.
    pub expires_at: UnixTime,
    /// Its grant was revoked (RFC 7009, a removed client, an ended session).
    pub grant_revoked: bool,
    /// Its session.
    pub session: &'a Session,
    /// Its user may sign in.
    pub user_enabled: bool,
}

/// Whether a refresh token may be used, or why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshState {
    /// It may be exchanged for its successor.
    Usable,
    /// It was used before: presenting it again is reuse (RFC 9700 §4.14.2).
    Used,
    /// Its own lifetime has passed.
    Expired,
    /// Its grant was revoked.
    GrantRevoked,
    /// Its session has ended or timed out.
    SessionNotLive,
    /// Its user is disabled.
    UserDisabled,
}

impl RefreshFacts<'_> {
    /// The token's state at `now`. Reuse is reported before anything else,
    /// so a stolen token replayed after its session ended is still seen as
    /// the reuse it is.
    pub fn state(&self, now: UnixTime) -> RefreshState {
        if self.used {
            RefreshState::Used
        } else if self.expires_at <= now {
            RefreshState::Expired
        } else if self.grant_revoked {
            RefreshState::GrantRevoked
        } else if !self.session.is_live(now) {
            RefreshState::SessionNotLive
        } else if !self.user_enabled {
            RefreshState::UserDisabled
        } else {
            RefreshState::Usable
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientId, SessionId, SignInContext, UserId};

    fn session(ended: bool) -> Session {
        Session {
            id: SessionId::new("s"),
            user_id: UserId::new("u"),
            client_id: ClientId::new("c"),
            created_at: UnixTime(0),
            last_seen_at: UnixTime(0),
            idle_expires_at: UnixTime(100),
            absolute_expires_at: UnixTime(200),
            ended_at: ended.then_some(UnixTime(5)),
            end_reason: None,
            context: SignInContext::default(),
        }
    }

    #[test]
    fn each_condition_is_checked_and_reuse_comes_first() {
        let live = session(false);
        let ended = session(true);
        let facts = |used, exp, revoked, s, enabled| RefreshFacts {
            used,
            expires_at: UnixTime(exp),
            grant_revoked: revoked,
            session: s,
            user_enabled: enabled,
        };
        let now = UnixTime(10);
        assert_eq!(facts(false, 50, false, &live, true).state(now), RefreshState::Usable);
        assert_eq!(facts(true, 5, true, &ended, false).state(now), RefreshState::Used);
        assert_eq!(facts(false, 10, false, &live, true).state(now), RefreshState::Expired);
        assert_eq!(facts(false, 50, true, &live, true).state(now), RefreshState::GrantRevoked);
        assert_eq!(facts(false, 50, false, &ended, true).state(now), RefreshState::SessionNotLive);
        assert_eq!(facts(false, 50, false, &live, false).state(now), RefreshState::UserDisabled);
        assert_eq!(facts(false, 500, false, &live, true).state(UnixTime(100)), RefreshState::SessionNotLive);
    }
}
