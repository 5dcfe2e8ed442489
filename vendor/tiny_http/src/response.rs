use crate::common::{HTTPVersion, Header, StatusCode};
use httpdate::HttpDate;
use std::cell::RefCell;
use std::sync::mpsc::Receiver;

use std::io::Result as IoResult;
use std::io::{self, Cursor, Read, Write};

use std::fs::File;

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::client::FileAt;

/// Object representing an HTTP response whose purpose is to be given to a `Request`.
///
/// Some headers cannot be changed. Trying to define the value
/// of one of these will have no effect:
///
///  - `Connection`
///  - `Trailer`
///  - `Transfer-Encoding`
///  - `Upgrade`
///
/// Some headers have special behaviors:
///
///  - `Content-Encoding`: If you define this header, the library
///    will assume that the data from the `Read` object has the specified encoding
///    and will just pass-through.
///
///  - `Content-Length`: The length of the data should be set manually
///    using the `Reponse` object's API. Attempting to set the value of this
///    header will be equivalent to modifying the size of the data but the header
///    itself may not be present in the final result. A response whose length is known is
///    sent with `Content-Length` (never chunked, unlike upstream past 32 KiB), exactly that
///    many bytes of the reader are sent, and a reader that ends early closes the connection.
///
///  - `Content-Type`: You may only set this header to one value at a time. If you
///    try to set it more than once, the existing value will be overwritten. This
///    behavior differs from the default for most headers, which is to allow them to
///    be set multiple times in the same response.
///
pub struct Response<R> {
    reader: R,
    status_code: StatusCode,
    headers: Vec<Header>,
    data_length: Option<usize>,
    chunked_threshold: Option<usize>,
    /// A file body, sent with sendfile(2) where possible (see [`Response::from_file_range`]).
    file: Option<(File, u64)>,
    /// Header lines added with [`Response::add_header_block`].
    header_block: Vec<u8>,
}

/// A `Response` without a template parameter.
pub type ResponseBox = Response<Box<dyn Read + Send>>;

/// How the body goes on the wire.
enum Framing {
    /// No body at all (1xx, 204, 304, upgrades).
    None,
    Length(u64),
    Chunked,
    /// A body of unknown length for an HTTP/1.0 client, read into memory to learn its length.
    Buffered(Vec<u8>),
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
    /// The `Date` value of the current second: formatting it costs more than sending it.
    static DATE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Writes `Date: <now>` (a response needs one, RFC 9110 §6.6.1).
fn write_date<W: Write>(w: &mut W) -> IoResult<()> {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != second {
            *cache = (second, HttpDate::from(now).to_string());
        }
        w.write_all(b"Date: ")?;
        w.write_all(cache.1.as_bytes())?;
        w.write_all(b"\r\n")
    })
}

/// A header value that would let its bytes start another header line or end the head.
fn is_injection(header: &Header) -> bool {
    header
        .value
        .as_bytes()
        .iter()
        .any(|&b| b == b'\r' || b == b'\n' || b == 0)
}

fn write_status_line<W: Write>(
    w: &mut W,
    version: &HTTPVersion,
    status: StatusCode,
) -> IoResult<()> {
    write!(
        w,
        "HTTP/{}.{} {} {}\r\n",
        version.0,
        version.1,
        status.0,
        status.default_reason_phrase()
    )
}

fn write_header<W: Write>(w: &mut W, header: &Header) -> IoResult<()> {
    if is_injection(header) {
        log::error!("dropped a response header with CR, LF or NUL in its value");
        return Ok(());
    }
    w.write_all(header.field.as_str().as_bytes())?;
    w.write_all(b": ")?;
    w.write_all(header.value.as_bytes())?;
    w.write_all(b"\r\n")
}

/// The lines of a header block that are well-formed and not reserved for framing.
fn valid_lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    block.split_inclusive(|&b| b == b'\n').filter(|line| {
        let ok = is_valid_header_line(line);
        if !ok {
            log::error!("dropped a malformed or reserved line of a response header block");
        }
        ok
    })
}

