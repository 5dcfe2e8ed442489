//! gzip on the fly, for text-like files without a precompressed sidecar and for listings, with
//! the compressed bodies of files kept in memory so that a popular file is compressed once.
//!
//! The cache is keyed by what the file's ETag is made of (device, inode, size, modification
//! and change times): a file changed on disk has a new key and is compressed again, never
//! served from an old entry. Concurrent requests for a file not cached yet wait for the one
//! compressing it. Entries are evicted least recently used first, within a byte budget.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::{Arc, Condvar, Mutex};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// Bodies shorter than this gain too little to be worth a compressor's time.
pub const MIN_SIZE: u64 = 1024;

/// Files larger than this are sent uncompressed rather than compressed on every request:
/// 4 MiB of text takes about 60 ms of one core at level 6.
pub const MAX_SIZE: u64 = 4 << 20;

/// The deflate level: 6 gives output within 0.2–0.9% of level 9's for half the CPU (100 KB of
/// JavaScript: 1.6 ms against 2.7 ms), and level 1 costs 10–40% more bytes.
const LEVEL: u32 = 6;

/// Whether a response of this content type is worth compressing: text, JavaScript, JSON, XML,
/// SVG and WebAssembly. Images, audio, video and archives are compressed already.
pub fn is_compressible(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media.starts_with("text/")
        || media.ends_with("+json")
        || media.ends_with("+xml")
        || matches!(
            media.as_str(),
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/wasm"
                | "image/svg+xml"
        )
}

thread_local! {
    /// One deflate state per thread, reset for each body: setting one up costs more than
    /// compressing a few KiB (2 KiB of JavaScript: 115 µs with a new state, 22 µs reused).
    static DEFLATE: RefCell<Option<Compress>> = const { RefCell::new(None) };
}

