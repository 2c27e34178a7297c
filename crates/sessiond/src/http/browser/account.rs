//! `/account`: a signed-in person's own sessions (which device, which
//! browser, from where, since when, which applications), with "sign out
//! this one", "everywhere else" and "everywhere"; their password, whose
//! change ends the other sessions unless they choose otherwise (OWASP ASVS
//! 5.0 V7); and the applications they allowed, with "remove access". Every
//! action goes through the same operations as the session API.
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::Serialize;

use super::authorize::unavailable;
use super::cookies;
use super::forms::{browser_session, csrf_field, see_other, with_cookies, SignedInForm};
use super::pages::{error_page, page};
use crate::accounts::{self, KeepSessions};
use crate::app::App;
use crate::browser::BrowserSession;
use crate::domain::{AuditEvent, AuditKind, ClientId, EndReason, Session, SessionId};
use crate::http::context::RequestContext;
use crate::secrets::Secret;
use crate::sessions::{end_session, end_user_sessions, Actor};

/// One session as the account and admin pages show it.
#[derive(Debug, Serialize)]
pub struct SessionRow {
    sid: String,
    device: String,
    ip: String,
    created_at: String,
    last_seen_at: String,
    applications: Vec<String>,
    current: bool,
}

impl SessionRow {
    /// The row of `session`; `current` when it is the viewer's own.
    pub async fn new(app: &App, session: &Session, current: bool) -> Self {
        let mut applications = Vec::new();
        if let Ok(grants) = app.store.grants_of_session(&session.id).await {
            for grant in grants {
                let name = match app.clients.get(app, &grant.client_id).await {
                    Ok(Some(c)) => c.name.clone(),
                    _ => grant.client_id.to_string(),
                };
                if !applications.contains(&name) {
                    applications.push(name);
                }
            }
        }
        Self {
            sid: session.id.to_string(),
            device: describe_device(session.context.user_agent.as_deref()),
            ip: session.context.ip.clone().unwrap_or_else(|| "unknown".into()),
            created_at: timestamp(session.created_at.0),
            last_seen_at: timestamp(session.last_seen_at.0),
            applications,
            current,
        }
    }
}

/// "Firefox on Linux" from a User-Agent, by a maintained parser.
pub fn describe_device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.is_empty()) else { return "Unknown device".into() };
    match woothee::parser::Parser::new().parse(ua) {
        Some(r) if r.name != "UNKNOWN" && r.os != "UNKNOWN" => format!("{} on {}", r.name, r.os),
        Some(r) if r.name != "UNKNOWN" => r.name.to_owned(),
        _ => ua.chars().take(48).collect(),
    }
}

/// A Unix time as `YYYY-MM-DD HH:MM UTC`.
pub fn timestamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

fn actor(b: &BrowserSession, context: crate::domain::SignInContext) -> Actor {
    Actor { name: Some(b.user.name.clone()), ip: context.ip, user_agent: context.user_agent }
}

/// `GET /account`.
pub async fn account(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let Some(browser) = browser_session(&app, &headers).await else { return see_other("/login") };
    render(&app, &headers, &browser, None, StatusCode::OK).await
}

async fn render(
    app: &App,
    headers: &HeaderMap,
    browser: &BrowserSession,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let now = app.clock.now();
    let sessions = match app.store.live_sessions(Some(&browser.user.id), None, 1000, now).await {
        Ok(s) => s,
        Err(e) => return unavailable(&e),
    };
    let mut rows = Vec::with_capacity(sessions.len());
    for s in &sessions {
        rows.push(SessionRow::new(app, s, s.id == browser.session.id).await);
    }
    // This browser first, then the newest.
    rows.sort_by(|a, b| b.current.cmp(&a.current).then(b.created_at.cmp(&a.created_at)));
    let mut consents = Vec::new();
    if let Ok(list) = app.store.consents_of(&browser.user.id).await {
        for (client_id, scope, granted_at) in list {
            let name = match app.clients.get(app, &client_id).await {
                Ok(Some(c)) => c.name.clone(),
                _ => client_id.to_string(),
            };
            consents.push(context! { client_id => client_id.to_string(), name, scope => scope.to_string(),
            granted_at => timestamp(granted_at.0) });
        }
    }
    let (csrf, set) = csrf_field(app, headers);
    let ctx = context! { csrf, user_name => browser.user.name.clone(), sessions => rows, consents, message,
    is_admin => browser.user.is_admin };
    with_cookies(page(status, "account.html", ctx), set)
}

