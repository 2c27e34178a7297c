//! Users and clients.
use async_trait::async_trait;
use sessiond_guard::{Revocation, RevocationKind};

use super::{append_revocations_in, conflict, end_sessions_in, rows, Batch, SqlStore};
use crate::domain::{Client, ClientId, EndReason, UnixTime, User, UserId, CUTOFF_ALL};
use crate::store::rows::join;
use crate::store::{AccountStore, Audit, Ended, NewRevocation, SessionSelector, StoreError};

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let q = sqlx::query(
            "INSERT INTO users (id, name, password_hash, is_admin, disabled_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id.as_str())
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(i64::from(user.is_admin))
        .bind(user.disabled_at.map(|t| t.0))
        .bind(user.created_at.0);
        self.write(q).await.map_err(|e| conflict(e, "user"))?;
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

    async fn enable_user(&self, name: &str) -> Result<bool, StoreError> {
        let q = sqlx::query("UPDATE users SET disabled_at = NULL WHERE name = $1").bind(name);
        Ok(self.write(q).await? == 1)
    }

    async fn disable_user(
        &self,
        name: &str,
        now: UnixTime,
        audit: Audit<Option<(User, Ended)>>,
    ) -> Result<Option<(User, Ended)>, StoreError> {
        self.writer.write((name.to_owned(), now), |b, (n, t)| Box::pin(disable_user_job(b, n, *t)), audit).await
    }

    async fn set_password_hash(&self, name: &str, hash: &str) -> Result<bool, StoreError> {
        let q = sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2").bind(hash).bind(name);
        Ok(self.write(q).await? == 1)
    }

    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        let q = sqlx::query(
            "INSERT INTO clients (id, name, kind, secret_hash, grant_types, redirect_uris,
                 post_logout_redirect_uris, backchannel_logout_uri, scope, resource_server, first_party,
                 backchannel_logout_session_required, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
        .bind(i64::from(client.resource_server))
        .bind(i64::from(client.first_party))
        .bind(i64::from(client.backchannel_logout_session_required))
        .bind(client.created_at.0);
        self.write(q).await.map_err(|e| conflict(e, "client"))?;
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

    async fn remove_client(
        &self,
        id: &ClientId,
        now: UnixTime,
        audit: Audit<Option<Vec<Revocation>>>,
    ) -> Result<Option<Vec<Revocation>>, StoreError> {
        self.writer.write((id.clone(), now), |b, (id, t)| Box::pin(remove_client_job(b, id, *t)), audit).await
    }
}

async fn disable_user_job(b: &mut Batch<'_>, name: &str, now: UnixTime) -> Result<Option<(User, Ended)>, StoreError> {
    // Keep the first disable time if already disabled.
    let sql = format!(
        "UPDATE users SET disabled_at = CASE WHEN disabled_at IS NULL THEN $1 ELSE disabled_at END
         WHERE name = $2 RETURNING {}",
        rows::USER_COLUMNS
    );
    let Some(row) = sqlx::query(&sql).bind(now.0).bind(name).fetch_optional(&mut *b.tx).await? else {
        return Ok(None);
    };
    let user = rows::user(&row)?;
    let which = SessionSelector::OfUser { user: user.id.clone(), except: None };
    let mut ended = end_sessions_in(b, &which, EndReason::UserDisabled, now).await?;
    // A cut-off as well: it also covers a token minted by a request that
    // raced with this transaction. It lives until the latest `exp` a
    // token issued before it may carry.
    let cutoff = NewRevocation {
        kind: RevocationKind::User,
        subject: user.id.to_string(),
        cutoff: Some(now),
        expires_at: b.bounds.latest_exp_issued_by(now),
    };
    ended.revocations.extend(append_revocations_in(b, &[cutoff], now).await?);
    Ok(Some((user, ended)))
}

async fn remove_client_job(
    b: &mut Batch<'_>,
    id: &ClientId,
    now: UnixTime,
) -> Result<Option<Vec<Revocation>>, StoreError> {
    let removed = sqlx::query("DELETE FROM clients WHERE id = $1").bind(id.as_str()).execute(&mut *b.tx).await?;
    if removed.rows_affected() == 0 {
        return Ok(None);
    }
    sqlx::query("UPDATE grants SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL")
        .bind(now.0)
        .bind(id.as_str())
        .execute(&mut *b.tx)
        .await?;
    // Every token of the client, whenever issued: a node that has not yet
    // heard of the removal may still issue one, for at most
    // `max_revocation_lag`, which the entry's life covers (RACE_MARGIN).
    let cutoff = NewRevocation {
        kind: RevocationKind::Client,
        subject: id.to_string(),
        cutoff: Some(CUTOFF_ALL),
        expires_at: b.bounds.latest_exp_issued_by(now),
    };
    Ok(Some(append_revocations_in(b, &[cutoff], now).await?))
}
