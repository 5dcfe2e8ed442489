//! The one system call std doesn't wrap for us. The only `unsafe` in this crate.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::unix::io::{AsRawFd, RawFd};

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
