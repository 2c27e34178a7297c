//! The audit trail: who did what, when, from where.
use serde::Serialize;

use super::UnixTime;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A user signed in (a session began).
    SignIn,
    /// A sign-in was refused (wrong credentials, disabled user, limit).
    SignInFailed,
    /// A refresh token was exchanged.
    Refresh,
    /// A used refresh token came back; its session was ended.
    RefreshReuse,
    /// A token was revoked (RFC 7009 or the CLI).
    TokenRevoked,
    /// A session ended.
    SessionEnded,
    /// A user was disabled.
    UserDisabled,
    /// A user was enabled.
    UserEnabled,
    /// A client was removed.
    ClientRemoved,
    /// A user's password was changed.
    PasswordChanged,
    /// An authorization code was exchanged for tokens.
    CodeExchanged,
    /// A used authorization code came back; its tokens were revoked.
    CodeReuse,
    /// A user allowed a client (consent).
    ConsentGranted,
    /// A user withdrew a client's access.
    ConsentRevoked,
}

impl AuditKind {
    /// Every kind.
    pub const ALL: [AuditKind; 14] = [
        Self::SignIn,
        Self::SignInFailed,
        Self::Refresh,
        Self::RefreshReuse,
        Self::TokenRevoked,
        Self::SessionEnded,
        Self::UserDisabled,
        Self::UserEnabled,
        Self::ClientRemoved,
        Self::PasswordChanged,
        Self::CodeExchanged,
        Self::CodeReuse,
        Self::ConsentGranted,
        Self::ConsentRevoked,
    ];

    /// Storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::Refresh => "refresh",
            Self::RefreshReuse => "refresh_reuse",
            Self::TokenRevoked => "token_revoked",
            Self::SessionEnded => "session_ended",
            Self::UserDisabled => "user_disabled",
            Self::UserEnabled => "user_enabled",
            Self::ClientRemoved => "client_removed",
            Self::PasswordChanged => "password_changed",
            Self::CodeExchanged => "code_exchanged",
            Self::CodeReuse => "code_reuse",
            Self::ConsentGranted => "consent_granted",
            Self::ConsentRevoked => "consent_revoked",
        }
    }

    /// Parses a storage name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// One recorded event.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Position in the trail (0 before it is stored).
    pub seq: i64,
    /// When (Unix seconds).
    #[schema(value_type = i64)]
    pub at: UnixTime,
    /// What.
    pub kind: Option<AuditKind>,
    /// Who did it: a user name, `client:ID`, or `cli`.
    pub actor: Option<String>,
    /// The user it concerns.
    pub user_id: Option<String>,
    /// That user's name.
    pub user_name: Option<String>,
    /// The client involved.
    pub client_id: Option<String>,
    /// The session involved.
    pub session_id: Option<String>,
    /// Where the request came from.
    pub ip: Option<String>,
    /// Its User-Agent.
    pub user_agent: Option<String>,
    /// Anything else worth knowing (a reason, a count).
    pub detail: Option<String>,
}

impl AuditEvent {
    /// An event of `kind` at `at`; fill in the rest with struct update.
    pub fn new(kind: AuditKind, at: UnixTime) -> Self {
        Self { kind: Some(kind), at, ..Self::default() }
    }
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only events about this user, by name or id (some events know only one).
    pub user: Option<(String, String)>,
    /// At or after.
    pub since: Option<UnixTime>,
    /// Before.
    pub until: Option<UnixTime>,
    /// Only events with `seq` below this (paging backwards).
    pub before_seq: Option<i64>,
    /// Most events to return.
    pub limit: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in AuditKind::ALL {
            assert_eq!(AuditKind::parse(k.as_str()), Some(k));
        }
    }
}
