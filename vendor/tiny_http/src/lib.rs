//! # Simple usage
//!
//! ## Creating the server
//!
//! The easiest way to create a server is to call `Server::http()`.
//!
//! The `http()` function returns an `IoResult<Server>` which will return an error
//! in the case where the server creation fails (for example if the listening port is already
//! occupied).
//!
//! ```no_run
//! let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! ```
//!
//! A newly-created `Server` will immediately start listening for incoming connections and HTTP
//! requests.
//!
//! ## Receiving requests
//!
//! Calling `server.recv()` will block until the next request is available.
//! This function returns an `IoResult<Request>`, so you need to handle the possible errors.
//!
//! ```no_run
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//!
//! loop {
//!     // blocks until the next request is received
//!     let request = match server.recv() {
//!         Ok(rq) => rq,
//!         Err(e) => { println!("error: {}", e); break }
//!     };
//!
//!     // do something with the request
//!     // ...
//! }
//! ```
//!
//! In a real-case scenario, you will probably want to spawn multiple worker tasks and call
//! `server.recv()` on all of them. Like this:
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use std::thread;
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! let server = Arc::new(server);
//! let mut guards = Vec::with_capacity(4);
//!
//! for _ in (0 .. 4) {
//!     let server = server.clone();
//!
//!     let guard = thread::spawn(move || {
//!         loop {
//!             let rq = server.recv().unwrap();
//!
//!             // ...
//!         }
//!     });
//!
//!     guards.push(guard);
//! }
//! ```
//!
//! If you don't want to block, you can call `server.try_recv()` instead.
//!
//! ## Handling requests
//!
//! The `Request` object returned by `server.recv()` contains informations about the client's request.
//! The most useful methods are probably `request.method()` and `request.url()` which return
//! the requested method (`GET`, `POST`, etc.) and url.
//!
//! To handle a request, you need to create a `Response` object. See the docs of this object for
//! more infos. Here is an example of creating a `Response` from a file:
//!
//! ```no_run
//! # use std::fs::File;
//! # use std::path::Path;
//! let response = tiny_http::Response::from_file(File::open(&Path::new("image.png")).unwrap());
//! ```
//!
//! All that remains to do is call `request.respond()`:
//!
//! ```no_run
//! # use std::fs::File;
//! # use std::path::Path;
//! # let server = tiny_http::Server::http("0.0.0.0:0").unwrap();
//! # let request = server.recv().unwrap();
//! # let response = tiny_http::Response::from_file(File::open(&Path::new("image.png")).unwrap());
//! let _ = request.respond(response);
//! ```
// Only `sys` (sendfile) opts back in, for the one call std doesn't wrap.
#![deny(unsafe_code)]
#![deny(rust_2018_idioms)]
#![allow(clippy::match_like_matches_macro)]

use std::error::Error;
use std::io::Error as IoError;
use std::io::Result as IoResult;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::core::{Core, Dispatch};

pub use common::{HTTPVersion, Header, HeaderField, Method, StatusCode};
pub use connection::{ConfigListenAddr, ListenAddr, Listener};
pub use request::{ReadWrite, Request};
pub use response::{Response, ResponseBox};
pub use settings::{RejectHook, Rejected, Settings};
pub use test::TestRequest;

mod client;
mod common;
mod connection;
mod core;
mod head;
mod request;
mod response;
mod settings;
mod sys;
mod test;
mod util;

/// The main class of this library.
///
/// Dropping it stops accepting connections and closes the connections that are not in the
/// middle of a request; use [`Server::shutdown`] to also wait for those.
pub struct Server {
    core: Arc<Core>,

    // result of TcpListener::local_addr()
    listening_addr: ListenAddr,
}

pub(crate) enum Message {
    Error(IoError),
    NewRequest(Request),
}

// Server must stay Send and Sync: programs share it with their signal and worker threads.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Server>();
};

pub struct IncomingRequests<'a> {
    server: &'a Server,
}

/// Represents the parameters required to create a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The addresses to try to listen to.
    pub addr: ConfigListenAddr,

    /// Must be `None`: this copy of tiny_http has no SSL support.
    pub ssl: Option<SslConfig>,
}

/// Configuration of the server for SSL (unsupported in this copy; kept so code that names it
/// still compiles).
#[derive(Debug, Clone)]
pub struct SslConfig {
    /// Contains the public certificate to send to clients.
    pub certificate: Vec<u8>,
    /// Contains the ultra-secret private key used to decode communications.
    pub private_key: Vec<u8>,
}

