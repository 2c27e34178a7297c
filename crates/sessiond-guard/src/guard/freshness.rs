//! How long ago the guard last confirmed its revocation index current,
//! and what that means for a request.
//!
//! The index is confirmed current by a successful snapshot, by every
//! event of the stream (events come in log order as sessiond reads its
//! log, so one arriving means nothing before it is missing) and by every
//! heartbeat (the stream is alive and had nothing to send). Past the
//! staleness bound without any of those, a revocation may have happened
//! that the guard has not heard of, and it says so rather than guess.
//!
//! Time here is the monotonic [`Instant`]: it is about this process, not
//! about token lifetimes, and must not jump with the wall clock.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::config::StalePolicy;

/// When the index was last confirmed current.
#[derive(Debug)]
pub(crate) struct Freshness {
    origin: Instant,
    /// Nanoseconds after `origin` of the last confirmation, plus one; 0
    /// for never. Only ever moves forward.
    confirmed: AtomicU64,
}

impl Freshness {
    /// Never confirmed; times are measured from `origin`.
    pub(crate) fn new(origin: Instant) -> Self {
        Self { origin, confirmed: AtomicU64::new(0) }
    }

    /// The index was current at `at`.
    pub(crate) fn confirm(&self, at: Instant) {
        let nanos = at.saturating_duration_since(self.origin).as_nanos();
        let mark = u64::try_from(nanos).unwrap_or(u64::MAX - 1).saturating_add(1);
        // A confirmation that arrives late never moves the mark back.
        self.confirmed.fetch_max(mark, Ordering::AcqRel);
    }

    /// How long before `now` the last confirmation was; `None` if never.
    pub(crate) fn age(&self, now: Instant) -> Option<Duration> {
        match self.confirmed.load(Ordering::Acquire) {
            0 => None,
            mark => {
                let at = self.origin + Duration::from_nanos(mark - 1);
                Some(now.saturating_duration_since(at))
            }
        }
    }

    /// Whether the index was confirmed current within `bound` of `now`.
    pub(crate) fn is_current(&self, now: Instant, bound: Duration) -> bool {
        self.age(now).is_some_and(|age| age <= bound)
    }
}

/// What a request meets, given whether the index is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Validate the token.
    Validate,
    /// Answer 503: the guard cannot vouch for any token now.
    Unavailable,
}

/// The staleness rule: a current index validates; a stale one fails
/// closed unless the policy says to validate anyway.
pub(crate) fn admission(current: bool, policy: StalePolicy) -> Admission {
    match (current, policy) {
        (true, _) | (false, StalePolicy::FailOpen) => Admission::Validate,
        (false, StalePolicy::FailClosed) => Admission::Unavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUND: Duration = Duration::from_secs(10);

    #[test]
    fn never_confirmed_is_not_current() {
        let t0 = Instant::now();
        let f = Freshness::new(t0);
        assert_eq!(f.age(t0), None);
        assert!(!f.is_current(t0, BOUND));
        assert!(!f.is_current(t0 + Duration::from_secs(1), BOUND));
    }

    #[test]
    fn current_up_to_the_bound_and_stale_after_it() {
        let t0 = Instant::now();
        let f = Freshness::new(t0);
        f.confirm(t0);
        assert!(f.is_current(t0, BOUND), "confirmed at the origin itself");
        let confirmed = t0 + Duration::from_secs(3);
        f.confirm(confirmed);
        assert!(f.is_current(confirmed + BOUND, BOUND));
        assert!(!f.is_current(confirmed + BOUND + Duration::from_millis(1), BOUND));
        assert_eq!(f.age(confirmed + Duration::from_secs(4)), Some(Duration::from_secs(4)));
    }

    #[test]
    fn a_late_confirmation_never_moves_the_mark_back() {
        let t0 = Instant::now();
        let f = Freshness::new(t0);
        f.confirm(t0 + Duration::from_secs(5));
        f.confirm(t0 + Duration::from_secs(1));
        assert_eq!(f.age(t0 + Duration::from_secs(6)), Some(Duration::from_secs(1)));
        // Before the origin counts as the origin, not as never.
        f.confirm(t0.checked_sub(Duration::from_secs(1)).unwrap_or(t0));
        assert!(f.age(t0).is_some());
    }

    #[test]
    fn a_heartbeat_keeps_a_quiet_index_current() {
        // sessiond beats every 5 s; a bound of 10 s outlives one lost beat.
        let t0 = Instant::now();
        let f = Freshness::new(t0);
        f.confirm(t0);
        for beat in 1..=10 {
            let at = t0 + Duration::from_secs(5 * beat);
            assert!(f.is_current(at, BOUND), "beat {beat}");
            f.confirm(at);
        }
        assert!(!f.is_current(t0 + Duration::from_secs(61), BOUND), "beats stopped at 50 s");
    }

    #[test]
    fn stale_fails_closed_unless_configured_open() {
        assert_eq!(admission(true, StalePolicy::FailClosed), Admission::Validate);
        assert_eq!(admission(true, StalePolicy::FailOpen), Admission::Validate);
        assert_eq!(admission(false, StalePolicy::FailClosed), Admission::Unavailable);
        assert_eq!(admission(false, StalePolicy::FailOpen), Admission::Validate);
        assert_eq!(StalePolicy::default(), StalePolicy::FailClosed);
    }
}
