//! Requests to sessiond: the one error type of the guard's background
//! work, time limits and size caps.
use std::time::Duration;

use reqwest::StatusCode;

use super::feed::FeedError;
use super::sse::SseError;
use crate::JwkError;

/// Time limit of one ordinary request (discovery, keys, snapshot) and of
/// the stream's answer head.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Time limit to connect, for the client the guard builds itself.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest discovery document or JWK Set read (both are a few KiB).
pub(crate) const METADATA_CAP: usize = 1024 * 1024;
/// Largest snapshot read. It holds every still-relevant revocation, which
/// the index holds in memory anyway; the cap only stops a runaway answer.
pub(crate) const SNAPSHOT_CAP: usize = 1024 * 1024 * 1024;

/// Why talking to sessiond failed; for logs. Every one of them is retried.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    /// Connecting, sending or reading failed, or timed out.
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    /// An answer other than 200 (401/403: the client is not a resource
    /// server, or its credentials are wrong).
    #[error("{url} answered {status}")]
    Status {
        /// What was asked for.
        url: String,
        /// What came back.
        status: StatusCode,
    },
    /// The answer head did not arrive in time.
    #[error("{0} did not answer within {REQUEST_TIMEOUT:?}")]
    NoAnswer(String),
    /// An answer larger than its cap.
    #[error("{0} answered more than expected")]
    TooLarge(String),
    /// Discovery named another issuer (OpenID Connect Discovery §4.3).
    #[error("discovery names issuer {found:?}, expected {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The one the document named.
        found: String,
    },
    /// Discovery was not JSON with a `jwks_uri`.
    #[error("malformed discovery document: {0}")]
    Discovery(String),
    /// The JWK Set did not parse.
    #[error(transparent)]
    Jwk(#[from] JwkError),
    /// The feed's JSON did not parse.
    #[error(transparent)]
    Feed(#[from] FeedError),
    /// The event stream broke a bound.
    #[error(transparent)]
    Sse(#[from] SseError),
    /// Nothing, not even a heartbeat, arrived for this long.
    #[error("the revocation stream was silent for {0:?}")]
    Silent(Duration),
}

/// Sends `request` and reads a 200 answer's body, at most `cap` bytes.
pub(crate) async fn get_body(request: reqwest::RequestBuilder, url: &str, cap: usize) -> Result<Vec<u8>, FetchError> {
    let mut response = request.timeout(REQUEST_TIMEOUT).send().await?;
    if response.status() != StatusCode::OK {
        return Err(FetchError::Status { url: url.to_owned(), status: response.status() });
    }
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(FetchError::TooLarge(url.to_owned()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > cap {
            return Err(FetchError::TooLarge(url.to_owned()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
