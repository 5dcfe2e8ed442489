use std::time::Duration;

use crate::common::Header;

/// Limits and timeouts of a [`Server`](crate::Server).
///
/// Not in upstream 0.12.0, which has no timeouts, no size limits and an unbounded number of
/// threads: one slow or hostile client could hold a thread (or all the memory) forever.
/// A zero duration disables that timeout.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// Most connections open at once. Each connection has its own thread, so this caps threads
    /// too. At the cap, the connection idle the longest is closed to make room; when none is
    /// idle, a new connection gets `503` and is closed.
    pub max_connections: usize,
    /// How long a connection may wait for the first byte of its next request.
    pub idle_timeout: Duration,
    /// How long a client may take to send the rest of a request head once its first byte came.
    pub head_timeout: Duration,
    /// How long one write may wait for a client that doesn't read.
    pub write_timeout: Duration,
    /// Largest request head (request line and header fields) accepted, in bytes: a longer
    /// request line gets `414`, a longer head `431`.
    pub max_head_bytes: usize,
    /// Most header fields accepted in one request; more get `431`.
    pub max_headers: usize,
    /// Stack size of the connection threads.
    pub thread_stack_size: usize,
    /// Headers added to the responses the server writes on its own: protocol errors and the
    /// `503` past the connection cap.
    pub error_headers: Vec<Header>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_connections: 1024,
            idle_timeout: Duration::from_secs(15),
            head_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_head_bytes: 16 * 1024,
            max_headers: 100,
            thread_stack_size: 256 * 1024,
            error_headers: Vec::new(),
        }
    }
}

/// `None` for a zero duration, as `set_read_timeout` wants.
pub(crate) fn timeout(d: Duration) -> Option<Duration> {
    if d.is_zero() {
        None
    } else {
        Some(d)
    }
}
