//! Deadlines, since mio has no timers: a min-heap of `(when, slot,
//! listener)`, where `listener` marks a listener's retry of a failed
//! accept, and any other entry is a connection's.
//!
//! The heap only wakes the loop; what a deadline means is decided elsewhere:
//! by the core for an open connection (keepalive, closing handshake), by
//! `settle.rs` for the handshake timeout and the linger after an HTTP
//! answer, by `accept.rs` for a listener's retry.
//!
//! Entries are never removed early. When a connection's deadline changes or
//! the connection goes away, its old entry stays in the heap and is skipped
//! when it comes due (the loop checks that the slot holds a connection
//! whose armed deadline is that entry's, or a listener with a retry due
//! then). No id is needed for that: if another connection took the slot
//! and armed the very same deadline, to the nanosecond, it is due then all
//! the same, and its own entry is skipped later. A connection pushes an entry only for a deadline earlier than
//! the one armed; a later one (keepalive moving on with each read) waits
//! for the armed entry to fire early and is pushed then. So reads never
//! push, a connection pushes a handful of entries in its life (handshake,
//! one per quiet period, closing), stale entries cost at most one early
//! wake-up each, and the heap stays small. The loop polls with a timeout
//! that ends at the earliest entry.
//!
//! An entry takes 16 bytes: the deadline as nanoseconds since the heap's
//! epoch (exact, and half an `Instant`), the slot as a `u32` (each slot
//! holds a socket, and file descriptors are `int`s), and the listener
//! flag. A connection keeps its armed deadline in the same 8-byte form
//! ([`Deadline`]).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::num::NonZeroU64;
use std::time::{Duration, Instant};

/// A deadline, as one plus the nanoseconds from the timers' epoch (the
/// loop's creation) to it: exact to the nanosecond, 8 bytes where an
/// `Instant` takes 16, and never zero, so that `Option<Deadline>` takes 8
/// too. Instants before the epoch (none: every deadline is set after the
/// loop exists) would count as the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Deadline(NonZeroU64);

/// Pending deadlines, earliest first.
pub(crate) struct Timers {
    /// What [`Deadline`]s count from.
    epoch: Instant,
    /// `(when, slot, listener)`.
    heap: BinaryHeap<Reverse<(Deadline, u32, bool)>>,
}

impl Timers {
    /// No deadlines; [`Deadline`]s count from `epoch`.
    pub(crate) fn new(epoch: Instant) -> Self {
        Self {
            epoch,
            heap: BinaryHeap::new(),
        }
    }

    /// `when` in the heap's form.
    pub(crate) fn deadline(&self, when: Instant) -> Deadline {
        let nanos = when.saturating_duration_since(self.epoch).as_nanos();
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX - 1);
        Deadline(NonZeroU64::MIN.saturating_add(nanos))
    }

    /// Remembers that the connection in slot `index` has a deadline at
    /// `when`, and returns it in the form the connection keeps.
    pub(crate) fn push(&mut self, when: Instant, index: usize) -> Deadline {
        let when = self.deadline(when);
        self.heap.push(Reverse((when, slot(index), false)));
        when
    }

    /// Remembers that the listener in slot `index` retries accepting at
    /// `when`.
    pub(crate) fn push_listener(&mut self, when: Instant, index: usize) {
        let when = self.deadline(when);
        self.heap.push(Reverse((when, slot(index), true)));
    }

    /// How many entries the heap holds, stale ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// How long until the earliest deadline (zero if it has passed), if any.
    pub(crate) fn next_timeout(&self, now: Instant) -> Option<Duration> {
        let Reverse((when, _, _)) = self.heap.peek()?;
        let now = self.deadline(now);
        Some(Duration::from_nanos(
            when.0.get().saturating_sub(now.0.get()),
        ))
    }

    /// The earliest entry if it is due at `now`, removed from the heap:
    /// its deadline, its slot, and whether it is a listener's.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Deadline, usize, bool)> {
        let now = self.deadline(now);
        match self.heap.peek() {
            Some(Reverse((when, _, _))) if *when <= now => {
                let Reverse((when, index, listener)) = self.heap.pop()?;
                Some((when, index as usize, listener))
            }
            _ => None,
        }
    }
}

/// Slot `index` as the heap keeps it. Slots hold sockets, so there are
/// fewer than 2^31 of them; a larger index (none) would never be found.
fn slot(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_entries_come_out_earliest_first_connections_and_listeners() {
        let start = Instant::now();
        let mut timers = Timers::new(start);
        timers.push(start + Duration::from_secs(3), 3);
        timers.push(start + Duration::from_secs(1), 1);
        timers.push(start + Duration::from_secs(2), 2);
        timers.push_listener(start + Duration::from_secs(4), 4);
        assert_eq!(timers.next_timeout(start), Some(Duration::from_secs(1)));
        assert_eq!(timers.pop_due(start), None);
        let later = start + Duration::from_secs(2);
        assert_eq!(timers.pop_due(later).map(|e| e.1), Some(1));
        assert_eq!(timers.pop_due(later).map(|e| e.1), Some(2));
        assert_eq!(timers.pop_due(later), None);
        assert_eq!(timers.next_timeout(later), Some(Duration::from_secs(1)));
        assert_eq!(
            timers.next_timeout(start + Duration::from_secs(9)),
            Some(Duration::ZERO)
        );
        let last = start + Duration::from_secs(4);
        let three = timers.deadline(start + Duration::from_secs(3));
        assert_eq!(timers.pop_due(last), Some((three, 3, false)));
        assert_eq!(timers.pop_due(last), Some((timers.deadline(last), 4, true)));
        assert_eq!(timers.next_timeout(last), None);
    }
}
