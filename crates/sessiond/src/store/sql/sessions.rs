//! Sessions, grants and refresh tokens.
use async_trait::async_trait;
use sessiond_guard::RevocationKind;
use sqlx::Row;

use super::{append_revocations_in, conflict, done, end_sessions_in, rows, Batch, SqlStore, Tx};
use crate::domain::{
    Admission, ClientId, EndReason, RefreshFacts, RefreshState, Scope, Session, SessionId, SessionPolicy, UnixTime,
    UserId,
};
use crate::store::{
    Audit, Ended, Grant, NewRefreshToken, NewRevocation, NewSignIn, RefreshRevocation, RefreshTokenInfo, RejectReason,
    Rotation, SessionSelector, SessionStore, SignInOutcome, StoreError,
};

/// Sessions that are neither ended nor past a timeout at `$n`.
fn live(now_param: &str) -> String {
    format!("ended_at IS NULL AND idle_expires_at > {now_param} AND absolute_expires_at > {now_param}")
}

pub(super) async fn insert_refresh_token(
    tx: &mut Tx<'_>,
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

pub(super) async fn insert_grant(tx: &mut Tx<'_>, grant: &Grant) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO grants (id, session_id, client_id, scope, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(grant.id.as_str())
        .bind(grant.session_id.as_str())
        .bind(grant.client_id.as_str())
        .bind(grant.scope.to_string())
        .bind(grant.created_at.0)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict(e, "grant"))?;
    Ok(())
}

/// Records use of a session at `now` (last seen, and the idle expiry moved
/// on); the new idle expiry, or `None` if the session has ended. Only a
/// session still live at this write counts: on PostgreSQL an ending that
/// committed after the caller read the session is seen here (the row lock
/// waits for it), so no token is minted for it.
pub(super) async fn touch_session(
    tx: &mut Tx<'_>,
    session: &Session,
    now: UnixTime,
    policy: &SessionPolicy,
) -> Result<Option<UnixTime>, StoreError> {
    let idle = policy.idle_expiry_after_use(now, session.absolute_expires_at);
    let touched =
        sqlx::query("UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3 AND ended_at IS NULL")
            .bind(now.0)
            .bind(idle.0)
            .bind(session.id.as_str())
            .execute(&mut **tx)
            .await?
            .rows_affected();
    Ok((touched == 1).then_some(idle))
}

pub(super) async fn session_in(tx: &mut Tx<'_>, id: &SessionId) -> Result<Session, StoreError> {
    let sql = format!("SELECT {} FROM sessions WHERE id = $1", rows::SESSION_COLUMNS);
    rows::session(&sqlx::query(&sql).bind(id.as_str()).fetch_one(&mut **tx).await?)
}

/// The grant of a refresh token, with the token's state.
async fn token_grant(tx: &mut Tx<'_>, hash: &[u8; 32]) -> Result<Option<(Grant, Option<i64>, i64, i64)>, StoreError> {
    let sql = format!(
        "SELECT g.{}, r.used_at AS token_used_at, r.created_at AS token_created_at, r.expires_at AS token_expires_at
         FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.token_hash = $1",
        rows::GRANT_COLUMNS.replace(", ", ", g.")
    );
    let Some(row) = sqlx::query(&sql).bind(hash.to_vec()).fetch_optional(&mut **tx).await? else {
        return Ok(None);
    };
    Ok(Some((
        rows::grant(&row)?,
        row.try_get("token_used_at")?,
        row.try_get("token_created_at")?,
        row.try_get("token_expires_at")?,
    )))
}

/// `sign_in`'s input.
struct SignInInput {
    sign_in: NewSignIn,
    policy: SessionPolicy,
}

