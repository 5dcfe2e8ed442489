//! `http-fileserver healthcheck`: the probe a scratch image needs, having no curl.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::config::Config;

/// The whole probe must answer within this time.
const DEADLINE: Duration = Duration::from_secs(2);

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

/// Sends `OPTIONS *` to the server the configuration describes. `Ok` with the status if it
/// answered without a 5xx in time.
///
/// `OPTIONS *` exercises the accept loop, a poller thread and the parser without touching the
/// file system, so a probe every few seconds costs next to nothing.
pub fn probe(config: &Config) -> Result<u16, ProbeError> {
    let started = Instant::now();
    let mut last_error = None;
    for addr in targets(config) {
        let failed = |kind| ProbeError { addr, kind };
        match ask(addr, started) {
            Ok(status) if status < 500 => return Ok(status),
            Ok(status) => return Err(failed(ProbeErrorKind::Status(status))),
            Err(kind) => last_error = Some(failed(kind)),
        }
    }
    // `targets` is never empty.
    Err(last_error.unwrap_or(ProbeError {
        addr: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), config.port),
        kind: ProbeErrorKind::Timeout,
    }))
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

fn ask(addr: SocketAddr, started: Instant) -> Result<u16, ProbeErrorKind> {
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
    stream
        .write_all(b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(timed)?;
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
