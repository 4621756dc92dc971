//! [`Ws`], the handle a callback gets to act on its connection,
//! [`ConnId`], the connection's identity, and [`Conns`], the loop's
//! connections as [`Handler::on_wake`](crate::Handler::on_wake) sees them.
//!
//! A `Ws` borrows the loop's connection table for the duration of a
//! callback (or of [`EventLoop::ws`](crate::EventLoop::ws)), not just one
//! connection: that is what lets it grow to reach other connections
//! (broadcast, rooms) without changing the callback signatures. Everything it
//! does is queued; the loop writes at the end of its turn, once for all the
//! turn's events.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use weir_proto::{CloseCode, MessageKind, PreparedMessage, Role, SendError};

use crate::conn::Conn;
use crate::shared::Shared;
use crate::slab::Slab;

/// A connection's identity within its [`EventLoop`](crate::EventLoop):
/// unique, and never reused, even after the connection is gone (unlike the
/// poller tokens, which are).
///
/// An id names where the connection lives, so that finding it is an index
/// and a check, never a lookup: its slot in the loop's table (the low 24
/// bits), the loop's index among the workers of a
/// [`Server`](crate::server::Server) (the next 8 bits; 0 for a loop of its
/// own), the server's node in a cluster (the next 8; 0 outside one), and
/// the slot's generation (the high 24 bits), which counts the connections
/// the slot has held. A slot whose generation has run out (after 2^24 - 1
/// connections) is never used again, so no id comes back while the loop
/// lives; and as the workers of a server, and the nodes of a cluster, have
/// different indices, ids are unique across all of them. Ids are not in
/// the order connections came, and are never 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(u64);

impl ConnId {
    /// Bits of the slot index.
    const SLOT_BITS: u32 = 24;
    /// Bits of the worker index.
    const WORKER_BITS: u32 = 8;
    /// Bits of the node index.
    const NODE_BITS: u32 = 8;
    /// Where the generation starts.
    const GENERATION_SHIFT: u32 = Self::SLOT_BITS + Self::WORKER_BITS + Self::NODE_BITS;
    /// The most slots a loop's table has room for.
    pub(crate) const MAX_SLOTS: usize = 1 << Self::SLOT_BITS;
    /// The most workers a server has room for.
    pub(crate) const MAX_WORKERS: usize = 1 << Self::WORKER_BITS;
    /// The most nodes a cluster has room for.
    pub(crate) const MAX_NODES: usize = 1 << Self::NODE_BITS;
    /// The last generation of a slot.
    pub(crate) const MAX_GENERATION: u32 = (1 << (64 - Self::GENERATION_SHIFT)) - 1;

    /// The id of the connection of generation `generation` in slot `slot`
    /// of the loop of worker `worker` of node `node`. Bits beyond each
    /// field's width are dropped: the slab never hands out such slots or
    /// generations, and the builder refuses such workers and nodes.
    pub(crate) fn new(node: usize, worker: usize, slot: usize, generation: u32) -> Self {
        let slot = slot as u64 & (Self::MAX_SLOTS as u64 - 1);
        let worker = worker as u64 & (Self::MAX_WORKERS as u64 - 1);
        let node = node as u64 & (Self::MAX_NODES as u64 - 1);
        let generation = u64::from(generation & Self::MAX_GENERATION);
        Self(
            generation << Self::GENERATION_SHIFT
                | node << (Self::SLOT_BITS + Self::WORKER_BITS)
                | worker << Self::SLOT_BITS
                | slot,
        )
    }

    /// The slot in the loop's table.
    pub(crate) fn slot(self) -> usize {
        (self.0 & (Self::MAX_SLOTS as u64 - 1)) as usize
    }

    /// The index of the loop among a server's workers.
    pub(crate) fn worker(self) -> usize {
        (self.0 >> Self::SLOT_BITS) as usize & (Self::MAX_WORKERS - 1)
    }

