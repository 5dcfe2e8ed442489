//! An accepted connection's socket: non-blocking, with every wait done in poll(2) up to a
//! timeout.
//!
//! Non-blocking, so that a connection waiting for its client can wait in the server's epoll
//! set rather than on a thread, and so that a thread learns it would wait before it does (see
//! [`crate::util::will_block`]). Reads and writes go through `&Connection`, so that the thread
//! serving the connection, the request being handled and the registry (which shuts connections
//! down) share one descriptor. Upstream cloned the socket with `try_clone().unwrap()` instead:
//! two descriptors per connection, and a panic when descriptors ran out.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::io::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    /// How long a blocking read may wait, in poll(2)'s milliseconds (-1: forever); atomic
    /// because the socket is shared.
    read_timeout: AtomicI32,
    /// The same for the few writes that wait on the thread (refusals and error answers).
    write_timeout: AtomicI32,
}

impl Connection {
    /// Takes a non-blocking socket (see [`crate::sys::accept_nonblocking`]), with no timeouts
    /// yet.
    pub(crate) fn new(stream: TcpStream) -> Connection {
        Connection {
            stream,
            read_timeout: AtomicI32::new(-1),
            write_timeout: AtomicI32::new(-1),
        }
    }

    /// Reads what has arrived, without waiting: `WouldBlock` if nothing has.
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.stream).read(buf)
    }

    /// Writes what fits in the socket's buffer, without waiting: `WouldBlock` if nothing does.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        (&self.stream).write(buf)
    }

    /// Reads, waiting up to the read timeout for bytes to arrive (`TimedOut` after it).
    pub(crate) fn read_waiting(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.try_read(buf) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.wait(libc::POLLIN, &self.read_timeout)?
                }
                result => return result,
            }
        }
    }

    /// Writes all of `buf`, waiting up to the write timeout each time the socket is full.
    pub(crate) fn write_all_waiting(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.try_write(buf) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.wait(libc::POLLOUT, &self.write_timeout)?
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn wait(&self, events: libc::c_short, timeout: &AtomicI32) -> io::Result<()> {
        crate::util::will_block();
        let timeout = timeout.load(Ordering::Relaxed);
        loop {
            match crate::sys::poll_one(self.raw_fd(), events, timeout) {
                Ok(true) => return Ok(()),
                Ok(false) => return Err(io::Error::new(ErrorKind::TimedOut, "timed out")),
                // A signal: wait again (a little longer in total, never shorter).
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether bytes have arrived that nobody has read yet, without waiting.
    pub(crate) fn has_input(&self) -> bool {
        crate::sys::poll_revents(self.raw_fd(), libc::POLLIN).is_ok_and(|r| r & libc::POLLIN != 0)
    }

    /// Whether the peer has closed its side or the connection broke, without waiting.
    pub(crate) fn peer_gone(&self) -> bool {
        crate::sys::poll_revents(self.raw_fd(), libc::POLLRDHUP)
            .is_ok_and(|r| r & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0)
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.stream.shutdown(how)
    }

    /// How long a read may wait for the client; `None` for as long as it takes.
    pub(crate) fn set_read_timeout(&self, timeout: Option<Duration>) {
        self.read_timeout
            .store(crate::sys::millis(timeout), Ordering::Relaxed);
    }

    /// How long a waiting write may wait for room; `None` for as long as it takes.
    pub(crate) fn set_write_timeout(&self, timeout: Option<Duration>) {
        self.write_timeout
            .store(crate::sys::millis(timeout), Ordering::Relaxed);
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.stream.as_raw_fd()
    }

    /// Sets TCP_NODELAY, unless accepted sockets inherit it from the listener (see
    /// [`crate::sys::set_inherited_nodelay`]). A response goes out in at most two sends (head
    /// with a small body, then a sendfile): with Nagle's algorithm the second waits for the
    /// client's delayed ACK, ~40 ms per keep-alive request.
    pub(crate) fn set_nodelay(&self) -> io::Result<()> {
        self.stream.set_nodelay(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (Connection, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(crate::sys::set_inherited_nodelay(listener.as_raw_fd()).is_ok());
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, addr) = crate::sys::accept_nonblocking(&listener).unwrap();
        assert_eq!(addr, client.local_addr().unwrap());
        assert!(accepted.nodelay().unwrap(), "TCP_NODELAY is inherited");
        (Connection::new(accepted), client)
    }

    #[test]
    fn accepted_ipv6_connections_carry_the_peer_address() {
        let Ok(listener) = TcpListener::bind("[::1]:0") else {
            eprintln!("skipped: no IPv6 loopback here");
            return;
        };
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_, addr) = crate::sys::accept_nonblocking(&listener).unwrap();
        assert_eq!(addr, client.local_addr().unwrap());
    }

    #[test]
    fn connections_are_non_blocking() {
        let (conn, _client) = pair();
        let err = conn.try_read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
    }

    #[test]
    fn a_read_waits_no_longer_than_the_read_timeout() {
        let (conn, _client) = pair();
        conn.set_read_timeout(Some(Duration::from_millis(50)));
        let started = std::time::Instant::now();
        let err = conn.read_waiting(&mut [0u8; 8]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn a_closed_peer_is_seen_without_waiting() {
        let (conn, client) = pair();
        assert!(!conn.peer_gone());
        drop(client);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !conn.peer_gone() {
            assert!(std::time::Instant::now() < deadline, "peer close not seen");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