async fn sign_in_job(b: &mut Batch<'_>, input: &SignInInput) -> Result<SignInOutcome, StoreError> {
    let SignInInput { sign_in, policy } = input;
    let session = &sign_in.session;
    let now = session.created_at;
    // Lock the user's row (a write that changes nothing: both backends
    // count the row it matched): concurrent sign-ins of one user on other
    // nodes queue here, so the count below cannot be stale when the limit
    // is enforced. Nothing is written before every check has passed, so a
    // refused sign-in leaves nothing in the batch.
    let locked = sqlx::query("UPDATE users SET sign_in_count = sign_in_count WHERE id = $1 AND disabled_at IS NULL")
        .bind(session.user_id.as_str())
        .execute(&mut *b.tx)
        .await?
        .rows_affected();
    if locked == 0 {
        return Ok(SignInOutcome::UserDisabled);
    }
    // The client's stored state, not a cache: a client removed on another
    // node a moment ago gets no new grant. (A browser's session gets its
    // grants with each code redeemed, which checks the client again.)
    if sign_in.grant.is_some() {
        let client: Option<i64> = sqlx::query_scalar("SELECT 1 FROM clients WHERE id = $1")
            .bind(session.client_id.as_str())
            .fetch_optional(&mut *b.tx)
            .await?;
        if client.is_none() {
            return Ok(SignInOutcome::ClientRemoved);
        }
    }
    let mut ended = Ended::default();
    if policy.limit.max.is_some() {
        let live_ids: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT id FROM sessions WHERE user_id = $1 AND {} ORDER BY created_at, id",
            live("$2")
        ))
        .bind(session.user_id.as_str())
        .bind(now.0)
        .fetch_all(&mut *b.tx)
        .await?;
        match policy.admission(live_ids.len() as u64) {
            Admission::Admit => {}
            Admission::Refuse => return Ok(SignInOutcome::LimitReached),
            Admission::EndOldest(n) => {
                for id in live_ids.into_iter().take(usize::try_from(n).unwrap_or(usize::MAX)) {
                    let one =
                        end_sessions_in(b, &SessionSelector::One(SessionId::new(id)), EndReason::SessionLimit, now)
                            .await?;
                    ended.sessions.extend(one.sessions);
                    ended.revocations.extend(one.revocations);
                }
            }
        }
    }
    sqlx::query("UPDATE users SET sign_in_count = sign_in_count + 1 WHERE id = $1")
        .bind(session.user_id.as_str())
        .execute(&mut *b.tx)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, client_id, created_at, last_seen_at, idle_expires_at,
             absolute_expires_at, ip, user_agent, cookie_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
    .bind(sign_in.cookie_hash.map(|h| h.to_vec()))
    .execute(&mut *b.tx)
    .await
    .map_err(|e| conflict(e, "session"))?;
    if let Some((grant, refresh)) = &sign_in.grant {
        insert_grant(&mut b.tx, grant).await?;
        if let Some(refresh) = refresh {
            insert_refresh_token(&mut b.tx, refresh, grant, session.absolute_expires_at).await?;
        }
    }
    Ok(SignInOutcome::Admitted { ended })
}

/// `rotate_refresh_token`'s input.
struct RotateInput {
    presented: [u8; 32],
    client_id: ClientId,
    scope: Option<Scope>,
    next: NewRefreshToken,
    now: UnixTime,
    policy: SessionPolicy,
}

async fn rotate_job(b: &mut Batch<'_>, input: &RotateInput) -> Result<Rotation, StoreError> {
    let RotateInput { presented, client_id, scope, next, now, policy } = input;
    let now = *now;
    // Everything that refuses the request is decided before the token is
    // consumed, so a refusal writes nothing (a scope too wide leaves the
    // token usable, RFC 6749 §6).
    let Some((grant, used_at, _, expires_at)) = token_grant(&mut b.tx, presented).await? else {
        return Ok(Rotation::Rejected(RejectReason::Unknown));
    };
    if &grant.client_id != client_id {
        return Ok(Rotation::Rejected(RejectReason::OtherClient));
    }
    let session = session_in(&mut b.tx, &grant.session_id).await?;
    let sql = format!("SELECT {} FROM users WHERE id = $1", rows::USER_COLUMNS);
    let user = rows::user(&sqlx::query(&sql).bind(session.user_id.as_str()).fetch_one(&mut *b.tx).await?)?;
    let facts = RefreshFacts {
        used: used_at.is_some(),
        expires_at: UnixTime(expires_at),
        grant_revoked: grant.revoked_at.is_some(),
        session: &session,
        user_enabled: user.is_enabled(),
    };
    let used = match facts.state(now) {
        RefreshState::Usable => false,
        RefreshState::Used => true,
        RefreshState::Expired | RefreshState::SessionNotLive => {
            return Ok(Rotation::Rejected(RejectReason::SessionNotLive))
        }
        RefreshState::GrantRevoked => return Ok(Rotation::Rejected(RejectReason::GrantRevoked)),
        RefreshState::UserDisabled => return Ok(Rotation::Rejected(RejectReason::UserDisabled)),
    };
    if !used && scope.as_ref().is_some_and(|s| !s.is_subset_of(&grant.scope)) {
        return Ok(Rotation::Rejected(RejectReason::ScopeExceeded));
    }
    // Consume it. Of any number of concurrent presentations (on any node)
    // exactly one sees one affected row; the others are reuse.
    let consumed = !used
        && sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL")
            .bind(now.0)
            .bind(presented.to_vec())
            .execute(&mut *b.tx)
            .await?
            .rows_affected()
            == 1;
    if !consumed {
        // RFC 9700 §4.14.2: a used refresh token came back. Either the
        // client or an attacker holds a stolen copy; end the session.
        let which = SessionSelector::One(session.id.clone());
        let ended = end_sessions_in(b, &which, EndReason::RefreshReuse, now).await?;
        return Ok(Rotation::Reused {
            session_id: session.id,
            user_id: session.user_id,
            revocations: ended.revocations,
        });
    }
    let Some(idle) = touch_session(&mut b.tx, &session, now, policy).await? else {
        // Ended on another node since it was read: the token stays spent,
        // as it would had the ending come first.
        return Ok(Rotation::Rejected(RejectReason::SessionNotLive));
    };
    insert_refresh_token(&mut b.tx, next, &grant, session.absolute_expires_at).await?;
    let session = Session { last_seen_at: now, idle_expires_at: idle, ..session };
    Ok(Rotation::Rotated { session, grant, user })
}

