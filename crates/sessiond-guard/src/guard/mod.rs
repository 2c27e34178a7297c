//! [`Guard`]: sessiond's access tokens checked inside a resource server,
//! offline, with revocations enforced as they happen.
//!
//! A guard fetches sessiond's signing keys, follows its revocation feed
//! into the [`Validator`]'s own [`RevocationIndex`](crate::RevocationIndex)
//! and answers "is this token good?" from memory. Its background work
//! runs on tokio tasks that end when the last clone of the guard (and of
//! any layer built from it) is dropped.
//!
//! * `config.rs`: [`GuardBuilder`], [`StalePolicy`], defaults.
//! * `keys.rs`: discovery and the JWK Set, refetched for unknown keys.
//! * `follow.rs`: the feed follower, the key refresher, the pruner.
//! * `feed.rs`, `sse.rs`: the feed's wire formats.
//! * `freshness.rs`: the staleness bound.
//! * `layer.rs`, `extract.rs`: [`GuardLayer`] and the [`Claims`] extractor.
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{AccessClaims, KeySet, Rejection, Validator, Verifier, VerifyError};

mod backoff;
mod config;
mod extract;
mod feed;
mod fetch;
mod follow;
mod freshness;
mod keys;
mod layer;
mod sse;

pub use config::{
    GuardBuilder, GuardError, StalePolicy, DEFAULT_JWKS_MIN_REFETCH, DEFAULT_JWKS_REFRESH, DEFAULT_LEEWAY,
    DEFAULT_STALENESS_BOUND,
};
pub use extract::{Claims, MissingClaims};
pub use layer::{GuardLayer, GuardService};

use config::Options;
use fetch::CONNECT_TIMEOUT;
use freshness::{admission, Admission, Freshness};
use keys::KeyState;

/// Why the guard did not accept a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// The token is not good: malformed, badly signed, for another issuer
    /// or audience, expired, or revoked (RFC 6750 §3.1 `invalid_token`).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The guard cannot confirm its revocation index is current and is
    /// configured to fail closed ([`StalePolicy::FailClosed`]).
    #[error("revocation state is not current")]
    NotCurrent,
    /// sessiond's keys have not been fetched yet, so no token can be
    /// verified.
    #[error("signing keys not loaded yet")]
    NoKeys,
}

impl Denial {
    /// Whether the token itself is at fault (401), rather than the guard
    /// being unable to judge it now (503).
    pub fn is_rejection(&self) -> bool {
        matches!(self, Self::Rejected(_))
    }
}

/// What the guard's tasks and its clones share.
pub(crate) struct Shared {
    pub(crate) options: Options,
    pub(crate) http: reqwest::Client,
    pub(crate) validator: Validator,
    pub(crate) freshness: Freshness,
    pub(crate) keys: KeyState,
    /// The log position the index is complete up to.
    position: AtomicI64,
}

impl Shared {
    fn new(options: Options, http: reqwest::Client) -> Self {
        let verifier =
            Verifier::new(KeySet::default(), &options.issuer, &options.audience).with_leeway(options.leeway_secs());
        Self {
            validator: Validator::with_cache_capacity(verifier, options.cache_capacity),
            options,
            http,
            freshness: Freshness::new(Instant::now()),
            keys: KeyState::default(),
            position: AtomicI64::new(0),
        }
    }

    pub(crate) fn position(&self) -> i64 {
        self.position.load(Ordering::Acquire)
    }

    /// Moves the position forward (never back).
    pub(crate) fn advance(&self, to: i64) {
        self.position.fetch_max(to, Ordering::AcqRel);
    }

    fn is_current(&self) -> bool {
        self.freshness.is_current(Instant::now(), self.options.staleness_bound)
    }
}

/// Aborts the background tasks when the last guard goes.
struct Tasks(Vec<tokio::task::AbortHandle>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Validates sessiond access tokens in a resource server: offline
/// signature and claim checks with sessiond's published keys, and every
/// revocation sessiond makes, applied within milliseconds from its
/// revocation feed.
///
/// Cheap to clone; all clones share one index and one set of tasks.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use sessiond_guard::Guard;
/// let guard = Guard::builder("https://id.example.com", "my-api", "its-secret")
///     .audience("https://id.example.com")
///     .start()?;
/// match guard.check("eyJ…").await {
///     Ok(claims) => println!("hello {}", claims.sub),
///     Err(denial) => println!("no: {denial}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Guard {
    shared: Arc<Shared>,
    _tasks: Arc<Tasks>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("options", &self.shared.options)
            .field("position", &self.shared.position())
            .field("current", &self.shared.is_current())
            .finish()
    }
}

