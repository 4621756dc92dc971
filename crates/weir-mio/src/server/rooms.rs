//! Rooms: named sets of connections, across all workers.
//!
//! The server keeps `name -> members` behind one `RwLock` ([`Shared::rooms`]),
//! the members held per worker as plain lists of [`Socket`]s; each socket
//! keeps the names of its own rooms, so that it can list them, answer
//! "am I a member" without scanning, and leave them all when it closes. Both
//! sides change together, under the rooms write lock, and a closed socket
//! cannot join (its state is checked under the same lock), so membership
//! never outlives a connection. A room exists while it has members.
//!
//! A room broadcast encodes the message once
//! ([`PreparedMessage`](weir_proto::PreparedMessage)) and queues one command
//! per worker that has members, carrying only the room's name: the worker
//! walks its own list of the room's members when it runs the command, and
//! hands each member's connection the shared frame directly (each socket's
//! id says where it is in the worker's loop). So a broadcast allocates nothing in
//! proportion to the room, and costs each recipient only its send. (A
//! worker refuses the command when its queue is full: `queue.rs`.)
//!
//! Leaving a room finds the socket in its worker's list by a scan: joins and
//! leaves are rarer than broadcasts, which a second index would slow.

use std::sync::Arc;

use weir_proto::{Message, PreparedMessage, SendError};

use super::commands::Command;
use super::handle::{lock, read, write, Shared};
use super::{BroadcastRefused, ReadyState, Socket};
use crate::ConnId;

/// A room of a server, by name: a handle that stays valid whether or not
/// the room has members. Get one with [`ServerHandle::room`](super::ServerHandle::room).
#[derive(Clone)]
pub struct Room {
    pub(crate) shared: Arc<Shared>,
    pub(crate) name: Arc<str>,
}

/// The members of one room, by the worker that owns them.
#[derive(Default)]
pub(crate) struct Members {
    /// Indexed by worker; each list in no particular order.
    by_worker: Vec<Vec<Socket>>,
    count: usize,
}

impl Members {
    /// The members on worker `index`.
    pub(crate) fn on_worker(&self, index: usize) -> &[Socket] {
        self.by_worker.get(index).map_or(&[], Vec::as_slice)
    }

    fn add(&mut self, socket: &Socket) {
        let worker = socket.id().worker();
        if self.by_worker.len() <= worker {
            self.by_worker.resize_with(worker + 1, Vec::new);
        }
        self.by_worker[worker].push(socket.clone());
        self.count += 1;
    }

    fn remove(&mut self, socket: &Socket) {
        let Some(list) = self.by_worker.get_mut(socket.id().worker()) else {
            return;
        };
        if let Some(position) = list.iter().position(|member| member == socket) {
            list.swap_remove(position);
            self.count -= 1;
        }
    }

    /// The workers with members.
    fn workers(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.by_worker.len()).filter(|&index| !self.by_worker[index].is_empty())
    }
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
        self.shared.room_broadcast(&self.name, None, message.into())
    }

    /// Sends `message` to every member except `except` (typically the
    /// sender), encoded once; fails as [`Room::broadcast`] does.
    pub fn broadcast_except(
        &self,
        except: ConnId,
        message: impl Into<Message>,
    ) -> Result<(), BroadcastRefused> {
        self.shared
            .room_broadcast(&self.name, Some(except), message.into())
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
            .get(&*self.name)
            .map_or(0, |members| members.count)
    }

    /// The members' ids, sorted.
    pub fn members(&self) -> Vec<ConnId> {
        let rooms = read(&self.shared.rooms);
        let Some(members) = rooms.get(&*self.name) else {
            return Vec::new();
        };
        let mut ids = Vec::with_capacity(members.count);
        for list in &members.by_worker {
            ids.extend(list.iter().map(Socket::id));
        }
        ids.sort_unstable();
        ids
    }

    /// Whether connection `id` is a member.
    pub fn contains(&self, id: ConnId) -> bool {
        self.shared
            .socket(id)
            .is_some_and(|socket| lock(&socket.inner.rooms).contains(&*self.name))
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
        if !lock(&socket.inner.rooms).insert(name.to_owned()) {
            return false;
        }
        match rooms.get_mut(name) {
            Some(members) => members.add(socket),
            None => {
                let mut members = Members::default();
                members.add(socket);
                rooms.insert(name.into(), members);
            }
        }
        true
    }

    /// Removes `socket` from room `name`; see [`Socket::leave`].
    pub(crate) fn leave(&self, socket: &Socket, name: &str) -> bool {
        let mut rooms = write(&self.rooms);
        if !lock(&socket.inner.rooms).remove(name) {
            return false;
        }
        remove_member(&mut rooms, socket, name);
        true
    }

    /// Removes a closed `socket` from every room it is in.
    pub(crate) fn leave_all(&self, socket: &Socket) {
        let mut rooms = write(&self.rooms);
        let names = std::mem::take(&mut *lock(&socket.inner.rooms));
        for name in names {
            remove_member(&mut rooms, socket, &name);
        }
    }

    /// Sends `message`, encoded once, to the members of room `name` (but
    /// `except`): one command for each worker with members.
    fn room_broadcast(
        &self,
        name: &Arc<str>,
        except: Option<ConnId>,
        message: Message,
    ) -> Result<(), BroadcastRefused> {
        let message = PreparedMessage::new(message);
        // Posted under the read lock (a worker never waits for the rooms
        // lock while it holds its queue's), so that no list of the workers
        // is made.
        let rooms = read(&self.rooms);
        let workers = rooms.get(&**name).into_iter().flat_map(Members::workers);
        self.post_to_workers(workers, || Command::Room {
            name: Arc::clone(name),
            message: message.clone(),
            except,
        })
    }
}

/// Every room with members, by name.
pub(crate) type RoomMap = std::collections::HashMap<Arc<str>, Members>;

/// Takes `socket` out of room `name`'s members, and the room out of `rooms`
/// once it is empty.
fn remove_member(rooms: &mut RoomMap, socket: &Socket, name: &str) {
    if let Some(members) = rooms.get_mut(name) {
        members.remove(socket);
        if members.count == 0 {
            rooms.remove(name);
        }
    }
}
