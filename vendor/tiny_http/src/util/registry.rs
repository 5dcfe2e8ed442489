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
    /// Tells apart the connections that use a slot one after another, so that an epoll event
    /// for a closed connection never reaches the next one in its slot.
    serial: u32,
}

/// A head that has been arriving for longer than this is fair game when room is needed: real
/// clients send their head in one go, slowloris clients dribble it.
const SLOW_HEAD_MS: u64 = 1000;

/// Who removes a closed connection from the registry: a connection closed while IDLE has no
/// thread (it waits in epoll), so whoever closes it removes it; one closed in another state is
/// removed by the thread serving it, when that thread notices.
impl Registry {
    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the connection `make` builds for the slot and token it is given.
    pub(crate) fn insert_with(&self, make: impl FnOnce(usize, u64) -> Arc<Client>) -> Arc<Client> {
        let mut slots = self.lock();
        let slot = slots.free.pop().unwrap_or(slots.clients.len());
        slots.serial = slots.serial.wrapping_add(1);
        // A slot number stays far below 2^32 - 2, so a token never equals the tokens of the
        // poller's wake-up and of the listening socket (all ones, and all ones but the last).
        let token = u64::from(slots.serial) << 32 | slot as u64;
        let client = make(slot, token);
        if slot == slots.clients.len() {
            slots.clients.push(Some(Arc::clone(&client)));
        } else {
            slots.clients[slot] = Some(Arc::clone(&client));
        }
        self.count.fetch_add(1, Ordering::SeqCst);
        client
    }

    /// The connection an epoll event with `token` is for, if it is still open.
    pub(crate) fn get(&self, token: u64) -> Option<Arc<Client>> {
        let slot = (token & u64::from(u32::MAX)) as usize;
        let slots = self.lock();
        let client = slots.clients.get(slot)?.as_ref()?;
        (client.token == token).then(|| Arc::clone(client))
    }

    pub(crate) fn remove(&self, client: &Arc<Client>) {
        let taken = self.take(&mut self.lock(), client.slot, Some(client));
        drop(taken);
    }

    /// Empties `slot` if it holds `which` (any connection if `None`).
    fn take(
        &self,
        slots: &mut Slots,
        slot: usize,
        which: Option<&Arc<Client>>,
    ) -> Option<Arc<Client>> {
        let entry = slots.clients.get_mut(slot)?;
        if which.is_some_and(|c| !entry.as_ref().is_some_and(|e| Arc::ptr_eq(c, e))) {
            return None;
        }
        let taken = entry.take()?;
        slots.free.push(slot);
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.emptied.notify_all();
        }
        Some(taken)
    }

    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Closes one connection to make room: the one idle the longest, else the one that has
    /// been sending its head the longest (if for over a second). Returns whether it found one.
    pub(crate) fn evict_one(&self, now_ms: u64) -> bool {
        let mut slots = self.lock();
        let mut idle: Option<(u64, usize)> = None;
        let mut slow: Option<(u64, usize)> = None;
        for (slot, client) in slots.clients.iter().enumerate() {
            let Some(client) = client else { continue };
            let (st, since) = client.state();
            let pick = match st {
                state::IDLE => &mut idle,
                state::READING if now_ms.saturating_sub(since) > SLOW_HEAD_MS => &mut slow,
                _ => continue,
            };
            if pick.is_none_or(|(oldest, _)| since < oldest) {
                *pick = Some((since, slot));
            }
        }
        // The candidate may have moved on since we looked; then report failure and let the
        // caller refuse this one connection rather than scan again.
        match (idle, slow) {
            (Some((_, slot)), _) => {
                let closed = slots.clients[slot]
                    .as_ref()
                    .is_some_and(|c| c.close_if(state::IDLE));
                let taken = if closed {
                    self.take(&mut slots, slot, None)
                } else {
                    None
                };
                // Closing the socket is left for after the lock.
                drop(slots);
                taken.is_some()
            }
            (None, Some((_, slot))) => slots.clients[slot]
                .as_ref()
                .is_some_and(|c| c.close_if(state::READING)),
            (None, None) => false,
        }
    }

    /// Closes the connections idle since before `before_ms`.
    pub(crate) fn close_idle(&self, before_ms: u64) {
        let mut slots = self.lock();
        let mut closed = Vec::new();
        for slot in 0..slots.clients.len() {
            let expired = slots.clients[slot].as_ref().is_some_and(|c| {
                let (st, since) = c.state();
                st == state::IDLE && since < before_ms && c.close_if(state::IDLE)
            });
            if expired {
                closed.extend(self.take(&mut slots, slot, None));
            }
        }
        drop(slots);
        drop(closed);
    }

    /// Closes every connection that isn't handling a request (for shutdown).
    pub(crate) fn close_waiting(&self) {
        let mut slots = self.lock();
        let mut closed = Vec::new();
        for slot in 0..slots.clients.len() {
            let Some(client) = &slots.clients[slot] else {
                continue;
            };
            if client.close_if(state::IDLE) {
                closed.extend(self.take(&mut slots, slot, None));
            } else {
                client.close_if(state::READING);
            }
        }
        drop(slots);
        drop(closed);
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
