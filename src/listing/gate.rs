//! How many large directories are read at once.
//!
//! Reading a directory of 100,000 entries takes tens of milliseconds of CPU; sixty clients
//! asking for one at once kept both cores busy for seconds and starved small requests (seen:
//! 20 to 46 s). A thread that finds its directory large hands its place among the threads
//! serving ready connections to another ([`tiny_http::Request::will_block`]) and then waits
//! here for one of a few slots, so reading directories never takes more than those slots'
//! worth of CPU; past a queue of waiters, more large listings are refused with 503.

use std::sync::{Condvar, Mutex};

/// The slots for reading large directories.
pub struct Gate {
    state: Mutex<State>,
    freed: Condvar,
    slots: usize,
    max_waiting: usize,
}

struct State {
    busy: usize,
    waiting: usize,
}

/// A slot taken; given back when dropped.
pub struct Slot<'a>(&'a Gate);

impl Gate {
    /// `slots` readers at once, and at most `max_waiting` waiting for a slot.
    pub fn new(slots: usize, max_waiting: usize) -> Gate {
        Gate {
            state: Mutex::new(State {
                busy: 0,
                waiting: 0,
            }),
            freed: Condvar::new(),
            slots: slots.max(1),
            max_waiting,
        }
    }

    /// Waits for a slot; `None` if too many are waiting already.
    pub fn enter(&self) -> Option<Slot<'_>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.busy >= self.slots {
            if state.waiting >= self.max_waiting {
                return None;
            }
            state.waiting += 1;
            while state.busy >= self.slots {
                state = self.freed.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            state.waiting -= 1;
        }
        state.busy += 1;
        Some(Slot(self))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        state.busy -= 1;
        drop(state);
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_and_the_queue_are_bounded() {
        let gate = Gate::new(1, 0);
        let first = gate.enter().expect("a free slot");
        // No room to wait: refused at once rather than blocked.
        assert!(gate.enter().is_none());
        drop(first);
        assert!(gate.enter().is_some());
    }

    #[test]
    fn a_waiter_gets_the_slot_when_it_is_freed() {
        let gate = std::sync::Arc::new(Gate::new(1, 4));
        let first = gate.enter().unwrap();
        let waiter = {
            let gate = std::sync::Arc::clone(&gate);
            std::thread::spawn(move || gate.enter().is_some())
        };
        while gate.state.lock().unwrap().waiting == 0 {
            std::thread::yield_now();
        }
        drop(first);
        assert!(waiter.join().unwrap());
    }
}
