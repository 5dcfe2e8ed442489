//! What the poller threads, the accept thread and the `Server` handle share, and accepting
//! connections: the connection cap, the per-address limit, and running out of descriptors.

use std::io;
use std::net::{IpAddr, Shutdown, TcpListener};
use std::os::unix::io::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::{Client, Phase};
use crate::connection::Connection;
use crate::settings::{Settings, Warning};
use crate::util::{Pollers, Registry, Scope};
use crate::Request;

type Handler = Box<dyn Fn(Request) + Send + Sync>;

pub(crate) struct Core {
    pub(crate) settings: Settings,
    pub(crate) registry: Registry,
    pub(crate) pollers: Pollers,
    /// `None` once the server stops accepting.
    listener: RwLock<Option<TcpListener>>,
    /// The wait before the next accept after running out of descriptors or memory, in ms.
    backoff_ms: AtomicU64,
    handler: Handler,
    closing: AtomicBool,
    /// The coarse monotonic clock at start, in ms: what [`Core::millis`] counts from.
    epoch_ms: u64,
    /// Accepted sockets inherit TCP_NODELAY from the listener.
    inherited_options: bool,
    /// Why accepting stopped for good, for [`Core::wait_failure`].
    failure: (Mutex<Option<io::Error>>, Condvar),
}

/// How long the accept loop keeps refusing connections because no thread can be started, with
/// no thread left to serve any, before it declares the server dead.
const SPAWN_FAILURE_GRACE: Duration = Duration::from_secs(10);

const INITIAL_BACKOFF_MS: u64 = 5;

impl Core {
    pub(crate) fn new(
        settings: Settings,
        handler: Handler,
        listener: TcpListener,
    ) -> io::Result<Core> {
        let inherited_options = crate::sys::set_inherited_nodelay(listener.as_raw_fd()).is_ok();
        // HTTP clients speak first, so a connection is accepted once its request is in: then
        // the read right after `accept` finds it, where without this it found nothing for
        // nearly every new connection under load and the request came one epoll round later.
        // Measured with `Connection: close` requests (wrk -c16, server on one core): 16.3-17.3
        // to 13.3 us of CPU and 0.48 to 0.10 context switches per connection. A client that
        // connects and sends nothing holds no descriptor meanwhile; after a second the kernel
        // hands its connection over as it is, to the idle timeout. An optimisation only:
        // without it (a listener that refuses the option) connections are accepted as before.
        let _ = crate::sys::set_defer_accept(listener.as_raw_fd(), 1);
        listener.set_nonblocking(true)?;
        let pollers = Pollers::new(&settings, &listener)?;
        Ok(Core {
            inherited_options,
            settings,
            registry: Registry::default(),
            pollers,
            listener: RwLock::new(Some(listener)),
            backoff_ms: AtomicU64::new(INITIAL_BACKOFF_MS),
            handler,
            closing: AtomicBool::new(false),
            epoch_ms: crate::sys::monotonic_coarse_millis(),
            failure: (Mutex::new(None), Condvar::new()),
        })
    }