impl Guard {
    /// A builder for a guard of tokens issued by `issuer` (sessiond's
    /// issuer URL, as its tokens' `iss` carries it), reading the
    /// revocation feed as the resource-server client `client_id` with
    /// `client_secret` (`client_secret_basic`; register it with
    /// `sessiond client add NAME --resource-server`).
    pub fn builder(issuer: &str, client_id: &str, client_secret: &str) -> GuardBuilder {
        GuardBuilder::new(issuer, client_id, client_secret)
    }

    /// Starts the background tasks and returns the guard at once; until
    /// the keys are loaded and a first snapshot has arrived, every check
    /// is [`Denial::NoKeys`] or [`Denial::NotCurrent`] (see
    /// [`Guard::wait_until_current`]). Must be called inside a tokio
    /// runtime.
    pub fn start(builder: GuardBuilder) -> Result<Guard, GuardError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| GuardError::NoRuntime)?;
        let (options, http) = builder.resolve()?;
        let http = match http {
            Some(client) => client,
            None => reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).build()?,
        };
        let shared = Arc::new(Shared::new(options, http));
        let tasks = vec![
            runtime.spawn(follow::keep_keys(Arc::clone(&shared))).abort_handle(),
            runtime.spawn(follow::follow(Arc::clone(&shared))).abort_handle(),
            runtime.spawn(follow::prune(Arc::clone(&shared))).abort_handle(),
        ];
        Ok(Guard { shared, _tasks: Arc::new(Tasks(tasks)) })
    }

    /// Checks a bearer token: the keys, the staleness bound, then the
    /// [`Validator`] (signature, `typ: at+jwt`, issuer, audience, lifetime
    /// with the leeway, revocation). A token naming a key the guard does
    /// not know makes it refetch the keys (rate-limited) and try once more.
    pub async fn check(&self, token: &str) -> Result<Arc<AccessClaims>, Denial> {
        let shared = &self.shared;
        let seen = shared.keys.generation();
        if seen == 0 && !shared.refetch_keys(seen).await {
            return Err(Denial::NoKeys);
        }
        if admission(shared.is_current(), shared.options.on_stale) == Admission::Unavailable {
            return Err(Denial::NotCurrent);
        }
        let seen = shared.keys.generation();
        match shared.validator.validate(token, unix_now()) {
            Err(Rejection::Invalid(VerifyError::UnknownKey)) if shared.refetch_keys(seen).await => {
                Ok(shared.validator.validate(token, unix_now())?)
            }
            result => Ok(result?),
        }
    }

    /// Whether the revocation index was confirmed current within the
    /// staleness bound.
    pub fn is_current(&self) -> bool {
        self.shared.is_current()
    }

    /// Whether keys are loaded and the index current: whether a valid
    /// token would be accepted now.
    pub fn is_ready(&self) -> bool {
        self.shared.keys.generation() > 0 && self.is_current()
    }

    /// Waits until [`Guard::is_ready`], at most `timeout`; returns whether
    /// it became ready. For a server that would rather not answer 503 in
    /// its first moments.
    pub async fn wait_until_current(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.is_ready() {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// The log position the index is complete up to.
    pub fn position(&self) -> i64 {
        self.shared.position()
    }

    /// The validator the guard feeds, for checks of its own (its index
    /// holds every revocation the guard has heard of).
    pub fn validator(&self) -> &Validator {
        &self.shared.validator
    }

    /// A tower layer that guards every request with this guard.
    pub fn layer(&self) -> GuardLayer {
        GuardLayer::new(self.clone())
    }
}

impl GuardBuilder {
    /// Builds and starts the guard: [`Guard::start`].
    pub fn start(self) -> Result<Guard, GuardError> {
        Guard::start(self)
    }
}

/// Now, in Unix seconds. A resource server has no injected clock: token
/// lifetimes are judged by the system's, as every JWT library does, and
/// tests of lifetime rules use [`Validator`] with explicit times.
#[allow(clippy::disallowed_methods)]
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
pub(crate) mod testing {
    //! A guard without background tasks, its keys and its freshness set
    //! by the test, and tokens to show it.
    use super::*;

    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    use crate::{low_s, Jwk, ACCESS_TOKEN_TYPE};

    pub(crate) const ISSUER: &str = "https://id.example";

    /// A guard with one ES256 key, current or not, and a signer for it.
    pub(crate) fn guard(current: bool, on_stale: StalePolicy) -> (Guard, EncodingKey) {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        let jwk = Jwk {
            kty: "EC".into(),
            kid: "k1".into(),
            alg: "ES256".into(),
            use_: Some("sig".into()),
            crv: Some("P-256".into()),
            x: Some(URL_SAFE_NO_PAD.encode(&point[1..33])),
            y: Some(URL_SAFE_NO_PAD.encode(&point[33..65])),
            n: None,
            e: None,
        };
        let (options, _) = Guard::builder(ISSUER, "rs", "secret").on_stale(on_stale).resolve().unwrap();
        let shared = Shared::new(options, reqwest::Client::new());
        let verifier = Verifier::new(KeySet::from_jwks([&jwk]).unwrap(), ISSUER, ISSUER);
        shared.validator.set_verifier(verifier);
        // Installed keys, and no fetch for a while: an unknown kid in a
        // test never reaches the network.
        shared.keys.mark_loaded_for_tests();
        if current {
            shared.freshness.confirm(Instant::now());
        }
        (
            Guard { shared: Arc::new(shared), _tasks: Arc::new(Tasks(Vec::new())) },
            EncodingKey::from_ec_der(pkcs8.as_ref()),
        )
    }

    /// A live access token for user `u1` in session `s1`, signed by `key`.
    pub(crate) fn token(key: &EncodingKey, jti: &str) -> String {
        let now = unix_now();
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": "u1", "aud": ISSUER, "exp": now + 300, "iat": now,
            "jti": jti, "client_id": "c1", "sid": "s1", "gid": "g1",
        });
        let header =
            Header { typ: Some(ACCESS_TOKEN_TYPE.into()), kid: Some("k1".into()), ..Header::new(Algorithm::ES256) };
        let token = jsonwebtoken::encode(&header, &claims, key).unwrap();
        // Only the low-S form is accepted (see `low_s`).
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut raw: [u8; 64] = URL_SAFE_NO_PAD.decode(sig).unwrap().try_into().unwrap();
        low_s::normalize(&mut raw);
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{guard, token};
    use super::*;
    use crate::{Revocation, RevocationKind};

    #[tokio::test]
    async fn a_current_guard_accepts_live_tokens_and_refuses_revoked_ones() {
        let (guard, key) = guard(true, StalePolicy::FailClosed);
        let live = token(&key, "j1");
        let claims = guard.check(&live).await.unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid.as_deref()), ("u1", Some("s1")));

        let revocation = Revocation {
            seq: 1,
            kind: RevocationKind::Session,
            subject: "s1".into(),
            cutoff: None,
            expires_at: i64::MAX,
        };
        guard.validator().apply(&[revocation]);
        assert_eq!(guard.check(&live).await, Err(Denial::Rejected(Rejection::Revoked)));
        let garbage = guard.check("not.a.token").await.unwrap_err();
        assert!(garbage.is_rejection(), "{garbage:?}");
    }

    #[tokio::test]
    async fn a_stale_guard_fails_closed_by_default_and_open_when_asked() {
        let (closed, key) = guard(false, StalePolicy::FailClosed);
        assert_eq!(closed.check(&token(&key, "j1")).await, Err(Denial::NotCurrent));
        assert!(!closed.is_ready());

        let (open, key) = guard(false, StalePolicy::FailOpen);
        assert!(open.check(&token(&key, "j1")).await.is_ok(), "still verified, only not vouched for");
        assert!(open.check("not.a.token").await.unwrap_err().is_rejection());
    }
}
