//! While the process drains before stopping, every response asks the
//! client to close its connection (RFC 9112 §9.6), so a keep-alive client
//! opens its next one elsewhere (through its load balancer, which has seen
//! `/readyz` turn 503) instead of finding this one closed under a request.
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::Response;

use crate::app::App;

/// Adds `Connection: close` to a response while draining (hyper then
/// closes the connection once the response is sent).
pub async fn close_when_draining(State(app): State<Arc<App>>, mut response: Response) -> Response {
    if app.is_draining() {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
