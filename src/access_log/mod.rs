//! The access log: one line per request on stdout, written in batches by a thread of its own.
//!
//! Request threads only append to a shared buffer; a writer thread takes the whole buffer and
//! writes it with one system call, then waits a moment to let the next batch gather. Lines
//! reach stdout within about 10 ms, a busy server makes ~100 writes a second instead of one per
//! request, and a stuck stdout (a full pipe) can't stall requests: past a bound, lines are
//! dropped and counted.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tiny_http::{Completion, Rejected};

mod format;

pub use format::{Entry, Format, RequestLine};

/// Bytes of log waiting to be written past which new lines are dropped.
const MAX_PENDING: usize = 1 << 20;
/// How long the writer lets lines gather after a write.
const BATCH_DELAY: Duration = Duration::from_millis(10);

/// The log: cheap to clone, shared by every thread.
#[derive(Clone)]
pub struct AccessLog {
    shared: Arc<Shared>,
    format: Format,
}

struct Shared {
    pending: Mutex<Vec<u8>>,
    wake: Condvar,
    dropped: AtomicU64,
    out: Mutex<Box<dyn Write + Send>>,
}

/// A line begun by [`AccessLog::begin`], waiting for how its response ended. The response
/// may be finished on another thread, so the line travels with it.
#[must_use]
pub struct Line {
    text: Vec<u8>,
    /// Where the outcome goes.
    at: usize,
}

impl AccessLog {
    /// Starts the writer thread, writing lines in `format` to `out`.
    pub fn start(out: Box<dyn Write + Send>, format: Format) -> io::Result<AccessLog> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::with_capacity(64 * 1024)),
            wake: Condvar::new(),
            dropped: AtomicU64::new(0),
            out: Mutex::new(out),
        });
        let writer = Arc::clone(&shared);
        thread::Builder::new()
            .name("access-log".into())
            .stack_size(64 * 1024)
            .spawn(move || writer.run())?;
        Ok(AccessLog { shared, format })
    }

    /// Begins the line of `entry`, a request whose response is about to start.
    pub fn begin(&self, entry: &Entry<'_>) -> Line {
        let mut text = SPARE_LINE.take();
        text.reserve(256);
        let at = format::begin(self.format, entry, &mut text);
        Line { text, at }
    }

    /// Ends `line` with how its response ended and the time the request took, and queues it.
    pub fn finish(&self, line: Line, done: Completion, elapsed: Duration) {
        let outcome = format::Outcome {
            bytes: done.body_bytes,
            elapsed,
            complete: done.complete,
        };
        self.end(line, outcome);
    }

    fn end(&self, line: Line, outcome: format::Outcome) {
        let Line { mut text, at } = line;
        format::finish(self.format, &mut text, at, outcome);
        self.shared.push(&text);
        if text.capacity() <= 4096 {
            text.clear();
            SPARE_LINE.set(text);
        }
    }

    /// Logs a request tiny_http refused on its own (a malformed or oversized head, one that
    /// came too slowly, HTTP/2): the raw request line stands where method, target and
    /// version would.
    pub fn rejected(&self, r: &Rejected<'_>) {
        let entry = Entry {
            time: now(),
            peer: r.remote_addr,
            forwarded: None,
            request: RequestLine::Raw(r.request_line),
            status: r.status,
            host: None,
            referer: None,
            user_agent: None,
        };
        let outcome = format::Outcome {
            bytes: r.body_bytes as u64,
            elapsed: r.elapsed,
            complete: true,
        };
        self.end(self.begin(&entry), outcome);
    }

    /// Writes out everything queued (at exit).
    pub fn flush(&self) {
        self.shared.write_pending();
    }
}

impl Shared {
    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, line: &[u8]) {
        let mut pending = self.lock_pending();
        if pending.len() + line.len() > MAX_PENDING {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let was_empty = pending.is_empty();
        pending.extend_from_slice(line);
        drop(pending);
        if was_empty {
            self.wake.notify_one();
        }
    }

    fn run(&self) {
        loop {
            {
                let mut pending = self.lock_pending();
                while pending.is_empty() {
                    pending = self.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
                }
            }
            self.write_pending();
            thread::sleep(BATCH_DELAY);
        }
    }

    fn write_pending(&self) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let batch = std::mem::take(&mut *self.lock_pending());
        // A closed or broken stdout loses the log, never the service.
        let _ = out.write_all(&batch).and_then(|_| out.flush());
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            eprintln!("http-fileserver: stdout too slow: {dropped} access log lines dropped");
        }
        // Hand the allocation back for the next batch unless lines came in meanwhile.
        let mut pending = self.lock_pending();
        if pending.is_empty() && batch.capacity() <= MAX_PENDING {
            let mut batch = batch;
            batch.clear();
            *pending = batch;
        }
    }
}

thread_local! {
    /// A line's buffer, queued and kept for the next line begun on this thread (usually the
    /// same one): an allocation and a free less per request.
    static SPARE_LINE: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The time now, since the epoch.
pub fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_lines_are_written_in_order() {
        let sink = Arc::new(Mutex::new(Vec::new()));
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let log = AccessLog::start(Box::new(Sink(Arc::clone(&sink))), Format::Default).unwrap();
        log.shared.push(b"one\n");
        log.shared.push(b"two\n");
        log.flush();
        assert_eq!(&*sink.lock().unwrap(), b"one\ntwo\n");
    }
}
