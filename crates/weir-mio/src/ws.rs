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
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use bytes::Bytes;
use weir_proto::{CloseCode, MessageKind, PreparedMessage, Role, SendError};

use crate::conn::Conn;
use crate::shared::Shared;
use crate::slab::Slab;

/// A connection's identity within its [`EventLoop`](crate::EventLoop):
/// unique, and never reused, even after the connection is gone (unlike the
/// poller tokens, which are).
///
/// Ids count up from 1 in the order connections are accepted or started.
/// The workers of a [`Server`](crate::server::Server) share one counter, so
/// ids are unique across the whole server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub(crate) u64);

impl ConnId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
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
    peer_addr: SocketAddr,
    role: Role,
}

impl<'a> Ws<'a> {
    /// A handle on the connection in slot `index`, if there is one.
    pub(crate) fn new(slab: &'a mut Slab, index: usize) -> Option<Self> {
        let conn = slab.conn(index)?;
        let (id, peer_addr, role) = (conn.id, conn.peer, conn.role);
        Some(Self {
            slab,
            index,
            id,
            peer_addr,
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
        let conn = self.slab.conn_mut(self.index).ok_or(SendError::Closed)?;
        if conn.close_reported {
            return Err(SendError::Closed);
        }
        let close_when_full = conn.close_when_full;
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
    /// everything else.
    pub fn other(&mut self, id: ConnId) -> Option<Ws<'_>> {
        let index = self.slab.index_of(id)?;
        Ws::new(self.slab, index)
    }

    /// A handle on the connection in slot `slot` if it is connection `id`:
    /// for callers that keep the slot, to reach it without a lookup.
    pub(crate) fn other_at(&mut self, slot: usize, id: ConnId) -> Option<Ws<'_>> {
        Ws::new(self.slab, slot).filter(|ws| ws.id == id)
    }

    /// The connection's slot in the loop: reused once it is gone, so only
    /// meaningful beside its id.
    pub(crate) fn slot(&self) -> usize {
        self.index
    }

    /// Mirrors [`Ws::buffered_amount`] into `mirror` at every write, for
    /// handles on other threads.
    pub(crate) fn set_buffered_mirror(&mut self, mirror: Arc<AtomicUsize>) {
        if let Some(conn) = self.slab.conn_mut(self.index) {
            conn.buffered_mirror = Some(mirror);
        }
    }

    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The remote address. For a client connection still resolving its
    /// host name, the unspecified address with the URI's port; while it
    /// connects, the address being tried.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
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
            .field("peer_addr", &self.peer_addr)
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

    /// A handle on the connection in slot `slot` if it is connection `id`
    /// (see [`Ws::slot`]).
    pub(crate) fn ws_at(&mut self, slot: usize, id: ConnId) -> Option<Ws<'_>> {
        Ws::new(&mut self.shared.slab, slot).filter(|ws| ws.id == id)
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
