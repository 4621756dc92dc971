//! The cluster's two threads and their Redis connections: one publishes
//! the notes the server queues, one reads the other nodes' notes and hands
//! them to the server. Each reconnects on its own, with backoff; together
//! they report the node's [`ClusterStatus`].

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use redis::{Client, Connection, Msg, RedisError};

use super::{Cluster, ClusterStatus, Counters, Note, Outbound, StatusFn};
use crate::server::handle::{lock, Shared};

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How often the threads look up from their work: the reader to see
/// whether the server has stopped, the publisher to reconnect while no
/// note comes.
const TICK: Duration = Duration::from_millis(100);

/// How long the publisher's connection may sit unused before a `PING`
/// checks it, so that a Redis restart is noticed (and reported) before a
/// note is lost to it.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// The first wait after a failure; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The longest wait between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Starts both threads.
pub(super) fn spawn(
    cluster: Cluster,
    queue: Receiver<Outbound>,
    counters: Arc<Counters>,
    stopped: Arc<AtomicBool>,
    server: Weak<Shared>,
) -> io::Result<()> {
    let client = Client::open(cluster.url.as_str()).map_err(io::Error::other)?;
    let health = Arc::new(Health::new(Arc::clone(&cluster.on_status)));
    let publisher = Publisher {
        client: client.clone(),
        queue,
        counters: Arc::clone(&counters),
        health: Arc::clone(&health),
    };
    let reader = Reader {
        client,
        room_prefix: format!("{}:room:", cluster.prefix),
        channels: [
            format!("{}:all", cluster.prefix),
            format!("{}:to:{}", cluster.prefix, cluster.node),
        ],
        node: cluster.node,
        counters,
        health,
        stopped,
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

/// Whether each thread is connected, and what was last reported.
struct Health {
    up: [AtomicBool; 2],
    reported: Mutex<Option<bool>>,
    on_status: Arc<StatusFn>,
}

impl Health {
    fn new(on_status: Arc<StatusFn>) -> Self {
        Self {
            up: [AtomicBool::new(false), AtomicBool::new(false)],
            reported: Mutex::new(None),
            on_status,
        }
    }

    fn up(&self, side: Side) {
        self.up[side as usize].store(true, Ordering::Release);
        let both = self.up.iter().all(|up| up.load(Ordering::Acquire));
        if both {
            self.report(true, || ClusterStatus::Connected);
        }
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
}

impl Publisher {
    fn run(self) {
        let mut connection: Option<Connection> = None;
        let mut backoff = Backoff::new();
        let mut used = Instant::now();
        loop {
            if connection.is_none() && backoff.ready() {
                match self.client.get_connection_with_timeout(CONNECT_TIMEOUT) {
                    Ok(fresh) => {
                        connection = Some(fresh);
                        backoff.succeeded();
                        self.health.up(Side::Publish);
                    }
                    Err(error) => {
                        backoff.failed();
                        self.health.down(Side::Publish, &error);
                    }
                }
            }
            let note = match self.queue.recv_timeout(TICK) {
                Ok(note) => note,
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(live) = connection.as_mut().filter(|_| used.elapsed() > IDLE_CHECK)
                    {
                        used = Instant::now();
                        if let Err(error) = redis::cmd("PING").query::<String>(live) {
                            connection = None;
                            backoff.failed();
                            self.health.down(Side::Publish, &error);
                        }
                    }
                    continue;
                }
                // The server is gone.
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let Some(live) = connection.as_mut() else {
                Counters::count(&self.counters.dropped);
                continue;
            };
            used = Instant::now();
            let published: Result<i64, _> = redis::cmd("PUBLISH")
                .arg(&note.channel)
                .arg(&note.bytes)
                .query(live);
            match published {
                Ok(_) => Counters::count(&self.counters.published),
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

/// The reading thread.
struct Reader {
    client: Client,
    /// Room channels start with this; the rest is the room's name.
    room_prefix: String,
    /// The server-wide channel and this node's own.
    channels: [String; 2],
    node: u8,
    counters: Arc<Counters>,
    health: Arc<Health>,
    stopped: Arc<AtomicBool>,
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
            match pubsub.get_message() {
                Ok(message) => self.hand_over(&message),
                Err(error) if error.is_timeout() => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Hands a note from another node to the server.
    fn hand_over(&self, message: &Msg) {
        let Some(note) = Note::decode(message.get_payload_bytes()) else {
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
}
