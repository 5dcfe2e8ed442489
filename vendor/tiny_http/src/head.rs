//! Request-head parsing: the request line, the header fields and the body framing they imply.
//!
//! Everything here is a pure function over bytes, so it can be unit-tested and fuzzed without a
//! socket. Upstream 0.12.0 split lines on CRLF only, accepted any `Transfer-Encoding` value,
//! accepted HTTP/1.1 without `Host`, and closed silently on non-ASCII bytes; the rules below
//! follow RFC 9112 instead and say which status each rejection gets.
//!
//! The parser copies nothing: it returns where the method, target and fields lie in the head's
//! bytes, which stay in the connection's read buffer while the request is handled.

use crate::common::{is_tchar, is_token, HTTPVersion, Method};

/// A parsed and validated request head; positions are byte offsets into the head.
#[derive(Debug)]
pub(crate) struct Head {
    /// Its length, through the empty line that ends it.
    pub len: usize,
    pub method: Method,
    pub method_end: u32,
    pub target: Span,
    pub version: HTTPVersion,
    pub framing: Framing,
    /// The client wants the connection closed after this exchange (`Connection: close`, or
    /// HTTP/1.0 without `Connection: keep-alive`).
    pub close: bool,
    /// An HTTP/1.0 client asked to keep the connection; the response must say so too.
    pub keep_alive_1_0: bool,
}

/// Where some bytes lie in the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    fn of(head: &[u8], part: &[u8]) -> Span {
        // `part` is a subslice of `head`; a head is at most a few hundred KiB.
        let start = part.as_ptr() as usize - head.as_ptr() as usize;
        Span {
            start: start as u32,
            end: (start + part.len()) as u32,
        }
    }

    pub(crate) fn of_bytes<'a>(&self, head: &'a [u8]) -> &'a [u8] {
        &head[self.start as usize..self.end as usize]
    }
}

/// A header field: its name and value (trimmed) in the head. Only fields whose value is
/// ASCII are kept (see [`parse`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub name: Span,
    pub value: Span,
}

/// How the request body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// Why a head was rejected; each maps to the status the client gets before the connection closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// 400, with a short reason for the log and the response body.
    Bad(&'static str),
    /// 414: the request line alone exceeds the head limit.
    UriTooLong,
    /// 431: the head exceeds the size limit or has too many fields.
    TooLarge,
    /// 417: an `Expect` other than `100-continue`.
    Expectation,
    /// 505: HTTP/2 or later (e.g. the h2c preface `PRI * HTTP/2.0`), or HTTP/0.x.
    Version,
}

impl HeadError {
    pub(crate) fn status(self) -> u16 {
        match self {
            HeadError::Bad(_) => 400,
            HeadError::UriTooLong => 414,
            HeadError::TooLarge => 431,
            HeadError::Expectation => 417,
            HeadError::Version => 505,
        }
    }
}

/// Returns the length of the head at the start of `buf` (up to and including the empty line that
/// ends it), or `None` if `buf` doesn't hold a whole head yet.
///
/// `from` is where to resume scanning: bytes before it were already scanned by an earlier call,
/// so a caller that appends data passes the old length minus 3 (the longest terminator, `\n\r\n`,
/// may straddle the boundary).
pub(crate) fn find_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(off) = buf.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + off;
        match buf.get(nl + 1..nl + 3) {
            Some([b'\n', _]) => return Some(nl + 2),
            Some(b"\r\n") => return Some(nl + 3),
            None if buf.get(nl + 1) == Some(&b'\n') => return Some(nl + 2),
            _ => {}
        }
        i = nl + 1;
    }
    None
}

/// Number of bytes of empty lines (CRLF or LF) before the request line; RFC 9112 §2.2 asks
/// servers to ignore at least one (some clients send one after a POST body).
pub(crate) fn leading_empty_lines(buf: &[u8]) -> usize {
    let mut n = 0;
    loop {
        match &buf[n..] {
            [b'\n', ..] => n += 1,
            [b'\r', b'\n', ..] => n += 2,
            _ => return n,
        }
    }
}

