//! Limits, timeouts and hooks of a [`Server`](crate::Server).
//!
//! Not in upstream 0.12.0, which has no timeouts, no size limits and an unbounded number of
//! threads: one slow or hostile client could hold a thread (or all the memory) forever.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::response::HeaderLines;

/// A request the server refused on its own (a malformed or oversized head, a head that came
/// too slowly, HTTP/2), passed to [`Settings::on_reject`] after the refusal was sent.
#[derive(Debug)]
#[non_exhaustive]
pub struct Rejected<'a> {
    /// The client's address.
    pub remote_addr: SocketAddr,
    /// The request line as received, possibly partial or not ASCII, at most 1 KiB.
    pub request_line: &'a [u8],
    /// The status sent.
    pub status: u16,
    /// Length of the response body sent.
    pub body_bytes: usize,
    /// From the first byte of the request to the end of the response.
    pub elapsed: Duration,
}

/// Something an operator should hear about, passed to [`Settings::on_warning`]. The server
/// keeps serving; a program usually logs these, at a bounded rate (they can come thousands of
/// times a second under attack).
#[derive(Debug)]
#[non_exhaustive]
pub enum Warning {
    /// A new connection was refused with `503`: its client address already had `open`
    /// connections, the per-address limit, and none of them could be closed to make room.
    PerIpLimit {
        /// The client's address (for IPv6, its /64 network is what counts).
        ip: IpAddr,
        /// Its open connections.
        open: usize,
    },
    /// A new connection was refused with `503`: the connection cap was reached and no open
    /// connection was idle, stalled or dribbling its head, to be closed instead.
    ConnectionCap {
        /// The connections open.
        open: usize,
    },
    /// `accept()` ran out of descriptors or memory; accepting pauses for `backoff`.
    AcceptExhausted {
        /// The error.
        error: io::Error,
        /// How long accepting pauses.
        backoff: Duration,
    },
    /// No thread could be started to serve connections; new ones get `503`.
    NoThread(io::Error),
    /// An unexpected failure of the event loop (epoll) or a handler that panicked.
    Internal(String),
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::PerIpLimit { ip, open } => write!(
                f,
                "refused a connection from {ip}: it has {open} open, the per-address limit"
            ),
            Warning::ConnectionCap { open } => write!(
                f,
                "refused a connection: {open} open, the connection cap, and none could be closed"
            ),
            Warning::AcceptExhausted { error, backoff } => write!(
                f,
                "cannot accept connections ({error}); pausing {} ms",
                backoff.as_millis()
            ),
            Warning::NoThread(error) => write!(f, "cannot start a thread: {error}"),
            Warning::Internal(what) => f.write_str(what),
        }
    }
}

/// Called for every request the server refuses on its own; see [`Rejected`].
pub type RejectHook = Arc<dyn Fn(&Rejected<'_>) + Send + Sync>;

/// Called with every [`Warning`].
pub type WarningHook = Arc<dyn Fn(&Warning) + Send + Sync>;

/// Tells whether connections from an address are exempt from the per-address limit (a
/// reverse proxy in front of the server carries many clients' connections).
pub type ExemptHook = Arc<dyn Fn(IpAddr) -> bool + Send + Sync>;

/// Limits, timeouts and hooks of a [`Server`](crate::Server). A zero duration disables that
/// timeout.
#[derive(Clone)]
#[non_exhaustive]
pub struct Settings {
    /// Most connections open at once. At the cap, one is closed to make room: the one idle
    /// the longest, else one whose client has taken no response bytes for a few seconds, else
    /// one that has been sending its head for over a second; when none can be, the new
    /// connection gets `503` and is closed.
    pub max_connections: usize,
    /// Most connections open at once from one client address (an IPv6 /64 counts as one);
    /// 0 for no limit. Past it, the same choice as at the cap is made among that address's
    /// connections.
    pub max_connections_per_ip: usize,
    /// Addresses exempt from `max_connections_per_ip`.
    pub per_ip_exempt: Option<ExemptHook>,
    /// Threads that take ready connections (more are started while some do slow work, see
    /// [`Request::will_block`](crate::Request::will_block)); 0 for one per CPU the process may
    /// run on. At most `max_connections`.
    pub threads: usize,
    /// How long a connection may wait for the first byte of its next request.
    pub idle_timeout: Duration,
    /// How long a client may take to send the rest of a request head once its first byte came.
    pub head_timeout: Duration,
    /// How long a client may take no response bytes at all before it is dropped.
    pub write_timeout: Duration,
    /// Largest request head (request line and header fields) accepted, in bytes: a longer
    /// request line gets `414`, a longer head `431`.
    pub max_head_bytes: usize,
    /// Most header fields accepted in one request; more get `431`.
    pub max_headers: usize,
    /// Stack size of the threads that serve connections.
    pub thread_stack_size: usize,
    /// Header lines (`Name: value\r\n`) added to the responses the server writes on its own:
    /// protocol errors and the `503` past the connection cap.
    pub error_headers: HeaderLines,
    /// Told about each request refused by the server itself, e.g. to log it: such requests
    /// never reach the handler.
    pub on_reject: Option<RejectHook>,
    /// Told about each [`Warning`].
    pub on_warning: Option<WarningHook>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("max_connections", &self.max_connections)
            .field("max_connections_per_ip", &self.max_connections_per_ip)
            .field("threads", &self.threads)
            .field("idle_timeout", &self.idle_timeout)
            .field("head_timeout", &self.head_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("max_head_bytes", &self.max_head_bytes)
            .field("max_headers", &self.max_headers)
            .field("thread_stack_size", &self.thread_stack_size)
            .finish_non_exhaustive()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_connections: 1024,
            max_connections_per_ip: 0,
            per_ip_exempt: None,
            threads: 0,
            idle_timeout: Duration::from_secs(15),
            head_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_head_bytes: 16 * 1024,
            max_headers: 100,
            thread_stack_size: 256 * 1024,
            error_headers: HeaderLines::default(),
            on_reject: None,
            on_warning: None,
        }
    }
}

impl Settings {
    pub(crate) fn warn(&self, warning: Warning) {
        if let Some(hook) = &self.on_warning {
            hook(&warning);
        }
    }
}

/// `None` for a zero duration: no timeout.
pub(crate) fn timeout(d: Duration) -> Option<Duration> {
    if d.is_zero() {
        None
    } else {
        Some(d)
    }
}