fn is_valid_header_line(line: &[u8]) -> bool {
    let Some(body) = line.strip_suffix(b"\r\n") else {
        return false;
    };
    let Some(colon) = body.iter().position(|&b| b == b':') else {
        return false;
    };
    let (name, value) = (&body[..colon], &body[colon + 1..]);
    let token = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    let reserved = [
        "content-length",
        "transfer-encoding",
        "connection",
        "upgrade",
        "trailer",
    ]
    .iter()
    .any(|r| name.eq_ignore_ascii_case(r.as_bytes()));
    !name.is_empty()
        && name.iter().all(token)
        && !reserved
        && value
            .iter()
            .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
}

/// The complete bytes of a response the server sends on its own (protocol errors, 503 past
/// the connection cap): a one-line plain-text body and `Connection: close`. Also returns the
/// body's length.
pub(crate) fn error_response(status: u16, extra_headers: &[Header]) -> (Vec<u8>, usize) {
    let status = StatusCode(status);
    let body = format!("{} {}\n", status.0, status.default_reason_phrase());
    let mut out = Vec::with_capacity(256);
    // Writes to a Vec cannot fail.
    let _ = write_status_line(&mut out, &HTTPVersion(1, 1), status);
    let _ = write_date(&mut out);
    for header in extra_headers {
        let _ = write_header(&mut out, header);
    }
    let _ = write!(
        out,
        "Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        body
    );
    (out, body.len())
}

/// Where a response is written: any writer, or a connection (which can do better for files).
pub(crate) trait Sink: Write {
    /// Sends exactly `len` bytes of `reader`; fails if it ends early.
    fn copy_exact<Rd: Read>(&mut self, reader: Rd, len: u64) -> IoResult<()> {
        let copied = io::copy(&mut reader.take(len), self)?;
        if copied < len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "response body shorter than its Content-Length",
            ));
        }
        Ok(())
    }

    /// Sends `len` bytes of `file` from `offset`.
    fn send_file(&mut self, file: &File, offset: u64, len: u64) -> IoResult<()> {
        self.copy_exact(FileAt { file, pos: offset }, len)
    }
}

/// Any writer, for [`Response::raw_print`].
struct Plain<W>(W);

impl<W: Write> Write for Plain<W> {
    fn write(&mut self, buf: &[u8]) -> IoResult<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> IoResult<()> {
        self.0.flush()
    }
}

impl<W: Write> Sink for Plain<W> {}

