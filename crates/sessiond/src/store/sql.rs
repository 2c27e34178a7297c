//! The `Store` in SQL, through sqlx's `Any` driver so that one body of
//! portable SQL serves SQLite (the embedded default) and PostgreSQL.
//!
//! Portability rules: `$n` placeholders (both drivers accept them), BIGINT
//! Unix seconds for times, BLOB/BYTEA for hashes, `ON CONFLICT` for upserts.
//! Every transaction starts with a write, so SQLite takes its write lock up
//! front (waiting on `busy_timeout`) instead of failing a read-to-write
//! upgrade, and PostgreSQL takes the same row locks.
use std::path::Path;

use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Transaction};

use super::migrate;
use super::rows::{self, join};
use super::{Grant, NewRefreshToken, NewSignIn, RejectReason, Rotation, SignInOutcome, Store, StoreError};
use crate::domain::{
    Admission, Client, ClientId, EndReason, Scope, Session, SessionId, SessionPolicy, UnixTime, User, UserId,
};
use crate::tokens::StoredKey;

/// The SQL store.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
}

impl SqlStore {
    /// Opens (creating if needed) the SQLite database at `path` in WAL mode
    /// and applies migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let encoded = path.to_string_lossy().replace('%', "%25").replace('?', "%3F").replace('#', "%23");
        let url = format!("sqlite://{encoded}?mode=rwc");
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // FULL: a revocation acknowledged to a client survives a
                    // power cut, not only a crash (design invariant 2).
                    for pragma in
                        ["PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 10000", "PRAGMA synchronous = FULL"]
                    {
                        conn.execute(pragma).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        sqlx::raw_sql("PRAGMA journal_mode = WAL").execute(&pool).await?;
        migrate::run(&pool, migrate::SQLITE).await?;
        Ok(Self { pool })
    }

    async fn fetch_optional<'q, T>(
        &self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
        map: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        query.fetch_optional(&self.pool).await?.as_ref().map(map).transpose()
    }

    async fn fetch_all<'q, T>(
        &self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
        map: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        query.fetch_all(&self.pool).await?.iter().map(map).collect()
    }
}

fn conflict(e: sqlx::Error, what: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(e),
    }
}

/// Ends one session and revokes its grants inside `tx`; false if it was
/// already ended.
async fn end_session_in(
    tx: &mut Transaction<'_, Any>,
    id: &SessionId,
    reason: EndReason,
    now: UnixTime,
) -> Result<bool, StoreError> {
    let ended = sqlx::query("UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL")
        .bind(now.0)
        .bind(reason.as_str())
        .bind(id.as_str())
        .execute(&mut **tx)
        .await?
        .rows_affected()
        == 1;
    if ended {
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE session_id = $2 AND revoked_at IS NULL")
            .bind(now.0)
            .bind(id.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(ended)
}

async fn insert_refresh_token(
    tx: &mut Transaction<'_, Any>,
    token: &NewRefreshToken,
    grant: &Grant,
    expires_at: UnixTime,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token.hash.to_vec())
        .bind(grant.id.as_str())
        .bind(token.created_at.0)
        .bind(expires_at.0)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict(e, "refresh token"))?;
    Ok(())
}

