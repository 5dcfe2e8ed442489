//! The set of open connections: counted for the connection cap and per client address,
//! searched for a connection to close when room is needed, swept for timeouts, and closed when
//! the server shuts down.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::client::{Client, Phase};

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
    /// Open connections per client address (see [`ip_key`]).
    per_ip: HashMap<IpAddr, usize>,
    /// Threads in [`Registry::wait_empty`]. `Condvar::notify_all` is a system call even when
    /// nobody waits, and a server that answers one client at a time empties its registry on
    /// every `Connection: close` request: measured, one `futex` call per connection.
    awaiting_empty: usize,
}

/// A head that has been arriving for longer than this is fair game when room is needed: real
/// clients send their head in one go, slowloris clients dribble it.
const SLOW_HEAD_MS: u64 = 1000;

/// A response the client has taken no byte of for this long is fair game when room is needed:
/// a client that reads, however slowly, keeps making room in its socket within a round trip.
const STALLED_WRITE_MS: u64 = 3000;

/// Which connections [`Registry::evict_one`] may choose from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope {
    All,
    /// Those from one client address (an [`ip_key`]).
    Ip(IpAddr),
}

/// The address connections are counted under for the per-address limit: IPv4 addresses as
/// they are (IPv4-mapped IPv6 ones unmapped), IPv6 addresses by their /64 network, the
/// smallest block a host gets: counting single IPv6 addresses would let one host open as many
/// connections as it has addresses.
pub(crate) fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let net = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(net))
            }
        },
        v4 => v4,
    }
}

/// Who removes a closed connection from the registry: a connection closed while it has no
/// thread (IDLE, WAITING_TO_WRITE: it waits in epoll) is removed by whoever closed it; one
/// closed in another phase is removed by the thread serving it, when that thread notices.
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
        *slots
            .per_ip
            .entry(ip_key(client.remote_addr.ip()))
            .or_default() += 1;
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

    /// Empties `slot` if it holds `which` (any connection if `None`). The caller drops what it
    /// returns after letting go of the lock: dropping a connection closes its socket and may
    /// run a response's completion hook.
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
        let key = ip_key(taken.remote_addr.ip());
        if let Some(open) = slots.per_ip.get_mut(&key) {
            *open -= 1;
            if *open == 0 {
                slots.per_ip.remove(&key);
            }
        }
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 && slots.awaiting_empty > 0 {
            self.emptied.notify_all();
        }
        Some(taken)
    }

    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Open connections from the address `key` (an [`ip_key`]).
    pub(crate) fn open_from(&self, key: IpAddr) -> usize {
        self.lock().per_ip.get(&key).copied().unwrap_or(0)
    }

    /// Whether a connection from the address `key` is waiting for its client to take the rest
    /// of a response.
    pub(crate) fn has_waiting_writes(&self, key: IpAddr) -> bool {
        self.lock()
            .clients
            .iter()
            .flatten()
            .any(|c| c.phase().0 == Phase::WaitingToWrite && ip_key(c.remote_addr.ip()) == key)
    }

    /// Closes one connection within `scope` to make room: the one idle the longest; else
    /// (unless `idle_only`), of those whose client has taken no response byte for a few
    /// seconds or has been sending its head for over a second, the one waiting the longest.
    /// Returns whether it found one.
    pub(crate) fn evict_one(&self, now_ms: u64, scope: Scope, idle_only: bool) -> bool {
        let mut slots = self.lock();
        let mut idle: Option<(u64, usize, Phase)> = None;
        let mut stuck: Option<(u64, usize, Phase)> = None;
        for (slot, client) in slots.clients.iter().enumerate() {
            let Some(client) = client else { continue };
            if let Scope::Ip(key) = scope {
                if ip_key(client.remote_addr.ip()) != key {
                    continue;
                }
            }
            let (phase, since) = client.phase();
            let waited = now_ms.saturating_sub(since);
            let pick = match phase {
                Phase::Idle => &mut idle,
                Phase::WaitingToWrite if waited > STALLED_WRITE_MS => &mut stuck,
                Phase::Reading if waited > SLOW_HEAD_MS => &mut stuck,
                _ => continue,
            };
            if pick.is_none_or(|(oldest, _, _)| since < oldest) {
                *pick = Some((since, slot, phase));
            }
        }
        // The candidate may have moved on since we looked; then report failure and let the
        // caller refuse this one connection rather than scan again.
        let Some((_, slot, phase)) = idle.or(stuck.filter(|_| !idle_only)) else {
            return false;
        };
        let closed = slots.clients[slot]
            .as_ref()
            .is_some_and(|c| c.close_if(phase));
        if !closed {
            return false;
        }
        let taken = if phase.is_threadless() {
            self.take(&mut slots, slot, None)
        } else {
            None
        };
        drop(slots);
        drop(taken);
        true
    }

    /// Closes the connections idle since before `idle_before_ms`, and those waiting to write
    /// that have taken no byte since before `write_before_ms` (either `None`: no timeout).
    pub(crate) fn expire(&self, idle_before_ms: Option<u64>, write_before_ms: Option<u64>) {
        let mut slots = self.lock();
        let mut closed = Vec::new();
        for slot in 0..slots.clients.len() {
            let Some(client) = &slots.clients[slot] else {
                continue;
            };
            let (phase, since) = client.phase();
            let limit = match phase {
                Phase::Idle => idle_before_ms,
                Phase::WaitingToWrite => write_before_ms,
                _ => None,
            };
            if limit.is_some_and(|before| since < before) && client.close_if(phase) {
                closed.extend(self.take(&mut slots, slot, None));
            }
        }
        drop(slots);
        drop(closed);
    }

    /// For shutdown: closes every idle connection, and those still reading a head; the
    /// others finish the response in progress. An idle connection whose next request has
    /// arrived already is left to be answered (with `Connection: close`): under socket
    /// activation a restart must not drop requests that reached the old process.
    pub(crate) fn close_waiting(&self) {
        let mut slots = self.lock();
        let mut closed = Vec::new();
        for slot in 0..slots.clients.len() {
            let Some(client) = &slots.clients[slot] else {
                continue;
            };
            let (phase, _) = client.phase();
            if phase == Phase::Idle && client.stream.has_input() {
                continue;
            }
            if client.close_if(Phase::Idle) {
                closed.extend(self.take(&mut slots, slot, None));
            } else {
                client.close_if(Phase::Reading);
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
            slots.awaiting_empty += 1;
            slots = match self.emptied.wait_timeout(slots, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
            slots.awaiting_empty -= 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_count_by_host_and_ipv6_by_64() {
        let key = |s: &str| ip_key(s.parse().unwrap());
        assert_eq!(key("10.0.0.1"), key("::ffff:10.0.0.1"));
        assert_ne!(key("10.0.0.1"), key("10.0.0.2"));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }
}
