//! Directory listings: which entries, in which order, how many at most; rendered as an HTML
//! page ([`html`]) or JSON ([`json`]), whole or as the client reads ([`body`]).
//!
//! A listing holds at most [`MAX_ENTRIES`] entries, the first ones in the order asked for,
//! whatever the directory's size: a directory of 100,000 entries asked for by 60 clients that
//! don't read used to be built whole, 60 times, in memory (1.17 GB of RSS). The scan keeps only
//! the best `MAX_ENTRIES` as it goes, and with the default order looks up sizes and dates only
//! of those it keeps.

use std::cell::Cell;
use std::cmp::Ordering;
use std::ffi::CStr;
use std::io;
use std::ops::ControlFlow;

use crate::dir::{Kind, Reader};
use crate::encoding::Coding;
use crate::sys::Stat;

pub mod body;
pub mod gate;
pub mod html;
pub mod json;

/// The most entries one listing shows; the page and the response say how many there were.
pub const MAX_ENTRIES: usize = 10_000;

/// One entry of a listing. Its name is in the listing's arena of names (see
/// [`Listing::name`]): one allocation for all names instead of one each. Its sort key (see
/// [`natural_key`]) follows the name there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Where the name starts in the arena.
    name_at: u32,
    /// The name's length.
    name_len: u32,
    /// The length of the sort key after the name.
    key_len: u32,
    /// The sort key's first 16 bytes, big-endian, zero-padded: most comparisons end here,
    /// without reaching into the arena (musl's `memcmp` goes byte by byte; sorting 1,000
    /// names by keys in the arena alone took an eighth of the time of making a listing).
    key_head: [u64; 2],
    /// A file or a directory (or a symlink to one, as the policies allow).
    pub kind: Kind,
    /// Size in bytes (0 for a directory).
    pub size: u64,
    /// Last modification, seconds since the epoch.
    pub mtime: i64,
}

/// What a listing is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Name, in natural order.
    Name,
    /// Size.
    Size,
    /// Last modification time.
    Modified,
}

/// The order of a listing: `?sort=name|size|modified&order=asc|desc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The column.
    pub key: Key,
    /// Descending rather than ascending.
    pub desc: bool,
}

impl Key {
    /// The name used in `?sort=` and in the page.
    pub fn as_str(self) -> &'static str {
        match self {
            Key::Name => "name",
            Key::Size => "size",
            Key::Modified => "modified",
        }
    }

    /// The order a first click on the column asks for: names A to Z, the largest and the
    /// newest first.
    pub fn first_order_desc(self) -> bool {
        self != Key::Name
    }
}

impl Default for Sort {
    fn default() -> Sort {
        Sort {
            key: Key::Name,
            desc: false,
        }
    }
}

impl Sort {
    /// The order a query string asks for; anything unknown falls back to the defaults (by
    /// name; the column's first-click order), never an error.
    pub fn from_query(query: Option<&str>) -> Sort {
        let (mut key, mut order) = (None, None);
        for pair in query.unwrap_or("").split('&') {
            match pair.split_once('=') {
                Some(("sort", "name")) => key = Some(Key::Name),
                Some(("sort", "size")) => key = Some(Key::Size),
                Some(("sort", "modified")) => key = Some(Key::Modified),
                Some(("order", "asc")) => order = Some(false),
                Some(("order", "desc")) => order = Some(true),
                _ => {}
            }
        }
        let key = key.unwrap_or(Key::Name);
        Sort {
            key,
            desc: order.unwrap_or(key.first_order_desc()),
        }
    }

    /// Compares two entries whose names are in `names`: directories first in every order,
    /// then by the key (a tie by name, ascending).
    pub fn compare(self, names: &[u8], a: &Entry, b: &Entry) -> Ordering {
        let a_dir = a.kind == Kind::Dir;
        let group = (!a_dir).cmp(&(b.kind != Kind::Dir));
        if group != Ordering::Equal {
            return group;
        }
        // The natural order of the names: their keys, then the names themselves.
        let natural = || {
            a.key_head
                .cmp(&b.key_head)
                .then_with(|| a.key(names).cmp(b.key(names)))
                .then_with(|| a.name(names).cmp(b.name(names)))
        };
        let by_key = match self.key {
            Key::Name => return directed(natural(), self.desc),
            Key::Size if a_dir => Ordering::Equal,
            Key::Size => a.size.cmp(&b.size),
            Key::Modified => a.mtime.cmp(&b.mtime),
        };
        directed(by_key, self.desc).then_with(natural)
    }
}

