//! Start-up, the server's life, and shutdown on signals.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tiny_http::{Server, Settings, Warning};

use crate::access_log::AccessLog;
use crate::config::Config;
use crate::live_root::LiveRoot;
use crate::site::Site;
use crate::sys::Signals;

/// Why the server couldn't start: one line for stderr, exit code 1.
#[derive(Debug)]
pub struct StartError {
    kind: StartErrorKind,
}

/// What kept the server from starting.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartErrorKind {
    /// The root is missing, not a directory, or unreadable.
    Root {
        /// The root as configured.
        path: PathBuf,
        /// What opening it said.
        source: io::Error,
    },
    /// The listening socket couldn't be bound.
    Listen {
        /// The address tried.
        addr: SocketAddr,
        /// What binding it said.
        source: io::Error,
    },
    /// A configured page (`--error-page`, `--fallback`) can't be served.
    Page {
        /// The option that names it.
        option: &'static str,
        /// The path given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A part of the server couldn't be set up (signals, a thread, the access log).
    Setup {
        /// Which part, in a few words.
        what: &'static str,
        /// Why.
        source: io::Error,
    },
}

impl StartError {
    /// What kept the server from starting.
    pub fn kind(&self) -> &StartErrorKind {
        &self.kind
    }

    /// A configured page that can't be served.
    pub fn page(option: &'static str, path: &str, reason: &'static str) -> StartError {
        StartError {
            kind: StartErrorKind::Page {
                option,
                path: path.to_string(),
                reason,
            },
        }
    }

    fn setup(what: &'static str) -> impl FnOnce(io::Error) -> StartError {
        move |source| StartError {
            kind: StartErrorKind::Setup { what, source },
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            StartErrorKind::Root { path, source } => {
                let shown = path.display();
                match source.kind() {
                    io::ErrorKind::NotFound => write!(
                        f,
                        "root directory '{shown}' does not exist; name the directory to serve: \
                         http-fileserver DIR (or HTTP_FILESERVER_ROOT=DIR)"
                    ),
                    io::ErrorKind::NotADirectory => {
                        write!(f, "root '{shown}' is not a directory")
                    }
                    io::ErrorKind::PermissionDenied => {
                        write!(f, "root directory '{shown}' is not readable")
                    }
                    _ => write!(f, "cannot open root directory '{shown}': {source}"),
                }
            }
            StartErrorKind::Listen { addr, source } => {
                write!(f, "cannot listen on {addr}: ")?;
                match source.kind() {
                    io::ErrorKind::AddrInUse => f.write_str("address already in use"),
                    io::ErrorKind::AddrNotAvailable => f.write_str("no such local address"),
                    io::ErrorKind::PermissionDenied => f.write_str("permission denied"),
                    _ => write!(f, "{source}"),
                }
            }
            StartErrorKind::Page {
                option,
                path,
                reason,
            } => write!(f, "{option} {path}: {reason}"),
            StartErrorKind::Setup { what, source } => write!(f, "cannot {what}: {source}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            StartErrorKind::Root { source, .. }
            | StartErrorKind::Listen { source, .. }
            | StartErrorKind::Setup { source, .. } => Some(source),
            StartErrorKind::Page { .. } => None,
        }
    }
}

/// How the server ended.
#[derive(Debug)]
pub enum Exit {
    /// A signal, and requests in flight were given their grace period: exit 0.
    Stopped,
    /// A second signal during shutdown: exit at once with 128 + the signal's number.
    Interrupted(i32),
    /// The server can no longer accept connections (the listener failed, or no thread can be
    /// started): exit non-zero so that the container is restarted.
    Failed(io::Error),
}

/// Where the listening socket came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Socket {
    /// Bound by the server, from `--bind` and `--port`.
    Bound,
    /// Passed by a service manager (systemd socket activation, `LISTEN_FDS`).
    Inherited,
}

