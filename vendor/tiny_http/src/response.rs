//! What a handler answers: a status, header lines, a body of known length, and optionally a
//! hook told how the sending ended.
//!
//! Upstream's `Response<R: Read>` took any reader, chunked bodies of 32 KiB and more (HEAD
//! included) or of unknown length, and kept headers as one allocated `Header` each. Here every
//! body has a known length, sent with `Content-Length` and never chunked; headers are lines in
//! one buffer; and the framing headers are the server's alone.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::fs::File;
use std::io::{Read, Write as _};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use httpdate::HttpDate;

use crate::common::{is_token, reason_phrase, HTTPVersion};
use crate::util::extend_short;

/// A response body. Its length is always known, so it goes out with `Content-Length`.
pub enum Body {
    /// No body (`Content-Length: 0`, or no framing at all for 1xx, 204 and 304).
    Empty,
    /// Bytes made for this response.
    Bytes(Vec<u8>),
    /// Bytes shared between responses (a cached representation).
    Shared(Arc<[u8]>),
    /// `len` bytes of `file` from `offset`: sent with sendfile(2) when they don't fit with the
    /// head in one send. The file's own offset is neither used nor moved. If the file turns out
    /// shorter, the connection is closed rather than the response mis-framed.
    File {
        /// The open file.
        file: File,
        /// Where the body starts.
        offset: u64,
        /// The body's length.
        len: u64,
    },
    /// Exactly `len` bytes read from `reader` as the client takes them (a multipart body, a
    /// generated page); a reader that ends early closes the connection.
    Stream {
        /// Where the bytes come from.
        reader: Box<dyn Read + Send>,
        /// The body's length.
        len: u64,
    },
}

impl Body {
    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::Shared(bytes) => bytes.len() as u64,
            Body::File { len, .. } | Body::Stream { len, .. } => *len,
        }
    }

    /// Whether the body has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Body::Empty => "Empty",
            Body::Bytes(_) => "Bytes",
            Body::Shared(_) => "Shared",
            Body::File { .. } => "File",
            Body::Stream { .. } => "Stream",
        };
        write!(f, "Body::{kind}({} bytes)", self.len())
    }
}

/// How sending a response ended, for [`Response::on_complete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Completion {
    /// Body bytes written to the socket (0 for `HEAD`).
    pub body_bytes: u64,
    /// Whether the whole response went out; false when the client went away, the write
    /// timed out, the connection was closed to make room, or the server stopped first.
    pub complete: bool,
}

/// Called once, from whichever thread finishes the response (or gives up on it).
pub(crate) type CompletionHook = Box<dyn FnOnce(Completion) + Send>;

/// A response: status, header lines, body. `Date`, `Content-Length` and `Connection` are
/// added by the server.
pub struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<u8>,
    pub(crate) body: Body,
    pub(crate) on_complete: Option<CompletionHook>,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &String::from_utf8_lossy(&self.headers))
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

/// Header lines added to many responses (a site's own headers), checked once when made
/// rather than on every response: the check of a line cost more than copying it.
#[derive(Debug, Clone, Default)]
pub struct HeaderLines(Vec<u8>);

impl HeaderLines {
    /// The valid lines of `block`, which holds lines written out as `Name: value\r\n`; the
    /// others are dropped as by [`Response::add_header_block`].
    pub fn new(block: &[u8]) -> HeaderLines {
        let mut lines = Vec::with_capacity(block.len());
        push_valid_lines(&mut lines, block);
        HeaderLines(lines)
    }

    /// The lines kept.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Response {
    /// A response with `status` and `body`, and no header lines yet.
    pub fn new(status: u16, body: Body) -> Response {
        Response {
            status,
            headers: header_buffer(),
            body,
            on_complete: None,
        }
    }

    /// Adds header lines already written out as `Name: value\r\n` (not in upstream 0.12.0):
    /// one buffer for all of them instead of two allocations per header.
    ///
    /// Like every header line, each is checked as it is added: a line that isn't a token,
    /// `:`, and a value of printable ASCII and tabs, ending in CRLF, or that names a header
    /// the server frames the message with (`Content-Length`, `Transfer-Encoding`,
    /// `Connection`, `Upgrade`, `Trailer`), is dropped. A handler's bug can then never split
    /// the response or contradict its framing.
    pub fn add_header_block(&mut self, block: &[u8]) {
        push_valid_lines(&mut self.headers, block);
    }

