//! Abstractions of Tcp and Unix socket types

#[cfg(unix)]
use std::os::unix::net as unix_net;
use std::{
    net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs},
    path::PathBuf,
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

    /// Sets on a TCP listener the options accepted sockets inherit from it (Linux); returns
    /// whether it did, so that connections needn't set them one by one.
    pub(crate) fn set_inherited_options(&self, write_timeout: Option<Duration>) -> bool {
        use std::os::unix::io::AsRawFd;
        match self {
            Self::Tcp(l) => crate::sys::set_inherited_options(l.as_raw_fd(), write_timeout).is_ok(),
            #[cfg(unix)]
            Self::Unix(_) => false,
        }
    }

    pub(crate) fn accept(&self) -> std::io::Result<(Connection, Option<SocketAddr>)> {
        match self {
            Self::Tcp(l) => l
                .accept()
                .map(|(conn, addr)| (Connection::from(conn), Some(addr))),
            #[cfg(unix)]
            Self::Unix(l) => l.accept().map(|(conn, _)| (Connection::from(conn), None)),
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

/// Unified connection. Either a [`TcpStream`] or [`std::os::unix::net::UnixStream`].
#[derive(Debug)]
pub(crate) enum Connection {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(unix_net::UnixStream),
}
// Reads and writes go through `&Connection`, so that the connection's thread, the request it
// is handling and the registry (which shuts connections down) can share one socket. Upstream
// cloned the socket with `try_clone().unwrap()` instead: two descriptors per connection, and a
// panic when descriptors ran out.
impl std::io::Read for &Connection {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Connection::Tcp(s) => (&*s).read(buf),
            #[cfg(unix)]
            Connection::Unix(s) => (&*s).read(buf),
        }
    }
}
impl std::io::Write for &Connection {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Connection::Tcp(s) => (&*s).write(buf),
            #[cfg(unix)]
            Connection::Unix(s) => (&*s).write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl Connection {
    pub(crate) fn shutdown(&self, how: Shutdown) -> std::io::Result<()> {
        match self {
            Self::Tcp(s) => s.shutdown(how),
            #[cfg(unix)]
            Self::Unix(s) => s.shutdown(how),
        }
    }

    /// Sets the socket options every connection gets. TCP_NODELAY because a response goes out
    /// in at most two sends (head with small body, then a sendfile): with Nagle's algorithm the
    /// second waits for the client's delayed ACK, ~40 ms per keep-alive request.
    /// `inherited`: the listener already set TCP_NODELAY and the write timeout (see
    /// [`Listener::set_inherited_options`]).
    pub(crate) fn configure(
        &self,
        read_timeout: Option<Duration>,
        write_timeout: Option<Duration>,
        inherited: bool,
    ) -> std::io::Result<()> {
        match self {
            Self::Tcp(s) if inherited => s.set_read_timeout(read_timeout),
            Self::Tcp(s) => {
                s.set_nodelay(true)?;
                s.set_read_timeout(read_timeout)?;
                s.set_write_timeout(write_timeout)
            }
            #[cfg(unix)]
            Self::Unix(s) => {
                s.set_read_timeout(read_timeout)?;
                s.set_write_timeout(write_timeout)
            }
        }
    }

    pub(crate) fn set_read_timeout(&self, timeout: Option<Duration>) -> std::io::Result<()> {
        match self {
            Self::Tcp(s) => s.set_read_timeout(timeout),
            #[cfg(unix)]
            Self::Unix(s) => s.set_read_timeout(timeout),
        }
    }

    pub(crate) fn set_nonblocking(&self, on: bool) -> std::io::Result<()> {
        match self {
            Self::Tcp(s) => s.set_nonblocking(on),
            #[cfg(unix)]
            Self::Unix(s) => s.set_nonblocking(on),
        }
    }

    pub(crate) fn raw_fd(&self) -> std::os::unix::io::RawFd {
        use std::os::unix::io::AsRawFd;
        match self {
            Self::Tcp(s) => s.as_raw_fd(),
            #[cfg(unix)]
            Self::Unix(s) => s.as_raw_fd(),
        }
    }
}
impl From<TcpStream> for Connection {
    fn from(s: TcpStream) -> Self {
        Self::Tcp(s)
    }
}
#[cfg(unix)]
impl From<unix_net::UnixStream> for Connection {
    fn from(s: unix_net::UnixStream) -> Self {
        Self::Unix(s)
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
    fn accepted_sockets_inherit_nodelay_and_the_write_timeout() {
        let listener = Listener::from(TcpListener::bind("127.0.0.1:0").unwrap());
        // Whole seconds: the kernel keeps socket timeouts in clock ticks.
        let timeout = Duration::from_secs(7);
        assert!(listener.set_inherited_options(Some(timeout)));
        let addr = listener.local_addr().unwrap().to_ip().unwrap();
        let _client = TcpStream::connect(addr).unwrap();
        let (conn, _) = listener.accept().unwrap();
        let Connection::Tcp(accepted) = conn else {
            panic!("not TCP")
        };
        assert!(accepted.nodelay().unwrap());
        assert_eq!(accepted.write_timeout().unwrap(), Some(timeout));
        // The read timeout must not be inherited from the listener (it would time out accept).
        assert_eq!(accepted.read_timeout().unwrap(), None);
    }
}