    /// Milliseconds since the server started, to a timer tick (1–10 ms): the clock of every
    /// connection's phase, read a few times a request for timeouts counted in seconds.
    pub(crate) fn millis(&self) -> u64 {
        crate::sys::monotonic_coarse_millis().saturating_sub(self.epoch_ms)
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    /// Runs `f` on the listening socket unless it is closed, which it can't be meanwhile.
    pub(crate) fn with_listener(&self, f: impl FnOnce(&TcpListener)) {
        if let Some(listener) = &*self.listener.read().unwrap_or_else(|e| e.into_inner()) {
            f(listener);
        }
    }

    /// Stops accepting: new connections are refused by the system from here on. Pollers keep
    /// serving the connections still open, and leave once there are none.
    pub(crate) fn start_closing(&self) {
        self.closing.store(true, Ordering::SeqCst);
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
        (self.handler)(request)
    }

    /// Reports an error that stops the server to [`Core::wait_failure`].
    fn fail(&self, err: io::Error) {
        let mut failure = self.failure.0.lock().unwrap_or_else(|e| e.into_inner());
        failure.get_or_insert(err);
        self.failure.1.notify_all();
    }

    /// Blocks until accepting fails for good; see [`crate::Server::wait_failure`].
    pub(crate) fn wait_failure(&self) -> io::Error {
        let mut failure = self.failure.0.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(err) = failure.take() {
                return err;
            }
            failure = self
                .failure
                .1
                .wait(failure)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

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
    /// The listener is gone (shutting down) or failed for good (reported to `wait_failure`).
    Stopped,
}

/// Accepts one waiting connection, without waiting, and admits it.
///
/// Upstream's accept loop ended at the first `accept()` error, so a moment of EMFILE (too
/// many open files) left the process up but deaf forever. Here running out of descriptors or
/// memory closes a connection that can go (as at the connection cap: idle, stalled or
/// dribbling its head) and backs off (5 ms doubling to 1 s), errors that concern
/// one connection (ECONNABORTED, EPROTO, EPERM from a firewall, ...) are passed over, and only
/// errors that mean the listener itself is unusable stop accepting, reported through
/// [`Core::wait_failure`] so the program can exit and be restarted.
pub(crate) fn accept_one(core: &Arc<Core>) -> Accepted {
    let accepted = match &*core.listener.read().unwrap_or_else(|e| e.into_inner()) {
        Some(listener) => crate::sys::accept_nonblocking(listener),
        None => return Accepted::Stopped,
    };
    let (stream, addr) = match accepted {
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
            let backoff = Duration::from_millis(core.backoff_ms.load(Ordering::Relaxed));
            core.backoff_ms.store(
                (backoff.as_millis() as u64 * 2).min(1000),
                Ordering::Relaxed,
            );
            core.settings
                .warn(Warning::AcceptExhausted { error: e, backoff });
            core.registry.evict_one(core.millis(), Scope::All, false);
            return Accepted::Exhausted(backoff);
        }
        Err(_) => return Accepted::Nothing,
    };
    if core.is_closing() {
        return Accepted::Stopped;
    }
    let conn = Connection::new(stream);
    if !core.inherited_options && conn.set_nodelay().is_err() {
        return Accepted::Nothing;
    }
    if !admit(core, &conn, addr.ip()) {
        return Accepted::Nothing;
    }
    if let Err(err) = core.pollers.ensure_runnable(core) {
        core.settings.warn(Warning::NoThread(io::Error::new(
            err.kind(),
            err.to_string(),
        )));
        refuse(&conn, &core.settings);
        return Accepted::NoThread(err);
    }
    let client = core.registry.insert_with(|slot, token| {
        Arc::new(Client::new(conn, addr, Arc::clone(core), slot, token))
    });
    // Closing began after the check above: `close_waiting` may have run before this
    // connection was registered, and the pollers are leaving, so close it here.
    if core.is_closing() {
        if client.close_if(Phase::Idle) {
            core.registry.remove(&client);
            refuse(&client.stream, &core.settings);
        }
        return Accepted::Stopped;
    }
    Accepted::Client(client)
}

/// Makes room for a connection from `ip` under the per-address limit and the connection cap,
/// closing another connection if one can go; refuses it with `503` otherwise.
fn admit(core: &Core, conn: &Connection, ip: IpAddr) -> bool {
    let settings = &core.settings;
    let now = core.millis();
    let limit = settings.max_connections_per_ip;
    if limit > 0
        && !settings
            .per_ip_exempt
            .as_ref()
            .is_some_and(|exempt| exempt(ip))
    {
        let key = crate::util::ip_key(ip);
        let open = core.registry.open_from(key);
        if open >= limit && !core.registry.evict_one(now, Scope::Ip(key), false) {
            settings.warn(Warning::PerIpLimit { ip: key, open });
            refuse(conn, settings);
            return false;
        }
    }
    let open = core.registry.len();
    if open >= settings.max_connections && !make_room(core, now, ip) {
        settings.warn(Warning::ConnectionCap { open });
        refuse(conn, settings);
        return false;
    }
    true
}

/// At the cap, closes a connection to make room for one from `ip`: one of that address's own
/// if it can, else another's. But an address with a connection waiting for its client to
/// take a response may only replace its own idle connections: otherwise clients that request
/// large files and stop reading, reconnecting as soon as they are pushed out, would take
/// every place that comes free, each other's included, and fresh clients would find none.
fn make_room(core: &Core, now: u64, ip: IpAddr) -> bool {
    let key = crate::util::ip_key(ip);
    if core.registry.has_waiting_writes(key) {
        return core.registry.evict_one(now, Scope::Ip(key), true);
    }
    core.registry.evict_one(now, Scope::Ip(key), false)
        || core.registry.evict_one(now, Scope::All, false)
}

/// The accept thread: accepts connections while no poller thread is free to (at start-up,
/// and while every thread is busy with slow work and no other can be started), so that new
/// clients get a prompt answer, a `503` if no thread can serve them. If no thread can be
/// started for 10 s while none is left to serve, it reports a fatal error.
pub(crate) fn accept_loop(core: Arc<Core>) {
    let mut spawn_failing_since: Option<Instant> = None;
    while !core.is_closing() {
        if !core.pollers.wait_none_runnable(Duration::from_secs(1)) {
            continue;
        }
        let mut ready = Ok(false);
        core.with_listener(|listener| {
            ready = crate::sys::poll_one(
                listener.as_raw_fd(),
                libc::POLLIN,
                crate::sys::millis(Some(Duration::from_millis(50))),
            );
        });
        if !matches!(ready, Ok(true)) {
            continue;
        }
        match accept_one(&core) {
            Accepted::Client(client) => {
                spawn_failing_since = None;
                if let Err(err) = core.pollers.watch(&client) {
                    core.settings
                        .warn(Warning::Internal(format!("epoll: {err}")));
                    if client.close_if(Phase::Idle) {
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
