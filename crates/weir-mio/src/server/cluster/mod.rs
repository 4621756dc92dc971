//! [`Cluster`]: several servers (nodes) behind a load balancer sharing
//! rooms, broadcasts and sends, over Redis pub/sub (feature `redis`).
//!
//! Each node publishes what must reach other nodes as a [`Note`]
//! (`wire.rs`) on a Redis channel, and reads the notes of the others:
//! - a room broadcast goes to the room's members here, as ever, and is
//!   published on `PREFIX:room:NAME`; every node reads every room's channel
//!   (one pattern subscription) and hands each note to its own members of
//!   that room, encoded once for them all;
//! - a server broadcast goes to `PREFIX:all`;
//! - a send to a connection of another node (its id says which node) goes
//!   to `PREFIX:to:NODE`, which only that node reads.
//!
//! Room counts and member lists span the nodes: every node tells the others
//! who joins and leaves its rooms, on `PREFIX:members`, and keeps a view of
//! theirs (`view.rs`), so that `Room::count` never waits for Redis. A node
//! that is new, or back after an outage, asks the others for their rooms
//! and tells its own. Each node sends a heartbeat every third of the expiry
//! ([`Cluster::expiry`], 3 s by default); a node unheard for the expiry (it
//! crashed, or lost Redis) drops out of the others' counts, and a node
//! that stops says so at once.
//!
//! Redis's I/O stays off the event loops: two threads of the cluster's own
//! (`threads.rs`), one publishing what a bounded queue hands it, one reading.
//!
//! # Failures
//! Delivery across nodes is at most once. When Redis is down, or restarts:
//! - everything local (rooms, broadcasts, sends on this node) works as
//!   before;
//! - notes for other nodes are dropped and counted
//!   ([`ClusterStats::dropped`]), never buffered beyond the queue
//!   ([`Cluster::queue_capacity`]);
//! - the application hears of it through [`Cluster::on_status`];
//! - both threads reconnect, waiting 100 ms after the first failure and
//!   doubling the wait up to 5 s, and the node is back in the cluster as
//!   soon as Redis answers again, without a restart.

mod threads;
mod view;
mod wire;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use weir_proto::Message;

use super::handle::{read, Shared};
use crate::ConnId;
use view::View;
pub(crate) use wire::{Membership, Note, Reach};

/// The outbound queue's default capacity, in notes.
const DEFAULT_QUEUE_CAPACITY: usize = 4096;

/// How long a node may go unheard before the others forget its members.
const DEFAULT_EXPIRY: Duration = Duration::from_secs(3);

/// How a server joins a cluster: give it to
/// [`ServerBuilder::cluster`](super::ServerBuilder::cluster).
pub struct Cluster {
    url: String,
    prefix: String,
    /// This server's node number: given, or claimed at build.
    node: Option<u8>,
    queue_capacity: usize,
    expiry: Duration,
    on_status: Arc<StatusFn>,
}

/// The application's status callback.
type StatusFn = dyn Fn(ClusterStatus) + Send + Sync;

/// Whether a node reaches the rest of its cluster, as
/// [`Cluster::on_status`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterStatus {
    /// Connected to Redis both ways: notes flow.
    Connected,
    /// Redis is unreachable (the error says why): notes for other nodes are
    /// dropped until it is back.
    Disconnected(String),
}

/// What a node's cluster has done since the server was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClusterStats {
    /// Messages published for other nodes (room and server broadcasts,
    /// sends to their connections): one `PUBLISH` each.
    pub published: u64,
    /// Messages read from other nodes and delivered here.
    pub received: u64,
    /// Notes for other nodes (messages, and who joined or left a room)
    /// that were dropped: Redis was down, or the queue full.
    pub dropped: u64,
}

