//! Reading a directory that passed the policies: from the very descriptor that was checked,
//! never by its path again, with every entry classified by the same policies as a request
//! for it would be.
//!
//! Reading the directory by path after checking it let a concurrent rename swap in a symlink
//! to an outside directory, whose names, sizes and dates then appeared in the listing (seen:
//! 7,195 of 20,000 listings under a swap loop). Here names come from `getdents64` on the
//! checked descriptor, each entry is looked at relative to it without following symlinks
//! (`fstatat(AT_SYMLINK_NOFOLLOW)`), and a symlink is listed only if the policies would serve
//! it, decided on where it really leads ([`Root::check`]).

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::ops::ControlFlow;

use crate::fs::{with_c_path, Root};
use crate::policy::{Access, Symlinks};
use crate::sys::{self, Stat};

/// What a listed entry is (a symlink counts as what it leads to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// How much of the directory is read per system call.
const DENTS_BUF: usize = 32 * 1024;

thread_local! {
    /// The buffer for `getdents`, kept for the thread's next listing: musl maps a new one
    /// and unmaps it each time otherwise.
    static SPARE_DENTS: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A directory being read: its descriptor, and what decides which entries show.
pub struct Reader<'a> {
    root: &'a Root,
    dir: &'a File,
    /// Whether this is the root itself, where `.well-known` shows.
    at_root: bool,
    access: Access,
}

impl<'a> Reader<'a> {
    /// Reads `dir`, an open directory that passed the policies (the root itself if
    /// `at_root`).
    pub fn new(root: &'a Root, dir: &'a File, at_root: bool, access: Access) -> Reader<'a> {
        Reader {
            root,
            dir,
            at_root,
            access,
        }
    }

    /// Calls `each` with every entry the policies let a request be served, in directory
    /// order, with its kind, and its size and mtime when `stat` is asked for (or when finding
    /// its kind took a look anyway), until `each` breaks.
    pub fn for_each(
        &self,
        stat: bool,
        mut each: impl FnMut(&[u8], Kind, Option<Stat>) -> ControlFlow<()>,
    ) -> io::Result<()> {
        let mut buf = SPARE_DENTS.take();
        buf.resize(DENTS_BUF, 0);
        let read = self.read_all(&mut buf, stat, &mut each);
        SPARE_DENTS.set(buf);
        read
    }

    fn read_all(
        &self,
        buf: &mut [u8],
        stat: bool,
        each: &mut impl FnMut(&[u8], Kind, Option<Stat>) -> ControlFlow<()>,
    ) -> io::Result<()> {
        loop {
            let n = sys::getdents(self.dir, buf)?;
            if n == 0 {
                return Ok(());
            }
            for (d_type, name) in sys::dirents(&buf[..n]) {
                if self.access.dotfiles.hides_segment(name, self.at_root) {
                    continue;
                }
                let Some((kind, found)) = self.classify(name, d_type, stat) else {
                    continue;
                };
                if each(name, kind, found).is_break() {
                    return Ok(());
                }
            }
        }
    }

    /// What `name` is, if it would be listed; `d_type` from `getdents` saves a look at plain
    /// files and directories when their size and date aren't wanted.
    fn classify(&self, name: &[u8], d_type: u8, stat: bool) -> Option<(Kind, Option<Stat>)> {
        match d_type {
            libc::DT_REG if !stat => Some((Kind::File, None)),
            libc::DT_DIR if !stat => Some((Kind::Dir, None)),
            libc::DT_FIFO | libc::DT_SOCK | libc::DT_CHR | libc::DT_BLK => None,
            _ => self.lookup(name).map(|(kind, st)| (kind, Some(st))),
        }
    }

    /// What the entry `name` is now, and its size and date, if it would be listed: a regular
    /// file, a directory, or a symlink the policies follow to one of those.
    pub fn lookup(&self, name: &[u8]) -> Option<(Kind, Stat)> {
        with_c_path(name, |c_name| self.lookup_c(c_name))
            .ok()
            .flatten()
    }

    /// [`Reader::lookup`] of a name already NUL-terminated.
    pub fn lookup_c(&self, c_name: &CStr) -> Option<(Kind, Stat)> {
        let st = sys::lstat_at(self.dir, c_name).ok()?;
        match st.kind {
            libc::S_IFREG => Some((Kind::File, st)),
            libc::S_IFDIR => Some((Kind::Dir, st)),
            libc::S_IFLNK if self.access.symlinks != Symlinks::Deny => {
                let named = sys::openat_path(self.dir, c_name).ok()?;
                self.root.check(&named, None, self.access).ok()?;
                let meta = named.metadata().ok()?;
                let kind = if meta.is_dir() {
                    Kind::Dir
                } else if meta.is_file() {
                    Kind::File
                } else {
                    return None;
                };
                use std::os::unix::fs::MetadataExt;
                Some((
                    kind,
                    Stat {
                        kind: meta.mode() & libc::S_IFMT,
                        size: meta.len(),
                        mtime: meta.mtime(),
                    },
                ))
            }
            _ => None,
        }
    }
}