    /// Adds header lines checked once beforehand (see [`HeaderLines`]).
    pub fn add_header_lines(&mut self, lines: &HeaderLines) {
        extend_short(&mut self.headers, &lines.0);
    }

    /// Adds one header line (dropped if it isn't valid, see [`Response::add_header_block`]).
    pub fn add_header(&mut self, name: &str, value: &str) {
        let (name, value) = (name.as_bytes(), value.as_bytes());
        if !is_valid_header(name, value) {
            return;
        }
        // Copied piece by piece, not through `fmt`: a file's response adds six or seven lines,
        // and formatting them cost more instructions than the rest of building the head.
        let headers = &mut self.headers;
        headers.reserve(name.len() + value.len() + 4);
        extend_short(headers, name);
        headers.extend_from_slice(b": ");
        extend_short(headers, value);
        headers.extend_from_slice(b"\r\n");
    }

    /// Adds one header line whose value is formatted (dropped if it isn't valid).
    pub fn add_header_fmt(&mut self, name: &str, value: impl fmt::Display) {
        let start = self.headers.len();
        // Writing to a Vec can't fail.
        let _ = write!(self.headers, "{name}: {value}\r\n");
        if !is_valid_header_line(&self.headers[start..]) {
            self.headers.truncate(start);
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Sets the status code.
    pub fn set_status(&mut self, status: u16) {
        self.status = status;
    }

    /// The header lines added so far.
    pub fn header_block(&self) -> &[u8] {
        &self.headers
    }

    /// Whether a header line named `name` (case-insensitive) has been added.
    pub fn has_header(&self, name: &str) -> bool {
        self.headers.split(|&b| b == b'\n').any(|line| {
            line.len() > name.len()
                && line[name.len()] == b':'
                && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        })
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: Body) {
        self.body = body;
    }

    /// Takes the body out, leaving `Body::Empty`.
    pub fn take_body(&mut self) -> Body {
        std::mem::replace(&mut self.body, Body::Empty)
    }

    /// Runs `hook` once the response has been sent, or given up on, with how it ended: from
    /// the handler's thread when the client takes the response at once, else from whichever
    /// thread finishes it later. Hooks added earlier run first.
    pub fn on_complete(&mut self, hook: impl FnOnce(Completion) + Send + 'static) {
        self.on_complete = Some(match self.on_complete.take() {
            None => Box::new(hook),
            Some(earlier) => Box::new(move |done| {
                earlier(done);
                hook(done);
            }),
        });
    }

    /// Whether the response carries no body, whatever its `Body` (RFC 9110 §6.4.1: 1xx, 204
    /// and 304 have none, and no `Content-Length` either).
    pub(crate) fn has_no_framing(&self) -> bool {
        matches!(self.status, 100..=199 | 204 | 304)
    }
}

/// What the response's `Connection` header says.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) enum Persistence {
    /// Nothing: the HTTP/1.1 default, keep the connection.
    Default,
    /// `Connection: close`: the server closes the connection after this response.
    Close,
    /// `Connection: keep-alive`, for an HTTP/1.0 client that asked for it.
    KeepAlive,
}

thread_local! {
    /// The header buffer of the last response this thread sent, for the next one: the
    /// handler that makes a response almost always sends it on the same thread, so this saves
    /// an allocation per response (musl's malloc and free cost about 500 instructions).
    static HEADER_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// An empty buffer for a response's header lines: this thread's spare one, or a new one
/// large enough for a file's (about 250 bytes).
fn header_buffer() -> Vec<u8> {
    let mut buffer = HEADER_BUFFER.take();
    buffer.reserve(384);
    buffer
}

/// Keeps a sent response's header buffer for the next response on this thread, unless it
/// grew unusually large.
pub(crate) fn recycle_header_buffer(mut buffer: Vec<u8>) {
    if buffer.capacity() <= 4096 {
        buffer.clear();
        HEADER_BUFFER.set(buffer);
    }
}

thread_local! {
    /// The `Date` line of the current second: formatting it costs more than sending it.
    static DATE: RefCell<(u64, [u8; 37])> = const { RefCell::new((u64::MAX, [0; 37])) };
}

/// Appends `Date: <now>\r\n` (a response needs one, RFC 9110 §6.6.1), to the second of the
/// coarse clock: the header has no finer unit.
fn push_date(out: &mut Vec<u8>) {
    let second = crate::sys::unix_coarse_secs();
    DATE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != second {
            let mut line = [0u8; 37];
            let now = UNIX_EPOCH + Duration::from_secs(second);
            // "Date: " + 29 bytes of IMF-fixdate + CRLF.
            let _ = write!(&mut line[..], "Date: {}\r\n", HttpDate::from(now));
            *cache = (second, line);
        }
        out.extend_from_slice(&cache.1);
    });
}

