//! [`Sockets`]: a worker's connections, by their slot in its loop.
//!
//! Two tables of this kind per worker: the worker's own, of [`Entry`]s
//! (each socket with its handler's state), which its callbacks use without
//! a lock, and its part of the server's directory (`handle.rs`), of plain
//! [`Socket`]s, behind a lock, for other threads. The state lives only in
//! the first, on the one thread that runs the connection's callbacks.
//!
//! Every callback of the worker finds its connection here, so the table is
//! indexed by the connection's slot in the loop (which its id carries)
//! rather than hashed by id; the whole id is still checked, as slots are
//! reused.

use super::dispatch::State;
use super::Socket;
use crate::ConnId;

/// What a table holds for a connection: something with its id.
pub(crate) trait Keyed {
    fn id(&self) -> ConnId;
}

impl Keyed for Socket {
    fn id(&self) -> ConnId {
        Socket::id(self)
    }
}

/// A connection's socket and, once `on_open` has made it, its state.
pub(crate) struct Entry {
    pub(crate) socket: Socket,
    pub(crate) state: Option<State>,
}

impl Entry {
    /// `socket`, with no state yet.
    pub(crate) fn new(socket: Socket) -> Self {
        Self {
            socket,
            state: None,
        }
    }
}

impl Keyed for Entry {
    fn id(&self) -> ConnId {
        self.socket.id()
    }
}

/// One worker's connections, from their accepted upgrade to their
/// `on_close`.
pub(crate) struct Sockets<T = Socket> {
    /// Indexed by slot.
    slots: Vec<Option<T>>,
    /// How many slots hold a connection.
    len: usize,
}

impl<T> Default for Sockets<T> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Keyed> Sockets<T> {
    /// Keeps `item`, at its connection's slot. What is still at that slot
    /// belongs to a connection that is gone without its end reaching the
    /// worker; it is returned, to be finished.
    pub(crate) fn insert(&mut self, item: T) -> Option<T> {
        let slot = item.id().slot();
        if self.slots.len() <= slot {
            self.slots.resize_with(slot + 1, || None);
        }
        let stale = self.slots[slot].replace(item);
        if stale.is_none() {
            self.len += 1;
        }
        stale
    }

    /// How many connections there are.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// What is kept for connection `id`.
    pub(crate) fn get(&self, id: ConnId) -> Option<&T> {
        self.slots
            .get(id.slot())?
            .as_ref()
            .filter(|item| item.id() == id)
    }

    /// What is kept for connection `id`, to change it.
    pub(crate) fn get_mut(&mut self, id: ConnId) -> Option<&mut T> {
        self.slots
            .get_mut(id.slot())?
            .as_mut()
            .filter(|item| item.id() == id)
    }

    /// Takes out what is kept for connection `id`.
    pub(crate) fn remove(&mut self, id: ConnId) -> Option<T> {
        let slot = self.slots.get_mut(id.slot())?;
        if slot.as_ref()?.id() != id {
            return None;
        }
        self.len -= 1;
        slot.take()
    }

    /// Everything kept, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten()
    }

    /// Takes out everything.
    pub(crate) fn take_all(&mut self) -> Vec<T> {
        self.len = 0;
        std::mem::take(&mut self.slots)
            .into_iter()
            .flatten()
            .collect()
    }
}
