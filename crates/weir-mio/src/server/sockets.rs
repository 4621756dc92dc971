//! [`Sockets`]: a worker's own connections, by their slot in its loop,
//! each with its handler's state.
//!
//! Every callback of the worker finds its connection's [`Socket`] here, so
//! the table is indexed by the connection's slot in the loop (which its id
//! carries) rather than hashed by id; the whole id is still checked, as
//! slots are reused. The state ([`State`]) lives here too, on the only
//! thread that runs the connection's callbacks, so lending it takes no
//! lock.

use super::dispatch::State;
use super::Socket;
use crate::ConnId;

/// A connection's socket and, once `on_open` has made it, its state.
pub(crate) struct Entry {
    pub(crate) socket: Socket,
    pub(crate) state: Option<State>,
}

/// The sockets of one worker's connections, from their accepted upgrade to
/// their `on_close`.
#[derive(Default)]
pub(crate) struct Sockets {
    /// Indexed by slot.
    slots: Vec<Option<Entry>>,
}

impl Sockets {
    /// Keeps `socket`, at its slot, with no state yet. An entry still at
    /// that slot belongs to a connection that is gone without its end
    /// reaching the worker; it is returned, to be finished.
    pub(crate) fn insert(&mut self, socket: Socket) -> Option<Entry> {
        let slot = socket.id().slot();
        if self.slots.len() <= slot {
            self.slots.resize_with(slot + 1, || None);
        }
        self.slots[slot].replace(Entry {
            socket,
            state: None,
        })
    }

    /// The socket of connection `id`.
    pub(crate) fn get(&self, id: ConnId) -> Option<&Socket> {
        self.entry(id).map(|entry| &entry.socket)
    }

    /// The entry of connection `id`.
    pub(crate) fn entry(&self, id: ConnId) -> Option<&Entry> {
        self.slots
            .get(id.slot())?
            .as_ref()
            .filter(|entry| entry.socket.id() == id)
    }

    /// The entry of connection `id`, to lend or set its state.
    pub(crate) fn entry_mut(&mut self, id: ConnId) -> Option<&mut Entry> {
        self.slots
            .get_mut(id.slot())?
            .as_mut()
            .filter(|entry| entry.socket.id() == id)
    }

    /// Takes out the entry of connection `id`.
    pub(crate) fn remove(&mut self, id: ConnId) -> Option<Entry> {
        let slot = self.slots.get_mut(id.slot())?;
        if slot.as_ref()?.socket.id() != id {
            return None;
        }
        slot.take()
    }

    /// Every socket, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Socket> {
        self.slots.iter().flatten().map(|entry| &entry.socket)
    }

    /// Takes out every entry.
    pub(crate) fn take_all(&mut self) -> Vec<Entry> {
        std::mem::take(&mut self.slots)
            .into_iter()
            .flatten()
            .collect()
    }
}
