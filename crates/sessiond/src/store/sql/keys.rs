//! Signing keys, sealed at rest (`store/sealing.rs`).
use async_trait::async_trait;

use super::{conflict, done, rows, SqlStore, Tx};
use crate::domain::UnixTime;
use crate::store::{KeyStore, StoreError};
use crate::tokens::StoredKey;

#[async_trait]
impl KeyStore for SqlStore {
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let sql = format!("SELECT {} FROM signing_keys ORDER BY created_at, kid", rows::KEY_COLUMNS);
        let mut keys = self.fetch_all(sqlx::query(&sql), rows::key).await?;
        for key in &mut keys {
            key.private_der = self.open_key(key.kid.as_str(), &key.private_der)?;
        }
        Ok(keys)
    }

    async fn add_signing_key(&self, key: &StoredKey, publish_until: UnixTime) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE signing_keys SET retired_at = $1, publish_until = $2 WHERE retired_at IS NULL")
            .bind(key.created_at.0)
            .bind(publish_until.0)
            .execute(&mut *tx)
            .await?;
        insert_key(self, &mut tx, key).await?;
        self.notify(&mut tx, "keys").await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_first_signing_key(&self, key: &StoredKey) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Claim the schema row first: a write that serialises two starters.
        sqlx::query("UPDATE schema_migrations SET name = name WHERE version = 1").execute(&mut *tx).await?;
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys").fetch_one(&mut *tx).await?;
        if existing > 0 {
            return done(tx, false).await;
        }
        insert_key(self, &mut tx, key).await?;
        tx.commit().await?;
        Ok(true)
    }
}

async fn insert_key(store: &SqlStore, tx: &mut Tx<'_>, key: &StoredKey) -> Result<(), StoreError> {
    let jwk = serde_json::to_string(&key.jwk).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let sealed = store.sealer.seal(key.kid.as_str(), &key.private_der).map_err(|e| StoreError::Corrupt(e.0))?;
    sqlx::query(
        "INSERT INTO signing_keys (kid, alg, private_key, public_jwk, created_at, retired_at, publish_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(key.kid.as_str())
    .bind(key.alg.as_str())
    .bind(sealed)
    .bind(jwk)
    .bind(key.created_at.0)
    .bind(key.retired_at.map(|t| t.0))
    .bind(key.publish_until.map(|t| t.0))
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict(e, "signing key"))?;
    Ok(())
}

impl SqlStore {
    /// The plaintext of a stored key. Every key is sealed under the master
    /// key with its `kid` as associated data: a key stored in the clear, one
    /// sealed under another master key, one moved to another row or damaged
    /// is refused, never used. (A plaintext fallback would let whoever can
    /// write the database plant a signing key of their own.)
    fn open_key(&self, kid: &str, stored: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.sealer.open(kid, stored).map_err(|e| {
            StoreError::Corrupt(format!(
                "signing key {kid} is not sealed under the configured master key ({e}); \
                 check that the master key is the one this database was created with"
            ))
        })
    }
}