impl Entry {
    fn name<'a>(&self, names: &'a [u8]) -> &'a [u8] {
        let start = self.name_at as usize;
        &names[start..start + self.name_len as usize]
    }

    /// The name with its terminating NUL, for system calls.
    fn c_name<'a>(&self, names: &'a [u8]) -> Option<&'a CStr> {
        let start = self.name_at as usize;
        CStr::from_bytes_with_nul(&names[start..start + self.name_len as usize + 1]).ok()
    }

    fn key<'a>(&self, names: &'a [u8]) -> &'a [u8] {
        let start = (self.name_at + self.name_len + 1) as usize;
        &names[start..start + self.key_len as usize]
    }

    /// The name, its NUL and the key after them.
    fn stored<'a>(&self, names: &'a [u8]) -> &'a [u8] {
        let start = self.name_at as usize;
        &names[start..start + (self.name_len + 1 + self.key_len) as usize]
    }
}

fn directed(order: Ordering, desc: bool) -> Ordering {
    if desc {
        order.reverse()
    } else {
        order
    }
}

/// Natural order, ASCII case-insensitive: runs of digits compare as numbers (`9.txt` before
/// `10.txt`), letters without case (`apple` next to `Apple`), ties bytewise (`Apple` before
/// `apple`). Other bytes compare as bytes: cheap and total.
pub fn natural(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let ((x, i2), (y, j2)) = (digit_run(a, i), digit_run(b, j));
            let by_number = x.len().cmp(&y.len()).then_with(|| x.cmp(y));
            if by_number != Ordering::Equal {
                return by_number;
            }
            (i, j) = (i2, j2);
            continue;
        }
        let by_letter = a[i].to_ascii_lowercase().cmp(&b[j].to_ascii_lowercase());
        if by_letter != Ordering::Equal {
            return by_letter;
        }
        i += 1;
        j += 1;
    }
    (a.len() - i).cmp(&(b.len() - j)).then_with(|| a.cmp(b))
}

/// Appends the key that orders `name` as [`natural`] does, compared byte by byte (and ties
/// broken by the names themselves): letters lowercased, and each run of digits as `0`, the
/// number of its digits without leading zeros, then those digits, so that a shorter number
/// sorts first and `0` stands where any digit would against a non-digit. Sorting 1,000 names
/// by these keys instead of [`natural`] took a third of the time of making a listing.
pub fn natural_key(name: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < name.len() {
        if name[i].is_ascii_digit() {
            let (digits, end) = digit_run(name, i);
            out.push(b'0');
            out.push(digits.len().min(255) as u8);
            for &d in digits {
                out.push(d);
            }
            i = end;
        } else {
            out.push(name[i].to_ascii_lowercase());
            i += 1;
        }
    }
}

/// The first 16 bytes of `key` as two big-endian numbers, zero-padded: ordered as the keys
/// are wherever they differ (a tie means: compare the whole keys).
fn key_head(key: &[u8]) -> [u64; 2] {
    let mut bytes = [0u8; 16];
    for (to, &from) in bytes.iter_mut().zip(key) {
        *to = from;
    }
    let (high, low) = bytes.split_at(8);
    let number = |half: &[u8]| half.try_into().map_or(0, u64::from_be_bytes);
    [number(high), number(low)]
}

/// The number starting at `at` in `s`, without leading zeros, and where it ends.
fn digit_run(s: &[u8], at: usize) -> (&[u8], usize) {
    let end = s[at..]
        .iter()
        .position(|d| !d.is_ascii_digit())
        .map_or(s.len(), |n| at + n);
    let digits = &s[at..end];
    let zeros = digits.iter().take_while(|&&d| d == b'0').count();
    (&digits[zeros..], end)
}

/// A directory's listing: the entries shown, in order, and how many there were in all.
#[derive(Debug)]
pub struct Listing {
    /// The entries shown, sorted, at most [`MAX_ENTRIES`].
    pub entries: Vec<Entry>,
    /// Their names, one after another.
    names: Vec<u8>,
    /// How many entries the directory has that a listing may show.
    pub total: usize,
    /// The order of `entries`.
    pub sort: Sort,
}

