//! Group commit: one writer task per store commits every pending durable
//! write of this process in one transaction, then answers them all.
//!
//! A revocation must be durable before it is answered, but it need not pay
//! for its own fsync: under load, the writes that arrive while one batch
//! commits wait in the queue and go together in the next. Nothing waits for
//! a timer: the batch closes when the writer is free (at low load a batch is
//! one write, committed at once), and it holds at most `MAX_BATCH` writes.
//!
//! The rules:
//! - nothing is answered before the commit that made it durable;
//! - a failed commit answers every write in the batch with
//!   `StoreError::NotCommitted`, and nothing of the batch is kept;
//! - a write whose own statements fail rolls the batch back; it gets its own
//!   error and the others run again without it, so one bad write fails
//!   exactly one request;
//! - the revocation log's ordering rules hold per batch: the PostgreSQL
//!   advisory lock (`LOG_LOCK`) is taken once, first, so log sequence numbers
//!   are in commit order; the durable token bounds are read once, under that
//!   lock; other nodes are notified once, at commit.
//!
//! A write is a plain function of the batch and its own input (`Job`), so it
//! can run a second time after a rollback; the audit events that describe it
//! are built from its outcome and inserted in the same transaction.
//!
//! Rows that no write needs back at once are held and inserted together,
//! one statement a table for the whole batch (`bulk.rs`): every audit event,
//! and the log rows of plain appends (`Writer::append`, the revocation of a
//! token), whose `seq` is filled in before their outcome is built. On
//! PostgreSQL each statement is a round trip the writer waits for, so a
//! batch of n revocations costs a handful of them instead of 2n. If such a
//! statement fails, the batch is rolled back and runs again with every row
//! inserted by its own write, so the failure is that write's alone.
use futures_util::future::BoxFuture;
use sqlx::{AnyConnection, Connection};
use tokio::sync::{mpsc, oneshot};

use std::ops::Range;

use sessiond_guard::Revocation;

use super::{append_revocations_in, begin_log_tx, bulk, log::insert_audit, Backend, Tx, CHANGES_CHANNEL};
use crate::domain::{AuditEvent, TokenBounds, UnixTime};
use crate::store::{Audit, NewRevocation, StoreError};

/// The most writes one transaction holds.
const MAX_BATCH: usize = 256;
/// How long the writer keeps a connection it does not use.
const IDLE: std::time::Duration = std::time::Duration::from_secs(30);
/// Writes waiting for the writer; beyond this, callers wait to enqueue.
const QUEUE: usize = 4096;

/// What a write runs in: the batch's transaction and what was read at its
/// start.
pub(super) struct Batch<'c> {
    pub(super) tx: Tx<'c>,
    /// The durable token bounds, read under the log lock.
    pub(super) bounds: TokenBounds,
    /// Set by whatever appends to the revocation log: the other nodes are
    /// told once, at commit.
    pub(super) log_written: bool,
    backend: Backend,
    /// Whether rows are held to go in together (false when the batch runs
    /// again after that failed).
    together: bool,
    /// Log rows held back, with the time each was made.
    held_revocations: Vec<(NewRevocation, UnixTime)>,
    /// The held log rows with their `seq`, once inserted.
    appended: Vec<Revocation>,
    /// Audit events held back.
    held_audit: Vec<AuditEvent>,
}

impl Batch<'_> {
    /// Holds log rows for the batch's one insert; returns where their
    /// results will be in `appended`.
    fn hold_revocations(&mut self, new: &[NewRevocation], now: UnixTime) -> Range<usize> {
        let start = self.held_revocations.len();
        self.held_revocations.extend(new.iter().map(|r| (r.clone(), now)));
        self.log_written |= !new.is_empty();
        start..self.held_revocations.len()
    }

    /// Records audit events: held for the batch's one insert, or inserted
    /// now when the batch runs row by row.
    async fn record_audit(&mut self, events: Vec<AuditEvent>) -> Result<(), StoreError> {
        if self.together {
            self.held_audit.extend(events);
            return Ok(());
        }
        for event in &events {
            insert_audit(&mut self.tx, event).await?;
        }
        Ok(())
    }
}

/// One write: a function of the batch and the write's input, re-runnable.
pub(super) type Job<I, T> = for<'t, 'c> fn(&'t mut Batch<'c>, &'t I) -> BoxFuture<'t, Result<T, StoreError>>;

/// The sending end of a store's writer.
#[derive(Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Message>,
}