    /// The node of a cluster the connection lives on (0 outside one).
    pub fn node(self) -> usize {
        (self.0 >> (Self::SLOT_BITS + Self::WORKER_BITS)) as usize & (Self::MAX_NODES - 1)
    }

    /// The slot's generation when the connection took it.
    pub(crate) fn generation(self) -> u32 {
        (self.0 >> Self::GENERATION_SHIFT) as u32
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// The id whose number is `number` ([`ConnId::as_u64`]), e.g. one that
    /// came from another node of a cluster. An id made up this way names no
    /// connection unless one of the cluster's servers handed it out.
    pub fn from_u64(number: u64) -> Self {
        Self(number)
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A handle on one connection, lent to a [`Handler`](crate::Handler)
/// callback.
///
/// Commands follow the core's rules: they fail with [`SendError`] only for
/// local misuse, such as sending after close ([`SendError::Closed`], also
/// returned once `on_close` has been delivered or before the connection
/// opened) or with a full send queue ([`SendError::QueueFull`]; see
/// [`Ws::buffered_amount`], and [`Config::slow_consumer`](crate::Config::slow_consumer)
/// for what else happens then).
///
/// [`Ws::other`] reaches any other connection of the loop, e.g. to forward
/// a message.
pub struct Ws<'a> {
    slab: &'a mut Slab,
    index: usize,
    id: ConnId,
    role: Role,
}

impl<'a> Ws<'a> {
    /// A handle on the connection in slot `index`, if there is one.
    pub(crate) fn new(slab: &'a mut Slab, index: usize) -> Option<Self> {
        let (id, conn) = slab.id_and_conn(index)?;
        let role = conn.role;
        Some(Self {
            slab,
            index,
            id,
            role,
        })
    }

    fn conn(&self) -> Option<&Conn> {
        self.slab.conn(self.index)
    }

    /// Runs a command on the core of an open connection, then asks the loop
    /// to write.
    fn command(
        &mut self,
        f: impl FnOnce(&mut weir_proto::Connection) -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        let close_when_full = self.slab.close_when_full;
        let conn = self.slab.conn_mut(self.index).ok_or(SendError::Closed)?;
        if conn.close_reported {
            return Err(SendError::Closed);
        }
        let core = conn.core_mut().ok_or(SendError::Closed)?;
        let result = f(core);
        if let Err(SendError::QueueFull { .. }) = result {
            if close_when_full {
                // The slow-consumer policy: a Close is accepted even now.
                let _ = core.close(CloseCode::POLICY_VIOLATION, "slow consumer");
            }
        }
        self.slab.mark_dirty(self.index);
        result
    }

    /// A handle on another connection of the same loop, by id; `None` once
    /// it is gone. What it queues is written after the callback, like
    /// everything else. No lookup: the id says where the connection is.
    pub fn other(&mut self, id: ConnId) -> Option<Ws<'_>> {
        let index = self.slab.index_of(id)?;
        Ws::new(self.slab, index)
    }

    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The remote address, asked of the socket (a system call: the loop
    /// does not keep it, to keep idle connections small). While a client
    /// connects, the address being tried. `None` while a client resolves
    /// its host name, and once the socket has lost its peer (reset).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.conn()?.peer_addr()
    }

    /// Whether this endpoint accepted the connection (server) or started it
    /// (client).
    pub fn role(&self) -> Role {
        self.role
    }

    /// The subprotocol agreed in the opening handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.conn()?.protocol()
    }

