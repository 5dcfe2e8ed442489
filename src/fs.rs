//! Opening files under the root, by the symlink policy, and reading directories for listings.

use std::ffi::{CStr, CString, OsStr};
use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::listing::Entry;
use crate::policy::Symlinks;
use crate::sys;

/// The served directory: canonicalised once at start-up and held open, so that every lookup
/// is relative to it.
pub struct Root {
    path: PathBuf,
    dir: File,
    openat2: bool,
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
    /// Missing, not a directory where one was needed, a name too long, a symlink loop, a
    /// symlink the policy refuses, or not a regular file or directory (a FIFO, a socket, a
    /// device): 404.
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
            Some(
                libc::ENOENT
                | libc::ENOTDIR
                | libc::ENAMETOOLONG
                | libc::ELOOP
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
    /// Opens the root directory. Fails if it doesn't exist or isn't a directory.
    pub fn new(path: &Path) -> io::Result<Root> {
        let path = fs::canonicalize(path)?;
        let dir = File::open(&path)?;
        if !dir.metadata()?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            ));
        }
        // openat2 is Linux 5.6+ and some seccomp profiles refuse it: find out once.
        let openat2 = sys::openat2_no_symlinks(&dir, c".").is_ok();
        Ok(Root { path, dir, openat2 })
    }

    /// The root's canonical path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `rel` (a clean relative path, empty for the root) if the policy allows it and it is
    /// a regular file or a directory.
    pub fn open(&self, rel: &[u8], symlinks: Symlinks) -> Result<Opened, OpenError> {
        let file = with_c_path(rel, |c_path| self.open_by_policy(rel, c_path, symlinks))??;
        let meta = file.metadata()?;
        if !meta.is_file() && !meta.is_dir() {
            return Err(OpenError::NotFound);
        }
        Ok(Opened { file, meta })
    }

    fn open_by_policy(
        &self,
        rel: &[u8],
        c_path: &CStr,
        symlinks: Symlinks,
    ) -> Result<File, OpenError> {
        if symlinks == Symlinks::Any {
            return Ok(sys::openat(&self.dir, c_path)?);
        }
        if self.openat2 {
            match sys::openat2_no_symlinks(&self.dir, c_path) {
                Ok(file) => return Ok(file),
                // A symlink on the way: allowed only by the slow check below.
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) && symlinks == Symlinks::Inside => {
                }
                Err(e) => return Err(e.into()),
            }
        }
        let file = sys::openat(&self.dir, c_path)?;
        let real = self.real_path(&file, rel)?;
        let allowed = match symlinks {
            Symlinks::Inside => real.starts_with(&self.path),
            // Without symlinks the real path is the lexical one.
            _ => real == self.lexical(rel),
        };
        if allowed {
            Ok(file)
        } else {
            Err(OpenError::NotFound)
        }
    }

    /// The canonical path of an open file, as the kernel resolved it.
    fn real_path(&self, file: &File, rel: &[u8]) -> io::Result<PathBuf> {
        fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
            // Without /proc, resolve the name again (a file swapped in between could slip by).
            .or_else(|_| fs::canonicalize(self.lexical(rel)))
    }

    fn lexical(&self, rel: &[u8]) -> PathBuf {
        if rel.is_empty() {
            self.path.clone()
        } else {
            self.path.join(OsStr::from_bytes(rel))
        }
    }

    /// Whether the canonical target of `path` (under the root) is inside the root.
    fn resolves_inside(&self, path: &Path) -> bool {
        fs::canonicalize(path).is_ok_and(|real| real.starts_with(&self.path))
    }

    /// The entries of the directory `rel` that can be served, sorted bytewise by name. Symlinks
    /// are shown if the policy would follow them, as directories if they lead to one. `stat`
    /// asks for every entry's size and mtime (JSON); the HTML listing needs only types.
    pub fn list(
        &self,
        rel: &[u8],
        symlinks: Symlinks,
        show: impl Fn(&[u8]) -> bool,
        stat: bool,
    ) -> io::Result<Vec<Entry>> {
        let dir = self.lexical(rel);
        let mut entries = Vec::new();
        for item in fs::read_dir(&dir)? {
            let item = item?;
            let name = item.file_name().into_vec();
            if !show(&name) {
                continue;
            }
            let mut kind = item.file_type()?;
            let mut meta = None;
            if kind.is_symlink() {
                let path = item.path();
                let allowed = match symlinks {
                    Symlinks::Deny => false,
                    Symlinks::Inside => self.resolves_inside(&path),
                    Symlinks::Any => true,
                };
                // A broken link can't be served either.
                let Some(target) = allowed.then(|| fs::metadata(&path).ok()).flatten() else {
                    continue;
                };
                kind = target.file_type();
                meta = Some(target);
            }
            if !kind.is_file() && !kind.is_dir() {
                continue;
            }
            if stat && meta.is_none() {
                meta = item.metadata().ok();
            }
            entries.push(Entry {
                name,
                is_dir: kind.is_dir(),
                size: meta
                    .as_ref()
                    .map_or(0, |m| if m.is_file() { m.len() } else { 0 }),
                mtime: meta
                    .and_then(|m| m.modified().ok())
                    .unwrap_or(std::time::UNIX_EPOCH),
            });
        }
        entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }
}

/// Runs `f` with `rel` as a NUL-terminated path (`.` when empty), on the stack when it fits.
fn with_c_path<T>(rel: &[u8], f: impl FnOnce(&CStr) -> T) -> io::Result<T> {
    if rel.is_empty() {
        return Ok(f(c"."));
    }
    if rel.contains(&0) {
        return Err(nul_error());
    }
    let mut stack = [0u8; 512];
    if rel.len() < stack.len() {
        stack[..rel.len()].copy_from_slice(rel);
        // `rel` has no NUL, so the first one is the terminator.
        let c_path = CStr::from_bytes_until_nul(&stack).map_err(|_| nul_error())?;
        return Ok(f(c_path));
    }
    let c_path = CString::new(rel).map_err(|_| nul_error())?;
    Ok(f(&c_path))
}

fn nul_error() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOENT)
}
