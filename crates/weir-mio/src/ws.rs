//! [`Ws`], the handle a callback gets to act on its connection, and
//! [`ConnId`], the connection's identity.
//!
//! A `Ws` borrows the loop's connection table for the duration of a
//! callback (or of [`EventLoop::ws`](crate::EventLoop::ws)), not just one
//! connection: that is what lets it grow to reach other connections
//! (broadcast, rooms) without changing the callback signatures. Everything it
//! does is queued; the loop writes after the callback returns.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use weir_proto::{CloseCode, MessageKind, Role, SendError};

use crate::conn::Conn;
use crate::slab::Slab;

/// A connection's identity within its [`EventLoop`](crate::EventLoop):
/// unique, and never reused, even after the connection is gone (unlike the
/// poller tokens, which are).
///
/// Ids count up from 1 in the order connections are accepted or started.
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
/// [`Ws::buffered_amount`]).
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
        let core = conn.core_mut().ok_or(SendError::Closed)?;
        f(core)?;
        self.slab.mark_dirty(self.index);
        Ok(())
    }

    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The remote address.
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
        self.conn()?.protocol.as_deref()
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
    /// answer within [`Config::close_timeout`](crate::Config::close_timeout)
    /// the connection is dropped.
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