    /// The permessage-deflate parameters agreed in the opening handshake, if
    /// compression is in use.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<weir_proto::deflate::DeflateParams> {
        self.conn()?.core()?.deflate().copied()
    }

    /// Queues a message that is never compressed, even where permessage-deflate
    /// is in use: for secrets; see
    /// [`Connection::send_uncompressed`](weir_proto::Connection::send_uncompressed).
    pub fn send_uncompressed(
        &mut self,
        message: impl Into<weir_proto::Message>,
    ) -> Result<(), SendError> {
        self.command(|core| core.send_uncompressed(message))
    }

    /// Whether messages can be sent: the connection is open, this endpoint
    /// has not sent its Close, and `on_close` has not been delivered.
    pub fn is_open(&self) -> bool {
        self.conn().is_some_and(Conn::is_open)
    }

    /// Bytes queued for this connection and not yet written to the socket:
    /// the backpressure signal. Sends are refused while it is at or over
    /// [`weir_proto::Config::max_send_queue`].
    pub fn buffered_amount(&self) -> usize {
        self.conn().map_or(0, Conn::pending_output)
    }

    /// Queues a text or binary message (anything that converts into a
    /// [`weir_proto::Message`]: `&str`, `String`, `Bytes`, `Vec<u8>`, ...).
    pub fn send(&mut self, message: impl Into<weir_proto::Message>) -> Result<(), SendError> {
        self.command(|core| core.send(message))
    }

    /// Queues a message encoded once for many connections (a broadcast):
    /// the frame's bytes are shared, not copied. See
    /// [`Connection::send_prepared`](weir_proto::Connection::send_prepared).
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), SendError> {
        self.command(|core| core.send_prepared(message))
    }

    /// Queues one fragment of a message; see
    /// [`Connection::send_fragment`](weir_proto::Connection::send_fragment).
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: impl Into<Bytes>,
        is_last: bool,
    ) -> Result<(), SendError> {
        self.command(|core| core.send_fragment(kind, data, is_last))
    }

    /// Queues a ping (payload at most 125 bytes); the answer comes to
    /// [`Handler::on_pong`](crate::Handler::on_pong).
    pub fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.command(|core| core.ping(payload))
    }

    /// Queues an unsolicited pong (payload at most 125 bytes), a one-way
    /// heartbeat.
    pub fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.command(|core| core.pong(payload))
    }

    /// Starts the closing handshake with `code` and `reason` (at most 123
    /// bytes). Nothing more can be sent; messages from the peer still arrive
    /// until its Close, which is reported to
    /// [`Handler::on_close`](crate::Handler::on_close). If the peer does not
    /// answer within [`weir_proto::Config::close_timeout`] the connection is
    /// dropped.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.command(|core| core.close(code, reason))
    }
}

impl fmt::Debug for Ws<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ws")
            .field("id", &self.id)
            .field("peer_addr", &self.peer_addr())
            .field("is_open", &self.is_open())
            .finish()
    }
}

/// The connections of a loop, lent to [`Handler::on_wake`](crate::Handler::on_wake).
pub struct Conns<'a> {
    shared: &'a mut Shared,
}

impl<'a> Conns<'a> {
    pub(crate) fn new(shared: &'a mut Shared) -> Self {
        Self { shared }
    }

    /// A handle on connection `id`, if it is still there. What it queues is
    /// written after `on_wake` returns.
    pub fn ws(&mut self, id: ConnId) -> Option<Ws<'_>> {
        let index = self.shared.slab.index_of(id)?;
        Ws::new(&mut self.shared.slab, index)
    }

    /// The ids of every connection, in any phase, in no particular order.
    pub fn ids(&self) -> Vec<ConnId> {
        self.shared.slab.ids().collect()
    }

    /// How many connections the loop holds, in any phase.
    pub fn len(&self) -> usize {
        self.shared.slab.connections()
    }

    /// Whether the loop holds no connection.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts a graceful shutdown: closes every listener (no more clients
    /// are accepted), starts the closing handshake with `code` and `reason`
    /// on every open connection (after what is already queued, which is
    /// still written), and drops connections still in their opening
    /// handshake without a callback (and those whose HTTP answer is
    /// written). The loop then runs until the closing handshakes finish,
    /// each bounded by [`weir_proto::Config::close_timeout`].
    pub fn shutdown(&mut self, code: CloseCode, reason: &str) {
        self.shared.shutdown(code, reason);
    }
}

impl fmt::Debug for Conns<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conns").field("len", &self.len()).finish()
    }
}
