//! `GET /jwks.json`: the current key and every retired key that may still
//! have signed a live token.
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::app::App;

/// The JWK Set (RFC 7517 §5), serialized once per key ring.
#[utoipa::path(
    get,
    path = crate::http::oidc::discovery::JWKS_PATH,
    tag = "oidc",
    summary = "JWK Set (RFC 7517 §5)",
    description = "The public keys tokens are signed with: the current key and every retired key \
        that may still have signed a live token.",
    responses((status = 200, description = "The key set", body = crate::http::openapi::schemas::JwkSet)),
)]
pub async fn jwks(State(app): State<Arc<App>>) -> impl IntoResponse {
    let keys = app.keys();
    (
        // Short: verifiers should see a new key soon after a rotation (and
        // refetch at once on an unknown `kid`).
        [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "public, max-age=60")],
        keys.jwks_json().to_owned(),
    )
}
