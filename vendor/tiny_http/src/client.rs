//! One connection: read a head, hand the request over, write the response, repeat while the
//! next request is already here; then back to the epoll set ([`crate::util::Pollers`]).
//!
//! Upstream 0.12.0 parsed requests on a connection thread and wrote responses on whichever
//! `recv()` worker took them, with channels between the two for every request. A client that
//! stopped reading, or announced a body and never sent it, then blocked a shared worker, and
//! every request paid two thread switches. Here the thread that takes a ready connection reads
//! the head, runs the handler (or waits for the `recv()` worker to answer), and writes the
//! response; a thread that must wait for its client hands its other work over first, so a slow
//! client stalls only itself and is cut off by the timeouts in [`Settings`].

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
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
    /// Waiting in the epoll set for the first byte of a request, with no thread.
    pub const IDLE: u8 = 0;
    /// A thread is reading a head.
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
    /// Names the connection in the epoll set: its slot and the slot's serial number.
    pub(crate) token: u64,
    /// Whether the connection has been added to the epoll set (then it is re-armed).
    pub(crate) watched: AtomicBool,
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
    /// Nothing more to read for now: back to the epoll set.
    Park,
    /// End of stream, an error, or the registry closed the connection.
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
        token: u64,
    ) -> Client {
        let since = core.millis();
        // The idle timeout also bounds each wait for a request body.
        stream.set_read_timeout(timeout(core.settings.idle_timeout));
        stream.set_write_timeout(timeout(core.settings.write_timeout));
        Client {
            stream,
            remote_addr,
            core,
            slot,
            token,
            watched: AtomicBool::new(false),
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

    /// Called by the registry: closes the connection if it is still in state `from`. Closing
    /// an IDLE connection makes the caller its owner, who must remove it from the registry.
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

/// Serves a connection the epoll set reported readable: its requests, as long as the next
/// one is already here; then puts it back into the set, or closes it.
pub(crate) fn serve_ready(client: Arc<Client>) {
    // Stamped first: in READING with the time it went idle, the connection would look like a
    // head arriving for ages, and be the first to go when the cap needs room.
    client.stamp();
    if !client.enter(state::IDLE, state::READING) {
        // Closed meanwhile, by whoever removed it from the registry.
        return;
    }
    /// Unregisters the connection however serving ends, a panicking handler included, unless
    /// it goes back to the epoll set.
    struct Release<'a>(Option<&'a Arc<Client>>);
    impl Drop for Release<'_> {
        fn drop(&mut self) {
            if let Some(client) = self.0 {
                client.core.registry.remove(client);
            }
        }
    }
    let mut release = Release(Some(&client));
    if serve(&client) {
        release.0 = None;
        drop(release);
        park(client);
        return;
    }
    drop(release);
    // Dropping the last reference closes the socket; if something else still holds one (a
    // handler keeping an upgraded stream), end the connection for the peer now.
    if Arc::strong_count(&client) > 1 {
        let _ = client.stream.shutdown(Shutdown::Both);
    }
}

/// Returns the connection, idle, to the epoll set. From the moment it is IDLE the registry
/// may close it, and once it is back in the set any poller may take it.
fn park(client: Arc<Client>) {
    client.stamp();
    let parked = client
        .state
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |st| {
            (st != state::CLOSED).then_some(state::IDLE)
        })
        .is_ok();
    if !parked {
        // Closed by the registry while READING: ours to remove.
        client.core.registry.remove(&client);
        return;
    }
    let watched = !client.core.is_closing() && client.core.pollers.watch(&client).is_ok();
    // Shutting down (`close_waiting` may have run before we were IDLE), or epoll can't take
    // it: close it, unless the registry just did.
    if !watched && client.close_if(state::IDLE) {
        client.core.registry.remove(&client);
    }
}

/// Answers requests until the connection has nothing more to read for now (true: park it) or
/// must close (false).
fn serve(client: &Arc<Client>) -> bool {
    loop {
        let head = match read_head(client) {
            Ok(head) => head,
            Err(Stop::Park) => return true,
            Err(Stop::Quietly) => return false,
            Err(Stop::Reject(err)) => {
                reject(client, err.status());
                return false;
            }
            Err(Stop::Timeout) => {
                reject(client, 408);
                return false;
            }
        };
        if !client.enter(state::READING, state::HANDLING) {
            return false;
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
        let io = client.lock_io();
        if client_asked_close || io.close || client.core.is_closing() {
            return false;
        }
        // The client has hardly had time to send its next request: don't try to read it (the
        // read would fail with EAGAIN), wait for it in the epoll set.
        if io.rbuf.data().is_empty() {
            return true;
        }
        drop(io);
        // The next request is already buffered (pipelined): its head starts now.
        client.stamp();
        if !client.enter(state::HANDLING, state::READING) {
            return false;
        }
    }
}

/// Reads and parses the next request head, in state READING (stamped when it began). With
/// nothing buffered, reads only what has arrived (nothing: [`Stop::Park`]); once part of a head
/// is here, waits for the rest up to the head timeout (and size limit).
fn read_head(client: &Client) -> Result<Head, Stop> {
    let settings = client.settings();
    let mut io = client.lock_io();
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
        if data.is_empty() {
            // Between requests: take what has arrived, if anything.
            match io
                .rbuf
                .fill(Arrived(&client.stream), settings.max_head_bytes)
            {
                Ok(0) => break Err(Stop::Quietly),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Err(Stop::Park),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break Err(Stop::Quietly),
            }
            continue;
        }
        if let Some(limit) = timeout(settings.head_timeout) {
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + limit);
            let left = deadline.saturating_duration_since(Instant::now());
            if left < Duration::from_millis(1) {
                break Err(Stop::Timeout);
            }
            client.stream.set_read_timeout(Some(left));
        }
        match io.rbuf.fill(&client.stream, settings.max_head_bytes) {
            Ok(0) => break Err(Stop::Quietly),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => break Err(Stop::Timeout),
            Err(_) => break Err(Stop::Quietly),
        }
    };
    if deadline.is_some() {
        client
            .stream
            .set_read_timeout(timeout(settings.idle_timeout));
    }
    result
}

/// Reads from the connection without waiting.
struct Arrived<'a>(&'a Connection);

impl Read for Arrived<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
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
    stream.set_read_timeout(Some(Duration::from_millis(500)));
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
        let mut head = self.buf.take_pending();
        while !head.is_empty() {
            match crate::sys::send_more(fd, head) {
                Ok(n) => head = &head[n..],
                Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                    (&*self.stream).write_all(head)?;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.stream.wait_writable()?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let (mut pos, end) = (offset, offset + len);
        while pos < end {
            let left = usize::try_from(end - pos).unwrap_or(usize::MAX);
            match crate::sys::sendfile(fd, file, &mut pos, left) {
                Ok(0) => return Err(short_body()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.stream.wait_writable()?,
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
