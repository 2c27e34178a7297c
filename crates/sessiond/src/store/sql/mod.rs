//! The `Store` in SQL, through sqlx's `Any` driver so that one body of
//! portable SQL serves SQLite (the embedded default) and PostgreSQL.
//!
//! Portability rules: `$n` placeholders (both drivers accept them), BIGINT
//! Unix seconds for times, BLOB/BYTEA for hashes, `ON CONFLICT`, `RETURNING`,
//! `CASE` instead of `MIN`/`LEAST`. Every transaction starts with a write,
//! so SQLite takes its write lock up front (waiting on `busy_timeout`)
//! instead of failing a read-to-write upgrade, and PostgreSQL takes the same
//! row locks.
mod accounts;
mod batch;
mod browser;
mod bulk;
mod checkpoint;
mod keys;
mod listen;
mod log;
mod outbox;
mod sessions;
mod settings;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sessiond_guard::{Revocation, RevocationKind};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Transaction};

use super::rows;
use super::sealing::Sealer;
use super::{Ended, EndedSession, NewRevocation, SessionSelector, StoreError};
use crate::config::Database;
use crate::domain::{ClientId, EndReason, TokenBounds, UnixTime};
use batch::{Batch, Writer};

type Query<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;
type Tx<'c> = Transaction<'c, Any>;

/// The channel on which PostgreSQL announces changes to every node.
const CHANGES_CHANNEL: &str = "sessiond_changes";
/// Advisory lock that orders writers of the revocation log (PostgreSQL).
const LOG_LOCK: i64 = 0x5e55_10d0;
/// Advisory lock that lets one node at a time run migrations (PostgreSQL).
const MIGRATION_LOCK: i64 = 0x5e55_10d1;

/// Which database runs behind the `Any` driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// The embedded default.
    Sqlite,
    /// Shared by several nodes.
    Postgres,
}

/// The SQL store.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    sealer: Arc<Sealer>,
    /// For LISTEN (PostgreSQL only).
    url: Option<String>,
    /// The group-commit writer every durable write of this process goes
    /// through (`batch.rs`).
    writer: Writer,
}