/// Serves `config` until a signal or a fatal error. `on_ready` is called with the listening
/// address once the server is fully started: accepting, with every thread of its own running.
pub fn run(
    config: &Config,
    on_ready: impl FnOnce(SocketAddr, Socket, &Path),
) -> Result<Exit, StartError> {
    // Before any thread exists, so that every thread inherits the mask and only `sigwait`
    // below ever sees these signals.
    let signals = Signals::block(&[libc::SIGTERM, libc::SIGINT, libc::SIGCHLD])
        .map_err(StartError::setup("block signals"))?;

    let root = LiveRoot::new(&config.root).map_err(|source| StartError {
        kind: StartErrorKind::Root {
            path: config.root.clone(),
            source,
        },
    })?;
    let (listener, socket) = match inherited()? {
        Some(listener) => (listener, Socket::Inherited),
        None => (listen(config)?, Socket::Bound),
    };
    // Not fatal: the default queue works, only less well under bursts.
    let _ = crate::sys::set_backlog(&listener, 4096);
    let addr = listener
        .local_addr()
        .map_err(StartError::setup("read the listening address"))?;

    let log = if config.access_log {
        let stdout: Box<dyn io::Write + Send> = Box::new(io::stdout());
        let log = AccessLog::start(stdout, config.log_format);
        Some(log.map_err(StartError::setup("start the access log"))?)
    } else {
        None
    };
    let root_path = root.current(Instant::now()).path().to_path_buf();
    let site = Arc::new(Site::new(config, root, log.clone())?);

    raise_open_file_limit(config.max_connections);
    let settings = settings(config, &site, log.as_ref());
    let handler_site = Arc::clone(&site);
    let server = Server::with_handler(listener, settings, move |request| {
        handler_site.handle(request)
    })
    .map(Arc::new)
    .map_err(StartError::setup("start the server"))?;

    let events = watch(&server, signals).map_err(StartError::setup("start a thread"))?;
    on_ready(addr, socket, &root_path);
    let stop = Stop {
        site: &site,
        delay: config.shutdown_delay,
        grace: config.shutdown_grace,
    };
    let exit = supervise(&server, events, stop);
    if let Some(log) = &log {
        log.flush();
    }
    Ok(exit)
}

/// The engine's limits, timeouts and hooks.
fn settings(config: &Config, site: &Site, log: Option<&AccessLog>) -> Settings {
    let mut settings = Settings::default();
    settings.max_connections = config.max_connections;
    settings.max_connections_per_ip = config.per_ip_limit();
    if !config.trusted_proxies.is_empty() {
        // A proxy's connections carry many clients' requests.
        let proxies = crate::client_ip::Proxies::new(config.trusted_proxies.clone());
        settings.per_ip_exempt = Some(Arc::new(move |ip| proxies.trusts(ip)));
    }
    settings.threads = config.threads.unwrap_or(0);
    settings.idle_timeout = config.idle_timeout;
    settings.head_timeout = config.head_timeout;
    settings.write_timeout = config.write_timeout;
    settings.error_headers = site.common_headers().clone();
    settings.on_warning = Some(Arc::new(RateLimited::default().into_hook()));
    if let Some(log) = log {
        let log = log.clone();
        settings.on_reject = Some(Arc::new(move |rejected| log.rejected(rejected)));
    }
    settings
}

enum Event {
    Signal(i32),
    Failed(io::Error),
    Drained(bool),
}

type Events = (mpsc::Sender<Event>, mpsc::Receiver<Event>);

/// Starts the threads that turn signals and a fatal failure of the server into events.
fn watch(server: &Arc<Server>, signals: Signals) -> io::Result<Events> {
    let (events, next) = mpsc::channel();
    let signal_events = events.clone();
    spawn("signals", move || loop {
        // Orphans that exited before this thread started are reaped at its first pass.
        crate::sys::reap_children();
        let signal = signals.wait();
        if signal != libc::SIGCHLD && signal_events.send(Event::Signal(signal)).is_err() {
            return;
        }
    })?;
    let watched = Arc::clone(server);
    let failures = events.clone();
    spawn("watch", move || {
        let _ = failures.send(Event::Failed(watched.wait_failure()));
    })?;
    Ok((events, next))
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<()> {
    thread::Builder::new()
        .name(name.into())
        .stack_size(64 * 1024)
        .spawn(f)
        .map(drop)
}

/// How to stop on a signal.
struct Stop<'a> {
    site: &'a Site,
    /// Serving on, the health path answering 503, before shutting down.
    delay: Duration,
    /// For requests in flight to finish.
    grace: Duration,
}

/// Waits for a signal or a fatal error, and shuts down.
fn supervise(server: &Arc<Server>, (events, next): Events, stop: Stop<'_>) -> Exit {
    let mut stopping = false;
    loop {
        match next.recv() {
            Ok(Event::Signal(signal)) if stopping => return Exit::Interrupted(signal),
            Ok(Event::Signal(_)) => {
                stopping = true;
                stop.site.drain();
                let (delay, grace) = (stop.delay, stop.grace);
                if !delay.is_zero() {
                    eprintln!(
                        "http-fileserver: stopping in {delay:?} (--shutdown-delay); serving until \
                         then, the health path answering 503"
                    );
                }
                let stopped = Arc::clone(server);
                let drained = events.clone();
                let spawned = spawn("shutdown", move || {
                    thread::sleep(delay);
                    let _ = drained.send(Event::Drained(stopped.shutdown(grace)));
                });
                if spawned.is_err() {
                    return Exit::Stopped;
                }
            }
            Ok(Event::Drained(all)) => {
                if !all {
                    eprintln!(
                        "http-fileserver: shutdown grace period over with requests still in flight"
                    );
                }
                return Exit::Stopped;
            }
            Ok(Event::Failed(e)) if !stopping => return Exit::Failed(e),
            Ok(Event::Failed(_)) => {}
            Err(_) => return Exit::Failed(io::Error::other("internal event channel closed")),
        }
    }
}

