//! Sessions: opening one at sign-in (`open`), ending sessions and users,
//! and how they are shown (`view`). Ending is the durable write (with its
//! revocations) in the store, then the in-memory index, then the audit
//! trail — in that order, so nothing is reported ended before it is durably
//! ended.
mod open;
mod view;

pub use open::{open_browser_session, open_session, OpenError, OpenedSession};
pub use view::SessionView;

use crate::app::App;
use crate::domain::{AuditEvent, AuditKind, EndReason, Session, SessionId, User, UserId};
use crate::store::{self, Ended, EndedSession, SessionSelector, StoreError};

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
) -> Result<Option<EndedSession>, StoreError> {
    let mut ended = end(app, SessionSelector::One(id.clone()), reason, actor).await?;
    Ok(ended.pop())
}

/// Ends every live session of a user, except perhaps one.
pub async fn end_user_sessions(
    app: &App,
    user: &UserId,
    except: Option<&SessionId>,
    reason: EndReason,
    actor: &Actor,
) -> Result<Vec<EndedSession>, StoreError> {
    let which = SessionSelector::OfUser { user: user.clone(), except: except.cloned() };
    end(app, which, reason, actor).await
}

async fn end(
    app: &App,
    which: SessionSelector,
    reason: EndReason,
    actor: &Actor,
) -> Result<Vec<EndedSession>, StoreError> {
    let now = app.clock.now();
    let base = actor.event(app, AuditKind::SessionEnded);
    let audit = store::audit(move |ended: &Ended| ended_events(&base, &ended.sessions, reason));
    let ended = app.store.end_sessions(which, reason, now, audit).await?;
    crate::observe::sessions_ended(reason, ended.sessions.len());
    app.apply_revocations(&ended.revocations);
    Ok(ended.sessions)
}

/// The audit events of sessions that ended for `reason`, each `base` with
/// the session's ids.
pub(crate) fn ended_events(base: &AuditEvent, sessions: &[EndedSession], reason: EndReason) -> Vec<AuditEvent> {
    sessions.iter().map(|s| ended_event(base, &s.session, reason)).collect()
}

/// The audit event of one ended session.
pub(crate) fn ended_event(base: &AuditEvent, session: &Session, reason: EndReason) -> AuditEvent {
    AuditEvent {
        kind: Some(AuditKind::SessionEnded),
        user_id: Some(session.user_id.to_string()),
        client_id: Some(session.client_id.to_string()),
        session_id: Some(session.id.to_string()),
        detail: Some(reason.as_str().to_owned()),
        ..base.clone()
    }
}

/// Disables a user: no more sign-ins or refreshes, every session ended and
/// every token revoked in one transaction. `None` if the user is unknown.
pub async fn disable_user(
    app: &App,
    name: &str,
    actor: &Actor,
) -> Result<Option<(User, Vec<EndedSession>)>, StoreError> {
    let now = app.clock.now();
    let base = actor.event(app, AuditKind::UserDisabled);
    let audit = store::audit(move |outcome: &Option<(User, Ended)>| {
        let Some((user, ended)) = outcome else { return Vec::new() };
        let mut events = vec![AuditEvent {
            user_id: Some(user.id.to_string()),
            user_name: Some(user.name.clone()),
            detail: Some(format!("{} session(s) ended", ended.sessions.len())),
            ..base.clone()
        }];
        events.extend(ended_events(&base, &ended.sessions, EndReason::UserDisabled));
        events
    });
    let Some((user, ended)) = app.store.disable_user(name, now, audit).await? else {
        return Ok(None);
    };
    crate::observe::sessions_ended(EndReason::UserDisabled, ended.sessions.len());
    app.apply_revocations(&ended.revocations);
    Ok(Some((user, ended.sessions)))
}
