//! What a [`Guard`](super::Guard) is built from, and the defaults.
use std::fmt;
use std::time::Duration;

use crate::DEFAULT_CACHE_CAPACITY;

/// Default longest time without confirming the index current.
pub const DEFAULT_STALENESS_BOUND: Duration = Duration::from_secs(10);
/// Default clock difference tolerated on `exp` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(5);
/// Default shortest time between two JWK Set fetches caused by tokens
/// naming an unknown key.
pub const DEFAULT_JWKS_MIN_REFETCH: Duration = Duration::from_secs(5);
/// Default time between routine JWK Set refreshes (which also stop
/// trusting keys sessiond no longer publishes).
pub const DEFAULT_JWKS_REFRESH: Duration = Duration::from_secs(300);

/// What the guard does while it cannot confirm its revocation index is
/// current (sessiond unreachable, the stream silent past the bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StalePolicy {
    /// Refuse every request with 503 `temporarily_unavailable`: a token
    /// revoked meanwhile is never accepted. The default.
    #[default]
    FailClosed,
    /// Go on validating with the index as it is: signatures, audience and
    /// lifetimes are still checked, but a revocation made while the guard
    /// was cut off is not seen until it reconnects.
    FailOpen,
}

/// Why a guard could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The issuer is not an absolute `http` or `https` URL without query
    /// or fragment (OpenID Connect Discovery §3).
    #[error("issuer {0:?} must be an http(s) URL without query or fragment")]
    InvalidIssuer(String),
    /// `start` was called outside a tokio runtime, which the guard's
    /// background tasks need.
    #[error("the guard must be started inside a tokio runtime")]
    NoRuntime,
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Settings of a guard, as [`GuardBuilder`] collects them.
#[derive(Clone)]
pub(crate) struct Options {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) leeway: Duration,
    pub(crate) staleness_bound: Duration,
    pub(crate) on_stale: StalePolicy,
    pub(crate) jwks_min_refetch: Duration,
    pub(crate) jwks_refresh: Duration,
    pub(crate) cache_capacity: usize,
}

impl Options {
    /// The leeway in whole seconds, as the verifier takes it.
    pub(crate) fn leeway_secs(&self) -> i64 {
        i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX)
    }

    /// An endpoint of the issuer (`path` starts with `/`).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("leeway", &self.leeway)
            .field("staleness_bound", &self.staleness_bound)
            .field("on_stale", &self.on_stale)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Guard`](super::Guard): the issuer, the resource server's
/// client credentials, and optional settings. See
/// [`Guard::builder`](super::Guard::builder).
#[derive(Debug)]
pub struct GuardBuilder {
    pub(crate) options: Options,
    pub(crate) audience: Option<String>,
    pub(crate) http: Option<reqwest::Client>,
}

impl GuardBuilder {
    pub(crate) fn new(issuer: &str, client_id: &str, client_secret: &str) -> Self {
        Self {
            options: Options {
                issuer: issuer.to_owned(),
                audience: String::new(),
                client_id: client_id.to_owned(),
                client_secret: client_secret.to_owned(),
                leeway: DEFAULT_LEEWAY,
                staleness_bound: DEFAULT_STALENESS_BOUND,
                on_stale: StalePolicy::FailClosed,
                jwks_min_refetch: DEFAULT_JWKS_MIN_REFETCH,
                jwks_refresh: DEFAULT_JWKS_REFRESH,
                cache_capacity: DEFAULT_CACHE_CAPACITY,
            },
            audience: None,
            http: None,
        }
    }

    /// The `aud` tokens must carry to be accepted here. Defaults to the
    /// issuer, which is sessiond's default audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Clock difference tolerated between sessiond and this server on
    /// `exp` and `iat` (whole seconds; default 5 s). Revocation entries are
    /// kept as much longer.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.options.leeway = leeway;
        self
    }

    /// Longest time without confirming the index current (a snapshot, an
    /// event or a heartbeat) before [`StalePolicy`] applies; default 10 s.
    /// sessiond sends a heartbeat every 5 s, so a bound below that makes
    /// a healthy guard stale between beats.
    pub fn staleness_bound(mut self, bound: Duration) -> Self {
        self.options.staleness_bound = bound;
        self
    }

    /// What to do past the staleness bound; default
    /// [`StalePolicy::FailClosed`].
    pub fn on_stale(mut self, policy: StalePolicy) -> Self {
        self.options.on_stale = policy;
        self
    }

    /// Shortest time between two JWK Set fetches triggered by a token
    /// naming a key the guard does not know (default 5 s), so that tokens
    /// with made-up `kid`s cannot make the guard hammer sessiond.
    pub fn jwks_min_refetch(mut self, interval: Duration) -> Self {
        self.options.jwks_min_refetch = interval;
        self
    }

    /// Time between routine refreshes of the JWK Set (default 5 min).
    pub fn jwks_refresh(mut self, interval: Duration) -> Self {
        self.options.jwks_refresh = interval;
        self
    }

    /// How many verified tokens to remember (default
    /// [`DEFAULT_CACHE_CAPACITY`]; 0 verifies every signature every time).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.options.cache_capacity = capacity;
        self
    }

    /// The HTTP client to talk to sessiond with (for custom roots or a
    /// proxy). It must not have an overall request timeout, which would
    /// cut the revocation stream; the guard sets its own per request.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Checks the issuer and fills in the defaults.
    pub(crate) fn resolve(self) -> Result<(Options, Option<reqwest::Client>), GuardError> {
        let mut options = self.options;
        options.issuer = normalize_issuer(&options.issuer)?;
        options.audience = self.audience.unwrap_or_else(|| options.issuer.clone());
        Ok((options, self.http))
    }
}

/// The issuer as `iss` carries it: sessiond's issuers have no trailing
/// slash, so one given here is dropped.
fn normalize_issuer(raw: &str) -> Result<String, GuardError> {
    let bad = || GuardError::InvalidIssuer(raw.to_owned());
    let url = reqwest::Url::parse(raw).map_err(|_| bad())?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.query().is_none()
        && url.fragment().is_none();
    if !ok {
        return Err(bad());
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_is_checked_and_the_audience_defaults_to_it() {
        let (o, _) = GuardBuilder::new("https://id.example/", "rs", "secret").resolve().unwrap();
        assert_eq!((o.issuer.as_str(), o.audience.as_str()), ("https://id.example", "https://id.example"));
        assert_eq!(o.url("/jwks.json"), "https://id.example/jwks.json");
        let (o, _) = GuardBuilder::new("http://127.0.0.1:8080", "rs", "s").audience("api").resolve().unwrap();
        assert_eq!(o.audience, "api");
        for bad in ["id.example", "ftp://id.example", "https://id.example/?a=1", "https://id.example/#f", ""] {
            assert!(GuardBuilder::new(bad, "rs", "s").resolve().is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let b = GuardBuilder::new("https://id.example", "rs", "hunter2-secret");
        assert!(!format!("{b:?}").contains("hunter2"));
    }
}