/// Whether the start of a request line (no LF yet) can already never become a valid one:
/// a byte no request line may hold at its position. Such clients (a TLS ClientHello on the
/// plain port, binary garbage) get their 400 at once instead of after the head timeout.
pub(crate) fn hopeless_start(partial: &[u8]) -> bool {
    // A CR at the end may be the start of a line end (leading empty lines included).
    let partial = partial.strip_suffix(b"\r").unwrap_or(partial);
    let mut parts = partial.splitn(3, |&b| b == b' ');
    let method = parts.next().unwrap_or(b"");
    if !method.iter().all(|&b| is_tchar(b)) {
        return true;
    }
    let Some(target) = parts.next() else {
        return false;
    };
    if method.is_empty() || !target.iter().all(|&b| (0x21..0x7f).contains(&b)) {
        return true;
    }
    let Some(version) = parts.next() else {
        return false;
    };
    let known = version.len().min(5);
    version[..known] != b"HTTP/"[..known]
        || !version[known..]
            .iter()
            .all(|&b| b.is_ascii_digit() || b == b'.')
}

/// Parses and validates a whole head as delimited by [`find_end`], recording its fields in
/// `fields` (cleared first: the connection reuses the vector from one request to the next).
///
/// obs-text (bytes above 0x7E) is legal in field values, but handlers read values as text: a
/// field whose value isn't ASCII is dropped, unless framing or routing depends on it
/// (`Host`, `Content-Length`, `Transfer-Encoding`, `Expect`): then the request gets `400`.
pub(crate) fn parse(
    head: &[u8],
    max_headers: usize,
    fields: &mut Vec<Field>,
) -> Result<Head, HeadError> {
    fields.clear();
    let mut lines = Lines { rest: head };
    let request_line = lines.next_line()?.ok_or(HeadError::Bad("empty request"))?;
    let (method, target, version) = parse_request_line(request_line)?;

    let mut seen = Seen::default();
    let mut count = 0;
    while let Some(line) = lines.next_line()? {
        if line.is_empty() {
            break;
        }
        count += 1;
        if count > max_headers {
            return Err(HeadError::TooLarge);
        }
        let (name, value, ascii) = split_field(line)?;
        let known = seen.note(name, value)?;
        if !ascii {
            if known {
                return Err(HeadError::Bad("non-ASCII bytes in a framing header"));
            }
            continue;
        }
        fields.push(Field {
            name: Span::of(head, name),
            value: Span::of(head, value),
        });
    }

    let framing = seen.framing(&version)?;
    if version == (1, 1) && seen.host == 0 {
        return Err(HeadError::Bad("HTTP/1.1 request without Host"));
    }
    if seen.host > 1 {
        return Err(HeadError::Bad("more than one Host header"));
    }
    if seen.bad_expect {
        return Err(HeadError::Expectation);
    }
    let close = seen.close || (version == (1, 0) && !seen.keep_alive);
    Ok(Head {
        len: head.len(),
        method: Method::parse(method),
        method_end: method.len() as u32,
        target: Span::of(head, target),
        keep_alive_1_0: version == (1, 0) && !close,
        version,
        framing,
        close,
    })
}

struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Lines<'a> {
    /// The next line without its LF or CRLF; a CR anywhere else is an error (RFC 9112 §2.2).
    fn next_line(&mut self) -> Result<Option<&'a [u8]>, HeadError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let end = self
            .rest
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(self.rest.len());
        let mut line = &self.rest[..end];
        self.rest = self.rest.get(end + 1..).unwrap_or(&[]);
        if let [head @ .., b'\r'] = line {
            line = head;
        }
        if line.contains(&b'\r') {
            return Err(HeadError::Bad("bare CR in request head"));
        }
        Ok(Some(line))
    }
}

fn parse_request_line(line: &[u8]) -> Result<(&[u8], &[u8], HTTPVersion), HeadError> {
    let mut parts = line.split(|&b| b == b' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) => (m, t, v),
        _ => return Err(HeadError::Bad("malformed request line")),
    };
    // Check the version first: an HTTP/2 preface must get 505 whatever its target looks like.
    let version = parse_version(version)?;
    if !is_token(method) {
        return Err(HeadError::Bad("malformed method"));
    }
    if target.is_empty() || !target.iter().all(|&b| (0x21..0x7f).contains(&b)) {
        return Err(HeadError::Bad("malformed request target"));
    }
    Ok((method, target, version))
}

