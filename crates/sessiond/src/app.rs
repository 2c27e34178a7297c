//! The running application: configuration, clock, store, key ring, the
//! validator with its revocation index, and the sign-in gate (bounded
//! password hashing, throttling), shared by the HTTP handlers, the
//! background tasks and the CLI.
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sessiond_guard::{Revocation, RevocationKind, Validator};

use crate::clock::Clock;
use crate::config::{Config, MasterKeySource};
use crate::domain::{AuditEvent, ClientId, KeyId, SessionPolicy, TokenSettings, UnixTime};
use crate::grants::ClientCache;
use crate::login::{permits_for, HashGate, Throttle};
use crate::secrets::{PasswordHashError, PasswordHasher};
use crate::store::{Sealer, SqlStore, Store, StoreError};
use crate::tokens::{generate_key, KeyRing, KeyRingError, StoredKey, TokenAudience};

/// What the browser key is derived for (changing it invalidates every
/// CSRF token in flight, nothing else).
const BROWSER_KEY_LABEL: &str = "sessiond browser csrf v1";

/// Entries a slow subscriber of the log feed may fall behind by before it
/// has to read the store again.
const LOG_FEED_CAPACITY: usize = 4096;

/// Rows read per query when loading the revocation log.
const LOG_PAGE: u32 = 10_000;

