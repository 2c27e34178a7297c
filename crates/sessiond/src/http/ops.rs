//! Operations endpoints.
use axum::Json;
use serde::Serialize;

/// `/healthz`'s answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    status: &'static str,
}

/// `/readyz`'s answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// Whether this node should get traffic.
    status: ReadyStatus,
    /// Time since the revocation index was last confirmed current.
    revocation_lag_ms: u64,
    /// The position in the revocation log the node has read to.
    last_seq: i64,
}

/// A node's readiness.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadyStatus {
    /// Serving, with a current revocation index.
    Ready,
    /// The revocation index was not confirmed current within `max_revocation_lag`.
    NotReady,
    /// Stopping.
    Draining,
}

/// `GET /healthz`: the process is up and serving.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    summary = "Liveness",
    responses((status = 200, description = "The process is up and serving", body = Health)),
)]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// `GET /metrics`: Prometheus text exposition format (version 0.0.4).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    summary = "Prometheus metrics",
    description = "The text exposition format 0.0.4 (README, *Monitoring*). Served here unless \
        `metrics_listen` gives the metrics a listener of their own.",
    responses((status = 200, description = "Every metric", body = String, content_type = "text/plain")),
)]
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
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    summary = "Readiness",
    description = "200 while the node's revocation index is confirmed current and it is not \\
        stopping; else 503, and its load balancer should stop sending it traffic.",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready, or draining", body = Readiness),
    ),
)]
pub async fn readyz(
    axum::extract::State(app): axum::extract::State<std::sync::Arc<crate::app::App>>,
) -> (axum::http::StatusCode, Json<Readiness>) {
    let revocation_lag_ms = u64::try_from(app.revocation_lag().as_millis()).unwrap_or(u64::MAX);
    let last_seq = app.log_position();
    let (code, status) = if app.is_draining() {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, ReadyStatus::Draining)
    } else if app.is_current() {
        (axum::http::StatusCode::OK, ReadyStatus::Ready)
    } else {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, ReadyStatus::NotReady)
    };
    (code, Json(Readiness { status, revocation_lag_ms, last_seq }))
}
