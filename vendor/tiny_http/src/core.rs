//! What the poller threads, the accept thread and the `Server` handle share, and accepting
//! connections.

use std::io;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::{self, Client};
use crate::connection::{Connection, Listener};
use crate::settings::Settings;
use crate::util::{MessagesQueue, Pollers, Registry};
use crate::{Message, Request};

/// Who answers requests.
pub(crate) enum Dispatch {
    /// `Server::recv()` callers: the connection thread queues each request and waits until it
    /// has been answered before reading the next one.
    Queue,
    /// A handler run on the connection's own thread.
    Handler(Box<dyn Fn(Request) + Send + Sync>),
}

pub(crate) struct Core {
    pub(crate) settings: Settings,
    pub(crate) registry: Registry,
    pub(crate) messages: Arc<MessagesQueue<Message>>,
    pub(crate) pollers: Pollers,
    /// `None` once the server stops accepting.
    listener: RwLock<Option<Listener>>,
    /// The wait before the next accept after running out of descriptors or memory, in ms.
    backoff_ms: AtomicU64,
    dispatch: Dispatch,
    closing: AtomicBool,
    epoch: Instant,
    /// Accepted sockets inherit TCP_NODELAY from the listener.
    pub(crate) inherited_options: bool,
}

/// How long the accept loop keeps refusing connections because no thread can be started, with
/// no thread left to serve any, before it declares the server dead.
const SPAWN_FAILURE_GRACE: Duration = Duration::from_secs(10);

impl Core {
    pub(crate) fn new(
        settings: Settings,
        dispatch: Dispatch,
        listener: Listener,
    ) -> io::Result<Core> {
        let inherited_options = listener.set_inherited_options();
        listener.set_nonblocking()?;
        let pollers = Pollers::new(&settings, &listener)?;
        Ok(Core {
            inherited_options,
            settings,
            registry: Registry::default(),
            messages: MessagesQueue::with_capacity(8),
            pollers,
            listener: RwLock::new(Some(listener)),
            backoff_ms: AtomicU64::new(INITIAL_BACKOFF_MS),
            dispatch,
            closing: AtomicBool::new(false),
            epoch: Instant::now(),
        })
    }

