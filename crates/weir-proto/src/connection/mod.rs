//! [`Connection`]: one WebSocket endpoint after the opening handshake.
//!
//! The connection is a pure state machine. Its methods fall into four groups:
//!
//! - getters (`&self`): [`Connection::role`], [`Connection::state`],
//!   [`Connection::buffered_amount`], [`Connection::should_close_transport`];
//! - input: [`Connection::receive`] takes bytes read from the transport
//!   (copying them into the connection's buffer), and
//!   [`Connection::receive_buf`] takes a `BytesMut` the adapter read into,
//!   without copying it when it can, and [`Connection::receive_in_place`]
//!   lends the room reserved for the rest of a large frame to read into;
//!   none fails: a peer's violation is reported as an event;
//! - commands: [`Connection::send`], [`Connection::send_fragment`],
//!   [`Connection::ping`], [`Connection::pong`], [`Connection::close`]; they
//!   return [`SendError`](crate::SendError) only for local misuse;
//! - output, polled after every input or command: [`Connection::poll_event`]
//!   until it returns `None`, then [`Connection::poll_transmit`] (or
//!   [`Connection::transmit_slices`] and [`Connection::advance_transmit`])
//!   until the output is empty.
//!
//! The receive path lives in `receive.rs` (with the inflating of compressed
//! messages in `inflate.rs`), the send path in `send.rs`, and the queue of
//! bytes to write in `output.rs`. Extensions plug in through one slot, the
//! `deflate` field, installed by the handshake's handoff
//! ([`crate::handshake::Accepted`], [`crate::handshake::Response::connection`]).

#[cfg(feature = "deflate")]
mod inflate;
mod output;
mod receive;
mod send;
#[cfg(test)]
mod tests;
mod timers;

pub use timers::TimedOut;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::config::{Config, Role};
#[cfg(feature = "deflate")]
use crate::deflate::{Deflate, DeflateConfig, DeflateParams, Inflating};
use crate::frame::FrameHeader;
use crate::message::MessageKind;
use crate::rng::{os_entropy, EntropyError, EntropySource, MaskKeyGenerator};
use crate::utf8::Utf8Validator;
use output::Output;

/// Where a connection is in the closing handshake (RFC 6455 section 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// This endpoint sent a Close frame and waits for the peer's. Messages
    /// from the peer are still delivered; nothing more can be sent.
    Closing,
    /// Both Close frames have been exchanged, or the connection failed.
    /// See [`Connection::should_close_transport`].
    Closed,
}

/// A WebSocket connection after the opening handshake: bytes in, events and
/// bytes out, no I/O of its own.
///
/// See the [crate documentation](crate) for a complete example.
///
/// Its layout is kept small for servers that hold many idle connections:
/// what an idle connection needs is inline (the configuration pointer, two
/// empty buffers, the stage, the clock), and what only a connection busy
/// with a frame, a message, a pong owed, a masking generator (clients) or
/// compression needs is boxed, allocated while needed. `size_of` is
/// checked by a test (`idle_size` in `tests.rs`).
#[derive(Debug)]
pub struct Connection {
    /// Shared by every connection the adapter makes with the same
    /// configuration: one pointer per connection, not a copy.
    config: Arc<Config>,
    /// Received bytes not yet parsed or handed out.
    input: BytesMut,
    output: Output,
    /// The frame whose payload is arriving; `None` between frames.
    frame: Option<Box<IncomingFrame>>,
    /// The data message being assembled; `None` between messages.
    message: Option<Box<IncomingMessage>>,
    /// The answer to the latest ping that arrived while the send queue was
    /// full, queued when the output is next drained.
    pending_pong: Option<Box<Bytes>>,
    /// Masking keys; clients only. Boxed: the generator's buffered
    /// keystream is a few hundred bytes that a server never needs.
    mask_keys: Option<Box<MaskKeyGenerator>>,
    /// permessage-deflate, when negotiated: RSV1 on the first frame of a
    /// data message means compressed (RFC 7692 section 6).
    #[cfg(feature = "deflate")]
    deflate: Option<Box<Deflate>>,
    /// Deadlines, when the adapter passes the time in.
    clock: timers::Clock,
    role: Role,
    /// Where the connection is in its life (what [`State`] tells, and more).
    stage: Stage,
    /// The kind of the fragmented message being sent, if one is unfinished.
    outgoing_fragmented: Option<MessageKind>,
    /// Validates text sent in fragments.
    outgoing_utf8: Utf8Validator,
    /// The fragmented message being sent is compressed.
    #[cfg(feature = "deflate")]
    outgoing_compressed: bool,
}

