//! Start-up, the server's life, and shutdown on signals.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::thread;

use tiny_http::{Server, Settings};

use crate::access_log::AccessLog;
use crate::config::Config;
use crate::fs::Root;
use crate::site::Site;
use crate::sys::Signals;

/// Why the server couldn't start: one line for stderr.
#[derive(Debug)]
pub struct StartError(String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How the server ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    /// A signal, and requests in flight were given their grace period: exit 0.
    Stopped,
    /// A second signal during shutdown: exit at once, non-zero.
    Interrupted(i32),
    /// The server can no longer accept connections (the listener failed, or no thread can be
    /// started): exit non-zero so that the container is restarted.
    Failed(String),
}

/// Serves `config` until a signal or a fatal error. `on_ready` is called with the bound address
/// once the server accepts connections.
pub fn run(config: &Config, on_ready: impl FnOnce(SocketAddr, &Path)) -> Result<Exit, StartError> {
    // Before any thread exists, so that every thread inherits the mask and only `sigwait`
    // below ever sees these signals.
    let signals = Signals::block(&[libc::SIGTERM, libc::SIGINT])
        .map_err(|e| StartError(format!("cannot block signals: {e}")))?;

    let root = Root::new(&config.root).map_err(|e| root_error(&config.root, &e))?;
    let listener = listen(config)?;
    // Not fatal: the default queue works, only less well under bursts.
    let _ = crate::sys::set_backlog(&listener, 4096);
    let addr = listener
        .local_addr()
        .map_err(|e| StartError(format!("cannot read the listening address: {e}")))?;

    let log = if config.access_log {
        let stdout: Box<dyn io::Write + Send> = Box::new(io::stdout());
        Some(
            AccessLog::start(stdout)
                .map_err(|e| StartError(format!("cannot start the access log: {e}")))?,
        )
    } else {
        None
    };
    let root_path = root.path().to_path_buf();
    let site = Arc::new(Site::new(config, root, log.clone()));

    let mut settings = Settings::default();
    settings.max_connections = config.max_connections;
    settings.threads = config.threads.unwrap_or(0);
    raise_open_file_limit(config.max_connections);
    settings.idle_timeout = config.idle_timeout;
    settings.head_timeout = config.head_timeout;
    settings.write_timeout = config.write_timeout;
    settings.error_headers = site.common_headers().to_vec();
    if let Some(log) = &log {
        let log = log.clone();
        settings.on_reject = Some(Arc::new(move |rejected| log.rejected(rejected)));
    }
    let handler_site = Arc::clone(&site);
    let server = Server::with_handler(listener, settings, move |request| {
        handler_site.handle(request)
    })
    .map(Arc::new)
    .map_err(|e| StartError(format!("cannot start the server: {e}")))?;
    on_ready(addr, &root_path);

    let exit = supervise(&server, &signals, config);
    if let Some(log) = &log {
        log.flush();
    }
    Ok(exit)
}

enum Event {
    Signal(i32),
    Failed(io::Error),
    Drained(bool),
}

/// Waits for a signal or a fatal error, and shuts down.
fn supervise(server: &Arc<Server>, signals: &Signals, config: &Config) -> Exit {
    let (events, next) = mpsc::channel();
    let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
        thread::Builder::new()
            .name(name.into())
            .stack_size(64 * 1024)
            .spawn(f)
    };
    let signal_events = events.clone();
    let signals = *signals;
    let started = spawn(
        "signals",
        Box::new(move || loop {
            if signal_events.send(Event::Signal(signals.wait())).is_err() {
                return;
            }
        }),
    )
    .and_then(|_| {
        let failures = events.clone();
        let watched = Arc::clone(server);
        spawn(
            "watch",
            Box::new(move || {
                // With a handler, recv() returns only when accepting has stopped for good.
                if let Err(e) = watched.recv() {
                    let _ = failures.send(Event::Failed(e));
                }
            }),
        )
    });
    if let Err(e) = started {
        return Exit::Failed(format!("cannot start a thread: {e}"));
    }

    let mut stopping = false;
    loop {
        match next.recv() {
            Ok(Event::Signal(signal)) if stopping => return Exit::Interrupted(signal),
            Ok(Event::Signal(_)) => {
                stopping = true;
                let drained = events.clone();
                let stopped = Arc::clone(server);
                let grace = config.shutdown_grace;
                let spawned = spawn(
                    "shutdown",
                    Box::new(move || {
                        let _ = drained.send(Event::Drained(stopped.shutdown(grace)));
                    }),
                );
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
            Ok(Event::Failed(e)) if !stopping => {
                return Exit::Failed(format!("the server stopped accepting connections: {e}"))
            }
            Ok(Event::Failed(_)) => {}
            Err(_) => return Exit::Failed("internal event channel closed".into()),
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

fn root_error(root: &Path, err: &io::Error) -> StartError {
    let shown = root.display();
    StartError(match err.kind() {
        io::ErrorKind::NotFound => format!("root directory '{shown}' does not exist"),
        io::ErrorKind::NotADirectory => format!("root '{shown}' is not a directory"),
        io::ErrorKind::PermissionDenied => format!("root directory '{shown}' is not readable"),
        _ => format!("cannot open root directory '{shown}': {err}"),
    })
}

/// Binds the listening socket: the configured address, or dual-stack `[::]`, falling back to
/// `0.0.0.0` where the host has no IPv6.
fn listen(config: &Config) -> Result<TcpListener, StartError> {
    let bind = |ip: IpAddr| {
        let addr = SocketAddr::new(ip, config.port);
        TcpListener::bind(addr).map_err(|e| (addr, e))
    };
    let result = match config.bind {
        Some(ip) => bind(ip),
        None => bind(Ipv6Addr::UNSPECIFIED.into()).or_else(|(addr, e)| match e.raw_os_error() {
            Some(libc::EAFNOSUPPORT | libc::EADDRNOTAVAIL | libc::EPROTONOSUPPORT) => {
                bind(Ipv4Addr::UNSPECIFIED.into())
            }
            _ => Err((addr, e)),
        }),
    };
    result.map_err(|(addr, e)| {
        StartError(match e.kind() {
            io::ErrorKind::AddrInUse => format!("cannot listen on {addr}: address already in use"),
            io::ErrorKind::AddrNotAvailable => {
                format!("cannot listen on {addr}: no such local address")
            }
            io::ErrorKind::PermissionDenied => {
                format!("cannot listen on {addr}: permission denied")
            }
            _ => format!("cannot listen on {addr}: {e}"),
        })
    })
}
