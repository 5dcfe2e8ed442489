//! Threads for connections, reused from one connection to the next.
//!
//! Upstream's pool decided whether to start a thread by reading a count of waiting threads
//! that a just-woken thread hadn't decremented yet, so a burst of connections could be queued
//! behind busy threads with none left to run them, and a failed `thread::spawn` panicked in the
//! accept thread. Here each idle thread parks on its own slot and is handed its next job
//! directly, and a failed spawn gives the job back to the caller.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// How long a thread with nothing to do waits for a new job before it exits.
const IDLE_THREAD_LIFETIME: Duration = Duration::from_secs(10);

pub(crate) struct TaskPool<T: Send + 'static> {
    parked: Mutex<Vec<Arc<Parked<T>>>>,
    /// Signalled whenever a thread parks, for callers waiting for one at the thread limit.
    parking: Condvar,
    run: fn(T),
    stack_size: usize,
    max_threads: usize,
    live: AtomicUsize,
}

struct Parked<T> {
    job: Mutex<Option<T>>,
    ready: Condvar,
}

impl<T: Send + 'static> TaskPool<T> {
    pub(crate) fn new(run: fn(T), stack_size: usize, max_threads: usize) -> Arc<TaskPool<T>> {
        Arc::new(TaskPool {
            parked: Mutex::new(Vec::new()),
            parking: Condvar::new(),
            run,
            stack_size,
            max_threads: max_threads.max(1),
            live: AtomicUsize::new(0),
        })
    }

    /// Threads alive, busy or parked.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Runs `job` on a parked thread, or on a new one while there are fewer than the limit;
    /// at the limit, waits up to `wait` for a thread to park. If no thread can be had, the
    /// job comes back with the error so the caller can refuse it properly.
    pub(crate) fn execute(self: &Arc<Self>, job: T, wait: Duration) -> Result<(), (T, io::Error)> {
        let deadline = std::time::Instant::now() + wait;
        let mut parked = self.parked.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(thread) = parked.pop() {
                drop(parked);
                *thread.job.lock().unwrap_or_else(|e| e.into_inner()) = Some(job);
                thread.ready.notify_one();
                return Ok(());
            }
            if self.live() < self.max_threads {
                // Counted before the lock is let go, so that callers racing here can't start
                // more threads than the limit between them.
                self.live.fetch_add(1, Ordering::SeqCst);
                break;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                let err =
                    io::Error::new(io::ErrorKind::WouldBlock, "every connection thread is busy");
                return Err((job, err));
            }
            parked = self
                .parking
                .wait_timeout(parked, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(parked);
        // The job travels through a slot so that we get it back if the spawn fails.
        let slot = Arc::new(Mutex::new(Some(job)));
        let pool = Arc::clone(self);
        let theirs = Arc::clone(&slot);
        let spawned = thread::Builder::new()
            .name("connection".into())
            .stack_size(self.stack_size)
            .spawn(move || {
                let first = theirs.lock().unwrap_or_else(|e| e.into_inner()).take();
                if let Some(job) = first {
                    pool.work(job);
                }
                pool.live.fetch_sub(1, Ordering::SeqCst);
            });
        match spawned {
            Ok(_) => Ok(()),
            Err(err) => {
                self.live.fetch_sub(1, Ordering::SeqCst);
                let job = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                match job {
                    Some(job) => Err((job, err)),
                    None => Ok(()),
                }
            }
        }
    }

    /// Runs jobs until none has come for a while.
    fn work(self: &Arc<Self>, first: T) {
        let me = Arc::new(Parked {
            job: Mutex::new(None),
            ready: Condvar::new(),
        });
        let mut job = first;
        loop {
            (self.run)(job);
            self.parked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Arc::clone(&me));
            self.parking.notify_one();
            job = match self.wait(&me) {
                Some(job) => job,
                None => return,
            };
        }
    }

    fn wait(&self, me: &Arc<Parked<T>>) -> Option<T> {
        let mut slot = me.job.lock().unwrap_or_else(|e| e.into_inner());
        let mut timed_out = false;
        loop {
            if let Some(job) = slot.take() {
                return Some(job);
            }
            if timed_out {
                // Leave, unless someone took us off the parked list meanwhile: then a job
                // is on its way and we must stay for it.
                let mut parked = self.parked.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(i) = parked.iter().position(|p| Arc::ptr_eq(p, me)) {
                    parked.swap_remove(i);
                    return None;
                }
                drop(parked);
                slot = me.ready.wait(slot).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            let (guard, result) = me
                .ready
                .wait_timeout(slot, IDLE_THREAD_LIFETIME)
                .unwrap_or_else(|e| e.into_inner());
            slot = guard;
            timed_out = result.timed_out();
        }
    }
}
