//! [`Sockets`]: a worker's own connections, by their slot in its loop.
//!
//! Every callback of the worker finds its connection's [`Socket`] here, so
//! the table is indexed by the loop's slot (a connection's `Ws` knows it)
//! rather than hashed by id; the id is still checked, as slots are reused.

use super::Socket;
use crate::ConnId;

/// The sockets of one worker's connections, from their accepted upgrade to
/// their `on_close`.
#[derive(Default)]
pub(crate) struct Sockets {
    /// Indexed by slot.
    slots: Vec<Option<Socket>>,
}

impl Sockets {
    /// Keeps `socket`, at its slot. A socket still at that slot belongs to
    /// a connection that is gone without its end reaching the worker; it is
    /// returned, to be finished.
    pub(crate) fn insert(&mut self, socket: Socket) -> Option<Socket> {
        let slot = socket.inner.slot;
        if self.slots.len() <= slot {
            self.slots.resize_with(slot + 1, || None);
        }
        self.slots[slot].replace(socket)
    }

    /// The socket of connection `id` at `slot`.
    pub(crate) fn get(&self, slot: usize, id: ConnId) -> Option<&Socket> {
        self.slots
            .get(slot)?
            .as_ref()
            .filter(|socket| socket.id() == id)
    }

    /// Takes out the socket of connection `id` at `slot`.
    pub(crate) fn remove(&mut self, slot: usize, id: ConnId) -> Option<Socket> {
        let entry = self.slots.get_mut(slot)?;
        if entry.as_ref()?.id() != id {
            return None;
        }
        entry.take()
    }

    /// Every socket, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Socket> {
        self.slots.iter().flatten()
    }

    /// Takes out every socket.
    pub(crate) fn take_all(&mut self) -> Vec<Socket> {
        std::mem::take(&mut self.slots)
            .into_iter()
            .flatten()
            .collect()
    }
}
