//! Operations endpoints.
use axum::Json;
use serde_json::{json, Value};

/// `GET /healthz`: the process is up and serving.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /metrics`: Prometheus text exposition format (version 0.0.4).
pub async fn metrics(
    axum::extract::State(app): axum::extract::State<std::sync::Arc<crate::app::App>>,
) -> impl axum::response::IntoResponse {
    let body = crate::observe::render(&app).await;
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
}

/// `GET /readyz`: ready to validate — the revocation index was confirmed
/// current within `max_revocation_lag`, and the process is not stopping. A
/// node that is not answers 503 and its load balancer stops sending it
/// traffic.
pub async fn readyz(
    axum::extract::State(app): axum::extract::State<std::sync::Arc<crate::app::App>>,
) -> (axum::http::StatusCode, Json<Value>) {
    let lag_ms = u64::try_from(app.revocation_lag().as_millis()).unwrap_or(u64::MAX);
    let seq = app.log_position();
    if app.is_draining() {
        let body = json!({ "status": "draining", "revocation_lag_ms": lag_ms, "last_seq": seq });
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, Json(body))
    } else if app.is_current() {
        (axum::http::StatusCode::OK, Json(json!({ "status": "ready", "revocation_lag_ms": lag_ms, "last_seq": seq })))
    } else {
        let body = json!({ "status": "not_ready", "revocation_lag_ms": lag_ms, "last_seq": seq });
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}
