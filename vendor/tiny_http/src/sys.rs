//! The one system call std doesn't wrap for us. The only `unsafe` in this crate.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::unix::io::{AsRawFd, RawFd};
use std::time::Duration;

/// Sends up to `count` bytes of `file`, starting at `*offset`, to the socket `out` with
/// sendfile(2), without copying them through user space; advances `*offset` by the bytes sent.
///
/// Returns 0 at the end of the file. Fails with `InvalidInput` or `Unsupported` where the file
/// system can't do sendfile; the caller then copies through a buffer.
#[cfg(any(target_os = "linux", target_os = "android"))]
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

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn sendfile(_: RawFd, _: &File, _: &mut u64, _: usize) -> io::Result<usize> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "sendfile"))
}

/// Sends all of `buf` on the socket `out` with MSG_MORE: the kernel holds the bytes back to
/// go out with what the next call sends (a sendfile body), as TCP_CORK would, so a response
/// head doesn't take a segment, and a wake-up of the client, of its own.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn send_all_more(out: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is a valid readable slice for the duration of the call and `out` an
        // open socket owned by the caller's connection.
        let sent = unsafe {
            libc::send(
                out,
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_MORE | libc::MSG_NOSIGNAL,
            )
        };
        if sent < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        buf = &buf[sent as usize..];
    }
    Ok(())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn send_all_more(_: RawFd, _: &[u8]) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "MSG_MORE"))
}

/// Sets TCP_NODELAY and the send timeout on a listening socket. Linux copies both to every
/// socket `accept()` returns, which saves two system calls per connection. (Not the receive
/// timeout: `accept()` itself would obey it.)
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn set_inherited_options(
    listener: RawFd,
    write_timeout: Option<Duration>,
) -> io::Result<()> {
    let on: libc::c_int = 1;
    let timeout = write_timeout.unwrap_or(Duration::ZERO);
    let tv = libc::timeval {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_usec: libc::suseconds_t::from(timeout.subsec_micros() as i32),
    };
    // SAFETY: `listener` is an open socket for the duration of the calls, and each option
    // value is a live, correctly sized local passed with its size.
    let rc = unsafe {
        let nodelay = libc::setsockopt(
            listener,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        if nodelay != 0 {
            nodelay
        } else {
            libc::setsockopt(
                listener,
                libc::SOL_SOCKET,
                libc::SO_SNDTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        }
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn set_inherited_options(_: RawFd, _: Option<Duration>) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "inherited socket options",
    ))
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