/// Opens the writer's connection (again, after one failed).
pub(super) type Connect = Box<dyn Fn() -> BoxFuture<'static, Result<AnyConnection, sqlx::Error>> + Send + Sync>;

/// What the writer is sent.
enum Message {
    /// A write, to run in the next batch.
    Write(Box<dyn Pending>),
    /// Commit what came before, close the connection and stop.
    Close(oneshot::Sender<()>),
}

impl Writer {
    /// Starts the writer of a store on a thread of its own, with its own
    /// connection, made by `connect` there; returns once it is connected.
    /// The connection is the writer's alone, not a pool's: a pool would
    /// test it with a round trip each time it is taken and returned.
    ///
    /// Its own thread, because a batch is a few round trips to the
    /// database that the writer waits for one after another: as a task
    /// among the request handlers, each reply would wait behind every
    /// runnable request before the writer saw it (at full load, about a
    /// millisecond a round trip), and every write waiting in the batch
    /// with it. On its own thread it runs as soon as the reply arrives.
    pub(super) async fn start(connect: Connect, backend: Backend) -> Result<Self, StoreError> {
        let (queue, rx) = mpsc::channel(QUEUE);
        let (ready, connected) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::NotCommitted(format!("cannot start the writer: {e}")))?;
        std::thread::Builder::new()
            .name("sessiond-writer".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match connect().await {
                        Ok(conn) => {
                            let _ = ready.send(Ok(()));
                            write_loop(conn, connect, backend, rx).await;
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                        }
                    }
                })
            })
            .map_err(|e| StoreError::NotCommitted(format!("cannot start the writer: {e}")))?;
        match connected.await {
            Ok(Ok(())) => Ok(Self { queue }),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(StoreError::NotCommitted(STOPPED.into())),
        }
    }

    /// Runs `job` on `input` in the next batch, records the audit events its
    /// outcome describes in the same transaction, and returns the outcome
    /// once the batch has committed.
    pub(super) async fn write<I, T>(&self, input: I, job: Job<I, T>, audit: Audit<T>) -> Result<T, StoreError>
    where
        I: Send + Sync + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.send(Box::new(Op { input, job, audit, outcome: None, reply })).await?;
        answer.await.map_err(|_| StoreError::NotCommitted(STOPPED.into()))?
    }

    /// Appends `new` to the revocation log in the next batch, with the
    /// audit events `audit` makes of the result; returns them with their
    /// `seq` once the batch has committed. The rows go in with the other
    /// appends of the batch, in one statement.
    pub(super) async fn append(
        &self,
        new: Vec<NewRevocation>,
        now: UnixTime,
        audit: Audit<Vec<Revocation>>,
    ) -> Result<Vec<Revocation>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Box::new(AppendOp { new, now, audit, held: None, outcome: None, reply })).await?;
        answer.await.map_err(|_| StoreError::NotCommitted(STOPPED.into()))?
    }

    async fn send(&self, op: Box<dyn Pending>) -> Result<(), StoreError> {
        self.queue.send(Message::Write(op)).await.map_err(|_| StoreError::NotCommitted(STOPPED.into()))
    }

    /// Commits every write queued before this call, then closes the
    /// writer's connection and stops it; later writes fail `NotCommitted`.
    pub(super) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.queue.send(Message::Close(done)).await.is_ok() {
            let _ = closed.await;
        }
    }
}

const STOPPED: &str = "the store's writer has stopped";

/// A queued write with its type erased.
trait Pending: Send {
    /// Runs the write inside the batch.
    fn run<'t>(&'t mut self, batch: &'t mut Batch<'_>) -> BoxFuture<'t, Result<(), StoreError>>;
    /// Once the rows the batch held back are in: keeps the write's outcome
    /// and records the audit events that describe it.
    fn finish<'t>(&'t mut self, batch: &'t mut Batch<'_>) -> BoxFuture<'t, Result<(), StoreError>>;
    /// Answers after the batch committed (`None`) or failed to (`Some`).
    fn answer(self: Box<Self>, failure: Option<&str>);
    /// Answers with the write's own error.
    fn fail(self: Box<Self>, error: StoreError);
}

