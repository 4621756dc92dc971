//! [`Config`]: the event loop's limits and deadlines.
//!
//! What belongs to the WebSocket connection itself (frame and message
//! sizes, the send queue, and its deadlines: the close timeout and
//! keepalive) is the core's, and sits in [`Config::connection`]; the core
//! enforces it, this loop only tells it the time. This adds what only an
//! adapter with sockets can enforce: the opening handshake's deadline, the
//! size of an HTTP head, reads, the connection count, the retries of a
//! failing accept, and the policy for slow consumers ([`SlowConsumer`]).
//! Every default is safe for a public server and documented on its field.

use std::time::Duration;

use weir_proto::handshake::DEFAULT_MAX_HEADER_BYTES;

/// Configuration of an [`EventLoop`](crate::EventLoop).
///
/// Start from [`Config::default`] and change what you need with the `with_*`
/// methods.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The core's configuration, used for every connection (both roles):
    /// frame and message size limits, automatic pongs, the send queue, and
    /// the deadlines of an open connection:
    /// [`close_timeout`](weir_proto::Config::close_timeout) (5 s) for the
    /// closing handshake, [`idle_timeout`](weir_proto::Config::idle_timeout)
    /// (30 s) before a keepalive ping and
    /// [`ping_timeout`](weir_proto::Config::ping_timeout) (30 s) for
    /// anything to come back after it. Default [`weir_proto::Config::default`].
    pub connection: weir_proto::Config,
    /// How long the opening handshake may take, from accept (or from the
    /// start of a TCP connect) to the end of the `101` exchange. Default
    /// 10 s: long enough for a slow network, short enough that idle sockets
    /// that never send a request cannot pile up. A connection answered
    /// with plain HTTP instead (a rejection, `426`, an error) then waits for
    /// the peer to close for at most the core's
    /// [`close_timeout`](weir_proto::Config::close_timeout), or this long
    /// again when that is `None`.
    pub handshake_timeout: Duration,
    /// The most bytes a request or response head may take. Default
    /// [`DEFAULT_MAX_HEADER_BYTES`] (8 KiB).
    pub max_header_bytes: usize,
    /// The size of the blocks of the one read buffer the loop shares between
    /// all connections: a read takes what is left of a block, at least a
    /// quarter of one. Default 64 KiB. The bytes read go to the
    /// connection's core without a copy, as a piece of the block, which
    /// stays allocated while any of its pieces does (a message the
    /// application keeps holds its block); the loop reads into a new block
    /// meanwhile. Idle connections hold no read buffer of their own.
    pub read_buffer_size: usize,
    /// Fairness: the most bytes read from one connection in one turn of the
    /// loop before the others get theirs; the rest is read next turn (the
    /// loop then polls without waiting). At least one read is always made.
    /// Default 64 KiB, one read of the default buffer: a peer sending flat
    /// out delays the others by at most that much work per turn, while
    /// bulk transfers still move in large reads.
    pub read_budget: usize,
    /// How many readiness events one call to the OS poller may return.
    /// Default 1024.
    pub events_capacity: usize,
    /// The most accepted connections held at once, in any phase; a client
    /// accepted beyond it is answered `503 Service Unavailable` and closed.
    /// Default 10 000: each connection costs a file descriptor and up to its
    /// send queue in memory, and the bound keeps a connection flood from
    /// exhausting either. Connections this loop starts as a client do not
    /// count.
    pub max_connections: usize,
    /// When accepting a client fails for want of resources (out of file
    /// descriptors, EMFILE or ENFILE; out of kernel memory, ENOBUFS or
    /// ENOMEM), how long to wait before trying again (at least 1 ms); the
    /// wait doubles with each failure in a row, up to
    /// [`Config::accept_backoff_max`]. Default 10 ms: quick to take the
    /// waiting clients once a descriptor is free, and no busy loop while
    /// none is.
    pub accept_backoff: Duration,
    /// The longest wait between two tries of a failing accept (see
    /// [`Config::accept_backoff`]). Default 1 s.
    pub accept_backoff_max: Duration,
    /// What a send does when the connection's send queue
    /// ([`weir_proto::Config::max_send_queue`]) is full. Default
    /// [`SlowConsumer::Close`].
    pub slow_consumer: SlowConsumer,
}

/// The policy for a peer that does not read as fast as it is sent to: what
/// happens to a send once its connection's queue holds
/// [`weir_proto::Config::max_send_queue`] bytes or more.
///
/// Either way the send returns [`SendError::QueueFull`](crate::SendError::QueueFull)
/// and the memory held for the connection stays bounded by the limit plus
/// the one message that crossed it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowConsumer {
    /// Close the connection with 1008 (policy violation) and the reason
    /// "slow consumer". The default: one slow client cannot hold the
    /// server's memory, and the others never wait for it. The Close frame
    /// is queued behind what is already queued; if the peer never reads it,
    /// the close timeout ([`weir_proto::Config::close_timeout`]) drops the
    /// connection.
    #[default]
    Close,
    /// Drop the message and keep the connection: for feeds where a client
    /// may miss updates (prices, positions) but should stay connected.
    Drop,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connection: weir_proto::Config::default(),
            handshake_timeout: Duration::from_secs(10),
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            read_buffer_size: 64 * 1024,
            read_budget: 64 * 1024,
            events_capacity: 1024,
            max_connections: 10_000,
            accept_backoff: Duration::from_millis(10),
            accept_backoff_max: Duration::from_secs(1),
            slow_consumer: SlowConsumer::Close,
        }
    }
}

impl Config {
    /// How long the loop waits, on its own account, for peers to go away:
    /// the linger after an HTTP answer, and a server's shutdown after one of
    /// its workers failed. That is the core's close timeout, or the
    /// handshake timeout when the close timeout is off: a wait the
    /// application did not ask for is always bounded.
    pub(crate) fn linger_timeout(&self) -> Duration {
        self.connection
            .close_timeout
            .unwrap_or(self.handshake_timeout)
    }

    /// Sets [`Config::connection`].
    pub fn with_connection(mut self, connection: weir_proto::Config) -> Self {
        self.connection = connection;
        self
    }

    /// Sets [`Config::handshake_timeout`].
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`Config::max_header_bytes`].
    pub fn with_max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Sets [`Config::read_buffer_size`] (at least 4 bytes are used).
    pub fn with_read_buffer_size(mut self, bytes: usize) -> Self {
        self.read_buffer_size = bytes;
        self
    }

    /// Sets [`Config::read_budget`] (at least one read is made per turn).
    pub fn with_read_budget(mut self, bytes: usize) -> Self {
        self.read_budget = bytes;
        self
    }

    /// Sets [`Config::max_connections`].
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// Sets [`Config::accept_backoff`] and [`Config::accept_backoff_max`]:
    /// the first and the longest wait between tries of a failing accept.
    pub fn with_accept_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.accept_backoff = first;
        self.accept_backoff_max = max;
        self
    }

    /// Sets [`Config::slow_consumer`].
    pub fn with_slow_consumer(mut self, policy: SlowConsumer) -> Self {
        self.slow_consumer = policy;
        self
    }

    /// Sets [`Config::events_capacity`] (at least 1 is used).
    pub fn with_events_capacity(mut self, capacity: usize) -> Self {
        self.events_capacity = capacity;
        self
    }
}
