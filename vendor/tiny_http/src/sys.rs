//! The system calls std doesn't wrap for us: sendfile, MSG_MORE, socket options, a
//! non-blocking accept, poll, epoll and the coarse clocks. The only `unsafe` in this crate. Linux only: the
//! engine is built on epoll.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, TcpListener, TcpStream};
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Sends up to `count` bytes of `file`, starting at `*offset`, to the socket `out` with
/// sendfile(2), without copying them through user space; advances `*offset` by the bytes sent.
///
/// Returns 0 at the end of the file. Fails with `InvalidInput` or `Unsupported` where the file
/// system can't do sendfile; the caller then copies through a buffer.
pub(crate) fn sendfile(
    out: RawFd,
    file: &File,
    offset: &mut u64,
    count: usize,
) -> io::Result<usize> {
    let mut off = libc::off_t::try_from(*offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file offset too large"))?;
    // Linux sends at most 0x7ffff000 bytes per call anyway.
    let count = count.min(0x7fff_f000);
    // SAFETY: both descriptors are open for the duration of the call (`out` is owned by the
    // connection the caller holds, `file` is borrowed); `off` is a valid, exclusive pointer.
    let sent = unsafe { libc::sendfile(out, file.as_raw_fd(), &mut off, count) };
    if sent < 0 {
        let err = io::Error::last_os_error();
        return Err(match err.raw_os_error() {
            Some(libc::ENOSYS) => io::Error::new(io::ErrorKind::Unsupported, err),
            _ => err,
        });
    }
    *offset = off as u64;
    Ok(sent as usize)
}

/// Sends what it can of `buf` on the socket `out` with MSG_MORE: the kernel holds the bytes
/// back to go out with what the next call sends (a sendfile body), as TCP_CORK would, so a
/// response head doesn't take a segment, and a wake-up of the client, of its own.
pub(crate) fn send_more(out: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a valid readable slice for the duration of the call and `out` an open
    // socket owned by the caller's connection.
    let sent = unsafe {
        libc::send(
            out,
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_MORE | libc::MSG_NOSIGNAL,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(sent as usize)
}

/// Sets TCP_NODELAY on a listening socket. Linux copies it to every socket `accept()`
/// returns, which saves a system call per connection.
pub(crate) fn set_inherited_nodelay(listener: RawFd) -> io::Result<()> {
    set_int_option(listener, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)
}

/// Sets TCP_DEFER_ACCEPT on a listening socket: `accept()` then returns a connection only once
/// its first bytes have arrived, or once the kernel has waited `secs` (rounded up to its next
/// SYN-ACK retransmission) for them, after which the connection is handed over as it is.
pub(crate) fn set_defer_accept(listener: RawFd, secs: libc::c_int) -> io::Result<()> {
    set_int_option(listener, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, secs)
}

fn set_int_option(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `fd` is an open socket for the duration of the call, and the option value is a
    // live, correctly sized local passed with its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Accepts a connection as a non-blocking socket in one system call: `TcpListener::accept`
/// returns a blocking one, and making it non-blocking costs an `ioctl` per connection.
pub(crate) fn accept_nonblocking(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    // SAFETY: all zeroes is a valid `sockaddr_storage` (a plain C struct).
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: the listener is open for the duration of the call; the kernel writes at most
    // `len` bytes of address into `storage`, which is that large and lives across the call.
    let fd = unsafe {
        libc::accept4(
            listener.as_raw_fd(),
            (&mut storage as *mut libc::sockaddr_storage).cast(),
            &mut len,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: accept4 just returned this descriptor, and nothing else owns it.
    let stream = TcpStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let addr = match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a `sockaddr_in`, as the family says, into storage large
            // and aligned enough for any address.
            let v4 = unsafe {
                &*(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>()
            };
            SocketAddr::from((
                Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)),
                u16::from_be(v4.sin_port),
            ))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for a `sockaddr_in6`.
            let v6 = unsafe {
                &*(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(v6.sin6_addr.s6_addr),
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            ))
        }
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not an IP connection",
            ))
        }
    };
    Ok((stream, addr))
}

/// Error numbers the accept loop treats as running out of a resource: back off and retry.
pub(crate) fn is_resource_exhaustion(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Error numbers after which the listening socket is unusable: the accept loop gives up.
pub(crate) fn is_fatal_accept_error(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK | libc::EOPNOTSUPP | libc::EFAULT)
    )
}

