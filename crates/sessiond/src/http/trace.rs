//! The request log: every request runs in a span that names its method,
//! route template, request id and — once known — client id and session id;
//! one line a request at `info` gives its status and latency, and a failure
//! (5xx) is logged once, in that span, with its cause and the cause's
//! sources. Nothing from the request's headers or body is logged but the
//! request id: never a token, secret, password, cookie or Authorization
//! header. The request id (`X-Request-Id`, the client's when plain, else a
//! new one) is echoed on the response; each request is counted in the
//! metrics by route template and status.
use std::collections::HashSet;
use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request as AxumRequest};
use axum::http::{HeaderMap, HeaderValue, Request, Response};
use axum::middleware::Next;
use axum::Router;
use tower_http::trace::TraceLayer;
use tracing::Span;

use super::error::FailureCause;

/// Longest request id taken from a client.
const MAX_REQUEST_ID: usize = 64;

/// This request's id (in the request's extensions).
#[derive(Clone)]
struct RequestId(String);

/// Wraps every route of `router` in the request span and log, the request
/// id and the metrics.
pub fn traced<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let route = req.extensions().get::<MatchedPath>().map_or("(none)", MatchedPath::as_str);
                    let id = req.extensions().get::<RequestId>().map_or("", |id| id.0.as_str());
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        route,
                        request_id = %id,
                        client_id = tracing::field::Empty,
                        session_id = tracing::field::Empty,
                    )
                })
                .on_request(())
                .on_response(|response: &Response<_>, latency: Duration, _: &Span| {
                    let status = response.status().as_u16();
                    let latency_ms = latency.as_secs_f64() * 1000.0;
                    match response.extensions().get::<FailureCause>() {
                        Some(cause) => {
                            tracing::error!(status, latency_ms, error = %Chain(&**cause.0), "request failed")
                        }
                        None if response.status().is_server_error() => {
                            tracing::error!(status, latency_ms, "request failed")
                        }
                        None => tracing::info!(status, latency_ms, "request"),
                    }
                })
                .on_body_chunk(())
                .on_eos(())
                // Failures are logged above, once, with their cause.
                .on_failure(()),
        )
        // Outside the span, so the span can name the id.
        .layer(axum::middleware::from_fn(identify_and_count))
}

/// Gives the request its id (echoed on the response) and counts it.
async fn identify_and_count(mut req: AxumRequest, next: Next) -> axum::response::Response {
    let route = req.extensions().get::<MatchedPath>().map_or("(none)", |p| intern(p.as_str()));
    let id = request_id(req.headers());
    let echoed = HeaderValue::from_str(&id).ok();
    req.extensions_mut().insert(RequestId(id));
    let started = Instant::now();
    let mut response = next.run(req).await;
    crate::observe::http_request(route, response.status().as_u16(), started.elapsed());
    if let Some(id) = echoed {
        response.headers_mut().insert("x-request-id", id);
    }
    response
}

/// Names the client and session a request acts for, in its span (and so
/// on its log lines), once an extractor has established them.
pub fn record_client(client_id: &str) {
    Span::current().record("client_id", client_id);
}

/// See [`record_client`].
pub fn record_session(session_id: &str) {
    Span::current().record("session_id", session_id);
}

/// A route template as a `'static` label. Templates come from the router,
/// never from requests, so the set is as small as the route table.
fn intern(template: &str) -> &'static str {
    static SEEN: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    if let Some(found) = seen.read().ok().and_then(|s| s.get(template).copied()) {
        return found;
    }
    let Ok(mut seen) = seen.write() else { return "(unknown)" };
    if let Some(found) = seen.get(template) {
        return found;
    }
    let leaked: &'static str = Box::leak(template.to_owned().into_boxed_str());
    seen.insert(leaked);
    leaked
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
