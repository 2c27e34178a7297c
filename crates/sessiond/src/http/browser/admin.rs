//! `/admin`: for administrators signed in through the browser. Find a
//! user, see their sessions and applications, end one or all, disable and
//! enable the user; read the audit trail with filters; list the clients.
//! Every action is one of the operations the admin API uses.
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use minijinja::context;

use super::account::{timestamp, SessionRow};
use super::authorize::unavailable;
use super::forms::{browser_session, csrf_field, see_other, with_cookies, SignedInForm};
use super::pages::{error_page, page};
use crate::app::App;
use crate::browser::BrowserSession;
use crate::domain::{AuditFilter, EndReason, SessionId, UnixTime};
use crate::http::context::RequestContext;
use crate::http::form::OAuthForm;
use crate::sessions::{self, Actor};

/// The signed-in administrator, or the response that turns the browser away.
async fn administrator(app: &App, headers: &HeaderMap) -> Result<BrowserSession, Response> {
    let browser = browser_session(app, headers).await.ok_or_else(|| see_other("/login"))?;
    administrator_only(&browser)?;
    Ok(browser)
}

/// Turns away a signed-in user who is not an administrator.
fn administrator_only(browser: &BrowserSession) -> Result<(), Response> {
    if browser.user.is_admin {
        Ok(())
    } else {
        Err(error_page(StatusCode::FORBIDDEN, "Administrators only", "Your account is not an administrator."))
    }
}

fn actor(b: &BrowserSession, context: crate::domain::SignInContext) -> Actor {
    Actor { name: Some(b.user.name.clone()), ip: context.ip, user_agent: context.user_agent }
}