/// The events `fd` has pending among `events` and the ones always reported (errors, hang-ups),
/// without waiting.
pub(crate) fn poll_revents(fd: RawFd, events: libc::c_short) -> io::Result<libc::c_short> {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: `pfd` is a valid, exclusive pollfd array of length 1 for the duration of the
    // call; `fd` is owned by the caller's connection.
    let n = unsafe { libc::poll(&mut pfd, 1, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(pfd.revents)
}

/// Waits up to `timeout_ms` (from [`millis`]; -1: forever) for `fd` to be ready for `events`
/// (`libc::POLLIN`, `libc::POLLOUT`). Returns false if the time ran out. Errors and hang-ups
/// count as ready: the read or write that follows reports them.
pub(crate) fn poll_one(
    fd: RawFd,
    events: libc::c_short,
    timeout_ms: libc::c_int,
) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: `pfd` is a valid, exclusive pollfd array of length 1 for the duration of the
    // call; `fd` is owned by the caller's connection.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n > 0)
}

/// A timeout in whole milliseconds for poll(2) and epoll_wait(2), rounded up so that a wait
/// never ends early; -1 is forever.
pub(crate) fn millis(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(t) => {
            let ms = t.as_millis() + u128::from(t.subsec_nanos() % 1_000_000 != 0);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    }
}

/// Milliseconds on `coarse` (a `CLOCK_*_COARSE`): the time of the last timer tick, so up to
/// one tick (1–10 ms, by the kernel's HZ) behind. The vDSO reads it without the TSC: 4 ns
/// against 17 ns for `CLOCK_MONOTONIC` on the benchmark host, and the engine asks the time
/// several times a request for timeouts that are counted in seconds. Should the coarse clock
/// be refused (it exists since Linux 2.6.32), `precise`, the clock it is a tick of, stands
/// in; a time before the epoch counts as the epoch.
fn coarse_millis(coarse: libc::clockid_t, precise: libc::clockid_t) -> u64 {
    let read = |clock| {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid timespec for clock_gettime(2) to write; it is read only
        // if the call succeeded.
        let rc = unsafe { libc::clock_gettime(clock, &mut now) };
        (rc == 0).then_some(now)
    };
    let Some(now) = read(coarse).or_else(|| read(precise)) else {
        return 0;
    };
    let secs = u64::try_from(now.tv_sec).unwrap_or(0);
    let millis = u64::try_from(now.tv_nsec / 1_000_000).unwrap_or(0);
    secs.saturating_mul(1000).saturating_add(millis)
}

/// Milliseconds on the monotonic clock, to a timer tick (see [`coarse_millis`]).
pub(crate) fn monotonic_coarse_millis() -> u64 {
    coarse_millis(libc::CLOCK_MONOTONIC_COARSE, libc::CLOCK_MONOTONIC)
}

/// Whole seconds since the Unix epoch, to a timer tick (see [`coarse_millis`]): enough for a
/// `Date` header, which has no finer unit.
pub(crate) fn unix_coarse_secs() -> u64 {
    coarse_millis(libc::CLOCK_REALTIME_COARSE, libc::CLOCK_REALTIME) / 1000
}

/// An epoll(7) instance for idle connections, with an eventfd in it that wakes every waiter
/// for good once set (to shut down).
pub(crate) struct Epoll {
    epfd: RawFd,
    wake: RawFd,
}

/// The token the wake-up eventfd is registered under; connection tokens never take it.
pub(crate) const WAKE_TOKEN: u64 = u64::MAX;

/// The token the listening socket is registered under; connection tokens never take it.
pub(crate) const LISTEN_TOKEN: u64 = u64::MAX - 1;

impl Epoll {
    pub(crate) fn new() -> io::Result<Epoll> {
        // SAFETY: plain system calls with constant arguments; each descriptor returned is
        // owned by the `Epoll` (closed in `Drop`) or closed here on failure.
        unsafe {
            let epfd = libc::epoll_create1(libc::EPOLL_CLOEXEC);
            if epfd < 0 {
                return Err(io::Error::last_os_error());
            }
            let wake = libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK);
            if wake < 0 {
                let err = io::Error::last_os_error();
                libc::close(epfd);
                return Err(err);
            }
            let epoll = Epoll { epfd, wake };
            // Level-triggered and never read: once set, every epoll_wait returns at once.
            epoll.ctl(libc::EPOLL_CTL_ADD, wake, libc::EPOLLIN as u32, WAKE_TOKEN)?;
            Ok(epoll)
        }
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: token };
        // SAFETY: `event` is a valid epoll_event for the duration of the call; `self.epfd` is
        // open while `self` lives, `fd` is open for the duration of the call (the caller's).
        if unsafe { libc::epoll_ctl(self.epfd, op, fd, &mut event) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Registers `fd` with `interest` (see [`Interest`]); `rearm` changes a registration, or
    /// renews a one-shot one. Either reports the descriptor at once if it is ready already.
    pub(crate) fn add(&self, fd: RawFd, token: u64, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, interest.events(), token)
    }

    pub(crate) fn rearm(&self, fd: RawFd, token: u64, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, interest.events(), token)
    }

    /// Takes up to `tokens.len()` ready events, waiting up to `timeout` (`None`: forever) for
    /// the first. Fills `tokens` with their tokens and returns how many; 0 if the time ran
    /// out or a signal interrupted the wait.
    pub(crate) fn wait(&self, tokens: &mut [u64], timeout: Option<Duration>) -> io::Result<usize> {
        const MAX: usize = 32;
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; MAX];
        let max = tokens.len().min(MAX);
        // SAFETY: `events` is a valid, exclusive buffer for `max` epoll_events; `self.epfd` is
        // open while `self` lives.
        let n = unsafe {
            libc::epoll_wait(self.epfd, events.as_mut_ptr(), max as i32, millis(timeout))
        };
        match usize::try_from(n) {
            Ok(n) => {
                for (token, event) in tokens.iter_mut().zip(&events[..n]) {
                    *token = event.u64;
                }
                Ok(n)
            }
            Err(_) => match io::Error::last_os_error() {
                e if e.kind() == io::ErrorKind::Interrupted => Ok(0),
                e => Err(e),
            },
        }
    }

    /// Makes every present and future `wait` return [`WAKE_TOKEN`] at once.
    pub(crate) fn wake_all(&self) {
        let one: u64 = 1;
        // SAFETY: writes the 8 bytes of a live local to the eventfd owned by `self`.
        unsafe { libc::write(self.wake, (&one as *const u64).cast(), 8) };
    }
}