/// Appends the response head: status line, `Date`, the valid header lines, framing and
/// `Connection`, and the empty line. `body_len` is `None` for a response without framing.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    version: HTTPVersion,
    status: u16,
    header_block: &[u8],
    body_len: Option<u64>,
    persistence: Persistence,
) {
    // Written byte by byte rather than through `fmt`, which cost more than all the rest.
    out.reserve(128 + header_block.len());
    out.extend_from_slice(b"HTTP/");
    out.extend_from_slice(&[b'0' + version.0 % 10, b'.', b'0' + version.1 % 10, b' ']);
    push_decimal(out, u64::from(status));
    out.push(b' ');
    extend_short(out, reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    push_date(out);
    // Checked line by line as they were added.
    extend_short(out, header_block);
    if let Some(len) = body_len {
        out.extend_from_slice(b"Content-Length: ");
        push_decimal(out, len);
        out.extend_from_slice(b"\r\n");
    }
    match persistence {
        Persistence::Default => out.extend_from_slice(b"\r\n"),
        Persistence::Close => out.extend_from_slice(b"Connection: close\r\n\r\n"),
        Persistence::KeepAlive => out.extend_from_slice(b"Connection: keep-alive\r\n\r\n"),
    }
}

/// Appends `n` in decimal.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    extend_short(out, &digits[at..]);
}

/// Appends the lines of `block` that may be sent.
fn push_valid_lines(out: &mut Vec<u8>, block: &[u8]) {
    for line in block.split_inclusive(|&b| b == b'\n') {
        if is_valid_header_line(line) {
            out.extend_from_slice(line);
        }
    }
}

/// Whether a header line (`Name: value\r\n`) may be sent.
fn is_valid_header_line(line: &[u8]) -> bool {
    let Some(body) = line.strip_suffix(b"\r\n") else {
        return false;
    };
    let Some(colon) = body.iter().position(|&b| b == b':') else {
        return false;
    };
    is_valid_header(&body[..colon], &body[colon + 1..])
}

/// Whether a header may be sent: a token for a name, a value of printable ASCII and tabs, and
/// not a header the server frames the message with.
fn is_valid_header(name: &[u8], value: &[u8]) -> bool {
    let reserved = match name.len() {
        7 => name.eq_ignore_ascii_case(b"upgrade") || name.eq_ignore_ascii_case(b"trailer"),
        10 => name.eq_ignore_ascii_case(b"connection"),
        14 => name.eq_ignore_ascii_case(b"content-length"),
        17 => name.eq_ignore_ascii_case(b"transfer-encoding"),
        _ => false,
    };
    // The value's bytes are folded rather than looked up one by one with an early exit: the
    // compiler checks 16 at a time, and values are most of a head's bytes.
    // (`b - 0x20` wraps: control bytes land above 0x5f, with DEL and non-ASCII.)
    let bad_value = value.iter().fold(0u8, |bad, &b| {
        bad | (u8::from(b.wrapping_sub(0x20) >= 0x5f) & u8::from(b != b'\t'))
    }) != 0;
    !reserved && !bad_value && is_token(name)
}

