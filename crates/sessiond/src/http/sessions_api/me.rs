//! `/api/v1/me/sessions`: the caller's own sessions.
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::app::App;
use crate::domain::{EndReason, SessionId, User, UserId};
use crate::http::bearer::Bearer;
use crate::http::context::RequestContext;
use crate::http::error::ApiError;
use crate::http::openapi::responses::{BadRequest, BearerRejected, Forbidden, NotFound, Unavailable};
use crate::http::params::{NoQuery, PageQuery, QueryParams, Segment, SidPath};
use crate::sessions::{end_session, end_user_sessions, Actor, SessionView};

use super::bodies::{EndAllQuery, Ended, SessionPage};

/// The calling user and their session, from a Bearer token whose user is
/// enabled in the store. The index already refuses a disabled user's
/// tokens; this reads the stored state as well, so the answer never rests on
/// the index alone. Client tokens have no user (403).
pub struct Me {
    user: User,
    session: SessionId,
    actor: Actor,
}

impl FromRequestParts<Arc<App>> for Me {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let Bearer(claims) = Bearer::from_request_parts(parts, app).await?;
        let Ok(RequestContext(context)) = RequestContext::from_request_parts(parts, app).await;
        let Some(sid) = claims.sid.as_deref() else {
            return Err(ApiError::forbidden("the token belongs to no user"));
        };
        match app.store.user_by_id(&UserId::new(claims.sub.as_str())).await? {
            Some(user) if user.is_enabled() => Ok(Me {
                actor: Actor { name: Some(user.name.clone()), ip: context.ip, user_agent: context.user_agent },
                user,
                session: SessionId::new(sid),
            }),
            _ => Err(ApiError::bearer(true, "the user is disabled")),
        }
    }
}

/// `GET ?limit=N&after=SID`: my live sessions by id, a page at a time
/// (`next` is the `after` of the next page), the current one marked.
#[utoipa::path(
    get,
    path = "/api/v1/me/sessions",
    tag = "sessions",
    summary = "My live sessions",
    description = "The caller's live sessions, by id, a page at a time; `current` marks the session \
        of the token making the call.",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of sessions", body = SessionPage),
        (status = 400, response = BadRequest),
        (status = 401, response = BearerRejected),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn list(State(app): State<Arc<App>>, me: Me, query: QueryParams) -> Result<Json<SessionPage>, ApiError> {
    let (limit, after) = query.only(&["limit", "after"])?.page()?;
    let after = after.map(SessionId::new);
    let page = app.store.live_sessions(Some(&me.user.id), after.as_ref(), limit, app.clock.now()).await?;
    let next = (page.len() == limit as usize).then(|| page.last().map(|s| s.id.to_string())).flatten();
    let views: Vec<SessionView> = page.iter().map(|s| SessionView::new(s, Some(s.id == me.session))).collect();
    Ok(Json(SessionPage { sessions: views, next }))
}

/// `DELETE /{sid}`: end one of my sessions. Someone else's session is
/// answered as unknown.
#[utoipa::path(
    delete,
    path = "/api/v1/me/sessions/{sid}",
    tag = "sessions",
    summary = "End one of my sessions",
    params(SidPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session ended"),
        (status = 400, response = BadRequest),
        (status = 401, response = BearerRejected),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn end_one(
    State(app): State<Arc<App>>,
    me: Me,
    Segment(sid): Segment,
    _: NoQuery,
) -> Result<Response, ApiError> {
    let sid = SessionId::new(sid);
    match app.store.session(&sid).await? {
        Some(s) if s.user_id == me.user.id => {
            end_session(&app, &sid, EndReason::Logout, &me.actor).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(ApiError::not_found("no such session")),
    }
}

/// `DELETE ?except_current=true`: end all my sessions, or all but this one.
#[utoipa::path(
    delete,
    path = "/api/v1/me/sessions",
    tag = "sessions",
    summary = "End all my sessions",
    params(EndAllQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The sessions ended", body = Ended),
        (status = 400, response = BadRequest),
        (status = 401, response = BearerRejected),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn end_all(State(app): State<Arc<App>>, me: Me, query: QueryParams) -> Result<Json<Ended>, ApiError> {
    let except_current = query.only(&["except_current"])?.flag("except_current")?;
    let keep = except_current.then_some(&me.session);
    let ended = end_user_sessions(&app, &me.user.id, keep, EndReason::Logout, &me.actor).await?;
    Ok(Json(Ended { ended: ended.len() }))
}
