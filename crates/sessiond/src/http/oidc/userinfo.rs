//! `GET`/`POST /oauth2/userinfo` (OpenID Connect Core §5.3): the claims
//! about the user that the access token's scope allows, checked through
//! the same validation path as introspection (so a revoked token gets 401
//! with an RFC 6750 challenge).
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::app::App;
use crate::domain::UserId;
use crate::http::bearer::Bearer;
use crate::http::error::ApiError;
use crate::http::openapi::responses::{BearerRejected, Forbidden, PayloadTooLarge, Unavailable};

/// The answer (§5.3.2): `sub` always, the `profile` claims with that scope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserInfo {
    /// The user's id.
    sub: String,
    /// `profile`: the user's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// `profile`: the user's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<String>,
    /// `profile`: when the account was last changed (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<i64>,
}

/// The UserInfo endpoint.
#[utoipa::path(
    method(get, post),
    path = crate::http::oidc::discovery::USERINFO_PATH,
    tag = "oidc",
    summary = "UserInfo (OpenID Connect Core §5.3)",
    description = "The claims about the token's user that its scope allows: `sub` always, `name`, \
        `preferred_username` and `updated_at` with `profile`. The token needs the `openid` scope.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's claims", body = UserInfo),
        (status = 401, response = BearerRejected),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn userinfo(State(app): State<Arc<App>>, Bearer(claims): Bearer) -> Result<Json<UserInfo>, ApiError> {
    let scopes = claims.scope.as_deref().unwrap_or("");
    // §5.3: the access token must have been issued for OpenID Connect.
    if !scopes.split(' ').any(|s| s == "openid") || claims.sid.is_none() {
        return Err(ApiError::forbidden("the access token has no openid scope"));
    }
    let user = match app.store.user_by_id(&UserId::new(claims.sub.as_str())).await? {
        Some(user) if user.is_enabled() => user,
        _ => return Err(ApiError::bearer(true, "the user is disabled")),
    };
    let profile = scopes.split(' ').any(|s| s == "profile");
    Ok(Json(UserInfo {
        sub: user.id.to_string(),
        name: profile.then(|| user.name.clone()),
        preferred_username: profile.then(|| user.name.clone()),
        updated_at: profile.then_some(user.created_at.0),
    }))
}
