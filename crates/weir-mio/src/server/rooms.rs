//! Rooms: named sets of connections, across all workers.
//!
//! The server keeps, behind one `RwLock` ([`Shared::rooms`]), `name ->
//! members`, the members held per worker as plain lists of ids, and
//! `connection -> names` for the connections in any room, so that a socket
//! can list its rooms, answer "am I a member" without scanning, and leave
//! them all when it closes (a connection in no room costs nothing here).
//! Both sides change together, under the write lock, and a closed socket
//! cannot join (its state is checked under the same lock), so membership
//! never outlives a connection. A room exists while it has members.
//!
//! A room broadcast encodes the message once
//! ([`PreparedMessage`](weir_proto::PreparedMessage)) and queues one command
//! per worker that has members, carrying only the room's name: the worker
//! walks its own list of the room's members when it runs the command, and
//! hands each member's connection the shared frame directly (each id says
//! where it is in the worker's loop). So a broadcast allocates nothing in
//! proportion to the room, and costs each recipient only its send. (A
//! worker refuses the command when its queue is full: `queue.rs`.)
//!
//! Leaving a room finds the socket in its worker's list by a scan: joins and
//! leaves are rarer than broadcasts, which a second index would slow.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use weir_proto::{Message, PreparedMessage, SendError};

use super::commands::Command;
use super::handle::{read, write, Shared};
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
    by_worker: Vec<Vec<ConnId>>,
}

impl Members {
    /// The members on worker `index`.
    pub(crate) fn on_worker(&self, index: usize) -> &[ConnId] {
        self.by_worker.get(index).map_or(&[], Vec::as_slice)
    }

    fn add(&mut self, id: ConnId) {
        let worker = id.worker();
        if self.by_worker.len() <= worker {
            self.by_worker.resize_with(worker + 1, Vec::new);
        }
        self.by_worker[worker].push(id);
    }

    fn remove(&mut self, id: ConnId) {
        let Some(list) = self.by_worker.get_mut(id.worker()) else {
            return;
        };
        if let Some(position) = list.iter().position(|&member| member == id) {
            list.swap_remove(position);
        }
    }

    fn count(&self) -> usize {
        self.by_worker.iter().map(Vec::len).sum()
    }

    /// The workers with members.
    fn workers(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.by_worker.len()).filter(|&index| !self.by_worker[index].is_empty())
    }
}

/// Every room with members, both ways (see the module docs).
#[derive(Default)]
pub(crate) struct Rooms {
    by_name: HashMap<Arc<str>, Members>,
    /// The rooms of each connection in any; sorted, for [`Socket::rooms`].
    by_conn: HashMap<ConnId, BTreeSet<Arc<str>>>,
}

impl Rooms {
    /// Room `name`'s members, if it has any.
    pub(crate) fn get(&self, name: &str) -> Option<&Members> {
        self.by_name.get(name)
    }

    /// The names of every room with members.
    pub(crate) fn names(&self) -> Vec<String> {
        self.by_name.keys().map(|name| name.to_string()).collect()
    }

    /// Every room with members, with their ids.
    #[cfg(feature = "redis")]
    pub(crate) fn snapshot(&self) -> Vec<(String, Vec<ConnId>)> {
        let rooms = self.by_name.iter();
        rooms
            .map(|(name, members)| (name.to_string(), members.by_worker.concat()))
            .collect()
    }

    /// Empties every room (when the server has stopped).
    pub(crate) fn clear(&mut self) {
        self.by_name.clear();
        self.by_conn.clear();
    }

    /// Adds `id` to room `name`; `false` if it was a member.
    fn join(&mut self, id: ConnId, name: &str) -> bool {
        let names = self.by_conn.entry(id).or_default();
        if names.contains(name) {
            return false;
        }
        // One allocation of the name, shared by both sides.
        let name: Arc<str> = match self.by_name.get_key_value(name) {
            Some((name, _)) => Arc::clone(name),
            None => name.into(),
        };
        names.insert(Arc::clone(&name));
        self.by_name.entry(name).or_default().add(id);
        true
    }

    /// Takes `id` out of room `name`, and the room away once it is empty;
    /// `false` if it was not a member.
    fn leave(&mut self, id: ConnId, name: &str) -> bool {
        let Some(names) = self.by_conn.get_mut(&id) else {
            return false;
        };
        if !names.remove(name) {
            return false;
        }
        if names.is_empty() {
            self.by_conn.remove(&id);
        }
        self.remove_member(id, name);
        true
    }

    /// Takes `id` out of every room it is in, and returns their names.
    fn leave_all(&mut self, id: ConnId) -> BTreeSet<Arc<str>> {
        let names = self.by_conn.remove(&id).unwrap_or_default();
        for name in &names {
            self.remove_member(id, name);
        }
        names
    }

