//! The cluster's two threads and their Redis connections: one publishes
//! the notes the server queues and the node's heartbeat, one reads the
//! other nodes' notes and hands them to the server (messages) or to the
//! view of their members (membership). Each reconnects on its own, with
//! backoff; together they report the node's [`ClusterStatus`].

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::thread;
use std::time::{Duration, Instant};

use redis::{Client, Connection, Msg, RedisError};

use super::view::View;
use super::wire::decode_membership;
use super::{
    members_channel, Cluster, ClusterStatus, Counters, Membership, Note, Outbound, Starter,
    StatusFn,
};
use crate::server::handle::{lock, write, Shared};

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How often the threads look up from their work: the reader to see
/// whether the server has stopped, the publisher to reconnect while no
/// note comes.
const TICK: Duration = Duration::from_millis(100);

/// The first wait after a failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The longest wait between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Claims a free node number for `cluster`: the first of 1 to 255 whose
/// key nobody holds.
pub(super) fn claim(cluster: &Cluster) -> io::Result<u8> {
    let client = Client::open(cluster.url.as_str()).map_err(io::Error::other)?;
    let mut connection = client
        .get_connection_with_timeout(CONNECT_TIMEOUT)
        .map_err(io::Error::other)?;
    let lease = lease_millis(cluster);
    for node in 1..=u8::MAX {
        let taken: Option<String> = redis::cmd("SET")
            .arg(cluster.claim_key(node))
            .arg(std::process::id())
            .arg("NX")
            .arg("PX")
            .arg(lease)
            .query(&mut connection)
            .map_err(io::Error::other)?;
        if taken.is_some() {
            return Ok(node);
        }
    }
    Err(io::Error::other(
        "all 255 node numbers of the cluster are taken",
    ))
}

/// The claim's lease, in milliseconds.
fn lease_millis(cluster: &Cluster) -> u64 {
    u64::try_from(cluster.lease().as_millis()).unwrap_or(u64::MAX)
}

/// Starts both threads.
pub(super) fn spawn(starter: Starter, server: Weak<Shared>) -> io::Result<()> {
    let Starter {
        cluster,
        queue,
        counters,
        stopped,
        view,
    } = starter;
    let client = Client::open(cluster.url.as_str()).map_err(io::Error::other)?;
    let health = Arc::new(Health::new(Arc::clone(&cluster.on_status)));
    let members = members_channel(&cluster.prefix);
    let node = cluster.node.unwrap_or(1);
    let publisher = Publisher {
        client: client.clone(),
        queue,
        counters: Arc::clone(&counters),
        health: Arc::clone(&health),
        heartbeat: Outbound::membership(members.clone(), node, &Membership::Alive),
        heartbeat_every: cluster.expiry / 3,
        claim: cluster.claim_key(node),
        lease: lease_millis(&cluster),
    };
    let reader = Reader {
        client,
        room_prefix: format!("{}:room:", cluster.prefix),
        channels: [
            format!("{}:all", cluster.prefix),
            format!("{}:to:{node}", cluster.prefix),
            members,
        ],
        node,
        counters,
        health,
        stopped,
        view,
        server,
    };
    thread::Builder::new()
        .name("weir-cluster-publish".into())
        .spawn(move || publisher.run())?;
    thread::Builder::new()
        .name("weir-cluster-read".into())
        .spawn(move || reader.run())?;
    Ok(())
}

/// When to try to reconnect.
struct Backoff {
    wait: Duration,
    next: Instant,
}

impl Backoff {
    fn new() -> Self {
        Self {
            wait: FIRST_BACKOFF,
            next: Instant::now(),
        }
    }

    fn ready(&self) -> bool {
        Instant::now() >= self.next
    }

    fn failed(&mut self) {
        self.next = Instant::now() + self.wait;
        self.wait = (self.wait * 2).min(MAX_BACKOFF);
    }

    fn succeeded(&mut self) {
        self.wait = FIRST_BACKOFF;
    }
}

/// Which thread.
#[derive(Clone, Copy)]
enum Side {
    Publish = 0,
    Read = 1,
}

/// Whether each thread is connected, what was last reported, and whether
/// the nodes must compare notes.
struct Health {
    up: [AtomicBool; 2],
    /// A side has (re)connected since the nodes last compared notes: what
    /// was said meanwhile may be lost both ways.
    resync: AtomicBool,
    reported: Mutex<Option<bool>>,
    on_status: Arc<StatusFn>,
}

