//! The store's capabilities, one trait each.
use async_trait::async_trait;
use sessiond_guard::Revocation;

use super::{
    Audit, Ended, Grant, LogoutDelivery, NewCode, NewRefreshToken, NewRevocation, NewSignIn, PruneCounts, Redemption,
    RefreshRevocation, RefreshTokenInfo, Rotation, SessionSelector, SignInOutcome, StoreError, StoredCode,
};
use crate::domain::{
    AuditEvent, AuditFilter, Client, ClientId, EndReason, GrantId, Scope, Session, SessionId, SessionPolicy,
    TokenBounds, TokenSettings, UnixTime, User, UserId,
};
use crate::tokens::StoredKey;

/// Users and clients.
#[async_trait]
pub trait AccountStore {
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
    /// Enables a disabled user; false if unknown.
    async fn enable_user(&self, name: &str) -> Result<bool, StoreError>;
    /// Disables a user, ends every live session of theirs and appends the
    /// revocations (one per session, and a cut-off for the user); `None` if
    /// the user does not exist.
    async fn disable_user(
        &self,
        name: &str,
        now: UnixTime,
        audit: Audit<Option<(User, Ended)>>,
    ) -> Result<Option<(User, Ended)>, StoreError>;
    /// Replaces a user's password hash; false if unknown.
    async fn set_password_hash(&self, name: &str, hash: &str) -> Result<bool, StoreError>;

    /// Registers a client.
    async fn create_client(&self, client: &Client) -> Result<(), StoreError>;
    /// A client by id.
    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError>;
    /// All clients, by name.
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// Removes a client, revokes its grants and appends a revocation of
    /// every token issued to it, whenever issued; `None` if unknown.
    async fn remove_client(
        &self,
        id: &ClientId,
        now: UnixTime,
        audit: Audit<Option<Vec<Revocation>>>,
    ) -> Result<Option<Vec<Revocation>>, StoreError>;
}

/// Signing keys.
#[async_trait]
pub trait KeyStore {
    /// All signing keys, published or not.
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    /// Adds a key; in the same transaction every other unretired key is
    /// retired at `key.created_at` and published until `publish_until`.
    async fn add_signing_key(&self, key: &StoredKey, publish_until: UnixTime) -> Result<(), StoreError>;
    /// Adds the first key unless one exists (two processes starting on a new
    /// data directory at once create one key, not two). True if added.
    async fn add_first_signing_key(&self, key: &StoredKey) -> Result<bool, StoreError>;
}

/// Sessions, grants and refresh tokens.
#[async_trait]
pub trait SessionStore {
    /// Creates a session, its grant and first refresh token under the
    /// per-user session limit. Sessions ended to make room get revocations.
    async fn sign_in(
        &self,
        sign_in: &NewSignIn,
        policy: &SessionPolicy,
        audit: Audit<SignInOutcome>,
    ) -> Result<SignInOutcome, StoreError>;
    /// Exchanges a refresh token for its successor (RFC 6749 §6), or detects
    /// reuse and ends the session (RFC 9700 §4.14.2). A requested `scope`
    /// wider than the grant's rejects the request without consuming the token.
    #[allow(clippy::too_many_arguments)]
    async fn rotate_refresh_token(
        &self,
        presented: &[u8; 32],
        client_id: &ClientId,
        scope: Option<&Scope>,
        next: &NewRefreshToken,
        now: UnixTime,
        policy: &SessionPolicy,
        audit: Audit<Rotation>,
    ) -> Result<Rotation, StoreError>;
    /// Revokes the grant of a refresh token (RFC 7009 §2.1). With a client,
    /// only a token issued to that client is revoked.
    async fn revoke_refresh_token(
        &self,
        presented: &[u8; 32],
        client_id: Option<&ClientId>,
        now: UnixTime,
        audit: Audit<RefreshRevocation>,
    ) -> Result<RefreshRevocation, StoreError>;
    /// What a refresh token belongs to, for introspection.
    async fn refresh_token_info(&self, presented: &[u8; 32]) -> Result<Option<RefreshTokenInfo>, StoreError>;
    /// A session by id.
    async fn session(&self, id: &SessionId) -> Result<Option<Session>, StoreError>;
    /// The grants of a session, revoked or not, oldest first.
    async fn grants_of_session(&self, session: &SessionId) -> Result<Vec<Grant>, StoreError>;
    /// A user's live sessions, newest first.
    async fn live_sessions_of_user(&self, user: &UserId, now: UnixTime) -> Result<Vec<Session>, StoreError>;
    /// Every live session (of `user`, or of everyone), by id, after
    /// `after`, at most `limit`.
    async fn live_sessions(
        &self,
        user: Option<&UserId>,
        after: Option<&SessionId>,
        limit: u32,
        now: UnixTime,
    ) -> Result<Vec<Session>, StoreError>;
    /// Ends the selected live sessions, revokes their grants and appends one
    /// revocation per session. Ending is idempotent: already ended sessions
    /// are left as they are.
    async fn end_sessions(
        &self,
        which: SessionSelector,
        reason: EndReason,
        now: UnixTime,
        audit: Audit<Ended>,
    ) -> Result<Ended, StoreError>;
    /// How many sessions are live at `now` (for the metrics gauge).
    async fn count_live_sessions(&self, now: UnixTime) -> Result<u64, StoreError>;
    /// Marks sessions past a timeout as ended (reason `expired`); returns them.
    async fn expire_sessions(&self, now: UnixTime, audit: Audit<Vec<Session>>) -> Result<Vec<Session>, StoreError>;
}

