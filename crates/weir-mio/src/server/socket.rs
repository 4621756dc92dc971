//! [`Socket`], the handle on one server connection that callbacks receive
//! and applications keep, and its [`ReadyState`].
//!
//! A `Socket` is an `Arc` around what other threads may read (id, address,
//! state, bytes queued, rooms) and a way to reach the connection's worker.
//! Commands (`send`, `close`) never touch the connection directly: they go
//! into the worker's queue. From a callback on that worker the queue is
//! drained right after the callback returns, with no wake-up; from any
//! other thread the worker is woken.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use weir_proto::{CloseCode, Message, SendError};

use super::assemble::Assembly;
use super::commands::Command;
use super::handle::{lock, Shared};
use super::{BroadcastRefused, ServerHandle};
use crate::slab::Mirror;
use crate::{ConnId, SlowConsumer};

/// Where a connection is in its life, as a [`Socket`] reports it (the
/// browser's `readyState`: 0 to 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadyState {
    /// The upgrade request is being answered ([`WsHandler::on_open`](super::WsHandler::on_open)
    /// runs in this state). Messages sent now go out right after the `101`.
    Connecting = 0,
    /// Messages flow both ways.
    Open = 1,
    /// A Close frame was sent (by [`Socket::close`], the slow-consumer
    /// policy or a shutdown): nothing more can be sent.
    Closing = 2,
    /// The connection is over; [`WsHandler::on_close`](super::WsHandler::on_close)
    /// was called (or the upgrade was rejected).
    Closed = 3,
}

impl ReadyState {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Connecting,
            1 => Self::Open,
            2 => Self::Closing,
            _ => Self::Closed,
        }
    }
}

/// A handle on one WebSocket connection of a [`Server`](super::Server).
///
/// Cheap to clone (an `Arc`), `Send + Sync`: store it in your own maps and
/// use it from any thread. Every method is safe to call at any time; once
/// the connection is closing or closed, sends fail with
/// [`SendError::Closed`].
#[derive(Clone)]
pub struct Socket {
    pub(crate) inner: Arc<Inner>,
}

/// What a [`Socket`] shares.
pub(crate) struct Inner {
    /// The connection's id, which also says which worker owns it and where
    /// in that worker's loop it is.
    pub(crate) id: ConnId,
    pub(crate) peer_addr: SocketAddr,
    /// The path, unless it is the route's pattern (an exact route): then
    /// nothing is allocated for it.
    pub(crate) path: Option<Box<str>>,
    /// The route (handler) index.
    pub(crate) route: usize,
    pub(crate) state: AtomicU8,
    /// Bytes queued in the connection and not yet written, mirrored by the
    /// worker (at every write, through [`Mirror`], and after every send it
    /// runs).
    pub(crate) buffered: AtomicUsize,
    /// Bytes of the sends posted to the worker that it has not run yet
    /// (each held by a [`Reserved`] until the worker is done with it).
    pub(crate) queued: AtomicUsize,
    /// The subprotocol agreed, set once `on_open` has accepted.
    pub(crate) protocol: OnceLock<Option<Box<str>>>,
    /// The permessage-deflate parameters agreed, set once the `101` is sent.
    #[cfg(feature = "deflate")]
    pub(crate) deflate: Mutex<Option<weir_proto::deflate::DeflateParams>>,
    /// The rooms this connection is in; [`Shared::rooms`] is the other
    /// direction. Both change under the rooms lock.
    pub(crate) rooms: Mutex<BTreeSet<String>>,
    /// The message being put back together, in streaming mode
    /// (`assemble.rs`).
    pub(crate) assembly: Mutex<Option<Box<Assembly>>>,
    pub(crate) server: Arc<Shared>,
}

impl Socket {
    /// The connection's id: unique across every handler and worker of the
    /// server, never reused.
    pub fn id(&self) -> ConnId {
        self.inner.id
    }