impl SqlStore {
    /// Opens the configured database, creating and migrating it as needed.
    pub async fn open(database: &Database, sealer: Sealer) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        match database {
            Database::Sqlite(path) => Self::open_sqlite(path, sealer).await,
            Database::Postgres { url, max_connections, statement_timeout } => {
                Self::open_postgres(url, *max_connections, *statement_timeout, sealer).await
            }
        }
    }

    async fn open_postgres(url: &str, max: u32, timeout: Duration, sealer: Sealer) -> Result<Self, StoreError> {
        let timeout_ms = timeout.as_millis().max(1);
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| Box::pin(postgres_session(conn, timeout_ms)))
            .connect(url)
            .await?;
        // One node migrates at a time; the others wait, then find nothing to do.
        let mut lock = pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATION_LOCK).execute(&mut *lock).await?;
        let migrated = super::migrate::run(&pool, super::migrate::POSTGRES).await;
        sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut *lock).await?;
        migrated?;
        // The writer's own connection: reads never wait for a pooled
        // connection behind it, nor it behind them.
        let writer_url = url.to_owned();
        let connect: batch::Connect = Box::new(move || -> BoxFuture<'static, Result<AnyConnection, sqlx::Error>> {
            let url = writer_url.clone();
            Box::pin(async move {
                let mut conn = AnyConnection::connect(&url).await?;
                postgres_session(&mut conn, timeout_ms).await?;
                Ok(conn)
            })
        });
        let writer = Writer::start(connect, Backend::Postgres).await?;
        Ok(Self { pool, backend: Backend::Postgres, sealer: Arc::new(sealer), url: Some(url.to_owned()), writer })
    }

    /// Opens (creating if needed) the SQLite database at `path` in WAL mode
    /// and applies migrations. The file is made owner-only first, so that
    /// SQLite's `-wal` and `-shm` files are too (`store/files.rs`).
    ///
    /// Two pools: up to eight connections for reads (and the rare writes that
    /// are not batched), and one for the group-commit writer. In WAL mode
    /// readers never wait for the writer, and with a connection of its own
    /// the writer never waits for a pooled one. Nobody checkpoints at commit
    /// (`wal_autocheckpoint = 0`): a background task does, passively
    /// (`checkpoint.rs`), so no commit pays for copying the WAL back.
    async fn open_sqlite(path: &Path, sealer: Sealer) -> Result<Self, StoreError> {
        super::files::prepare_database_file(path).map_err(|e| StoreError::File(path.display().to_string(), e))?;
        let encoded = path.to_string_lossy().replace('%', "%25").replace('?', "%3F").replace('#', "%23");
        let url = format!("sqlite://{encoded}?mode=rwc");
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            // Idle connections are closed soon: one that still holds a
            // statement sqlx has not reset keeps a read snapshot, which
            // stops SQLite from checkpointing the WAL.
            .idle_timeout(Duration::from_secs(30))
            .after_connect(|conn, _| Box::pin(sqlite_session(conn)))
            .connect(&url)
            .await?;
        {
            // On a connection that is then closed, so no statement lingers.
            let mut conn = pool.acquire().await?;
            sqlx::raw_sql("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
            conn.close().await?;
        }
        super::migrate::run(&pool, super::migrate::SQLITE).await?;
        checkpoint::spawn(pool.clone());
        let connect: batch::Connect = Box::new(move || -> BoxFuture<'static, Result<AnyConnection, sqlx::Error>> {
            let url = url.clone();
            Box::pin(async move {
                let mut conn = AnyConnection::connect(&url).await?;
                sqlite_session(&mut conn).await?;
                Ok(conn)
            })
        });
        let writer = Writer::start(connect, Backend::Sqlite).await?;
        Ok(Self { pool, backend: Backend::Sqlite, sealer: Arc::new(sealer), url: None, writer })
    }

    /// Tells the other nodes, at commit, that something changed.
    async fn notify(&self, tx: &mut Tx<'_>, what: &str) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)").bind(CHANGES_CHANNEL).bind(what).execute(&mut **tx).await?;
        }
        Ok(())
    }

    async fn fetch_optional<'q, T>(
        &self,
        query: Query<'q>,
        map: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        query.fetch_optional(&self.pool).await?.as_ref().map(map).transpose()
    }

    async fn fetch_all<'q, T>(
        &self,
        query: Query<'q>,
        map: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        query.fetch_all(&self.pool).await?.iter().map(map).collect()
    }
}

impl SqlStore {
    /// Runs one write in a transaction of its own and commits it. Never an
    /// autocommit write: SQLite ends an implicit transaction only when its
    /// statement is reset, which sqlx does lazily; COMMIT ends the write, and
    /// releases the write lock, at a moment this code chooses.
    async fn write(&self, query: Query<'_>) -> Result<u64, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let affected = query.execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(affected)
    }
}

/// Settings of every PostgreSQL connection.
async fn postgres_session(conn: &mut AnyConnection, timeout_ms: u128) -> Result<(), sqlx::Error> {
    conn.execute(format!("SET statement_timeout = {timeout_ms}").as_str()).await?;
    Ok(())
}

/// Settings of every SQLite connection.
async fn sqlite_session(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    // FULL: a revocation acknowledged to a client survives a power cut,
    // not only a crash (design invariant 2).
    for pragma in [
        "PRAGMA foreign_keys = ON",
        "PRAGMA busy_timeout = 10000",
        "PRAGMA synchronous = FULL",
        "PRAGMA wal_autocheckpoint = 0",
        "PRAGMA journal_size_limit = 67108864",
    ] {
        conn.execute(pragma).await?;
    }
    Ok(())
}

/// Starts a transaction that will append to the revocation log. On
/// PostgreSQL it first takes the log's advisory lock, held to commit:
/// log writers then commit in `seq` order, so a follower reading rows
/// past its last `seq` never skips one that commits later. Taking it
/// first, before any row lock, keeps the lock order the same everywhere.
/// (SQLite has a single writer already.) Then it reads the durable
/// token bounds that every revocation's expiry is computed from, locked
/// until commit (see `settings::bounds_in`). The writer begins every batch
/// this way; pruning the log does too.
async fn begin_log_tx(conn: &mut AnyConnection, backend: Backend) -> Result<(Tx<'_>, TokenBounds), StoreError> {
    let mut tx = match backend {
        // One round trip for both: this runs once a batch, and the writer
        // waits for each.
        Backend::Postgres => conn.begin_with(format!("BEGIN; SELECT pg_advisory_xact_lock({LOG_LOCK})")).await?,
        Backend::Sqlite => conn.begin().await?,
    };
    match settings::bounds_in(backend, &mut tx).await {
        Ok(bounds) => Ok((tx, bounds)),
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}

/// Ends a transaction that has nothing to keep, returning `value`. A
/// transaction that is merely dropped rolls back lazily, and on SQLite its
/// pooled connection could sit holding the write lock meanwhile, blocking
/// every other writer (the CLI, other processes) until `busy_timeout`.
async fn done<T>(tx: Tx<'_>, value: T) -> Result<T, StoreError> {
    tx.rollback().await?;
    Ok(value)
}

/// Maps a unique-key violation to `Conflict`.
fn conflict(e: sqlx::Error, what: &'static str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(e),
    }
}