/// Where a connection is in its life: the closing handshake, and how the
/// connection ended. The public [`State`] is a view of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Neither Close frame has gone either way.
    Open,
    /// This endpoint queued its Close frame; the peer's has not arrived.
    Closing,
    /// This endpoint queued its Close frame and the peer's arrived, or the
    /// peer broke the protocol (`failed`), which queued ours: input is no
    /// longer parsed.
    Closed {
        /// The peer broke the protocol: this endpoint closes TCP first
        /// whatever its role (RFC 6455 section 7.1.7).
        failed: bool,
        /// The transport delivers no more input ([`Connection::receive_eof`]).
        eof: bool,
    },
    /// The connection ended without a closing handshake: input ended early
    /// or a deadline passed. Nothing more is sent or received.
    Aborted,
}

/// The frame whose payload is arriving.
#[derive(Debug)]
struct IncomingFrame {
    header: FrameHeader,
    /// The payload length, checked against the limits.
    len: usize,
    /// Payload bytes unmasked (and validated, for text) so far.
    received: usize,
    /// Of those, how many still sit at the front of `input`.
    buffered: usize,
    /// Payload bytes after those in `input` that were unmasked as they were
    /// copied in (`Connection::append_input`), not validated yet.
    premasked: usize,
    /// Whether every byte counted by `premasked` is ASCII (true when none).
    premasked_ascii: bool,
    /// Whether the payload is text to validate as it arrives.
    is_text: bool,
    /// Whether the payload is compressed data, inflated as it arrives.
    #[cfg_attr(not(feature = "deflate"), allow(dead_code))]
    compressed: bool,
    /// Bytes received after the end of this frame, once `input` holds all
    /// of it (`Connection::receive_buf`: a buffer that did not continue
    /// `input` gave it only the bytes that complete the frame); they become
    /// `input` when the frame is taken.
    after: BytesMut,
}

/// The data message being received.
#[derive(Debug)]
struct IncomingMessage {
    kind: MessageKind,
    /// Payload bytes announced by the frame headers so far.
    size: u64,
    /// Text validation state across frames.
    utf8: Utf8Validator,
    /// Payloads of the frames before the current one (not in streaming mode).
    parts: BytesMut,
    /// Streaming mode: whether a fragment of this message went out already.
    delivered_any: bool,
    /// A compressed message: the inflated bytes and the inflater's progress
    /// (boxed: most connections spend most of their life between messages).
    #[cfg(feature = "deflate")]
    inflating: Option<Box<Inflating>>,
}

impl Connection {
    /// A connection for `role` after a completed handshake.
    ///
    /// A client seeds its masking-key generator from the operating system's
    /// entropy source, once (RFC 6455 section 10.3), and fails with
    /// [`EntropyError`] if the OS has none. A server never masks, draws no
    /// entropy and never fails. Use [`Connection::with_mask_seed`] to supply
    /// the seed yourself.
    ///
    /// `config` may be a [`Config`] or an `Arc<Config>`: an adapter that
    /// makes many connections with one configuration passes clones of one
    /// `Arc`, so that each connection holds a pointer rather than a copy.
    pub fn new(role: Role, config: impl Into<Arc<Config>>) -> Result<Self, EntropyError> {
        Self::with_entropy_source(role, config.into(), os_entropy)
    }

    /// A connection whose masking keys (client role) come from `seed`.
    ///
    /// Deterministic, for tests and fuzzing, or for callers with their own
    /// entropy source. The seed must be secret and random in production.
    pub fn with_mask_seed(role: Role, config: impl Into<Arc<Config>>, seed: [u8; 32]) -> Self {
        let mask_keys = match role {
            Role::Client => Some(Box::new(MaskKeyGenerator::from_seed(seed))),
            Role::Server => None,
        };
        Self::with_mask_keys(role, config.into(), mask_keys)
    }

    /// A server's connection: no masking keys, so no entropy and no error.
    pub(crate) fn server(config: Arc<Config>) -> Self {
        Self::with_mask_keys(Role::Server, config, None)
    }

    /// [`Connection::new`] with the entropy drawn from `source`; only a
    /// client draws any.
    fn with_entropy_source(
        role: Role,
        config: Arc<Config>,
        source: EntropySource,
    ) -> Result<Self, EntropyError> {
        match role {
            Role::Client => {
                let mask_keys = Box::new(MaskKeyGenerator::from_entropy(source)?);
                Ok(Self::with_mask_keys(role, config, Some(mask_keys)))
            }
            Role::Server => Ok(Self::server(config)),
        }
    }

