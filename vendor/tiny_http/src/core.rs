//! What the accept thread, the poller threads and the `Server` handle share, and the accept
//! loop.

use std::io;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
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
        inherited_options: bool,
    ) -> io::Result<Core> {
        let pollers = Pollers::new(&settings)?;
        Ok(Core {
            inherited_options,
            settings,
            registry: Registry::default(),
            messages: MessagesQueue::with_capacity(8),
            pollers,
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

    pub(crate) fn start_closing(&self) {
        self.closing.store(true, Ordering::SeqCst);
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
        log::error!("accept loop stopped: {}", err);
        self.messages.push(Message::Error(err));
    }
}

/// Accepts connections until the server closes or the listener fails for good.
///
/// Upstream ended this loop at the first `accept()` error, so a moment of EMFILE (too many open
/// files) left the process up but deaf forever. Here running out of descriptors or memory backs
/// off and retries (after closing an idle connection to free one), transient errors retry at
/// once, and only errors that mean the listener itself is unusable end the loop, reported
/// through `Server::recv()` so the program can exit and be restarted.
pub(crate) fn accept_loop(core: Arc<Core>, listener: Listener) {
    let mut backoff = Duration::from_millis(5);
    let mut spawn_failing_since: Option<Instant> = None;
    while !core.is_closing() {
        let (conn, addr) = match listener.accept() {
            Ok(accepted) => {
                backoff = Duration::from_millis(5);
                accepted
            }
            Err(e) if crate::sys::is_fatal_accept_error(&e) => {
                if !core.is_closing() {
                    core.fail(e);
                }
                break;
            }
            Err(e) if crate::sys::is_resource_exhaustion(&e) => {
                log::warn!("accept: {}; backing off {:?}", e, backoff);
                core.registry.evict_one(u64::MAX);
                thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
            // ECONNABORTED, EINTR, EPROTO, EPERM (a firewall) and the like concern one
            // connection only.
            Err(_) => continue,
        };
        if core.is_closing() {
            break;
        }
        if !core.inherited_options && conn.set_nodelay().is_err() {
            continue;
        }
        if core.registry.len() >= core.settings.max_connections
            && !core.registry.evict_one(core.millis())
        {
            refuse(&conn, &core.settings);
            continue;
        }
        if let Err(err) = core.pollers.ensure_runnable(&core) {
            log::warn!("cannot start a connection thread: {}", err);
            refuse(&conn, &core.settings);
            let since = *spawn_failing_since.get_or_insert_with(Instant::now);
            if core.pollers.threads() == 0 && since.elapsed() > SPAWN_FAILURE_GRACE {
                core.fail(err);
                break;
            }
            continue;
        }
        spawn_failing_since = None;
        let client = core.registry.insert_with(|slot, token| {
            Arc::new(Client::new(conn, addr, Arc::clone(&core), slot, token))
        });
        let watched = core.pollers.watch(&client);
        if let Err(err) = &watched {
            log::warn!("epoll: {}", err);
        }
        // Closing began after the check above: `close_waiting` may have run before this
        // connection was registered, and the pollers are leaving, so close it here.
        if (watched.is_err() || core.is_closing()) && client.close_if(client::state::IDLE) {
            core.registry.remove(&client);
            refuse(&client.stream, &core.settings);
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
