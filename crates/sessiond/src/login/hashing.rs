//! The only way to run Argon2id: a semaphore bounds how many hashes run at
//! once, so memory (each hash allocates its whole memory cost) and CPU stay
//! bounded however many sign-ins arrive together.
//!
//! Without it every request took a blocking thread and 19 MiB: 100
//! concurrent wrong passwords took the process to 5.3 GiB resident, and the
//! allocator kept it. With it, a request waits at most `password_queue_wait`
//! for a permit and is otherwise answered 503 with `Retry-After` — overload
//! costs the attacker a round trip, not the server a hash.
//!
//! Hashes run on a fixed set of threads, one per permit, each with Argon2
//! working memory of its own that every hash it runs reuses. On tokio's
//! blocking pool, glibc gave each of the pool's many threads an arena and
//! kept freed 19 MiB blocks in them: two permits still left ~400 MiB
//! resident after a flood. Reused buffers keep Argon2's share at
//! permits × memory cost, allocated once.
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use crate::secrets::{HashMemory, PasswordCost, PasswordHashError, PasswordHasher, Secret};

/// Why a hash did not run or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    /// Every permit stayed taken for the whole queue wait.
    #[error("password hashing is saturated")]
    Busy {
        /// What to tell the client to wait (`Retry-After`).
        retry_after: Duration,
    },
    /// Hashing failed or its thread died.
    #[error("{0}")]
    Failed(String),
}

impl From<PasswordHashError> for HashingError {
    fn from(e: PasswordHashError) -> Self {
        Self::Failed(e.to_string())
    }
}

/// A hash to run, with what it needs to report and to release its permit.
type Job = Box<dyn FnOnce(&PasswordHasher, &mut HashMemory) + Send>;

/// Argon2id behind a semaphore, on threads of its own.
pub struct HashGate {
    jobs: mpsc::Sender<Job>,
    permits: Arc<Semaphore>,
    size: usize,
    queue_wait: Duration,
    counters: Arc<Counters>,
}

/// What the gate has let through: for operators and for the tests that
/// check the bound holds (the hashes themselves leave no other trace).
#[derive(Default)]
struct Counters {
    running: AtomicUsize,
    peak: AtomicUsize,
    started: AtomicU64,
}

/// Decrements `running` when a hash ends, even by a panic in its thread.
struct Running(Arc<Counters>);

