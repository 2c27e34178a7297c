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
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::{begin_log_tx, log::insert_audit, Backend, Tx, CHANGES_CHANNEL};
use crate::domain::TokenBounds;
use crate::store::{Audit, StoreError};

/// The most writes one transaction holds.
const MAX_BATCH: usize = 256;
/// Writes waiting for the writer; beyond this, callers wait to enqueue.
const QUEUE: usize = 4096;

/// What a write runs in: the batch's transaction and what was read at its
/// start.
pub(super) struct Batch {
    pub(super) tx: Tx<'static>,
    /// The durable token bounds, read under the log lock.
    pub(super) bounds: TokenBounds,
    /// Set by whatever appends to the revocation log: the other nodes are
    /// told once, at commit.
    pub(super) log_written: bool,
}

/// One write: a function of the batch and the write's input, re-runnable.
pub(super) type Job<I, T> = for<'t> fn(&'t mut Batch, &'t I) -> BoxFuture<'t, Result<T, StoreError>>;

/// The sending end of a store's writer.
#[derive(Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Box<dyn Pending>>,
    /// The writer's own connection, closed with the store.
    pool: sqlx::AnyPool,
}

impl Writer {
    /// Starts the writer task of a store.
    pub(super) fn spawn(pool: sqlx::AnyPool, backend: Backend) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(pool.clone(), backend, rx));
        Self { queue, pool }
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
        let op = Op { input, job, audit, outcome: None, reply };
        self.queue.send(Box::new(op)).await.map_err(|_| StoreError::NotCommitted(STOPPED.into()))?;
        answer.await.map_err(|_| StoreError::NotCommitted(STOPPED.into()))?
    }
}

const STOPPED: &str = "the store's writer has stopped";

impl Writer {
    /// Commits every write queued before this call (a write that does
    /// nothing, behind them in the queue, is answered after them), then
    /// closes the writer's connection; later writes fail `NotCommitted`.
    pub(super) async fn close(&self) {
        let _ = self.write((), |_, _| Box::pin(async { Ok(()) }), crate::store::unaudited()).await;
        self.pool.close().await;
    }
}

/// A queued write with its type erased.
trait Pending: Send {
    /// Runs the write inside the batch, keeping its outcome.
    fn run<'t>(&'t mut self, batch: &'t mut Batch) -> BoxFuture<'t, Result<(), StoreError>>;
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
    fn run<'t>(&'t mut self, batch: &'t mut Batch) -> BoxFuture<'t, Result<(), StoreError>> {
        Box::pin(async move {
            let outcome = (self.job)(batch, &self.input).await?;
            for event in (self.audit)(&outcome) {
                insert_audit(&mut batch.tx, &event).await?;
            }
            self.outcome = Some(outcome);
            Ok(())
        })
    }

    fn answer(self: Box<Self>, failure: Option<&str>) {
        let result = match (failure, self.outcome) {
            (None, Some(outcome)) => Ok(outcome),
            (Some(why), _) => Err(StoreError::NotCommitted(why.to_owned())),
            (None, None) => Err(StoreError::NotCommitted("the write did not run".into())),
        };
        // The caller may have gone (its request was cancelled); the write
        // stands all the same.
        let _ = self.reply.send(result);
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

async fn write_loop(pool: sqlx::AnyPool, backend: Backend, mut rx: mpsc::Receiver<Box<dyn Pending>>) {
    let mut ops: Vec<Box<dyn Pending>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        ops.push(first);
        while ops.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        commit(&pool, backend, &mut ops).await;
    }
}

/// Commits `ops` (leaving it empty), answering each.
async fn commit(pool: &sqlx::AnyPool, backend: Backend, ops: &mut Vec<Box<dyn Pending>>) {
    loop {
        let started = std::time::Instant::now();
        let result = run_batch(pool, backend, ops).await;
        crate::observe::batch(ops.len(), started.elapsed(), result.is_ok());
        match result {
            Ok(()) => {
                ops.drain(..).for_each(|op| op.answer(None));
                return;
            }
            Err(Failure::Batch(e)) => {
                let why = e.to_string();
                tracing::error!(error = %why, writes = ops.len(), "a batch of writes could not be committed");
                ops.drain(..).for_each(|op| op.answer(Some(&why)));
                return;
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

enum Failure {
    /// The batch as a whole: starting it or committing it.
    Batch(StoreError),
    /// The write at this index failed; the batch was rolled back.
    Write(usize, StoreError),
}

async fn run_batch(pool: &sqlx::AnyPool, backend: Backend, ops: &mut [Box<dyn Pending>]) -> Result<(), Failure> {
    let (tx, bounds) = begin_log_tx(pool, backend).await.map_err(Failure::Batch)?;
    let mut batch = Batch { tx, bounds, log_written: false };
    for (i, op) in ops.iter_mut().enumerate() {
        if let Err(e) = op.run(&mut batch).await {
            // A rollback that fails leaves nothing either: the connection
            // is closed and the database discards the transaction.
            let _ = batch.tx.rollback().await;
            return Err(Failure::Write(i, e));
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