impl<R> Response<R>
where
    R: Read,
{
    /// Creates a new Response object.
    ///
    /// The `additional_headers` argument is a receiver that
    ///  may provide headers even after the response has been sent.
    ///
    /// All the other arguments are straight-forward.
    pub fn new(
        status_code: StatusCode,
        headers: Vec<Header>,
        data: R,
        data_length: Option<usize>,
        additional_headers: Option<Receiver<Header>>,
    ) -> Response<R> {
        let mut response = Response {
            reader: data,
            status_code,
            headers: Vec::with_capacity(headers.len() + 4),
            data_length,
            chunked_threshold: None,
            file: None,
            header_block: Vec::new(),
        };

        for h in headers {
            response.add_header(h)
        }

        // dummy implementation
        if let Some(additional_headers) = additional_headers {
            for h in additional_headers.iter() {
                response.add_header(h)
            }
        }

        response
    }

    /// Set a threshold for `Content-Length` at or above which the body is sent chunked
    /// instead. Unlike upstream, which chunked every body of 32 KiB or more (HEAD included),
    /// a body of known length is sent with `Content-Length` unless this is set.
    pub fn with_chunked_threshold(mut self, length: usize) -> Response<R> {
        self.chunked_threshold = Some(length);
        self
    }

    /// Convert the response into the underlying `Read` type.
    ///
    /// This is mainly useful for testing as it must consume the `Response`.
    pub fn into_reader(self) -> R {
        self.reader
    }

    /// The current `Content-Length` threshold for switching over to chunked transfer
    /// (`usize::MAX`, never, unless set with [`Response::with_chunked_threshold`]).
    pub fn chunked_threshold(&self) -> usize {
        self.chunked_threshold.unwrap_or(usize::MAX)
    }

    /// Adds a header to the list.
    /// Does all the checks.
    pub fn add_header<H>(&mut self, header: H)
    where
        H: Into<Header>,
    {
        let header = header.into();

        // ignoring forbidden headers
        if header.field.equiv("Connection")
            || header.field.equiv("Trailer")
            || header.field.equiv("Transfer-Encoding")
            || header.field.equiv("Upgrade")
        {
            return;
        }

        // if the header is Content-Length, setting the data length
        if header.field.equiv("Content-Length") {
            if let Ok(val) = usize::from_str(header.value.as_str()) {
                self.data_length = Some(val)
            }

            return;
        // if the header is Content-Type and it's already set, overwrite it
        } else if header.field.equiv("Content-Type") {
            if let Some(content_type_header) = self
                .headers
                .iter_mut()
                .find(|h| h.field.equiv("Content-Type"))
            {
                content_type_header.value = header.value;
                return;
            }
        }

        self.headers.push(header);
    }

    /// Adds header fields already written out as `Name: value\r\n` lines (not in upstream
    /// 0.12.0): one buffer for all of them instead of two allocations per [`Header`], for
    /// servers that build every response's headers on the hot path.
    ///
    /// The lines are checked when the response is written: a line that isn't a token, `: `,
    /// and a value of printable ASCII and tabs, ending in CRLF, or that names a header the
    /// server frames the message with (`Content-Length`, `Transfer-Encoding`, `Connection`,
    /// `Upgrade`, `Trailer`), is dropped. Unlike [`Response::add_header`], `Content-Type` is not
    /// deduplicated and the lines don't appear in [`Response::headers`].
    pub fn add_header_block(&mut self, block: &[u8]) {
        self.header_block.extend_from_slice(block);
    }

    /// Returns the same request, but with an additional header.
    ///
    /// Some headers cannot be modified and some other have a
    ///  special behavior. See the documentation above.
    #[inline]
    pub fn with_header<H>(mut self, header: H) -> Response<R>
    where
        H: Into<Header>,
    {
        self.add_header(header.into());
        self
    }

    /// Returns the same request, but with a different status code.
    #[inline]
    pub fn with_status_code<S>(mut self, code: S) -> Response<R>
    where
        S: Into<StatusCode>,
    {
        self.status_code = code.into();
        self
    }

    /// Returns the same request, but with different data.
    pub fn with_data<S>(self, reader: S, data_length: Option<usize>) -> Response<S>
    where
        S: Read,
    {
        Response {
            reader,
            headers: self.headers,
            status_code: self.status_code,
            data_length,
            chunked_threshold: self.chunked_threshold,
            file: None,
            header_block: self.header_block,
        }
    }

    /// Prints the HTTP response to a writer.
    ///
    /// This function is the one used to send the response to the client's socket.
    /// Therefore you shouldn't expect anything pretty-printed or even readable.
    ///
    /// The HTTP version and headers passed as arguments are used to
    ///  decide which features (most notably, encoding) to use.
    ///
    /// Note: does not flush the writer.
    pub fn raw_print<W: Write>(
        self,
        writer: W,
        http_version: HTTPVersion,
        request_headers: &[Header],
        do_not_send_body: bool,
        upgrade: Option<&str>,
    ) -> IoResult<()> {
        // Upstream let the request's `TE` header pick chunked framing even for a body of known
        // length; a known length is now always sent as `Content-Length`.
        let _ = request_headers;
        self.print(
            &mut Plain(writer),
            &http_version,
            do_not_send_body,
            Persistence::Default,
            upgrade,
        )
    }

    /// Writes the response: status line, headers, framing, body.
    pub(crate) fn print<S: Sink>(
        mut self,
        sink: &mut S,
        version: &HTTPVersion,
        do_not_send_body: bool,
        persistence: Persistence,
        upgrade: Option<&str>,
    ) -> IoResult<()> {
        let framing = self.framing(version, upgrade)?;

        write_status_line(sink, version, self.status_code)?;
        if !self.headers.iter().any(|h| h.field.equiv("Date")) {
            write_date(sink)?;
        }
        for header in &self.headers {
            write_header(sink, header)?;
        }
        for line in valid_lines(&self.header_block) {
            sink.write_all(line)?;
        }
        match &framing {
            Framing::Length(n) => write!(sink, "Content-Length: {}\r\n", n)?,
            Framing::Buffered(body) => write!(sink, "Content-Length: {}\r\n", body.len())?,
            Framing::Chunked => sink.write_all(b"Transfer-Encoding: chunked\r\n")?,
            Framing::None => {}
        }
        if let Some(protocol) = upgrade {
            sink.write_all(b"Connection: upgrade\r\nUpgrade: ")?;
            sink.write_all(protocol.as_bytes())?;
            sink.write_all(b"\r\n")?;
        } else {
            match persistence {
                Persistence::Default => {}
                Persistence::Close => sink.write_all(b"Connection: close\r\n")?,
                Persistence::KeepAlive => sink.write_all(b"Connection: keep-alive\r\n")?,
            }
        }
        sink.write_all(b"\r\n")?;

        if do_not_send_body {
            return Ok(());
        }
        match framing {
            Framing::None | Framing::Length(0) => Ok(()),
            Framing::Buffered(body) => sink.write_all(&body),
            Framing::Length(n) => match &self.file {
                Some((file, offset)) => sink.send_file(file, *offset, n),
                None => sink.copy_exact(&mut self.reader, n),
            },
            Framing::Chunked => {
                let mut encoder = chunked_transfer::Encoder::new(&mut *sink);
                match &self.file {
                    Some((file, offset)) => {
                        io::copy(&mut FileAt { file, pos: *offset }, &mut encoder)?
                    }
                    None => io::copy(&mut self.reader, &mut encoder)?,
                };
                Ok(())
            }
        }
    }

    /// Decides how the body is framed.
    fn framing(&mut self, version: &HTTPVersion, upgrade: Option<&str>) -> IoResult<Framing> {
        // RFC 9110 §6.4.1 and §15.4.5: no body, and so no Content-Length or
        // Transfer-Encoding, for 1xx, 204 and 304. (Upstream sent `Content-Length: 0` or a
        // chunked empty body on a 304.)
        if upgrade.is_some() || matches!(self.status_code.0, 100..=199 | 204 | 304) {
            return Ok(Framing::None);
        }
        match self.data_length {
            Some(n) if *version > (1, 0) && n >= self.chunked_threshold() => Ok(Framing::Chunked),
            Some(n) => Ok(Framing::Length(n as u64)),
            None if *version > (1, 0) => Ok(Framing::Chunked),
            None => {
                // HTTP/1.0 can't do chunked: buffer the whole body to learn its length.
                let mut buf = Vec::new();
                match self.file.take() {
                    Some((file, offset)) => FileAt {
                        file: &file,
                        pos: offset,
                    }
                    .read_to_end(&mut buf)?,
                    None => self.reader.read_to_end(&mut buf)?,
                };
                Ok(Framing::Buffered(buf))
            }
        }
    }

    /// Retrieves the current value of the `Response` status code
    pub fn status_code(&self) -> StatusCode {
        self.status_code
    }

    /// Retrieves the current value of the `Response` data length
    pub fn data_length(&self) -> Option<usize> {
        self.data_length
    }

    /// Retrieves the current list of `Response` headers
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }
}
impl<R> Response<R>
where
    R: Read + Send + 'static,
{
    /// Turns this response into a `Response<Box<Read + Send>>`.
    pub fn boxed(self) -> ResponseBox {
        Response {
            reader: Box::new(self.reader) as Box<dyn Read + Send>,
            status_code: self.status_code,
            headers: self.headers,
            data_length: self.data_length,
            chunked_threshold: self.chunked_threshold,
            file: self.file,
            header_block: self.header_block,
        }
    }
}

