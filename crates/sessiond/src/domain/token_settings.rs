//! The settings that define tokens, shared through the store by every
//! process that issues or checks them, and the rule that says how long a
//! revocation must be kept so that it never lapses before a token it covers.
use std::time::Duration;

use sessiond_guard::SigningAlgorithm;

use super::UnixTime;

/// What a token's text depends on. `serve` records the ones it issues
/// with; management commands use the recorded ones, so the command line
/// and the server never disagree about what a valid token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// `iss` of every token.
    pub issuer: String,
    /// `aud` of access tokens.
    pub audience: String,
    /// Access-token lifetime.
    pub access_token_ttl: Duration,
    /// Clock skew tolerated by validators.
    pub clock_skew: Duration,
    /// Algorithm of newly generated signing keys.
    pub signing_alg: SigningAlgorithm,
}

/// How far tokens issued on this store can reach: the longest access-token
/// lifetime and the largest clock skew any process has ever used. Both are
/// durable and only grow (a process records its own before it issues a
/// token), so a bound computed from them holds whoever computes it and
/// whatever the configuration says later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBounds {
    /// Longest access-token lifetime ever configured.
    pub max_ttl: Duration,
    /// Largest clock skew ever tolerated.
    pub max_skew: Duration,
}

/// Tolerated difference between the clocks of the processes sharing a
/// store, and between a request reading the clock and its token being
/// minted. It is also the longest a node may go without confirming that its
/// revocation index is current (`max_revocation_lag` is capped below it),
/// so a node that has not yet heard of a revocation cannot mint a token the
/// revocation's entry does not outlive.
pub const RACE_MARGIN: Duration = Duration::from_secs(60);

impl TokenBounds {
    /// The latest `exp` of any access token issued at or before `at`: its
    /// lifetime is at most `max_ttl`.
    pub fn latest_exp_issued_by(&self, at: UnixTime) -> UnixTime {
        at.plus(self.max_ttl).plus(RACE_MARGIN)
    }

    /// Until when the entry that revokes a session (or a grant inside it),
    /// written at `now`, must live. Every token of a session is minted with
    /// `exp` capped at the session's expiry, which never passes its
    /// absolute expiry; and none outlives `latest_exp_issued_by(now)`.
    /// Whichever comes first bounds them all.
    pub fn session_entry_expiry(&self, now: UnixTime, absolute_expires_at: UnixTime) -> UnixTime {
        absolute_expires_at.min(self.latest_exp_issued_by(now))
    }

    /// A revocation row whose entry expires at or before the returned time
    /// may be deleted at `now`: no validator, whatever its leeway, still
    /// accepts a token it covers.
    pub fn prunable_before(&self, now: UnixTime) -> UnixTime {
        now.minus(self.max_skew)
    }

    /// When a retired signing key may stop being published: every token it
    /// signed has expired for every validator.
    pub fn retired_key_publish_until(&self, now: UnixTime) -> UnixTime {
        now.plus(self.max_ttl).plus(self.max_skew)
    }
}

/// A cut-off time that revokes every token, whenever issued: for a removed
/// client, whose id is never reused.
pub const CUTOFF_ALL: UnixTime = UnixTime(i64::MAX);

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(ttl: u64, skew: u64) -> TokenBounds {
        TokenBounds { max_ttl: Duration::from_secs(ttl), max_skew: Duration::from_secs(skew) }
    }

    #[test]
    fn a_session_entry_outlives_every_token_of_the_session() {
        let b = bounds(1800, 0);
        // A session far from its absolute expiry: the lifetime bound wins.
        assert_eq!(b.session_entry_expiry(UnixTime(1000), UnixTime(1_000_000)), UnixTime(1000 + 1800 + 60));
        // A session about to end: no token of it outlives its absolute expiry.
        assert_eq!(b.session_entry_expiry(UnixTime(1000), UnixTime(1500)), UnixTime(1500));
    }

    #[test]
    fn rows_are_kept_for_the_largest_skew() {
        let b = bounds(300, 30);
        assert_eq!(b.prunable_before(UnixTime(1000)), UnixTime(970));
        assert_eq!(b.retired_key_publish_until(UnixTime(1000)), UnixTime(1330));
    }
}
