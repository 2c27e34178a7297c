//! Users, clients, sessions, grants and the policies over them. Pure: no I/O,
//! no clock, no randomness; callers pass those in.
mod audit;
mod audit_text;
mod authorize;
mod client;
mod ids;
mod refresh;
mod scope;
mod session;
mod time;
mod token_settings;
mod user;

pub use audit::{AuditEvent, AuditFilter, AuditKind};
pub use audit_text::name_hint;
pub use authorize::{pkce_matches, recent_enough, redirect_uri_allowed, valid_code_challenge, valid_code_verifier};
pub use client::{Client, ClientKind, GrantType, NewClient};
pub use ids::{ClientId, GrantId, KeyId, SessionId, TokenId, UserId};
pub use refresh::{RefreshFacts, RefreshState};
pub use scope::{Scope, ScopeError};
pub use session::{Admission, EndReason, LimitPolicy, Session, SessionLimit, SessionPolicy, SignInContext};
pub use time::UnixTime;
pub use token_settings::{TokenBounds, TokenSettings, CUTOFF_ALL, RACE_MARGIN};
pub use user::{User, UserName, UserNameError};
