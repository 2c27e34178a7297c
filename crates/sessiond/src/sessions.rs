//! Ending sessions and users: the durable write (with its revocations) in
//! the store, then the in-memory index, then the audit trail — in that
//! order, so nothing is reported ended before it is durably ended.
use serde::Serialize;

use crate::app::App;
use crate::domain::{AuditEvent, AuditKind, EndReason, Session, SessionId, User, UserId};
use crate::store::{SessionSelector, StoreError};

/// Who asked, for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// A user name, `client:ID`, or `cli`.
    pub name: Option<String>,
    /// Request address.
    pub ip: Option<String>,
    /// Request User-Agent.
    pub user_agent: Option<String>,
}

impl Actor {
    /// The command line.
    pub fn cli() -> Self {
        Self { name: Some("cli".into()), ..Self::default() }
    }

    /// An event of `kind` done by this actor now.
    pub fn event(&self, app: &App, kind: AuditKind) -> AuditEvent {
        AuditEvent {
            actor: self.name.clone(),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            ..AuditEvent::new(kind, app.clock.now())
        }
    }
}

/// Ends one session; the ended session, or `None` if it was unknown or
/// already over (ending is idempotent).
pub async fn end_session(
    app: &App,
    id: &SessionId,
    reason: EndReason,
    actor: &Actor,
) -> Result<Option<Session>, StoreError> {
    let mut ended = end(app, SessionSelector::One(id), reason, actor).await?;
    Ok(ended.pop())
}

/// Ends every live session of a user, except perhaps one.
pub async fn end_user_sessions(
    app: &App,
    user: &UserId,
    except: Option<&SessionId>,
    reason: EndReason,
    actor: &Actor,
) -> Result<Vec<Session>, StoreError> {
    end(app, SessionSelector::OfUser { user, except }, reason, actor).await
}

async fn end(
    app: &App,
    which: SessionSelector<'_>,
    reason: EndReason,
    actor: &Actor,
) -> Result<Vec<Session>, StoreError> {
    let now = app.clock.now();
    let ended = app.store.end_sessions(which, reason, now, app.revocation_horizon(now)).await?;
    app.apply_revocations(&ended.revocations);
    for s in &ended.sessions {
        record_end(app, s, reason, actor).await;
    }
    Ok(ended.sessions)
}

/// Audits one ended session.
pub async fn record_end(app: &App, session: &Session, reason: EndReason, actor: &Actor) {
    app.audit(AuditEvent {
        user_id: Some(session.user_id.to_string()),
        client_id: Some(session.client_id.to_string()),
        session_id: Some(session.id.to_string()),
        detail: Some(reason.as_str().to_owned()),
        ..actor.event(app, AuditKind::SessionEnded)
    })
    .await;
}

/// Disables a user: no more sign-ins or refreshes, every session ended and
/// every token revoked in one transaction. `None` if the user is unknown.
pub async fn disable_user(app: &App, name: &str, actor: &Actor) -> Result<Option<(User, Vec<Session>)>, StoreError> {
    let now = app.clock.now();
    let Some((user, ended)) = app.store.disable_user(name, now, app.revocation_horizon(now)).await? else {
        return Ok(None);
    };
    app.apply_revocations(&ended.revocations);
    app.audit(AuditEvent {
        user_id: Some(user.id.to_string()),
        user_name: Some(user.name.clone()),
        detail: Some(format!("{} session(s) ended", ended.sessions.len())),
        ..actor.event(app, AuditKind::UserDisabled)
    })
    .await;
    for s in &ended.sessions {
        record_end(app, s, EndReason::UserDisabled, actor).await;
    }
    Ok(Some((user, ended.sessions)))
}

/// A session as the API and the CLI show it.
#[derive(Debug, Serialize)]
pub struct SessionView {
    sid: String,
    user_id: String,
    client_id: String,
    created_at: i64,
    last_seen_at: i64,
    idle_expires_at: i64,
    absolute_expires_at: i64,
    ip: Option<String>,
    user_agent: Option<String>,
    /// For `me`: whether this is the session of the token making the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    current: Option<bool>,
}

impl SessionView {
    /// The view of a session; `current` only for the caller's own list.
    pub fn new(s: &Session, current: Option<bool>) -> Self {
        Self {
            sid: s.id.to_string(),
            user_id: s.user_id.to_string(),
            client_id: s.client_id.to_string(),
            created_at: s.created_at.0,
            last_seen_at: s.last_seen_at.0,
            idle_expires_at: s.idle_expires_at.0,
            absolute_expires_at: s.absolute_expires_at.0,
            ip: s.context.ip.clone(),
            user_agent: s.context.user_agent.clone(),
            current,
        }
    }
}
