//! SSO cookies, authorization codes and remembered consent.
use async_trait::async_trait;
use sessiond_guard::{Revocation, RevocationKind};
use sqlx::Row;

use super::sessions::{insert_grant, insert_refresh_token, session_in, touch_session};
use super::{append_revocations_in, conflict, end_sessions_in, rows, Batch, SqlStore};
use crate::domain::{ClientId, EndReason, GrantId, Scope, Session, SessionId, SessionPolicy, UnixTime, UserId};
use crate::store::{
    unaudited, Audit, BrowserStore, Grant, NewCode, NewRefreshToken, NewRevocation, Redemption, SessionSelector,
    StoreError, StoredCode,
};

#[async_trait]
impl BrowserStore for SqlStore {
    async fn session_by_cookie(&self, cookie_hash: &[u8; 32]) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {} FROM sessions WHERE cookie_hash = $1", rows::SESSION_COLUMNS);
        self.fetch_optional(sqlx::query(&sql).bind(cookie_hash.to_vec()), rows::session).await
    }

    async fn create_code(&self, c: &NewCode) -> Result<(), StoreError> {
        self.writer.write(c.clone(), |b, c| Box::pin(create_code_job(b, c)), unaudited()).await
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
    ) -> Result<Redemption, StoreError> {
        let input = RedeemInput {
            code_hash: *code_hash,
            client_id: client_id.clone(),
            grant_id: grant_id.clone(),
            refresh: refresh.cloned(),
            now,
            policy: *policy,
        };
        self.writer.write(input, |b, i| Box::pin(redeem_job(b, i)), audit).await
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
        let input = (user.clone(), client.clone(), scope.clone(), now);
        self.writer.write(input, |b, (u, c, s, t)| Box::pin(grant_consent_job(b, u, c, s, *t)), unaudited()).await
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
        audit: Audit<Vec<Revocation>>,
    ) -> Result<Vec<Revocation>, StoreError> {
        let input = (user.clone(), client.clone(), now);
        self.writer.write(input, |b, (u, c, t)| Box::pin(revoke_consent_job(b, u, c, *t)), audit).await
    }
}

