//! Opening paths under the root by the symlink and dotfile policies, without ever opening an
//! object the policies refuse.
//!
//! A path without symlinks is opened in one `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`
//! call, which by itself proves it is inside the root. A path through a symlink is first only
//! *named* (`O_PATH`: resolved, not opened), then checked where the kernel resolved it (its
//! `/proc/self/fd` link: inside the root? through a dotfile?), and only then opened, through
//! that same link, so that what is opened is exactly what was checked. Opening first and
//! checking after would already have opened an outside FIFO (releasing its writer) or device;
//! checking a path and then opening it by name again would let a swap in between slip by.

use std::cell::Cell;
use std::ffi::{CStr, OsStr};
use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::policy::{Access, Symlinks};
use crate::sys;

/// The served directory: canonicalised once at start-up and held open, so that every lookup
/// is relative to it.
pub struct Root {
    path: PathBuf,
    dir: File,
    openat2: bool,
    /// Device and inode of the directory.
    identity: (u64, u64),
}

/// An open file or directory under the root, with its metadata.
pub struct Opened {
    /// The open file or directory.
    pub file: File,
    /// Its metadata, read from the open descriptor.
    pub meta: Metadata,
}

/// Why a path could not be served.
#[derive(Debug)]
pub enum OpenError {
    /// Nothing by that name: missing, under something that isn't a directory, or a name too
    /// long to exist: 404 (or the fallback page).
    Missing,
    /// Something the policies refuse, a symlink loop, or not a regular file or directory (a
    /// FIFO, a socket, a device): 404, exactly like a missing file.
    NotFound,
    /// Permission denied: 403.
    Forbidden,
    /// Out of file descriptors for the moment: 503.
    Busy,
    /// Anything else: 500.
    Failed(io::Error),
}

impl From<io::Error> for OpenError {
    fn from(err: io::Error) -> OpenError {
        match err.raw_os_error() {
            Some(libc::ENOENT | libc::ENOTDIR | libc::ENAMETOOLONG) => OpenError::Missing,
            Some(
                libc::ELOOP
                | libc::EXDEV
                // Sockets and devices without a driver: not files we could serve anyway.
                | libc::ENXIO
                | libc::ENODEV,
            ) => OpenError::NotFound,
            Some(libc::EACCES | libc::EPERM) => OpenError::Forbidden,
            Some(libc::EMFILE | libc::ENFILE) => OpenError::Busy,
            _ => OpenError::Failed(err),
        }
    }
}

