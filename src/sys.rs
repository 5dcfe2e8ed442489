//! The system calls std doesn't wrap: opening relative to a directory descriptor (`openat`,
//! `openat2`), the listening socket's backlog, the open-file limit, and waiting for signals.
//! Every `unsafe` block of the crate is in this module.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::mem::MaybeUninit;
use std::os::unix::io::{AsRawFd, FromRawFd};

/// Flags for every file we open: read only, not inherited, never a controlling terminal, and
/// non-blocking so that opening a FIFO someone left in the tree can't hang the thread.
const OPEN_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK;

/// openat(2): opens `path` relative to the directory `dir`, following symlinks.
pub fn openat(dir: &File, path: &CStr) -> io::Result<File> {
    // SAFETY: `dir` is an open descriptor and `path` a NUL-terminated string, both borrowed for
    // the duration of the call.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), path.as_ptr(), OPEN_FLAGS) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openat returned a new descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// The kernel's `struct open_how` (linux/openat2.h).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;

/// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS: opens `path` under `dir` only if no
/// component is a symlink (ELOOP if one is) and nothing escapes `dir` (EXDEV). One system call
/// proves a path is inside the root, where checking the canonical path afterwards takes several.
///
/// Fails with `ErrorKind::Unsupported` on kernels before 5.6 and where a seccomp filter
/// refuses the call (older Docker profiles answer EPERM).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn openat2_no_symlinks(dir: &File, path: &CStr) -> io::Result<File> {
    let how = OpenHow {
        flags: OPEN_FLAGS as u64,
        mode: 0,
        resolve: RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: the arguments are an open descriptor, a NUL-terminated string and a pointer to
    // a correctly laid out `open_how` with its size, all valid for the duration of the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        let err = io::Error::last_os_error();
        return Err(match err.raw_os_error() {
            Some(libc::ENOSYS | libc::EPERM) => io::Error::new(io::ErrorKind::Unsupported, err),
            _ => err,
        });
    }
    // SAFETY: the syscall returned a new descriptor (a non-negative int) that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd as libc::c_int) })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn openat2_no_symlinks(_: &File, _: &CStr) -> io::Result<File> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "openat2"))
}

/// listen(2) again on a listening socket: raises its accept queue to `backlog` (capped by the
/// kernel at net.core.somaxconn). std listens with 128, too few for a burst of a few hundred
/// connections: the rest are dropped and retried a second later by the client's SYN timer.
pub fn set_backlog(listener: &std::net::TcpListener, backlog: libc::c_int) -> io::Result<()> {
    // SAFETY: a plain call on a descriptor the listener owns and keeps open during it.
    if unsafe { libc::listen(listener.as_raw_fd(), backlog) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Raises the soft limit on open files to the hard limit, as Go programs do at start-up: the
/// soft default (often 1,024) is below what the connection cap needs. Returns the soft limit
/// in force afterwards.
pub fn raise_open_file_limit() -> io::Result<u64> {
    let mut limit = MaybeUninit::<libc::rlimit>::uninit();
    // SAFETY: getrlimit fills the struct it is given; it is read only after success.
    let mut limit = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, limit.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        limit.assume_init()
    };
    if limit.rlim_cur < limit.rlim_max {
        let wanted = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: a valid rlimit passed by reference for the duration of the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } == 0 {
            limit = wanted;
        }
    }
    Ok(limit.rlim_cur as u64)
}

/// A set of signals held blocked in every thread, to be taken one at a time by
/// [`Signals::wait`].
#[derive(Clone, Copy)]
pub struct Signals {
    set: libc::sigset_t,
}

impl Signals {
    /// Blocks `signals` in the calling thread and in every thread it starts afterwards, so
    /// that they stay pending until [`Signals::wait`] takes them. Call it before starting
    /// threads: a thread started earlier would still get the default action (death).
    pub fn block(signals: &[libc::c_int]) -> io::Result<Signals> {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset initialises the set it is given; sigaddset and pthread_sigmask
        // then read and write that initialised set only.
        unsafe {
            libc::sigemptyset(set.as_mut_ptr());
            for &signal in signals {
                libc::sigaddset(set.as_mut_ptr(), signal);
            }
            let set = set.assume_init();
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if rc != 0 {
                return Err(io::Error::from_raw_os_error(rc));
            }
            Ok(Signals { set })
        }
    }

    /// Waits for one of the blocked signals and returns its number.
    pub fn wait(&self) -> libc::c_int {
        loop {
            let mut signal: libc::c_int = 0;
            // SAFETY: `self.set` is an initialised signal set and `signal` a valid out pointer.
            let rc = unsafe { libc::sigwait(&self.set, &mut signal) };
            if rc == 0 {
                return signal;
            }
        }
    }
}