fn parse_version(v: &[u8]) -> Result<HTTPVersion, HeadError> {
    let digits = match v {
        [b'H', b'T', b'T', b'P', b'/', rest @ ..] => rest,
        _ => return Err(HeadError::Bad("malformed HTTP version")),
    };
    let (major, minor) = match digits {
        [major, b'.', minor] if major.is_ascii_digit() && minor.is_ascii_digit() => {
            (major - b'0', minor - b'0')
        }
        // "HTTP/2" and "HTTP/3" as some clients write them; "HTTP/1" is malformed
        // (RFC 9112 §2.3 wants DIGIT "." DIGIT).
        [major] if (b'2'..=b'9').contains(major) => (major - b'0', 0),
        _ => return Err(HeadError::Bad("malformed HTTP version")),
    };
    match major {
        // RFC 9110 §2.5: a higher minor version is processed as the highest one we implement.
        1 => Ok(HTTPVersion(1, minor.min(1))),
        _ => Err(HeadError::Version),
    }
}

/// Splits `name: value`, trimming optional whitespace around the value; also says whether the
/// value is ASCII.
fn split_field(line: &[u8]) -> Result<(&[u8], &[u8], bool), HeadError> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(HeadError::Bad("obsolete line folding"));
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(HeadError::Bad("header line without a colon"))?;
    let name = &line[..colon];
    // Whitespace before the colon is a smuggling vector (RFC 9112 §5.1): reject, don't trim.
    if !is_token(name) {
        return Err(HeadError::Bad("malformed header name"));
    }
    let value = trim_ows(&line[colon + 1..]);
    // Both checks folded over the bytes in one pass without an early exit, which the compiler
    // does 16 bytes at a time: values are most of a head's bytes.
    let (control, high) = value.iter().fold((0u8, 0u8), |(control, high), &b| {
        let is_control = (b < 0x20 && b != b'\t') || b == 0x7f;
        (control | u8::from(is_control), high | (b & 0x80))
    });
    if control != 0 {
        return Err(HeadError::Bad("control character in a header value"));
    }
    Ok((name, value, high == 0))
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// What the header fields that decide framing and connection handling said.
#[derive(Default)]
struct Seen {
    host: usize,
    transfer_encodings: usize,
    chunked: bool,
    content_length: Option<u64>,
    bad_content_length: bool,
    bad_expect: bool,
    close: bool,
    keep_alive: bool,
}

