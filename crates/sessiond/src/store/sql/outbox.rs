//! The back-channel logout outbox.
use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Backend, SqlStore, Tx};
use crate::domain::{SessionId, UnixTime, UserId};
use crate::store::{LogoutDelivery, LogoutOutbox, StoreError};

const COLUMNS: &str = "id, client_id, uri, user_id, session_id, created_at, next_attempt_at, attempts, last_error, \
                       delivered_at, failed_at";

fn delivery(row: &AnyRow) -> Result<LogoutDelivery, StoreError> {
    Ok(LogoutDelivery {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        uri: row.try_get("uri")?,
        user_id: row.try_get("user_id")?,
        session_id: row.try_get("session_id")?,
        created_at: row.try_get("created_at")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        delivered_at: row.try_get("delivered_at")?,
        failed_at: row.try_get("failed_at")?,
    })
}

/// Queues a logout for every client with a back-channel logout URI and a
/// grant in the session, inside the transaction that ends it: the session
/// does not end without its deliveries, nor the reverse.
pub(super) async fn queue_logouts(
    tx: &mut Tx<'_>,
    session: &SessionId,
    user: &UserId,
    now: UnixTime,
) -> Result<u64, StoreError> {
    let queued = sqlx::query(
        "INSERT INTO logout_deliveries (client_id, uri, user_id, session_id, created_at, next_attempt_at)
         SELECT c.id, c.backchannel_logout_uri, $1, $2, $3, $3 FROM clients c
         WHERE c.backchannel_logout_uri IS NOT NULL
           AND c.id IN (SELECT client_id FROM grants WHERE session_id = $2)",
    )
    .bind(user.as_str())
    .bind(session.as_str())
    .bind(now.0)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(queued)
}

#[async_trait]
impl LogoutOutbox for SqlStore {
    async fn claim_deliveries(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<LogoutDelivery>, StoreError> {
        // PostgreSQL: rows another node is claiming right now are skipped,
        // not waited for; SQLite has one writer, so the claim is atomic anyway.
        let lock = if self.backend == Backend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE logout_deliveries SET lease_until = $1
             WHERE id IN (SELECT id FROM logout_deliveries
                          WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2
                            AND (lease_until IS NULL OR lease_until <= $2)
                          ORDER BY id LIMIT $3 {lock})
             RETURNING {COLUMNS}"
        );
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(&sql).bind(lease_until.0).bind(now.0).bind(i64::from(limit)).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter().map(delivery).collect()
    }

    async fn delivery_done(&self, id: i64, now: UnixTime) -> Result<(), StoreError> {
        let q = sqlx::query(
            "UPDATE logout_deliveries SET delivered_at = $1, attempts = attempts + 1, lease_until = NULL WHERE id = $2",
        )
        .bind(now.0)
        .bind(id);
        self.write(q).await?;
        Ok(())
    }

    async fn delivery_failed(
        &self,
        id: i64,
        now: UnixTime,
        error: &str,
        retry_at: Option<UnixTime>,
    ) -> Result<(), StoreError> {
        let error: String = error.chars().take(256).collect();
        let q = match retry_at {
            Some(at) => sqlx::query(
                "UPDATE logout_deliveries SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2,
                     lease_until = NULL WHERE id = $3",
            )
            .bind(error)
            .bind(at.0)
            .bind(id),
            None => sqlx::query(
                "UPDATE logout_deliveries SET attempts = attempts + 1, last_error = $1, failed_at = $2,
                     lease_until = NULL WHERE id = $3",
            )
            .bind(error)
            .bind(now.0)
            .bind(id),
        };
        self.write(q).await?;
        Ok(())
    }

    async fn count_pending_deliveries(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM logout_deliveries WHERE delivered_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn deliveries(&self, failed: bool, limit: u32) -> Result<Vec<LogoutDelivery>, StoreError> {
        let which = if failed { "failed_at IS NOT NULL" } else { "delivered_at IS NULL AND failed_at IS NULL" };
        let sql = format!("SELECT {COLUMNS} FROM logout_deliveries WHERE {which} ORDER BY id DESC LIMIT $1");
        self.fetch_all(sqlx::query(&sql).bind(i64::from(limit)), delivery).await
    }
}
