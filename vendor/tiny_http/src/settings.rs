use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::common::Header;

/// A request the server refused on its own (a malformed or oversized head, a head that came
/// too slowly, HTTP/2), passed to [`Settings::on_reject`] after the refusal was sent.
#[derive(Debug)]
#[non_exhaustive]
pub struct Rejected<'a> {
    pub remote_addr: Option<SocketAddr>,
    /// The request line as received, possibly partial or not ASCII, at most 1 KiB.
    pub request_line: &'a [u8],
    pub status: u16,
    /// Length of the response body sent.
    pub body_bytes: usize,
    /// From the first byte of the request to the end of the response.
    pub elapsed: Duration,
}

/// Called for every request the server refuses on its own; see [`Rejected`].
pub type RejectHook = Arc<dyn Fn(&Rejected<'_>) + Send + Sync>;

/// Limits and timeouts of a [`Server`](crate::Server).
///
/// Not in upstream 0.12.0, which has no timeouts, no size limits and an unbounded number of
/// threads: one slow or hostile client could hold a thread (or all the memory) forever.
/// A zero duration disables that timeout.
#[derive(Clone)]
#[non_exhaustive]
pub struct Settings {
    /// Most connections open at once. The threads that serve them are at most this many plus
    /// one per CPU: one per connection waiting for its client mid-request, and one per CPU
    /// taking the connections whose next request has arrived (plus the accept thread). At
    /// the cap, the connection idle the longest is closed to make room; when none is idle, a
    /// new connection gets `503` and is closed.
    pub max_connections: usize,
    /// Threads that take the connections whose next request has arrived (more are started
    /// while some wait for their client mid-request); 0 for one per CPU the process may run
    /// on. At most `max_connections`.
    pub threads: usize,
    /// How long a connection may wait for the first byte of its next request (checked a
    /// tenth of it apart, between 50 ms and 1 s, so the close may come that much later).
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
    /// Stack size of the threads that serve connections.
    pub thread_stack_size: usize,
    /// Headers added to the responses the server writes on its own: protocol errors and the
    /// `503` past the connection cap.
    pub error_headers: Vec<Header>,
    /// Told about each request refused by the server itself, e.g. to log it: such requests
    /// never reach the handler or `recv()`.
    pub on_reject: Option<RejectHook>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("max_connections", &self.max_connections)
            .field("threads", &self.threads)
            .field("idle_timeout", &self.idle_timeout)
            .field("head_timeout", &self.head_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("max_head_bytes", &self.max_head_bytes)
            .field("max_headers", &self.max_headers)
            .field("thread_stack_size", &self.thread_stack_size)
            .field("error_headers", &self.error_headers)
            .field("on_reject", &self.on_reject.as_ref().map(|_| "Fn"))
            .finish()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_connections: 1024,
            threads: 0,
            idle_timeout: Duration::from_secs(15),
            head_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_head_bytes: 16 * 1024,
            max_headers: 100,
            thread_stack_size: 256 * 1024,
            error_headers: Vec::new(),
            on_reject: None,
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