/// Appends revocations inside the batch, returning them with their `seq`;
/// the other nodes are told at commit.
async fn append_revocations_in(
    batch: &mut Batch<'_>,
    new: &[NewRevocation],
    now: UnixTime,
) -> Result<Vec<Revocation>, StoreError> {
    let mut out = Vec::with_capacity(new.len());
    for r in new {
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO revocations (kind, subject, cutoff, expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING seq",
        )
        .bind(r.kind.as_str())
        .bind(&r.subject)
        .bind(r.cutoff.map(|t| t.0))
        .bind(r.expires_at.0)
        .bind(now.0)
        .fetch_one(&mut *batch.tx)
        .await?;
        out.push(Revocation {
            seq,
            kind: r.kind,
            subject: r.subject.clone(),
            cutoff: r.cutoff.map(|t| t.0),
            expires_at: r.expires_at.0,
        });
    }
    batch.log_written |= !out.is_empty();
    Ok(out)
}

/// Ends the selected live sessions inside the batch: marks them ended,
/// revokes their grants, appends one `session` revocation each, kept until
/// no token of the session can be valid, and queues their back-channel
/// logouts.
async fn end_sessions_in(
    batch: &mut Batch<'_>,
    which: &SessionSelector,
    reason: EndReason,
    now: UnixTime,
) -> Result<Ended, StoreError> {
    let returning = rows::SESSION_COLUMNS;
    let query = match which {
        SessionSelector::One(id) => {
            let sql = format!(
                "UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE ended_at IS NULL AND id = $3 RETURNING {returning}"
            );
            sqlx::query(&sql).bind(now.0).bind(reason.as_str()).bind(id.as_str()).fetch_all(&mut *batch.tx).await?
        }
        SessionSelector::OfUser { user, except } => {
            let sql = format!(
                "UPDATE sessions SET ended_at = $1, end_reason = $2
                 WHERE ended_at IS NULL AND user_id = $3 AND id <> $4 RETURNING {returning}"
            );
            let except = except.as_ref().map_or("", |s| s.as_str());
            sqlx::query(&sql)
                .bind(now.0)
                .bind(reason.as_str())
                .bind(user.as_str())
                .bind(except)
                .fetch_all(&mut *batch.tx)
                .await?
        }
    };
    let ended = query.iter().map(rows::session).collect::<Result<Vec<_>, _>>()?;
    let mut revocations = Vec::new();
    let mut sessions = Vec::with_capacity(ended.len());
    for s in ended {
        sqlx::query("UPDATE grants SET revoked_at = $1 WHERE session_id = $2 AND revoked_at IS NULL")
            .bind(now.0)
            .bind(s.id.as_str())
            .execute(&mut *batch.tx)
            .await?;
        // Every client that held a grant in the session, revoked now or
        // before: each has a session of its own to end.
        let clients: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT client_id FROM grants WHERE session_id = $1 ORDER BY client_id")
                .bind(s.id.as_str())
                .fetch_all(&mut *batch.tx)
                .await?;
        let new = NewRevocation {
            kind: RevocationKind::Session,
            subject: s.id.to_string(),
            cutoff: None,
            expires_at: batch.bounds.session_entry_expiry(now, s.absolute_expires_at),
        };
        revocations.extend(append_revocations_in(batch, &[new], now).await?);
        outbox::queue_logouts(&mut batch.tx, &s.id, &s.user_id, now).await?;
        sessions.push(EndedSession { session: s, clients: clients.into_iter().map(ClientId::new).collect() });
    }
    Ok(Ended { sessions, revocations })
}