    pub(crate) fn millis(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Runs `f` on the listening socket unless it is closed, which it can't be meanwhile.
    pub(crate) fn with_listener(&self, f: impl FnOnce(&Listener)) {
        if let Some(listener) = &*self.listener.read().unwrap_or_else(|e| e.into_inner()) {
            f(listener);
        }
    }

    /// Stops accepting: new connections are refused by the system from here on.
    pub(crate) fn start_closing(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.pollers.stop();
        self.close_listener();
    }

    fn close_listener(&self) {
        let listener = self
            .listener
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(listener);
    }

    pub(crate) fn dispatch(&self, request: Request) {
        match &self.dispatch {
            Dispatch::Handler(handle) => handle(request),
            Dispatch::Queue => {
                let (done, answered) = mpsc::channel();
                self.messages
                    .push(Message::NewRequest(request.with_notify_sender(done)));
                crate::util::will_block();
                // Err means the request was dropped unanswered; it sent its 500 already.
                let _ = answered.recv();
            }
        }
    }

    /// Reports an error that stops the server to `Server::recv()` callers.
    fn fail(&self, err: io::Error) {
        log::error!("stopped accepting connections: {}", err);
        self.messages.push(Message::Error(err));
    }
}

const INITIAL_BACKOFF_MS: u64 = 5;

/// What [`accept_one`] did.
pub(crate) enum Accepted {
    /// A new connection, registered (IDLE) but not in the epoll set yet.
    Client(Arc<Client>),
    /// Nothing to serve: no connection was waiting, or one was refused or failed on its own.
    Nothing,
    /// Out of descriptors or memory: an idle connection was closed; wait this long.
    Exhausted(Duration),
    /// No thread can take connections and none can be started: the connection got `503`.
    NoThread(io::Error),
    /// The listener is gone (shutting down) or failed for good (reported to `recv()`).
    Stopped,
}

/// Accepts one waiting connection, without waiting, and admits it.
///
/// Upstream's accept loop ended at the first `accept()` error, so a moment of EMFILE (too
/// many open files) left the process up but deaf forever. Here running out of descriptors or
/// memory closes an idle connection and backs off (5 ms doubling to 1 s), errors that concern
/// one connection (ECONNABORTED, EPROTO, EPERM from a firewall, ...) are passed over, and only
/// errors that mean the listener itself is unusable stop accepting, reported through
/// `Server::recv()` so the program can exit and be restarted. Past the connection cap, the
/// connection idle the longest is closed to make room, or the new one gets `503`.
pub(crate) fn accept_one(core: &Arc<Core>) -> Accepted {
    let accepted = match &*core.listener.read().unwrap_or_else(|e| e.into_inner()) {
        Some(listener) => listener.accept(),
        None => return Accepted::Stopped,
    };
    let (conn, addr) = match accepted {
        Ok(accepted) => {
            core.backoff_ms.store(INITIAL_BACKOFF_MS, Ordering::Relaxed);
            accepted
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Accepted::Nothing,
        Err(e) if crate::sys::is_fatal_accept_error(&e) => {
            // Closed, so that no other thread reports the same failure again.
            core.close_listener();
            if !core.is_closing() {
                core.fail(e);
            }
            return Accepted::Stopped;
        }
        Err(e) if crate::sys::is_resource_exhaustion(&e) => {
            let backoff = core.backoff_ms.load(Ordering::Relaxed);
            core.backoff_ms
                .store((backoff * 2).min(1000), Ordering::Relaxed);
            log::warn!("accept: {}; backing off {} ms", e, backoff);
            core.registry.evict_one(u64::MAX);
            return Accepted::Exhausted(Duration::from_millis(backoff));
        }
        Err(_) => return Accepted::Nothing,
    };
    if core.is_closing() {
        return Accepted::Stopped;
    }
    if !core.inherited_options && conn.set_nodelay().is_err() {
        return Accepted::Nothing;
    }
    if core.registry.len() >= core.settings.max_connections
        && !core.registry.evict_one(core.millis())
    {
        refuse(&conn, &core.settings);
        return Accepted::Nothing;
    }
    if let Err(err) = core.pollers.ensure_runnable(core) {
        log::warn!("cannot start a connection thread: {}", err);
        refuse(&conn, &core.settings);
        return Accepted::NoThread(err);
    }
    let client = core.registry.insert_with(|slot, token| {
        Arc::new(Client::new(conn, addr, Arc::clone(core), slot, token))
    });
    // Closing began after the check above: `close_waiting` may have run before this
    // connection was registered, and the pollers are leaving, so close it here.
    if core.is_closing() {
        if client.close_if(client::state::IDLE) {
            core.registry.remove(&client);
            refuse(&client.stream, &core.settings);
        }
        return Accepted::Stopped;
    }
    Accepted::Client(client)
}

/// The accept thread: accepts connections while no poller thread is free to (at start-up,
/// and while every thread is waiting on a client and no other can be started), so that new
/// clients get a prompt answer, a `503` if no thread can serve them. If no thread can be
/// started for 10 s while none is left to serve, it reports a fatal error through `recv()`.
pub(crate) fn accept_loop(core: Arc<Core>) {
    let mut spawn_failing_since: Option<Instant> = None;
    while !core.is_closing() {
        if !core.pollers.wait_none_runnable(Duration::from_secs(1)) {
            continue;
        }
        let ready = match &*core.listener.read().unwrap_or_else(|e| e.into_inner()) {
            Some(listener) => crate::sys::poll_one(
                listener.raw_fd(),
                libc::POLLIN,
                crate::sys::millis(Some(Duration::from_millis(50))),
            ),
            None => break,
        };
        if !matches!(ready, Ok(true)) {
            continue;
        }
        match accept_one(&core) {
            Accepted::Client(client) => {
                spawn_failing_since = None;
                if let Err(err) = core.pollers.watch(&client) {
                    log::warn!("epoll: {}", err);
                    if client.close_if(client::state::IDLE) {
                        core.registry.remove(&client);
                        refuse(&client.stream, &core.settings);
                    }
                }
            }
            Accepted::Nothing => {}
            Accepted::Exhausted(backoff) => thread::sleep(backoff),
            Accepted::NoThread(err) => {
                let since = *spawn_failing_since.get_or_insert_with(Instant::now);
                if core.pollers.threads() == 0 && since.elapsed() > SPAWN_FAILURE_GRACE {
                    core.fail(err);
                    break;
                }
            }
            Accepted::Stopped => break,
        }
    }
}

/// Answers a connection we have no room for with `503` and closes it, without ever blocking
/// the accept loop: the socket is non-blocking and its buffer is empty, so the few bytes fit.
fn refuse(conn: &Connection, settings: &Settings) {
    let mut sink = [0u8; 4096];
    // Read what the client already sent: closing with unread data would reset the connection
    // and could destroy the 503 before the client reads it.
    let _ = conn.try_read(&mut sink);
    let (response, _) = crate::response::error_response(503, &settings.error_headers);
    let _ = conn.try_write(&response);
    let _ = conn.shutdown(Shutdown::Write);
    let _ = conn.try_read(&mut sink);
}
