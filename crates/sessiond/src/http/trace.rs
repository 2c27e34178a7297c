//! The request log: one line a request at `info`, written when it is
//! answered, with its method, route template, status, latency, request id
//! and — once known — client id and session id; a failure (5xx) is that
//! line at `error`, with its cause and the cause's sources. Nothing from the
//! request's headers or body is logged but the request id: never a token,
//! secret, password, cookie or Authorization header. The request id
//! (`X-Request-Id`, the client's when plain, else a new one) is echoed on
//! the response; each request is counted in the metrics by route template
//! and status.
//!
//! The line is one event with its own fields, not an event in a span: at
//! one a request, building a span (and, in JSON, reading its fields back)
//! cost more than the line. The request still runs in a span, at `debug`,
//! so that at that level every line logged while it runs names it.
use std::collections::HashSet;
use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request as AxumRequest};
use axum::http::{Extensions, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::Router;
use tracing::{Instrument, Span};

use super::error::FailureCause;

/// The target of the request lines (buffered by the log writer).
pub const REQUEST_LOG: &str = "sessiond::request";

/// Longest request id taken from a client.
const MAX_REQUEST_ID: usize = 64;

/// Who a request acts for, filled in by the extractors that establish it
/// (it travels in the request's extensions), for its log line.
#[derive(Clone, Default)]
pub struct Actors(Arc<Mutex<ActorIds>>);

#[derive(Default)]
struct ActorIds {
    client_id: Option<String>,
    session_id: Option<String>,
}

impl Actors {
    /// The request's, from its extensions.
    pub fn of(extensions: &Extensions) -> Option<Actors> {
        extensions.get::<Actors>().cloned()
    }

    /// Names the client the request acts for: on its log line, and in its
    /// span.
    pub fn client(&self, client_id: &str) {
        self.ids().client_id = Some(client_id.to_owned());
        Span::current().record("client_id", client_id);
    }

    /// Names the session the request acts for.
    pub fn session(&self, session_id: &str) {
        self.ids().session_id = Some(session_id.to_owned());
        Span::current().record("session_id", session_id);
    }

    fn ids(&self) -> std::sync::MutexGuard<'_, ActorIds> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Wraps every route of `router` in the request log, the request id and
/// the metrics.
pub fn traced<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(axum::middleware::from_fn(identify_log_and_count))
}

/// Gives the request its id (echoed on the response), logs and counts it.
async fn identify_log_and_count(mut req: AxumRequest, next: Next) -> axum::response::Response {
    let route = req.extensions().get::<MatchedPath>().map_or("(none)", |p| intern(p.as_str()));
    let method = req.method().clone();
    let id = request_id(req.headers());
    let echoed = HeaderValue::from_str(&id).ok();
    let actors = Actors::default();
    req.extensions_mut().insert(actors.clone());
    let span = tracing::debug_span!(
        "request",
        %method,
        route,
        request_id = %id,
        client_id = tracing::field::Empty,
        session_id = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut response = next.run(req).instrument(span).await;
    let latency = started.elapsed();
    crate::observe::http_request(route, response.status().as_u16(), latency);
    log(&method, route, &id, &actors, &response, latency);
    if let Some(id) = echoed {
        response.headers_mut().insert("x-request-id", id);
    }
    response
}

/// The request's line.
fn log(
    method: &Method,
    route: &str,
    id: &str,
    actors: &Actors,
    response: &axum::response::Response,
    latency: Duration,
) {
    let status = response.status().as_u16();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    let failed = response.status().is_server_error();
    // Cheap when the line is filtered out: nothing below is built.
    if !(tracing::enabled!(target: REQUEST_LOG, tracing::Level::INFO)
        || failed && tracing::enabled!(target: REQUEST_LOG, tracing::Level::ERROR))
    {
        return;
    }
    let ids = actors.ids();
    let (client_id, session_id) = (ids.client_id.as_deref(), ids.session_id.as_deref());
    macro_rules! line {
        ($level:ident, $($extra:tt)*) => {
            tracing::$level!(target: REQUEST_LOG, method = method.as_str(), route, request_id = id, client_id, session_id, status, latency_ms, $($extra)*)
        };
    }
    match response.extensions().get::<FailureCause>() {
        Some(cause) => line!(error, error = %Chain(&**cause.0), "request failed"),
        None if failed => line!(error, "request failed"),
        None => line!(info, "request"),
    }
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