/// Prints the server's warnings on stderr, at most one line per kind every 10 s, saying how
/// many more came meanwhile: under attack they come thousands of times a second.
#[derive(Default)]
struct RateLimited {
    last: Mutex<HashMap<std::mem::Discriminant<Warning>, (Instant, u64)>>,
}

const WARNING_INTERVAL: Duration = Duration::from_secs(10);

impl RateLimited {
    fn into_hook(self) -> impl Fn(&Warning) + Send + Sync {
        move |warning| self.warn(warning)
    }

    fn warn(&self, warning: &Warning) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let entry = last
            .entry(std::mem::discriminant(warning))
            .or_insert((now - WARNING_INTERVAL * 2, 0));
        if now.duration_since(entry.0) < WARNING_INTERVAL {
            entry.1 += 1;
            return;
        }
        let more = std::mem::take(&mut entry.1);
        entry.0 = now;
        drop(last);
        let hint = match warning {
            Warning::PerIpLimit { .. } => " (--max-connections-per-ip)",
            Warning::ConnectionCap { .. } => " (--max-connections)",
            _ => "",
        };
        match more {
            0 => eprintln!("http-fileserver: {warning}{hint}"),
            n => eprintln!("http-fileserver: {warning}{hint}; {n} more like it in the last 10 s"),
        }
    }
}

/// Raises the open-file limit as far as allowed, and warns when it is still below what the
/// connection cap can use: past it, idle connections are closed to free descriptors and
/// requests that can't open their file get 503, which is worth knowing about in advance.
fn raise_open_file_limit(connections: usize) {
    if let Ok(files) = crate::sys::raise_open_file_limit() {
        // A socket per connection, a file or two per request in flight, a few to spare.
        if files < (connections as u64).saturating_mul(2) {
            eprintln!(
                "http-fileserver: warning: the open-file limit ({files}) is below twice \
                 --max-connections ({connections}); raise it (ulimit -n) or lower the cap"
            );
        }
    }
}

/// The listening socket a service manager passed, if one did: systemd's protocol, in which
/// `LISTEN_PID` names this process and `LISTEN_FDS` counts sockets from descriptor 3 on. With
/// it, a privileged port needs no privilege, and connections that arrive while the server
/// restarts wait in the socket's queue instead of being refused.
fn inherited() -> Result<Option<TcpListener>, StartError> {
    let var = |name| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if var("LISTEN_PID") != Some(u64::from(std::process::id())) {
        return Ok(None);
    }
    let count = var("LISTEN_FDS").unwrap_or(0);
    if count == 0 {
        return Ok(None);
    }
    if count > 1 {
        eprintln!(
            "http-fileserver: warning: {count} sockets passed (LISTEN_FDS); serving the first, \
             ignoring the others"
        );
    }
    crate::sys::inherited_listener(3)
        .map(Some)
        .map_err(StartError::setup(
            "use the socket passed in LISTEN_FDS (descriptor 3)",
        ))
}

/// Binds the listening socket: the configured address, or dual-stack `[::]`, falling back to
/// `0.0.0.0` where the host has no IPv6.
fn listen(config: &Config) -> Result<TcpListener, StartError> {
    let bind = |ip: IpAddr| {
        let addr = SocketAddr::new(ip, config.port);
        TcpListener::bind(addr).map_err(|source| StartError {
            kind: StartErrorKind::Listen { addr, source },
        })
    };
    match config.bind {
        Some(ip) => bind(ip),
        None => bind(Ipv6Addr::UNSPECIFIED.into()).or_else(|err| match &err.kind {
            StartErrorKind::Listen { source, .. }
                if matches!(
                    source.raw_os_error(),
                    Some(libc::EAFNOSUPPORT | libc::EADDRNOTAVAIL | libc::EPROTONOSUPPORT)
                ) =>
            {
                bind(Ipv4Addr::UNSPECIFIED.into())
            }
            _ => Err(err),
        }),
    }
}