/// What a registration waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interest {
    /// A connection to accept: one-shot, one event to one waiter, then nothing until re-armed.
    Accept,
    /// The next request (or the peer closing), edge-triggered: an event each time bytes
    /// arrive, and the registration stays, so a connection going back to wait for its next
    /// request costs no system call. Events also come while a thread is serving the
    /// connection; see `Pollers::watch` for how none is lost.
    Read,
    /// Room to write: one-shot. Errors and hang-ups are always reported.
    Write,
}

impl Interest {
    fn events(self) -> u32 {
        // No EPOLLRDHUP when waiting to write: a client that shut down its sending side may
        // still be reading, and the flag would wake us again and again while the socket is full.
        (match self {
            Interest::Accept => libc::EPOLLIN | libc::EPOLLONESHOT,
            Interest::Read => libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET,
            Interest::Write => libc::EPOLLOUT | libc::EPOLLONESHOT,
        }) as u32
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: both descriptors are owned by `self` and closed exactly once, here.
        unsafe {
            libc::close(self.wake);
            libc::close(self.epfd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Instant, SystemTime, UNIX_EPOCH};

    #[test]
    fn the_coarse_clocks_keep_time_to_a_tick() {
        let (started, from) = (Instant::now(), monotonic_coarse_millis());
        while monotonic_coarse_millis() < from + 50 {
            std::thread::yield_now();
        }
        // The coarse clock lags by at most a tick (10 ms at the slowest kernel HZ) at either
        // end, so 50 of its ms are at least 40 real ones; a busy host can only add to those.
        let real = started.elapsed().as_millis();
        assert!(real >= 40, "50 coarse ms took {real} ms");
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(unix_coarse_secs().abs_diff(wall) <= 1);
    }
}
