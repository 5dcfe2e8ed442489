//! The served root, followed when it is swapped: sites are often deployed by pointing a
//! symlink at a new tree (`current -> releases/42`, a Nix profile) or by renaming a new
//! directory into place.
//!
//! The root is opened once and every path is looked up under that open directory, so a swap
//! goes unseen until the root is opened again. At most once a second, the first request
//! after the second is up looks at what the configured path names now (one `stat`); if it is
//! another directory, that one is opened and served from then on. A request takes the root
//! once, at its start, and opens everything it needs (index, sidecar, listing, error page)
//! under that one, so a response never mixes files of two trees.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use crate::fs::Root;

/// How often the configured path is looked at, in milliseconds.
const CHECK_EVERY_MS: u64 = 1000;

/// The root being served, and the path it came from.
pub struct LiveRoot {
    configured: PathBuf,
    current: RwLock<Arc<Root>>,
    started: Instant,
    /// When the configured path is next looked at, in milliseconds since `started`.
    next_check: AtomicU64,
    /// Held while looking: a slow look must not be overtaken by the next one, which could
    /// then be undone by the older answer.
    following: Mutex<()>,
}

impl LiveRoot {
    /// Opens the root the configured path names.
    pub fn new(configured: &Path) -> io::Result<LiveRoot> {
        Ok(LiveRoot {
            configured: configured.to_path_buf(),
            current: RwLock::new(Arc::new(Root::new(configured)?)),
            started: Instant::now(),
            next_check: AtomicU64::new(CHECK_EVERY_MS),
            following: Mutex::new(()),
        })
    }

    /// The root to serve a request that arrived at `now` from.
    pub fn current(&self, now: Instant) -> Arc<Root> {
        let millis = now.saturating_duration_since(self.started).as_millis() as u64;
        let due = self.next_check.load(Ordering::Relaxed);
        if millis >= due
            && self
                .next_check
                .compare_exchange(
                    due,
                    millis + CHECK_EVERY_MS,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            self.follow();
        }
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Opens what the configured path names now, if it is another directory than the one
    /// served. Halfway through a swap, or if the new tree can't be opened, the old one stays.
    fn follow(&self) {
        // Another request is looking already: this one is served from the current root.
        let Ok(_following) = self.following.try_lock() else {
            return;
        };
        let Ok(meta) = std::fs::metadata(&self.configured) else {
            return;
        };
        let served = Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()));
        if served.identity() == (meta.dev(), meta.ino()) {
            return;
        }
        match Root::new(&self.configured) {
            Ok(root) => {
                eprintln!(
                    "http-fileserver: {} now names {}: serving it",
                    self.configured.display(),
                    root.path().display()
                );
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(root);
            }
            Err(e) => eprintln!(
                "http-fileserver: {} changed, but can't be served ({e}); still serving {}",
                self.configured.display(),
                served.path().display()
            ),
        }
    }
}
