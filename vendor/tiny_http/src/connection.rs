//! Abstractions of Tcp and Unix socket types

#[cfg(unix)]
use std::os::unix::net as unix_net;
use std::{
    io::ErrorKind,
    net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs},
    path::PathBuf,
    sync::atomic::{AtomicI32, Ordering},
    time::Duration,
};

/// Unified listener. Either a [`TcpListener`] or [`std::os::unix::net::UnixListener`]
pub enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(unix_net::UnixListener),
}
impl Listener {
    pub(crate) fn local_addr(&self) -> std::io::Result<ListenAddr> {
        match self {
            Self::Tcp(l) => l.local_addr().map(ListenAddr::from),
            #[cfg(unix)]
            Self::Unix(l) => l.local_addr().map(ListenAddr::from),
        }
    }

    /// Sets TCP_NODELAY on a TCP listener, for accepted sockets to inherit (Linux); returns
    /// whether it did, so that connections needn't set it one by one.
    pub(crate) fn set_inherited_options(&self) -> bool {
        use std::os::unix::io::AsRawFd;
        match self {
            Self::Tcp(l) => crate::sys::set_inherited_nodelay(l.as_raw_fd()).is_ok(),
            #[cfg(unix)]
            Self::Unix(_) => false,
        }
    }

    pub(crate) fn set_nonblocking(&self) -> std::io::Result<()> {
        match self {
            Self::Tcp(l) => l.set_nonblocking(true),
            #[cfg(unix)]
            Self::Unix(l) => l.set_nonblocking(true),
        }
    }

    pub(crate) fn raw_fd(&self) -> std::os::unix::io::RawFd {
        use std::os::unix::io::AsRawFd;
        match self {
            Self::Tcp(l) => l.as_raw_fd(),
            #[cfg(unix)]
            Self::Unix(l) => l.as_raw_fd(),
        }
    }

    pub(crate) fn accept(&self) -> std::io::Result<(Connection, Option<SocketAddr>)> {
        match self {
            Self::Tcp(l) => {
                let (conn, addr) = l.accept()?;
                Ok((Connection::new(conn)?, Some(addr)))
            }
            #[cfg(unix)]
            Self::Unix(l) => Ok((Connection::new(l.accept()?.0)?, None)),
        }
    }
}
impl From<TcpListener> for Listener {
    fn from(s: TcpListener) -> Self {
        Self::Tcp(s)
    }
}
#[cfg(unix)]
impl From<unix_net::UnixListener> for Listener {
    fn from(s: unix_net::UnixListener) -> Self {
        Self::Unix(s)
    }
}

/// An accepted connection: a non-blocking socket whose reads and writes wait in poll(2), up
/// to the current read or write timeout.
///
/// Non-blocking, so that an idle connection can wait in the server's epoll set rather than
/// on a thread of its own, and so that a thread finds out before it would wait for a client
/// (see [`crate::util::will_block`]). Reads and writes go through `&Connection`, so that the
/// thread serving the connection, the request it is handling and the registry (which shuts
/// connections down) share one socket. Upstream cloned the socket with `try_clone().unwrap()`
/// instead: two descriptors per connection, and a panic when descriptors ran out.
#[derive(Debug)]
pub(crate) struct Connection {
    socket: Socket,
    /// In poll(2)'s milliseconds, -1 for none; atomics because the socket is shared.
    read_timeout: AtomicI32,
    write_timeout: AtomicI32,
}

#[derive(Debug)]
enum Socket {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(unix_net::UnixStream),
}

impl std::io::Read for &Connection {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.try_read(buf) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.wait(libc::POLLIN, &self.read_timeout)?
                }
                result => return result,
            }
        }
    }
}

impl std::io::Write for &Connection {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        loop {
            match self.try_write(buf) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.wait_writable()?,
                result => return result,
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Connection {
    /// Makes the socket non-blocking, with no timeouts yet.
    pub(crate) fn new(socket: impl Into<Connection>) -> std::io::Result<Connection> {
        let conn = socket.into();
        match &conn.socket {
            Socket::Tcp(s) => s.set_nonblocking(true)?,
            #[cfg(unix)]
            Socket::Unix(s) => s.set_nonblocking(true)?,
        }
        Ok(conn)
    }

    /// Reads what has arrived, without waiting: `WouldBlock` if nothing has.
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::Read;
        match &self.socket {
            Socket::Tcp(s) => (&*s).read(buf),
            #[cfg(unix)]
            Socket::Unix(s) => (&*s).read(buf),
        }
    }

    /// Writes what fits in the socket's buffer, without waiting: `WouldBlock` if nothing does.
    pub(crate) fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
        use std::io::Write;
        match &self.socket {
            Socket::Tcp(s) => (&*s).write(buf),
            #[cfg(unix)]
            Socket::Unix(s) => (&*s).write(buf),
        }
    }

    /// Waits, up to the write timeout, until the socket can take more bytes.
    pub(crate) fn wait_writable(&self) -> std::io::Result<()> {
        self.wait(libc::POLLOUT, &self.write_timeout)
    }

