//! The access log: one line per request on stdout, written in batches by a thread of its own.
//!
//! Request threads only append to a shared buffer; a writer thread takes the whole buffer and
//! writes it with one system call, then waits a moment to let the next batch gather. Lines
//! reach stdout within about 10 ms, a busy server makes ~100 writes a second instead of one per
//! request, and a stuck stdout (a full pipe) can't stall requests: past a bound, lines are
//! dropped and counted.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tiny_http::{Completion, Rejected, Request};

use crate::timefmt;

/// Bytes of log waiting to be written past which new lines are dropped.
const MAX_PENDING: usize = 1 << 20;
/// How long the writer lets lines gather after a write.
const BATCH_DELAY: Duration = Duration::from_millis(10);

/// The log: cheap to clone, shared by every thread.
#[derive(Clone)]
pub struct AccessLog {
    shared: Arc<Shared>,
}

struct Shared {
    pending: Mutex<Vec<u8>>,
    wake: Condvar,
    dropped: AtomicU64,
    out: Mutex<Box<dyn Write + Send>>,
}

/// A line begun by [`AccessLog::begin`]: everything up to the status. The response may be
/// finished on another thread, so the line travels with it.
#[must_use]
pub struct Line(String);

impl AccessLog {
    /// Starts the writer thread, writing to `out`.
    pub fn start(out: Box<dyn Write + Send>) -> io::Result<AccessLog> {
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
        Ok(AccessLog { shared })
    }

    /// Begins the line of a request about to be answered with `status`.
    pub fn begin(&self, request: &Request, status: u16) -> Line {
        let mut line = String::with_capacity(128);
        start_line(&mut line, request.remote_addr());
        push_escaped(&mut line, request.method_str().as_bytes());
        line.push(' ');
        push_escaped(&mut line, request.url().as_bytes());
        let v = request.http_version();
        let _ = write!(line, " HTTP/{}.{}\" {status}", v.0, v.1);
        Line(line)
    }

    /// Ends `line` with the body bytes sent and the time the request took, and queues it.
    pub fn finish(&self, line: Line, done: Completion, elapsed: Duration) {
        let mut line = line.0;
        let _ = write!(line, " {} ", done.body_bytes);
        push_duration(&mut line, elapsed);
        line.push('\n');
        self.shared.push(line.as_bytes());
    }

    /// Logs a request tiny_http refused on its own (a malformed or oversized head, one that
    /// came too slowly, HTTP/2): the raw request line stands where method, target and
    /// version would.
    pub fn rejected(&self, r: &Rejected<'_>) {
        let mut line = String::with_capacity(128);
        start_line(&mut line, &r.remote_addr);
        push_escaped(&mut line, r.request_line);
        let _ = write!(line, "\" {} {} ", r.status, r.body_bytes);
        push_duration(&mut line, r.elapsed);
        line.push('\n');
        self.shared.push(line.as_bytes());
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

/// Starts a line: time (UTC, to the millisecond), client, and the quote that opens the
/// request line.
fn start_line(line: &mut String, remote: &SocketAddr) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    timefmt::push_rfc3339(line, now.as_secs(), Some(now.subsec_millis()));
    line.push(' ');
    push_remote(line, remote);
    line.push_str(" \"");
}

/// Appends a duration in milliseconds with three decimals (`0.152ms`), without floats.
fn push_duration(line: &mut String, elapsed: Duration) {
    let micros = elapsed.as_micros();
    let _ = write!(line, "{}.{:03}ms", micros / 1000, micros % 1000);
}

fn push_remote(line: &mut String, remote: &SocketAddr) {
    match remote {
        // Dual-stack sockets see IPv4 clients as ::ffff:a.b.c.d; log them as IPv4.
        SocketAddr::V6(v6) if v6.ip().to_ipv4_mapped().is_some() => {
            let v4 = v6
                .ip()
                .to_ipv4_mapped()
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
            let _ = write!(line, "{v4}:{}", v6.port());
        }
        addr => {
            let _ = write!(line, "{addr}");
        }
    }
}

/// Appends `value` with bytes outside printable ASCII, `"` and `\` written as `\xNN`, so a
/// request can't forge log lines or terminal escapes.
fn push_escaped(line: &mut String, value: &[u8]) {
    for &b in value {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            line.push(b as char);
        } else {
            let _ = write!(line, "\\x{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_could_forge_a_line() {
        let mut s = String::new();
        push_escaped(&mut s, "/a\"b\\c\x1b[31m\n\u{e9}".as_bytes());
        assert_eq!(s, "/a\\x22b\\x5Cc\\x1B[31m\\x0A\\xC3\\xA9");
    }

    #[test]
    fn unmaps_ipv4_clients() {
        let mut s = String::new();
        push_remote(&mut s, &"[::ffff:10.0.0.1]:80".parse().unwrap());
        assert_eq!(s, "10.0.0.1:80");
        s.clear();
        push_remote(&mut s, &"[::1]:80".parse().unwrap());
        assert_eq!(s, "[::1]:80");
    }

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
        let log = AccessLog::start(Box::new(Sink(Arc::clone(&sink)))).unwrap();
        log.shared.push(b"one\n");
        log.shared.push(b"two\n");
        log.flush();
        assert_eq!(&*sink.lock().unwrap(), b"one\ntwo\n");
    }
}
