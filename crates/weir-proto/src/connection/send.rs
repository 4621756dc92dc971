//! The send path: messages, fragments and control frames in, encoded frames
//! queued in the output.
//!
//! Every command checks local misuse first and changes nothing when it
//! refuses. Client frames are masked with a fresh key from the connection's
//! generator (RFC 6455 section 5.3); server payloads are queued without a
//! copy.

use bytes::{Bytes, BytesMut};

use super::{Connection, Stage};
use crate::close::{close_payload, CloseCode, MAX_CLOSE_REASON};
#[cfg(feature = "deflate")]
use crate::deflate::RSV1;
use crate::error::SendError;
use crate::frame::{FrameHeader, OpCode};
use crate::message::{Message, MessageKind};
use crate::prepared::PreparedMessage;

/// The longest payload of a control frame (RFC 6455 section 5.5).
const MAX_CONTROL_PAYLOAD: usize = 125;

impl Connection {
    /// Queues a whole message as one frame, compressed when permessage-deflate
    /// is in use and the message is at least
    /// [`DeflateConfig::threshold`](crate::deflate::DeflateConfig::threshold)
    /// bytes long.
    ///
    /// Refused after this endpoint's Close, while a fragmented message is
    /// unfinished, or while the send queue is full.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), SendError> {
        self.send_message(message.into(), true)
    }

    /// [`Connection::send`], encoding into `room` (an empty buffer with
    /// spare capacity: a piece of an adapter's per-thread buffer, say) when
    /// nothing is queued, instead of into an allocation of the
    /// connection's own: the send-side counterpart of
    /// [`Connection::receive_buf`]. Frames that do not fit grow the buffer
    /// as usual; `room` is dropped when the connection has bytes queued
    /// already, or when the message is refused.
    ///
    /// Memory: until the frame is written out, the connection keeps
    /// `room`'s whole allocation alive, however small the frame.
    pub fn send_in(
        &mut self,
        message: impl Into<Message>,
        room: BytesMut,
    ) -> Result<(), SendError> {
        self.output.lend(room);
        let sent = self.send(message);
        // A refused message leaves nothing borrowed.
        self.output.release_if_drained();
        sent
    }

    /// Queues a whole message as one frame, never compressed.
    ///
    /// For secrets: RFC 7692 section 8 warns that compressing secret data
    /// with data an attacker controls, in one stream, lets the attacker learn
    /// the secret from the compressed sizes (as CRIME did to TLS). A message
    /// sent this way adds nothing to the compressor's history. Refused in the
    /// same cases as [`Connection::send`].
    pub fn send_uncompressed(&mut self, message: impl Into<Message>) -> Result<(), SendError> {
        self.send_message(message.into(), false)
    }

    #[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
    fn send_message(&mut self, message: Message, may_compress: bool) -> Result<(), SendError> {
        self.check_send_allowed()?;
        if self.outgoing_fragmented.is_some() {
            return Err(SendError::FragmentedMessageInProgress);
        }
        let opcode = data_opcode(message.kind());
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self
            .deflate
            .as_mut()
            .filter(|d| may_compress && d.compresses(message.len()))
        {
            let compressed = deflate
                .compress_message(message.payload())
                .map_err(|_| SendError::CompressionFailed)?;
            if let Some(payload) = compressed {
                self.queue_frame(true, RSV1, opcode, &payload);
                return Ok(());
            }
        }
        self.queue_frame(true, 0, opcode, message.payload());
        Ok(())
    }

    /// Queues a message encoded once for many recipients (a broadcast). A
    /// server queues the shared bytes as they are; a client, which must mask
    /// with its own key, encodes the message afresh. Refused in the same
    /// cases as [`Connection::send`].
    pub fn send_prepared(&mut self, prepared: &PreparedMessage) -> Result<(), SendError> {
        self.check_send_allowed()?;
        if self.outgoing_fragmented.is_some() {
            return Err(SendError::FragmentedMessageInProgress);
        }
        let message = prepared.message();
        let opcode = data_opcode(message.kind());
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self
            .deflate
            .as_mut()
            .filter(|d| prepared.may_compress() && d.compresses(message.len()))
        {
            let compressed = if self.mask_keys.is_some() {
                deflate.compress_message(message.payload())
            } else {
                deflate.compress_shared(message.payload(), prepared.shared_compressed())
            }
            .map_err(|_| SendError::CompressionFailed)?;
            if let Some(payload) = compressed {
                self.queue_frame(true, RSV1, opcode, &payload);
                return Ok(());
            }
        }
        if self.mask_keys.is_some() {
            self.queue_frame(true, 0, opcode, message.payload());
        } else {
            let (head, head_len) = prepared.encoded_header();
            self.output.push_encoded(head, head_len, prepared.payload());
        }
        Ok(())
    }

    /// Queues one fragment of a message (RFC 6455 section 5.4): the first
    /// call starts the message with `kind`, and the call with `is_last` ends
    /// it. Every fragment of a message must give the same `kind`.
    ///
    /// Text is checked as it goes: a fragment may end inside a character,
    /// but the message as a whole must be UTF-8. Control frames and Close
    /// may be sent between fragments; whole messages may not.
    ///
    /// With permessage-deflate in use, the fragments of a message share one
    /// compressed stream (the threshold does not apply: the length is not
    /// known in advance). Each fragment's data goes out with it.
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: impl Into<Bytes>,
        is_last: bool,
    ) -> Result<(), SendError> {
        self.check_send_allowed()?;
        let opcode = match self.outgoing_fragmented {
            None => data_opcode(kind),
            Some(current) if current == kind => OpCode::Continuation,
            Some(_) => return Err(SendError::FragmentedMessageInProgress),
        };
        let data = data.into();
        if kind == MessageKind::Text {
            let mut utf8 = self.outgoing_utf8.clone();
            utf8.feed(&data).map_err(|_| SendError::InvalidUtf8)?;
            if is_last && !utf8.is_complete() {
                return Err(SendError::InvalidUtf8);
            }
            self.outgoing_utf8 = utf8;
        }
        let rsv = self.compress_fragment(opcode, &data, is_last)?;
        match rsv {
            Some((rsv, payload)) => self.queue_frame(is_last, rsv, opcode, &payload),
            None => self.queue_frame(is_last, 0, opcode, &data),
        }
        self.outgoing_fragmented = if is_last { None } else { Some(kind) };
        if is_last {
            self.outgoing_utf8.reset();
        }
        Ok(())
    }

    /// The compressed payload and RSV bits of a fragment, when its message is
    /// compressed; `None` to send `data` as it is.
    #[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
    fn compress_fragment(
        &mut self,
        opcode: OpCode,
        data: &Bytes,
        is_last: bool,
    ) -> Result<Option<(u8, Bytes)>, SendError> {
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self.deflate.as_mut() {
            let first = opcode != OpCode::Continuation;
            if first {
                self.outgoing_compressed = deflate.compresses_fragments();
            }
            if self.outgoing_compressed {
                let payload = deflate
                    .compress(data, is_last)
                    .map_err(|_| SendError::CompressionFailed)?;
                return Ok(Some((if first { RSV1 } else { 0 }, payload)));
            }
        }
        Ok(None)
    }

    /// Queues a ping with `payload` (at most 125 bytes).
    pub fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.queue_control(OpCode::Ping, payload.into())
    }

    /// Queues a pong with `payload` (at most 125 bytes). An unsolicited pong
    /// serves as a one-way heartbeat (RFC 6455 section 5.5.3).
    pub fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), SendError> {
        self.queue_control(OpCode::Pong, payload.into())
    }

    /// Starts the closing handshake: queues a Close frame with `code` and
    /// `reason` (at most 123 bytes). The connection is
    /// [`State::Closing`](super::State::Closing) until the peer's Close
    /// arrives; nothing more can be sent.
    ///
    /// Accepted even when the send queue is full, so a connection can always
    /// be closed.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        if self.stage != Stage::Open {
            return Err(SendError::Closed);
        }
        if !code.is_valid_on_wire() {
            return Err(SendError::InvalidCloseCode(code.as_u16()));
        }
        if reason.len() > MAX_CLOSE_REASON {
            return Err(SendError::CloseReasonTooLong(reason.len()));
        }
        self.queue_close(close_payload(code, reason));
        Ok(())
    }

    /// Takes the next chunk of bytes to write to the transport, or `None`
    /// when everything has been drained.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.flush_pending_pong();
        self.output.pop()
    }

    /// Fills `slices` with the bytes waiting to be written, oldest first, for
    /// a vectored write; returns how many slices it filled. Report what the
    /// transport took with [`Connection::advance_transmit`].
    pub fn transmit_slices<'a>(&'a mut self, slices: &mut [std::io::IoSlice<'a>]) -> usize {
        self.flush_pending_pong();
        self.output.fill_slices(slices)
    }

    /// Drops the first `written` bytes of the output, which the transport
    /// has taken.
    pub fn advance_transmit(&mut self, written: usize) {
        self.output.advance(written);
    }

    /// [`Connection::advance_transmit`], and once everything queued is
    /// written, the buffer it was encoded into, empty but with its capacity:
    /// room to lend to the next [`Connection::send_in`] (of this connection
    /// or another), so that an adapter can keep reusing one buffer instead
    /// of allocating or splitting one per message. The connection holds no
    /// send buffer afterwards, as with `advance_transmit`.
    pub fn advance_transmit_reclaim(&mut self, written: usize) -> Option<BytesMut> {
        self.output.advance(written)
    }

    /// Queues a Close frame with a prepared payload. Any pong owed is queued
    /// first: nothing may follow the Close.
    pub(super) fn queue_close(&mut self, payload: Bytes) {
        self.flush_pending_pong();
        self.queue_frame(true, 0, OpCode::Close, &payload);
        if self.stage == Stage::Open {
            self.stage = Stage::Closing;
        }
        self.outgoing_fragmented = None;
    }

    fn queue_control(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), SendError> {
        self.check_send_allowed()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLong(payload.len()));
        }
        self.queue_frame(true, 0, opcode, &payload);
        Ok(())
    }

    fn check_send_allowed(&self) -> Result<(), SendError> {
        if self.stage != Stage::Open {
            return Err(SendError::Closed);
        }
        let queued = self.buffered_amount();
        if queued >= self.config.max_send_queue {
            return Err(SendError::QueueFull {
                queued,
                limit: self.config.max_send_queue,
            });
        }
        Ok(())
    }

    /// Queues the pong for a received ping (RFC 6455 section 5.5.2). While
    /// the send queue is at its limit, the pong waits in a single slot that
    /// a later ping's pong replaces, as section 5.5.3 allows: a peer that
    /// floods pings and never reads cannot grow the queue.
    pub(super) fn answer_ping(&mut self, payload: Bytes) {
        if self.buffered_amount() < self.config.max_send_queue {
            self.queue_frame(true, 0, OpCode::Pong, &payload);
        } else {
            self.pending_pong = Some(Box::new(payload));
        }
    }

    fn flush_pending_pong(&mut self) {
        if let Some(payload) = self.pending_pong.take() {
            self.queue_frame(true, 0, OpCode::Pong, &payload);
        }
    }

    fn queue_frame(&mut self, fin: bool, rsv: u8, opcode: OpCode, payload: &Bytes) {
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask: self.mask_keys.as_mut().map(|keys| keys.next_key()),
            payload_len: payload.len() as u64,
        };
        self.output.push_frame(&header, payload);
    }
}

fn data_opcode(kind: MessageKind) -> OpCode {
    match kind {
        MessageKind::Text => OpCode::Text,
        MessageKind::Binary => OpCode::Binary,
    }
}