impl Health {
    fn new(on_status: Arc<StatusFn>) -> Self {
        Self {
            up: [AtomicBool::new(false), AtomicBool::new(false)],
            resync: AtomicBool::new(false),
            reported: Mutex::new(None),
            on_status,
        }
    }

    fn up(&self, side: Side) {
        if !self.up[side as usize].swap(true, Ordering::AcqRel) {
            self.resync.store(true, Ordering::Release);
        }
        if self.connected() {
            self.report(true, || ClusterStatus::Connected);
        }
    }

    /// Both sides are connected.
    fn connected(&self) -> bool {
        self.up.iter().all(|up| up.load(Ordering::Acquire))
    }

    /// Whether the nodes must compare notes now (both sides up after a
    /// side reconnected); asks only once per reconnection.
    fn take_resync(&self) -> bool {
        self.connected() && self.resync.swap(false, Ordering::AcqRel)
    }

    fn down(&self, side: Side, error: &RedisError) {
        self.up[side as usize].store(false, Ordering::Release);
        self.report(false, || ClusterStatus::Disconnected(error.to_string()));
    }

    /// Calls back once per change (the callback is the application's: a
    /// panic there is caught and costs nothing but that report).
    fn report(&self, connected: bool, status: impl FnOnce() -> ClusterStatus) {
        let mut reported = lock(&self.reported);
        if *reported != Some(connected) {
            *reported = Some(connected);
            let status = status();
            let _ = crate::server::guard::guarded("on_status", || (self.on_status)(status));
        }
    }
}

/// The publishing thread.
struct Publisher {
    client: Client,
    queue: Receiver<Outbound>,
    counters: Arc<Counters>,
    health: Arc<Health>,
    /// The note that says this node is alive, and how often it goes out.
    heartbeat: Outbound,
    heartbeat_every: Duration,
    /// The key of this node's claim on its number, renewed with every
    /// heartbeat for `lease` milliseconds, and freed when the server goes.
    claim: String,
    lease: u64,
}

impl Publisher {
    fn run(self) {
        let mut connection: Option<Connection> = None;
        let mut backoff = Backoff::new();
        // When the last heartbeat went out; none yet on this connection.
        let mut beat: Option<Instant> = None;
        loop {
            if connection.is_none() && backoff.ready() {
                match self.client.get_connection_with_timeout(CONNECT_TIMEOUT) {
                    Ok(fresh) => {
                        connection = Some(fresh);
                        // At once: the claim on the node number is renewed
                        // before a node started meanwhile can take it (a
                        // Redis that restarted has lost it).
                        beat = None;
                        backoff.succeeded();
                        self.health.up(Side::Publish);
                    }
                    Err(error) => {
                        backoff.failed();
                        self.health.down(Side::Publish, &error);
                    }
                }
            }
            // The heartbeat doubles as a check of the connection, so that
            // a Redis restart is noticed (and reported) before a note is
            // lost to it.
            let due = beat.is_none_or(|beat| beat.elapsed() >= self.heartbeat_every);
            if let Some(live) = connection.as_mut().filter(|_| due) {
                beat = Some(Instant::now());
                if let Err(error) = self.beat(live) {
                    connection = None;
                    backoff.failed();
                    self.health.down(Side::Publish, &error);
                }
            }
            let note = match self.queue.recv_timeout(TICK) {
                Ok(note) => note,
                Err(RecvTimeoutError::Timeout) => continue,
                // The server is gone: so is its claim.
                Err(RecvTimeoutError::Disconnected) => {
                    if let Some(live) = connection.as_mut() {
                        let _: Result<i64, _> = redis::cmd("DEL").arg(&self.claim).query(live);
                    }
                    return;
                }
            };
            let Some(live) = connection.as_mut() else {
                Counters::count(&self.counters.dropped);
                continue;
            };
            match publish(live, &note) {
                Ok(()) if note.message => Counters::count(&self.counters.published),
                Ok(()) => {}
                Err(error) => {
                    connection = None;
                    backoff.failed();
                    self.health.down(Side::Publish, &error);
                    Counters::count(&self.counters.dropped);
                }
            }
        }
    }
}