    fn with_mask_keys(
        role: Role,
        config: Arc<Config>,
        mask_keys: Option<Box<MaskKeyGenerator>>,
    ) -> Self {
        Self {
            config,
            input: BytesMut::new(),
            output: Output::default(),
            frame: None,
            message: None,
            pending_pong: None,
            mask_keys,
            #[cfg(feature = "deflate")]
            deflate: None,
            clock: timers::Clock::default(),
            role,
            stage: Stage::Open,
            outgoing_fragmented: None,
            outgoing_utf8: Utf8Validator::new(),
            #[cfg(feature = "deflate")]
            outgoing_compressed: false,
        }
    }

    /// Speaks permessage-deflate with `params` from now on. The handshake's
    /// handoff calls this; nothing else should.
    #[cfg(feature = "deflate")]
    pub(crate) fn use_deflate(&mut self, params: DeflateParams, config: &DeflateConfig) {
        self.deflate = Some(Box::new(Deflate::new(self.role, params, config)));
    }

    /// The permessage-deflate parameters in use, if it was negotiated.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&DeflateParams> {
        self.deflate.as_ref().map(|deflate| deflate.params())
    }

    /// Whether this connection holds a compressor or an inflater right now.
    /// With no context takeover (both ways), it holds neither between
    /// messages, nor any other heap memory for compression: they are
    /// borrowed per message from a per-thread pool.
    #[cfg(feature = "deflate")]
    pub fn holds_compression_state(&self) -> bool {
        self.deflate
            .as_ref()
            .is_some_and(|deflate| deflate.holds_state())
    }

    /// This endpoint's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    #[inline]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the connection is in the closing handshake.
    #[inline]
    pub fn state(&self) -> State {
        match self.stage {
            Stage::Open => State::Open,
            Stage::Closing => State::Closing,
            Stage::Closed { .. } | Stage::Aborted => State::Closed,
        }
    }

    /// Bytes queued for the transport and not yet drained: the backpressure
    /// signal. Sends are refused while it is at or over
    /// [`Config::max_send_queue`].
    #[inline]
    pub fn buffered_amount(&self) -> usize {
        let pong_frame = |pong: &Bytes| {
            let mask_len = if self.mask_keys.is_some() { 4 } else { 0 };
            2 + mask_len + pong.len()
        };
        self.output.len() + self.pending_pong.as_deref().map_or(0, pong_frame)
    }

    /// Buffer capacity this connection holds right now, in bytes: its read
    /// buffer and its send staging buffer. Both are allocated when data
    /// arrives or is sent and given back once consumed or drained, so an
    /// idle connection holds none.
    pub fn buffer_capacity(&self) -> usize {
        let after = self
            .frame
            .as_ref()
            .map_or(0, |frame| frame.after.capacity());
        self.input.capacity() + after + self.output.capacity()
    }

    /// Whether this endpoint should close the TCP connection now: the closing
    /// handshake is over, every byte has been drained, and this endpoint is
    /// the one that closes first (or the peer's side has ended already);
    /// or the connection ended without a closing handshake
    /// ([`Connection::receive_eof`], [`TimedOut`]).
    ///
    /// RFC 6455 section 7.1.1: "the server [...] SHOULD close the underlying
    /// TCP connection first", while a client waits for the server to close
    /// it, for at most [`Config::close_timeout`] when the adapter passes the
    /// time in. After a protocol error either side closes at once (section
    /// 7.1.7).
    #[inline]
    pub fn should_close_transport(&self) -> bool {
        match self.stage {
            Stage::Aborted => true,
            Stage::Closed { failed, eof } => {
                self.buffered_amount() == 0 && (self.role == Role::Server || failed || eof)
            }
            Stage::Open | Stage::Closing => false,
        }
    }

    /// Whether this endpoint queued its Close frame (and has not aborted).
    fn close_sent(&self) -> bool {
        matches!(self.stage, Stage::Closing | Stage::Closed { .. })
    }

    /// Whether input is no longer parsed: the peer's Close arrived, the
    /// peer broke the protocol, or the connection aborted.
    fn receive_closed(&self) -> bool {
        // Said by the two stages that still parse, whose tags compile to
        // one comparison (those of `Closed` and `Aborted` to several:
        // callgrind, 4 instructions per decoded message).
        !matches!(self.stage, Stage::Open | Stage::Closing)
    }
}
