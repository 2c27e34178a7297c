//! The running application: configuration, clock, store and key ring,
//! shared by the HTTP handlers and the CLI.
use std::sync::{Arc, RwLock};

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{KeyId, SessionPolicy};
use crate::secrets::{PasswordHashError, PasswordHasher};
use crate::store::{SqlStore, Store, StoreError};
use crate::tokens::{generate_key, KeyRing, KeyRingError, StoredKey, TokenAudience};

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
}

/// Shared state.
pub struct App {
    /// Configuration.
    pub config: Config,
    /// The only source of time.
    pub clock: Arc<dyn Clock>,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Argon2id with the configured cost.
    pub hasher: PasswordHasher,
    keys: RwLock<Arc<KeyRing>>,
}

impl App {
    /// Opens the store named by the configuration, makes sure a signing key
    /// exists, and loads the key ring.
    pub async fn open(config: Config, clock: Arc<dyn Clock>) -> Result<Arc<App>, AppError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| AppError::DataDir(config.data_dir.display().to_string(), e))?;
        let store: Arc<dyn Store> = Arc::new(SqlStore::open_sqlite(&config.sqlite_path()).await?);
        Self::with_store(config, clock, store).await
    }

    /// Builds the application over an already-open store.
    pub async fn with_store(
        config: Config,
        clock: Arc<dyn Clock>,
        store: Arc<dyn Store>,
    ) -> Result<Arc<App>, AppError> {
        let hasher = PasswordHasher::new(config.password_cost)?;
        let now = clock.now();
        if store.signing_keys().await?.is_empty() {
            let key = new_stored_key(&config, now)?;
            if store.add_first_signing_key(&key).await? {
                tracing::info!(kid = %key.kid, alg = %key.alg, "generated the first signing key");
            }
        }
        let ring = KeyRing::build(&store.signing_keys().await?, now, token_audience(&config))?;
        Ok(Arc::new(App { config, clock, store, hasher, keys: RwLock::new(Arc::new(ring)) }))
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
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ring);
        Ok(())
    }

    /// Generates a new current key; the previous one stays published until
    /// every token it signed has expired.
    pub async fn rotate_key(&self) -> Result<StoredKey, AppError> {
        let now = self.clock.now();
        let key = new_stored_key(&self.config, now)?;
        let publish_until =
            StoredKey::publish_until_after_retiring(now, self.config.access_token_ttl, self.config.clock_skew);
        self.store.add_signing_key(&key, publish_until).await?;
        self.reload_keys().await?;
        Ok(key)
    }

    /// Session timeouts and limits.
    pub fn session_policy(&self) -> &SessionPolicy {
        &self.config.session
    }
}

fn token_audience(config: &Config) -> TokenAudience {
    TokenAudience { issuer: config.issuer.clone(), audience: config.audience.clone(), leeway: config.clock_skew }
}

fn new_stored_key(config: &Config, now: crate::domain::UnixTime) -> Result<StoredKey, AppError> {
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
