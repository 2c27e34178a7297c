//! Revocation: RFC 7009 revocation and RFC 7662 introspection over the
//! durable log and the in-memory index, and the background work that keeps
//! the index current (following the log, pruning what has expired).
mod background;
mod introspect;
mod revoke;

pub use background::{prune_once, spawn_background};
pub use introspect::{introspect, Answer, Asker, Introspection};
pub use revoke::{revoke, RevokeOutcome};

/// Whether a presented token has the form of a JWT (an access token) rather
/// than an opaque refresh token. sessiond's refresh tokens are base64url and
/// never contain a dot, so the form alone tells the two apart and the
/// `token_type_hint` (RFC 7009 §2.1, RFC 7662 §2.1) is never needed.
pub fn is_jwt(token: &str) -> bool {
    token.contains('.')
}