impl Response<File> {
    /// Builds a new `Response` from a `File`.
    ///
    /// The `Content-Type` will **not** be automatically detected,
    ///  you must set it yourself.
    pub fn from_file(file: File) -> Response<File> {
        let file_size = file.metadata().ok().map(|v| v.len() as usize);

        Response::new(
            StatusCode(200),
            Vec::with_capacity(0),
            file,
            file_size,
            None,
        )
    }
}

impl Response<Cursor<Vec<u8>>> {
    pub fn from_data<D>(data: D) -> Response<Cursor<Vec<u8>>>
    where
        D: Into<Vec<u8>>,
    {
        let data = data.into();
        let data_len = data.len();

        Response::new(
            StatusCode(200),
            Vec::with_capacity(0),
            Cursor::new(data),
            Some(data_len),
            None,
        )
    }

    pub fn from_string<S>(data: S) -> Response<Cursor<Vec<u8>>>
    where
        S: Into<String>,
    {
        let data = data.into();
        let data_len = data.len();

        Response::new(
            StatusCode(200),
            vec![
                Header::from_bytes(&b"Content-Type"[..], &b"text/plain; charset=UTF-8"[..])
                    .unwrap(),
            ],
            Cursor::new(data.into_bytes()),
            Some(data_len),
            None,
        )
    }
}

