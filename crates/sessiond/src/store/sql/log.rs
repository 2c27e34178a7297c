//! The revocation log and the audit trail.
use async_trait::async_trait;
use sessiond_guard::Revocation;

use super::{begin_log_tx, rows, SqlStore, Tx};
use crate::domain::{AuditEvent, AuditFilter, UnixTime};
use crate::store::{audit, Audit, AuditStore, NewRevocation, PruneCounts, RevocationStore, StoreError};

/// How long a spent or expired authorization code is remembered.
const CODE_RETENTION: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

#[async_trait]
impl RevocationStore for SqlStore {
    async fn append_revocations(
        &self,
        new: &[NewRevocation],
        now: UnixTime,
        audit: Audit<Vec<Revocation>>,
    ) -> Result<Vec<Revocation>, StoreError> {
        self.writer.append(new.to_vec(), now, audit).await
    }

    async fn revocations_after(&self, after: i64, limit: u32) -> Result<Vec<Revocation>, StoreError> {
        let sql = format!("SELECT {} FROM revocations WHERE seq > $1 ORDER BY seq LIMIT $2", rows::REVOCATION_COLUMNS);
        self.fetch_all(sqlx::query(&sql).bind(after).bind(i64::from(limit)), rows::revocation).await
    }

    fn change_feed(&self) -> Option<tokio::sync::mpsc::Receiver<crate::store::Change>> {
        self.url.as_deref().map(super::listen::spawn)
    }

    async fn last_revocation_seq(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(seq) FROM revocations")
            .fetch_one(&self.pool)
            .await?
            .unwrap_or(0))
    }

    async fn prune(
        &self,
        now: UnixTime,
        retain_since: UnixTime,
        audit_since: UnixTime,
    ) -> Result<PruneCounts, StoreError> {
        // The log in a transaction of its own (short: it holds the log lock),
        // with the bounds read under that lock: a row is kept past its expiry
        // for the largest leeway any validator may use.
        let mut conn = self.pool.acquire().await?;
        let (mut tx, bounds) = begin_log_tx(&mut conn, self.backend).await?;
        let revocations =
            exec(&mut tx, "DELETE FROM revocations WHERE expires_at <= $1", bounds.prunable_before(now)).await?;
        tx.commit().await?;
        drop(conn);
        let mut tx = self.pool.begin().await?;
        // A refresh token is useless once expired (by index). One of a
        // session that ended is refused already (its grant is revoked) and
        // goes with its grant, below, or when it expires, whichever is first.
        let refresh_tokens = exec(&mut tx, "DELETE FROM refresh_tokens WHERE expires_at <= $1", now).await?;
        // Authorization codes are kept a while after they expire, so a code
        // replayed late is still recognised as reuse (its tokens revoked).
        exec(&mut tx, "DELETE FROM authorization_codes WHERE expires_at <= $1", now.minus(CODE_RETENTION)).await?;
        let old = "SELECT id FROM sessions WHERE ended_at IS NOT NULL AND ended_at < $1";
        exec(
            &mut tx,
            &format!(
                "DELETE FROM refresh_tokens WHERE grant_id IN (SELECT id FROM grants WHERE session_id IN ({old}))"
            ),
            retain_since,
        )
        .await?;
        for table in ["authorization_codes", "grants"] {
            exec(&mut tx, &format!("DELETE FROM {table} WHERE session_id IN ({old})"), retain_since).await?;
        }
        let sessions =
            exec(&mut tx, "DELETE FROM sessions WHERE ended_at IS NOT NULL AND ended_at < $1", retain_since).await?;
        let audit_events = exec(&mut tx, "DELETE FROM audit_events WHERE at < $1", audit_since).await?;
        tx.commit().await?;
        Ok(PruneCounts { revocations, refresh_tokens, sessions, audit_events })
    }
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn record_audit(&self, e: &AuditEvent) -> Result<(), StoreError> {
        // With the other writes of its batch: an audit event that is not
        // part of a change (a refused sign-in) costs no fsync of its own.
        let one = e.clone();
        self.writer.write((), |_, _| Box::pin(async { Ok(()) }), audit(move |_| vec![one.clone()])).await
    }

    async fn audit_events(&self, f: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        // Absent filters become bounds that match everything, so the SQL
        // stays one portable statement.
        let sql = format!(
            "SELECT {} FROM audit_events
             WHERE ($1 = '' OR user_name = $1 OR user_id = $2) AND at >= $3 AND at < $4 AND seq < $5
             ORDER BY seq DESC LIMIT $6",
            rows::AUDIT_COLUMNS
        );
        let (name, id) = f.user.clone().unwrap_or_default();
        let query = sqlx::query(&sql)
            .bind(name)
            .bind(id)
            .bind(f.since.map_or(i64::MIN, |t| t.0))
            .bind(f.until.map_or(i64::MAX, |t| t.0))
            .bind(f.before_seq.unwrap_or(i64::MAX))
            .bind(i64::from(f.limit));
        self.fetch_all(query, rows::audit).await
    }
}

/// Runs one statement with one time parameter; returns the rows affected.
async fn exec(tx: &mut Tx<'_>, sql: &str, t: UnixTime) -> Result<u64, StoreError> {
    Ok(sqlx::query(sql).bind(t.0).execute(&mut **tx).await?.rows_affected())
}

/// Records an audit event inside a write's transaction; capped and cleaned
/// here, the one way in, whoever built the event.
pub(super) async fn insert_audit(tx: &mut Tx<'_>, e: &AuditEvent) -> Result<(), StoreError> {
    let e = &e.bounded();
    sqlx::query(
        "INSERT INTO audit_events (at, kind, actor, user_id, user_name, client_id, session_id, ip, user_agent, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(e.at.0)
    .bind(e.kind.map(|k| k.as_str()).unwrap_or("unknown"))
    .bind(e.actor.as_deref())
    .bind(e.user_id.as_deref())
    .bind(e.user_name.as_deref())
    .bind(e.client_id.as_deref())
    .bind(e.session_id.as_deref())
    .bind(e.ip.as_deref())
    .bind(e.user_agent.as_deref())
    .bind(e.detail.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl crate::store::StoreLifecycle for SqlStore {
    async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}
