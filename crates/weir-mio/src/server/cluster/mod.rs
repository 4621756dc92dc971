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
//!
//! Room counts and member lists are this node's own (spanning the cluster
//! is for a later version).

mod threads;
mod wire;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Weak};

use weir_proto::Message;

use super::handle::Shared;
use crate::ConnId;
pub(crate) use wire::{Note, Reach};

/// The outbound queue's default capacity, in notes.
const DEFAULT_QUEUE_CAPACITY: usize = 4096;

/// How a server joins a cluster: give it to
/// [`ServerBuilder::cluster`](super::ServerBuilder::cluster).
pub struct Cluster {
    url: String,
    prefix: String,
    node: u8,
    queue_capacity: usize,
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
    /// Notes published for other nodes.
    pub published: u64,
    /// Notes read from other nodes and delivered here.
    pub received: u64,
    /// Notes for other nodes that were dropped: Redis was down, or the
    /// queue full.
    pub dropped: u64,
}

impl Cluster {
    /// A cluster on the Redis server at `url` (`redis://host:port`),
    /// with this server as node `node`: every node of a cluster needs its
    /// own, from 1 to 255 (it is part of every [`ConnId`] the node hands
    /// out, so that a send to an id reaches its node).
    pub fn redis(url: &str, node: u8) -> Self {
        Self {
            url: url.to_owned(),
            prefix: "weir".to_owned(),
            node,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            on_status: Arc::new(|_| {}),
        }
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

    /// This server's node.
    pub(crate) fn node(&self) -> u8 {
        self.node
    }
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("url", &self.url)
            .field("prefix", &self.prefix)
            .field("node", &self.node)
            .field("queue_capacity", &self.queue_capacity)
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
}

/// A note and the channel it goes on.
pub(crate) struct Outbound {
    channel: String,
    bytes: Vec<u8>,
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
}

impl Starter {
    /// Starts the threads, for the server whose state is `server`.
    pub(crate) fn start(self, server: Weak<Shared>) -> std::io::Result<()> {
        threads::spawn(
            self.cluster,
            self.queue,
            self.counters,
            self.stopped,
            server,
        )
    }
}

impl Link {
    /// The link of `cluster`, and what starts its threads.
    pub(crate) fn new(cluster: Cluster) -> (Self, Starter) {
        let (outbound, queue) = mpsc::sync_channel(cluster.queue_capacity);
        let counters = Arc::new(Counters::default());
        let stopped = Arc::new(AtomicBool::new(false));
        let link = Self {
            node: cluster.node,
            prefix: cluster.prefix.clone(),
            outbound,
            counters: Arc::clone(&counters),
            stopped: Arc::clone(&stopped),
        };
        let starter = Starter {
            cluster,
            queue,
            counters,
            stopped,
        };
        (link, starter)
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
        match self.outbound.try_send(Outbound { channel, bytes }) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                Counters::count(&self.counters.dropped);
            }
        }
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

    /// Ends the reading thread (the publishing one ends with the queue).
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }
}

impl Shared {
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
