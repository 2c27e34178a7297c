//! How often a password may be tried: per client IP and per account, each a
//! keyed GCRA limiter (`governor`) with a per-minute quota, checked before
//! the user is looked up and before any hashing.
//!
//! NIST SP 800-63B §5.2.2 asks verifiers to rate-limit failed attempts on
//! an account; the per-IP limiter also stops one address spraying many
//! names. Order matters: the IP is checked first, so requests it refuses
//! never reach — and never add keys to — the account limiter. Every attempt
//! counts, success or not (a legitimate user rarely signs in ten times a
//! minute), and unknown names are throttled exactly like real ones, so a
//! 429 reveals nothing about which accounts exist.
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Characters of a name that count for its key; longer names are refused
/// before they get here, this only bounds the hashing.
const MAX_KEY_CHARS: usize = 256;

/// A refused attempt: how long until one would be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// How long until the next attempt would be allowed (`Retry-After`).
    pub retry_after: Duration,
}

/// The two limiters; either may be off (a quota of 0).
pub struct Throttle {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_account: Option<DefaultKeyedRateLimiter<u64>>,
    /// Randomly keyed per process, so nobody can pick a name that shares a
    /// victim's key.
    account_keys: std::hash::RandomState,
}

impl Throttle {
    /// Limiters allowing `per_account` and `per_ip` attempts a minute (as a
    /// burst, then one every `60 s / n`); 0 turns one off.
    pub fn new(per_account: u32, per_ip: u32) -> Self {
        Self { per_ip: limiter(per_ip), per_account: limiter(per_account), account_keys: Default::default() }
    }

    /// Counts one password attempt for `name` from `ip`, or refuses it.
    pub fn check(&self, ip: Option<IpAddr>, name: &str) -> Result<(), Throttled> {
        if let (Some(limiter), Some(ip)) = (&self.per_ip, ip) {
            limiter.check_key(&ip_key(ip)).map_err(|n| throttled(n.wait_time_from(limiter.clock().now())))?;
        }
        if let Some(limiter) = &self.per_account {
            let key = self.account_key(name);
            limiter.check_key(&key).map_err(|n| throttled(n.wait_time_from(limiter.clock().now())))?;
        }
        Ok(())
    }

    /// Forgets keys whose state is back to fresh (no attempt within the
    /// last quota period), so memory follows recent traffic, not uptime.
    pub fn prune(&self) {
        if let Some(limiter) = &self.per_ip {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.per_account {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// How many keys the limiters hold (IP, account).
    pub fn len(&self) -> (usize, usize) {
        (self.per_ip.as_ref().map_or(0, |l| l.len()), self.per_account.as_ref().map_or(0, |l| l.len()))
    }

    /// A small fixed-size key for a name: a keyed hash of its lower-cased
    /// characters, so `Alice` and `alice` share a budget and a long name
    /// costs no more memory than a short one.
    fn account_key(&self, name: &str) -> u64 {
        let mut h = self.account_keys.build_hasher();
        for c in name.chars().take(MAX_KEY_CHARS).flat_map(char::to_lowercase) {
            h.write_u32(u32::from(c));
        }
        h.finish()
    }
}

/// A limiter allowing `n` a minute, or none for 0.
fn limiter<K: std::hash::Hash + Eq + Clone>(n: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(n).map(|n| RateLimiter::dashmap(Quota::per_minute(n)))
}

/// IPv4 addresses count one by one; IPv6 ones by /64, the block a single
/// subscriber is usually given (RFC 6177), which would otherwise hand one
/// attacker 2^64 fresh budgets.
fn ip_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

fn throttled(wait: Duration) -> Throttled {
    Throttled { retry_after: wait }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_ip_limiter_counts_every_name_and_spares_other_addresses() {
        let t = Throttle::new(0, 3);
        for name in ["a", "b", "c"] {
            assert!(t.check(ip("192.0.2.1"), name).is_ok());
        }
        let refused = t.check(ip("192.0.2.1"), "d").unwrap_err();
        assert!(refused.retry_after >= Duration::from_secs(1));
        assert!(t.check(ip("192.0.2.2"), "d").is_ok());
        assert!(t.check(None, "d").is_ok(), "no address, no IP limit");
    }

    #[test]
    fn the_account_limiter_ignores_case_and_spares_other_names() {
        let t = Throttle::new(2, 0);
        assert!(t.check(ip("192.0.2.1"), "alice").is_ok());
        assert!(t.check(ip("192.0.2.2"), "ALICE").is_ok());
        assert!(t.check(ip("192.0.2.3"), "Alice").is_err());
        assert!(t.check(ip("192.0.2.3"), "bob").is_ok());
    }

    #[test]
    fn a_refused_ip_never_reaches_the_account_limiter() {
        let t = Throttle::new(1000, 1);
        assert!(t.check(ip("192.0.2.1"), "n0").is_ok());
        for i in 1..100 {
            assert!(t.check(ip("192.0.2.1"), &format!("n{i}")).is_err());
        }
        assert_eq!(t.len(), (1, 1), "only the admitted attempt left an account key");
    }

    #[test]
    fn ipv6_counts_by_64_bit_prefix() {
        assert_eq!(ip_key("2001:db8:1:2:aaaa::1".parse().unwrap()), ip_key("2001:db8:1:2:bbbb::2".parse().unwrap()));
        assert_ne!(ip_key("2001:db8:1:2::1".parse().unwrap()), ip_key("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(ip_key("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn off_means_off() {
        let t = Throttle::new(0, 0);
        for _ in 0..1000 {
            assert!(t.check(ip("192.0.2.1"), "alice").is_ok());
        }
        t.prune();
        assert_eq!(t.len(), (0, 0));
    }
}