struct Op<I, T> {
    input: I,
    job: Job<I, T>,
    audit: Audit<T>,
    outcome: Option<T>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<I, T> Pending for Op<I, T>
where
    I: Send + Sync + 'static,
    T: Send + 'static,
{
    fn run<'t>(&'t mut self, batch: &'t mut Batch<'_>) -> BoxFuture<'t, Result<(), StoreError>> {
        Box::pin(async move {
            self.outcome = Some((self.job)(batch, &self.input).await?);
            Ok(())
        })
    }

    fn finish<'t>(&'t mut self, batch: &'t mut Batch<'_>) -> BoxFuture<'t, Result<(), StoreError>> {
        Box::pin(async move {
            let events = self.outcome.as_ref().map(&self.audit).unwrap_or_default();
            batch.record_audit(events).await
        })
    }

    fn answer(self: Box<Self>, failure: Option<&str>) {
        // The caller may have gone (its request was cancelled); the write
        // stands all the same.
        let _ = self.reply.send(answer(failure, self.outcome));
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

/// A plain append to the revocation log (`Writer::append`).
struct AppendOp {
    new: Vec<NewRevocation>,
    now: UnixTime,
    audit: Audit<Vec<Revocation>>,
    /// Where its rows are among the batch's held ones.
    held: Option<Range<usize>>,
    outcome: Option<Vec<Revocation>>,
    reply: oneshot::Sender<Result<Vec<Revocation>, StoreError>>,
}

impl Pending for AppendOp {
    fn run<'t>(&'t mut self, batch: &'t mut Batch<'_>) -> BoxFuture<'t, Result<(), StoreError>> {
        Box::pin(async move {
            self.held = None;
            self.outcome = None;
            if batch.together {
                self.held = Some(batch.hold_revocations(&self.new, self.now));
            } else {
                self.outcome = Some(append_revocations_in(batch, &self.new, self.now).await?);
            }
            Ok(())
        })
    }

    fn finish<'t>(&'t mut self, batch: &'t mut Batch<'_>) -> BoxFuture<'t, Result<(), StoreError>> {
        Box::pin(async move {
            if let Some(range) = self.held.take() {
                self.outcome = batch.appended.get(range).map(<[Revocation]>::to_vec);
            }
            let events = self.outcome.as_ref().map(&self.audit).unwrap_or_default();
            batch.record_audit(events).await
        })
    }

    fn answer(self: Box<Self>, failure: Option<&str>) {
        let _ = self.reply.send(answer(failure, self.outcome));
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

/// What a write is answered once its batch committed (`failure` is `None`)
/// or failed to.
fn answer<T>(failure: Option<&str>, outcome: Option<T>) -> Result<T, StoreError> {
    match (failure, outcome) {
        (None, Some(outcome)) => Ok(outcome),
        (Some(why), _) => Err(StoreError::NotCommitted(why.to_owned())),
        (None, None) => Err(StoreError::NotCommitted("the write did not run".into())),
    }
}

async fn write_loop(conn: AnyConnection, connect: Connect, backend: Backend, mut rx: mpsc::Receiver<Message>) {
    let mut conn = Some(conn);
    let mut ops: Vec<Box<dyn Pending>> = Vec::with_capacity(MAX_BATCH);
    let mut closing = None;
    loop {
        // A connection idle this long is closed, as the pools close theirs:
        // on SQLite a statement sqlx has not reset keeps a read snapshot,
        // which stops the WAL from being checkpointed past it.
        let first = match tokio::time::timeout(IDLE, rx.recv()).await {
            Ok(Some(first)) => first,
            Ok(None) => break,
            Err(_) => {
                if let Some(idle) = conn.take() {
                    let _ = idle.close().await;
                }
                continue;
            }
        };
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Write(op) => ops.push(op),
                Message::Close(done) => {
                    closing = Some(done);
                    break;
                }
            }
            if ops.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !ops.is_empty() {
            commit(&mut conn, &connect, backend, &mut ops).await;
        }
        if closing.is_some() {
            break;
        }
    }
    // Stopped (or every sender gone): nothing more is taken.
    rx.close();
    while let Ok(message) = rx.try_recv() {
        if let Message::Write(op) = message {
            op.answer(Some(STOPPED));
        }
    }
    if let Some(c) = conn {
        let _ = c.close().await;
    }
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// Commits `ops` (leaving it empty), answering each. A connection that
/// fails is dropped (the database discards its transaction) and made anew
/// for the next batch.
async fn commit(
    conn: &mut Option<AnyConnection>,
    connect: &Connect,
    backend: Backend,
    ops: &mut Vec<Box<dyn Pending>>,
) {
    let mut together = true;
    let mut fresh = false;
    loop {
        let c = match conn {
            Some(c) => c,
            None => match connect().await {
                Ok(made) => {
                    fresh = true;
                    conn.insert(made)
                }
                Err(e) => return fail_all(ops, &StoreError::from(e).to_string()),
            },
        };
        let started = std::time::Instant::now();
        let result = run_batch(c, backend, ops, together).await;
        crate::observe::batch(ops.len(), started.elapsed(), result.is_ok());
        match result {
            Ok(()) => {
                ops.drain(..).for_each(|op| op.answer(None));
                return;
            }
            // Nothing was written: the connection may have died while it
            // sat idle (the database restarted). Once more, on a new one.
            Err(Failure::Begin(_)) if !fresh => *conn = None,
            Err(Failure::Begin(e) | Failure::Batch(e)) => {
                *conn = None;
                return fail_all(ops, &e.to_string());
            }
            // Rolled back: each row goes in with its own write this time.
            Err(Failure::Together(e)) => {
                tracing::warn!(error = %e, writes = ops.len(), "rows of a batch could not go in together; running it row by row");
                together = false;
            }
            // Rolled back: that write gets its own error, the rest run again.
            Err(Failure::Write(i, e)) => {
                ops.remove(i).fail(e);
                if ops.is_empty() {
                    return;
                }
            }
        }
    }
}

/// Answers every write of a batch that could not be committed.
fn fail_all(ops: &mut Vec<Box<dyn Pending>>, why: &str) {
    tracing::error!(error = %why, writes = ops.len(), "a batch of writes could not be committed");
    ops.drain(..).for_each(|op| op.answer(Some(why)));
}

enum Failure {
    /// Starting the batch: nothing of it was written.
    Begin(StoreError),
    /// Committing the batch.
    Batch(StoreError),
    /// The write at this index failed; the batch was rolled back.
    Write(usize, StoreError),
    /// Inserting the held rows failed; the batch was rolled back.
    Together(StoreError),
}

async fn run_batch(
    conn: &mut AnyConnection,
    backend: Backend,
    ops: &mut [Box<dyn Pending>],
    together: bool,
) -> Result<(), Failure> {
    let (tx, bounds) = begin_log_tx(conn, backend).await.map_err(Failure::Begin)?;
    let mut batch = Batch {
        tx,
        bounds,
        log_written: false,
        backend,
        together,
        held_revocations: Vec::new(),
        appended: Vec::new(),
        held_audit: Vec::new(),
    };
    // A rollback that fails leaves nothing either: the connection is
    // closed and the database discards the transaction.
    for (i, op) in ops.iter_mut().enumerate() {
        if let Err(e) = op.run(&mut batch).await {
            let _ = batch.tx.rollback().await;
            return Err(Failure::Write(i, e));
        }
    }
    if !batch.held_revocations.is_empty() {
        match bulk::insert_revocations(&mut batch.tx, batch.backend, &batch.held_revocations).await {
            Ok(appended) => batch.appended = appended,
            Err(e) => {
                let _ = batch.tx.rollback().await;
                return Err(Failure::Together(e));
            }
        }
    }
    for (i, op) in ops.iter_mut().enumerate() {
        if let Err(e) = op.finish(&mut batch).await {
            let _ = batch.tx.rollback().await;
            return Err(Failure::Write(i, e));
        }
    }
    if !batch.held_audit.is_empty() {
        if let Err(e) = bulk::insert_audit_events(&mut batch.tx, batch.backend, &batch.held_audit).await {
            let _ = batch.tx.rollback().await;
            return Err(Failure::Together(e));
        }
    }
    if batch.log_written && backend == Backend::Postgres {
        let notified = sqlx::query("SELECT pg_notify($1, 'revocation')")
            .bind(CHANGES_CHANNEL)
            .execute(&mut *batch.tx)
            .await
            .map_err(|e| Failure::Batch(e.into()));
        if let Err(e) = notified {
            let _ = batch.tx.rollback().await;
            return Err(e);
        }
    }
    batch.tx.commit().await.map_err(|e| Failure::Batch(e.into()))
}
