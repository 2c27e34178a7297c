//! Users, clients, sessions, grants and the policies over them. Pure: no I/O,
//! no clock, no randomness; callers pass those in.
mod audit;
mod audit_text;
mod client;
mod ids;
mod scope;
mod session;
mod time;
mod user;

pub use audit::{AuditEvent, AuditFilter, AuditKind};
pub use audit_text::name_hint;
pub use client::{Client, ClientKind, GrantType, NewClient};
pub use ids::{ClientId, GrantId, KeyId, SessionId, TokenId, UserId};
pub use scope::{Scope, ScopeError};
pub use session::{Admission, EndReason, LimitPolicy, Session, SessionLimit, SessionPolicy, SignInContext};
pub use time::UnixTime;
pub use user::{User, UserName, UserNameError};