/// `data` as a gzip member: a fixed 10-byte header (no name, no time, so the same input gives
/// the same bytes, as a strong ETag requires), deflate, the CRC-32 and the length. `None`
/// only if the compressor refuses (a misuse of its API, never the data).
pub fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    // ID1 ID2, CM = deflate, FLG = 0, MTIME = 0, XFL = 0, OS = 255 (unknown).
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    let deflated = DEFLATE.with(|state| {
        let mut state = state.borrow_mut();
        let deflate = state.get_or_insert_with(|| Compress::new(Compression::new(LEVEL), false));
        deflate.reset();
        loop {
            let consumed = deflate.total_in() as usize;
            out.reserve(4096.max(out.capacity() / 2));
            match deflate.compress_vec(&data[consumed..], &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    });
    if !deflated {
        return None;
    }
    let mut crc = Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Some(out)
}

/// Reads `file` (as `meta` describes it) and compresses it; `None` if it changed while being
/// read (its compressed bytes would match neither version) or couldn't be read.
pub fn gzip_file(file: &File, meta: &Metadata) -> Option<Vec<u8>> {
    let len = usize::try_from(meta.len()).ok()?;
    let mut data = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match file.read_at(&mut data[filled..], filled as u64) {
            Ok(0) => return None,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let after = file.metadata().ok()?;
    if Key::of(&after) != Key::of(meta) {
        return None;
    }
    gzip(&data)
}

/// What identifies a file's content: what its ETag is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Key {
    /// The key of the file `meta` describes.
    pub fn of(meta: &Metadata) -> Key {
        Key {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// Compressed files kept in memory, within a byte budget.
pub struct Cache {
    budget: usize,
    state: Mutex<State>,
    ready: Condvar,
}

#[derive(Default)]
struct State {
    entries: HashMap<Key, Slot>,
    used: usize,
    /// Counts uses, to tell the least recently used entry.
    clock: u64,
}

enum Slot {
    /// Being compressed by another request.
    Pending,
    Ready {
        body: Arc<[u8]>,
        last_used: u64,
    },
}

/// What an entry costs beyond its bytes (the key, the slot, the map's share).
const ENTRY_OVERHEAD: usize = 128;

impl Cache {
    /// A cache of at most `budget` bytes; 0 keeps nothing (every request compresses).
    pub fn new(budget: usize) -> Cache {
        Cache {
            budget,
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
        }
    }

    /// The largest file worth compressing: one whose compressed body the cache can keep
    /// (a file compresses to a third of its size or less, for the types compressed).
    pub fn max_file_size(&self) -> u64 {
        if self.budget == 0 {
            MAX_SIZE
        } else {
            MAX_SIZE.min(self.budget as u64 / 2)
        }
    }

    /// The compressed body of the file with `key`: from the cache, from the request already
    /// compressing it, or made now by `compress` and kept. `None` if `compress` gives none.
    /// `will_wait` is called once before waiting for another request's compression.
    pub fn get_or_insert(
        &self,
        key: Key,
        will_wait: impl FnOnce(),
        compress: impl FnOnce() -> Option<Vec<u8>>,
    ) -> Option<Arc<[u8]>> {
        let mut will_wait = Some(will_wait);
        if self.budget == 0 {
            return compress().map(Arc::from);
        }
        let mut state = self.lock();
        loop {
            state.clock += 1;
            let now = state.clock;
            match state.entries.get_mut(&key) {
                Some(Slot::Ready { body, last_used }) => {
                    *last_used = now;
                    return Some(Arc::clone(body));
                }
                Some(Slot::Pending) => {
                    if let Some(will_wait) = will_wait.take() {
                        drop(state);
                        will_wait();
                        state = self.lock();
                        continue;
                    }
                    state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                None => break,
            }
        }
        state.entries.insert(key, Slot::Pending);
        drop(state);
        // However compressing ends, the slot is freed and the waiters woken: a slot left
        // pending would make every later request for the file wait. (A panic only unwinds to
        // here where panics unwind, as in tests; the release build aborts.)
        let pending = Pending { cache: self, key };
        let body = compress().map(Arc::<[u8]>::from);
        std::mem::forget(pending);
        let mut state = self.lock();
        state.entries.remove(&key);
        if let Some(body) = &body {
            let cost = body.len() + ENTRY_OVERHEAD;
            if cost <= self.budget {
                evict_until(&mut state, self.budget - cost);
                state.used += cost;
                let last_used = state.clock;
                state.entries.insert(
                    key,
                    Slot::Ready {
                        body: Arc::clone(body),
                        last_used,
                    },
                );
            }
        }
        drop(state);
        self.ready.notify_all();
        body
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes kept now.
    pub fn used(&self) -> usize {
        self.lock().used
    }
}

/// Frees a pending slot if compressing it panicked.
struct Pending<'a> {
    cache: &'a Cache,
    key: Key,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.cache.lock().entries.remove(&self.key);
        self.cache.ready.notify_all();
    }
}

/// Evicts the least recently used entries until at most `room` bytes are used.
fn evict_until(state: &mut State, room: usize) {
    while state.used > room {
        let oldest = state
            .entries
            .iter()
            .filter_map(|(key, slot)| match slot {
                Slot::Ready { last_used, body } => Some((*last_used, *key, body.len())),
                Slot::Pending => None,
            })
            .min_by_key(|(last_used, ..)| *last_used);
        let Some((_, key, len)) = oldest else {
            return;
        };
        state.entries.remove(&key);
        state.used -= len + ENTRY_OVERHEAD;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn gzip_round_trips_and_is_deterministic() {
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let packed = gzip(&text).unwrap();
        assert!(packed.len() < text.len() / 3);
        assert_eq!(gunzip(&packed), text);
        assert_eq!(gzip(&text).unwrap(), packed, "the same bytes every time");
        assert_eq!(gunzip(&gzip(b"").unwrap()), b"");
    }

    #[test]
    fn compressible_types() {
        for yes in [
            "text/html; charset=utf-8",
            "text/javascript; charset=utf-8",
            "application/json",
            "application/ld+json",
            "image/svg+xml",
            "application/wasm",
            "application/xml",
        ] {
            assert!(is_compressible(yes), "{yes}");
        }
        for no in [
            "image/png",
            "application/octet-stream",
            "video/mp4",
            "application/gzip",
        ] {
            assert!(!is_compressible(no), "{no}");
        }
    }

    fn key(ino: u64) -> Key {
        Key {
            dev: 1,
            ino,
            size: 0,
            mtime: (0, 0),
            ctime: (0, 0),
        }
    }

    #[test]
    fn the_cache_keeps_recent_entries_within_its_budget() {
        let cache = Cache::new(3 * (1000 + ENTRY_OVERHEAD));
        for ino in 0..3 {
            cache.get_or_insert(key(ino), || (), || Some(vec![0; 1000]));
        }
        // Use 0 and 2 again; adding a fourth evicts 1, the least recently used.
        let calls = std::cell::Cell::new(0);
        for ino in [0, 2] {
            cache.get_or_insert(
                key(ino),
                || (),
                || {
                    calls.set(calls.get() + 1);
                    Some(vec![0; 1000])
                },
            );
        }
        assert_eq!(calls.get(), 0, "served from the cache");
        cache.get_or_insert(key(3), || (), || Some(vec![0; 1000]));
        assert_eq!(cache.used(), 3 * (1000 + ENTRY_OVERHEAD));
        cache.get_or_insert(
            key(1),
            || (),
            || {
                calls.set(calls.get() + 1);
                Some(vec![0; 1000])
            },
        );
        assert_eq!(calls.get(), 1, "1 had been evicted");
        // Too large to keep: made, not kept.
        assert!(cache
            .get_or_insert(key(9), || (), || Some(vec![0; 10_000]))
            .is_some());
        assert_eq!(cache.used(), 3 * (1000 + ENTRY_OVERHEAD));
    }

    #[test]
    fn a_compression_that_panics_frees_its_slot() {
        let cache = Cache::new(1 << 20);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cache.get_or_insert(key(5), || (), || panic!("compressing failed"))
        }));
        assert!(panicked.is_err());
        // Not left pending: the next request compresses (instead of waiting for ever).
        let body = cache.get_or_insert(key(5), || (), || Some(vec![2; 10]));
        assert_eq!(body.unwrap().len(), 10);
    }

    #[test]
    fn concurrent_requests_compress_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::mpsc;
        use std::time::{Duration, Instant};
        let cache = Arc::new(Cache::new(1 << 20));
        let compressions = Arc::new(AtomicUsize::new(0));
        // Every compression blocks until released, so that the others arrive meanwhile.
        let (release_tx, release) = mpsc::channel::<()>();
        let release = Arc::new(Mutex::new(release));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (cache, compressions) = (Arc::clone(&cache), Arc::clone(&compressions));
                let release = Arc::clone(&release);
                std::thread::spawn(move || {
                    cache.get_or_insert(
                        key(7),
                        || (),
                        || {
                            compressions.fetch_add(1, Ordering::SeqCst);
                            let _ = release.lock().unwrap().recv();
                            Some(vec![1; 100])
                        },
                    )
                })
            })
            .collect();
        // Had the others not waited for the first, a second compression would start at once.
        let started = Instant::now();
        while compressions.load(Ordering::SeqCst) < 2
            && started.elapsed() < Duration::from_millis(500)
        {
            std::thread::yield_now();
        }
        assert_eq!(
            compressions.load(Ordering::SeqCst),
            1,
            "compressed more than once"
        );
        drop(release_tx);
        for t in threads {
            assert_eq!(t.join().unwrap().unwrap().len(), 100);
        }
        assert_eq!(compressions.load(Ordering::SeqCst), 1);
    }
}