/// Starting the application failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The data directory could not be created.
    #[error("data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Keys could not be loaded.
    #[error(transparent)]
    Keys(#[from] KeyRingError),
    /// A key could not be generated.
    #[error("{0}")]
    KeyGen(String),
    /// The password cost is invalid.
    #[error(transparent)]
    Password(#[from] PasswordHashError),
    /// The hashing threads could not be started.
    #[error("{0}")]
    Hashing(String),
    /// The master key is missing or malformed.
    #[error("master key: {0}")]
    MasterKey(String),
    /// A management command cannot be sure it sees the same data and
    /// settings as the server; the message says what to do.
    #[error("{0}")]
    NotInitialised(String),
}

/// Shared state.
pub struct App {
    /// Configuration.
    pub config: Config,
    /// The only source of time.
    pub clock: Arc<dyn Clock>,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Argon2id with the configured cost, behind a semaphore: the only way
    /// to hash or verify a password.
    pub hashing: HashGate,
    /// Password attempts per client IP and per account.
    pub throttle: Throttle,
    /// Signature, lifetime and revocation checks: memory only.
    pub validator: Validator,
    /// Clients by id, so client authentication reads memory.
    pub clients: ClientCache,
    /// Derived from the master key, the same on every node: signs the
    /// browser's CSRF tokens.
    pub browser_key: [u8; 32],
    keys: RwLock<Arc<KeyRing>>,
    freshness: Freshness,
    /// See [`App::log_position`].
    followed: AtomicI64,
    /// Wakes the log follower after this process wrote (see `log_written`).
    follow_now: tokio::sync::Notify,
    /// Wakes the back-channel logout sender (see `sessions_ended`).
    session_ended: tokio::sync::Notify,
    /// Entries as read from the log (see `subscribe_log`).
    log_feed: tokio::sync::broadcast::Sender<Revocation>,
    /// Set once the process begins to stop (see `start_draining`).
    draining: tokio::sync::watch::Sender<bool>,
}

/// When the revocation index was last confirmed current (a successful read
/// of the log). Monotonic time: this measures staleness, not token lifetimes.
struct Freshness {
    origin: Instant,
    confirmed_ms: AtomicU64,
}

impl Freshness {
    fn new() -> Self {
        Self { origin: Instant::now(), confirmed_ms: AtomicU64::new(0) }
    }

    fn confirm(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.confirmed_ms.store(ms, Ordering::Release);
    }

    fn lag(&self) -> Duration {
        let now = self.origin.elapsed();
        now.saturating_sub(Duration::from_millis(self.confirmed_ms.load(Ordering::Acquire)))
    }
}

impl App {
    /// Opens the store named by the configuration for a process that issues
    /// tokens (`serve`, `init`): creates the data directory and database if
    /// needed, records this configuration's token settings (raising the
    /// durable bounds every revocation is kept for, before any token is
    /// issued), makes sure a signing key exists, loads the key ring and the
    /// revocation index.
    pub async fn open(config: Config, clock: Arc<dyn Clock>) -> Result<Arc<App>, AppError> {
        if matches!(config.database, crate::config::Database::Sqlite(_)) {
            // Owner-only (0700): it holds the database and the master key.
            crate::store::create_data_dir(&config.data_dir)
                .map_err(|e| AppError::DataDir(config.data_dir.display().to_string(), e))?;
        }
        let sealer = master_key(&config.master_key)?;
        let browser_key = sealer.derive_key(BROWSER_KEY_LABEL);
        let store: Arc<dyn Store> = Arc::new(SqlStore::open(&config.database, sealer).await?);
        store.record_token_settings(&token_settings(&config), clock.now()).await?;
        Self::with_store(config, clock, store, browser_key).await
    }

    /// Opens existing data for a management command. The token settings
    /// (issuer, audience, lifetime, skew, algorithm) come from the store,
    /// where the server recorded them, so the command judges tokens as the
    /// server does; a setting given explicitly (`explicit`) that disagrees
    /// is refused rather than silently ignored. Data that was never
    /// initialised is refused too, instead of creating an empty database.
    pub async fn open_existing(
        mut config: Config,
        explicit: &crate::config::Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<App>, AppError> {
        if let crate::config::Database::Sqlite(path) = &config.database {
            if !path.exists() {
                return Err(AppError::NotInitialised(format!(
                    "no sessiond data in {}: check --data-dir, or create it with `sessiond init` (or `sessiond serve`)",
                    config.data_dir.display()
                )));
            }
        }
        let sealer = master_key(&config.master_key)?;
        let browser_key = sealer.derive_key(BROWSER_KEY_LABEL);
        let store: Arc<dyn Store> = Arc::new(SqlStore::open(&config.database, sealer).await?);
        let Some((stored, _)) = store.token_settings().await? else {
            return Err(AppError::NotInitialised(
                "this database has no token settings yet: run `sessiond init` or `sessiond serve` on it first".into(),
            ));
        };
        check_explicit(explicit, &stored)?;
        config.issuer = stored.issuer;
        config.audience = stored.audience;
        config.access_token_ttl = stored.access_token_ttl;
        config.clock_skew = stored.clock_skew;
        config.signing_alg = stored.signing_alg;
        Self::with_store(config, clock, store, browser_key).await
    }

    /// Builds the application over an already-open store whose token
    /// settings are recorded.
    async fn with_store(
        config: Config,
        clock: Arc<dyn Clock>,
        store: Arc<dyn Store>,
        browser_key: [u8; 32],
    ) -> Result<Arc<App>, AppError> {
        let hashing = hash_gate(&config)?;
        let throttle = Throttle::new(config.login_attempts_per_account, config.login_attempts_per_ip);
        let now = clock.now();
        if store.signing_keys().await?.is_empty() {
            let key = new_stored_key(&config, now)?;
            if store.add_first_signing_key(&key).await? {
                tracing::info!(kid = %key.kid, alg = %key.alg, "generated the first signing key");
            }
        }
        let ring = KeyRing::build(&store.signing_keys().await?, now, token_audience(&config))?;
        let validator = Validator::new(ring.verifier().clone());
        let app = App {
            config,
            clock,
            store,
            hashing,
            throttle,
            validator,
            clients: ClientCache::default(),
            browser_key,
            followed: AtomicI64::new(0),
            follow_now: tokio::sync::Notify::new(),
            session_ended: tokio::sync::Notify::new(),
            draining: tokio::sync::watch::Sender::new(false),
            log_feed: tokio::sync::broadcast::channel(LOG_FEED_CAPACITY).0,
            keys: RwLock::new(Arc::new(ring)),
            freshness: Freshness::new(),
        };
        // The index starts from the whole unexpired log (design: "at start,
        // the index is rebuilt from the unexpired rows").
        app.catch_up().await?;
        app.prune_index(now);
        Ok(Arc::new(app))
    }

    /// The current key ring.
    pub fn keys(&self) -> Arc<KeyRing> {
        // A poisoned lock still holds a valid ring: it is only ever replaced whole.
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Rebuilds the key ring from the store (after a rotation, possibly by
    /// another process on the same data).
    pub async fn reload_keys(&self) -> Result<(), AppError> {
        let ring = KeyRing::build(&self.store.signing_keys().await?, self.clock.now(), token_audience(&self.config))?;
        let unchanged = {
            let current = self.keys();
            current.published() == ring.published() && current.signing_key().kid() == ring.signing_key().kid()
        };
        if !unchanged {
            self.validator.set_verifier(ring.verifier().clone());
            *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ring);
        }
        Ok(())
    }

    /// Generates a new current key; the previous one stays published until
    /// every token it signed has expired.
    pub async fn rotate_key(&self) -> Result<StoredKey, AppError> {
        let now = self.clock.now();
        let key = new_stored_key(&self.config, now)?;
        // Published until every token the retired key signed has expired,
        // with the longest lifetime and skew any process has used.
        let (_, bounds) = self.store.token_settings().await?.ok_or_else(|| {
            AppError::NotInitialised("no token settings recorded: run `sessiond init` or `sessiond serve`".into())
        })?;
        self.store.add_signing_key(&key, bounds.retired_key_publish_until(now)).await?;
        self.reload_keys().await?;
        Ok(key)
    }

    /// Session timeouts and limits.
    pub fn session_policy(&self) -> &SessionPolicy {
        &self.config.session
    }

    /// Drops index entries no token this process would still accept can
    /// match: an entry lives until the latest `exp` of a token it covers,
    /// and this process accepts a token until its `exp` plus the leeway.
    pub fn prune_index(&self, now: UnixTime) -> usize {
        self.validator.prune(now.minus(self.config.clock_skew).0)
    }

    /// Applies revocations (already durable in the log) to the in-memory
    /// index and drops cached clients they concern.
    pub fn apply_revocations(&self, revocations: &[Revocation]) {
        crate::observe::revocations_written(revocations);
        self.apply_entries(revocations);
        if !revocations.is_empty() {
            // Read the log now rather than at the next poll, so followers of
            // this process (the revocation feed) hear of it at once, in order.
            self.follow_now.notify_one();
        }
    }

    fn apply_entries(&self, revocations: &[Revocation]) {
        self.validator.apply(revocations);
        if revocations.iter().any(|r| r.kind == RevocationKind::Session) {
            // Ended sessions have logouts queued (by this node or another).
            self.session_ended.notify_one();
        }
        for r in revocations.iter().filter(|r| r.kind == RevocationKind::Client) {
            self.clients.forget(&ClientId::new(r.subject.as_str()));
        }
    }

    /// Resolves when this process wrote a revocation and the log should be
    /// read at once.
    pub async fn log_written(&self) {
        self.follow_now.notified().await;
    }

    /// Resolves when a session ended (the back-channel logout sender wakes).
    pub async fn sessions_ended(&self) {
        self.session_ended.notified().await;
    }

    /// The process is stopping: `/readyz` answers 503 from now on, every
    /// response closes its connection, revocation streams end (their
    /// followers reconnect elsewhere) and the back-channel sender makes its
    /// last pass.
    pub fn start_draining(&self) {
        self.draining.send_replace(true);
    }

    /// Whether the process is stopping.
    pub fn is_draining(&self) -> bool {
        *self.draining.borrow()
    }

    /// Resolves once the process is stopping.
    pub async fn drained(&self) {
        let mut draining = self.draining.subscribe();
        // An error means the sender is gone with the App: nothing to wait for.
        let _ = draining.wait_for(|d| *d).await;
    }

    /// Entries read from the log, in order and without gaps, as they are
    /// applied: what the revocation feed streams to other validators.
    pub fn subscribe_log(&self) -> tokio::sync::broadcast::Receiver<Revocation> {
        self.log_feed.subscribe()
    }

    /// Reads log entries written since the last one applied (by this or any
    /// other process on the same store) and applies them; returns how many.
    pub async fn catch_up(&self) -> Result<usize, StoreError> {
        let mut applied = 0;
        loop {
            let page = self.store.revocations_after(self.log_position(), LOG_PAGE).await?;
            applied += page.len();
            self.apply_entries(&page);
            if let Some(last) = page.last() {
                // Two catch-ups at once (the poll and a wake-up) may read the
                // same rows; only the one that moves the position publishes.
                let before = self.followed.fetch_max(last.seq, Ordering::AcqRel);
                for r in page.iter().filter(|r| r.seq > before) {
                    // No subscriber is not an error.
                    let _ = self.log_feed.send(r.clone());
                }
            }
            if page.len() < LOG_PAGE as usize {
                self.freshness.confirm();
                return Ok(applied);
            }
        }
    }

    /// The position in the log up to which every entry has been read and
    /// applied. Entries this process wrote are applied at once but do not
    /// move it: on PostgreSQL another node's entry with a lower number may
    /// commit first and must still be read.
    pub fn log_position(&self) -> i64 {
        self.followed.load(Ordering::Acquire)
    }

    /// How long since the index was last confirmed current.
    pub fn revocation_lag(&self) -> Duration {
        self.freshness.lag()
    }

    /// Whether this process may validate tokens: its index was confirmed
    /// current within `max_revocation_lag`. If not, it fails closed.
    pub fn is_current(&self) -> bool {
        self.revocation_lag() <= self.config.max_revocation_lag
    }

    /// Records an audit event. A failure is logged, not returned: the
    /// operation it describes has already happened.
    pub async fn audit(&self, event: AuditEvent) {
        if let Err(e) = self.store.record_audit(&event).await {
            tracing::error!(error = %e, kind = ?event.kind, "could not record audit event");
        }
    }
}

/// The settings a configuration issues tokens with.
fn token_settings(config: &Config) -> TokenSettings {
    TokenSettings {
        issuer: config.issuer.clone(),
        audience: config.audience.clone(),
        access_token_ttl: config.access_token_ttl,
        clock_skew: config.clock_skew,
        signing_alg: config.signing_alg,
    }
}

/// Refuses token settings given explicitly to a management command that
/// differ from the ones the server recorded.
fn check_explicit(explicit: &crate::config::Settings, stored: &TokenSettings) -> Result<(), AppError> {
    let mut differ = Vec::new();
    let trimmed = |s: &String| s.trim_end_matches('/').to_owned();
    if explicit.issuer.as_ref().is_some_and(|i| trimmed(i) != stored.issuer) {
        differ.push(format!("issuer (recorded: {})", stored.issuer));
    }
    if explicit.audience.as_ref().is_some_and(|a| a != &stored.audience) {
        differ.push(format!("audience (recorded: {})", stored.audience));
    }
    if explicit.access_token_ttl.is_some_and(|t| t.0 != stored.access_token_ttl) {
        differ.push(format!("access_token_ttl (recorded: {}s)", stored.access_token_ttl.as_secs()));
    }
    if explicit.clock_skew.is_some_and(|t| t.0 != stored.clock_skew) {
        differ.push(format!("clock_skew (recorded: {}s)", stored.clock_skew.as_secs()));
    }
    if explicit.signing_alg.is_some_and(|a| a != stored.signing_alg) {
        differ.push(format!("signing_alg (recorded: {})", stored.signing_alg));
    }
    if differ.is_empty() {
        return Ok(());
    }
    Err(AppError::NotInitialised(format!(
        "token settings are set by the server (`sessiond serve` records them in the store); these differ from \
         what it recorded: {}. Drop them from this command, or restart the server with the new values",
        differ.join(", ")
    )))
}

/// The hashing gate: as many concurrent hashes as the memory budget and the
/// cores allow.
fn hash_gate(config: &Config) -> Result<HashGate, AppError> {
    let hasher = PasswordHasher::new(config.password_cost)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let permits = permits_for(config.password_cost, config.password_memory_budget_kib, cores);
    tracing::debug!(permits, memory_kib = config.password_cost.memory_kib, "password hashes at once");
    HashGate::new(hasher, permits, config.password_queue_wait).map_err(|e| AppError::Hashing(e.to_string()))
}

fn token_audience(config: &Config) -> TokenAudience {
    TokenAudience { issuer: config.issuer.clone(), audience: config.audience.clone(), leeway: config.clock_skew }
}

fn new_stored_key(config: &Config, now: UnixTime) -> Result<StoredKey, AppError> {
    let generated = generate_key(config.signing_alg).map_err(|e| AppError::KeyGen(e.to_string()))?;
    Ok(StoredKey {
        kid: KeyId::new(generated.jwk.kid.clone()),
        alg: config.signing_alg,
        private_der: generated.private_der,
        jwk: generated.jwk,
        created_at: now,
        retired_at: None,
        publish_until: None,
    })
}

/// The master key: configured, read from a file, or — for the embedded
/// default only — generated once in the data directory (mode 0600).
fn master_key(source: &MasterKeySource) -> Result<Sealer, AppError> {
    let bad = |e: &dyn std::fmt::Display| AppError::MasterKey(e.to_string());
    let text = match source {
        MasterKeySource::Value(secret) => secret.expose().to_owned(),
        MasterKeySource::File(path) => {
            std::fs::read_to_string(path).map_err(|e| bad(&format!("{}: {e}", path.display())))?
        }
        MasterKeySource::DataDir(path) => match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(path)?,
            Err(e) => return Err(bad(&format!("{}: {e}", path.display()))),
        },
    };
    Sealer::from_text(&text).map_err(|e| bad(&e))
}

fn create_key_file(path: &std::path::Path) -> Result<String, AppError> {
    use std::io::Write;
    let text = Sealer::generate_text().map_err(|e| AppError::MasterKey(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(text.as_bytes()).map_err(|e| AppError::MasterKey(e.to_string()))?;
            file.sync_all().map_err(|e| AppError::MasterKey(e.to_string()))?;
            Ok(text)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read_to_string(path).map_err(|e| AppError::MasterKey(e.to_string()))
        }
        Err(e) => Err(AppError::MasterKey(format!("{}: {e}", path.display()))),
    }
}