    fn wait(&self, events: libc::c_short, timeout: &AtomicI32) -> std::io::Result<()> {
        crate::util::will_block();
        let timeout = timeout.load(Ordering::Relaxed);
        loop {
            match crate::sys::poll_one(self.raw_fd(), events, timeout) {
                Ok(true) => return Ok(()),
                Ok(false) => return Err(std::io::Error::new(ErrorKind::TimedOut, "timed out")),
                // A signal: wait again (a little longer in total, never shorter).
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> std::io::Result<()> {
        match &self.socket {
            Socket::Tcp(s) => s.shutdown(how),
            #[cfg(unix)]
            Socket::Unix(s) => s.shutdown(how),
        }
    }

    /// How long a read may wait for the client; `None` for as long as it takes.
    pub(crate) fn set_read_timeout(&self, timeout: Option<Duration>) {
        self.read_timeout
            .store(crate::sys::millis(timeout), Ordering::Relaxed);
    }

    /// How long a write may wait for the client to make room; `None` for as long as it takes.
    pub(crate) fn set_write_timeout(&self, timeout: Option<Duration>) {
        self.write_timeout
            .store(crate::sys::millis(timeout), Ordering::Relaxed);
    }

    pub(crate) fn raw_fd(&self) -> std::os::unix::io::RawFd {
        use std::os::unix::io::AsRawFd;
        match &self.socket {
            Socket::Tcp(s) => s.as_raw_fd(),
            #[cfg(unix)]
            Socket::Unix(s) => s.as_raw_fd(),
        }
    }

    /// Sets TCP_NODELAY, unless accepted sockets inherit it from the listener (see
    /// [`Listener::set_inherited_options`]). A response goes out in at most two sends (head
    /// with small body, then a sendfile): with Nagle's algorithm the second waits for the
    /// client's delayed ACK, ~40 ms per keep-alive request.
    pub(crate) fn set_nodelay(&self) -> std::io::Result<()> {
        match &self.socket {
            Socket::Tcp(s) => s.set_nodelay(true),
            #[cfg(unix)]
            Socket::Unix(_) => Ok(()),
        }
    }
}

impl From<TcpStream> for Connection {
    fn from(s: TcpStream) -> Self {
        Connection::from_socket(Socket::Tcp(s))
    }
}
#[cfg(unix)]
impl From<unix_net::UnixStream> for Connection {
    fn from(s: unix_net::UnixStream) -> Self {
        Connection::from_socket(Socket::Unix(s))
    }
}
impl Connection {
    fn from_socket(socket: Socket) -> Connection {
        Connection {
            socket,
            read_timeout: AtomicI32::new(-1),
            write_timeout: AtomicI32::new(-1),
        }
    }
}

#[derive(Debug, Clone)]
pub enum ConfigListenAddr {
    IP(Vec<SocketAddr>),
    #[cfg(unix)]
    // TODO: use SocketAddr when bind_addr is stabilized
    Unix(std::path::PathBuf),
}
impl ConfigListenAddr {
    pub fn from_socket_addrs<A: ToSocketAddrs>(addrs: A) -> std::io::Result<Self> {
        addrs.to_socket_addrs().map(|it| Self::IP(it.collect()))
    }

    #[cfg(unix)]
    pub fn unix_from_path<P: Into<PathBuf>>(path: P) -> Self {
        Self::Unix(path.into())
    }

    pub(crate) fn bind(&self) -> std::io::Result<Listener> {
        match self {
            Self::IP(a) => TcpListener::bind(a.as_slice()).map(Listener::from),
            #[cfg(unix)]
            Self::Unix(a) => unix_net::UnixListener::bind(a).map(Listener::from),
        }
    }
}

/// Unified listen socket address. Either a [`SocketAddr`] or [`std::os::unix::net::SocketAddr`].
#[derive(Debug, Clone)]
pub enum ListenAddr {
    IP(SocketAddr),
    #[cfg(unix)]
    Unix(unix_net::SocketAddr),
}
impl ListenAddr {
    pub fn to_ip(self) -> Option<SocketAddr> {
        match self {
            Self::IP(s) => Some(s),
            #[cfg(unix)]
            Self::Unix(_) => None,
        }
    }

    /// Gets the Unix socket address.
    ///
    /// This is also available on non-Unix platforms, for ease of use, but always returns `None`.
    #[cfg(unix)]
    pub fn to_unix(self) -> Option<unix_net::SocketAddr> {
        match self {
            Self::IP(_) => None,
            Self::Unix(s) => Some(s),
        }
    }
    #[cfg(not(unix))]
    pub fn to_unix(self) -> Option<SocketAddr> {
        None
    }
}
impl From<SocketAddr> for ListenAddr {
    fn from(s: SocketAddr) -> Self {
        Self::IP(s)
    }
}
#[cfg(unix)]
impl From<unix_net::SocketAddr> for ListenAddr {
    fn from(s: unix_net::SocketAddr) -> Self {
        Self::Unix(s)
    }
}
impl std::fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::IP(s) => s.fmt(f),
            #[cfg(unix)]
            Self::Unix(s) => std::fmt::Debug::fmt(s, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn accepted_connections_inherit_nodelay_and_are_non_blocking() {
        let listener = Listener::from(TcpListener::bind("127.0.0.1:0").unwrap());
        assert!(listener.set_inherited_options());
        let addr = listener.local_addr().unwrap().to_ip().unwrap();
        let _client = TcpStream::connect(addr).unwrap();
        let (conn, _) = listener.accept().unwrap();
        let Socket::Tcp(accepted) = &conn.socket else {
            panic!("not TCP")
        };
        assert!(accepted.nodelay().unwrap());
        let mut buf = [0u8; 8];
        let err = conn.try_read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
    }

    #[test]
    fn a_read_waits_no_longer_than_the_read_timeout() {
        use std::io::Read;
        let listener = Listener::from(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = listener.local_addr().unwrap().to_ip().unwrap();
        let _client = TcpStream::connect(addr).unwrap();
        let (conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_millis(50)));
        let started = std::time::Instant::now();
        let err = (&conn).read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
}
