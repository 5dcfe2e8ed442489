//! The set of open connections: counted for the connection cap, searched for a connection to
//! close when the cap is reached, and closed when the server shuts down.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::client::{state, Client};

#[derive(Default)]
pub(crate) struct Registry {
    slots: Mutex<Slots>,
    emptied: Condvar,
    count: AtomicUsize,
}

#[derive(Default)]
struct Slots {
    clients: Vec<Option<Arc<Client>>>,
    free: Vec<usize>,
}

/// A head that has been arriving for longer than this is fair game when room is needed: real
/// clients send their head in one go, slowloris clients dribble it.
const SLOW_HEAD_MS: u64 = 1000;

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the connection `make` builds for the slot it is given.
    pub(crate) fn insert_with(&self, make: impl FnOnce(usize) -> Arc<Client>) -> Arc<Client> {
        let mut slots = self.lock();
        let slot = slots.free.pop().unwrap_or(slots.clients.len());
        let client = make(slot);
        if slot == slots.clients.len() {
            slots.clients.push(Some(Arc::clone(&client)));
        } else {
            slots.clients[slot] = Some(Arc::clone(&client));
        }
        self.count.fetch_add(1, Ordering::SeqCst);
        client
    }

    pub(crate) fn remove(&self, slot: usize) {
        let mut slots = self.lock();
        if slots.clients.get_mut(slot).and_then(Option::take).is_some() {
            slots.free.push(slot);
            if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
                self.emptied.notify_all();
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Closes one connection to make room: the one idle the longest, else the one that has
    /// been sending its head the longest (if for over a second). Returns whether it found one.
    pub(crate) fn evict_one(&self, now_ms: u64) -> bool {
        let slots = self.lock();
        let mut idle: Option<(u64, &Arc<Client>)> = None;
        let mut slow: Option<(u64, &Arc<Client>)> = None;
        for client in slots.clients.iter().flatten() {
            let (st, since) = client.state();
            let pick = match st {
                state::IDLE => &mut idle,
                state::READING if now_ms.saturating_sub(since) > SLOW_HEAD_MS => &mut slow,
                _ => continue,
            };
            if pick.is_none_or(|(oldest, _)| since < oldest) {
                *pick = Some((since, client));
            }
        }
        // The candidate may have moved on since we looked; then report failure and let the
        // caller refuse this one connection rather than scan again.
        match (idle, slow) {
            (Some((_, c)), _) => c.close_if(state::IDLE),
            (None, Some((_, c))) => c.close_if(state::READING),
            (None, None) => false,
        }
    }

    /// Closes every connection that isn't handling a request (for shutdown).
    pub(crate) fn close_waiting(&self) {
        for client in self.lock().clients.iter().flatten() {
            let _ = client.close_if(state::IDLE) || client.close_if(state::READING);
        }
    }

    /// Waits until no connection is left, or until `deadline`. Returns whether none is left.
    pub(crate) fn wait_empty(&self, deadline: Instant) -> bool {
        let mut slots = self.lock();
        while self.len() > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            slots = match self.emptied.wait_timeout(slots, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }
}
