//! The token settings row and the durable bounds on every token issued.
use std::time::Duration;

use async_trait::async_trait;
use sessiond_guard::SigningAlgorithm;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Backend, SqlStore, Tx};
use crate::domain::{TokenBounds, TokenSettings, UnixTime};
use crate::store::{SettingsStore, StoreError};

const COLUMNS: &str =
    "issuer, audience, access_token_ttl, clock_skew, signing_alg, max_access_token_ttl, max_clock_skew";

fn secs(row: &AnyRow, col: &str) -> Result<Duration, StoreError> {
    let n: i64 = row.try_get(col)?;
    u64::try_from(n).map(Duration::from_secs).map_err(|_| StoreError::Corrupt(format!("negative {col}")))
}

fn bounds(row: &AnyRow) -> Result<TokenBounds, StoreError> {
    Ok(TokenBounds { max_ttl: secs(row, "max_access_token_ttl")?, max_skew: secs(row, "max_clock_skew")? })
}

fn settings(row: &AnyRow) -> Result<TokenSettings, StoreError> {
    let alg: String = row.try_get("signing_alg")?;
    Ok(TokenSettings {
        issuer: row.try_get("issuer")?,
        audience: row.try_get("audience")?,
        access_token_ttl: secs(row, "access_token_ttl")?,
        clock_skew: secs(row, "clock_skew")?,
        signing_alg: SigningAlgorithm::parse(&alg)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown signing algorithm {alg}")))?,
    })
}

fn as_secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

const MISSING: &str = "no token settings recorded: run `sessiond init` or `sessiond serve` first";

#[async_trait]
impl SettingsStore for SqlStore {
    async fn record_token_settings(&self, s: &TokenSettings, now: UnixTime) -> Result<TokenBounds, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The maxima only grow: a later start with a shorter lifetime must
        // not shorten the life of revocations that cover longer tokens.
        let sql = format!(
            "INSERT INTO token_settings (id, issuer, audience, access_token_ttl, clock_skew, signing_alg,
                 max_access_token_ttl, max_clock_skew, updated_at)
             VALUES (1, $1, $2, $3, $4, $5, $3, $4, $6)
             ON CONFLICT (id) DO UPDATE SET issuer = excluded.issuer, audience = excluded.audience,
                 access_token_ttl = excluded.access_token_ttl, clock_skew = excluded.clock_skew,
                 signing_alg = excluded.signing_alg, updated_at = excluded.updated_at,
                 max_access_token_ttl = CASE WHEN token_settings.max_access_token_ttl > excluded.max_access_token_ttl
                     THEN token_settings.max_access_token_ttl ELSE excluded.max_access_token_ttl END,
                 max_clock_skew = CASE WHEN token_settings.max_clock_skew > excluded.max_clock_skew
                     THEN token_settings.max_clock_skew ELSE excluded.max_clock_skew END
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&s.issuer)
            .bind(&s.audience)
            .bind(as_secs(s.access_token_ttl))
            .bind(as_secs(s.clock_skew))
            .bind(s.signing_alg.as_str())
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await?;
        let recorded = bounds(&row)?;
        tx.commit().await?;
        Ok(recorded)
    }

    async fn token_settings(&self) -> Result<Option<(TokenSettings, TokenBounds)>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM token_settings WHERE id = 1");
        match sqlx::query(&sql).fetch_optional(&self.pool).await? {
            Some(row) => Ok(Some((settings(&row)?, bounds(&row)?))),
            None => Ok(None),
        }
    }
}

/// The bounds, read inside a transaction that will append to the log, and
/// locked until it commits: a process recording a longer lifetime waits for
/// the revocation (whose user or session it can then no longer issue for),
/// or the revocation sees the longer lifetime. On SQLite the statement is a
/// write, which takes the database's write lock up front (the store's rule
/// for every transaction).
pub(super) async fn bounds_in(backend: Backend, tx: &mut Tx<'_>) -> Result<TokenBounds, StoreError> {
    let sql = match backend {
        Backend::Postgres => "SELECT max_access_token_ttl, max_clock_skew FROM token_settings WHERE id = 1 FOR SHARE",
        Backend::Sqlite => {
            "UPDATE token_settings SET max_access_token_ttl = max_access_token_ttl WHERE id = 1
             RETURNING max_access_token_ttl, max_clock_skew"
        }
    };
    let row = sqlx::query(sql).fetch_optional(&mut **tx).await?;
    bounds(&row.ok_or_else(|| StoreError::Corrupt(MISSING.into()))?)
}
