//! A session as the API and the CLI show it.
use serde::Serialize;

use crate::domain::Session;

/// A session as the API and the CLI show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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
