//! One connection, served on one thread: read a head, hand the request over, repeat.
//!
//! Upstream 0.12.0 parsed requests on a connection thread and wrote responses on whichever
//! `recv()` worker took them, with channels between the two for every request. A client that
//! stopped reading, or announced a body and never sent it, then blocked a shared worker, and
//! every request paid two thread switches. Here the connection's own thread reads the head,
//! runs the handler (or waits for the `recv()` worker to answer), and writes the response, so a
//! slow client stalls only itself and is cut off by the timeouts in [`Settings`].

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::connection::Connection;
use crate::core::Core;
use crate::head::{self, Framing, Head, HeadError};
use crate::response::Sink;
use crate::settings::{timeout, Rejected, Settings};
use crate::util::{ReadBuf, WriteBuf};
use crate::Request;

/// Where a connection is in its life; read by the registry to pick connections to close.
pub(crate) mod state {
    /// Waiting for the first byte of a request.
    pub const IDLE: u8 = 0;
    /// Part of a head has arrived.
    pub const READING: u8 = 1;
    /// A request is being handled.
    pub const HANDLING: u8 = 2;
    /// Closed by the registry (eviction or shutdown); the thread stops at its next step.
    pub const CLOSED: u8 = 3;
}

/// A connection, shared between its thread, the request being handled and the registry.
pub(crate) struct Client {
    pub(crate) stream: Connection,
    pub(crate) remote_addr: Option<SocketAddr>,
    pub(crate) core: Arc<Core>,
    pub(crate) slot: usize,
    io: Mutex<Io>,
    state: AtomicU8,
    /// When the current state began, in milliseconds since the server started; in READING,
    /// when the head's first byte arrived.
    since: AtomicU64,
}

/// The buffers and the state of the exchange in progress.
#[derive(Default)]
pub(crate) struct Io {
    pub(crate) rbuf: ReadBuf,
    pub(crate) wbuf: WriteBuf,
    /// What is left of the current request's body.
    pub(crate) body: BodyLeft,
    /// The connection closes after the current exchange.
    pub(crate) close: bool,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyLeft {
    #[default]
    Nothing,
    Bytes(u64),
    /// A chunked body not read to its end.
    Chunked,
}

/// Why the loop stops reading.
enum Stop {
    /// End of stream, an idle timeout, an error, or the registry closed the connection.
    Quietly,
    /// A head we refuse: answer with its status, then close.
    Reject(HeadError),
    /// The head didn't arrive within the head timeout: 408, then close.
    Timeout,
}

impl Client {
    pub(crate) fn new(
        stream: Connection,
        remote_addr: Option<SocketAddr>,
        core: Arc<Core>,
        slot: usize,
    ) -> Client {
        let since = core.millis();
        Client {
            stream,
            remote_addr,
            core,
            slot,
            io: Mutex::new(Io::default()),
            state: AtomicU8::new(state::IDLE),
            since: AtomicU64::new(since),
        }
    }

    pub(crate) fn lock_io(&self) -> MutexGuard<'_, Io> {
        // A handler that panicked mid-response leaves the buffers in some state; the
        // connection is closed after it anyway, so a poisoned lock needs no special care.
        self.io.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn state(&self) -> (u8, u64) {
        (
            self.state.load(Ordering::SeqCst),
            self.since.load(Ordering::Relaxed),
        )
    }

