//! One connection: read a head, run the handler, send the response, repeat while the next
//! request is already here; then back to the epoll set ([`crate::util::Pollers`]), to wait for
//! the next request or, if the client isn't taking the response, for room to send the rest.
//!
//! Upstream 0.12.0 parsed requests on a connection thread and wrote responses on whichever
//! `recv()` worker took them, with channels between the two for every request; a client that
//! stopped reading blocked a shared worker. Here the thread that takes a ready connection
//! reads the head, runs the handler and sends the response; what the socket can't take at
//! once waits with the connection in the epoll set, holding no thread.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::connection::Connection;
use crate::core::Core;
use crate::head::{self, Field, Framing, Head, HeadError};
use crate::response::{write_head, Body, Persistence, Response};
use crate::settings::{timeout, Rejected, Settings};
use crate::sys::Interest;
use crate::util::{ReadBuf, WriteBuf};
use crate::write::Outgoing;
use crate::Request;

/// Where a connection is in its life. The registry reads it to choose connections to close,
/// and each step is taken with a compare-and-swap, so that the registry closing a connection
/// and a thread taking it can never both win.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting in the epoll set for the first byte of a request, with no thread.
    Idle = 0,
    /// A thread is reading a head.
    Reading = 1,
    /// The handler is running.
    Handling = 2,
    /// A thread is sending the rest of a response.
    Writing = 3,
    /// Waiting in the epoll set for room to send the rest of a response, with no thread.
    WaitingToWrite = 4,
    /// Closed by the registry (eviction, timeout, shutdown); a thread stops at its next step.
    Closed = 5,
}

impl Phase {
    fn from_u8(n: u8) -> Phase {
        match n {
            0 => Phase::Idle,
            1 => Phase::Reading,
            2 => Phase::Handling,
            3 => Phase::Writing,
            4 => Phase::WaitingToWrite,
            _ => Phase::Closed,
        }
    }

    /// Phases in which the connection has no thread: whoever closes it must unregister it.
    pub(crate) fn is_threadless(self) -> bool {
        matches!(self, Phase::Idle | Phase::WaitingToWrite)
    }
}

/// A [`Phase`] shared between threads.
pub(crate) struct AtomicPhase(AtomicU8);

impl AtomicPhase {
    fn new(phase: Phase) -> AtomicPhase {
        AtomicPhase(AtomicU8::new(phase as u8))
    }

    pub(crate) fn load(&self) -> Phase {
        Phase::from_u8(self.0.load(Ordering::SeqCst))
    }

