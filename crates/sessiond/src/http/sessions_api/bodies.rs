//! What the session APIs answer, and the queries they take, as the
//! contract lists them (the handlers in `me` and `admin` build the answers;
//! the query types only document what `QueryParams` reads).
use serde::Serialize;

use crate::domain::AuditEvent;
use crate::sessions::SessionView;
use crate::store::LogoutDelivery;

/// A page of sessions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionPage {
    /// The sessions, by id.
    pub sessions: Vec<SessionView>,
    /// The `after` of the next page; `null` on the last one.
    pub next: Option<String>,
}

/// How many sessions ended.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ended {
    /// The number of sessions ended.
    pub ended: usize,
}

/// The query of `DELETE /api/v1/me/sessions`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Never built: it documents what the handler reads.
pub struct EndAllQuery {
    /// Keep the session of the token making the call.
    except_current: Option<bool>,
}

/// A user's live sessions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserSessions {
    /// The user's name.
    pub user: String,
    /// The sessions.
    pub sessions: Vec<SessionView>,
}

/// Every session of a user ended.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserSessionsEnded {
    /// The user's name.
    pub user: String,
    /// The number of sessions ended.
    pub ended: usize,
}

/// A user disabled or enabled.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserState {
    /// The user's name.
    pub user: String,
    /// Whether the user is disabled now.
    pub disabled: bool,
    /// On disabling: the number of sessions that ended with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions_ended: Option<usize>,
}

/// Back-channel logouts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Deliveries {
    /// Newest first.
    pub deliveries: Vec<LogoutDelivery>,
}

/// A page of the audit trail.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub events: Vec<AuditEvent>,
    /// The `before` of the next page; `null` on the last one.
    pub next_before: Option<i64>,
}

/// The query of the logout-deliveries list.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Never built: it documents what the handler reads.
pub struct DeliveriesQuery {
    /// The ones given up on, instead of the ones still to deliver.
    failed: Option<bool>,
    /// Most deliveries listed.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}

/// The query of the audit trail.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Never built: it documents what the handler reads.
pub struct AuditQuery {
    /// Only events about this user, by name (names of no user filter too:
    /// failed sign-ins of unknown names are stored as their first three
    /// characters and `…`).
    user: Option<String>,
    /// At or after (Unix seconds).
    since: Option<i64>,
    /// Before (Unix seconds).
    until: Option<i64>,
    /// Only events with `seq` below this: `next_before` of the previous page.
    before: Option<i64>,
    /// Most events listed.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u32>,
}