    fn remove_member(&mut self, id: ConnId, name: &str) {
        if let Some(members) = self.by_name.get_mut(name) {
            members.remove(id);
            if members.count() == 0 {
                self.by_name.remove(name);
            }
        }
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
    /// a member (or not open). In a cluster, a member on another node is
    /// reached as [`ServerHandle::send_to`](super::ServerHandle::send_to)
    /// reaches it.
    pub fn send_to(&self, id: ConnId, message: impl Into<Message>) -> Result<(), SendError> {
        if !self.contains(id) {
            return Err(SendError::Closed);
        }
        #[cfg(feature = "redis")]
        if let Some(cluster) = self.shared.cluster.as_ref().filter(|c| c.is_remote(id)) {
            cluster.one(id, &message.into());
            return Ok(());
        }
        self.shared
            .socket(id)
            .ok_or(SendError::Closed)?
            .send(message)
    }

    /// How many members the room has; in a cluster, on every node (as far
    /// as this node has heard: see [`Cluster::expiry`](super::Cluster::expiry)).
    pub fn count(&self) -> usize {
        let here = read(&self.shared.rooms)
            .get(&self.name)
            .map_or(0, Members::count);
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.shared.cluster {
            return here + cluster.remote_count(&self.name);
        }
        here
    }

    /// The members' ids, sorted; in a cluster, on every node.
    pub fn members(&self) -> Vec<ConnId> {
        #[cfg_attr(not(feature = "redis"), allow(unused_mut))]
        let mut ids: Vec<ConnId> = {
            let rooms = read(&self.shared.rooms);
            let here = rooms.get(&self.name);
            here.map_or_else(Vec::new, |members| members.by_worker.concat())
        };
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.shared.cluster {
            ids.extend(cluster.remote_members(&self.name));
        }
        ids.sort_unstable();
        ids
    }

    /// Whether connection `id` is a member; in a cluster, on any node.
    pub fn contains(&self, id: ConnId) -> bool {
        #[cfg(feature = "redis")]
        if let Some(cluster) = self.shared.cluster.as_ref().filter(|c| c.is_remote(id)) {
            return cluster.remote_contains(&self.name, id);
        }
        let rooms = read(&self.shared.rooms);
        rooms
            .by_conn
            .get(&id)
            .is_some_and(|names| names.contains(&*self.name))
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
        // Under the lock that `leave_all` takes at the end: a connection
        // that has finished cannot join again.
        let joined = socket.state() != ReadyState::Closed && rooms.join(socket.id(), name);
        // Told under the lock too, so that the other nodes hear of changes
        // in the order they were made, and in order with this node's list
        // of its rooms (made under the same lock).
        #[cfg(feature = "redis")]
        if let (true, Some(cluster)) = (joined, &self.cluster) {
            cluster.joined(name, socket.id());
        }
        joined
    }

    /// Removes `id` from room `name`; see [`Socket::leave`].
    pub(crate) fn leave(&self, id: ConnId, name: &str) -> bool {
        let mut rooms = write(&self.rooms);
        let left = rooms.leave(id, name);
        #[cfg(feature = "redis")]
        if let (true, Some(cluster)) = (left, &self.cluster) {
            cluster.left(name, id);
        }
        left
    }

    /// The rooms `id` is in, sorted; see [`Socket::rooms`].
    pub(crate) fn rooms_of(&self, id: ConnId) -> Vec<String> {
        let rooms = read(&self.rooms);
        let names = rooms.by_conn.get(&id).into_iter().flatten();
        names.map(|name| name.to_string()).collect()
    }

    /// Removes a finished connection from every room it is in.
    pub(crate) fn leave_all(&self, id: ConnId) {
        let mut rooms = write(&self.rooms);
        #[cfg_attr(not(feature = "redis"), allow(unused_variables))]
        let names = rooms.leave_all(id);
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.cluster {
            for name in &names {
                cluster.left(name, id);
            }
        }
    }

    /// Sends `message` to the members of room `name` (but `except`): here,
    /// and on the cluster's other nodes if there is a cluster.
    fn room_broadcast(
        &self,
        name: &Arc<str>,
        except: Option<ConnId>,
        message: Message,
    ) -> Result<(), BroadcastRefused> {
        #[cfg(feature = "redis")]
        if let Some(cluster) = &self.cluster {
            cluster.room(name, except, &message);
        }
        self.room_broadcast_here(Arc::clone(name), except, message)
    }

    /// Sends `message`, encoded once, to the members of room `name` (but
    /// `except`) on this node: one command for each worker with members.
    pub(crate) fn room_broadcast_here(
        &self,
        name: Arc<str>,
        except: Option<ConnId>,
        message: Message,
    ) -> Result<(), BroadcastRefused> {
        let message = PreparedMessage::new(message);
        // Posted under the read lock (a worker never waits for the rooms
        // lock while it holds its queue's), so that no list of the workers
        // is made.
        let rooms = read(&self.rooms);
        let workers = rooms.get(&name).into_iter().flat_map(Members::workers);
        self.post_to_workers(workers, || Command::Room {
            name: Arc::clone(&name),
            message: message.clone(),
            except,
        })
    }
}