    /// The remote address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.inner.peer_addr
    }

    /// The path the connection was opened on (without the query).
    pub fn path(&self) -> &str {
        match &self.inner.path {
            Some(path) => path,
            None => self.inner.server.routes.pattern(self.inner.route),
        }
    }

    /// The subprotocol agreed in the opening handshake, if any (known once
    /// [`WsHandler::on_open`](super::WsHandler::on_open) has returned).
    pub fn protocol(&self) -> Option<String> {
        let protocol = self.inner.protocol.get()?.as_deref()?;
        Some(protocol.to_owned())
    }

    /// The permessage-deflate parameters agreed in the opening handshake, if
    /// compression is in use (known once the connection is open).
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<weir_proto::deflate::DeflateParams> {
        *lock(&self.inner.deflate)
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> ReadyState {
        ReadyState::from_u8(self.inner.state.load(Ordering::Acquire))
    }

    /// Whether messages can be sent: [`ReadyState::Open`] (or
    /// [`ReadyState::Connecting`], from `on_open`).
    pub fn is_open(&self) -> bool {
        matches!(self.state(), ReadyState::Open | ReadyState::Connecting)
    }

    /// Bytes queued for the peer and not yet written to its socket: those of
    /// the connection's send queue as of the worker's last write or send,
    /// plus those of the sends it has not run yet. The backpressure signal,
    /// bounded by the send-queue limit
    /// ([`weir_proto::Config::max_send_queue`]) plus about one message.
    pub fn buffered_amount(&self) -> usize {
        // The reservations first: the worker mirrors a send's bytes before
        // it releases them, so this order never misses a message.
        let queued = self.inner.queued.load(Ordering::Acquire);
        queued + self.inner.buffered.load(Ordering::Acquire)
    }

    /// Queues a text or binary message (`&str`, `String`, `Vec<u8>`,
    /// `Bytes`, [`Message`]).
    ///
    /// Fails with [`SendError::Closed`] once the connection is closing or
    /// closed, and with [`SendError::QueueFull`] once what is queued for it
    /// ([`Socket::buffered_amount`]: written by the worker or not yet) is
    /// at the limit: then, under [`SlowConsumer::Close`] (the default), the
    /// connection is closed with 1008; under [`SlowConsumer::Drop`] the
    /// message is dropped. A message accepted here is sent, in order, unless
    /// the connection closes first. (Only if other traffic, such as
    /// broadcasts, filled the queue meanwhile can the worker still find it
    /// full: that is handled the same way, and reported to `on_error` under
    /// `Drop`.)
    pub fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        self.send_with(message.into(), true)
    }

    /// Like [`Socket::send`], but never compressed, even where
    /// permessage-deflate is in use: for secrets (tokens, keys) sent on a
    /// connection that also carries data an attacker can choose. RFC 7692
    /// section 8 explains the risk: compressed sizes can reveal the secret.
    pub fn send_uncompressed(&self, message: impl Into<Message>) -> Result<(), SendError> {
        self.send_with(message.into(), false)
    }

    fn send_with(&self, message: Message, may_compress: bool) -> Result<(), SendError> {
        if !self.is_open() {
            return Err(SendError::Closed);
        }
        let limit = self.inner.server.config.connection.max_send_queue;
        // Reserve first, then check, so that concurrent senders cannot all
        // pass the check: each sees the others' reservations.
        let reserved = Reserved::new(Arc::clone(&self.inner), frame_len(message.len()));
        let queued = self.inner.buffered.load(Ordering::Acquire) + reserved.before;
        if queued >= limit {
            drop(reserved);
            if self.inner.server.config.slow_consumer == SlowConsumer::Close {
                let _ = self.close(CloseCode::POLICY_VIOLATION, "slow consumer");
            }
            return Err(SendError::QueueFull { queued, limit });
        }
        self.post(Command::Send(reserved, message, may_compress));
        Ok(())
    }

    /// Starts the closing handshake with `code` and `reason` (at most 123
    /// bytes); what is already queued is sent first. Fails with
    /// [`SendError::Closed`] if the connection is already closing, and for
    /// a code or reason that may not be sent.
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        if !code.is_valid_on_wire() {
            return Err(SendError::InvalidCloseCode(code.as_u16()));
        }
        if reason.len() > weir_proto::MAX_CLOSE_REASON {
            return Err(SendError::CloseReasonTooLong(reason.len()));
        }
        let open = ReadyState::Open as u8;
        let connecting = ReadyState::Connecting as u8;
        let closing = ReadyState::Closing as u8;
        let state = &self.inner.state;
        if state
            .compare_exchange(open, closing, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
            && state
                .compare_exchange(connecting, closing, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return Err(SendError::Closed);
        }
        self.post(Command::Close(self.clone(), code, reason.to_owned()));
        Ok(())
    }

    /// Sends `message` to every open connection of the same handler
    /// (route), this one included, encoded once. Fails as
    /// [`ServerHandle::broadcast`] does, when workers' command queues are
    /// full.
    pub fn broadcast(&self, message: impl Into<Message>) -> Result<(), BroadcastRefused> {
        self.inner
            .server
            .broadcast(Some(self.inner.route), None, message.into())
    }

    /// Joins room `name` (created on first join); `false` if already a
    /// member or the connection is closed. A connection leaves all its rooms
    /// when it closes, after [`WsHandler::on_close`](super::WsHandler::on_close)
    /// (which can still see them).
    pub fn join(&self, name: &str) -> bool {
        self.inner.server.join(self, name)
    }

    /// Leaves room `name`; `false` if it was not a member.
    pub fn leave(&self, name: &str) -> bool {
        self.inner.server.leave(self, name)
    }

    /// The rooms this connection is in, sorted by name.
    pub fn rooms(&self) -> Vec<String> {
        lock(&self.inner.rooms).iter().cloned().collect()
    }

    /// A handle on the whole server: other connections, rooms, broadcast,
    /// shutdown.
    pub fn server(&self) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(&self.inner.server),
        }
    }

    /// Queues a command on this connection's worker.
    fn post(&self, command: Command) {
        self.inner.server.post(self.inner.id.worker(), command);
    }

    pub(crate) fn set_state(&self, state: ReadyState) {
        self.inner.state.store(state as u8, Ordering::Release);
    }
}

