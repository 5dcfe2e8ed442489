//! `http-fileserver healthcheck`: the probe a scratch image needs, having no curl.
//!
//! In a container the server is PID 1, and the image's `HEALTHCHECK` runs beside it in the
//! same PID namespace, as the same user, but with none of `docker run`'s arguments. So when
//! the probe is given no `--port` or `--bind` and PID 1 is this same program, it reads the
//! server's own command line and environment from `/proc/1` and asks where the server
//! listens: `docker run IMAGE --port 9000` stays healthy.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::config::{self, Command, Config};

/// The whole probe must answer within this time.
const DEADLINE: Duration = Duration::from_secs(2);

/// The probe's `User-Agent`: the server leaves its `OPTIONS *` out of the access log.
pub const USER_AGENT: &str = "http-fileserver-healthcheck";

/// Why the probe failed: one line for stderr, exit code 1.
#[derive(Debug)]
pub struct ProbeError {
    addr: SocketAddr,
    kind: ProbeErrorKind,
}

/// What the probe saw.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProbeErrorKind {
    /// Connecting, sending or reading failed (refused, reset, unreachable).
    Io(io::Error),
    /// No whole answer within the deadline.
    Timeout,
    /// The server answered with this 5xx status.
    Status(u16),
    /// The answer wasn't an HTTP response.
    NotHttp,
}

impl ProbeError {
    /// The address that was asked.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What went wrong.
    pub fn kind(&self) -> &ProbeErrorKind {
        &self.kind
    }
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr = self.addr;
        match &self.kind {
            ProbeErrorKind::Io(e) => write!(f, "{addr}: {e}"),
            ProbeErrorKind::Timeout => write!(f, "{addr}: no answer within 2 s"),
            ProbeErrorKind::Status(status) => write!(f, "{addr} answered {status}"),
            ProbeErrorKind::NotHttp => write!(f, "{addr}: not an HTTP response"),
        }
    }
}

impl std::error::Error for ProbeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ProbeErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Asks the server the configuration describes (or, unless `addressed` by `--port` or
/// `--bind`, the one running as PID 1) whether it is healthy: `GET` of its health path if it
/// has one, which must answer 2xx, else `OPTIONS *`, which must answer without a 5xx. `Ok`
/// with the status if it did in time.
///
/// `OPTIONS *` exercises the accept loop, a poller thread and the parser without touching the
/// file system, so a probe every few seconds costs next to nothing.
pub fn probe(config: &Config, addressed: bool) -> Result<u16, ProbeError> {
    let started = Instant::now();
    let beside = if addressed { None } else { pid1_config() };
    let config = beside.as_ref().unwrap_or(config);
    let request =
        match &config.health_path {
            Some(path) => format!("GET {path} HTTP/1.1\r\n"),
            None => "OPTIONS * HTTP/1.1\r\n".to_string(),
        } + &format!("Host: localhost\r\nUser-Agent: {USER_AGENT}\r\nConnection: close\r\n\r\n");
    let healthy = |status: u16| match config.health_path {
        Some(_) => (200..300).contains(&status),
        None => status < 500,
    };
    // The first failure says the most: IPv4 loopback, which every listener but an IPv6-only
    // one takes (IPv6 is often absent in containers).
    let mut first_error = None;
    for addr in targets(config) {
        let failed = |kind| ProbeError { addr, kind };
        match ask(addr, request.as_bytes(), started) {
            Ok(status) if healthy(status) => return Ok(status),
            Ok(status) => return Err(failed(ProbeErrorKind::Status(status))),
            Err(kind) => {
                first_error.get_or_insert(failed(kind));
            }
        }
    }
    // `targets` is never empty.
    Err(first_error.unwrap_or(ProbeError {
        addr: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), config.port),
        kind: ProbeErrorKind::Timeout,
    }))
}

