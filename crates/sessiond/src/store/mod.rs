//! Storage behind one trait, so that callers never know which database runs.
//!
//! [`Store`] is the sum of one trait per capability (accounts, keys,
//! sessions, the revocation log, the audit trail). Each method is one unit
//! of work: one transaction that leaves nothing half-written. Rules that
//! must hold under concurrency (refresh rotation, the session limit) are
//! decided inside the transaction with the pure functions of
//! `crate::domain`. Every operation that ends something appends its
//! revocations to the log in the same transaction, so a revocation is
//! durable before anyone is told of it.
mod files;
mod migrate;
mod records;
mod rows;
mod sealing;
mod sql;
mod traits;

pub(crate) use files::create_data_dir;
pub use records::{
    audit, unaudited, Audit, Change, Ended, EndedSession, Grant, LogoutDelivery, NewCode, NewRefreshToken,
    NewRevocation, NewSignIn, PruneCounts, Redemption, RefreshRevocation, RefreshTokenInfo, RejectReason, Rotation,
    SessionSelector, SignInOutcome, StoredCode,
};
pub use sealing::{SealError, Sealer};
pub use sql::SqlStore;
pub use traits::{
    AccountStore, AuditStore, BrowserStore, KeyStore, LogoutOutbox, RevocationStore, SessionStore, SettingsStore,
    StoreLifecycle,
};

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
    /// The write was in a batch whose commit failed: nothing of it was kept
    /// (or, if the database went away during the commit, it cannot be known).
    #[error("the write was not committed: {0}")]
    NotCommitted(String),
    /// The embedded database's file could not be created or made private.
    #[error("database file {0}: {1}")]
    File(String, std::io::Error),
}

impl StoreError {
    /// The database could not be reached, or a write was not committed:
    /// the same request may succeed once it is back.
    pub fn is_unavailable(&self) -> bool {
        use sqlx::Error as E;
        match self {
            StoreError::NotCommitted(_) => true,
            StoreError::Database(E::Io(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed | E::Tls(_)) => true,
            // PostgreSQL's connection exceptions (class 08) and operator
            // intervention (57: shutting down, restarting, timeouts).
            StoreError::Database(E::Database(db)) => {
                db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57"))
            }
            _ => false,
        }
    }
}

/// Everything sessiond keeps.
pub trait Store:
    AccountStore
    + KeyStore
    + SessionStore
    + BrowserStore
    + RevocationStore
    + AuditStore
    + SettingsStore
    + LogoutOutbox
    + StoreLifecycle
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: AccountStore
        + KeyStore
        + SessionStore
        + BrowserStore
        + RevocationStore
        + AuditStore
        + SettingsStore
        + LogoutOutbox
        + StoreLifecycle
        + Send
        + Sync
        + 'static
{
}
