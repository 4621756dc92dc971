//! [`Sockets`]: a worker's own connections, by their slot in its loop.
//!
//! Two tables of this kind per worker: the worker's own, which its
//! callbacks use without a lock, and its part of the server's directory
//! (`handle.rs`), behind a lock, for other threads.
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
    /// How many slots hold a socket.
    len: usize,
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
        let stale = self.slots[slot].replace(socket);
        if stale.is_none() {
            self.len += 1;
        }
        stale
    }

    /// How many sockets there are.
    pub(crate) fn len(&self) -> usize {
        self.len
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
        self.len -= 1;
        entry.take()
    }

    /// Every socket, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Socket> {
        self.slots.iter().flatten()
    }

    /// Takes out every socket.
    pub(crate) fn take_all(&mut self) -> Vec<Socket> {
        self.len = 0;
        std::mem::take(&mut self.slots)
            .into_iter()
            .flatten()
            .collect()
    }
}