/// What browser sign-in keeps: SSO cookies, authorization codes, consent.
#[async_trait]
pub trait BrowserStore {
    /// The session whose SSO cookie hashes to `cookie_hash`, live or not.
    async fn session_by_cookie(&self, cookie_hash: &[u8; 32]) -> Result<Option<Session>, StoreError>;
    /// Stores an authorization code.
    async fn create_code(&self, code: &NewCode) -> Result<(), StoreError>;
    /// A code that is unused and unexpired at `now`, for its checks
    /// (client, redirect URI, PKCE) before redeeming it.
    async fn code(&self, code_hash: &[u8; 32], now: UnixTime) -> Result<Option<StoredCode>, StoreError>;
    /// Spends a code issued to `client_id` and creates grant `grant_id`
    /// (with `refresh`) in its session, with its scope, if the session and
    /// user are live; or, for a code spent before, ends the session it was
    /// issued in.
    #[allow(clippy::too_many_arguments)]
    async fn redeem_code(
        &self,
        code_hash: &[u8; 32],
        client_id: &ClientId,
        grant_id: &GrantId,
        refresh: Option<&NewRefreshToken>,
        now: UnixTime,
        policy: &SessionPolicy,
        audit: Audit<Redemption>,
    ) -> Result<Redemption, StoreError>;
    /// The scope a user allowed a client, if any.
    async fn consent(&self, user: &UserId, client: &ClientId) -> Result<Option<Scope>, StoreError>;
    /// Remembers (or widens) what a user allowed a client.
    async fn grant_consent(
        &self,
        user: &UserId,
        client: &ClientId,
        scope: &Scope,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// The clients a user has allowed, with their scopes.
    async fn consents_of(&self, user: &UserId) -> Result<Vec<(ClientId, Scope, UnixTime)>, StoreError>;
    /// Forgets a consent and revokes every grant the client holds in the
    /// user's sessions; the revocations appended.
    async fn revoke_consent(
        &self,
        user: &UserId,
        client: &ClientId,
        now: UnixTime,
        audit: Audit<Vec<Revocation>>,
    ) -> Result<Vec<Revocation>, StoreError>;
}

/// The revocation log.
#[async_trait]
pub trait RevocationStore {
    /// Appends revocations of single tokens (their `expires_at` is the
    /// token's `exp`); returns them with their sequence numbers.
    async fn append_revocations(
        &self,
        new: &[NewRevocation],
        now: UnixTime,
        audit: Audit<Vec<Revocation>>,
    ) -> Result<Vec<Revocation>, StoreError>;
    /// Revocations with `seq` above `after`, in order, at most `limit`.
    async fn revocations_after(&self, after: i64, limit: u32) -> Result<Vec<Revocation>, StoreError>;
    /// Announcements of changes made by other nodes, if the backend has them
    /// (PostgreSQL LISTEN/NOTIFY). Polling the log works without it.
    fn change_feed(&self) -> Option<tokio::sync::mpsc::Receiver<super::Change>>;
    /// The highest sequence number written so far (0 if none).
    async fn last_revocation_seq(&self) -> Result<i64, StoreError>;
    /// Deletes what can no longer matter: revocations no validator needs
    /// (past their expiry by the largest clock skew ever used), expired refresh
    /// tokens, and sessions (with their grants) ended before `retain_since`,
    /// audit events older than `audit_since`.
    async fn prune(
        &self,
        now: UnixTime,
        retain_since: UnixTime,
        audit_since: UnixTime,
    ) -> Result<PruneCounts, StoreError>;
}

/// The settings that define tokens, shared by every process on the store.
#[async_trait]
pub trait SettingsStore {
    /// Records the settings a server issues tokens with, raising the durable
    /// maxima (lifetime, skew) that bound every revocation; returns them.
    /// A process records before it issues its first token.
    async fn record_token_settings(&self, settings: &TokenSettings, now: UnixTime) -> Result<TokenBounds, StoreError>;
    /// The recorded settings and bounds; `None` if no server was ever started
    /// (or `init` run) on this store.
    async fn token_settings(&self) -> Result<Option<(TokenSettings, TokenBounds)>, StoreError>;
}

/// The back-channel logout outbox. Deliveries are written by the
/// transaction that ends a session; nodes claim due ones with a lease, so
/// several nodes share the outbox and none sends what another holds.
#[async_trait]
pub trait LogoutOutbox {
    /// Claims up to `limit` due deliveries until `lease_until`.
    async fn claim_deliveries(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<LogoutDelivery>, StoreError>;
    /// Records a delivery as done.
    async fn delivery_done(&self, id: i64, now: UnixTime) -> Result<(), StoreError>;
    /// Records a failed attempt: retried at `retry_at`, or given up on when
    /// `None`.
    async fn delivery_failed(
        &self,
        id: i64,
        now: UnixTime,
        error: &str,
        retry_at: Option<UnixTime>,
    ) -> Result<(), StoreError>;
    /// How many deliveries are neither done nor given up.
    async fn count_pending_deliveries(&self) -> Result<u64, StoreError>;
    /// Deliveries not yet done: pending ones, or failed ones; newest first.
    async fn deliveries(&self, failed: bool, limit: u32) -> Result<Vec<LogoutDelivery>, StoreError>;
}

/// The audit trail.
#[async_trait]
pub trait AuditStore {
    /// Records an event.
    async fn record_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// Events matching the filter, newest first.
    async fn audit_events(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError>;
}

/// Stopping cleanly.
#[async_trait]
pub trait StoreLifecycle {
    /// Commits every write queued so far, then closes the connections.
    async fn close(&self);
}
