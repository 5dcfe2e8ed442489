//! http-fileserver's HTTP/1.1 engine: tiny_http 0.12.0, cut down to what the server uses and
//! rebuilt for a server facing the internet. `README.md` lists every change and why.
//!
//! A [`Server`] takes a bound [`TcpListener`] and a handler, and runs the handler for every
//! request on the thread that read it:
//!
//! ```no_run
//! use tiny_http::{Body, Response, Server, Settings};
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! let server = Server::with_handler(listener, Settings::default(), |request| {
//!     let body = format!("you asked for {}\n", request.url());
//!     request.respond(Response::new(200, Body::Bytes(body.into_bytes())));
//! })
//! .unwrap();
//! // Blocks until accepting fails for good (the program should then exit).
//! let _fatal = server.wait_failure();
//! ```
//!
//! # How a connection is served
//!
//! Connections wait in one epoll set whenever they wait for their client: between requests
//! (for the next one) and while the client doesn't take the response as fast as it is written
//! (for room in the socket). A few poller threads (one per CPU by default) take the
//! connections that become ready: they accept new ones, read and parse request heads
//! ([`head`]), run the handler, and write responses without ever blocking on a client; a
//! response the socket can't take at once is parked with the connection and resumed by
//! whichever thread sees the socket writable. So a client that stops reading holds memory for
//! its response but no thread. The exceptions are the rest of a request head that arrives
//! slowly, and handlers that announce slow work ([`Request::will_block`]): the thread then
//! starts or wakes another to keep serving the others.
//!
//! Module map, in the order a request takes: `core` (accepting, the connection cap),
//! `util::pollers` (the epoll set and its threads), `client` (one connection's loop), `head`
//! (parsing), `request` (what the handler sees), `response` (what it answers), `write` (sending
//! it, resumably), `util::registry` (the open connections: caps, timeouts, shutdown), `sys`
//! (the system calls std doesn't wrap).
#![deny(unsafe_code)]
#![deny(rust_2018_idioms)]
#![warn(missing_docs)]

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::core::Core;

pub use common::{reason_phrase, HTTPVersion, Method};
pub use request::{Header, Request};
pub use response::{Body, Completion, HeaderLines, Response};
pub use settings::{Rejected, Settings, Warning};

mod client;
mod common;
mod connection;
mod core;
mod head;
mod request;
mod response;
mod settings;
mod sys;
mod util;
mod write;

/// A running server: accepting on its listener and serving connections until it is shut down
/// or dropped.
///
/// Dropping it stops accepting and closes the connections that are not in the middle of a
/// request; [`Server::shutdown`] also waits for those.
pub struct Server {
    core: Arc<Core>,
    local_addr: SocketAddr,
}

// Server must stay Send and Sync: programs share it with their signal and worker threads.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Server>();
};

impl Server {
    /// Serves connections accepted on `listener`, running `handler` for every request on the
    /// thread that read it. The handler must answer with [`Request::respond`]; a request
    /// dropped unanswered gets a `500`.
    pub fn with_handler<F>(
        listener: TcpListener,
        settings: Settings,
        handler: F,
    ) -> io::Result<Server>
    where
        F: Fn(Request) + Send + Sync + 'static,
    {
        let local_addr = listener.local_addr()?;
        let core = Arc::new(Core::new(settings, Box::new(handler), listener)?);
        let accept_core = Arc::clone(&core);
        thread::Builder::new()
            .name("accept".into())
            .stack_size(64 * 1024)
            .spawn(move || core::accept_loop(accept_core))?;
        Ok(Server { core, local_addr })
    }

    /// The address the server is listening on.
    pub fn server_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The number of connections open now.
    pub fn num_connections(&self) -> usize {
        self.core.registry.len()
    }

    /// Blocks until the server can no longer accept connections (the listener failed, or no
    /// thread could be started for a long while with none left to serve), and returns why.
    /// A program should then exit so that it is restarted. Never returns after a shutdown.
    pub fn wait_failure(&self) -> io::Error {
        self.core.wait_failure()
    }

    /// Stops accepting connections, closes the ones not in the middle of a request, lets the
    /// others finish the response in progress (sent with `Connection: close`), and waits at
    /// most `grace` for them. Returns whether every connection closed in time.
    pub fn shutdown(&self, grace: Duration) -> bool {
        let deadline = Instant::now() + grace;
        self.core.start_closing();
        self.core.registry.close_waiting();
        let all = self.core.registry.wait_empty(deadline);
        if all {
            self.core.pollers.stop();
        }
        all
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.core.start_closing();
        self.core.registry.close_waiting();
        // Pollers still serving responses leave on their own once the last one is done.
        if self.core.registry.len() == 0 {
            self.core.pollers.stop();
        }
    }
}

/// Entry points for the fuzz targets in http-fileserver's `fuzz/` (not a stable API).
#[doc(hidden)]
pub mod __fuzz {
    /// Runs the request-head parser over `bytes` the way a connection does: skip leading empty
    /// lines, find the end of the head, parse it. Returns whether a valid head was found.
    pub fn parse_head(bytes: &[u8]) -> bool {
        let start = crate::head::leading_empty_lines(bytes);
        let rest = &bytes[start..];
        let mut fields = Vec::new();
        match crate::head::find_end(rest, 0) {
            Some(end) => crate::head::parse(&rest[..end], 100, &mut fields).is_ok(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;

    /// Reads one response with a Content-Length body; returns its body.
    fn read_body(reader: &mut impl BufRead) -> String {
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        String::from_utf8(body).unwrap()
    }

    #[test]
    fn keep_alive_requests_are_answered_across_idle_periods() {
        // A connection waits in the epoll set between requests and must come back to a
        // thread for each one.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = Server::with_handler(listener, Settings::default(), |request| {
            let body = format!("you asked for {}", request.url());
            request.respond(Response::new(200, Body::Bytes(body.into_bytes())));
        })
        .unwrap();
        let stream = TcpStream::connect(server.server_addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut reader = BufReader::new(&stream);
        for path in ["/a", "/b", "/c"] {
            (&stream)
                .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .unwrap();
            assert_eq!(read_body(&mut reader), format!("you asked for {path}"));
            thread::sleep(Duration::from_millis(50));
        }
        // Shutting down closes the idle connection at once.
        assert!(server.shutdown(Duration::from_secs(2)));
        assert_eq!(reader.read(&mut [0u8; 16]).unwrap(), 0);
    }
}