async fn create_code_job(b: &mut Batch<'_>, c: &NewCode) -> Result<(), StoreError> {
    sqlx::query(
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
    .bind(c.expires_at.0)
    .execute(&mut *b.tx)
    .await
    .map_err(|e| conflict(e, "authorization code"))?;
    Ok(())
}

/// `redeem_code`'s input.
struct RedeemInput {
    code_hash: [u8; 32],
    client_id: ClientId,
    grant_id: GrantId,
    refresh: Option<NewRefreshToken>,
    now: UnixTime,
    policy: SessionPolicy,
}

async fn redeem_job(b: &mut Batch<'_>, input: &RedeemInput) -> Result<Redemption, StoreError> {
    let RedeemInput { code_hash, client_id, grant_id, refresh, now, policy } = input;
    let now = *now;
    // Every check first, so that a refused code writes nothing.
    let row = sqlx::query(
        "SELECT used_at, expires_at, client_id, session_id, scope, nonce FROM authorization_codes
         WHERE code_hash = $1",
    )
    .bind(code_hash.to_vec())
    .fetch_optional(&mut *b.tx)
    .await?;
    let Some(row) = row else { return Ok(Redemption::Rejected) };
    let used_at: Option<i64> = row.try_get("used_at")?;
    let expires_at: i64 = row.try_get("expires_at")?;
    let owner: String = row.try_get("client_id")?;
    let session_id = SessionId::new(row.try_get::<String, _>("session_id")?);
    if owner != client_id.as_str() {
        return Ok(Redemption::Rejected);
    }
    if used_at.is_some() {
        // RFC 6749 §4.1.2: a code used twice revokes what it gave — here
        // the whole session it was issued in, as for a reused refresh
        // token: someone else holds a copy of it.
        let ended = end_sessions_in(b, &SessionSelector::One(session_id), EndReason::CodeReuse, now).await?;
        return Ok(Redemption::Reused { revocations: ended.revocations });
    }
    if expires_at <= now.0 {
        return Ok(Redemption::Rejected);
    }
    let scope: String = row.try_get("scope")?;
    let nonce: Option<String> = row.try_get("nonce")?;
    let grant = Grant {
        id: grant_id.clone(),
        session_id,
        client_id: client_id.clone(),
        scope: Scope::parse(&scope).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at: now,
        revoked_at: None,
    };
    let session = session_in(&mut b.tx, &grant.session_id).await?;
    let sql = format!("SELECT {} FROM users WHERE id = $1", rows::USER_COLUMNS);
    let user = rows::user(&sqlx::query(&sql).bind(session.user_id.as_str()).fetch_one(&mut *b.tx).await?)?;
    let client_exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM clients WHERE id = $1")
        .bind(client_id.as_str())
        .fetch_optional(&mut *b.tx)
        .await?;
    if !session.is_live(now) || !user.is_enabled() || client_exists.is_none() {
        return Ok(Redemption::Rejected);
    }
    // Spend it. Of any number of concurrent redemptions (on any node)
    // exactly one changes the row; a loser presented a code already spent,
    // which is reuse.
    let spent = sqlx::query(
        "UPDATE authorization_codes SET used_at = $1, grant_id = $2 WHERE code_hash = $3 AND used_at IS NULL",
    )
    .bind(now.0)
    .bind(grant_id.as_str())
    .bind(code_hash.to_vec())
    .execute(&mut *b.tx)
    .await?
    .rows_affected()
        == 1;
    if !spent {
        let ended = end_sessions_in(b, &SessionSelector::One(session.id), EndReason::CodeReuse, now).await?;
        return Ok(Redemption::Reused { revocations: ended.revocations });
    }
    // Signing in to an application is activity: the idle expiry moves on.
    let Some(idle) = touch_session(&mut b.tx, &session, now, policy).await? else {
        // Ended on another node since it was read: the code stays spent, as
        // it would had the ending come first.
        return Ok(Redemption::Rejected);
    };
    insert_grant(&mut b.tx, &grant).await?;
    if let Some(refresh) = refresh {
        insert_refresh_token(&mut b.tx, refresh, &grant, session.absolute_expires_at).await?;
    }
    let session = Session { last_seen_at: now, idle_expires_at: idle, ..session };
    Ok(Redemption::Redeemed { session, grant, user, nonce })
}

async fn grant_consent_job(
    b: &mut Batch<'_>,
    user: &UserId,
    client: &ClientId,
    scope: &Scope,
    now: UnixTime,
) -> Result<(), StoreError> {
    // What was allowed before stays allowed: the new scope widens it.
    let before: Option<String> = sqlx::query_scalar("SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2")
        .bind(user.as_str())
        .bind(client.as_str())
        .fetch_optional(&mut *b.tx)
        .await?;
    let merged = match before {
        Some(before) => Scope::parse(&before).map_err(|e| StoreError::Corrupt(e.to_string()))?.union(scope),
        None => scope.clone(),
    };
    sqlx::query(
        "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
    )
    .bind(user.as_str())
    .bind(client.as_str())
    .bind(merged.to_string())
    .bind(now.0)
    .execute(&mut *b.tx)
    .await?;
    Ok(())
}

async fn revoke_consent_job(
    b: &mut Batch<'_>,
    user: &UserId,
    client: &ClientId,
    now: UnixTime,
) -> Result<Vec<Revocation>, StoreError> {
    sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
        .bind(user.as_str())
        .bind(client.as_str())
        .execute(&mut *b.tx)
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
    .fetch_all(&mut *b.tx)
    .await?;
    let mut new = Vec::with_capacity(revoked.len());
    for row in &revoked {
        let session = session_in(&mut b.tx, &SessionId::new(row.try_get::<String, _>("session_id")?)).await?;
        new.push(NewRevocation {
            kind: RevocationKind::Grant,
            subject: row.try_get("id")?,
            cutoff: None,
            expires_at: b.bounds.session_entry_expiry(now, session.absolute_expires_at),
        });
    }
    append_revocations_in(b, &new, now).await
}