impl Response<io::Empty> {
    /// Builds an empty `Response` with the given status code.
    pub fn empty<S>(status_code: S) -> Response<io::Empty>
    where
        S: Into<StatusCode>,
    {
        Response::new(
            status_code.into(),
            Vec::with_capacity(0),
            io::empty(),
            Some(0),
            None,
        )
    }

    /// DEPRECATED. Use `empty` instead.
    pub fn new_empty(status_code: StatusCode) -> Response<io::Empty> {
        Response::empty(status_code)
    }

    /// Builds a `200` response whose body is `len` bytes of `file` starting at `offset` (not in
    /// upstream 0.12.0). On a connection, a body too large to share a send with the head goes
    /// out with sendfile(2), without copying it through user space; if the file turns out
    /// shorter than `len`, the connection is closed rather than the response mis-framed.
    ///
    /// The file's own offset is not used or moved. Set the status and headers as usual.
    pub fn from_file_range(file: File, offset: u64, len: u64) -> Response<io::Empty> {
        let mut response = Response::new(
            StatusCode(200),
            Vec::new(),
            io::empty(),
            Some(usize::try_from(len).unwrap_or(usize::MAX)),
            None,
        );
        response.file = Some((file, offset));
        response
    }
}

impl Clone for Response<io::Empty> {
    fn clone(&self) -> Response<io::Empty> {
        Response {
            reader: io::empty(),
            status_code: self.status_code,
            headers: self.headers.clone(),
            data_length: self.data_length,
            chunked_threshold: self.chunked_threshold,
            file: self
                .file
                .as_ref()
                .and_then(|(f, offset)| Some((f.try_clone().ok()?, *offset))),
            header_block: self.header_block.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printed(response: Response<io::Empty>) -> String {
        let mut out = Vec::new();
        response
            .raw_print(&mut out, HTTPVersion(1, 1), &[], false, None)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn header_blocks_keep_valid_lines_only() {
        let mut r = Response::empty(200);
        r.add_header_block(
            b"ETag: \"a\"\r\nX-Ok: v\tw\r\nContent-Length: 9\r\nBad Name: x\r\nX-Ctl: a\x01b\r\nNoCrlf: x\nX-Last: y\r\n",
        );
        let text = printed(r);
        assert!(
            text.contains("\r\nETag: \"a\"\r\nX-Ok: v\tw\r\nX-Last: y\r\n"),
            "{text:?}"
        );
        assert!(text.contains("Content-Length: 0\r\n"), "{text:?}");
        for dropped in ["Content-Length: 9", "Bad Name", "X-Ctl", "NoCrlf"] {
            assert!(!text.contains(dropped), "{dropped} in {text:?}");
        }
    }

    #[test]
    fn no_framing_headers_on_304_and_no_server_header() {
        let text = printed(Response::empty(304));
        assert!(
            text.starts_with("HTTP/1.1 304 Not Modified\r\nDate: "),
            "{text:?}"
        );
        assert!(!text.contains("Content-Length") && !text.contains("Transfer-Encoding"));
        assert!(!text.contains("Server:"));
    }

    #[test]
    fn known_lengths_are_never_chunked() {
        let body = vec![7u8; 100_000];
        let r = Response::new(StatusCode(200), vec![], &body[..], Some(body.len()), None);
        let mut out = Vec::new();
        r.raw_print(&mut out, HTTPVersion(1, 1), &[], false, None)
            .unwrap();
        let head = String::from_utf8_lossy(&out[..200]).into_owned();
        assert!(head.contains("Content-Length: 100000\r\n"), "{head:?}");
        assert!(!head.contains("chunked"));
    }

    #[test]
    fn a_short_body_is_an_error_not_a_short_response() {
        let r = Response::new(StatusCode(200), vec![], &b"abc"[..], Some(10), None);
        let err = r
            .raw_print(Vec::new(), HTTPVersion(1, 1), &[], false, None)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
