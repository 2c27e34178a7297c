//! The gate in front of every password check, and what it costs at most.
//!
//! In order, for a password-grant sign-in (`check_credentials`):
//! 1. the `username` is at most [`MAX_USERNAME_BYTES`] (else 400, checked
//!    by the caller before anything is recorded);
//! 2. the per-IP, then the per-account limiter ([`Throttle`]; else 429);
//! 3. the user is looked up;
//! 4. a permit to hash ([`HashGate`]; else 503 after a short wait), then
//!    Argon2id — against a decoy hash for an unknown name;
//! 5. one answer for an unknown name, a wrong password and a disabled
//!    account, so the answer tells nothing about which names exist or
//!    whether a disabled account's password was right.
mod hashing;
mod throttle;

use std::net::IpAddr;

pub use hashing::{permits_for, HashGate, HashingError};
pub use throttle::{Throttle, Throttled};

use crate::app::App;
use crate::domain::User;
use crate::grants::{GrantError, Refusal};
use crate::secrets::Secret;

/// Longest `username` looked at. Names are at most 64 characters
/// (`UserName`); this leaves room for e-mail addresses (RFC 5321 §4.5.3.1
/// caps those at 254) while keeping attacker text out of limiter keys, the
/// database query and the audit trail.
pub const MAX_USERNAME_BYTES: usize = 256;

/// Refuses a `username` too long to be anyone's, before any work is done
/// or recorded for it.
pub fn check_username_length(username: &str) -> Result<(), GrantError> {
    if username.len() > MAX_USERNAME_BYTES {
        return Err(GrantError::InvalidRequest(format!("username is longer than {MAX_USERNAME_BYTES} bytes")));
    }
    Ok(())
}

/// The user whose name and password these are, after the limiters and the
/// hashing gate let the check through.
pub async fn check_credentials(
    app: &App,
    username: &str,
    password: Secret,
    ip: Option<&str>,
) -> Result<User, GrantError> {
    let ip = ip.and_then(|raw| raw.parse::<IpAddr>().ok());
    app.throttle.check(ip, username).map_err(|t| GrantError::Throttled { retry_after: t.retry_after })?;
    let user = app.store.user_by_name(username).await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let matches = app.hashing.verify(password, stored).await.map_err(|e| match e {
        HashingError::Busy { retry_after } => GrantError::Overloaded { retry_after },
        failed @ HashingError::Failed(_) => GrantError::Hashing(failed),
    })?;
    match user {
        // A disabled account is refused only after its hash was checked, so
        // it costs the same time as any other refusal.
        Some(user) if matches && user.is_enabled() => Ok(user),
        Some(_) if matches => Err(GrantError::BadCredentials(Refusal::Disabled)),
        Some(_) => Err(GrantError::BadCredentials(Refusal::WrongPassword)),
        None => Err(GrantError::BadCredentials(Refusal::UnknownUser)),
    }
}