impl Root {
    /// Opens the root directory. Fails if it doesn't exist or isn't a directory, or if paths
    /// can't be checked safely here (neither `openat2` nor `/proc/self/fd` available).
    pub fn new(path: &Path) -> io::Result<Root> {
        let path = fs::canonicalize(path)?;
        let dir = File::open(&path)?;
        let meta = dir.metadata()?;
        if !meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            ));
        }
        // openat2 is Linux 5.6+ and some seccomp profiles refuse it: find out once.
        let openat2 = sys::openat2_no_symlinks(&dir, c".").is_ok();
        if !openat2 && fs::read_link(sys::proc_link(&dir)).is_err() {
            return Err(io::Error::other(
                "cannot check paths safely: the kernel has no openat2(2) and /proc is not \
                 mounted (mount /proc, or run on Linux 5.6 or later)",
            ));
        }
        let identity = (meta.dev(), meta.ino());
        Ok(Root {
            path,
            dir,
            openat2,
            identity,
        })
    }

    /// The root's canonical path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The device and inode of the root directory: what a path names it by.
    pub fn identity(&self) -> (u64, u64) {
        self.identity
    }

    /// Opens `rel` (a clean relative path, empty for the root) if the policies allow it and
    /// it is a regular file or a directory. The caller has checked `rel` itself for hidden
    /// segments; this checks where symlinks lead.
    pub fn open(&self, rel: &[u8], access: Access) -> Result<Opened, OpenError> {
        with_c_path(rel, |c_path| self.open_c(rel, c_path, access))?
    }

    fn open_c(&self, rel: &[u8], c_path: &CStr, access: Access) -> Result<Opened, OpenError> {
        if self.openat2 {
            match sys::openat2_no_symlinks(&self.dir, c_path) {
                Ok(file) => {
                    let meta = file.metadata()?;
                    return servable(&meta).map(|()| Opened { file, meta });
                }
                // A symlink on the way: only the check below can allow it.
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    if access.symlinks == Symlinks::Deny {
                        return Err(OpenError::NotFound);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        let named = match sys::openat_path(&self.dir, c_path) {
            Ok(named) => named,
            Err(e) => return Err(self.missing_through(rel, e, access)),
        };
        self.check(&named, Some(rel), access)?;
        let meta = named.metadata()?;
        servable(&meta)?;
        let file = sys::reopen(&named)?;
        Ok(Opened { file, meta })
    }

    /// The error for `rel`, which failed with `err` on the way through a symlink: "missing"
    /// only if what does exist of it passes the policies. Otherwise a missing name behind a
    /// symlink out of the root would answer differently (with the fallback page) from one that
    /// exists there, telling outsiders which outside files exist.
    fn missing_through(&self, rel: &[u8], err: io::Error, access: Access) -> OpenError {
        let err = OpenError::from(err);
        if !matches!(err, OpenError::Missing) {
            return err;
        }
        let parent = match rel.iter().rposition(|&b| b == b'/') {
            Some(slash) => &rel[..slash],
            None => return err,
        };
        match with_c_path(parent, |c| sys::openat_path(&self.dir, c)) {
            Ok(Ok(named)) if self.check(&named, None, access).is_ok() => err,
            Ok(Ok(_)) => OpenError::NotFound,
            Ok(Err(e)) => self.missing_through(parent, e, access),
            Err(_) => OpenError::NotFound,
        }
    }

    /// Checks where the `O_PATH` descriptor `named` really is against the policies: inside the
    /// root (unless symlinks may lead anywhere), the same as `rel` when symlinks are denied,
    /// and through no hidden segment. Without a `/proc` link to read, nothing passes.
    pub fn check(&self, named: &File, rel: Option<&[u8]>, access: Access) -> Result<(), OpenError> {
        let real = fs::read_link(sys::proc_link(named)).map_err(|_| OpenError::NotFound)?;
        let inside = real.strip_prefix(&self.path).ok();
        let allowed = match access.symlinks {
            Symlinks::Any => true,
            Symlinks::Inside => inside.is_some(),
            // Reached only without openat2: then the real path must be the lexical one.
            Symlinks::Deny => {
                rel.is_some_and(|rel| inside == Some(Path::new(OsStr::from_bytes(rel))))
            }
        };
        // Inside the root, the rule applies to the path relative to it; outside (only with
        // `--symlinks any`), to every segment of the real path.
        let resolved = inside.unwrap_or(&real).as_os_str().as_bytes();
        if !allowed
            || access
                .dotfiles
                .hides_path(resolved.strip_prefix(b"/").unwrap_or(resolved))
        {
            return Err(OpenError::NotFound);
        }
        Ok(())
    }
}

/// Only regular files and directories are served.
fn servable(meta: &Metadata) -> Result<(), OpenError> {
    if meta.is_file() || meta.is_dir() {
        Ok(())
    } else {
        Err(OpenError::NotFound)
    }
}

thread_local! {
    /// The buffer [`with_c_path`] writes paths into, kept for the next call on this thread:
    /// a fresh one on the stack cost a 512-byte `memset` per request.
    static C_PATH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` with `rel` as a NUL-terminated path (`.` when empty). Fails with `ENOENT` if
/// `rel` holds a NUL, which no name can.
pub fn with_c_path<T>(rel: &[u8], f: impl FnOnce(&CStr) -> T) -> io::Result<T> {
    if rel.is_empty() {
        return Ok(f(c"."));
    }
    // Taken, not borrowed: `f` may build a path of its own.
    let mut buf = C_PATH.take();
    buf.clear();
    buf.extend_from_slice(rel);
    buf.push(0);
    let result = match CStr::from_bytes_with_nul(&buf) {
        Ok(c_path) => Ok(f(c_path)),
        Err(_) => Err(nul_error()),
    };
    // Paths are bounded by the request head; a long one's buffer isn't kept.
    if buf.capacity() <= 1024 {
        C_PATH.set(buf);
    }
    result
}

fn nul_error() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_paths_are_terminated_and_refuse_inner_nuls() {
        let path = |rel: &[u8]| with_c_path(rel, |c| c.to_bytes().to_vec());
        assert_eq!(path(b"").unwrap(), b".");
        assert_eq!(path(b"a/b.txt").unwrap(), b"a/b.txt");
        let long = vec![b'x'; 5000];
        assert_eq!(path(&long).unwrap(), long);
        assert_eq!(path(b"short").unwrap(), b"short");
        let err = path(b"a\0b").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    }

    #[test]
    fn a_c_path_can_be_built_while_another_is_in_use() {
        let both = with_c_path(b"outer", |outer| {
            let inner = with_c_path(b"inner/path", |inner| inner.to_bytes().to_vec()).unwrap();
            (outer.to_bytes().to_vec(), inner)
        })
        .unwrap();
        assert_eq!(both, (b"outer".to_vec(), b"inner/path".to_vec()));
    }
}