impl Cluster {
    /// A cluster on the Redis server at `url` (`redis://host:port`).
    ///
    /// Each node of a cluster has its own number, from 1 to 255, part of
    /// every [`ConnId`] it hands out so that a send to an id reaches its
    /// node. Unless one is given ([`Cluster::node`]), the server claims a
    /// free one when it is built: Redis must answer then (within a
    /// second), or [`ServerBuilder::build`](super::ServerBuilder::build)
    /// fails. A claim is a key (`PREFIX:node:N`) that the node's heartbeat
    /// keeps alive, freed when the node stops or after 10 s (or 3 times the
    /// expiry, if longer) without a heartbeat.
    pub fn redis(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            prefix: "weir".to_owned(),
            node: None,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            expiry: DEFAULT_EXPIRY,
            on_status: Arc::new(|_| {}),
        }
    }

    /// How long a node may go unheard (it sends a heartbeat every third of
    /// this) before the other nodes drop its members from their counts and
    /// member lists: how soon a crashed node's members disappear. The same
    /// on every node of a cluster. Default 3 s; at least 30 ms.
    pub fn expiry(mut self, expiry: Duration) -> Self {
        self.expiry = expiry.max(Duration::from_millis(30));
        self
    }

    /// This server's node number (1 to 255; 0 is taken as 1), instead of
    /// one claimed from Redis: so that the server starts while Redis is
    /// down. Giving two nodes the same number breaks sends to ids.
    pub fn node(mut self, node: u8) -> Self {
        self.node = Some(node.max(1));
        self
    }

    /// The start of every channel name, so that clusters can share a Redis
    /// server. Default `weir`.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_owned();
        self
    }

    /// How many notes may wait for Redis before more are dropped.
    /// Default 4,096.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// Called, on a cluster thread, each time the node loses or regains
    /// Redis (and once when it first connects). Must not block for long.
    pub fn on_status(mut self, callback: impl Fn(ClusterStatus) + Send + Sync + 'static) -> Self {
        self.on_status = Arc::new(callback);
        self
    }

    /// This server's node number, claimed from Redis if none was given.
    pub(crate) fn settle_node(&mut self) -> std::io::Result<u8> {
        let node = match self.node {
            Some(node) => node,
            None => threads::claim(self)?,
        };
        self.node = Some(node);
        Ok(node)
    }

    /// How long a node's claim on its number lasts without a heartbeat.
    fn lease(&self) -> Duration {
        (self.expiry * 3).max(Duration::from_secs(10))
    }

    /// The key of node `node`'s claim on its number.
    fn claim_key(&self, node: u8) -> String {
        format!("{}:node:{node}", self.prefix)
    }
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("url", &self.url)
            .field("prefix", &self.prefix)
            .field("node", &self.node)
            .field("queue_capacity", &self.queue_capacity)
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

/// A running node's side of the cluster, kept in the server's shared
/// state.
pub(crate) struct Link {
    node: u8,
    prefix: String,
    outbound: SyncSender<Outbound>,
    counters: Arc<Counters>,
    /// Set when the server has stopped: the reading thread ends.
    stopped: Arc<AtomicBool>,
    /// The other nodes' room members.
    view: Arc<RwLock<View>>,
}

/// A note and the channel it goes on.
pub(crate) struct Outbound {
    channel: String,
    bytes: Vec<u8>,
    /// A message for connections (counted in [`ClusterStats::published`]),
    /// not a membership note.
    message: bool,
}

impl Outbound {
    /// Node `node`'s membership note, on `channel` (the members channel).
    fn membership(channel: String, node: u8, membership: &Membership) -> Self {
        Self {
            channel,
            bytes: wire::encode_membership(node, membership),
            message: false,
        }
    }
}

/// The counters behind [`ClusterStats`].
#[derive(Default)]
pub(crate) struct Counters {
    published: AtomicU64,
    received: AtomicU64,
    dropped: AtomicU64,
}

impl Counters {
    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What starts a [`Link`]'s threads, once the server's shared state
/// exists.
pub(crate) struct Starter {
    cluster: Cluster,
    queue: mpsc::Receiver<Outbound>,
    counters: Arc<Counters>,
    stopped: Arc<AtomicBool>,
    view: Arc<RwLock<View>>,
}

impl Starter {
    /// Starts the threads, for the server whose state is `server`.
    pub(crate) fn start(self, server: Weak<Shared>) -> std::io::Result<()> {
        threads::spawn(self, server)
    }
}

impl Link {
    /// The link of `cluster`, and what starts its threads.
    pub(crate) fn new(cluster: Cluster) -> (Self, Starter) {
        let (outbound, queue) = mpsc::sync_channel(cluster.queue_capacity);
        let counters = Arc::new(Counters::default());
        let stopped = Arc::new(AtomicBool::new(false));
        let view = Arc::new(RwLock::new(View::new(cluster.expiry)));
        let link = Self {
            node: cluster.node.unwrap_or(1),
            prefix: cluster.prefix.clone(),
            outbound,
            counters: Arc::clone(&counters),
            stopped: Arc::clone(&stopped),
            view: Arc::clone(&view),
        };
        let starter = Starter {
            cluster,
            queue,
            counters,
            stopped,
            view,
        };
        (link, starter)
    }

