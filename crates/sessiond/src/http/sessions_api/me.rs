//! `/api/v1/me/sessions`: the caller's own sessions.
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use sessiond_guard::AccessClaims;

use crate::app::App;
use crate::domain::{EndReason, SessionId, UserId};
use crate::http::bearer::Bearer;
use crate::http::context::RequestContext;
use crate::http::error::ApiError;
use crate::http::params::{QueryParams, Segment};
use crate::sessions::{end_session, end_user_sessions, Actor, SessionView};

/// The caller's user and session; client tokens have neither.
fn me(claims: &AccessClaims) -> Result<(UserId, SessionId), ApiError> {
    match claims.sid.as_deref() {
        Some(sid) => Ok((UserId::new(claims.sub.as_str()), SessionId::new(sid))),
        None => Err(ApiError::forbidden("the token belongs to no user")),
    }
}

fn actor(claims: &AccessClaims, context: crate::domain::SignInContext) -> Actor {
    Actor { name: claims.username.clone(), ip: context.ip, user_agent: context.user_agent }
}

/// `GET`: my live sessions, the current one marked.
pub async fn list(State(app): State<Arc<App>>, Bearer(claims): Bearer) -> Result<Json<serde_json::Value>, ApiError> {
    let (user, current) = me(&claims)?;
    let sessions = app.store.live_sessions_of_user(&user, app.clock.now()).await?;
    let views: Vec<SessionView> = sessions.iter().map(|s| SessionView::new(s, Some(s.id == current))).collect();
    Ok(Json(json!({ "sessions": views })))
}

/// `DELETE /{sid}`: end one of my sessions. Someone else's session is
/// answered as unknown.
pub async fn end_one(
    State(app): State<Arc<App>>,
    Bearer(claims): Bearer,
    RequestContext(context): RequestContext,
    Segment(sid): Segment,
) -> Result<Response, ApiError> {
    let (user, _) = me(&claims)?;
    let sid = SessionId::new(sid);
    match app.store.session(&sid).await? {
        Some(s) if s.user_id == user => {
            end_session(&app, &sid, EndReason::Logout, &actor(&claims, context)).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(ApiError::not_found("no such session")),
    }
}

/// `DELETE ?except_current=true`: end all my sessions, or all but this one.
pub async fn end_all(
    State(app): State<Arc<App>>,
    Bearer(claims): Bearer,
    RequestContext(context): RequestContext,
    QueryParams(query): QueryParams,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (user, current) = me(&claims)?;
    let except_current = QueryParams(query).flag("except_current")?;
    let keep = except_current.then_some(&current);
    let ended = end_user_sessions(&app, &user, keep, EndReason::Logout, &actor(&claims, context)).await?;
    Ok(Json(json!({ "ended": ended.len() })))
}