/// The configuration of the server running as PID 1, if PID 1 is this same program and
/// serving: its command line and environment, as `/proc/1` has them. `None` when they can't
/// be read (another user's process) or describe no server.
fn pid1_config() -> Option<Config> {
    if std::process::id() == 1 {
        return None;
    }
    let identity = |path: &Path| {
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.dev(), meta.ino()))
    };
    // Not the metadata of /proc/self/exe: under qemu-user that is the emulator's, while
    // reading the link gives the program's path.
    let me = identity(&std::env::current_exe().ok()?)?;
    let cmdline = strings(&std::fs::read("/proc/1/cmdline").ok()?);
    let environ = std::fs::read("/proc/1/environ").ok()?;
    let args = if identity(Path::new("/proc/1/exe")) == Some(me) {
        cmdline.get(1..)?
    } else {
        // Perhaps an emulator running this program (an image for another CPU).
        let is_me = |arg: &[u8]| identity(Path::new(OsStr::from_bytes(arg))) == Some(me);
        emulated_args(&cmdline, is_me)?
    };
    serving_config(args, &environ)
}

/// The arguments of this program as PID 1 runs it under an emulator: qemu-user through
/// binfmt_misc has the command line `QEMU PROGRAM [ARGV0] ARGS…` (ARGV0 kept by its `P`
/// flag). What follows the first entry naming this program (`is_me`), without its ARGV0 if
/// that is repeated; `None` if no entry names it: PID 1 runs something else.
fn emulated_args(cmdline: &[Vec<u8>], is_me: impl Fn(&[u8]) -> bool) -> Option<&[Vec<u8>]> {
    let at = cmdline.iter().skip(1).position(|arg| is_me(arg))? + 1;
    let rest = &cmdline[at + 1..];
    let name = |path: &[u8]| path.rsplit(|&b| b == b'/').next().map(<[u8]>::to_vec);
    match rest.first() {
        Some(argv0) if is_me(argv0) || name(argv0) == name(&cmdline[at]) => Some(&rest[1..]),
        _ => Some(rest),
    }
}

/// The configuration a server started with these arguments (without its name) and this
/// environment (NUL-terminated `NAME=value` strings, as in `/proc`) runs with; `None` unless
/// they start a server.
fn serving_config(args: &[Vec<u8>], environ: &[u8]) -> Option<Config> {
    let args = args.iter().cloned().map(OsString::from_vec);
    let env: HashMap<Vec<u8>, Vec<u8>> = strings(environ)
        .into_iter()
        .filter_map(|pair| {
            let eq = pair.iter().position(|&b| b == b'=')?;
            Some((pair[..eq].to_vec(), pair[eq + 1..].to_vec()))
        })
        .collect();
    let lookup = |name: &str| env.get(name.as_bytes()).cloned().map(OsString::from_vec);
    match config::parse(args, lookup) {
        Ok(Command::Serve(config)) => Some(config),
        _ => None,
    }
}

/// The NUL-terminated strings of a `/proc` file such as `cmdline`.
fn strings(bytes: &[u8]) -> Vec<Vec<u8>> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let bytes = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    bytes.split(|&b| b == 0).map(<[u8]>::to_vec).collect()
}

/// Where to knock: the bound address if it is a specific one, else loopback (IPv4 first: a
/// dual-stack or IPv4 listener takes it).
fn targets(config: &Config) -> Vec<SocketAddr> {
    let port = config.port;
    match config.bind {
        Some(ip) if !ip.is_unspecified() => vec![SocketAddr::new(ip, port)],
        Some(IpAddr::V4(_)) => vec![SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port)],
        _ => vec![
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port),
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), port),
        ],
    }
}

