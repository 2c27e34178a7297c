//! `/api/v1/admin/...`: any user's sessions, for administrators.
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::app::App;
use crate::domain::{AuditFilter, EndReason, SessionId, UnixTime, User, UserId};
use crate::http::bearer::Bearer;
use crate::http::context::RequestContext;
use crate::http::error::ApiError;
use crate::http::openapi::responses::{BadRequest, BearerRejected, Forbidden, NotFound, PayloadTooLarge, Unavailable};
use crate::http::params::{NamePath, NoQuery, PageQuery, QueryParams, Segment, SidPath};
use crate::sessions::{self, Actor, SessionView};

use super::bodies::{
    AuditPage, AuditQuery, Deliveries, DeliveriesQuery, SessionPage, UserSessions, UserSessionsEnded, UserState,
};

/// The calling administrator: the request's Bearer token belongs to an
/// enabled user with the admin role (403 otherwise).
pub struct Admin(Actor);

impl FromRequestParts<Arc<App>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let Bearer(claims) = Bearer::from_request_parts(parts, app).await?;
        let Ok(RequestContext(context)) = RequestContext::from_request_parts(parts, app).await;
        if claims.sid.is_none() {
            return Err(ApiError::forbidden("administrator token required"));
        }
        match app.store.user_by_id(&UserId::new(claims.sub.as_str())).await? {
            Some(user) if user.is_admin && user.is_enabled() => {
                Ok(Admin(Actor { name: Some(user.name), ip: context.ip, user_agent: context.user_agent }))
            }
            _ => Err(ApiError::forbidden("administrator token required")),
        }
    }
}

async fn user_named(app: &App, name: &str) -> Result<User, ApiError> {
    app.store.user_by_name(name).await?.ok_or_else(|| ApiError::not_found("no such user"))
}

/// `GET /sessions?limit=N&after=SID`: every live session, by id, a page at
/// a time; `next` is the `after` of the next page.
#[utoipa::path(
    get,
    path = "/api/v1/admin/sessions",
    tag = "admin",
    summary = "Every live session",
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
pub async fn list_sessions(
    State(app): State<Arc<App>>,
    _admin: Admin,
    query: QueryParams,
) -> Result<Json<SessionPage>, ApiError> {
    let (limit, after) = query.only(&["limit", "after"])?.page()?;
    let after = after.map(SessionId::new);
    let page = app.store.live_sessions(None, after.as_ref(), limit, app.clock.now()).await?;
    let next = (page.len() == limit as usize).then(|| page.last().map(|s| s.id.to_string())).flatten();
    let views: Vec<SessionView> = page.iter().map(|s| SessionView::new(s, None)).collect();
    Ok(Json(SessionPage { sessions: views, next }))
}

