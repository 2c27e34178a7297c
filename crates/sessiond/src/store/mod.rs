//! Storage behind one trait, so that callers never know which database runs.
//!
//! Each method is one unit of work: it runs in one transaction and leaves
//! nothing half-written. Rules that must hold under concurrency (refresh
//! rotation, the session limit) are decided inside the transaction with the
//! pure functions of `crate::domain`.
mod migrate;
mod records;
mod rows;
mod sql;

use async_trait::async_trait;

pub use records::{Grant, NewRefreshToken, NewSignIn, RejectReason, Rotation, SignInOutcome};
pub use sql::SqlStore;

use crate::domain::{Client, ClientId, EndReason, Scope, Session, SessionId, SessionPolicy, UnixTime, User, UserId};
use crate::tokens::StoredKey;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A record with the same unique key exists.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// Stored data could not be read back (a bug or a hand-edited database).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Everything sessiond keeps.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Adds a user; `Conflict` if the name is taken.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    /// A user by sign-in name.
    async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError>;
    /// A user by id.
    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError>;
    /// All users, by name.
    async fn list_users(&self) -> Result<Vec<User>, StoreError>;
    /// How many users exist.
    async fn count_users(&self) -> Result<u64, StoreError>;
    /// Disables (`Some(time)`) or enables (`None`) a user; false if unknown.
    async fn set_user_disabled(&self, name: &str, disabled_at: Option<UnixTime>) -> Result<bool, StoreError>;
    /// Replaces a user's password hash; false if unknown.
    async fn set_password_hash(&self, name: &str, hash: &str) -> Result<bool, StoreError>;

    /// Registers a client.
    async fn create_client(&self, client: &Client) -> Result<(), StoreError>;
    /// A client by id.
    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;
    /// All clients, by name.
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// Removes a client; false if unknown.
    async fn remove_client(&self, id: &ClientId) -> Result<bool, StoreError>;

    /// All signing keys, published or not.
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    /// Adds a key; in the same transaction every other unretired key is
    /// retired at `key.created_at` and published until `publish_until`.
    async fn add_signing_key(&self, key: &StoredKey, publish_until: UnixTime) -> Result<(), StoreError>;
    /// Adds the first key unless one exists (two processes starting on a new
    /// data directory at once create one key, not two). True if added.
    async fn add_first_signing_key(&self, key: &StoredKey) -> Result<bool, StoreError>;

    /// Creates a session, its grant and first refresh token under the
    /// per-user session limit.
    async fn sign_in(&self, sign_in: &NewSignIn, policy: &SessionPolicy) -> Result<SignInOutcome, StoreError>;
    /// Exchanges a refresh token for its successor (RFC 6749 §6), or detects
    /// reuse and ends the session (RFC 9700 §4.14.2). A requested `scope`
    /// wider than the grant's rejects the request without consuming the token.
    async fn rotate_refresh_token(
        &self,
        presented: &[u8; 32],
        client_id: &ClientId,
        scope: Option<&Scope>,
        next: &NewRefreshToken,
        now: UnixTime,
        policy: &SessionPolicy,
    ) -> Result<Rotation, StoreError>;
    /// A session by id.
    async fn session(&self, id: &SessionId) -> Result<Option<Session>, StoreError>;
    /// A user's sessions, newest first; ended ones only if asked.
    async fn sessions_of_user(&self, user: &UserId, include_ended: bool) -> Result<Vec<Session>, StoreError>;
    /// Ends a session and revokes its grants; false if it was already ended
    /// or does not exist (ending is idempotent).
    async fn end_session(&self, id: &SessionId, reason: EndReason, now: UnixTime) -> Result<bool, StoreError>;
}
