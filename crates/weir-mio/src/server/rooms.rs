//! Rooms: named sets of connections, across all workers.
//!
//! The server keeps `name -> member ids` behind one `RwLock`; each
//! [`Socket`] keeps the names of its own rooms, so that it can list them and
//! leave them all when it closes. Both sides change together, under the
//! rooms write lock, and a closed socket cannot join (its state is checked
//! under the same lock), so membership never outlives a connection. A room
//! exists while it has members.
//!
//! A room broadcast encodes the message once ([`PreparedMessage`](weir_proto::PreparedMessage))
//! and queues one command per worker that has members, carrying their ids
//! (refused by a worker whose command queue is full: `queue.rs`).

use std::sync::Arc;

use weir_proto::{Message, SendError};

use super::handle::{lock, read, write, Shared};
use super::{BroadcastRefused, ReadyState, Socket};
use crate::ConnId;

/// A room of a server, by name: a handle that stays valid whether or not
/// the room has members. Get one with [`ServerHandle::room`](super::ServerHandle::room).
#[derive(Clone)]
pub struct Room {
    pub(crate) shared: Arc<Shared>,
    pub(crate) name: String,
}

impl Room {
    /// The room's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends `message` to every member, encoded once.
    ///
    /// Fails with [`BroadcastRefused`] when one or more of the workers the
    /// members are on refused it, their command queue being full
    /// ([`ServerBuilder::command_queue_capacity`](super::ServerBuilder::command_queue_capacity)):
    /// the members on those workers do not get the message, the others do.
    pub fn broadcast(&self, message: impl Into<Message>) -> Result<(), BroadcastRefused> {
        self.shared.send_many(self.members(), message.into())
    }

    /// Sends `message` to every member except `except` (typically the
    /// sender), encoded once; fails as [`Room::broadcast`] does.
    pub fn broadcast_except(
        &self,
        except: ConnId,
        message: impl Into<Message>,
    ) -> Result<(), BroadcastRefused> {
        let members = self.members().into_iter().filter(|&id| id != except);
        self.shared.send_many(members, message.into())
    }

    /// Sends `message` to member `id`; [`SendError::Closed`] if `id` is not
    /// a member (or not open).
    pub fn send_to(&self, id: ConnId, message: impl Into<Message>) -> Result<(), SendError> {
        if !self.contains(id) {
            return Err(SendError::Closed);
        }
        self.shared
            .socket(id)
            .ok_or(SendError::Closed)?
            .send(message)
    }

    /// How many members the room has.
    pub fn count(&self) -> usize {
        read(&self.shared.rooms)
            .get(&self.name)
            .map_or(0, |members| members.len())
    }

    /// The members' ids, sorted.
    pub fn members(&self) -> Vec<ConnId> {
        let mut members: Vec<ConnId> = read(&self.shared.rooms)
            .get(&self.name)
            .map(|members| members.iter().copied().collect())
            .unwrap_or_default();
        members.sort_unstable();
        members
    }

    /// Whether connection `id` is a member.
    pub fn contains(&self, id: ConnId) -> bool {
        read(&self.shared.rooms)
            .get(&self.name)
            .is_some_and(|members| members.contains(&id))
    }
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room")
            .field("name", &self.name)
            .field("count", &self.count())
            .finish()
    }
}

impl Shared {
    /// Adds `socket` to room `name`; see [`Socket::join`].
    pub(crate) fn join(&self, socket: &Socket, name: &str) -> bool {
        let mut rooms = write(&self.rooms);
        if socket.state() == ReadyState::Closed {
            return false;
        }
        let added = rooms
            .entry(name.to_owned())
            .or_default()
            .insert(socket.id());
        if added {
            lock(&socket.inner.rooms).insert(name.to_owned());
        }
        added
    }

    /// Removes `socket` from room `name`; see [`Socket::leave`].
    pub(crate) fn leave(&self, socket: &Socket, name: &str) -> bool {
        let mut rooms = write(&self.rooms);
        let Some(members) = rooms.get_mut(name) else {
            return false;
        };
        let removed = members.remove(&socket.id());
        if members.is_empty() {
            rooms.remove(name);
        }
        lock(&socket.inner.rooms).remove(name);
        removed
    }

    /// Removes a closed `socket` from every room it is in.
    pub(crate) fn leave_all(&self, socket: &Socket) {
        let mut rooms = write(&self.rooms);
        let names = std::mem::take(&mut *lock(&socket.inner.rooms));
        for name in names {
            if let Some(members) = rooms.get_mut(&name) {
                members.remove(&socket.id());
                if members.is_empty() {
                    rooms.remove(&name);
                }
            }
        }
    }
}