    /// Moves from `from` to `to`; fails if the registry closed the connection meanwhile.
    fn enter(&self, from: u8, to: u8) -> bool {
        self.state
            .compare_exchange(from, to, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Time since the current head's first byte, to the millisecond.
    fn head_elapsed(&self) -> Duration {
        let since = self.since.load(Ordering::Relaxed);
        Duration::from_millis(self.core.millis().saturating_sub(since))
    }

    /// Stamps the start of a state the registry looks at the age of (IDLE, READING).
    fn stamp(&self) {
        self.since.store(self.core.millis(), Ordering::Relaxed);
    }

    /// Called by the registry: closes the connection if it is still in state `from`.
    pub(crate) fn close_if(&self, from: u8) -> bool {
        let closed = self
            .state
            .compare_exchange(from, state::CLOSED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if closed {
            // Wakes the thread out of its blocking read.
            let _ = self.stream.shutdown(Shutdown::Both);
        }
        closed
    }

    fn settings(&self) -> &Settings {
        &self.core.settings
    }

    /// Sends an interim `100 Continue`, for a handler about to read the body.
    pub(crate) fn send_continue(&self) -> io::Result<()> {
        let mut io = self.lock_io();
        io.wbuf
            .write_to(b"HTTP/1.1 100 Continue\r\n\r\n", &self.stream)?;
        io.wbuf.flush_to(&self.stream)
    }

    /// Whether the connection must close after the response being written: the client asked,
    /// the server is shutting down, or the body wasn't read (it could hold anything, and
    /// draining it on the client's schedule would tie up this thread).
    pub(crate) fn must_close(&self, io: &Io, client_asked: bool) -> bool {
        client_asked || io.close || io.body != BodyLeft::Nothing || self.core.is_closing()
    }
}

/// Runs a connection until it closes. `dispatch` answers each request on this thread.
pub(crate) fn run(client: Arc<Client>) {
    /// Unregisters the connection however `serve` ends, a panicking handler included.
    struct Release<'a>(&'a Client);
    impl Drop for Release<'_> {
        fn drop(&mut self) {
            self.0.core.registry.remove(self.0.slot);
        }
    }
    let release = Release(&client);
    let settings = client.settings();
    let configured = client.stream.configure(
        timeout(settings.idle_timeout),
        timeout(settings.write_timeout),
        client.core.inherited_options,
    );
    if configured.is_ok() {
        serve(&client);
    }
    drop(release);
    // Dropping the last reference closes the socket; if something else still holds one (a
    // handler keeping an upgraded stream), end the connection for the peer now.
    if Arc::strong_count(&client) > 1 {
        let _ = client.stream.shutdown(Shutdown::Both);
    }
}

fn serve(client: &Arc<Client>) {
    loop {
        let head = match read_head(client) {
            Ok(head) => head,
            Err(Stop::Quietly) => return,
            Err(Stop::Reject(err)) => return reject(client, err.status()),
            Err(Stop::Timeout) => return reject(client, 408),
        };
        if !client.enter(state::READING, state::HANDLING) {
            return;
        }
        {
            let mut io = client.lock_io();
            io.body = match head.framing {
                Framing::None => BodyLeft::Nothing,
                Framing::Length(n) => BodyLeft::Bytes(n),
                Framing::Chunked => BodyLeft::Chunked,
            };
        }
        let client_asked_close = head.close;
        client
            .core
            .dispatch(Request::from_client(head, Arc::clone(client)));
        if client_asked_close || client.lock_io().close || client.core.is_closing() {
            return;
        }
    }
}

/// Reads and parses the next request head, applying the idle timeout to the wait for its first
/// byte and the head timeout (and size limit) to the rest.
fn read_head(client: &Client) -> Result<Head, Stop> {
    let settings = client.settings();
    let mut io = client.lock_io();
    // Pipelined bytes may already be here: then we go on READING without waiting idle.
    if !io.rbuf.data().is_empty() {
        client.stamp();
        if !client.enter(state::HANDLING, state::READING) {
            return Err(Stop::Quietly);
        }
    }
    let mut scanned = 0;
    let mut deadline: Option<Instant> = None;
    let result = loop {
        if scanned == 0 {
            let skip = head::leading_empty_lines(io.rbuf.data());
            io.rbuf.consume(skip);
        }
        let data = io.rbuf.data();
        if let Some(end) = head::find_end(data, scanned) {
            match head::parse(&data[..end], settings.max_headers) {
                Ok(head) => {
                    io.rbuf.consume(end);
                    break Ok(head);
                }
                // Left in the buffer for the rejection's report.
                Err(err) => break Err(Stop::Reject(err)),
            }
        }
        if data.len() >= settings.max_head_bytes {
            let line_ended = data.contains(&b'\n');
            break Err(Stop::Reject(if line_ended {
                HeadError::TooLarge
            } else {
                HeadError::UriTooLong
            }));
        }
        if !data.contains(&b'\n') && head::hopeless_start(data) {
            break Err(Stop::Reject(HeadError::Bad("not an HTTP/1 request")));
        }
        scanned = data.len().saturating_sub(3);
        let partial = !data.is_empty();
        if partial {
            if let Some(limit) = timeout(settings.head_timeout) {
                let deadline = *deadline.get_or_insert_with(|| Instant::now() + limit);
                let left = deadline.saturating_duration_since(Instant::now());
                if left < Duration::from_millis(1) {
                    break Err(Stop::Timeout);
                }
                if client.stream.set_read_timeout(Some(left)).is_err() {
                    break Err(Stop::Quietly);
                }
            }
        } else {
            // Waiting for a new request: the registry may now close us to make room or to
            // shut down; `swap` tells whether it already did.
            client.stamp();
            let previous = client.state.swap(state::IDLE, Ordering::SeqCst);
            if previous == state::CLOSED || client.core.is_closing() {
                break Err(Stop::Quietly);
            }
        }
        match io.rbuf.fill(&client.stream, settings.max_head_bytes) {
            Ok(0) => break Err(Stop::Quietly),
            Ok(_) if partial => {}
            Ok(_) => {
                client.stamp();
                if !client.enter(state::IDLE, state::READING) {
                    break Err(Stop::Quietly);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) && partial => break Err(Stop::Timeout),
            Err(_) => break Err(Stop::Quietly),
        }
    };
    if deadline.is_some() {
        let _ = client
            .stream
            .set_read_timeout(timeout(settings.idle_timeout));
    }
    result
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Answers a request we refuse with `status`, then closes gently: stop writing, read what the
/// client is still sending for a moment, so that the close doesn't reset the connection and
/// destroy the response before the client has read it.
fn reject(client: &Client, status: u16) {
    let mut io = client.lock_io();
    let settings = client.settings();
    let (response, body_bytes) = crate::response::error_response(status, &settings.error_headers);
    let sent = io.wbuf.write_to(&response, &client.stream).is_ok()
        && io.wbuf.flush_to(&client.stream).is_ok();
    if let Some(hook) = &settings.on_reject {
        let data = io.rbuf.data();
        let line_end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
        let line = &data[..line_end.min(1024)];
        hook(&Rejected {
            remote_addr: client.remote_addr,
            request_line: line.strip_suffix(b"\r").unwrap_or(line),
            status,
            body_bytes,
            elapsed: client.head_elapsed(),
        });
    }
    drop(io);
    if sent {
        linger(&client.stream);
    }
}

/// Stops sending, then discards what the peer still sends, for at most half a second and
/// 256 KiB, so that closing doesn't answer unread data with a reset.
pub(crate) fn linger(stream: &Connection) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut sink = [0u8; 4096];
    let mut budget = 256 * 1024;
    let started = Instant::now();
    while budget > 0 && started.elapsed() < Duration::from_millis(500) {
        match (&*stream).read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => budget -= n.min(budget),
        }
    }
}

/// The buffered writer responses go through.
pub(crate) struct Out<'a> {
    pub(crate) buf: &'a mut WriteBuf,
    pub(crate) stream: &'a Connection,
}

impl Write for Out<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.write_to(data, self.stream)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.buf.flush_to(self.stream)
    }
}