/// `GET /admin?user=NAME&audit_user=&since=&until=`: the search box, the
/// clients, and the audit trail (newest first, filtered).
pub async fn admin(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Response {
    let admin = match administrator(&app, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let query = OAuthForm::parse(uri.query().unwrap_or("").as_bytes()).unwrap_or_default();
    let one = |n| query.one(n).ok().flatten().map(str::to_owned);
    if let Some(name) = one("user") {
        let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        return see_other(&format!("/admin/users/{encoded}"));
    }
    let clients = match app.store.list_clients().await {
        Ok(list) => list,
        Err(e) => return unavailable(&e),
    };
    let clients: Vec<_> = clients
        .iter()
        .map(|c| {
            let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
            context! { id => c.id.to_string(), name => c.name.clone(), kind => c.kind.as_str(),
            grants => grants.join(" "), first_party => c.first_party }
        })
        .collect();
    let parse_time = |n| one(n).and_then(|v| v.parse::<i64>().ok()).map(UnixTime);
    let audit_user = one("audit_user").filter(|u| !u.is_empty());
    let filter = AuditFilter {
        user: audit_user.clone().map(|name| (name, String::new())),
        since: parse_time("since"),
        until: parse_time("until"),
        before_seq: None,
        limit: 100,
    };
    let events = match app.store.audit_events(&filter).await {
        Ok(events) => events,
        Err(e) => return unavailable(&e),
    };
    let events: Vec<_> = events
        .iter()
        .map(|e| {
            context! { at => timestamp(e.at.0), kind => e.kind.map_or("unknown", |k| k.as_str()),
            actor => e.actor.clone(), user => e.user_name.clone().or_else(|| e.user_id.clone()),
            client => e.client_id.clone(), ip => e.ip.clone(), detail => e.detail.clone() }
        })
        .collect();
    let (csrf, set) = csrf_field(&app, &headers);
    let ctx = context! { csrf, user_name => admin.user.name.clone(), clients, events, audit_user };
    with_cookies(page(StatusCode::OK, "admin.html", ctx), set)
}

/// `GET /admin/users/{name}`: a user, their sessions and applications.
pub async fn user(State(app): State<Arc<App>>, headers: HeaderMap, Path(name): Path<String>) -> Response {
    let admin = match administrator(&app, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let user = match app.store.user_by_name(&name).await {
        Ok(Some(u)) => u,
        Ok(None) => return error_page(StatusCode::NOT_FOUND, "No such user", "No user has that name."),
        Err(e) => return unavailable(&e),
    };
    let now = app.clock.now();
    let mut sessions = match app.store.live_sessions(Some(&user.id), None, 1000, now).await {
        Ok(s) => s,
        Err(e) => return unavailable(&e),
    };
    // The newest first, as on the account page (the store lists by id,
    // which is random).
    sessions.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    let mut rows = Vec::with_capacity(sessions.len());
    for s in &sessions {
        rows.push(SessionRow::new(&app, s, s.id == admin.session.id).await);
    }
    let (csrf, set) = csrf_field(&app, &headers);
    let ctx = context! { csrf, user_name => admin.user.name.clone(), subject => user.name.clone(),
    disabled => !user.is_enabled(), is_admin => user.is_admin, sessions => rows };
    with_cookies(page(StatusCode::OK, "admin_user.html", ctx), set)
}

fn back_to(name: &str) -> Response {
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    see_other(&format!("/admin/users/{encoded}"))
}

/// `POST /admin/users/{name}/sessions/{sid}/end`.
pub async fn end_one(
    State(app): State<Arc<App>>,
    RequestContext(context): RequestContext,
    Path((name, sid)): Path<(String, String)>,
    SignedInForm { browser: admin, .. }: SignedInForm,
) -> Response {
    if let Err(refused) = administrator_only(&admin) {
        return refused;
    }
    if let Err(e) = sessions::end_session(&app, &SessionId::new(sid), EndReason::Admin, &actor(&admin, context)).await {
        return unavailable(&e);
    }
    back_to(&name)
}

/// `POST /admin/users/{name}/sessions/end-all`.
pub async fn end_all(
    State(app): State<Arc<App>>,
    RequestContext(context): RequestContext,
    Path(name): Path<String>,
    SignedInForm { browser: admin, .. }: SignedInForm,
) -> Response {
    if let Err(refused) = administrator_only(&admin) {
        return refused;
    }
    let user = match app.store.user_by_name(&name).await {
        Ok(Some(u)) => u,
        Ok(None) => return error_page(StatusCode::NOT_FOUND, "No such user", "No user has that name."),
        Err(e) => return unavailable(&e),
    };
    if let Err(e) = sessions::end_user_sessions(&app, &user.id, None, EndReason::Admin, &actor(&admin, context)).await {
        return unavailable(&e);
    }
    back_to(&name)
}

/// `POST /admin/users/{name}/disable`: the fired-employee case.
pub async fn disable(
    State(app): State<Arc<App>>,
    RequestContext(context): RequestContext,
    Path(name): Path<String>,
    SignedInForm { browser: admin, .. }: SignedInForm,
) -> Response {
    if let Err(refused) = administrator_only(&admin) {
        return refused;
    }
    match sessions::disable_user(&app, &name, &actor(&admin, context)).await {
        Ok(Some(_)) => back_to(&name),
        Ok(None) => error_page(StatusCode::NOT_FOUND, "No such user", "No user has that name."),
        Err(e) => unavailable(&e),
    }
}

/// `POST /admin/users/{name}/enable`.
pub async fn enable(
    State(app): State<Arc<App>>,
    RequestContext(context): RequestContext,
    Path(name): Path<String>,
    SignedInForm { browser: admin, .. }: SignedInForm,
) -> Response {
    if let Err(refused) = administrator_only(&admin) {
        return refused;
    }
    match crate::accounts::enable_user(&app, &name, &actor(&admin, context)).await {
        Ok(()) => back_to(&name),
        Err(crate::accounts::AccountError::NotFound(_)) => {
            error_page(StatusCode::NOT_FOUND, "No such user", "No user has that name.")
        }
        Err(e) => {
            tracing::error!(error = %e, "enable failed");
            error_page(StatusCode::SERVICE_UNAVAILABLE, "Try again", "The user could not be enabled.")
        }
    }
}
