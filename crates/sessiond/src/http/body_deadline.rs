//! Reading request bodies: whole, under the size limit and within one total
//! deadline, before any handler runs.
//!
//! A deadline per read would not do: a client sending one byte every few
//! seconds never trips it and holds its connection (and a file descriptor)
//! for as long as it likes. So the whole body must arrive within
//! `body_timeout` of the end of the head; otherwise the answer is 408 with
//! `Connection: close`, and hyper closes the connection. Handlers then read
//! an in-memory body and can no longer be stalled by the client.
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::ApiError;

/// How much of a body, and how fast.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Longest the whole body may take to arrive.
    pub timeout: Duration,
    /// Largest body accepted (413 beyond it).
    pub max_bytes: usize,
}

/// Middleware: buffers the request body under `limits`, then runs the rest
/// of the stack on the buffered body.
pub async fn read_body(State(limits): State<BodyLimits>, req: Request, next: Next) -> Response {
    // hyper marks a request without Content-Length (or with 0) and without
    // Transfer-Encoding as ended already: GETs pay nothing here.
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let read = Limited::new(body, limits.max_bytes).collect();
    match tokio::time::timeout(limits.timeout, read).await {
        Ok(Ok(collected)) => next.run(Request::from_parts(parts, Body::from(collected.to_bytes()))).await,
        // Also refused before reading when Content-Length says too much.
        Ok(Err(e)) if e.is::<LengthLimitError>() => too_large(),
        // The client went away or sent a broken chunked encoding.
        Ok(Err(_)) => close(ApiError::invalid_request("could not read the request body")),
        Err(_) => {
            tracing::debug!(timeout = ?limits.timeout, "request body did not arrive in time");
            let description =
                format!("the request body did not arrive within {}", humantime::format_duration(limits.timeout));
            close(ApiError::invalid_request(description).with_status(StatusCode::REQUEST_TIMEOUT))
        }
    }
}

/// 413, as the form extractor has always answered it.
fn too_large() -> Response {
    ApiError::invalid_request("request body too large").with_status(StatusCode::PAYLOAD_TOO_LARGE).into_response()
}

/// An error after which the connection cannot carry another request: the
/// rest of the body is still on the way, so where the next request would
/// start is unknown.
fn close(error: ApiError) -> Response {
    let mut response = error.into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use axum::Router;
    use futures_util::StreamExt;
    use tower::ServiceExt;

    fn app(limits: BodyLimits) -> Router {
        Router::new()
            .route("/", post(|body: axum::body::Bytes| async move { body.len().to_string() }))
            .layer(axum::middleware::from_fn_with_state(limits, read_body))
    }

    const LIMITS: BodyLimits = BodyLimits { timeout: Duration::from_millis(200), max_bytes: 16 };

    async fn status_and_body(response: Response) -> (StatusCode, Vec<u8>) {
        let status = response.status();
        (status, response.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    #[tokio::test]
    async fn a_body_in_time_and_in_size_reaches_the_handler() {
        let response = app(LIMITS).oneshot(Request::post("/").body(Body::from("0123456789")).unwrap()).await.unwrap();
        assert_eq!(status_and_body(response).await, (StatusCode::OK, b"10".to_vec()));
    }

    #[tokio::test]
    async fn an_oversized_body_is_413() {
        let response = app(LIMITS).oneshot(Request::post("/").body(Body::from("x".repeat(17))).unwrap()).await.unwrap();
        let (status, body) = status_and_body(response).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["error"], "invalid_request");
    }

    #[tokio::test]
    async fn a_stalled_body_is_408_and_closes_the_connection() {
        // One byte, then nothing: the stream never ends.
        let stalled = futures_util::stream::iter([Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"a"))])
            .chain(futures_util::stream::pending());
        let request = Request::post("/").body(Body::from_stream(stalled)).unwrap();
        let response = app(LIMITS).oneshot(request).await.unwrap();
        assert_eq!(response.headers()[header::CONNECTION], "close");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let (status, body) = status_and_body(response).await;
        assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["error"], "invalid_request");
    }

    #[tokio::test]
    async fn a_request_without_a_body_passes_straight_through() {
        let app = Router::new()
            .route("/", axum::routing::get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(LIMITS, read_body));
        let response = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(status_and_body(response).await, (StatusCode::OK, b"ok".to_vec()));
    }
}
