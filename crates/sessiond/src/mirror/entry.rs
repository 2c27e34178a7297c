//! What one revocation becomes in the Redis denylist: a key a legacy
//! middleware can check by the token's own claims, a value, and a time to
//! live. Pure, so the shapes and the TTL rule are tested without Redis.
use std::time::Duration;

use sessiond_guard::{Revocation, RevocationKind};

use crate::domain::UnixTime;

/// One `SET key value EX ttl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenyEntry {
    /// `tokens:<jti>:deactivated`, `sessions:<sid>:revoked`,
    /// `grants:<gid>:revoked`, `users:<sub>:revoked_before`,
    /// `clients:<client_id>:revoked_before`.
    pub key: String,
    /// `1`, or for users and clients the cut-off (Unix seconds): a token
    /// with `iat` at or before it is revoked.
    pub value: String,
    /// Seconds until no token the entry affects can be accepted any more.
    pub ttl_secs: u64,
}

/// The entry for `r` at `now`, or `None` when every token it affects has
/// already expired (a key with a TTL of zero or less would only be deleted).
///
/// The TTL is the one the index keeps the entry for: until `expires_at`
/// (the latest `exp` of any token it covers) plus the leeway validators
/// allow on `exp`, so a validator with that much clock skew never sees a
/// token outlive its denylist key.
pub fn deny_entry(r: &Revocation, now: UnixTime, leeway: Duration) -> Option<DenyEntry> {
    let until = UnixTime(r.expires_at).plus(leeway);
    let ttl_secs = u64::try_from(until.0.checked_sub(now.0)?).ok().filter(|&s| s > 0)?;
    let id = &r.subject;
    // As in the index: a user or client entry without a cut-off revokes
    // everything issued up to its expiry.
    let cutoff = || r.cutoff.unwrap_or(r.expires_at).to_string();
    let (key, value) = match r.kind {
        RevocationKind::Token => (format!("tokens:{id}:deactivated"), "1".to_owned()),
        RevocationKind::Session => (format!("sessions:{id}:revoked"), "1".to_owned()),
        RevocationKind::Grant => (format!("grants:{id}:revoked"), "1".to_owned()),
        RevocationKind::User => (format!("users:{id}:revoked_before"), cutoff()),
        RevocationKind::Client => (format!("clients:{id}:revoked_before"), cutoff()),
    };
    Some(DenyEntry { key, value, ttl_secs })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(kind: RevocationKind, subject: &str, cutoff: Option<i64>, expires_at: i64) -> Revocation {
        Revocation { seq: 1, kind, subject: subject.into(), cutoff, expires_at }
    }

    #[test]
    fn every_kind_has_its_key_shape() {
        let now = UnixTime(1000);
        let entry = |kind, cutoff| deny_entry(&rev(kind, "ID", cutoff, 1300), now, Duration::ZERO).unwrap();
        let shapes = [
            (entry(RevocationKind::Token, None), "tokens:ID:deactivated", "1"),
            (entry(RevocationKind::Session, None), "sessions:ID:revoked", "1"),
            (entry(RevocationKind::Grant, None), "grants:ID:revoked", "1"),
            (entry(RevocationKind::User, Some(990)), "users:ID:revoked_before", "990"),
            (entry(RevocationKind::Client, Some(995)), "clients:ID:revoked_before", "995"),
            (entry(RevocationKind::User, None), "users:ID:revoked_before", "1300"),
        ];
        for (e, key, value) in shapes {
            assert_eq!((e.key.as_str(), e.value.as_str(), e.ttl_secs), (key, value, 300));
        }
    }

    #[test]
    fn the_ttl_runs_to_expiry_plus_leeway_and_expired_entries_are_skipped() {
        let r = rev(RevocationKind::Token, "j", None, 1300);
        assert_eq!(deny_entry(&r, UnixTime(1000), Duration::from_secs(5)).unwrap().ttl_secs, 305);
        assert_eq!(deny_entry(&r, UnixTime(1304), Duration::from_secs(5)).unwrap().ttl_secs, 1);
        assert_eq!(deny_entry(&r, UnixTime(1305), Duration::from_secs(5)), None, "its last token is past leeway");
        assert_eq!(deny_entry(&r, UnixTime(1300), Duration::ZERO), None);
        assert_eq!(deny_entry(&r, UnixTime(i64::MIN), Duration::ZERO), None, "no overflow");
    }
}