#[async_trait]
impl Store for SqlStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, name, password_hash, is_admin, disabled_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id.as_str())
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(i64::from(user.is_admin))
        .bind(user.disabled_at.map(|t| t.0))
        .bind(user.created_at.0)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, "user"))?;
        Ok(())
    }

    async fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {} FROM users WHERE name = $1", rows::USER_COLUMNS);
        self.fetch_optional(sqlx::query(&sql).bind(name), rows::user).await
    }

    async fn user_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {} FROM users WHERE id = $1", rows::USER_COLUMNS);
        self.fetch_optional(sqlx::query(&sql).bind(id.as_str()), rows::user).await
    }

    async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {} FROM users ORDER BY name", rows::USER_COLUMNS);
        self.fetch_all(sqlx::query(&sql), rows::user).await
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn set_user_disabled(&self, name: &str, disabled_at: Option<UnixTime>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET disabled_at = $1 WHERE name = $2")
            .bind(disabled_at.map(|t| t.0))
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_password_hash(&self, name: &str, hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
            .bind(hash)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO clients (id, name, kind, secret_hash, grant_types, redirect_uris,
                 post_logout_redirect_uris, backchannel_logout_uri, scope, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(client.id.as_str())
        .bind(&client.name)
        .bind(client.kind.as_str())
        .bind(client.secret_hash.map(|h| h.to_vec()))
        .bind(join(client.grant_types.iter().map(|g| g.as_str())))
        .bind(join(&client.redirect_uris))
        .bind(join(&client.post_logout_redirect_uris))
        .bind(client.backchannel_logout_uri.as_deref())
        .bind(client.scope.to_string())
        .bind(client.created_at.0)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, "client"))?;
        Ok(())
    }

    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let sql = format!("SELECT {} FROM clients WHERE id = $1", rows::CLIENT_COLUMNS);
        self.fetch_optional(sqlx::query(&sql).bind(id.as_str()), rows::client).await
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let sql = format!("SELECT {} FROM clients ORDER BY name, id", rows::CLIENT_COLUMNS);
        self.fetch_all(sqlx::query(&sql), rows::client).await
    }

    async fn remove_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM clients WHERE id = $1").bind(id.as_str()).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn signing_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let sql = format!("SELECT {} FROM signing_keys ORDER BY created_at, kid", rows::KEY_COLUMNS);
        self.fetch_all(sqlx::query(&sql), rows::key).await
    }

    async fn add_signing_key(&self, key: &StoredKey, publish_until: UnixTime) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE signing_keys SET retired_at = $1, publish_until = $2 WHERE retired_at IS NULL")
            .bind(key.created_at.0)
            .bind(publish_until.0)
            .execute(&mut *tx)
            .await?;
        insert_key(&mut tx, key).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_first_signing_key(&self, key: &StoredKey) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Claim the schema row first: a write that serialises two starters.
        sqlx::query("UPDATE schema_migrations SET name = name WHERE version = 1").execute(&mut *tx).await?;
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys").fetch_one(&mut *tx).await?;
        if existing > 0 {
            return Ok(false);
        }
        insert_key(&mut tx, key).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn sign_in(&self, sign_in: &NewSignIn, policy: &SessionPolicy) -> Result<SignInOutcome, StoreError> {
        let session = &sign_in.session;
        let now = session.created_at;
        let mut tx = self.pool.begin().await?;
        // Lock the user's row: concurrent sign-ins of one user queue here, so
        // the count below cannot be stale when the limit is enforced.
        let locked =
            sqlx::query("UPDATE users SET sign_in_count = sign_in_count + 1 WHERE id = $1 AND disabled_at IS NULL")
                .bind(session.user_id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if locked == 0 {
            return Ok(SignInOutcome::UserDisabled);
        }
        let live: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM sessions WHERE user_id = $1 AND ended_at IS NULL
               AND idle_expires_at > $2 AND absolute_expires_at > $2
             ORDER BY created_at, id",
        )
        .bind(session.user_id.as_str())
        .bind(now.0)
        .fetch_all(&mut *tx)
        .await?;
        let mut ended = Vec::new();
        match policy.admission(live.len() as u64) {
            Admission::Admit => {}
            Admission::Refuse => return Ok(SignInOutcome::LimitReached),
            Admission::EndOldest(n) => {
                for id in live.into_iter().take(usize::try_from(n).unwrap_or(usize::MAX)) {
                    let id = SessionId::new(id);
                    end_session_in(&mut tx, &id, EndReason::SessionLimit, now).await?;
                    ended.push(id);
                }
            }
        }
        sqlx::query(
            "INSERT INTO sessions (id, user_id, client_id, created_at, last_seen_at, idle_expires_at,
                 absolute_expires_at, ip, user_agent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(session.id.as_str())
        .bind(session.user_id.as_str())
        .bind(session.client_id.as_str())
        .bind(session.created_at.0)
        .bind(session.last_seen_at.0)
        .bind(session.idle_expires_at.0)
        .bind(session.absolute_expires_at.0)
        .bind(session.context.ip.as_deref())
        .bind(session.context.user_agent.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, "session"))?;
        let grant = &sign_in.grant;
        sqlx::query("INSERT INTO grants (id, session_id, client_id, scope, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(grant.id.as_str())
            .bind(grant.session_id.as_str())
            .bind(grant.client_id.as_str())
            .bind(grant.scope.to_string())
            .bind(grant.created_at.0)
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, "grant"))?;
        if let Some(refresh) = &sign_in.refresh {
            insert_refresh_token(&mut tx, refresh, grant, session.absolute_expires_at).await?;
        }
        tx.commit().await?;
        Ok(SignInOutcome::Admitted { ended })
    }

    async fn rotate_refresh_token(
        &self,
        presented: &[u8; 32],
        client_id: &ClientId,
        scope: Option<&Scope>,
        next: &NewRefreshToken,
        now: UnixTime,
        policy: &SessionPolicy,
    ) -> Result<Rotation, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Consume the token first (the write takes the lock). Exactly one of
        // any number of concurrent presentations sees one affected row.
        let consumed = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
               AND grant_id IN (SELECT id FROM grants WHERE client_id = $3)",
        )
        .bind(now.0)
        .bind(presented.to_vec())
        .bind(client_id.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let sql = format!(
            "SELECT g.{}, r.used_at AS token_used_at, r.expires_at AS token_expires_at
             FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.token_hash = $1",
            rows::GRANT_COLUMNS.replace(", ", ", g.")
        );
        let Some(row) = sqlx::query(&sql).bind(presented.to_vec()).fetch_optional(&mut *tx).await? else {
            return Ok(Rotation::Rejected(RejectReason::Unknown));
        };
        let grant = rows::grant(&row)?;
        if &grant.client_id != client_id {
            return Ok(Rotation::Rejected(RejectReason::OtherClient));
        }
        let sql = format!("SELECT {} FROM sessions WHERE id = $1", rows::SESSION_COLUMNS);
        let session = rows::session(&sqlx::query(&sql).bind(grant.session_id.as_str()).fetch_one(&mut *tx).await?)?;
        if !consumed {
            let used: Option<i64> = sqlx::Row::try_get(&row, "token_used_at")?;
            if used.is_none() {
                // Unused but not consumable: the token has expired.
                return Ok(Rotation::Rejected(RejectReason::SessionNotLive));
            }
            // RFC 9700 §4.14.2: a used refresh token came back. Either the
            // client or an attacker holds a stolen copy; end the session.
            end_session_in(&mut tx, &session.id, EndReason::RefreshReuse, now).await?;
            tx.commit().await?;
            return Ok(Rotation::Reused { session_id: session.id, user_id: session.user_id });
        }
        if scope.is_some_and(|s| !s.is_subset_of(&grant.scope)) {
            // Dropping the transaction rolls the consumption back.
            return Ok(Rotation::Rejected(RejectReason::ScopeExceeded));
        }
        let reject = if grant.revoked_at.is_some() {
            Some(RejectReason::GrantRevoked)
        } else if !session.is_live(now) {
            Some(RejectReason::SessionNotLive)
        } else {
            None
        };
        if let Some(reason) = reject {
            return Ok(Rotation::Rejected(reason));
        }
        let sql = format!("SELECT {} FROM users WHERE id = $1", rows::USER_COLUMNS);
        let user = rows::user(&sqlx::query(&sql).bind(session.user_id.as_str()).fetch_one(&mut *tx).await?)?;
        if !user.is_enabled() {
            return Ok(Rotation::Rejected(RejectReason::UserDisabled));
        }
        let idle = policy.idle_expiry_after_use(now, session.absolute_expires_at);
        sqlx::query("UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3")
            .bind(now.0)
            .bind(idle.0)
            .bind(session.id.as_str())
            .execute(&mut *tx)
            .await?;
        insert_refresh_token(&mut tx, next, &grant, session.absolute_expires_at).await?;
        tx.commit().await?;
        let session = Session { last_seen_at: now, idle_expires_at: idle, ..session };
        Ok(Rotation::Rotated { session, grant, user })
    }

    async fn session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {} FROM sessions WHERE id = $1", rows::SESSION_COLUMNS);
        self.fetch_optional(sqlx::query(&sql).bind(id.as_str()), rows::session).await
    }

    async fn sessions_of_user(&self, user: &UserId, include_ended: bool) -> Result<Vec<Session>, StoreError> {
        let filter = if include_ended { "" } else { "AND ended_at IS NULL" };
        let sql = format!(
            "SELECT {} FROM sessions WHERE user_id = $1 {filter} ORDER BY created_at DESC, id",
            rows::SESSION_COLUMNS
        );
        self.fetch_all(sqlx::query(&sql).bind(user.as_str()), rows::session).await
    }

    async fn end_session(&self, id: &SessionId, reason: EndReason, now: UnixTime) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let ended = end_session_in(&mut tx, id, reason, now).await?;
        tx.commit().await?;
        Ok(ended)
    }
}

async fn insert_key(tx: &mut Transaction<'_, Any>, key: &StoredKey) -> Result<(), StoreError> {
    let jwk = serde_json::to_string(&key.jwk).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO signing_keys (kid, alg, private_key, public_jwk, created_at, retired_at, publish_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(key.kid.as_str())
    .bind(key.alg.as_str())
    .bind(key.private_der.clone())
    .bind(jwk)
    .bind(key.created_at.0)
    .bind(key.retired_at.map(|t| t.0))
    .bind(key.publish_until.map(|t| t.0))
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict(e, "signing key"))?;
    Ok(())
}
