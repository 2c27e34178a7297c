//! Operations endpoints.
use axum::Json;
use serde_json::{json, Value};

/// `GET /healthz`: the process is up and serving.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
