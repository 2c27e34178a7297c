//! The request log: every request runs in a span that names its method,
//! route template and request id, and a failure (5xx) is logged once, in
//! that span, with its cause and the cause's sources. Nothing from the
//! request's headers or body is logged but the request id.
use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{HeaderMap, Request, Response};
use axum::Router;
use tower_http::trace::TraceLayer;
use tracing::Span;

use super::error::FailureCause;

/// Longest request id taken from a client.
const MAX_REQUEST_ID: usize = 64;

/// Wraps every route of `router` in the request span and failure log.
pub fn traced<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(
        TraceLayer::new_for_http()
            .make_span_with(|req: &Request<_>| {
                let route = req.extensions().get::<MatchedPath>().map_or("(none)", MatchedPath::as_str);
                let id = request_id(req.headers());
                tracing::info_span!("request", method = %req.method(), route, request_id = %id)
            })
            .on_request(())
            .on_response(|response: &Response<_>, latency: Duration, _: &Span| {
                let status = response.status().as_u16();
                let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
                match response.extensions().get::<FailureCause>() {
                    Some(cause) => tracing::error!(status, latency_ms, error = %Chain(&**cause.0), "request failed"),
                    None if response.status().is_server_error() => {
                        tracing::error!(status, latency_ms, "request failed")
                    }
                    None => tracing::debug!(status, latency_ms, "request"),
                }
            })
            .on_body_chunk(())
            .on_eos(())
            // Failures are logged above, once, with their cause.
            .on_failure(()),
    )
}

/// The client's `X-Request-Id` when it is short and plain, else a new one.
fn request_id(headers: &HeaderMap) -> String {
    let given = headers.get("x-request-id").and_then(|v| v.to_str().ok()).filter(|v| {
        !v.is_empty()
            && v.len() <= MAX_REQUEST_ID
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    match given {
        Some(id) => id.to_owned(),
        None => {
            static PREFIX: OnceLock<String> = OnceLock::new();
            static NEXT: AtomicU64 = AtomicU64::new(1);
            let prefix = PREFIX.get_or_init(|| crate::secrets::random_token(6));
            format!("{prefix}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
        }
    }
}

/// An error with its sources, `a: b: c`.
struct Chain<'a>(&'a (dyn Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn request_ids_are_taken_only_when_plain() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        h.insert("x-request-id", HeaderValue::from_static("bad id\"x"));
        assert_ne!(request_id(&h), "bad id\"x");
        assert_ne!(request_id(&HeaderMap::new()), request_id(&HeaderMap::new()), "generated ids differ");
    }

    #[test]
    fn chains_show_every_source() {
        let e = crate::grants::GrantError::Store(crate::store::StoreError::Corrupt("x".into()));
        assert_eq!(Chain(&e).to_string(), "storage failed: stored data is invalid: x");
    }
}