/// `revoke_refresh_token`'s input.
struct RevokeRefreshInput {
    presented: [u8; 32],
    client_id: Option<ClientId>,
    now: UnixTime,
}

async fn revoke_refresh_job(b: &mut Batch<'_>, input: &RevokeRefreshInput) -> Result<RefreshRevocation, StoreError> {
    let RevokeRefreshInput { presented, client_id, now } = input;
    let now = *now;
    let Some((grant, ..)) = token_grant(&mut b.tx, presented).await? else {
        return Ok(RefreshRevocation::Unknown);
    };
    if client_id.as_ref().is_some_and(|c| c != &grant.client_id) {
        return Ok(RefreshRevocation::OtherClient);
    }
    let revoked = sqlx::query("UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now.0)
        .bind(grant.id.as_str())
        .execute(&mut *b.tx)
        .await?
        .rows_affected()
        == 1;
    let mut revocations = Vec::new();
    if revoked {
        // Every token of the grant carries its session's `sid` and so is
        // bounded like the session's.
        let session = session_in(&mut b.tx, &grant.session_id).await?;
        let new = NewRevocation {
            kind: RevocationKind::Grant,
            subject: grant.id.to_string(),
            cutoff: None,
            expires_at: b.bounds.session_entry_expiry(now, session.absolute_expires_at),
        };
        revocations = append_revocations_in(b, &[new], now).await?;
    }
    Ok(RefreshRevocation::Revoked { grant, revocations })
}

async fn expire_job(b: &mut Batch<'_>, now: &UnixTime) -> Result<Vec<Session>, StoreError> {
    let now = *now;
    let expired = "ended_at IS NULL AND (idle_expires_at <= $1 OR absolute_expires_at <= $1)";
    sqlx::query(&format!(
        "UPDATE grants SET revoked_at = $1 WHERE revoked_at IS NULL
           AND session_id IN (SELECT id FROM sessions WHERE {expired})"
    ))
    .bind(now.0)
    .execute(&mut *b.tx)
    .await?;
    // Ended at the moment the timeout struck, not at the prune.
    let sql = format!(
        "UPDATE sessions SET end_reason = 'expired',
             ended_at = CASE WHEN idle_expires_at < absolute_expires_at THEN idle_expires_at ELSE absolute_expires_at END
         WHERE {expired} RETURNING {}",
        rows::SESSION_COLUMNS
    );
    let sessions: Vec<Session> = sqlx::query(&sql)
        .bind(now.0)
        .fetch_all(&mut *b.tx)
        .await?
        .iter()
        .map(rows::session)
        .collect::<Result<_, _>>()?;
    // A session that timed out ended too: its applications hear of it.
    for s in &sessions {
        super::outbox::queue_logouts(&mut b.tx, &s.id, &s.user_id, now).await?;
    }
    Ok(sessions)
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn sign_in(
        &self,
        sign_in: &NewSignIn,
        policy: &SessionPolicy,
        audit: Audit<SignInOutcome>,
    ) -> Result<SignInOutcome, StoreError> {
        let input = SignInInput { sign_in: sign_in.clone(), policy: *policy };
        self.writer.write(input, |b, i| Box::pin(sign_in_job(b, i)), audit).await
    }

    async fn rotate_refresh_token(
        &self,
        presented: &[u8; 32],
        client_id: &ClientId,
        scope: Option<&Scope>,
        next: &NewRefreshToken,
        now: UnixTime,
        policy: &SessionPolicy,
        audit: Audit<Rotation>,
    ) -> Result<Rotation, StoreError> {
        let input = RotateInput {
            presented: *presented,
            client_id: client_id.clone(),
            scope: scope.cloned(),
            next: next.clone(),
            now,
            policy: *policy,
        };
        self.writer.write(input, |b, i| Box::pin(rotate_job(b, i)), audit).await
    }

    async fn revoke_refresh_token(
        &self,
        presented: &[u8; 32],
        client_id: Option<&ClientId>,
        now: UnixTime,
        audit: Audit<RefreshRevocation>,
    ) -> Result<RefreshRevocation, StoreError> {
        let input = RevokeRefreshInput { presented: *presented, client_id: client_id.cloned(), now };
        self.writer.write(input, |b, i| Box::pin(revoke_refresh_job(b, i)), audit).await
    }

    async fn refresh_token_info(&self, presented: &[u8; 32]) -> Result<Option<RefreshTokenInfo>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let Some((grant, used_at, created_at, expires_at)) = token_grant(&mut tx, presented).await? else {
            return done(tx, None).await;
        };
        let session = session_in(&mut tx, &grant.session_id).await?;
        let sql = format!("SELECT {} FROM users WHERE id = $1", rows::USER_COLUMNS);
        let user = rows::user(&sqlx::query(&sql).bind(session.user_id.as_str()).fetch_one(&mut *tx).await?)?;
        tx.commit().await?;
        Ok(Some(RefreshTokenInfo {
            grant,
            session,
            user,
            created_at: UnixTime(created_at),
            expires_at: UnixTime(expires_at),
            used: used_at.is_some(),
        }))
    }

    async fn session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {} FROM sessions WHERE id = $1", rows::SESSION_COLUMNS);
        self.fetch_optional(sqlx::query(&sql).bind(id.as_str()), rows::session).await
    }

    async fn grants_of_session(&self, session: &SessionId) -> Result<Vec<Grant>, StoreError> {
        let sql = format!("SELECT {} FROM grants WHERE session_id = $1 ORDER BY created_at, id", rows::GRANT_COLUMNS);
        self.fetch_all(sqlx::query(&sql).bind(session.as_str()), rows::grant).await
    }

    async fn live_sessions_of_user(&self, user: &UserId, now: UnixTime) -> Result<Vec<Session>, StoreError> {
        let sql = format!(
            "SELECT {} FROM sessions WHERE user_id = $1 AND {} ORDER BY created_at DESC, id",
            rows::SESSION_COLUMNS,
            live("$2")
        );
        self.fetch_all(sqlx::query(&sql).bind(user.as_str()).bind(now.0), rows::session).await
    }

    async fn live_sessions(
        &self,
        user: Option<&UserId>,
        after: Option<&SessionId>,
        limit: u32,
        now: UnixTime,
    ) -> Result<Vec<Session>, StoreError> {
        // Two statements rather than `($4 = '' OR user_id = $4)`, so that
        // PostgreSQL's generic plan keeps using the per-user index.
        let of_user = if user.is_some() { "AND user_id = $4" } else { "" };
        let sql = format!(
            "SELECT {} FROM sessions WHERE id > $1 AND {} {of_user} ORDER BY id LIMIT $3",
            rows::SESSION_COLUMNS,
            live("$2")
        );
        let after = after.map_or("", |s| s.as_str());
        let query = sqlx::query(&sql).bind(after).bind(now.0).bind(i64::from(limit));
        let query = match user {
            Some(user) => query.bind(user.as_str()),
            None => query,
        };
        self.fetch_all(query, rows::session).await
    }

    async fn end_sessions(
        &self,
        which: SessionSelector,
        reason: EndReason,
        now: UnixTime,
        audit: Audit<Ended>,
    ) -> Result<Ended, StoreError> {
        self.writer.write((which, reason, now), |b, (w, r, n)| Box::pin(end_sessions_in(b, w, *r, *n)), audit).await
    }

    async fn count_live_sessions(&self, now: UnixTime) -> Result<u64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM sessions WHERE {}", live("$1"));
        let n: i64 = sqlx::query_scalar(&sql).bind(now.0).fetch_one(&self.pool).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn expire_sessions(&self, now: UnixTime, audit: Audit<Vec<Session>>) -> Result<Vec<Session>, StoreError> {
        self.writer.write(now, |b, n| Box::pin(expire_job(b, n)), audit).await
    }
}