    /// Moves from `from` to `to`; false if the phase was something else (closed meanwhile).
    pub(crate) fn step(&self, from: Phase, to: Phase) -> bool {
        self.0
            .compare_exchange(from as u8, to as u8, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }
}

/// A connection, shared between the thread serving it, the request being handled and the
/// registry.
pub(crate) struct Client {
    pub(crate) stream: Connection,
    pub(crate) remote_addr: SocketAddr,
    pub(crate) core: Arc<Core>,
    pub(crate) slot: usize,
    /// Names the connection in the epoll set: its slot and the slot's serial number.
    pub(crate) token: u64,
    /// How the connection is registered in the epoll set (see [`crate::util::Pollers`]);
    /// changed only under this lock, by a thread that has seen the phase it expects under it.
    /// `None` until it is added.
    pub(crate) registered: Mutex<Option<Interest>>,
    /// Bytes arrived while a thread was serving the connection: the event they made found it
    /// busy, so the thread looks again once the connection is idle.
    pub(crate) kicked: AtomicBool,
    io: Mutex<Io>,
    phase: AtomicPhase,
    /// When the current phase began, in milliseconds since the server started: in READING,
    /// when the head's first byte arrived; in WAITING_TO_WRITE, when bytes last went out.
    since: AtomicU64,
}

/// The buffers and the state of the exchange in progress.
#[derive(Default)]
pub(crate) struct Io {
    pub(crate) rbuf: ReadBuf,
    /// The header fields of the current request (lent to it; kept for the next one).
    pub(crate) fields: Vec<Field>,
    pub(crate) wbuf: WriteBuf,
    /// The response being sent, when the socket couldn't take all of it yet.
    pub(crate) outgoing: Option<Outgoing>,
    /// The current request came with a body, which is never read: the connection closes
    /// after the response (the body could hold anything, even what looks like a request).
    pub(crate) unread_body: bool,
    /// The handler answered the current request.
    pub(crate) responded: bool,
    /// The connection closes after the current exchange.
    pub(crate) close: bool,
}

/// Why reading a head stopped.
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

/// What the thread does with the connection once it stops serving it.
enum End {
    /// Back to the epoll set, to wait for the next request.
    Park,
    /// Left in the epoll set waiting for room to write; no longer this thread's.
    Detached,
    /// Close it.
    Close,
}

impl Client {
    pub(crate) fn new(
        stream: Connection,
        remote_addr: SocketAddr,
        core: Arc<Core>,
        slot: usize,
        token: u64,
    ) -> Client {
        let since = core.millis();
        stream.set_write_timeout(timeout(core.settings.write_timeout));
        Client {
            stream,
            remote_addr,
            core,
            slot,
            token,
            registered: Mutex::new(None),
            kicked: AtomicBool::new(false),
            io: Mutex::new(Io::default()),
            phase: AtomicPhase::new(Phase::Idle),
            since: AtomicU64::new(since),
        }
    }

    pub(crate) fn lock_io(&self) -> MutexGuard<'_, Io> {
        // A handler that panicked mid-response leaves the buffers in some state; the
        // connection is closed after it anyway, so a poisoned lock needs no special care.
        self.io.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The phase, and when it began.
    pub(crate) fn phase(&self) -> (Phase, u64) {
        (self.phase.load(), self.since.load(Ordering::Relaxed))
    }

    /// Time since the current head's first byte, to a timer tick (see [`Core::millis`]).
    fn head_elapsed(&self) -> Duration {
        let since = self.since.load(Ordering::Relaxed);
        Duration::from_millis(self.core.millis().saturating_sub(since))
    }

    /// Stamps the start of a phase the registry looks at the age of.
    pub(crate) fn stamp(&self) {
        self.since.store(self.core.millis(), Ordering::Relaxed);
    }

    /// Called by the registry: closes the connection if it is still in phase `from`. Closing
    /// a threadless connection makes the caller its owner, who must unregister it.
    pub(crate) fn close_if(&self, from: Phase) -> bool {
        let closed = self.phase.step(from, Phase::Closed);
        if closed {
            // Wakes a thread out of a blocking read.
            let _ = self.stream.shutdown(Shutdown::Both);
        }
        closed
    }

    fn settings(&self) -> &Settings {
        &self.core.settings
    }

    /// Whether the connection must close after the response being written: the client asked,
    /// the server is shutting down, or the request's body wasn't read.
    fn must_close(&self, io: &Io, client_asked: bool) -> bool {
        client_asked || io.close || io.unread_body || self.core.is_closing()
    }