fn short_body() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "response body shorter than its Content-Length",
    )
}

impl Sink for Out<'_> {
    /// Sends exactly `len` bytes from `reader`; a reader that ends early is an error (the
    /// response would be mis-framed), and bytes past `len` are never read.
    fn copy_exact<Rd: Read>(&mut self, mut reader: Rd, len: u64) -> io::Result<()> {
        let mut left = len;
        while left > 0 {
            if self.buf.is_full() {
                self.buf.flush_to(self.stream)?;
            }
            let spare = self.buf.spare();
            let want = spare.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = match reader.read(&mut spare[..want]) {
                Ok(0) => return Err(short_body()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.buf.advance(n);
            left -= n as u64;
        }
        Ok(())
    }

    /// Sends `len` bytes of `file` from `offset`: a body that fits in the buffer after the head
    /// goes out with it in one send; a larger one with sendfile(2).
    fn send_file(&mut self, file: &File, offset: u64, len: u64) -> io::Result<()> {
        if len <= self.buf.spare().len() as u64 {
            return self.copy_exact(FileAt { file, pos: offset }, len);
        }
        let fd = self.stream.raw_fd();
        let head = self.buf.take_pending();
        match crate::sys::send_all_more(fd, head) {
            Err(e) if e.kind() == io::ErrorKind::Unsupported => (&*self.stream).write_all(head)?,
            result => result?,
        }
        let (mut pos, end) = (offset, offset + len);
        while pos < end {
            let left = usize::try_from(end - pos).unwrap_or(usize::MAX);
            match crate::sys::sendfile(fd, file, &mut pos, left) {
                Ok(0) => return Err(short_body()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if pos == offset
                        && matches!(
                            e.kind(),
                            io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
                        ) =>
                {
                    // The file system can't sendfile: copy through the buffer instead.
                    return self.copy_exact(FileAt { file, pos: offset }, len);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Reads a file from a position with pread(2), leaving the file's own offset alone.
pub(crate) struct FileAt<'a> {
    pub(crate) file: &'a File,
    pub(crate) pos: u64,
}

impl Read for FileAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// The request body, read from the connection's buffer and then its socket, never past the
/// body's end.
pub(crate) struct BodyReader {
    client: Arc<Client>,
    chunks: Option<chunked_transfer::Decoder<RawReader>>,
}

impl BodyReader {
    pub(crate) fn new(client: Arc<Client>) -> BodyReader {
        let chunked = client.lock_io().body == BodyLeft::Chunked;
        let chunks = if chunked {
            Some(chunked_transfer::Decoder::new(RawReader {
                client: Arc::clone(&client),
            }))
        } else {
            None
        };
        BodyReader { client, chunks }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(chunks) = &mut self.chunks {
            let n = chunks.read(buf)?;
            if n == 0 && !buf.is_empty() {
                self.client.lock_io().body = BodyLeft::Nothing;
            }
            return Ok(n);
        }
        let mut io = self.client.lock_io();
        let left = match io.body {
            BodyLeft::Bytes(n) => n,
            _ => return Ok(0),
        };
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match io.rbuf.take_into(&mut buf[..want]) {
            0 => (&self.client.stream).read(&mut buf[..want])?,
            n => n,
        };
        if n == 0 && want > 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the end of the request body",
            ));
        }
        io.body = match left - n as u64 {
            0 => BodyLeft::Nothing,
            rest => BodyLeft::Bytes(rest),
        };
        Ok(n)
    }
}

/// The connection's bytes as they come, for the chunked decoder and for upgraded connections.
pub(crate) struct RawReader {
    pub(crate) client: Arc<Client>,
}

impl Read for RawReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut io = self.client.lock_io();
        match io.rbuf.take_into(buf) {
            0 => (&self.client.stream).read(buf),
            n => Ok(n),
        }
    }
}

/// Raw writes to the connection, for `Request::into_writer` and upgrades. The connection closes
/// once the request is done with, since we can't know how the handler framed its bytes.
pub(crate) struct RawWriter {
    pub(crate) client: Arc<Client>,
}

impl Write for RawWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut io = self.client.lock_io();
        io.close = true;
        io.wbuf.write_to(data, &self.client.stream)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.client.lock_io().wbuf.flush_to(&self.client.stream)
    }
}

impl Drop for RawWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