fn ask(addr: SocketAddr, request: &[u8], started: Instant) -> Result<u16, ProbeErrorKind> {
    let left = || {
        DEADLINE
            .checked_sub(started.elapsed())
            .filter(|d| !d.is_zero())
            .ok_or(ProbeErrorKind::Timeout)
    };
    let timed = |e: io::Error| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ProbeErrorKind::Timeout,
        _ => ProbeErrorKind::Io(e),
    };
    let mut stream = TcpStream::connect_timeout(&addr, left()?).map_err(timed)?;
    stream.set_write_timeout(Some(left()?)).map_err(timed)?;
    stream.write_all(request).map_err(timed)?;
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 64];
    while !head.contains(&b'\n') && head.len() < 1024 {
        stream.set_read_timeout(Some(left()?)).map_err(timed)?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(timed(e)),
        }
    }
    status_of(&head).ok_or(ProbeErrorKind::NotHttp)
}

/// The status code of a response's first line (`HTTP/1.1 204 No Content`).
fn status_of(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let mut parts = line.split(|&b| b == b' ');
    if !parts.next()?.starts_with(b"HTTP/1.") {
        return None;
    }
    std::str::from_utf8(parts.next()?).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_status_line() {
        assert_eq!(status_of(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(
            status_of(b"HTTP/1.0 503 Service Unavailable\r\n"),
            Some(503)
        );
        assert_eq!(status_of(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(status_of(b""), None);
    }

    fn args(cmdline: &[u8]) -> Vec<Vec<u8>> {
        strings(cmdline)
    }

    #[test]
    fn reads_the_server_configuration_from_its_command_line_and_environment() {
        let config = serving_config(
            &args(b"--port\09000\0--health-path=/healthz\0"),
            b"HOME=/\0HTTP_FILESERVER_BIND=127.0.0.1\0",
        )
        .unwrap();
        assert_eq!(config.port, 9000);
        assert_eq!(config.bind, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(config.health_path.as_deref(), Some("/healthz"));
        assert_eq!(serving_config(&[], b"PORT=9001\0").unwrap().port, 9001);
        // An empty argument is an argument (here: the root).
        let empty = serving_config(&args(b"\0"), b"").unwrap();
        assert_eq!(empty.root, std::path::PathBuf::from(""));
        // Not a server: another healthcheck, --help, a usage error.
        assert!(serving_config(&args(b"healthcheck\0"), b"").is_none());
        assert!(serving_config(&args(b"--help\0"), b"").is_none());
        assert!(serving_config(&args(b"--port\0x\0"), b"").is_none());
    }

    #[test]
    fn finds_the_arguments_of_this_program_under_an_emulator() {
        let is_me = |arg: &[u8]| arg == b"/http-fileserver";
        let qemu = |cmdline: &[u8]| emulated_args(&args(cmdline), is_me).map(<[_]>::to_vec);
        let expected = Some(args(b"-p\09002\0/srv\0"));
        // With binfmt_misc's P flag, argv[0] is kept: as a path, or as a name.
        let p = qemu(b"/usr/libexec/qemu-binfmt/aarch64-binfmt-P\0/http-fileserver\0/http-fileserver\0-p\09002\0/srv\0");
        assert_eq!(p, expected);
        let named =
            qemu(b"/usr/bin/qemu-aarch64\0/http-fileserver\0http-fileserver\0-p\09002\0/srv\0");
        assert_eq!(named, expected);
        // Without it, the arguments follow the program.
        let no_p = qemu(b"/usr/bin/qemu-aarch64\0/http-fileserver\0-p\09002\0/srv\0");
        assert_eq!(no_p, expected);
        // Another program.
        assert_eq!(qemu(b"/usr/bin/qemu-aarch64\0/bin/sh\0-c\0true\0"), None);
        assert_eq!(qemu(b"/http-fileserver\0-p\09002\0"), None);
    }

    #[test]
    fn knocks_on_the_bound_address_or_loopback() {
        let mut c = Config::default();
        assert_eq!(targets(&c)[0], "127.0.0.1:8080".parse().unwrap());
        c.bind = Some("::1".parse().unwrap());
        assert_eq!(targets(&c), vec!["[::1]:8080".parse().unwrap()]);
        c.bind = Some("0.0.0.0".parse().unwrap());
        assert_eq!(targets(&c), vec!["127.0.0.1:8080".parse().unwrap()]);
    }
}
