//! Connections wait for their next request in an epoll set, not on threads of their own; a
//! few threads take the connections that become readable and serve them.
//!
//! With a thread per connection asleep in `read()` between requests (upstream's design), every
//! request costs a switch to that thread: measured, one context switch per request, and at 256
//! keep-alive connections on one core a quarter more CPU time per request than at 64. Here a
//! connection between requests waits in epoll (registered edge-triggered, once: see
//! [`Pollers::watch`]), and `Settings::threads` threads (by default one per CPU: the
//! "runnable" threads) each take one ready connection at a time and serve it until it has
//! nothing more to read; under load a thread goes from one connection to the next without
//! sleeping. Which thread serves a connection is settled by its phase (see
//! [`crate::client::Phase`]), taken with a compare-and-swap, never by the epoll set.
//!
//! The listening socket is in the set too: a thread that takes it accepts one connection and
//! serves it at once, with no hand-off to another thread. (The accept thread accepts only
//! while no poller is free to, see [`crate::core::accept_loop`].)
//!
//! Connections also wait here, threadless, for room to send the rest of a response their
//! client isn't taking (see [`crate::write`]). A thread about to wait on its thread after all
//! (for the rest of a head that arrives slowly) or to do slow work for a handler calls
//! [`will_block`] first, which counts it out of the runnable threads and starts or wakes
//! another. So a slow client or a slow request ties up only its own thread, and threads are
//! only as many as those, plus the runnable ones.

use std::cell::RefCell;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use std::net::TcpListener;
use std::os::unix::io::AsRawFd;

use crate::client::{self, Client, Phase};
use crate::core::{self as accept, Accepted, Core};
use crate::settings::{timeout, Settings, Warning};
use crate::sys::{Epoll, Interest, LISTEN_TOKEN, WAKE_TOKEN};
use crate::util::TaskPool;

pub(crate) struct Pollers {
    epoll: Epoll,
    pool: Arc<TaskPool<Arc<Core>>>,
    /// Threads taking ready connections, or serving one without having waited for its client.
    runnable: AtomicUsize,
    /// How many runnable threads we want: `Settings::threads`, by default the CPUs this
    /// process may run on.
    target: usize,
    /// Connections are checked for the idle and write timeouts this often; `None` if there
    /// is neither.
    sweep_every: Option<Duration>,
    /// When the next check is due, in milliseconds since the server started.
    next_sweep: AtomicU64,
    /// When to take the listening socket back into the set after running out of descriptors,
    /// in milliseconds since the server started; 0 if it is in the set.
    listener_paused_until: AtomicU64,
    /// Signalled when no thread is runnable any more, for the accept thread.
    none_runnable: (Mutex<()>, Condvar),
}

/// Ready events a poller takes from the epoll set at once. It then serves up to this many
/// connections before asking the kernel again: under load, one `epoll_wait` for several
/// requests instead of one each. Small, so that one thread doesn't sit on ready connections
/// another idle thread could serve.
const BATCH: usize = 8;