impl Server {
    /// Shortcut for a simple server on a specific address.
    #[inline]
    pub fn http<A>(addr: A) -> Result<Server, Box<dyn Error + Send + Sync + 'static>>
    where
        A: ToSocketAddrs,
    {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::from_socket_addrs(addr)?,
            ssl: None,
        })
    }

    #[cfg(unix)]
    #[inline]
    /// Shortcut for a UNIX socket server at a specific path
    pub fn http_unix(
        path: &std::path::Path,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Server::new(ServerConfig {
            addr: ConfigListenAddr::unix_from_path(path),
            ssl: None,
        })
    }

    /// Builds a new server that listens on the specified address.
    pub fn new(config: ServerConfig) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        let listener = config.addr.bind()?;
        Self::from_listener(listener, config.ssl)
    }

    /// Builds a new server using the specified TCP listener, with default [`Settings`].
    ///
    /// This is useful if you've constructed TcpListener using some less usual method
    /// such as from systemd. For other cases, you probably want the `new()` function.
    pub fn from_listener<L: Into<Listener>>(
        listener: L,
        ssl_config: Option<SslConfig>,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        if ssl_config.is_some() {
            return Err("this copy of tiny_http has no SSL support".into());
        }
        Self::start(listener.into(), Settings::default(), Dispatch::Queue)
    }

    /// Like [`Server::from_listener`], with the given limits and timeouts. Requests are read
    /// with [`Server::recv`].
    pub fn from_listener_with_settings<L: Into<Listener>>(
        listener: L,
        settings: Settings,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        Self::start(listener.into(), settings, Dispatch::Queue)
    }

    /// Builds a server that runs `handler` for every request on the thread of the request's
    /// connection, which must answer it (a request dropped unanswered gets a `500`).
    ///
    /// There is no hand-off between threads, and a slow client ties up only its own
    /// connection. [`Server::recv`] then returns only errors that stopped the server.
    pub fn with_handler<L, F>(
        listener: L,
        settings: Settings,
        handler: F,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>>
    where
        L: Into<Listener>,
        F: Fn(Request) + Send + Sync + 'static,
    {
        Self::start(
            listener.into(),
            settings,
            Dispatch::Handler(Box::new(handler)),
        )
    }

    fn start(
        listener: Listener,
        settings: Settings,
        dispatch: Dispatch,
    ) -> Result<Server, Box<dyn Error + Send + Sync + 'static>> {
        let local_addr = listener.local_addr()?;
        log::debug!("Server listening on {}", local_addr);
        let core = Arc::new(Core::new(settings, dispatch, listener)?);
        let accept_core = Arc::clone(&core);
        thread::Builder::new()
            .name("accept".into())
            .spawn(move || core::accept_loop(accept_core))?;
        Ok(Server {
            core,
            listening_addr: local_addr,
        })
    }

    /// Returns an iterator for all the incoming requests.
    ///
    /// The iterator will return `None` if the server socket is shutdown.
    #[inline]
    pub fn incoming_requests(&self) -> IncomingRequests<'_> {
        IncomingRequests { server: self }
    }

    /// Returns the address the server is listening to.
    #[inline]
    pub fn server_addr(&self) -> ListenAddr {
        self.listening_addr.clone()
    }

    /// Returns the number of clients currently connected to the server.
    pub fn num_connections(&self) -> usize {
        self.core.registry.len()
    }

    /// Blocks until an HTTP request has been submitted and returns it.
    pub fn recv(&self) -> IoResult<Request> {
        match self.core.messages.pop() {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(rq),
            None => Err(IoError::other("thread unblocked")),
        }
    }

    /// Same as `recv()` but doesn't block longer than timeout
    pub fn recv_timeout(&self, timeout: Duration) -> IoResult<Option<Request>> {
        match self.core.messages.pop_timeout(timeout) {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(Some(rq)),
            None => Ok(None),
        }
    }

    /// Same as `recv()` but doesn't block.
    pub fn try_recv(&self) -> IoResult<Option<Request>> {
        match self.core.messages.try_pop() {
            Some(Message::Error(err)) => Err(err),
            Some(Message::NewRequest(rq)) => Ok(Some(rq)),
            None => Ok(None),
        }
    }

    /// Unblock thread stuck in recv() or incoming_requests().
    /// If there are several such threads, only one is unblocked.
    /// This method allows graceful shutdown of server.
    pub fn unblock(&self) {
        self.core.messages.unblock();
    }

    /// Stops accepting connections, closes the ones not in the middle of a request, lets the
    /// others finish the response in progress (sent with `Connection: close`), and waits at
    /// most `grace` for them. Returns whether every connection closed in time.
    pub fn shutdown(&self, grace: Duration) -> bool {
        let deadline = Instant::now() + grace;
        self.stop_accepting();
        self.core.registry.wait_empty(deadline)
    }

    fn stop_accepting(&self) {
        self.core.start_closing();
        self.core.registry.close_waiting();
    }
}

impl Iterator for IncomingRequests<'_> {
    type Item = Request;
    fn next(&mut self) -> Option<Request> {
        self.server.recv().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_accepting();

        #[cfg(unix)]
        if let ListenAddr::Unix(addr) = &self.listening_addr {
            if let Some(path) = addr.as_pathname() {
                let _ = std::fs::remove_file(path);
            }
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
        match crate::head::find_end(rest, 0) {
            Some(end) => crate::head::parse(&rest[..end], 100).is_ok(),
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
    fn recv_answers_keep_alive_requests_across_idle_periods() {
        // The upstream API: requests come out of recv() on another thread. A connection
        // that waits in the epoll set between requests must come back to recv() each time.
        let server = Arc::new(Server::http("127.0.0.1:0").unwrap());
        let addr = server.server_addr().to_ip().unwrap();
        let answering = Arc::clone(&server);
        let answerer = thread::spawn(move || {
            for _ in 0..3 {
                let request = answering.recv().unwrap();
                let body = format!("you asked for {}", request.url());
                request.respond(Response::from_string(body)).unwrap();
            }
        });
        let stream = TcpStream::connect(addr).unwrap();
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
        answerer.join().unwrap();
        // Shutting down closes the idle connection at once.
        assert!(server.shutdown(Duration::from_secs(2)));
        assert_eq!(reader.read(&mut [0u8; 16]).unwrap(), 0);
    }
}
