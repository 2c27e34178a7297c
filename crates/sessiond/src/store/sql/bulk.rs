//! Many rows in one statement: the revocation log rows and audit events a
//! batch holds back until its writes have run (`batch.rs`).
//!
//! Each inserts a JSON array of rows, so a batch of any size costs one
//! round trip a table and one prepared statement (a `VALUES` list would
//! make a new statement for every row count). The JSON is read by each
//! backend's own table function: PostgreSQL's `json_to_recordset`,
//! SQLite's `json_each`.
use std::collections::HashMap;

use serde_json::{json, Value};
use sessiond_guard::Revocation;

use super::{rows, Backend, Tx};
use crate::domain::{AuditEvent, UnixTime};
use crate::store::{NewRevocation, StoreError};

/// Appends `new` (each with the time it was made) to the revocation log;
/// returns them, in the same order, with their `seq`.
pub(super) async fn insert_revocations(
    tx: &mut Tx<'_>,
    backend: Backend,
    new: &[(NewRevocation, UnixTime)],
) -> Result<Vec<Revocation>, StoreError> {
    let rows: Vec<Value> = new
        .iter()
        .map(|(r, now)| {
            json!({
                "kind": r.kind.as_str(),
                "subject": r.subject,
                "cutoff": r.cutoff.map(|t| t.0),
                "expires_at": r.expires_at.0,
                "created_at": now.0,
            })
        })
        .collect();
    let columns = [
        ("kind", "text"),
        ("subject", "text"),
        ("cutoff", "bigint"),
        ("expires_at", "bigint"),
        ("created_at", "bigint"),
    ];
    let sql = format!("{} RETURNING {}", insert(backend, "revocations", &columns), rows::REVOCATION_COLUMNS);
    let inserted = sqlx::query(&sql).bind(Value::Array(rows).to_string()).fetch_all(&mut **tx).await?;
    // Neither backend promises RETURNING in input order, so each row is
    // found by what it holds. Rows that hold the same are interchangeable:
    // the one entry they make in the index is the same whichever `seq`
    // goes with which.
    let mut by_content: HashMap<Key, Vec<i64>> = HashMap::new();
    for row in &inserted {
        let r = rows::revocation(row)?;
        by_content.entry(key(&r)).or_default().push(r.seq);
    }
    new.iter()
        .map(|(r, _)| {
            let mut out = Revocation {
                seq: 0,
                kind: r.kind,
                subject: r.subject.clone(),
                cutoff: r.cutoff.map(|t| t.0),
                expires_at: r.expires_at.0,
            };
            out.seq = by_content
                .get_mut(&key(&out))
                .and_then(Vec::pop)
                .ok_or_else(|| StoreError::Corrupt("a revocation row was not returned by its insert".into()))?;
            Ok(out)
        })
        .collect()
}

type Key = (&'static str, String, Option<i64>, i64);

fn key(r: &Revocation) -> Key {
    (r.kind.as_str(), r.subject.clone(), r.cutoff, r.expires_at)
}

/// Records audit events, capped and cleaned first (`AuditEvent::bounded`).
pub(super) async fn insert_audit_events(
    tx: &mut Tx<'_>,
    backend: Backend,
    events: &[AuditEvent],
) -> Result<(), StoreError> {
    let rows: Vec<Value> = events
        .iter()
        .map(|e| {
            let e = e.bounded();
            json!({
                "at": e.at.0,
                "kind": e.kind.map(|k| k.as_str()).unwrap_or("unknown"),
                "actor": e.actor,
                "user_id": e.user_id,
                "user_name": e.user_name,
                "client_id": e.client_id,
                "session_id": e.session_id,
                "ip": e.ip,
                "user_agent": e.user_agent,
                "detail": e.detail,
            })
        })
        .collect();
    const TEXT: &str = "text";
    let columns = [
        ("at", "bigint"),
        ("kind", TEXT),
        ("actor", TEXT),
        ("user_id", TEXT),
        ("user_name", TEXT),
        ("client_id", TEXT),
        ("session_id", TEXT),
        ("ip", TEXT),
        ("user_agent", TEXT),
        ("detail", TEXT),
    ];
    sqlx::query(&insert(backend, "audit_events", &columns))
        .bind(Value::Array(rows).to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// `INSERT` into `columns` (name, PostgreSQL type) of `table` of every
/// object of the JSON array bound as `$1`.
fn insert(backend: Backend, table: &str, columns: &[(&str, &str)]) -> String {
    let names = columns.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ");
    let select = match backend {
        Backend::Postgres => {
            let typed = columns.iter().map(|(name, ty)| format!("{name} {ty}")).collect::<Vec<_>>().join(", ");
            format!("SELECT {names} FROM json_to_recordset($1::json) AS j({typed})")
        }
        // `json_each` walks the array in order; `json_extract` gives SQL
        // NULL for a JSON null and an integer for a JSON integer.
        Backend::Sqlite => {
            let fields = columns
                .iter()
                .map(|(name, _)| format!("json_extract(value, '$.{name}')"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("SELECT {fields} FROM json_each($1)")
        }
    };
    format!("INSERT INTO {table} ({names}) {select}")
}
