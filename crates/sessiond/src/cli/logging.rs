//! Where log lines go: stderr, through a buffer.
//!
//! At one line a request, a system call a line would cost each request
//! more than formatting it does; so would handing every line to a logging
//! thread (a wake-up each). Request lines go into a buffer under a lock
//! instead, written out when it fills (64 KiB, a few hundred lines a write),
//! at least every `FLUSH_EVERY` by a small thread, with any other line, and
//! when the guard that `start` returns is dropped, at exit. A request line
//! may so reach stderr up to that long after it was logged (a process
//! killed outright loses at most that much); every other line is written
//! out at once.
use std::io::{BufWriter, Stderr, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait in the buffer.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// The buffer's size.
const BUFFER: usize = 64 * 1024;

type Shared = Arc<Mutex<BufWriter<Stderr>>>;

/// The shared, buffered stderr, for the log subscriber.
#[derive(Clone)]
pub struct BufferedStderr(Shared);

impl<'a> MakeWriter<'a> for BufferedStderr {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line { out: lock(&self.0), flush: true }
    }

    /// Request lines wait for the next flush; every other line (start-up,
    /// warnings, failures) is written out at once.
    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line<'a> {
        let request_line = meta.target() == crate::http::REQUEST_LOG && *meta.level() >= Level::INFO;
        Line { out: lock(&self.0), flush: !request_line }
    }
}

/// One log line's writer: the buffer, held for the line.
pub struct Line<'a> {
    out: MutexGuard<'a, BufWriter<Stderr>>,
    flush: bool,
}

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        if self.flush {
            let _ = self.out.flush();
        }
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, BufWriter<Stderr>> {
    // A poisoned lock still holds lines worth writing.
    shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes out what is buffered when dropped.
pub struct FlushOnDrop(Shared);

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        flush(&self.0);
    }
}

/// The buffer, with its flushing thread started, and its guard.
pub fn start() -> (BufferedStderr, FlushOnDrop) {
    let buffer: Shared = Arc::new(Mutex::new(BufWriter::with_capacity(BUFFER, std::io::stderr())));
    let flushed = Arc::clone(&buffer);
    // Without this thread lines would still be written, only later.
    let _ = std::thread::Builder::new().name("sessiond-log-flush".into()).spawn(move || loop {
        std::thread::sleep(FLUSH_EVERY);
        flush(&flushed);
    });
    (BufferedStderr(Arc::clone(&buffer)), FlushOnDrop(buffer))
}

fn flush(buffer: &Shared) {
    let _ = lock(buffer).flush();
}
