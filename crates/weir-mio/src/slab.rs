//! The table of everything registered with the poller: listeners and
//! connections, indexed by their `mio::Token`.
//!
//! A `Vec<Option<Slot>>` with a free list: a token is the index of its slot
//! and is reused once the slot is freed. Because tokens are reused, the
//! application never sees them; it sees [`ConnId`]s, which come from a
//! counter and are never reused, and which `ids` maps back to slots.
//!
//! The table also keeps the "dirty" list: connections whose state changed
//! (bytes read, a message sent from a callback, a timeout) and that the loop
//! must settle (write, close, re-arm deadlines) before it polls again. Any
//! code that touches a connection, including sends to other connections
//! than the one whose callback runs, only has to mark it dirty.
//!
//! And the list of pending reads: connections whose last read stopped at
//! its budget rather than at `WouldBlock`, to be read again next turn
//! (`read.rs`).

use std::collections::HashMap;

use crate::accept::Listener;
use crate::conn::Conn;
use crate::ConnId;

/// One registered source.
pub(crate) enum Slot {
    /// A listening socket. Boxed, like connections, so that every slot
    /// takes two words.
    Listener(Box<Listener>),
    /// A connection, in any phase. Boxed so that free slots stay small.
    Conn(Box<Conn>),
}

/// Listeners and connections by token index.
#[derive(Default)]
pub(crate) struct Slab {
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    /// Connection id to slot index.
    ids: HashMap<ConnId, usize>,
    /// Slots to settle before the next poll.
    dirty: Vec<usize>,
    /// Slots to read from again next turn.
    read_pending: Vec<usize>,
    listeners: usize,
}

impl Slab {
    /// The index the next [`Slab::insert`] will use, so that a source can
    /// be registered under its token before it is stored.
    pub(crate) fn peek_index(&self) -> usize {
        self.free.last().copied().unwrap_or(self.slots.len())
    }

    /// Stores `slot` and returns its index, [`Slab::peek_index`].
    pub(crate) fn insert(&mut self, slot: Slot) -> usize {
        match &slot {
            Slot::Listener(_) => self.listeners += 1,
            Slot::Conn(conn) => {
                self.ids.insert(conn.id, self.peek_index());
            }
        }
        match self.free.pop() {
            Some(index) => {
                self.slots[index] = Some(slot);
                index
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        }
    }

    /// Frees slot `index` and returns what it held.
    pub(crate) fn remove(&mut self, index: usize) -> Option<Slot> {
        let slot = self.slots.get_mut(index)?.take()?;
        match &slot {
            Slot::Listener(_) => self.listeners -= 1,
            Slot::Conn(conn) => {
                self.ids.remove(&conn.id);
            }
        }
        self.free.push(index);
        Some(slot)
    }

    /// The indices of every occupied slot.
    pub(crate) fn indices(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&index| self.slots[index].is_some())
            .collect()
    }

    /// The ids of every connection, in no particular order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.ids.keys().copied()
    }

    /// The slot at `index`, if occupied.
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut Slot> {
        self.slots.get_mut(index)?.as_mut()
    }

    /// The connection at `index`, if that slot holds one.
    pub(crate) fn conn(&self, index: usize) -> Option<&Conn> {
        match self.slots.get(index)? {
            Some(Slot::Conn(conn)) => Some(conn),
            _ => None,
        }
    }

    /// The connection at `index`, if that slot holds one.
    pub(crate) fn conn_mut(&mut self, index: usize) -> Option<&mut Conn> {
        match self.slots.get_mut(index)? {
            Some(Slot::Conn(conn)) => Some(conn),
            _ => None,
        }
    }

    /// The slot index of connection `id`, if it is still there.
    pub(crate) fn index_of(&self, id: ConnId) -> Option<usize> {
        self.ids.get(&id).copied()
    }

    /// Asks the loop to settle connection `index` before it polls again.
    pub(crate) fn mark_dirty(&mut self, index: usize) {
        if let Some(conn) = self.conn_mut(index) {
            if !conn.dirty {
                conn.dirty = true;
                self.dirty.push(index);
            }
        }
    }

    /// The next connection to settle, its dirty flag cleared.
    pub(crate) fn pop_dirty(&mut self) -> Option<usize> {
        while let Some(index) = self.dirty.pop() {
            if let Some(conn) = self.conn_mut(index) {
                conn.dirty = false;
                return Some(index);
            }
        }
        None
    }

    /// Asks the loop to read from connection `index` again next turn; its
    /// `read_pending` flag is set by the caller.
    pub(crate) fn mark_read_pending(&mut self, index: usize) {
        self.read_pending.push(index);
    }

    /// The connections to read from again, their list emptied. Each is
    /// listed once: only a read that sets its flag lists it, and only a
    /// resumed read clears the flag (a readiness event does not read a
    /// connection whose flag is set).
    pub(crate) fn take_read_pending(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.read_pending)
    }

    /// How many connections there are, in any phase.
    pub(crate) fn connections(&self) -> usize {
        self.ids.len()
    }

    /// Whether nothing is registered: no listener and no connection.
    pub(crate) fn is_empty(&self) -> bool {
        self.listeners == 0 && self.ids.is_empty()
    }
}