/// `POST /account/sessions/{sid}/end`.
pub async fn end_one(
    State(app): State<Arc<App>>,
    RequestContext(context): RequestContext,
    Path(sid): Path<String>,
    SignedInForm { browser, .. }: SignedInForm,
) -> Response {
    let sid = SessionId::new(sid);
    match app.store.session(&sid).await {
        Ok(Some(s)) if s.user_id == browser.user.id => {}
        Ok(_) => return error_page(StatusCode::NOT_FOUND, "No such session", "That session is not one of yours."),
        Err(e) => return unavailable(&e),
    }
    if let Err(e) = end_session(&app, &sid, EndReason::Logout, &actor(&browser, context)).await {
        return unavailable(&e);
    }
    if sid == browser.session.id {
        return signed_out(&app);
    }
    see_other("/account")
}

/// `POST /account/sessions/end-others`.
pub async fn end_others(
    State(app): State<Arc<App>>,
    RequestContext(context): RequestContext,
    SignedInForm { browser, .. }: SignedInForm,
) -> Response {
    let keep = Some(&browser.session.id);
    match end_user_sessions(&app, &browser.user.id, keep, EndReason::Logout, &actor(&browser, context)).await {
        Ok(_) => see_other("/account"),
        Err(e) => unavailable(&e),
    }
}

/// `POST /account/sessions/end-all`.
pub async fn end_all(
    State(app): State<Arc<App>>,
    RequestContext(context): RequestContext,
    SignedInForm { browser, .. }: SignedInForm,
) -> Response {
    match end_user_sessions(&app, &browser.user.id, None, EndReason::Logout, &actor(&browser, context)).await {
        Ok(_) => signed_out(&app),
        Err(e) => unavailable(&e),
    }
}

/// The signed-out page, with the SSO cookie cleared.
fn signed_out(app: &App) -> Response {
    let clear = cookies::set(app, &app.config.cookies.session, "", "Lax", Some(0));
    with_cookies(page(StatusCode::OK, "signed_out.html", context! {}), [clear])
}

/// `POST /account/password`: the current password, a new one, and whether
/// to end every other session (checked by default).
pub async fn change_password(
    State(app): State<Arc<App>>,
    RequestContext(context): RequestContext,
    SignedInForm { browser, form, headers }: SignedInForm,
) -> Response {
    let one = |n| form.one(n).ok().flatten().unwrap_or("");
    let (current, new) = (one("current_password"), one("new_password"));
    let ip = context.ip.clone();
    // The same gate as any sign-in: throttled, bounded, one answer.
    if crate::login::check_credentials(&app, &browser.user.name, Secret::new(current), ip.as_deref()).await.is_err() {
        return render(&app, &headers, &browser, Some("The current password is not right."), StatusCode::BAD_REQUEST)
            .await;
    }
    let keep = if one("end_other_sessions") == "yes" {
        KeepSessions::AllBut(Some(&browser.session.id))
    } else {
        KeepSessions::All
    };
    let actor = actor(&browser, context);
    match accounts::set_password(&app, &browser.user.name, &Secret::new(new), keep, &actor).await {
        Ok(ended) => {
            let message = format!("Password changed; {ended} other session(s) signed out.");
            render(&app, &headers, &browser, Some(&message), StatusCode::OK).await
        }
        Err(accounts::AccountError::Invalid(m)) => {
            render(&app, &headers, &browser, Some(&m), StatusCode::BAD_REQUEST).await
        }
        Err(e) => {
            tracing::error!(error = %e, "password change failed");
            render(
                &app,
                &headers,
                &browser,
                Some("The password could not be changed."),
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await
        }
    }
}

/// `POST /account/consents/{client_id}/revoke`: the application loses
/// access: the consent is forgotten and every grant it holds in this
/// user's sessions is revoked, with its tokens.
pub async fn revoke_consent(
    State(app): State<Arc<App>>,
    RequestContext(context): RequestContext,
    Path(client_id): Path<String>,
    SignedInForm { browser, .. }: SignedInForm,
) -> Response {
    let now = app.clock.now();
    let client = ClientId::new(client_id);
    let revoked = AuditEvent {
        actor: Some(browser.user.name.clone()),
        user_id: Some(browser.user.id.to_string()),
        user_name: Some(browser.user.name.clone()),
        client_id: Some(client.to_string()),
        ip: context.ip,
        user_agent: context.user_agent,
        ..AuditEvent::new(AuditKind::ConsentRevoked, now)
    };
    let audit = crate::store::audit(move |_| vec![revoked.clone()]);
    match app.store.revoke_consent(&browser.user.id, &client, now, audit).await {
        Ok(revocations) => app.apply_revocations(&revocations),
        Err(e) => return unavailable(&e),
    }
    see_other("/account")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_devices_read_well() {
        assert_eq!(timestamp(0), "1970-01-01 00:00 UTC");
        assert_eq!(timestamp(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(timestamp(951_782_400), "2000-02-29 00:00 UTC");
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
        assert_eq!(describe_device(Some(firefox)), "Firefox on Linux");
        assert_eq!(describe_device(None), "Unknown device");
    }
}