    /// Tells the other nodes that `id` joined `room`.
    pub(crate) fn joined(&self, room: &str, id: ConnId) {
        let room = room.to_owned();
        self.tell(&Membership::Joined { room, id });
    }

    /// Tells the other nodes that `id` left `room`.
    pub(crate) fn left(&self, room: &str, id: ConnId) {
        let room = room.to_owned();
        self.tell(&Membership::Left { room, id });
    }

    /// Queues a membership note of this node's (the reader's answers go
    /// this way too).
    pub(crate) fn tell(&self, membership: &Membership) {
        let channel = members_channel(&self.prefix);
        let note = Outbound::membership(channel, self.node, membership);
        queue(&self.outbound, &self.counters, note);
    }

    /// How many members `room` has on the other nodes.
    pub(crate) fn remote_count(&self, room: &str) -> usize {
        read(&self.view).count(room, Instant::now())
    }

    /// The ids of `room`'s members on the other nodes.
    pub(crate) fn remote_members(&self, room: &str) -> Vec<ConnId> {
        read(&self.view).members(room, Instant::now())
    }

    /// Whether `id`, another node's, is a member of `room`.
    pub(crate) fn remote_contains(&self, room: &str, id: ConnId) -> bool {
        read(&self.view).contains(room, id, Instant::now())
    }

    /// Publishes `message` for room `name`'s members on other nodes.
    pub(crate) fn room(&self, name: &str, except: Option<ConnId>, message: &Message) {
        let channel = format!("{}:room:{name}", self.prefix);
        self.publish(channel, Reach::Room { except }, message);
    }

    /// Publishes `message` for every connection of the other nodes.
    pub(crate) fn everyone(&self, except: Option<ConnId>, message: &Message) {
        let channel = format!("{}:all", self.prefix);
        self.publish(channel, Reach::Everyone { except }, message);
    }

    /// Publishes `message` for connection `id` of another node.
    pub(crate) fn one(&self, id: ConnId, message: &Message) {
        let channel = format!("{}:to:{}", self.prefix, id.node());
        self.publish(channel, Reach::One(id), message);
    }

    /// Whether `id` is another node's.
    pub(crate) fn is_remote(&self, id: ConnId) -> bool {
        id.node() != usize::from(self.node)
    }

    fn publish(&self, channel: String, reach: Reach, message: &Message) {
        let note = Note {
            reach,
            origin: self.node,
            message: message.clone(),
        };
        let bytes = note.encode();
        let note = Outbound {
            channel,
            bytes,
            message: true,
        };
        queue(&self.outbound, &self.counters, note);
    }

    /// The counters now.
    pub(crate) fn stats(&self) -> ClusterStats {
        let counters = &self.counters;
        ClusterStats {
            published: counters.published.load(Ordering::Relaxed),
            received: counters.received.load(Ordering::Relaxed),
            dropped: counters.dropped.load(Ordering::Relaxed),
        }
    }

    /// Tells the other nodes this one is leaving, and ends the reading
    /// thread (the publishing one ends with the queue).
    pub(crate) fn stop(&self) {
        self.tell(&Membership::Leaving);
        self.stopped.store(true, Ordering::Release);
    }
}

/// The channel of membership notes.
fn members_channel(prefix: &str) -> String {
    format!("{prefix}:members")
}

/// Queues `note` for the publisher, or counts it dropped when the queue is
/// full (Redis slow or down).
fn queue(outbound: &SyncSender<Outbound>, counters: &Counters, note: Outbound) {
    match outbound.try_send(note) {
        Ok(()) => {}
        Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
            Counters::count(&counters.dropped);
        }
    }
}

impl Shared {
    /// Every room with members on this node, with them: what this node
    /// tells the others when they ask, and after an outage.
    pub(crate) fn local_rooms(&self) -> Vec<(String, Vec<ConnId>)> {
        read(&self.rooms).snapshot()
    }

    /// Hands a note read from another node to this node's connections.
    pub(crate) fn deliver_note(self: &Arc<Self>, room: Option<&str>, note: Note) {
        match (note.reach, room) {
            (Reach::Room { except }, Some(name)) => {
                let _ = self.room_broadcast_here(name.into(), except, note.message);
            }
            (Reach::Everyone { except }, _) => {
                let _ = self.broadcast_here(None, except, note.message);
            }
            (Reach::One(id), _) => {
                if let Some(socket) = self.socket(id) {
                    let _ = socket.send(note.message);
                }
            }
            (Reach::Room { .. }, None) => {}
        }
    }
}