/// `GET /users/{name}/sessions`.
#[utoipa::path(
    get,
    path = "/api/v1/admin/users/{name}/sessions",
    tag = "admin",
    summary = "A user's live sessions",
    params(NamePath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's live sessions", body = UserSessions),
        (status = 400, response = BadRequest),
        (status = 401, response = BearerRejected),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn user_sessions(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Segment(name): Segment,
    _: NoQuery,
) -> Result<Json<UserSessions>, ApiError> {
    let user = user_named(&app, &name).await?;
    let sessions = app.store.live_sessions_of_user(&user.id, app.clock.now()).await?;
    let views: Vec<SessionView> = sessions.iter().map(|s| SessionView::new(s, None)).collect();
    Ok(Json(UserSessions { user: user.name, sessions: views }))
}

/// `DELETE /users/{name}/sessions`: end every session of a user.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/users/{name}/sessions",
    tag = "admin",
    summary = "End every session of a user",
    params(NamePath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The sessions ended", body = UserSessionsEnded),
        (status = 400, response = BadRequest),
        (status = 401, response = BearerRejected),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn end_user_sessions(
    State(app): State<Arc<App>>,
    Admin(actor): Admin,
    Segment(name): Segment,
    _: NoQuery,
) -> Result<Json<UserSessionsEnded>, ApiError> {
    let user = user_named(&app, &name).await?;
    let ended = sessions::end_user_sessions(&app, &user.id, None, EndReason::Admin, &actor).await?;
    Ok(Json(UserSessionsEnded { user: user.name, ended: ended.len() }))
}

/// `DELETE /sessions/{sid}`: end one session (idempotent).
#[utoipa::path(
    delete,
    path = "/api/v1/admin/sessions/{sid}",
    tag = "admin",
    summary = "End one session",
    description = "Idempotent: a session that already ended is ended again (204).",
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
pub async fn end_session(
    State(app): State<Arc<App>>,
    Admin(actor): Admin,
    Segment(sid): Segment,
    _: NoQuery,
) -> Result<Response, ApiError> {
    let sid = SessionId::new(sid);
    if app.store.session(&sid).await?.is_none() {
        return Err(ApiError::not_found("no such session"));
    }
    sessions::end_session(&app, &sid, EndReason::Admin, &actor).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /users/{name}/disable`: the fired-employee case — in one step the
/// user can no longer sign in or refresh, and every session and token ends.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{name}/disable",
    tag = "admin",
    summary = "Disable a user",
    description = "In one step the user can no longer sign in or refresh, and every session and \
        token of theirs ends.",
    params(NamePath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user is disabled", body = UserState),
        (status = 400, response = BadRequest),
        (status = 401, response = BearerRejected),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn disable_user(
    State(app): State<Arc<App>>,
    Admin(actor): Admin,
    Segment(name): Segment,
    _: NoQuery,
) -> Result<Json<UserState>, ApiError> {
    match sessions::disable_user(&app, &name, &actor).await? {
        Some((user, ended)) => {
            Ok(Json(UserState { user: user.name, disabled: true, sessions_ended: Some(ended.len()) }))
        }
        None => Err(ApiError::not_found("no such user")),
    }
}

/// `POST /users/{name}/enable`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{name}/enable",
    tag = "admin",
    summary = "Enable a user again",
    params(NamePath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user is enabled", body = UserState),
        (status = 400, response = BadRequest),
        (status = 401, response = BearerRejected),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn enable_user(
    State(app): State<Arc<App>>,
    Admin(actor): Admin,
    Segment(name): Segment,
    _: NoQuery,
) -> Result<Json<UserState>, ApiError> {
    crate::accounts::enable_user(&app, &name, &actor).await.map_err(|e| match e {
        crate::accounts::AccountError::NotFound(_) => ApiError::not_found("no such user"),
        other => ApiError::internal(other),
    })?;
    Ok(Json(UserState { user: name, disabled: false, sessions_ended: None }))
}

/// `GET /logout-deliveries?failed=true&limit=N`: back-channel logouts not
/// yet delivered (or, with `failed=true`, given up on), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/admin/logout-deliveries",
    tag = "admin",
    summary = "Back-channel logouts still to deliver, or given up on",
    params(DeliveriesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The deliveries, newest first", body = Deliveries),
        (status = 400, response = BadRequest),
        (status = 401, response = BearerRejected),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn logout_deliveries(
    State(app): State<Arc<App>>,
    _admin: Admin,
    query: QueryParams,
) -> Result<Json<Deliveries>, ApiError> {
    let query = query.only(&["failed", "limit"])?;
    let failed = query.flag("failed")?;
    let limit = u32::try_from(query.number("limit", 100, 1..=1000)?).unwrap_or(100);
    let deliveries = app.store.deliveries(failed, limit).await?;
    Ok(Json(Deliveries { deliveries }))
}

/// `GET /audit?user=NAME&since=T&until=T&before=SEQ&limit=N`: newest first.
#[utoipa::path(
    get,
    path = "/api/v1/admin/audit",
    tag = "admin",
    summary = "The audit trail",
    description = "Who did what, when, from where; newest first, a page at a time.",
    params(AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of events", body = AuditPage),
        (status = 400, response = BadRequest),
        (status = 401, response = BearerRejected),
        (status = 403, response = Forbidden),
        (status = 503, response = Unavailable),
    ),
)]
pub async fn audit(
    State(app): State<Arc<App>>,
    _admin: Admin,
    query: QueryParams,
) -> Result<Json<AuditPage>, ApiError> {
    query.only(&["user", "since", "until", "before", "limit"])?;
    let user = match query.0.one("user")? {
        // An unknown name still filters (by name alone): failed sign-ins
        // of names that are no user's are stored by their first three
        // characters and `…` (`?user=mal…`).
        Some(name) => {
            let id = app.store.user_by_name(name).await?.map(|u| u.id.to_string()).unwrap_or_default();
            Some((name.to_owned(), id))
        }
        None => None,
    };
    let filter = AuditFilter {
        user,
        since: query.optional_number("since")?.map(UnixTime),
        until: query.optional_number("until")?.map(UnixTime),
        before_seq: query.optional_number("before")?,
        limit: u32::try_from(query.number("limit", 100, 1..=1000)?).unwrap_or(100),
    };
    let events = app.store.audit_events(&filter).await?;
    let next = (events.len() == filter.limit as usize).then(|| events.last().map(|e| e.seq)).flatten();
    Ok(Json(AuditPage { events, next_before: next }))
}
