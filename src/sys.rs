//! The system calls std doesn't wrap: opening relative to a directory descriptor (`openat`,
//! `openat2`, with `O_PATH`), reading a directory from its descriptor (`getdents64`,
//! `fstatat`), a listening socket passed by a service manager, the listening socket's backlog,
//! the open-file limit, and signals (waiting for them, reaping children). Every `unsafe` block of the crate is in this module.
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

/// Flags for a descriptor that only names an object (`O_PATH`): it resolves the path, symlinks
/// included, without opening what it finds, so a FIFO's writer isn't released and a device's
/// driver isn't called. Such a descriptor can be inspected (`fstat`, its `/proc` link) and then
/// reopened for reading.
const PATH_FLAGS: libc::c_int = libc::O_PATH | libc::O_CLOEXEC;

/// openat(2) with `O_PATH`: names `path` relative to the directory `dir`, following symlinks,
/// without opening it.
pub fn openat_path(dir: &File, path: &CStr) -> io::Result<File> {
    // SAFETY: `dir` is an open descriptor and `path` a NUL-terminated string, both borrowed for
    // the duration of the call.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), path.as_ptr(), PATH_FLAGS) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openat returned a new descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Opens for reading the object an `O_PATH` descriptor names, through its `/proc` link: the
/// very object that was checked, not whatever its path names now.
pub fn reopen(named: &File) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(proc_link(named))
}

/// The `/proc/self/fd` link of a descriptor: reading it gives the path the kernel resolved.
pub fn proc_link(file: &File) -> String {
    format!("/proc/self/fd/{}", file.as_raw_fd())
}

/// What `fstatat` says of a directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// The file type bits (`libc::S_IFMT` of `st_mode`).
    pub kind: libc::mode_t,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
}

/// fstatat(2) of `name` in the directory `dir`, not following a final symlink.
pub fn lstat_at(dir: &File, name: &CStr) -> io::Result<Stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `dir` is an open descriptor, `name` a NUL-terminated string, and `st` a buffer
    // of the right type that fstatat fills; it is read only after success.
    let st = unsafe {
        if libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        st.assume_init()
    };
    Ok(Stat {
        kind: st.st_mode & libc::S_IFMT,
        size: st.st_size as u64,
        mtime: st.st_mtime as i64,
    })
}

/// getdents64(2): reads the next directory entries of `dir` into `buf`; 0 at the end. Parse
/// them with [`dirents`].
pub fn getdents(dir: &File, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a valid, exclusive buffer of `buf.len()` bytes for the duration of the
    // call, and `dir` an open descriptor.
    let n = unsafe {
        libc::syscall(
            libc::SYS_getdents64,
            dir.as_raw_fd(),
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// The entries `getdents64` put in `buf`: `(d_type, name)`, the name without its NUL.
pub fn dirents(buf: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
    let mut rest = buf;
    std::iter::from_fn(move || loop {
        let reclen = usize::from(u16::from_ne_bytes([*rest.get(16)?, *rest.get(17)?]));
        if reclen < 19 || reclen > rest.len() {
            return None;
        }
        let (record, next) = rest.split_at(reclen);
        rest = next;
        let name = &record[19..];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        if name != b"." && name != b".." {
            return Some((record[18], name));
        }
    })
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

/// Takes the descriptor `fd`, passed by a service manager, as a listening TCP socket, after
/// checking that it is one: a stream socket that accepts connections. It is marked
/// close-on-exec, as our own descriptors are.
pub fn inherited_listener(fd: libc::c_int) -> io::Result<std::net::TcpListener> {
    let int_opt = |name| -> io::Result<libc::c_int> {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `value`, a live local, for a
        // descriptor number that is only read.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                name,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(value)
    };
    if int_opt(libc::SO_TYPE)? != libc::SOCK_STREAM || int_opt(libc::SO_ACCEPTCONN)? != 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a listening stream socket",
        ));
    }
    // SAFETY: fcntl on a descriptor just checked to be an open socket.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the service manager passed the descriptor for us to own, and nothing else in
    // this process refers to it.
    Ok(unsafe { std::net::TcpListener::from_raw_fd(fd) })
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

/// Reaps every child that has exited, without waiting. As PID 1 in a container the server
/// inherits orphaned processes (say, from `docker exec`); unreaped, they would stay zombies.
pub fn reap_children() {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with WNOHANG only writes the status through a valid pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return;
        }
    }
}