    /// Takes back the buffers the request `head` borrowed, and sends `response` to it; what
    /// the socket can't take now is kept to be sent when it can.
    pub(crate) fn respond(&self, head: &Head, lent: Lent, mut response: Response) {
        let mut io = self.lock_io();
        let Lent { mut buf, fields } = lent;
        buf.consume(head.len);
        io.rbuf = buf;
        io.fields = fields;
        io.responded = true;
        let close = self.must_close(&io, head.close);
        let persistence = if close {
            Persistence::Close
        } else if head.keep_alive_1_0 {
            Persistence::KeepAlive
        } else {
            Persistence::Default
        };
        io.close |= close;
        let framed = !response.has_no_framing();
        let body = std::mem::replace(&mut response.body, Body::Empty);
        let body_len = framed.then(|| body.len());
        let io = &mut *io;
        let pending_before = io.wbuf.pending().len();
        write_head(
            io.wbuf.vec(),
            head.version,
            response.status,
            &response.headers,
            body_len,
            persistence,
        );
        crate::response::recycle_header_buffer(std::mem::take(&mut response.headers));
        let head_len = (io.wbuf.pending().len() - pending_before) as u64;
        let send_body = framed && head.method != crate::Method::Head;
        let body = if send_body { body } else { Body::Empty };
        let mut out = Outgoing::new(body, head_len, response.on_complete.take());
        match out.pump(&mut io.wbuf, &self.stream) {
            Ok(true) => out.finish(true),
            Ok(false) => io.outgoing = Some(out),
            // The client went away or the file shrank: nothing more can be sent.
            Err(_) => {
                io.close = true;
                out.finish(false);
            }
        }
    }
}

/// Serves a connection the epoll set reported ready: the next request of an idle one, or the
/// rest of the response of one that was waiting for room.
pub(crate) fn serve_ready(client: Arc<Client>) {
    let start = match client.phase.load() {
        Phase::Idle if take_idle(&client) => Phase::Reading,
        Phase::WaitingToWrite => {
            // The event may be one of bytes that came in, not of room to write: until the
            // thread that made the connection wait has registered it for writing, it is still
            // registered for reading. Flagged, so that whoever puts it back to wait for its
            // next request renews that registration, which reports any such bytes.
            client.kicked.store(true, Ordering::SeqCst);
            if !client.phase.step(Phase::WaitingToWrite, Phase::Writing) {
                return;
            }
            Phase::Writing
        }
        // Bytes came while another thread serves the connection (the registration for the
        // next request is edge-triggered): flagged for that thread, which looks again once the
        // connection is idle. If it is idle already, that thread may have looked before the
        // flag was up, so it is served here. (Not stamped unless idle: a head arriving byte by
        // byte must keep the age of its first byte.)
        Phase::Reading | Phase::Handling | Phase::Writing => {
            client.kicked.store(true, Ordering::SeqCst);
            if client.phase.load() != Phase::Idle || !take_idle(&client) {
                return;
            }
            Phase::Reading
        }
        // Closed meanwhile by whoever unregistered it, or an event from a former phase.
        _ => return,
    };
    /// Unregisters the connection however serving ends, a panicking handler included, unless
    /// it stays in the epoll set.
    struct Release<'a>(Option<&'a Arc<Client>>);
    impl Drop for Release<'_> {
        fn drop(&mut self) {
            if let Some(client) = self.0 {
                client.core.registry.remove(client);
            }
        }
    }
    let mut release = Release(Some(&client));
    let end = serve(&client, start);
    if !matches!(end, End::Close) {
        release.0 = None;
    }
    drop(release);
    match end {
        End::Park => park(client),
        End::Detached => {}
        End::Close => {
            // Dropping the last reference closes the socket; if something still holds one
            // (a request a handler kept), end the connection for the peer now.
            if Arc::strong_count(&client) > 1 {
                let _ = client.stream.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Takes an idle connection to read its next request; false if another thread took it or it
/// was closed meanwhile.
fn take_idle(client: &Client) -> bool {
    // Stamped first: in READING with the time it went idle, the connection would look like a
    // head arriving for ages, and be the first to go when the cap needs room.
    client.stamp();
    client.phase.step(Phase::Idle, Phase::Reading)
}

/// Returns the connection, idle, to the epoll set. From the moment it is IDLE the registry
/// may close it, and once it is back in the set any poller may take it.
fn park(client: Arc<Client>) {
    {
        let mut io = client.lock_io();
        io.rbuf.release();
        io.wbuf.release();
    }
    client.stamp();
    if !client.phase.step(Phase::Reading, Phase::Idle) {
        // Closed by the registry while READING: ours to remove.
        client.core.registry.remove(&client);
        return;
    }
    let watched = !client.core.is_closing() && client.core.pollers.watch(&client).is_ok();
    // Shutting down (`close_waiting` may have run before we were IDLE), or epoll can't take
    // it: close it, unless the registry just did.
    if !watched && client.close_if(Phase::Idle) {
        client.core.registry.remove(&client);
    }
}

/// Leaves the connection in the epoll set until the socket can take more of the response.
fn wait_to_write(client: &Arc<Client>, from: Phase) -> End {
    client.stamp();
    if !client.phase.step(from, Phase::WaitingToWrite) {
        return End::Close;
    }
    if client.core.pollers.watch_writable(client).is_err() && client.close_if(Phase::WaitingToWrite)
    {
        return End::Close;
    }
    End::Detached
}

/// Serves the connection from phase `start` (READING or WRITING) until it has nothing more
/// to do for now.
fn serve(client: &Arc<Client>, start: Phase) -> End {
    if start == Phase::Writing {
        if !resume_writing(client) {
            return wait_to_write(client, Phase::Writing);
        }
        if let Some(end) = after_response(client, Phase::Writing) {
            return end;
        }
    }
    loop {
        let head = match read_head(client) {
            Ok(head) => head,
            Err(Stop::Park) => return End::Park,
            Err(Stop::Quietly) => return End::Close,
            Err(Stop::Reject(err)) => {
                reject(client, err.status());
                return End::Close;
            }
            Err(Stop::Timeout) => {
                reject(client, 408);
                return End::Close;
            }
        };
        if !client.phase.step(Phase::Reading, Phase::Handling) || !handle(client, head) {
            return End::Close;
        }
        if client.lock_io().outgoing.is_some() {
            return wait_to_write(client, Phase::Handling);
        }
        if let Some(end) = after_response(client, Phase::Handling) {
            return end;
        }
    }
}

/// Runs the handler on the request whose head was just read; false if it kept the request
/// without answering.
fn handle(client: &Arc<Client>, head: Head) -> bool {
    let lent = {
        let mut io = client.lock_io();
        io.unread_body = head.framing != Framing::None;
        io.responded = false;
        Lent {
            buf: std::mem::take(&mut io.rbuf),
            fields: std::mem::take(&mut io.fields),
        }
    };
    client
        .core
        .dispatch(Request::new(head, lent, Arc::clone(client)));
    let responded = client.lock_io().responded;
    if !responded {
        client.settings().warn(crate::Warning::Internal(
            "a handler kept a request without answering it; its connection was closed".into(),
        ));
    }
    responded
}

/// After a response went out whole: `None` to read the next request (already buffered), or
/// how to end.
fn after_response(client: &Client, from: Phase) -> Option<End> {
    let io = client.lock_io();
    if io.close || client.core.is_closing() {
        return Some(End::Close);
    }
    // The client has hardly had time to send its next request: don't try to read it (the
    // read would fail with EAGAIN), wait for it in the epoll set.
    if io.rbuf.data().is_empty() {
        drop(io);
        return if client.phase.step(from, Phase::Reading) {
            Some(End::Park)
        } else {
            Some(End::Close)
        };
    }
    drop(io);
    // The next request is already buffered (pipelined): its head starts now.
    client.stamp();
    if !client.phase.step(from, Phase::Reading) {
        return Some(End::Close);
    }
    None
}

/// Sends more of the pending response; false if the socket is full again.
fn resume_writing(client: &Client) -> bool {
    let mut io = client.lock_io();
    let io = &mut *io;
    let Some(out) = io.outgoing.as_mut() else {
        return true;
    };
    let result = out.pump(&mut io.wbuf, &client.stream);
    match result {
        Ok(false) => false,
        Ok(true) => {
            if let Some(out) = io.outgoing.take() {
                out.finish(true);
            }
            true
        }
        Err(_) => {
            io.close = true;
            // Dropping it tells its hook the response was cut off.
            io.outgoing = None;
            true
        }
    }
}

/// Reads and parses the next request head, in phase READING (stamped when it began). With
/// nothing buffered, reads only what has arrived (nothing: [`Stop::Park`]); once part of a head
/// is here, waits for the rest up to the head timeout (and size limit).
fn read_head(client: &Client) -> Result<Head, Stop> {
    let settings = client.settings();
    let mut io = client.lock_io();
    let io = &mut *io;
    let mut scanned = 0;
    let mut deadline: Option<Instant> = None;
    loop {
        if scanned == 0 {
            let skip = head::leading_empty_lines(io.rbuf.data());
            io.rbuf.consume(skip);
        }
        let data = io.rbuf.data();
        if let Some(end) = head::find_end(data, scanned) {
            return match head::parse(&data[..end], settings.max_headers, &mut io.fields) {
                Ok(head) => Ok(head),
                // Left in the buffer for the rejection's report.
                Err(err) => Err(Stop::Reject(err)),
            };
        }
        if data.len() >= settings.max_head_bytes {
            let line_ended = data.contains(&b'\n');
            return Err(Stop::Reject(if line_ended {
                HeadError::TooLarge
            } else {
                HeadError::UriTooLong
            }));
        }
        if !data.contains(&b'\n') && head::hopeless_start(data) {
            return Err(Stop::Reject(HeadError::Bad("not an HTTP/1 request")));
        }
        scanned = data.len().saturating_sub(3);
        let filled = if data.is_empty() {
            // Between requests: take what has arrived, if anything.
            match io
                .rbuf
                .fill(Arrived(&client.stream), settings.max_head_bytes)
            {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(Stop::Park),
                other => other,
            }
        } else {
            if let Some(limit) = timeout(settings.head_timeout) {
                let deadline = *deadline.get_or_insert_with(|| Instant::now() + limit);
                let left = deadline.saturating_duration_since(Instant::now());
                if left < Duration::from_millis(1) {
                    return Err(Stop::Timeout);
                }
                client.stream.set_read_timeout(Some(left));
            }
            io.rbuf
                .fill(Waiting(&client.stream), settings.max_head_bytes)
        };
        match filled {
            Ok(0) => return Err(Stop::Quietly),
            // A read that filled the buffer may have left bytes in the socket, which no event
            // will report again (the registration is edge-triggered): flagged, so that the
            // registration is renewed when the connection goes back to wait (see
            // `Pollers::watch`), and the renewal reports them.
            Ok(_) if io.rbuf.is_full() => client.kicked.store(true, Ordering::SeqCst),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(Stop::Timeout),
            Err(_) => return Err(Stop::Quietly),
        }
    }
}

/// Reads from the connection without waiting.
struct Arrived<'a>(&'a Connection);

impl Read for Arrived<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

/// Reads from the connection, waiting up to its read timeout.
struct Waiting<'a>(&'a Connection);

impl Read for Waiting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read_waiting(buf)
    }
}

/// Answers a request we refuse with `status`, then closes gently: stop writing, read what the
/// client is still sending for a moment, so that the close doesn't reset the connection and
/// destroy the response before the client has read it.
fn reject(client: &Client, status: u16) {
    let io = client.lock_io();
    let settings = client.settings();
    let (response, body_bytes) = crate::response::error_response(status, &settings.error_headers);
    let sent = client.stream.write_all_waiting(&response).is_ok();
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
        match stream.read_waiting(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => budget -= n.min(budget),
        }
    }
}

/// The connection's read buffer (the head at its start, pipelined bytes after it) and field
/// list, lent to the request being handled so that its head is never copied.
pub(crate) struct Lent {
    pub(crate) buf: ReadBuf,
    pub(crate) fields: Vec<Field>,
}