impl Running {
    fn start(counters: &Arc<Counters>) -> Self {
        let now = counters.running.fetch_add(1, Ordering::AcqRel) + 1;
        counters.peak.fetch_max(now, Ordering::AcqRel);
        counters.started.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(counters))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How many hashes may run at once: as many as fit in `budget_kib` at the
/// configured memory cost, but no more than there are cores (a hash is
/// CPU-bound: beyond one per core, more at once only add memory and
/// latency), and at least one.
pub fn permits_for(cost: PasswordCost, budget_kib: u32, cores: usize) -> usize {
    let fit = usize::try_from(budget_kib / cost.memory_kib.max(1)).unwrap_or(usize::MAX);
    fit.min(cores).max(1)
}

impl HashGate {
    /// A gate over `hasher` with `permits` concurrent hashes, each on a
    /// thread of its own; a request waits up to `queue_wait` for one. The
    /// threads end when the gate is dropped.
    pub fn new(hasher: PasswordHasher, permits: usize, queue_wait: Duration) -> Result<Self, HashingError> {
        let size = permits.clamp(1, MAX_THREADS);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..size {
            let (queue, hasher) = (Arc::clone(&queue), hasher.clone());
            std::thread::Builder::new()
                .name(format!("sessiond-hash-{i}"))
                .spawn(move || work(&queue, &hasher))
                .map_err(|e| HashingError::Failed(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(Self { jobs, permits: Arc::new(Semaphore::new(size)), size, queue_wait, counters: Arc::default() })
    }

    /// Whether `password` matches the stored PHC string. Without one (no
    /// such user) a decoy hash is verified instead, so a wrong name costs
    /// the same time as a wrong password — and takes a permit like one.
    pub async fn verify(&self, password: Secret, stored: Option<String>) -> Result<bool, HashingError> {
        self.run(move |h, memory| match stored {
            Some(hash) => h.verify_in(password.expose(), &hash, memory),
            None => h.verify_decoy_in(password.expose(), memory),
        })
        .await
    }

    /// A new PHC string for `password`.
    pub async fn hash(&self, password: Secret) -> Result<String, HashingError> {
        self.run(move |h, memory| h.hash_in(password.expose(), memory)).await?.map_err(HashingError::from)
    }

    /// How many hashes may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The most hashes that ever ran at once.
    pub fn peak(&self) -> usize {
        self.counters.peak.load(Ordering::Acquire)
    }

    /// How many hashes have started since the process began.
    pub fn started(&self) -> u64 {
        self.counters.started.load(Ordering::Relaxed)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&PasswordHasher, &mut HashMemory) -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let permit = self.permit().await?;
        let counters = Arc::clone(&self.counters);
        let (reply, answer) = oneshot::channel();
        // The permit moves into the job: if the client goes away mid-hash,
        // the hash still holds its permit until it really ends. A permit is
        // a thread, so the job never waits for one.
        let job: Job = Box::new(move |hasher, memory| {
            let _permit: OwnedSemaphorePermit = permit;
            let _running = Running::start(&counters);
            let _ = reply.send(work(hasher, memory));
        });
        self.jobs.send(job).map_err(|_| HashingError::Failed("the hashing threads are gone".into()))?;
        answer.await.map_err(|_| HashingError::Failed("a password hash failed".into()))
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, HashingError> {
        // `timeout` polls the acquisition once before looking at the clock,
        // so a zero wait still takes a free permit.
        match tokio::time::timeout(self.queue_wait, Arc::clone(&self.permits).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(closed)) => Err(HashingError::Failed(closed.to_string())),
            Err(_elapsed) => Err(HashingError::Busy { retry_after: self.queue_wait.max(Duration::from_secs(1)) }),
        }
    }
}

/// Far more than any machine has cores; the semaphore's own limit is higher.
const MAX_THREADS: usize = 1024;

/// A hashing thread: runs jobs in its own working memory (allocated by the
/// first) until the gate is dropped. A panicking hash (none is expected)
/// fails its request, not the thread.
fn work(queue: &Mutex<mpsc::Receiver<Job>>, hasher: &PasswordHasher) {
    let mut memory = HashMemory::default();
    loop {
        // The lock is held only to take a job, never while one runs.
        let next = queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv();
        let Ok(job) = next else { return };
        if catch_unwind(AssertUnwindSafe(|| job(hasher, &mut memory))).is_err() {
            tracing::error!("a password hash panicked");
        }
        memory.shrink_to(hasher.block_count());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(memory_kib: u32) -> PasswordCost {
        PasswordCost { memory_kib, iterations: 1, parallelism: 1 }
    }

    #[test]
    fn permits_fit_the_budget_and_the_cores() {
        assert_eq!(permits_for(cost(19 * 1024), 64 * 1024, 8), 3, "64 MiB holds three 19 MiB hashes");
        assert_eq!(permits_for(cost(19 * 1024), 64 * 1024, 2), 2, "no more than the cores");
        assert_eq!(permits_for(cost(256 * 1024), 64 * 1024, 8), 1, "always at least one");
        assert_eq!(permits_for(cost(64), 0, 4), 1);
    }

    #[tokio::test]
    async fn a_full_gate_answers_busy_after_the_queue_wait() {
        let hasher = PasswordHasher::new(cost(64)).unwrap();
        let gate = HashGate::new(hasher, 1, Duration::from_millis(20)).unwrap();
        let held = gate.permit().await.unwrap();
        match gate.verify(Secret::new("x"), None).await {
            Err(HashingError::Busy { retry_after }) => assert_eq!(retry_after, Duration::from_secs(1)),
            other => panic!("expected Busy, got {other:?}"),
        }
        assert_eq!(gate.started(), 0, "no hash ran");
        drop(held);
        assert!(!gate.verify(Secret::new("x"), None).await.unwrap());
        let stored = gate.hash(Secret::new("pw")).await.unwrap();
        assert!(gate.verify(Secret::new("pw"), Some(stored)).await.unwrap());
        assert_eq!((gate.started(), gate.peak()), (3, 1));
    }
}