impl Seen {
    /// Records one field; returns whether it is one of the fields framing or routing depends on.
    fn note(&mut self, name: &[u8], value: &[u8]) -> Result<bool, HeadError> {
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("host") {
            self.host += 1;
        } else if is("transfer-encoding") {
            self.transfer_encodings += 1;
            self.chunked = value.eq_ignore_ascii_case(b"chunked");
        } else if is("content-length") {
            // A list of identical values is allowed (RFC 9112 §6.3); anything else is not.
            for item in value.split(|&b| b == b',').map(trim_ows) {
                match parse_decimal(item) {
                    Some(n) if self.content_length.is_none_or(|m| m == n) => {
                        self.content_length = Some(n)
                    }
                    _ => self.bad_content_length = true,
                }
            }
        } else if is("expect") {
            // 100-continue asks for an interim answer before the body is sent; the final
            // answer comes without reading the body anyway, which satisfies the client too.
            self.bad_expect |= !value.eq_ignore_ascii_case(b"100-continue");
        } else if is("connection") {
            for token in value.split(|&b| b == b',').map(trim_ows) {
                self.close |= token.eq_ignore_ascii_case(b"close");
                self.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
            return Ok(false);
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// RFC 9112 §6.1 and §6.3: a request with both `Transfer-Encoding` and `Content-Length`, or
    /// with a transfer coding other than exactly `chunked`, is a smuggling attempt (RUSTSEC-2020-0031,
    /// tiny-http#287): reject it rather than guess which framing a proxy in front of us used.
    fn framing(&self, version: &HTTPVersion) -> Result<Framing, HeadError> {
        if self.bad_content_length {
            return Err(HeadError::Bad("malformed Content-Length"));
        }
        if self.transfer_encodings > 0 {
            if self.content_length.is_some() {
                return Err(HeadError::Bad("both Transfer-Encoding and Content-Length"));
            }
            if self.transfer_encodings > 1 || !self.chunked {
                return Err(HeadError::Bad("unsupported Transfer-Encoding"));
            }
            if *version == (1, 0) {
                return Err(HeadError::Bad("Transfer-Encoding in an HTTP/1.0 request"));
            }
            return Ok(Framing::Chunked);
        }
        Ok(match self.content_length {
            None | Some(0) => Framing::None,
            Some(n) => Framing::Length(n),
        })
    }
}

fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(head: &str) -> Head {
        parse(head.as_bytes(), 100, &mut Vec::new()).unwrap()
    }

    fn fields(head: &str) -> Vec<(String, String)> {
        let mut fields = Vec::new();
        parse(head.as_bytes(), 100, &mut fields).unwrap();
        let text = |s: Span| String::from_utf8(s.of_bytes(head.as_bytes()).to_vec()).unwrap();
        fields
            .iter()
            .map(|f| (text(f.name), text(f.value)))
            .collect()
    }

    fn err(head: &str) -> HeadError {
        parse(head.as_bytes(), 100, &mut Vec::new()).unwrap_err()
    }

    #[test]
    fn finds_the_end_of_a_head() {
        assert_eq!(
            find_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest", 0),
            Some(27)
        );
        assert_eq!(find_end(b"GET / HTTP/1.1\nHost: a\n\nrest", 0), Some(24));
        assert_eq!(find_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r", 0), None);
        assert_eq!(find_end(b"GET / HTTP/1.1\r\nHost: a\r\n", 0), None);
        // Resuming three bytes before the old end finds a terminator split across reads.
        let buf = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(find_end(buf, buf.len() - 1 - 3), Some(buf.len()));
        assert_eq!(find_end(b"\n\n", 0), Some(2));
    }

    #[test]
    fn skips_leading_empty_lines() {
        assert_eq!(leading_empty_lines(b"\r\n\nGET"), 3);
        assert_eq!(leading_empty_lines(b"\rGET"), 0);
        assert_eq!(leading_empty_lines(b""), 0);
    }

    #[test]
    fn parses_a_simple_request() {
        let text = "GET /a%20b?x=1 HTTP/1.1\r\nHost: example\r\nX-A:  v  \r\n\r\n";
        let h = ok(text);
        assert_eq!(h.method, Method::Get);
        assert_eq!(h.target.of_bytes(text.as_bytes()), b"/a%20b?x=1");
        assert_eq!(h.version, HTTPVersion(1, 1));
        assert_eq!(
            fields(text),
            [
                ("Host".into(), "example".into()),
                ("X-A".into(), "v".into())
            ]
        );
        assert_eq!(h.framing, Framing::None);
        assert!(!h.close);
        assert_eq!(
            ok("PURGE / HTTP/1.1\r\nHost: a\r\n\r\n").method,
            Method::Other
        );
    }

    #[test]
    fn accepts_bare_lf_line_ends() {
        assert_eq!(fields("GET / HTTP/1.1\nHost: a\n\n").len(), 1);
    }

    #[test]
    fn rejects_malformed_request_lines() {
        for bad in [
            "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1 x\r\nHost: a\r\n\r\n",
            "GET /\r\n\r\n",
            "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /caf\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/x.1\r\nHost: a\r\n\r\n",
            "GET / http/1.1\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\rHost: a\r\n\r\n",
        ] {
            assert!(matches!(err(bad), HeadError::Bad(_)), "{:?}", bad);
        }
    }

    #[test]
    fn hopeless_starts_are_seen_before_the_line_ends() {
        for hopeless in [
            &b"\x16\x03\x01\x02\x00\x01"[..],
            b"GE\x00",
            b" GET",
            b"GET  /",
            b"GET /a\x01",
            b"GET / FTP",
            b"GET / HTTP/1.x",
            b"GET /\xe9",
        ] {
            assert!(hopeless_start(hopeless), "{:?}", hopeless);
        }
        for fine in [
            &b""[..],
            b"\r",
            b"GE",
            b"GET",
            b"GET ",
            b"GET /a",
            b"GET / ",
            b"GET / HT",
            b"GET / HTTP/1.1\r",
        ] {
            assert!(!hopeless_start(fine), "{:?}", fine);
        }
    }

    #[test]
    fn http2_and_http0_get_505() {
        assert_eq!(err("PRI * HTTP/2.0\r\n\r\n"), HeadError::Version);
        assert_eq!(err("GET / HTTP/2\r\nHost: a\r\n\r\n"), HeadError::Version);
        assert_eq!(err("GET / HTTP/3.0\r\n\r\n"), HeadError::Version);
        assert_eq!(err("GET / HTTP/0.9\r\n\r\n"), HeadError::Version);
        assert_eq!(
            ok("GET / HTTP/1.2\r\nHost: a\r\n\r\n").version,
            HTTPVersion(1, 1)
        );
        assert!(matches!(
            err("GET / HTTP/1\r\nHost: a\r\n\r\n"),
            HeadError::Bad(_)
        ));
    }

    #[test]
    fn host_rules() {
        assert!(matches!(err("GET / HTTP/1.1\r\n\r\n"), HeadError::Bad(_)));
        assert!(matches!(
            err("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            HeadError::Bad(_)
        ));
        assert!(ok("GET / HTTP/1.0\r\n\r\n").close);
    }

    #[test]
    fn smuggling_shapes_are_rejected() {
        for bad in [
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\n Transfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\u{e9}\r\n\r\n",
        ] {
            assert!(matches!(err(bad), HeadError::Bad(_)), "{:?}", bad);
        }
        let h = ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
        assert_eq!(h.framing, Framing::Chunked);
        let h = ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\r\n\r\n");
        assert_eq!(h.framing, Framing::Length(7));
    }

    #[test]
    fn header_syntax() {
        assert!(matches!(
            err("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"),
            HeadError::Bad(_)
        ));
        assert!(matches!(
            err("GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n"),
            HeadError::Bad(_)
        ));
        // A non-ASCII value in a field we don't act on is dropped, not fatal.
        assert_eq!(
            fields("GET / HTTP/1.1\r\nHost: a\r\nCookie: caf\u{e9}\r\n\r\n").len(),
            1
        );
        // Every position of a long value is checked, tabs are allowed.
        let long = "v\tw".repeat(20);
        for at in [0, 15, 16, 17, 40, long.len() - 1] {
            for (odd, bad) in [("\x01", true), ("\x7f", true), ("\u{e9}", false)] {
                let value = format!("{}{odd}{}", &long[..at], &long[at..]);
                let head = format!("GET / HTTP/1.1\r\nHost: a\r\nX-V: {value}\r\n\r\n");
                match bad {
                    true => assert!(matches!(err(&head), HeadError::Bad(_)), "{head:?}"),
                    false => assert_eq!(fields(&head).len(), 1, "{head:?}"),
                }
            }
        }
        assert_eq!(
            fields(&format!("GET / HTTP/1.1\r\nHost: a\r\nX-V: {long}\r\n\r\n")).len(),
            2
        );
    }

    #[test]
    fn limits_the_number_of_fields() {
        let mut head = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        for i in 0..100 {
            head.push_str(&format!("X-{}: y\r\n", i));
        }
        head.push_str("\r\n");
        assert_eq!(err(&head), HeadError::TooLarge);
    }

    #[test]
    fn expect_and_connection() {
        assert_eq!(
            err("GET / HTTP/1.1\r\nHost: a\r\nExpect: x\r\n\r\n"),
            HeadError::Expectation
        );
        ok("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n");
        let h = ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n");
        assert!(h.close);
        let h = ok("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert!(!h.close && h.keep_alive_1_0);
    }
}
