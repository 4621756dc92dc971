//! [`Socket`], the handle on one server connection that callbacks receive
//! and applications keep, and its [`ReadyState`].
//!
//! A `Socket` is the server's `Arc` and the connection's id: what other
//! threads may read of the connection (state, bytes queued, compression)
//! is in its worker's records (`records.rs`), found by the id without a
//! lock or a lookup. Commands (`send`, `close`) never touch the connection
//! directly: they go into the worker's queue. From a callback on that
//! worker the queue is drained right after the callback returns, with no
//! wake-up; from any other thread the worker is woken.

use std::fmt;
use std::sync::Arc;

use weir_proto::{CloseCode, Message, SendError};

use super::commands::Command;
use super::handle::Shared;
use super::records::Record;
use super::{BroadcastRefused, ServerHandle};
use crate::{ConnId, SlowConsumer};

/// Where a connection is in its life, as a [`Socket`] reports it (the
/// browser's `readyState`: 0 to 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadyState {
    /// The upgrade request is being answered ([`WsHandler::on_upgrade`](super::WsHandler::on_upgrade)
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

/// A handle on one WebSocket connection of a [`Server`](super::Server).
///
/// Cheap to clone (the server's `Arc` and the connection's id), `Send +
/// Sync`: store it in your own maps and use it from any thread. Every
/// method is safe to call at any time; once the connection is closing or
/// closed, sends fail with [`SendError::Closed`].
///
/// What the handshake told that a socket does not keep (the path, the
/// headers, the peer's address:
/// [`HttpRequest::peer_addr`](weir_proto::handshake::HttpRequest::peer_addr))
/// is given to [`WsHandler::on_upgrade`](super::WsHandler::on_upgrade) and
/// [`WsHandler::on_open`](super::WsHandler::on_open): keep what you need in
/// the connection's [`State`](super::WsHandler::State).
#[derive(Clone)]
pub struct Socket {
    pub(crate) server: Arc<Shared>,
    pub(crate) id: ConnId,
}

impl Socket {
    /// The connection's id: unique across every handler and worker of the
    /// server, never reused.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The connection's record: what any thread may know of it.
    pub(crate) fn record(&self) -> &Record {
        self.server.record(self.id)
    }

    /// The subprotocol agreed in the opening handshake, if any (known once
    /// [`WsHandler::on_upgrade`](super::WsHandler::on_upgrade) has returned).
    pub fn protocol(&self) -> Option<String> {
        let records = self.server.records.get(self.id.worker())?;
        records.details(self.id, |details| {
            details.protocol.as_deref().map(str::to_owned)
        })
    }

    /// The permessage-deflate parameters agreed in the opening handshake, if
    /// compression is in use (known once the connection is open).
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<weir_proto::deflate::DeflateParams> {
        let meta = self.record().meta(self.id)?;
        super::records::unpack_deflate(meta.deflate())
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> ReadyState {
        self.record().state(self.id)
    }

    /// Whether messages can be sent: [`ReadyState::Open`] (or
    /// [`ReadyState::Connecting`], from `on_upgrade`).
    pub fn is_open(&self) -> bool {
        matches!(self.state(), ReadyState::Open | ReadyState::Connecting)
    }

    /// Bytes queued for the peer and not yet written to its socket: those of
    /// the connection's send queue as of the worker's last write or send,
    /// plus those of the sends it has not run yet. The backpressure signal,
    /// bounded by the send-queue limit
    /// ([`weir_proto::Config::max_send_queue`]) plus about one message.
    pub fn buffered_amount(&self) -> usize {
        let record = self.record();
        if record.meta(self.id).is_none() {
            // The slot serves another connection now.
            return 0;
        }
        // Both at once: the worker mirrors a send's bytes before it
        // releases them, so no message is missed between the two.
        let (queued, buffered) = record.pending();
        queued + buffered
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
        let limit = self.server.config.connection.max_send_queue;
        // Reserve first, then check, so that concurrent senders cannot all
        // pass the check: each sees the others' reservations.
        let reserved = Reserved::new(self.clone(), frame_len(message.len()));
        let queued = reserved.before.0 + reserved.before.1;
        if queued >= limit {
            drop(reserved);
            if self.server.config.slow_consumer == SlowConsumer::Close {
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
        if !self.record().close(self.id) {
            return Err(SendError::Closed);
        }
        self.post(Command::Close(self.id, code, reason.to_owned()));
        Ok(())
    }

    /// Sends `message` to every open connection of the same handler
    /// (route), this one included, encoded once. Fails as
    /// [`ServerHandle::broadcast`] does, when workers' command queues are
    /// full; does nothing once the connection is closed.
    pub fn broadcast(&self, message: impl Into<Message>) -> Result<(), BroadcastRefused> {
        let Some(meta) = self.record().meta(self.id) else {
            return Ok(());
        };
        self.server
            .broadcast(Some(meta.route), None, message.into())
    }

    /// Joins room `name` (created on first join); `false` if already a
    /// member or the connection is closed. A connection leaves all its rooms
    /// when it closes, after [`WsHandler::on_close`](super::WsHandler::on_close)
    /// (which can still see them).
    pub fn join(&self, name: &str) -> bool {
        self.server.join(self, name)
    }

    /// Leaves room `name`; `false` if it was not a member.
    pub fn leave(&self, name: &str) -> bool {
        self.server.leave(self.id, name)
    }

    /// The rooms this connection is in, sorted by name.
    pub fn rooms(&self) -> Vec<String> {
        self.server.rooms_of(self.id)
    }

    /// A handle on the whole server: other connections, rooms, broadcast,
    /// shutdown.
    pub fn server(&self) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(&self.server),
        }
    }

    /// Queues a command on this connection's worker.
    fn post(&self, command: Command) {
        self.server.post(self.id.worker(), command);
    }
}

/// The bytes a send posted by [`Socket::send`] holds in its connection's
/// [`Record::queued`] until the worker has run it (or the command is
/// dropped unrun): so that the queue of commands counts against the limit.
pub(crate) struct Reserved {
    socket: Socket,
    /// What the reservation added (to give back).
    added: u32,
    /// The bytes reserved and queued before this, when it was made.
    before: (usize, usize),
}

impl Reserved {
    fn new(socket: Socket, bytes: usize) -> Self {
        let (added, before) = socket.record().reserve(bytes);
        Self {
            socket,
            added,
            before,
        }
    }

    /// The connection the send is for.
    pub(crate) fn socket(&self) -> &Socket {
        &self.socket
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        self.socket.record().release(self.added);
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
            .field("state", &self.state())
            .finish()
    }
}
#[cfg(test)]
mod tests {
    /// What each idle connection of the server API holds beside its loop's
    /// own: its record (and its state's slot in the worker, 16 bytes); a
    /// guard on the layout, so that a field added is a choice.
    #[test]
    fn a_connection_stays_small() {
        assert_eq!(std::mem::size_of::<super::Record>(), 16);
        assert_eq!(std::mem::size_of::<super::Socket>(), 16);
    }
}
