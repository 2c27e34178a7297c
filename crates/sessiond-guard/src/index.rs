//! The revocation index: "is this token dead?" answered from memory.
//!
//! Every revocation sessiond makes — one token (`jti`), a grant (`gid`), a
//! session (`sid`), everything a user or a client held before a moment — is
//! one [`Revocation`]. The index keeps them in hash maps and a token check is
//! at most five look-ups, each skipped when its map is empty.
//!
//! An entry is dropped once no token it could affect can still be valid
//! (its `expires_at`), so memory is bounded by the revocation rate times the
//! longest access-token life, not by uptime.
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

use crate::prefilter::Prefilter;
use crate::AccessClaims;

/// What a revocation applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationKind {
    /// One access token, by `jti`.
    Token,
    /// Every token of a grant (one client in one session), by `gid`.
    Grant,
    /// Every token of a session, by `sid`.
    Session,
    /// Every token whose `sub` is this user, issued at or before `cutoff`.
    User,
    /// Every token issued to this client at or before `cutoff`.
    Client,
}

impl RevocationKind {
    /// Storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Grant => "grant",
            Self::Session => "session",
            Self::User => "user",
            Self::Client => "client",
        }
    }

    /// Parses a storage name.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Token, Self::Grant, Self::Session, Self::User, Self::Client].into_iter().find(|k| k.as_str() == raw)
    }
}

/// One entry of the revocation log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Position in the log; increases with every revocation.
    pub seq: i64,
    /// What it applies to.
    pub kind: RevocationKind,
    /// The `jti`, `gid`, `sid`, user id or client id.
    pub subject: String,
    /// For user and client revocations: tokens issued at or before this
    /// time (Unix seconds) are dead.
    pub cutoff: Option<i64>,
    /// After this time no token the entry could affect is valid any more.
    pub expires_at: i64,
}

/// A 128-bit key for an id. sessiond's ids are 128 random bits in base64url
/// (22 characters): those are decoded and used as they are. Anything else is
/// hashed with two randomly keyed SipHash instances, so an outsider cannot
/// aim collisions at the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key(u64, u64);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The key is already uniformly random: its first half is the hash.
        state.write_u64(self.0);
    }
}

/// Passes a pre-hashed `u64` through: for keys that are already uniformly
/// random (decoded ids, keyed hashes). Also used by the verified-token cache.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type KeyMap<V> = HashMap<Key, V, BuildHasherDefault<PassThrough>>;

struct Keyer(RandomState, RandomState);

impl Keyer {
    fn key(&self, id: &str) -> Key {
        match decode_id(id.as_bytes()) {
            Some(key) => key,
            None => Key(self.0.hash_one(id), self.1.hash_one(id)),
        }
    }
}

const INVALID: u8 = 0xff;

/// base64url alphabet → 6-bit values.
const BASE64URL: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// The 128 bits of a canonical 22-character base64url id (the shape of every
/// sessiond id); `None` for anything else. A dedicated decoder: this runs up
/// to five times per validation.
fn decode_id(id: &[u8]) -> Option<Key> {
    let (body, last) = match id {
        [body @ .., last] if id.len() == 22 => (body, *last),
        _ => return None,
    };
    let mut acc: u128 = 0;
    for &c in body {
        let v = BASE64URL[c as usize];
        if v == INVALID {
            return None;
        }
        acc = (acc << 6) | u128::from(v);
    }
    // 21 × 6 = 126 bits; the last character carries 2 more and 4 zero bits.
    let v = BASE64URL[last as usize];
    if v == INVALID || v & 0b1111 != 0 {
        return None;
    }
    acc = (acc << 2) | u128::from(v >> 4);
    Some(Key((acc >> 64) as u64, acc as u64))
}

#[derive(Debug, Clone, Copy)]
struct Cutoff {
    at: i64,
    expires_at: i64,
}

/// Salts that keep the same id in different maps apart in the prefilter.
const TOKEN_SALT: u64 = 0x9E37_79B9_7F4A_7C15;
const GRANT_SALT: u64 = 0xC2B2_AE3D_27D4_EB4F;
const SESSION_SALT: u64 = 0x1656_67B1_9E37_79F9;

/// The in-memory index of live revocations.
pub struct RevocationIndex {
    keyer: Keyer,
    /// Covers `tokens`, `grants` and `sessions`, the maps that grow large.
    prefilter: Prefilter,
    tokens: KeyMap<i64>,
    grants: KeyMap<i64>,
    sessions: KeyMap<i64>,
    users: KeyMap<Cutoff>,
    clients: KeyMap<Cutoff>,
    last_seq: i64,
}