/// Entries between two looks at [`Listing::read`]'s `progress`.
pub const PROGRESS_EVERY: usize = 1024;

impl Listing {
    /// Reads the listing of the directory `reader` reads: every entry the policies allow but
    /// the precompressed sidecars of entries it shows (`X.gz` next to `X`), the first
    /// `limit` of them in `sort` order. `progress` is told how many entries were read every
    /// [`PROGRESS_EVERY`], and may stop the reading (`None` then).
    pub fn read(
        reader: &Reader<'_>,
        sort: Sort,
        limit: usize,
        mut progress: impl FnMut(usize) -> ControlFlow<()>,
    ) -> io::Result<Option<Listing>> {
        let limit = limit.max(1);
        // By name, only the kept entries need a size and a date: look them up at the end.
        let stat_all = sort.key != Key::Name;
        let mut listing = Listing::empty(sort);
        let mut stopped = false;
        reader.for_each(stat_all, |name, kind, st| {
            if sidecar_base(name).is_some_and(|base| reader.lookup(base).is_some()) {
                return ControlFlow::Continue(());
            }
            listing.push(name, kind, st);
            if listing.entries.len() >= 2 * limit {
                listing.keep_best(limit);
            }
            if listing.total.is_multiple_of(PROGRESS_EVERY) && progress(listing.total).is_break() {
                stopped = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })?;
        if stopped {
            return Ok(None);
        }
        listing.keep_best(limit);
        if !stat_all {
            listing.refresh(reader);
        }
        Ok(Some(listing))
    }

    /// A listing with no entries yet, in the buffers the last one on this thread left.
    fn empty(sort: Sort) -> Listing {
        Listing {
            entries: SPARE_ENTRIES.take(),
            names: SPARE_NAMES.take(),
            total: 0,
            sort,
        }
    }

    fn push(&mut self, name: &[u8], kind: Kind, st: Option<Stat>) {
        let file_size = |st: Stat| if kind == Kind::File { st.size } else { 0 };
        let name_at = self.names.len();
        // Byte by byte, not by musl's memcpy (see `page::push_short`); NUL-terminated, so
        // that looking it up again needs no copy.
        self.names.reserve(2 * name.len() + 8);
        for &b in name {
            self.names.push(b);
        }
        self.names.push(0);
        let key_at = self.names.len();
        natural_key(name, &mut self.names);
        self.entries.push(Entry {
            name_at: name_at as u32,
            name_len: name.len() as u32,
            key_len: (self.names.len() - key_at) as u32,
            key_head: key_head(&self.names[key_at..]),
            kind,
            size: st.map_or(0, file_size),
            mtime: st.map_or(0, |st| st.mtime),
        });
        self.total += 1;
    }

    /// Sorts the entries and keeps the first `limit`, and the arena only their names.
    fn keep_best(&mut self, limit: usize) {
        let (sort, names) = (self.sort, &self.names);
        if self.entries.len() > limit {
            self.entries
                .select_nth_unstable_by(limit - 1, |a, b| sort.compare(names, a, b));
            self.entries.truncate(limit);
            // Grown to twice the limit meanwhile: a streamed listing holds (and is charged for)
            // its entries until sent.
            self.entries.shrink_to(limit);
            let mut kept = Vec::with_capacity(self.names.len() / 2);
            for entry in &mut self.entries {
                let stored = entry.stored(&self.names);
                let at = kept.len() as u32;
                kept.extend_from_slice(stored);
                entry.name_at = at;
            }
            self.names = kept;
        }
        // Unstable is enough: names are unique in a directory, so the order is total (a name
        // read twice, being renamed during the read, ties only with its twin).
        let (sort, names) = (self.sort, &self.names);
        self.entries
            .sort_unstable_by(|a, b| sort.compare(names, a, b));
    }

    /// Looks the kept entries up again for their sizes and dates; an entry gone or changed
    /// since the directory was read is dropped or updated.
    fn refresh(&mut self, reader: &Reader<'_>) {
        let before = self.entries.len();
        let names = &self.names;
        // Sorted by name, only an entry that has become a directory (or stopped being one)
        // meanwhile moves; dropping entries keeps the order.
        let mut moved = false;
        self.entries.retain_mut(|entry| {
            match entry.c_name(names).and_then(|c| reader.lookup_c(c)) {
                Some((kind, st)) => {
                    moved |= entry.kind != kind;
                    entry.kind = kind;
                    entry.size = if kind == Kind::File { st.size } else { 0 };
                    entry.mtime = st.mtime;
                    true
                }
                None => false,
            }
        });
        self.total -= before - self.entries.len();
        if moved {
            let (sort, names) = (self.sort, &self.names);
            self.entries
                .sort_unstable_by(|a, b| sort.compare(names, a, b));
        }
    }

    /// The name of one of this listing's entries.
    pub fn name(&self, entry: &Entry) -> &[u8] {
        entry.name(&self.names)
    }

    /// How many directories and files are shown.
    pub fn counts(&self) -> (usize, usize) {
        let dirs = self.entries.iter().filter(|e| e.kind == Kind::Dir).count();
        (dirs, self.entries.len() - dirs)
    }

    /// Whether entries were left out.
    pub fn truncated(&self) -> bool {
        self.total > self.entries.len()
    }

    /// The memory the listing holds, for the budget of listings in flight.
    pub fn weight(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>() + self.names.capacity()
    }
}

/// A listing's buffers are kept for the next one made on the same thread, up to this many
/// bytes each (a listing of 1,000 entries needs 48 KB of entries and 30 KB of names).
pub const SPARE_MAX: usize = 256 * 1024;

thread_local! {
    /// Growing these anew for each listing cost about 8 `mmap`s and `munmap`s, and a page
    /// fault per 4 KiB touched: musl's allocator maps large blocks one by one and unmaps them
    /// when freed (a tenth of the CPU time of a 1,000-entry listing).
    static SPARE_ENTRIES: Cell<Vec<Entry>> = const { Cell::new(Vec::new()) };
    static SPARE_NAMES: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

impl Drop for Listing {
    // `try_with`: a listing may be dropped on a thread whose locals are already gone (a
    // response finished during the thread's exit); its buffers are then simply freed.
    fn drop(&mut self) {
        let entries = std::mem::take(&mut self.entries);
        if entries.capacity() * std::mem::size_of::<Entry>() <= SPARE_MAX {
            let mut entries = entries;
            entries.clear();
            let _ = SPARE_ENTRIES.try_with(|spare| spare.set(entries));
        }
        let names = std::mem::take(&mut self.names);
        if names.capacity() <= SPARE_MAX {
            let mut names = names;
            names.clear();
            let _ = SPARE_NAMES.try_with(|spare| spare.set(names));
        }
    }
}

/// For a precompressed sidecar's name (`X.br`, `X.zst`, `X.gz`), the name of `X`.
fn sidecar_base(name: &[u8]) -> Option<&[u8]> {
    Coding::ALL
        .iter()
        .find_map(|c| name.strip_suffix(c.suffix()))
        .filter(|base| !base.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listing of `(name, dir, size, mtime)` in `sort` order; returns the names.
    fn sorted(items: &[(&str, bool, u64, i64)], sort: Sort, limit: usize) -> Vec<String> {
        let mut listing = Listing::empty(sort);
        for &(name, dir, size, mtime) in items {
            let kind = if dir { Kind::Dir } else { Kind::File };
            let st = Stat {
                kind: 0,
                size,
                mtime,
            };
            listing.push(name.as_bytes(), kind, Some(st));
        }
        listing.keep_best(limit);
        listing
            .entries
            .iter()
            .map(|e| String::from_utf8_lossy(listing.name(e)).into_owned())
            .collect()
    }

    #[test]
    fn keys_order_as_natural_does() {
        let names: Vec<Vec<u8>> = [
            "b",
            "apple",
            "10.txt",
            "a10",
            "Apple",
            "9.txt",
            "A1",
            "a2",
            "x01",
            "x1",
            "x001a",
            "x1b",
            "0",
            "00",
            "",
            "a.b",
            "a-b",
            "A_b",
            "1a1",
            "1a01",
            "01a1",
            "z9",
            "z09z",
            "z9:",
            "README",
            "readme.md",
            "v1.2.10",
            "v1.10.2",
            "v1.2.9",
            "\u{e9}t\u{e9}",
            "x99999999999999999999",
            "x100000000000000000000",
            "a 1",
            "a 01",
            "a1 ",
            "sixteen-bytes-ab",
            "sixteen-bytes-abc",
            "sixteen-bytes-a0",
            "sixteen-bytes-a00",
            "sixteen-bytes-A",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let key = |name: &[u8]| {
            let mut k = Vec::new();
            natural_key(name, &mut k);
            k
        };
        for a in &names {
            for b in &names {
                let (ka, kb) = (key(a), key(b));
                let by_key = key_head(&ka)
                    .cmp(&key_head(&kb))
                    .then_with(|| ka.cmp(&kb))
                    .then_with(|| a.cmp(b));
                assert_eq!(
                    by_key,
                    natural(a, b),
                    "{} vs {}",
                    String::from_utf8_lossy(a),
                    String::from_utf8_lossy(b)
                );
            }
        }
    }

    #[test]
    fn natural_order() {
        let mut list = vec![
            "b", "apple", "10.txt", "a10", "Apple", "9.txt", "A1", "a2", "x01",
        ];
        list.sort_by(|a, b| natural(a.as_bytes(), b.as_bytes()));
        assert_eq!(
            list,
            ["9.txt", "10.txt", "A1", "a2", "a10", "Apple", "apple", "b", "x01"]
        );
        assert_eq!(natural(b"x1", b"x01"), Ordering::Greater);
        assert_eq!(natural(b"caf\xe9", b"cafz"), Ordering::Greater);
    }

    #[test]
    fn directories_first_in_every_order() {
        let items = [
            ("small", false, 1, 30),
            ("Basics", true, 0, 10),
            ("big", false, 100, 20),
            ("advanced", true, 0, 40),
            ("same", false, 100, 20),
        ];
        let by = |key, desc| sorted(&items, Sort { key, desc }, 10);
        assert_eq!(
            by(Key::Name, false),
            ["advanced", "Basics", "big", "same", "small"]
        );
        assert_eq!(
            by(Key::Name, true),
            ["Basics", "advanced", "small", "same", "big"]
        );
        // Sizes: directories by name; equal sizes by name, ascending, either way.
        assert_eq!(
            by(Key::Size, true),
            ["advanced", "Basics", "big", "same", "small"]
        );
        assert_eq!(
            by(Key::Size, false),
            ["advanced", "Basics", "small", "big", "same"]
        );
        assert_eq!(
            by(Key::Modified, true),
            ["advanced", "Basics", "small", "big", "same"]
        );
    }

    #[test]
    fn keeping_the_best_of_many() {
        let names: Vec<String> = (0..50).rev().map(|i| format!("f{i}")).collect();
        let items: Vec<_> = names.iter().map(|n| (n.as_str(), false, 1, 0)).collect();
        assert_eq!(sorted(&items, Sort::default(), 3), ["f0", "f1", "f2"]);
        let mut listing = Listing::empty(Sort::default());
        for name in &names {
            listing.push(name.as_bytes(), Kind::File, None);
        }
        listing.keep_best(3);
        assert!(
            listing.entries.capacity() < 50,
            "{}",
            listing.entries.capacity()
        );
        assert_eq!(sidecar_base(b"app.js.gz"), Some(&b"app.js"[..]));
        assert_eq!(sidecar_base(b".gz"), None);
        assert_eq!(sidecar_base(b"notes.txt"), None);
    }

    #[test]
    fn buffers_are_kept_for_the_next_listing_within_a_bound() {
        let fill = |n: usize| {
            let names: Vec<String> = (0..n).map(|i| format!("entry-{i}")).collect();
            let items: Vec<_> = names.iter().map(|n| (n.as_str(), false, 1, 0)).collect();
            sorted(&items, Sort::default(), n)
        };
        fill(100);
        let reused = Listing::empty(Sort::default());
        assert!(reused.entries.capacity() >= 100 && reused.names.capacity() >= 700);
        drop(reused);
        fill(20_000);
        let spare = Listing::empty(Sort::default());
        assert!(spare.entries.capacity() * std::mem::size_of::<Entry>() <= SPARE_MAX);
        assert!(spare.names.capacity() <= SPARE_MAX);
    }

    #[test]
    fn queries() {
        let q = |s| Sort::from_query(Some(s));
        let sort = |key, desc| Sort { key, desc };
        assert_eq!(Sort::from_query(None), Sort::default());
        assert_eq!(q("sort=size"), sort(Key::Size, true));
        assert_eq!(q("sort=size&order=asc"), sort(Key::Size, false));
        assert_eq!(q("order=desc"), sort(Key::Name, true));
        assert_eq!(q("sort=bogus&order=sideways"), Sort::default());
    }
}