impl Publisher {
    /// The heartbeat: the note that says the node is alive, and its claim
    /// renewed.
    fn beat(&self, connection: &mut Connection) -> Result<(), RedisError> {
        let (note, pid) = (&self.heartbeat, std::process::id());
        redis::pipe()
            .cmd("PUBLISH")
            .arg(&note.channel)
            .arg(&note.bytes)
            .ignore()
            .cmd("SET")
            .arg(&self.claim)
            .arg(pid)
            .arg("PX")
            .arg(self.lease)
            .ignore()
            .query(connection)
    }
}

/// Publishes `note` on `connection`.
fn publish(connection: &mut Connection, note: &Outbound) -> Result<(), RedisError> {
    redis::cmd("PUBLISH")
        .arg(&note.channel)
        .arg(&note.bytes)
        .query::<i64>(connection)
        .map(drop)
}

/// The reading thread.
struct Reader {
    client: Client,
    /// Room channels start with this; the rest is the room's name.
    room_prefix: String,
    /// The server-wide channel, this node's own, the membership one.
    channels: [String; 3],
    node: u8,
    counters: Arc<Counters>,
    health: Arc<Health>,
    stopped: Arc<AtomicBool>,
    view: Arc<RwLock<View>>,
    server: Weak<Shared>,
}

impl Reader {
    fn run(self) {
        let mut backoff = Backoff::new();
        while !self.done() {
            if !backoff.ready() {
                thread::sleep(TICK);
                continue;
            }
            match self.read(&mut backoff) {
                Ok(()) => return,
                Err(error) => {
                    backoff.failed();
                    self.health.down(Side::Read, &error);
                }
            }
        }
    }

    /// Whether the server has stopped (or is gone).
    fn done(&self) -> bool {
        self.stopped.load(Ordering::Acquire) || self.server.strong_count() == 0
    }

    /// Subscribes and reads until the server stops (`Ok`) or the
    /// connection fails.
    fn read(&self, backoff: &mut Backoff) -> Result<(), RedisError> {
        let mut connection = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        connection.set_read_timeout(Some(TICK))?;
        let mut pubsub = connection.as_pubsub();
        pubsub.subscribe(&self.channels[..])?;
        pubsub.psubscribe(format!("{}*", self.room_prefix))?;
        backoff.succeeded();
        self.health.up(Side::Read);
        while !self.done() {
            if self.health.take_resync() {
                // New, or back after an outage: what the others said
                // meanwhile was missed, and they missed what this node said.
                self.tell(&Membership::Asking);
                self.tell_rooms();
            }
            match pubsub.get_message() {
                Ok(message) => self.hand_over(&message),
                // A quiet tick: time to forget the nodes gone silent (the
                // view's counts skip them meanwhile), without taking its
                // write lock for every message.
                Err(error) if error.is_timeout() => write(&self.view).expire(Instant::now()),
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Queues a membership note of this node's, through the server's link.
    fn tell(&self, membership: &Membership) {
        if let Some(cluster) = self
            .server
            .upgrade()
            .as_ref()
            .and_then(|s| s.cluster.as_ref())
        {
            cluster.tell(membership);
        }
    }

    /// Tells the other nodes every room this node has members in.
    fn tell_rooms(&self) {
        if let Some(server) = self.server.upgrade() {
            self.tell(&Membership::Rooms(server.local_rooms()));
        }
    }

    /// Hands a note from another node to the server, or to the view of
    /// the other nodes' members.
    fn hand_over(&self, message: &Msg) {
        let bytes = message.get_payload_bytes();
        if message.get_channel_name() == self.channels[2] {
            return self.take_membership(bytes);
        }
        let Some(note) = Note::decode(bytes) else {
            return;
        };
        // Room and server-wide notes come back to the node that published
        // them, which has delivered them already.
        if note.origin == self.node {
            return;
        }
        let Some(server) = self.server.upgrade() else {
            return;
        };
        let room = message.get_channel_name().strip_prefix(&self.room_prefix);
        Counters::count(&self.counters.received);
        server.deliver_note(room, note);
    }

    /// Takes in another node's membership note.
    fn take_membership(&self, bytes: &[u8]) {
        let Some((origin, membership)) = decode_membership(bytes) else {
            return;
        };
        if origin == self.node {
            return;
        }
        if membership == Membership::Asking {
            self.tell_rooms();
        }
        write(&self.view).apply(origin, membership, Instant::now());
    }
}