impl Default for RevocationIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl RevocationIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self {
            keyer: Keyer(RandomState::new(), RandomState::new()),
            prefilter: Prefilter::with_capacity(0),
            tokens: KeyMap::default(),
            grants: KeyMap::default(),
            sessions: KeyMap::default(),
            users: KeyMap::default(),
            clients: KeyMap::default(),
            last_seq: 0,
        }
    }

    /// Whether the token is revoked. Only hash look-ups; maps that are empty
    /// are not consulted at all.
    pub fn is_revoked(&self, claims: &AccessClaims) -> bool {
        let hit = |map: &KeyMap<i64>, salt: u64, id: Option<&str>| match id {
            Some(id) if !map.is_empty() => {
                let key = self.keyer.key(id);
                self.prefilter.may_contain(key.0 ^ salt, key.1 ^ salt) && map.contains_key(&key)
            }
            _ => false,
        };
        let cut = |map: &KeyMap<Cutoff>, id: &str| {
            !map.is_empty() && map.get(&self.keyer.key(id)).is_some_and(|c| claims.iat <= c.at)
        };
        hit(&self.tokens, TOKEN_SALT, Some(&claims.jti))
            || hit(&self.sessions, SESSION_SALT, claims.sid.as_deref())
            || hit(&self.grants, GRANT_SALT, claims.gid.as_deref())
            || cut(&self.users, &claims.sub)
            || cut(&self.clients, &claims.client_id)
    }

    /// Whether one id of a kind is revoked (for opaque tokens and sessions
    /// looked up by id).
    pub fn contains(&self, kind: RevocationKind, id: &str) -> bool {
        let key = self.keyer.key(id);
        match kind {
            RevocationKind::Token => self.tokens.contains_key(&key),
            RevocationKind::Grant => self.grants.contains_key(&key),
            RevocationKind::Session => self.sessions.contains_key(&key),
            RevocationKind::User => self.users.contains_key(&key),
            RevocationKind::Client => self.clients.contains_key(&key),
        }
    }

    /// Adds an entry. Applying the same entry twice, or entries out of
    /// order, gives the same index: each key keeps its latest expiry and
    /// cut-off.
    pub fn apply(&mut self, r: &Revocation) {
        let key = self.keyer.key(&r.subject);
        let (map, salt) = match r.kind {
            RevocationKind::Token => (&mut self.tokens, TOKEN_SALT),
            RevocationKind::Grant => (&mut self.grants, GRANT_SALT),
            RevocationKind::Session => (&mut self.sessions, SESSION_SALT),
            RevocationKind::User | RevocationKind::Client => {
                let map = if r.kind == RevocationKind::User { &mut self.users } else { &mut self.clients };
                let at = r.cutoff.unwrap_or(r.expires_at);
                let c = map.entry(key).or_insert(Cutoff { at, expires_at: r.expires_at });
                c.at = c.at.max(at);
                c.expires_at = c.expires_at.max(r.expires_at);
                self.last_seq = self.last_seq.max(r.seq);
                return;
            }
        };
        let fresh = !map.contains_key(&key);
        let exp = map.entry(key).or_insert(r.expires_at);
        *exp = (*exp).max(r.expires_at);
        if fresh {
            self.prefilter.insert(key.0 ^ salt, key.1 ^ salt);
            if self.prefilter.is_overfull() {
                self.rebuild_prefilter();
            }
        }
        self.last_seq = self.last_seq.max(r.seq);
    }

    /// Drops entries that can no longer affect a valid token; returns how
    /// many were dropped.
    pub fn prune(&mut self, now: i64) -> usize {
        let before = self.len();
        self.tokens.retain(|_, exp| *exp > now);
        self.grants.retain(|_, exp| *exp > now);
        self.sessions.retain(|_, exp| *exp > now);
        self.users.retain(|_, c| c.expires_at > now);
        self.clients.retain(|_, c| c.expires_at > now);
        let dropped = before - self.len();
        if dropped > 0 {
            self.rebuild_prefilter();
        }
        dropped
    }

    /// Sizes the prefilter for the current entries (its size is rounded up to
    /// a power of two, which leaves room to grow) and refills it. Kept as
    /// small as the false-positive rate allows, so that it stays in cache.
    fn rebuild_prefilter(&mut self) {
        let entries = self.tokens.len() + self.grants.len() + self.sessions.len();
        let mut filter = Prefilter::with_capacity(entries);
        for (map, salt) in [(&self.tokens, TOKEN_SALT), (&self.grants, GRANT_SALT), (&self.sessions, SESSION_SALT)] {
            for key in map.keys() {
                filter.insert(key.0 ^ salt, key.1 ^ salt);
            }
        }
        self.prefilter = filter;
    }

    /// Highest sequence number applied.
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.tokens.len() + self.grants.len() + self.sessions.len() + self.users.len() + self.clients.len()
    }

    /// Whether the index holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(jti: &str, sid: Option<&str>, sub: &str, iat: i64) -> AccessClaims {
        AccessClaims {
            iss: "i".into(),
            sub: sub.into(),
            aud: "a".into(),
            exp: iat + 300,
            iat,
            jti: jti.into(),
            client_id: "c1".into(),
            scope: None,
            sid: sid.map(Into::into),
            gid: sid.map(|s| format!("g-{s}")),
            username: None,
        }
    }

    fn rev(seq: i64, kind: RevocationKind, subject: &str, cutoff: Option<i64>, expires_at: i64) -> Revocation {
        Revocation { seq, kind, subject: subject.into(), cutoff, expires_at }
    }

    #[test]
    fn each_kind_revokes_what_it_names_and_nothing_else() {
        let mut index = RevocationIndex::new();
        let a = claims("AAAAAAAAAAAAAAAAAAAAAA", Some("s1"), "u1", 100);
        let b = claims("BBBBBBBBBBBBBBBBBBBBBA", Some("s2"), "u2", 100);
        assert!(!index.is_revoked(&a));

        index.apply(&rev(1, RevocationKind::Token, &a.jti, None, 400));
        assert!(index.is_revoked(&a) && !index.is_revoked(&b));

        let mut index = RevocationIndex::new();
        index.apply(&rev(1, RevocationKind::Session, "s2", None, 400));
        assert!(!index.is_revoked(&a) && index.is_revoked(&b));

        let mut index = RevocationIndex::new();
        index.apply(&rev(1, RevocationKind::Grant, "g-s1", None, 400));
        assert!(index.is_revoked(&a) && !index.is_revoked(&b));
    }

    #[test]
    fn cutoffs_kill_only_tokens_issued_before_them() {
        let mut index = RevocationIndex::new();
        index.apply(&rev(1, RevocationKind::User, "u1", Some(150), 500));
        assert!(index.is_revoked(&claims("j1", None, "u1", 150)));
        assert!(!index.is_revoked(&claims("j2", None, "u1", 151)), "a token issued after re-enabling lives");
        assert!(!index.is_revoked(&claims("j3", None, "u2", 100)));

        index.apply(&rev(2, RevocationKind::Client, "c1", Some(120), 500));
        assert!(index.is_revoked(&claims("j4", None, "u9", 110)));
        assert_eq!(index.last_seq(), 2);
    }

    #[test]
    fn entries_are_pruned_once_nothing_they_affect_can_be_valid() {
        let mut index = RevocationIndex::new();
        index.apply(&rev(1, RevocationKind::Token, "t1", None, 100));
        index.apply(&rev(2, RevocationKind::Session, "s1", None, 200));
        index.apply(&rev(3, RevocationKind::User, "u1", Some(50), 300));
        assert_eq!(index.prune(99), 0);
        assert_eq!(index.prune(100), 1);
        assert_eq!(index.prune(300), 2);
        assert!(index.is_empty());
    }

    #[test]
    fn applying_twice_or_out_of_order_is_harmless() {
        let mut index = RevocationIndex::new();
        let r1 = rev(1, RevocationKind::Session, "s1", None, 300);
        let r2 = rev(2, RevocationKind::Session, "s1", None, 200);
        index.apply(&r2);
        index.apply(&r1);
        index.apply(&r1);
        assert_eq!(index.len(), 1);
        assert_eq!(index.prune(250), 0, "keeps the later expiry");
        assert_eq!(index.last_seq(), 2);
    }

    #[test]
    fn the_prefilter_never_hides_a_revoked_token_through_growth_and_pruning() {
        let mut index = RevocationIndex::new();
        let jti = |i: usize| format!("token-{i}");
        for i in 0..20_000 {
            // Half expire at 100, half at 200; the filter grows several times.
            index.apply(&rev(i as i64, RevocationKind::Token, &jti(i), None, if i % 2 == 0 { 100 } else { 200 }));
        }
        let revoked = |index: &RevocationIndex, i: usize| index.is_revoked(&claims(&jti(i), None, "u", 0));
        assert!((0..20_000).all(|i| revoked(&index, i)));
        assert!(!(20_000..21_000).any(|i| revoked(&index, i)), "live tokens stay live");
        assert_eq!(index.prune(150), 10_000);
        assert!((0..20_000).all(|i| revoked(&index, i) == (i % 2 == 1)));
    }

    #[test]
    fn ids_decode_to_their_128_bits() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let raw: [u8; 16] = *b"0123456789abcdef";
        let id = URL_SAFE_NO_PAD.encode(raw);
        let key = decode_id(id.as_bytes()).unwrap();
        assert_eq!(((u128::from(key.0) << 64) | u128::from(key.1)).to_be_bytes(), raw);
        assert!(decode_id(b"AAAAAAAAAAAAAAAAAAAAAB").is_none(), "non-canonical trailing bits");
        assert!(decode_id(b"AAAAAAAAAAAAAAAAAAAA+A").is_none(), "not base64url");
        assert!(decode_id(b"AAAA").is_none());
    }

    #[test]
    fn foreign_ids_are_keyed_by_hash_and_do_not_collide_with_ours() {
        let mut index = RevocationIndex::new();
        index.apply(&rev(1, RevocationKind::Token, "not-a-sessiond-id", None, 100));
        assert!(index.contains(RevocationKind::Token, "not-a-sessiond-id"));
        assert!(!index.contains(RevocationKind::Token, "not-a-sessiond-iD"));
        assert!(!index.contains(RevocationKind::Token, "AAAAAAAAAAAAAAAAAAAAAA"));
    }
}