thread_local! {
    /// On a poller thread serving a connection that hasn't made it wait yet: the server, for
    /// [`will_block`] to find (and take: it counts the thread out only once per connection).
    static SERVING: RefCell<Option<Arc<Core>>> = const { RefCell::new(None) };
    /// Tokens of events this poller took from the set and hasn't served yet, the next last.
    static TAKEN: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Called before any wait for a client: if this thread is a poller, it stops counting as
/// runnable, another thread is woken or started to take its place, and the events it had
/// taken go back to the set for others.
pub(crate) fn will_block() {
    if let Some(core) = SERVING.with(|serving| serving.borrow_mut().take()) {
        let pollers = &core.pollers;
        let left = pollers.runnable.fetch_sub(1, Ordering::SeqCst) - 1;
        if left < pollers.target {
            // If no thread can be had (the process is at its thread limit), the connections
            // that become ready wait until a thread comes back, and the accept thread answers
            // new ones meanwhile (`promote` wakes it).
            let _ = pollers.promote(&core);
        }
        pollers.give_back(&core);
    }
}

impl Pollers {
    pub(crate) fn new(settings: &Settings, listener: &TcpListener) -> io::Result<Pollers> {
        let max_connections = settings.max_connections.max(1);
        let target = match settings.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
        .min(max_connections);
        // Checked every tenth of the shorter timeout, but at most 20 times a second and at
        // least once: a connection is closed up to that much after its time.
        let shortest = [settings.idle_timeout, settings.write_timeout]
            .into_iter()
            .filter_map(timeout)
            .min();
        let sweep_every =
            shortest.map(|t| (t / 10).clamp(Duration::from_millis(50), Duration::from_secs(1)));
        let epoll = Epoll::new()?;
        epoll.add(listener.as_raw_fd(), LISTEN_TOKEN, Interest::Accept)?;
        Ok(Pollers {
            epoll,
            pool: TaskPool::new(run, settings.thread_stack_size, max_connections + target),
            runnable: AtomicUsize::new(0),
            target,
            sweep_every,
            next_sweep: AtomicU64::new(0),
            listener_paused_until: AtomicU64::new(0),
            none_runnable: (Mutex::new(()), Condvar::new()),
        })
    }

    /// Threads alive, serving, polling or parked in the pool.
    pub(crate) fn threads(&self) -> usize {
        self.pool.live()
    }

    /// Wakes or starts a thread to take ready connections.
    fn promote(&self, core: &Arc<Core>) -> io::Result<()> {
        self.runnable.fetch_add(1, Ordering::SeqCst);
        match self.pool.execute(Arc::clone(core), Duration::ZERO) {
            Ok(()) => Ok(()),
            Err((_, err)) => {
                if self.runnable.fetch_sub(1, Ordering::SeqCst) == 1 {
                    // No thread is runnable now: the accept thread takes over accepting.
                    let _guard = self.none_runnable.0.lock();
                    self.none_runnable.1.notify_all();
                }
                Err(err)
            }
        }
    }

    /// Before a new connection is accepted into the set: makes sure threads will take it.
    /// Fails only if no thread is runnable and none can be started.
    pub(crate) fn ensure_runnable(&self, core: &Arc<Core>) -> io::Result<()> {
        if self.runnable.load(Ordering::SeqCst) >= self.target {
            return Ok(());
        }
        match self.promote(core) {
            Err(err) if self.runnable.load(Ordering::SeqCst) == 0 => Err(err),
            _ => Ok(()),
        }
    }

    /// Puts a connection (IDLE) into the set, or back into it, to wait for its next request;
    /// from here any poller may take it.
    ///
    /// A connection that waited for a request before is still registered (edge-triggered), so
    /// this is no system call: measured, one `epoll_ctl` fewer per keep-alive request, 6-8 %
    /// of the server's CPU time for a small file or a 404. But the bytes of a next request
    /// that came while a thread was serving this one made their event then, and a poller
    /// that took it found the connection busy and only raised `kicked`; nothing will report
    /// those bytes again, so if the flag is up the registration is renewed, which reports the
    /// connection at once if bytes are waiting. The caller has made the connection IDLE first,
    /// and the poller raises the flag before it looks at the phase (both sequentially
    /// consistent): either the flag is seen here, or the poller sees IDLE and serves it.
    pub(crate) fn watch(&self, client: &Client) -> io::Result<()> {
        self.register(client, Phase::Idle, Interest::Read, false)
    }

    /// Puts a connection (WAITING_TO_WRITE) back into the set, to wait for room to send the
    /// rest of its response.
    pub(crate) fn watch_writable(&self, client: &Client) -> io::Result<()> {
        self.register(client, Phase::WaitingToWrite, Interest::Write, false)
    }

    /// Registers the connection for `interest` if it is still in `phase`, adding it to the set
    /// or renewing its registration (which reports it at once if it is ready already); `renew`
    /// renews even an edge-triggered registration for reading that is in place.
    ///
    /// Under the connection's registration lock, and only in the phase the caller expects:
    /// events for one connection can reach several threads at once, and one that took the
    /// connection meanwhile and changed its registration (to wait for room to write, say)
    /// must not have it changed back. Such a thread sets the registration it needs when it is
    /// done, so there is nothing to do here then.
    fn register(
        &self,
        client: &Client,
        phase: Phase,
        interest: Interest,
        renew: bool,
    ) -> io::Result<()> {
        let mut registered = client.registered.lock().unwrap_or_else(|e| e.into_inner());
        if client.phase().0 != phase {
            return Ok(());
        }
        let kicked = client.kicked.swap(false, Ordering::SeqCst);
        if interest == Interest::Read && *registered == Some(Interest::Read) && !kicked && !renew {
            return Ok(());
        }
        let fd = client.stream.raw_fd();
        let result = match *registered {
            None => self.epoll.add(fd, client.token, interest),
            Some(_) => self.epoll.rearm(fd, client.token, interest),
        };
        if result.is_ok() {
            *registered = Some(interest);
        }
        result
    }

    /// For the accept thread: waits up to `limit` until no thread is runnable; returns
    /// whether none is.
    pub(crate) fn wait_none_runnable(&self, limit: Duration) -> bool {
        let guard = self
            .none_runnable
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if self.runnable.load(Ordering::SeqCst) == 0 {
            return true;
        }
        let _ = self.none_runnable.1.wait_timeout(guard, limit);
        self.runnable.load(Ordering::SeqCst) == 0
    }

    /// After an accept: the listening socket back into the set, or out of it for `pause`.
    fn rearm_listener(&self, core: &Core, pause: Option<Duration>) {
        match pause {
            Some(pause) => self.listener_paused_until.store(
                core.millis() + pause.as_millis() as u64 + 1,
                Ordering::SeqCst,
            ),
            // Under the listener's lock: once it is closed its number may name another file.
            None => core.with_listener(|listener| {
                if let Err(err) =
                    self.epoll
                        .rearm(listener.as_raw_fd(), LISTEN_TOKEN, Interest::Accept)
                {
                    core.settings
                        .warn(Warning::Internal(format!("epoll: {err}")));
                }
            }),
        }
    }

    /// Takes the listening socket back into the set once its pause is over.
    fn resume_listener(&self, core: &Core) {
        let until = self.listener_paused_until.load(Ordering::SeqCst);
        if until != 0
            && core.millis() >= until
            && self
                .listener_paused_until
                .compare_exchange(until, 0, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            self.rearm_listener(core, None);
        }
    }

    /// How long a poller may wait in epoll: until the next idle check or the end of the
    /// listener's pause, and never more than a second (a poller already waiting when another
    /// pauses the listener must still come back to end the pause).
    fn wait_limit(&self, core: &Core) -> Duration {
        let every = self.sweep_every.unwrap_or(Duration::from_secs(1));
        match self.listener_paused_until.load(Ordering::SeqCst) {
            0 => every,
            until => every.min(Duration::from_millis(until.saturating_sub(core.millis()))),
        }
    }

    /// The next event this thread took: one taken before, or the first of a new batch
    /// (waiting up to the wait limit). `Ok(None)`: nothing came.
    fn next_event(&self, core: &Core) -> io::Result<Option<u64>> {
        if let Some(token) = TAKEN.with(|taken| taken.borrow_mut().pop()) {
            return Ok(Some(token));
        }
        let mut tokens = [0u64; BATCH];
        let n = self.epoll.wait(&mut tokens, Some(self.wait_limit(core)))?;
        if n > 1 {
            // A connection taken here already has its request: stamped, so that at the cap
            // it isn't the "idle the longest" one closed to make room.
            for &token in &tokens[1..n] {
                if let Some(client) = core.registry.get(token) {
                    if client.phase().0 == client::Phase::Idle {
                        client.stamp();
                    }
                }
            }
            TAKEN.with(|taken| taken.borrow_mut().extend(tokens[1..n].iter().rev()));
        }
        Ok((n > 0).then_some(tokens[0]))
    }

    /// Puts the events this thread took and won't serve back into the set (a one-shot
    /// registration is off until renewed, and an edge-triggered one reports nothing until
    /// more bytes come: both are renewed), where another thread takes them at once: for a
    /// thread about to wait on a client, or leaving.
    fn give_back(&self, core: &Core) {
        let taken = TAKEN.with(|taken| std::mem::take(&mut *taken.borrow_mut()));
        for token in taken {
            match token {
                // Level-triggered: still ready for the others.
                WAKE_TOKEN => {}
                LISTEN_TOKEN => self.rearm_listener(core, None),
                token => {
                    let Some(client) = core.registry.get(token) else {
                        continue;
                    };
                    // If another thread is serving the connection (events for one connection
                    // can reach several threads), it looks again when it is done (see
                    // `watch`); raised before the phase is read, as a poller does.
                    client.kicked.store(true, Ordering::SeqCst);
                    let (phase, interest) = match client.phase().0 {
                        Phase::Idle => (Phase::Idle, Interest::Read),
                        Phase::WaitingToWrite => (Phase::WaitingToWrite, Interest::Write),
                        // Served by another thread, or closed meanwhile.
                        _ => continue,
                    };
                    if let Err(err) = self.register(&client, phase, interest, true) {
                        core.settings
                            .warn(Warning::Internal(format!("epoll: {err}")));
                        // Out of the set for good: closed, not left to hang.
                        if client.close_if(phase) {
                            core.registry.remove(&client);
                        }
                    }
                }
            }
        }
    }

    /// Makes every poller leave: call once the server is closing and no connection is left.
    pub(crate) fn stop(&self) {
        self.epoll.wake_all();
    }

    /// Counts this thread out of the runnable ones if there are more than wanted.
    fn leave_if_surplus(&self) -> bool {
        self.runnable
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n > self.target).then(|| n - 1)
            })
            .is_ok()
    }

    /// Closes the connections idle past the idle timeout, and those whose client has taken
    /// nothing for the write timeout, if a check is due; one thread checks, whichever gets
    /// here first.
    fn sweep(&self, core: &Core) {
        let Some(every) = self.sweep_every else {
            return;
        };
        let now = core.millis();
        let due = self.next_sweep.load(Ordering::Relaxed);
        let next = now + every.as_millis() as u64;
        if now < due
            || self
                .next_sweep
                .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let before = |limit: Duration| {
            timeout(limit).map(|limit| now.saturating_sub(limit.as_millis() as u64))
        };
        core.registry.expire(
            before(core.settings.idle_timeout),
            before(core.settings.write_timeout),
        );
    }
}