impl Mirror for Inner {
    fn store(&self, bytes: usize) {
        self.buffered.store(bytes, Ordering::Release);
    }
}

/// The bytes a send posted by [`Socket::send`] holds in its socket's
/// [`Inner::queued`] until the worker has run it (or the command is
/// dropped unrun): so that the queue of commands counts against the limit.
pub(crate) struct Reserved {
    inner: Arc<Inner>,
    bytes: usize,
    /// What was reserved before this, when it was made.
    before: usize,
}

impl Reserved {
    fn new(inner: Arc<Inner>, bytes: usize) -> Self {
        let before = inner.queued.fetch_add(bytes, Ordering::AcqRel);
        Self {
            inner,
            bytes,
            before,
        }
    }

    /// The connection the send is for.
    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        self.inner.queued.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// The bytes a message of `payload` bytes takes in a server's send queue:
/// an unmasked frame header, then the payload.
fn frame_len(payload: usize) -> usize {
    let header = match payload {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    };
    header + payload
}

impl PartialEq for Socket {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl Eq for Socket {}

impl std::hash::Hash for Socket {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id())
            .field("peer_addr", &self.peer_addr())
            .field("path", &self.path())
            .field("state", &self.state())
            .finish()
    }
}
#[cfg(test)]
mod tests {
    /// What each idle connection of the server API holds beside its loop's
    /// own: a guard on the layout, so that a field added here is a choice.
    /// 176 bytes since the id carries the slot and the worker, and the
    /// bytes queued are mirrored into it rather than into an `Arc` apart.
    #[test]
    fn a_socket_stays_small() {
        assert!(std::mem::size_of::<super::Inner>() <= 176);
    }
}
