//! SSO cookies, authorization codes and remembered consent.
use async_trait::async_trait;
use sessiond_guard::{Revocation, RevocationKind};
use sqlx::Row;

use super::sessions::{insert_grant, insert_refresh_token, session_in, touch_session};
use super::{append_revocations_in, conflict, done, rows, SqlStore};
use crate::domain::{ClientId, EndReason, GrantId, Scope, Session, SessionPolicy, UnixTime, UserId};
use crate::store::{
    BrowserStore, Grant, NewCode, NewRefreshToken, NewRevocation, Redemption, SessionSelector, SessionStore,
    StoreError, StoredCode,
};

#[async_trait]
impl BrowserStore for SqlStore {
    async fn session_by_cookie(&self, cookie_hash: &[u8; 32]) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {} FROM sessions WHERE cookie_hash = $1", rows::SESSION_COLUMNS);
        self.fetch_optional(sqlx::query(&sql).bind(cookie_hash.to_vec()), rows::session).await
    }

    async fn create_code(&self, c: &NewCode) -> Result<(), StoreError> {
        let q = sqlx::query(
            "INSERT INTO authorization_codes (code_hash, client_id, session_id, redirect_uri, scope, nonce,
                 code_challenge, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(c.hash.to_vec())
        .bind(c.client_id.as_str())
        .bind(c.session_id.as_str())
        .bind(&c.redirect_uri)
        .bind(c.scope.to_string())
        .bind(c.nonce.as_deref())
        .bind(c.code_challenge.as_deref())
        .bind(c.created_at.0)
        .bind(c.expires_at.0);
        self.write(q).await.map_err(|e| conflict(e, "authorization code"))?;
        Ok(())
    }

    async fn code(&self, code_hash: &[u8; 32], now: UnixTime) -> Result<Option<StoredCode>, StoreError> {
        let row = sqlx::query(
            "SELECT client_id, session_id, redirect_uri, scope, nonce, code_challenge FROM authorization_codes
             WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(code_hash.to_vec())
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let scope: String = row.try_get("scope")?;
        Ok(Some(StoredCode {
            client_id: ClientId::new(row.try_get::<String, _>("client_id")?),
            session_id: crate::domain::SessionId::new(row.try_get::<String, _>("session_id")?),
            redirect_uri: row.try_get("redirect_uri")?,
            scope: Scope::parse(&scope).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            nonce: row.try_get("nonce")?,
            code_challenge: row.try_get("code_challenge")?,
        }))
    }

    async fn redeem_code(
        &self,
        code_hash: &[u8; 32],
        client_id: &ClientId,
        grant_id: &GrantId,
        refresh: Option<&NewRefreshToken>,
        now: UnixTime,
        policy: &SessionPolicy,
    ) -> Result<Redemption, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Spend it first (the write takes the lock): of any number of
        // concurrent redemptions exactly one changes the row.
        let spent = sqlx::query(
            "UPDATE authorization_codes SET used_at = $1, grant_id = $2
             WHERE code_hash = $3 AND used_at IS NULL AND expires_at > $1 AND client_id = $4
             RETURNING session_id, scope, nonce",
        )
        .bind(now.0)
        .bind(grant_id.as_str())
        .bind(code_hash.to_vec())
        .bind(client_id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(spent) = spent else {
            let earlier: Option<(Option<i64>, String, String)> =
                sqlx::query("SELECT used_at, client_id, session_id FROM authorization_codes WHERE code_hash = $1")
                    .bind(code_hash.to_vec())
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                    .transpose()?;
            tx.rollback().await?;
            return match earlier {
                // RFC 6749 §4.1.2: a code used twice revokes what it gave —
                // here the whole session it was issued in, as for a reused
                // refresh token: someone else holds a copy of it.
                Some((Some(_), owner, session_id)) if owner == client_id.as_str() => {
                    let session_id = crate::domain::SessionId::new(session_id);
                    let ended = self.end_sessions(SessionSelector::One(&session_id), EndReason::CodeReuse, now).await?;
                    Ok(Redemption::Reused { revocations: ended.revocations })
                }
                _ => Ok(Redemption::Rejected),
            };
        };
        let scope: String = spent.try_get("scope")?;
        let grant = Grant {
            id: grant_id.clone(),
            session_id: crate::domain::SessionId::new(spent.try_get::<String, _>("session_id")?),
            client_id: client_id.clone(),
            scope: Scope::parse(&scope).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: now,
            revoked_at: None,
        };
        let nonce: Option<String> = spent.try_get("nonce")?;
        let session = session_in(&mut tx, &grant.session_id).await?;
        let sql = format!("SELECT {} FROM users WHERE id = $1", rows::USER_COLUMNS);
        let user = rows::user(&sqlx::query(&sql).bind(session.user_id.as_str()).fetch_one(&mut *tx).await?)?;
        let client_exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM clients WHERE id = $1")
            .bind(client_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if !session.is_live(now) || !user.is_enabled() || client_exists.is_none() {
            return done(tx, Redemption::Rejected).await;
        }
        // Signing in to an application is activity: the idle expiry moves on.
        let Some(idle) = touch_session(&mut tx, &session, now, policy).await? else {
            return done(tx, Redemption::Rejected).await;
        };
        insert_grant(&mut tx, &grant).await?;
        if let Some(refresh) = refresh {
            insert_refresh_token(&mut tx, refresh, &grant, session.absolute_expires_at).await?;
        }
        tx.commit().await?;
        let session = Session { last_seen_at: now, idle_expires_at: idle, ..session };
        Ok(Redemption::Redeemed { session, grant, user, nonce })
    }

    async fn consent(&self, user: &UserId, client: &ClientId) -> Result<Option<Scope>, StoreError> {
        let scope: Option<String> =
            sqlx::query_scalar("SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2")
                .bind(user.as_str())
                .bind(client.as_str())
                .fetch_optional(&self.pool)
                .await?;
        scope.map(|s| Scope::parse(&s).map_err(|e| StoreError::Corrupt(e.to_string()))).transpose()
    }

    async fn grant_consent(
        &self,
        user: &UserId,
        client: &ClientId,
        scope: &Scope,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        // What was allowed before stays allowed: the new scope widens it.
        let merged = match self.consent(user, client).await? {
            Some(before) => before.union(scope),
            None => scope.clone(),
        };
        let q = sqlx::query(
            "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
        )
        .bind(user.as_str())
        .bind(client.as_str())
        .bind(merged.to_string())
        .bind(now.0);
        self.write(q).await?;
        Ok(())
    }

    async fn consents_of(&self, user: &UserId) -> Result<Vec<(ClientId, Scope, UnixTime)>, StoreError> {
        let rows =
            sqlx::query("SELECT client_id, scope, granted_at FROM consents WHERE user_id = $1 ORDER BY client_id")
                .bind(user.as_str())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let scope: String = r.try_get("scope")?;
                Ok((
                    ClientId::new(r.try_get::<String, _>("client_id")?),
                    Scope::parse(&scope).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    UnixTime(r.try_get("granted_at")?),
                ))
            })
            .collect()
    }

    async fn revoke_consent(
        &self,
        user: &UserId,
        client: &ClientId,
        now: UnixTime,
    ) -> Result<Vec<Revocation>, StoreError> {
        let (mut tx, bounds) = self.begin_log_tx().await?;
        sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user.as_str())
            .bind(client.as_str())
            .execute(&mut *tx)
            .await?;
        let revoked = sqlx::query(
            "UPDATE grants SET revoked_at = $1
             WHERE client_id = $2 AND revoked_at IS NULL
               AND session_id IN (SELECT id FROM sessions WHERE user_id = $3)
             RETURNING id, session_id",
        )
        .bind(now.0)
        .bind(client.as_str())
        .bind(user.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let mut new = Vec::with_capacity(revoked.len());
        for row in &revoked {
            let session =
                session_in(&mut tx, &crate::domain::SessionId::new(row.try_get::<String, _>("session_id")?)).await?;
            new.push(NewRevocation {
                kind: RevocationKind::Grant,
                subject: row.try_get("id")?,
                cutoff: None,
                expires_at: bounds.session_entry_expiry(now, session.absolute_expires_at),
            });
        }
        let revocations = append_revocations_in(self, &mut tx, &new, now).await?;
        tx.commit().await?;
        Ok(revocations)
    }
}