/// A poller thread: takes ready connections and serves them until there are more runnable
/// threads than wanted, or the server is closing and no connection is left; then returns to
/// the pool.
fn run(core: Arc<Core>) {
    let pollers = &core.pollers;
    loop {
        if core.is_closing() && core.registry.len() == 0 {
            pollers.give_back(&core);
            pollers.runnable.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        if pollers.leave_if_surplus() {
            pollers.give_back(&core);
            return;
        }
        let token = match pollers.next_event(&core) {
            Ok(Some(WAKE_TOKEN)) => continue,
            Ok(Some(LISTEN_TOKEN)) => {
                accept_and_serve(&core);
                continue;
            }
            Ok(Some(token)) => token,
            Ok(None) => {
                pollers.resume_listener(&core);
                pollers.sweep(&core);
                continue;
            }
            Err(err) => {
                // EBADF, EFAULT, EINVAL: not something waiting would cure.
                core.settings
                    .warn(Warning::Internal(format!("epoll_wait: {err}")));
                pollers.give_back(&core);
                pollers.runnable.fetch_sub(1, Ordering::SeqCst);
                return;
            }
        };
        if let Some(client) = core.registry.get(token) {
            serve(&core, client);
        }
        pollers.resume_listener(&core);
        // Under steady load epoll_wait never times out: check here too.
        pollers.sweep(&core);
    }
}

/// Accepts a connection and serves it on this thread.
fn accept_and_serve(core: &Arc<Core>) {
    let pollers = &core.pollers;
    match accept::accept_one(core) {
        Accepted::Client(client) => {
            // Before serving: other threads may accept the next connections meanwhile.
            pollers.rearm_listener(core, None);
            serve(core, client);
        }
        Accepted::Nothing | Accepted::NoThread(_) => pollers.rearm_listener(core, None),
        Accepted::Exhausted(pause) => pollers.rearm_listener(core, Some(pause)),
        Accepted::Stopped => {}
    }
}

/// Serves a ready connection (see [`client::serve_ready`]), keeping count of this thread as
/// runnable or not.
fn serve(core: &Arc<Core>, client: Arc<Client>) {
    SERVING.with(|serving| *serving.borrow_mut() = Some(Arc::clone(core)));
    // Where panics unwind, a panicking handler loses its connection (unregistered on the way
    // out), not the thread: a dead poller would still count as runnable.
    let served = panic::catch_unwind(AssertUnwindSafe(|| client::serve_ready(client)));
    if served.is_err() {
        core.settings.warn(Warning::Internal(
            "a request handler panicked; its connection was closed".into(),
        ));
    }
    let waited = SERVING
        .with(|serving| serving.borrow_mut().take())
        .is_none();
    if waited {
        core.pollers.runnable.fetch_add(1, Ordering::SeqCst);
    }
}
