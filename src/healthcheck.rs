//! `http-fileserver healthcheck`: the probe a scratch image needs, having no curl.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::config::Config;

/// The whole probe must answer within this time.
const DEADLINE: Duration = Duration::from_secs(2);

/// Sends `OPTIONS *` to the server the configuration describes. `Ok` with the status if it
/// answered without a 5xx in time, `Err` with one line saying why not.
///
/// `OPTIONS *` exercises the accept loop, a connection thread and the parser without touching
/// the file system, so a probe every few seconds costs next to nothing.
pub fn probe(config: &Config) -> Result<u16, String> {
    let started = Instant::now();
    let mut last_error = String::new();
    for addr in targets(config) {
        match ask(addr, started) {
            Ok(status) if status < 500 => return Ok(status),
            Ok(status) => return Err(format!("{addr} answered {status}")),
            Err(e) => last_error = format!("{addr}: {e}"),
        }
    }
    Err(last_error)
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

fn ask(addr: SocketAddr, started: Instant) -> Result<u16, String> {
    let left = || {
        DEADLINE
            .checked_sub(started.elapsed())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| "no answer within 2 s".to_string())
    };
    let mut stream = TcpStream::connect_timeout(&addr, left()?).map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(left()?))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 64];
    while !head.contains(&b'\n') && head.len() < 1024 {
        stream
            .set_read_timeout(Some(left()?))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err("no answer within 2 s".into())
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    status_of(&head).ok_or_else(|| "not an HTTP response".to_string())
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
