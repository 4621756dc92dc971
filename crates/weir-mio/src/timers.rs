//! Deadlines, since mio has no timers: a min-heap of `(when, slot, id)`,
//! where the id is a connection's, or `None` for a listener's retry of a
//! failed accept.
//!
//! The heap only wakes the loop; what a deadline means is decided elsewhere:
//! by the core for an open connection (keepalive, closing handshake), by
//! `settle.rs` for the handshake timeout and the linger after an HTTP
//! answer, by `accept.rs` for a listener's retry.
//!
//! Entries are never removed early. When a connection's deadline changes or
//! the connection goes away, its old entry stays in the heap and is skipped
//! when it comes due (the loop checks that the slot still holds the same
//! connection with that entry as its live one, or a listener with a retry
//! due then). A connection pushes an entry only for a deadline earlier than
//! the one armed; a later one (keepalive moving on with each read) waits
//! for the armed entry to fire early and is pushed then. So reads never
//! push, a connection pushes a handful of entries in its life (handshake,
//! one per quiet period, closing), stale entries cost at most one early
//! wake-up each, and the heap stays small. The loop polls with a timeout
//! that ends at the earliest entry.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use crate::ConnId;

/// Pending deadlines, earliest first.
#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, usize, Option<ConnId>)>>,
}

impl Timers {
    /// Remembers that connection `id` in slot `index` has a deadline at `when`.
    pub(crate) fn push(&mut self, when: Instant, index: usize, id: ConnId) {
        self.heap.push(Reverse((when, index, Some(id))));
    }

    /// Remembers that the listener in slot `index` retries accepting at
    /// `when`.
    pub(crate) fn push_listener(&mut self, when: Instant, index: usize) {
        self.heap.push(Reverse((when, index, None)));
    }

    /// How many entries the heap holds, stale ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// How long until the earliest deadline (zero if it has passed), if any.
    pub(crate) fn next_timeout(&self, now: Instant) -> Option<Duration> {
        self.heap
            .peek()
            .map(|Reverse((when, _, _))| when.saturating_duration_since(now))
    }

    /// The earliest entry if it is due at `now`, removed from the heap.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, usize, Option<ConnId>)> {
        match self.heap.peek() {
            Some(Reverse((when, _, _))) if *when <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_entries_come_out_earliest_first_connections_and_listeners() {
        let start = Instant::now();
        let mut timers = Timers::default();
        timers.push(start + Duration::from_secs(3), 3, ConnId(30));
        timers.push(start + Duration::from_secs(1), 1, ConnId(10));
        timers.push(start + Duration::from_secs(2), 2, ConnId(20));
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
        assert_eq!(timers.pop_due(last).map(|e| e.2), Some(Some(ConnId(30))));
        assert_eq!(timers.pop_due(last), Some((last, 4, None)));
        assert_eq!(timers.next_timeout(last), None);
    }
}
