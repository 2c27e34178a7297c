//! Users: the people who sign in.
use std::fmt;

use super::{UnixTime, UserId};

/// A user name, parsed once at the edge.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserName(String);

/// Why a user name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a user name is 1 to 64 characters of letters, digits and . _ @ + -")]
pub struct UserNameError;

impl UserName {
    /// Accepts 1–64 characters from a conservative set, so names are safe in
    /// URLs, logs and terminals alike.
    pub fn parse(raw: &str) -> Result<Self, UserNameError> {
        let ok =
            !raw.is_empty() && raw.len() <= 64 && raw.chars().all(|c| c.is_ascii_alphanumeric() || "._@+-".contains(c));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(UserNameError)
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stored user.
#[derive(Clone)]
pub struct User {
    /// Stable id, the `sub` of their tokens.
    pub id: UserId,
    /// Sign-in name.
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Whether the user may use the admin API.
    pub is_admin: bool,
    /// Set while the user is disabled.
    pub disabled_at: Option<UnixTime>,
    /// When the user was created.
    pub created_at: UnixTime,
}

impl User {
    /// Whether the user may sign in and use tokens.
    pub fn is_enabled(&self) -> bool {
        self.disabled_at.is_none()
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("is_admin", &self.is_admin)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names() {
        assert!(UserName::parse("alice").is_ok());
        assert!(UserName::parse("a.b-c_d@example.org").is_ok());
        assert!(UserName::parse("").is_err());
        assert!(UserName::parse("has space").is_err());
        assert!(UserName::parse("semi;colon").is_err());
        assert!(UserName::parse(&"x".repeat(65)).is_err());
    }
}
