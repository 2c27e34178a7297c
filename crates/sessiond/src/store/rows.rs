//! Mapping between rows and domain records.
use sessiond_guard::{Jwk, SigningAlgorithm};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Grant, StoreError};
use crate::domain::{
    Client, ClientId, ClientKind, EndReason, GrantId, GrantType, KeyId, Scope, Session, SessionId, SignInContext,
    UnixTime, User, UserId,
};
use crate::tokens::StoredKey;

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn time(row: &AnyRow, col: &str) -> Result<UnixTime, StoreError> {
    Ok(UnixTime(row.try_get::<i64, _>(col)?))
}

fn opt_time(row: &AnyRow, col: &str) -> Result<Option<UnixTime>, StoreError> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(UnixTime))
}

fn hash(bytes: Vec<u8>) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| corrupt("hash is not 32 bytes"))
}

/// Space-separated list, the storage form of URI and grant-type lists.
pub fn join(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    items.into_iter().map(|s| s.as_ref().to_owned()).collect::<Vec<_>>().join(" ")
}

fn split(raw: &str) -> Vec<String> {
    raw.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

pub const USER_COLUMNS: &str = "id, name, password_hash, is_admin, disabled_at, created_at";

pub fn user(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: UserId::new(row.try_get::<String, _>("id")?),
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        disabled_at: opt_time(row, "disabled_at")?,
        created_at: time(row, "created_at")?,
    })
}

pub const CLIENT_COLUMNS: &str = "id, name, kind, secret_hash, grant_types, redirect_uris, \
     post_logout_redirect_uris, backchannel_logout_uri, scope, resource_server, first_party, backchannel_logout_session_required, created_at";

pub fn client(row: &AnyRow) -> Result<Client, StoreError> {
    let kind: String = row.try_get("kind")?;
    let grants: String = row.try_get("grant_types")?;
    let scope: String = row.try_get("scope")?;
    Ok(Client {
        id: ClientId::new(row.try_get::<String, _>("id")?),
        name: row.try_get("name")?,
        kind: ClientKind::parse(&kind).ok_or_else(|| corrupt(format!("client kind {kind}")))?,
        secret_hash: row.try_get::<Option<Vec<u8>>, _>("secret_hash")?.map(hash).transpose()?,
        grant_types: split(&grants)
            .iter()
            .map(|g| GrantType::parse(g).ok_or_else(|| corrupt(format!("grant type {g}"))))
            .collect::<Result<_, _>>()?,
        redirect_uris: split(&row.try_get::<String, _>("redirect_uris")?),
        post_logout_redirect_uris: split(&row.try_get::<String, _>("post_logout_redirect_uris")?),
        backchannel_logout_uri: row.try_get("backchannel_logout_uri")?,
        scope: Scope::parse(&scope).map_err(corrupt)?,
        resource_server: row.try_get::<i64, _>("resource_server")? != 0,
        first_party: row.try_get::<i64, _>("first_party")? != 0,
        backchannel_logout_session_required: row.try_get::<i64, _>("backchannel_logout_session_required")? != 0,
        created_at: time(row, "created_at")?,
    })
}

pub const KEY_COLUMNS: &str = "kid, alg, private_key, public_jwk, created_at, retired_at, publish_until";

pub fn key(row: &AnyRow) -> Result<StoredKey, StoreError> {
    let alg: String = row.try_get("alg")?;
    let jwk: String = row.try_get("public_jwk")?;
    Ok(StoredKey {
        kid: KeyId::new(row.try_get::<String, _>("kid")?),
        alg: SigningAlgorithm::parse(&alg).ok_or_else(|| corrupt(format!("algorithm {alg}")))?,
        private_der: row.try_get("private_key")?,
        jwk: serde_json::from_str::<Jwk>(&jwk).map_err(corrupt)?,
        created_at: time(row, "created_at")?,
        retired_at: opt_time(row, "retired_at")?,
        publish_until: opt_time(row, "publish_until")?,
    })
}

pub const SESSION_COLUMNS: &str = "id, user_id, client_id, created_at, last_seen_at, idle_expires_at, \
     absolute_expires_at, ended_at, end_reason, ip, user_agent";

pub fn session(row: &AnyRow) -> Result<Session, StoreError> {
    let reason: Option<String> = row.try_get("end_reason")?;
    Ok(Session {
        id: SessionId::new(row.try_get::<String, _>("id")?),
        user_id: UserId::new(row.try_get::<String, _>("user_id")?),
        client_id: ClientId::new(row.try_get::<String, _>("client_id")?),
        created_at: time(row, "created_at")?,
        last_seen_at: time(row, "last_seen_at")?,
        idle_expires_at: time(row, "idle_expires_at")?,
        absolute_expires_at: time(row, "absolute_expires_at")?,
        ended_at: opt_time(row, "ended_at")?,
        end_reason: reason
            .map(|r| EndReason::parse(&r).ok_or_else(|| corrupt(format!("end reason {r}"))))
            .transpose()?,
        context: SignInContext { ip: row.try_get("ip")?, user_agent: row.try_get("user_agent")? },
    })
}

pub const GRANT_COLUMNS: &str = "id, session_id, client_id, scope, created_at, revoked_at";

pub fn grant(row: &AnyRow) -> Result<Grant, StoreError> {
    let scope: String = row.try_get("scope")?;
    Ok(Grant {
        id: GrantId::new(row.try_get::<String, _>("id")?),
        session_id: SessionId::new(row.try_get::<String, _>("session_id")?),
        client_id: ClientId::new(row.try_get::<String, _>("client_id")?),
        scope: Scope::parse(&scope).map_err(corrupt)?,
        created_at: time(row, "created_at")?,
        revoked_at: opt_time(row, "revoked_at")?,
    })
}

pub const REVOCATION_COLUMNS: &str = "seq, kind, subject, cutoff, expires_at";

pub fn revocation(row: &AnyRow) -> Result<sessiond_guard::Revocation, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(sessiond_guard::Revocation {
        seq: row.try_get("seq")?,
        kind: sessiond_guard::RevocationKind::parse(&kind).ok_or_else(|| corrupt(format!("revocation kind {kind}")))?,
        subject: row.try_get("subject")?,
        cutoff: row.try_get("cutoff")?,
        expires_at: row.try_get("expires_at")?,
    })
}

pub const AUDIT_COLUMNS: &str =
    "seq, at, kind, actor, user_id, user_name, client_id, session_id, ip, user_agent, detail";

pub fn audit(row: &AnyRow) -> Result<crate::domain::AuditEvent, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(crate::domain::AuditEvent {
        seq: row.try_get("seq")?,
        at: time(row, "at")?,
        kind: crate::domain::AuditKind::parse(&kind),
        actor: row.try_get("actor")?,
        user_id: row.try_get("user_id")?,
        user_name: row.try_get("user_name")?,
        client_id: row.try_get("client_id")?,
        session_id: row.try_get("session_id")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        detail: row.try_get("detail")?,
    })
}