/// The complete bytes of a response the server sends on its own (protocol errors, 503 past
/// the connection cap): a one-line plain-text body and `Connection: close`. Also returns the
/// body's length.
pub(crate) fn error_response(status: u16, extra_headers: &HeaderLines) -> (Vec<u8>, usize) {
    let body = format!("{} {}\n", status, reason_phrase(status));
    let mut headers = Vec::with_capacity(extra_headers.0.len() + 48);
    headers.extend_from_slice(&extra_headers.0);
    headers.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
    let mut out = Vec::with_capacity(256);
    write_head(
        &mut out,
        HTTPVersion(1, 1),
        status,
        &headers,
        Some(body.len() as u64),
        Persistence::Close,
    );
    out.extend_from_slice(body.as_bytes());
    (out, body.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(status: u16, block: &[u8], len: Option<u64>) -> String {
        let mut out = Vec::new();
        write_head(
            &mut out,
            HTTPVersion(1, 1),
            status,
            block,
            len,
            Persistence::Default,
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn only_valid_header_lines_are_kept() {
        let mut response = Response::new(200, Body::Empty);
        response.add_header_block(
            b"ETag: \"a\"\r\nX-Ok: v\tw\r\nContent-Length: 9\r\nBad Name: x\r\nX-Ctl: a\x01b\r\nNoCrlf: x\nX-Last: y\r\n",
        );
        response.add_header("X-Split", "a\r\nSet-Cookie: b");
        response.add_header("Transfer-Encoding", "chunked");
        response.add_header("X-Del", "a\x7fb");
        response.add_header_fmt("Connection", "close");
        response.add_header_fmt("X-Fmt", format_args!("{}\n{}", 1, 2));
        response.add_header("X-Fine", "caf\u{e9}");
        response.add_header("X-Good", "yes");
        let text = head(200, response.header_block(), Some(0));
        assert!(
            text.contains("\r\nETag: \"a\"\r\nX-Ok: v\tw\r\nX-Last: y\r\n"),
            "{text:?}"
        );
        assert!(text.contains("Content-Length: 0\r\n"), "{text:?}");
        assert!(text.contains("\r\nX-Good: yes\r\n"), "{text:?}");
        for dropped in [
            "Content-Length: 9",
            "Bad Name",
            "X-Ctl",
            "NoCrlf",
            "Split",
            "Set-Cookie",
            "Transfer-Encoding",
            "X-Del",
            "Connection",
            "X-Fmt",
            "X-Fine",
        ] {
            assert!(!text.contains(dropped), "{dropped} in {text:?}");
        }
    }

    #[test]
    fn no_framing_headers_without_a_length_and_no_server_header() {
        let text = head(304, b"", None);
        assert!(
            text.starts_with("HTTP/1.1 304 Not Modified\r\nDate: "),
            "{text:?}"
        );
        assert!(text.ends_with(" GMT\r\n\r\n"), "{text:?}");
        assert!(!text.contains("Content-Length") && !text.contains("Transfer-Encoding"));
        assert!(!text.contains("Server:"));
    }

    #[test]
    fn header_lines_keep_only_valid_lines_and_add_them_as_they_are() {
        let lines = HeaderLines::new(
            b"X-A: 1\r\nTransfer-Encoding: chunked\r\nX-Ctl: a\x01b\r\nNoCrlf: x\nX-B: 2\r\n",
        );
        assert_eq!(lines.as_bytes(), b"X-A: 1\r\nX-B: 2\r\n");
        let mut response = Response::new(200, Body::Empty);
        response.add_header("X-First", "0");
        response.add_header_lines(&lines);
        assert_eq!(
            response.header_block(),
            b"X-First: 0\r\nX-A: 1\r\nX-B: 2\r\n"
        );
    }

    #[test]
    fn error_responses_close_and_say_why() {
        let extra = HeaderLines::new(b"X-A: b\r\nConnection: keep-alive\r\n");
        let (bytes, body_len) = error_response(503, &extra);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(text.contains("\r\nX-A: b\r\nContent-Type: text/plain; charset=utf-8\r\n"));
        assert!(!text.contains("keep-alive"), "{text:?}");
        assert!(text.ends_with("Connection: close\r\n\r\n503 Service Unavailable\n"));
        assert_eq!(body_len, "503 Service Unavailable\n".len());
    }
}
