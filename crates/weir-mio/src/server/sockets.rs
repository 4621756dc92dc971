//! [`Sockets`]: a worker's own connections, by their slot in its loop.
//!
//! Every callback of the worker finds its connection's [`Socket`] here, so
//! the table is indexed by the connection's slot in the loop (which its id
//! carries) rather than hashed by id; the whole id is still checked, as
//! slots are reused.

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
        let slot = socket.id().slot();
        if self.slots.len() <= slot {
            self.slots.resize_with(slot + 1, || None);
        }
        self.slots[slot].replace(socket)
    }

    /// The socket of connection `id`.
    pub(crate) fn get(&self, id: ConnId) -> Option<&Socket> {
        self.slots
            .get(id.slot())?
            .as_ref()
            .filter(|socket| socket.id() == id)
    }

    /// Takes out the socket of connection `id`.
    pub(crate) fn remove(&mut self, id: ConnId) -> Option<Socket> {
        let entry = self.slots.get_mut(id.slot())?;
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
