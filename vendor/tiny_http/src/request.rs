//! What the handler sees of a request, and how it answers.
//!
//! The head stays where it was read, in the connection's read buffer, which the request
//! borrows until it is answered: method, target and fields are slices of it, found by the
//! parser, with nothing copied or allocated per request. (Upstream built an `AsciiString`
//! for the target and two for every header field.) The body is never read: a request that
//! came with one closes its connection once answered.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::client::{Client, Lent};
use crate::common::{HTTPVersion, Method};
use crate::head::Head;
use crate::response::{Body, Response};

/// An HTTP request read from a connection. Answer it with [`Request::respond`] before the
/// handler returns; a request dropped unanswered gets a `500`.
pub struct Request {
    head: Head,
    /// The connection's read buffer and field list, while the request is being handled.
    lent: Option<Lent>,
    client: Arc<Client>,
}

/// A header field of a request. Fields whose value isn't ASCII are not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The field name as sent (compare it case-insensitively).
    pub name: &'a str,
    /// The value, without surrounding whitespace.
    pub value: &'a str,
}

impl Request {
    pub(crate) fn new(head: Head, lent: Lent, client: Arc<Client>) -> Request {
        Request {
            head,
            lent: Some(lent),
            client,
        }
    }

    fn bytes(&self) -> &[u8] {
        match &self.lent {
            Some(lent) => &lent.buf.data()[..self.head.len],
            None => &[],
        }
    }

    fn text(&self, span: crate::head::Span) -> &str {
        // The parser checked that method, target and kept values are ASCII.
        std::str::from_utf8(span.of_bytes(self.bytes())).unwrap_or("")
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.head.method
    }

    /// The method as sent (the only way to see a [`Method::Other`]).
    pub fn method_str(&self) -> &str {
        let end = self.head.method_end;
        self.text(crate::head::Span { start: 0, end })
    }

    /// The request target as sent: `/path?query`, an absolute URL, or `*`.
    pub fn url(&self) -> &str {
        self.text(self.head.target)
    }

    /// The protocol version.
    pub fn http_version(&self) -> HTTPVersion {
        self.head.version
    }

    /// The header fields, in the order sent.
    pub fn headers(&self) -> impl Iterator<Item = Header<'_>> {
        let fields = self.lent.as_ref().map_or(&[][..], |lent| &lent.fields[..]);
        fields.iter().map(|field| Header {
            name: self.text(field.name),
            value: self.text(field.value),
        })
    }

    /// The value of the first field called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// The client's address (of the TCP connection, so a proxy's when there is one).
    pub fn remote_addr(&self) -> &SocketAddr {
        &self.client.remote_addr
    }

    /// Announces slow work (reading a large directory, say): the serving thread stops counting
    /// as one that takes ready connections, and another is started or woken to take its place,
    /// so other clients don't wait behind this one.
    pub fn will_block(&self) {
        crate::util::will_block();
    }

    /// Whether the client has closed its end of the connection (or it broke), so that work for
    /// it can stop. A client that only shut down its sending side counts as gone.
    pub fn client_gone(&self) -> bool {
        self.client.stream.peer_gone()
    }

    /// Sends `response`. It is written at once as far as the client takes it; the rest is sent
    /// as the client reads, without holding this thread.
    pub fn respond(mut self, response: Response) {
        if let Some(lent) = self.lent.take() {
            self.client.respond(&self.head, lent, response);
        }
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Request({} {} from {})",
            self.method_str(),
            self.url(),
            self.client.remote_addr
        )
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if let Some(lent) = self.lent.take() {
            let mut response = Response::new(500, Body::Empty);
            response.add_header("Content-Type", "text/plain; charset=utf-8");
            self.client.respond(&self.head, lent, response);
        }
    }
}
