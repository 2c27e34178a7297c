//! sessiond's signing keys: found through discovery (`jwks_uri`, OpenID
//! Connect Discovery §3) or at `{issuer}/jwks.json`, fetched at start and
//! every few minutes, and again when a token names a key the guard does
//! not know (sessiond signs with a new key as soon as it rotates) — at
//! most once per `jwks_min_refetch`, so that made-up `kid`s cannot turn
//! the guard into a flood of requests to sessiond.
//!
//! Each key stays pinned to the algorithm it is published with
//! ([`KeySet`]), so a token can only be verified with the algorithm of
//! the key it names.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::Deserialize;

use super::fetch::{get_body, FetchError, METADATA_CAP};
use super::Shared;
use crate::{KeySet, Verifier};

/// Where discovery lives under the issuer (OpenID Connect Discovery §4).
const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// sessiond's JWK Set, when there is no discovery document.
const DEFAULT_JWKS_PATH: &str = "/jwks.json";

/// The key half of the guard's state.
#[derive(Debug, Default)]
pub(crate) struct KeyState {
    /// Learnt from discovery once, then reused.
    jwks_uri: Mutex<Option<String>>,
    /// When a fetch was last attempted, for the refetch rate limit.
    last_attempt: Mutex<Option<Instant>>,
    /// How many times keys were installed; 0 until the first time.
    generation: AtomicU64,
    /// One fetch at a time; callers that waited use its result.
    flight: tokio::sync::Mutex<()>,
}

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
}

impl KeyState {
    /// How many times keys were installed.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// As if keys had just been fetched (tests install them by hand).
    #[cfg(test)]
    pub(crate) fn mark_loaded_for_tests(&self) {
        self.generation.store(1, Ordering::Release);
        *self.last_attempt.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }
}

impl Shared {
    /// Fetches and installs the keys now, whenever the last fetch was.
    pub(crate) async fn load_keys(&self) -> Result<usize, FetchError> {
        let _flight = self.keys.flight.lock().await;
        self.fetch_and_install().await
    }

    /// For a token naming a key the guard does not know: fetches the keys
    /// unless that was done within `jwks_min_refetch`. True when keys were
    /// installed after the caller saw `seen` (its own fetch or one it
    /// waited for), so that validating again may succeed.
    pub(crate) async fn refetch_keys(&self, seen: u64) -> bool {
        let _flight = self.keys.flight.lock().await;
        if self.keys.generation() != seen {
            return true;
        }
        let last = *self.keys.last_attempt.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|at| at.elapsed() < self.options.jwks_min_refetch) {
            return false;
        }
        match self.fetch_and_install().await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "could not fetch sessiond's keys");
                false
            }
        }
    }

    /// Fetches the JWK Set and trusts exactly its keys. Callers hold
    /// `flight`.
    async fn fetch_and_install(&self) -> Result<usize, FetchError> {
        *self.keys.last_attempt.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        let uri = self.jwks_uri().await?;
        let body = get_body(self.http.get(&uri), &uri, METADATA_CAP).await?;
        let keys = KeySet::from_jwks_json(&String::from_utf8_lossy(&body))?;
        let count = keys.len();
        if count == 0 {
            tracing::warn!(%uri, "sessiond publishes no key this guard can use");
        }
        let o = &self.options;
        self.validator.set_verifier(Verifier::new(keys, &o.issuer, &o.audience).with_leeway(o.leeway_secs()));
        self.keys.generation.fetch_add(1, Ordering::AcqRel);
        Ok(count)
    }

    /// The JWK Set's address: discovery's `jwks_uri`, or `/jwks.json`
    /// when the issuer has no discovery document (404).
    async fn jwks_uri(&self) -> Result<String, FetchError> {
        if let Some(uri) = self.keys.jwks_uri.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(uri);
        }
        let url = self.options.url(DISCOVERY_PATH);
        let uri = match get_body(self.http.get(&url), &url, METADATA_CAP).await {
            Ok(body) => {
                let meta: Metadata = serde_json::from_slice(&body).map_err(|e| FetchError::Discovery(e.to_string()))?;
                // §4.3: the document must name the issuer it was fetched for.
                if meta.issuer.trim_end_matches('/') != self.options.issuer {
                    return Err(FetchError::IssuerMismatch {
                        expected: self.options.issuer.clone(),
                        found: meta.issuer,
                    });
                }
                meta.jwks_uri
            }
            Err(FetchError::Status { status: reqwest::StatusCode::NOT_FOUND, .. }) => {
                self.options.url(DEFAULT_JWKS_PATH)
            }
            Err(e) => return Err(e),
        };
        *self.keys.jwks_uri.lock().unwrap_or_else(|e| e.into_inner()) = Some(uri.clone());
        Ok(uri)
    }
}
