//! The receive path: bytes in, frames checked, messages assembled, events out.
//!
//! Parsing is lazy: [`Connection::receive`] only buffers, and each call to
//! [`Connection::poll_event`] parses as far as the next event. Payload bytes
//! are unmasked in place and text is validated as soon as they arrive, even
//! in the middle of a frame, so invalid UTF-8 fails the connection at the
//! read that carried it. A complete single-frame message is handed out as a
//! slice of the read buffer, without a copy. Once part of a large frame's
//! payload has arrived, the buffer makes room for the rest of it at once
//! ([`Config::frame_reserve`](crate::Config::frame_reserve)).
//!
//! Two paths share those rules. The general one keeps per-frame and
//! per-message state and takes any frame, in any number of reads. The fast
//! one (`whole_message`) takes the commonest case, a whole uncompressed
//! message in one frame that is all in the buffer already: the same checks
//! (the same functions), one pass that unmasks, and no state recorded. Both
//! end in `take_payload` and `complete_message`, where a text message's
//! bytes are checked by the constructor of [`Utf8Bytes`] (that check is what
//! makes its `as_str` free): the fast path's only check of its text. The
//! split-anywhere tests feed every stream whole (fast path) and in pieces
//! (general path) and expect the same events.

use bytes::{Buf, Bytes, BytesMut};

use super::{Connection, IncomingFrame, IncomingMessage, Stage};
use crate::close::{close_payload, parse_close_payload};
use crate::config::Role;
use crate::error::ProtocolError;
use crate::frame::{FrameHeader, OpCode};
use crate::mask::{apply_mask, apply_mask_is_ascii, extend_unmasked};
use crate::message::{Event, Fragment, Message, MessageKind, Utf8Bytes};

/// The most unparsed bytes that are moved into a buffer of their own when
/// the parser waits for more (see `Connection::release_idle_input`): up to
/// this, the copy is cheap, and it saves pinning a whole read buffer.
/// Larger remainders (a large frame arriving) keep their buffer, which
/// grows for the rest of the frame.
const COMPACT_MAX: usize = 4096;

impl Connection {
    /// Buffers bytes read from the transport. Call [`Connection::poll_event`]
    /// afterwards until it returns `None`.
    ///
    /// Bytes that arrive after the peer's Close frame, or after the
    /// connection failed, are discarded (RFC 6455 section 5.5.1: the Close is
    /// the last frame an endpoint sends).
    pub fn receive(&mut self, bytes: &[u8]) {
        if !self.takes(bytes.len()) {
            return;
        }
        match self.after_frame() {
            Some(after) => after.extend_from_slice(bytes),
            None => self.append_input(bytes),
        }
    }

    /// Takes the bytes of `buf`, read from the transport, leaving `buf`
    /// empty with its spare capacity; otherwise the same as
    /// [`Connection::receive`] (same events for the same bytes, however
    /// they are split). Call [`Connection::poll_event`] afterwards until it
    /// returns `None`.
    ///
    /// The bytes are not copied when the connection holds no unparsed
    /// input (the common case: reads end at frame boundaries), nor when
    /// they continue the allocation of the bytes it holds (an adapter that
    /// reads into the spare capacity of the same buffer). Otherwise the
    /// connection holds the start of a frame, and only the bytes that
    /// complete it are copied (appended to it, as `receive` does); those
    /// that follow are kept as they are, and parsed once the frame is out.
    /// Messages are then slices of `buf`'s allocation. (Handing the room
    /// reserved for the rest of a large frame back as `buf`, for the next
    /// reads to land in place, was tried: it saves a copy for an adapter
    /// that keeps reading into `buf`, but one that drops `buf` after the
    /// call would make every later read reallocate the frame, so it is not
    /// done.)
    ///
    /// Memory: a payload handed out keeps the allocation it is a slice of
    /// alive, however small it is, as with `receive` (payloads are never
    /// copied out: measured, an allocation per message costs more than it
    /// saves). Bytes of an unfinished frame, up to 4 KiB, still buffered
    /// once every complete frame is out are moved into a buffer of their
    /// own, so that a connection waiting for the rest of a frame does not
    /// pin the adapter's read buffer; a larger unfinished frame keeps it.
    pub fn receive_buf(&mut self, buf: &mut BytesMut) {
        let mut bytes = buf.split();
        if !self.takes(bytes.len()) {
            return;
        }
        if let Some(after) = self.after_frame() {
            after.unsplit(bytes);
            return;
        }
        let contiguous = self.input.as_ptr().wrapping_add(self.input.len()) == bytes.as_ptr();
        if self.input.is_empty() || contiguous {
            // O(1): taken as it is, or the halves of one allocation joined
            // again.
            self.input.unsplit(bytes);
            return;
        }
        if let Some(missing) = self
            .frame_missing()
            .filter(|&missing| missing < bytes.len())
        {
            let after = bytes.split_off(missing);
            self.append_input(&bytes);
            if let Some(frame) = &mut self.frame {
                frame.after = after;
            }
            return;
        }
        self.append_input(&bytes);
    }

    /// Copies bytes read from the transport to the end of the read buffer.
    /// Those that continue a masked frame's payload, when all of it that is
    /// buffered was unmasked already, are unmasked as they are copied (one
    /// pass over them instead of two; `advance_frame` then skips them,
    /// see [`IncomingFrame::premasked`]).
    fn append_input(&mut self, bytes: &[u8]) {
        let Some(missing) = self.frame_missing() else {
            self.input.extend_from_slice(bytes);
            return;
        };
        self.reserve_frame(missing, bytes.len());
        let mut rest = bytes;
        if let Some(frame) = self.frame.as_deref_mut() {
            let unmasked_so_far = self.input.len() == frame.buffered + frame.premasked;
            if let Some(key) = frame.header.mask.filter(|_| unmasked_so_far) {
                let (payload, after) = bytes.split_at(missing.min(bytes.len()));
                let offset = frame.received + frame.premasked;
                let ascii = extend_unmasked(&mut self.input, payload, key, offset);
                frame.premasked += payload.len();
                frame.premasked_ascii &= ascii;
                rest = after;
            }
        }
        self.input.extend_from_slice(rest);
    }

    /// Reads the rest of a large frame in place: while a frame that still
    /// misses at least `min` bytes (and at least 1) is being received,
    /// lends `read` the room reserved for it (up to
    /// [`Config::frame_reserve`](crate::Config::frame_reserve)) as an
    /// empty `BytesMut` with spare capacity, and takes what `read` left in
    /// it as received bytes, without a copy (as
    /// [`Connection::receive_buf`] does; the room not used stays the
    /// connection's, for the next read). Returns what `read` returned, or
    /// `None` without calling it when there is no such frame, or no room
    /// (a compressed or streamed frame, `frame_reserve` 0): read as usual
    /// then. Call [`Connection::poll_event`] afterwards until it returns
    /// `None`.
    ///
    /// For an adapter that reads into a buffer shared by its connections:
    /// the start of a large frame is copied once into a buffer of its own,
    /// and the rest lands there.
    #[inline]
    pub fn receive_in_place<T>(
        &mut self,
        min: usize,
        read: impl FnOnce(&mut BytesMut) -> T,
    ) -> Option<T> {
        // Between frames, the common case, this inlined test is all it
        // costs: an adapter asks before every read (weir-mio, callgrind,
        // 20-byte echoes: 2,273 instructions per message without the test
        // and `#[inline]`, 2,234 with them).
        self.frame.as_ref()?;
        let missing = self
            .frame_missing()
            .filter(|&missing| missing >= min.max(1))?;
        if self.receive_closed() || self.after_frame().is_some() {
            return None;
        }
        self.input.reserve(missing.min(self.config.frame_reserve));
        if self.input.capacity() == self.input.len() {
            return None;
        }
        let mut room = self.input.split_off(self.input.len());
        let result = read(&mut room);
        if !room.is_empty() {
            self.clock.input_arrived = true;
        }
        // O(1) when `read` appended to the room, as it should.
        self.input.unsplit(room);
        Some(result)
    }

    /// Whether `len` bytes that arrived are to be buffered: not nothing,
    /// and not after the receive side closed. Records the arrival.
    fn takes(&mut self, len: usize) -> bool {
        if self.receive_closed() || len == 0 {
            return false;
        }
        self.clock.input_arrived = true;
        true
    }

    /// The bytes kept after the end of the frame being received
    /// ([`IncomingFrame::after`]), when there are any: where more bytes go.
    fn after_frame(&mut self) -> Option<&mut BytesMut> {
        let frame = self.frame.as_mut()?;
        (!frame.after.is_empty()).then_some(&mut frame.after)
    }

    /// How many bytes of the frame being received are not in the buffer
    /// yet, for a frame that is buffered whole; `None` between frames and
    /// for the others: the payload of a compressed frame is inflated as it
    /// arrives, and streaming mode hands out each read's bytes.
    fn frame_missing(&self) -> Option<usize> {
        let frame = self.frame.as_ref()?;
        if frame.compressed || (self.config.streaming && !frame.header.opcode.is_control()) {
            return None;
        }
        let unhandled = self.input.len() - frame.buffered;
        Some((frame.len - frame.received).saturating_sub(unhandled))
    }

    /// Once the parser needs more bytes: gives back an empty read buffer
    /// (an idle connection holds no receive memory), and moves a remainder
    /// of at most [`COMPACT_MAX`] bytes that ends its buffer (no spare
    /// capacity: the end of a read's allocation, or of a buffer taken by
    /// [`Connection::receive_buf`]) into a buffer of its own, so that a
    /// connection waiting for the rest of a frame does not pin the whole
    /// allocation it was read into. Payloads already handed out keep their
    /// own reference to it. An empty buffer is dropped even when it has no
    /// spare capacity: after `split_to` it may still share, and keep alive,
    /// the allocation the payloads came from.
    fn release_idle_input(&mut self) {
        let len = self.input.len();
        if len == 0 {
            self.input = BytesMut::new();
        } else if len <= COMPACT_MAX && self.input.capacity() == len {
            // A buffer of its own has spare room after an append (it grows
            // by doubling), so this copies O(len) in total however the
            // bytes trickle in.
            self.input = BytesMut::from(&self.input[..]);
        }
    }

    /// Before `incoming` more bytes are buffered in the middle of a frame's
    /// payload, of which `missing` bytes are not in the buffer yet (see
    /// [`Connection::frame_missing`]), makes room for the rest of the frame
    /// at once (at most
    /// [`Config::frame_reserve`](crate::Config::frame_reserve) bytes), so
    /// that a large frame is copied into the buffer once rather than again
    /// at each doubling.
    fn reserve_frame(&mut self, missing: usize, incoming: usize) {
        let reserve = missing.min(self.config.frame_reserve).max(incoming);
        self.input.reserve(reserve);
    }

    /// The next event from the bytes received so far, or `None` when more
    /// bytes are needed (or after the peer's Close or a protocol error).
    ///
    /// A [`ProtocolError`] is reported once: by then the connection has
    /// queued a Close frame with [`ProtocolError::close_code`], stopped
    /// parsing, and released its receive buffers.
    pub fn poll_event(&mut self) -> Option<Result<Event, ProtocolError>> {
        if self.receive_closed() {
            return None;
        }
        match self.next_event() {
            Ok(event) => event.map(Ok),
            Err(error) => {
                self.fail(&error);
                Some(Err(error))
            }
        }
    }

    /// Whether received bytes wait to be parsed. When not,
    /// [`Connection::poll_event`] returns `None` until more arrive, and an
    /// adapter can skip the call: after an event that used up the input,
    /// say.
    #[inline]
    pub fn has_unparsed_input(&self) -> bool {
        !self.input.is_empty()
            || self
                .frame
                .as_ref()
                .is_some_and(|frame| !frame.after.is_empty())
    }

    fn next_event(&mut self) -> Result<Option<Event>, ProtocolError> {
        loop {
            if self.frame.is_none() {
                let Some((header, header_len)) = FrameHeader::decode(&self.input)? else {
                    self.release_idle_input();
                    return Ok(None);
                };
                if let Some(message) = self.whole_message(&header, header_len)? {
                    return Ok(Some(Event::Message(message)));
                }
                let frame = self.start_frame(header)?;
                self.input.advance(header_len);
                self.frame = Some(Box::new(frame));
            }
            if let Some(event) = self.advance_frame()? {
                return Ok(Some(event));
            }
            if self.frame.is_some() {
                self.release_idle_input();
                return Ok(None);
            }
        }
    }

    /// The fast path, for the commonest frame: a whole message in one
    /// uncompressed frame, all of it in the buffer, outside streaming mode.
    /// It makes the same checks as [`Connection::start_frame`] (those that
    /// can fail for such a frame) and treats the payload as
    /// [`Connection::advance_frame`] would, without recording any frame or
    /// message state. `None` for any other frame, which the general path
    /// then takes.
    fn whole_message(
        &mut self,
        header: &FrameHeader,
        header_len: usize,
    ) -> Result<Option<Message>, ProtocolError> {
        let Some(kind) = data_kind(header.opcode) else {
            return Ok(None);
        };
        let buffered = (self.input.len() - header_len) as u64;
        let whole = header.fin && header.payload_len <= buffered;
        if !whole || header.rsv != 0 || self.message.is_some() || self.config.streaming {
            return Ok(None);
        }
        check_masking(self.role, header)?;
        let len = self.check_size_limits(header, false)?;
        if let Some(key) = header.mask {
            apply_mask(&mut self.input[header_len..header_len + len], key, 0);
        }
        let payload = self.take_payload(header_len, len);
        // Text is validated here and only here: by the constructor.
        complete_message(kind, payload).map(Some)
    }

    /// Takes the `len` payload bytes that follow `skip` bytes (a header, or
    /// none) at the front of the read buffer, and drops both from it: a
    /// slice of the read buffer, not a copy. (Copying small payloads into
    /// a `Bytes` of their own instead was measured: an allocation and a
    /// free cost more than the shared buffer's reference counting.)
    ///
    /// Not `#[inline(always)]`: that ran 6 instructions fewer per 16-byte
    /// message under callgrind but took 55 % longer per message in the
    /// codec bench (the inlining attributes of this fast path move its
    /// time by tens of percent either way; time them, do not count them).
    fn take_payload(&mut self, skip: usize, len: usize) -> Bytes {
        let end = skip + len;
        // One split for header and payload (dropping the header from the
        // frozen slice is cheaper than advancing the buffer past it); when
        // the frame is all there is, no split at all.
        let mut payload = if self.input.len() == end {
            std::mem::take(&mut self.input).freeze()
        } else {
            self.input.split_to(end).freeze()
        };
        payload.advance(skip);
        payload
    }

    /// Checks a new frame header against the connection's state and limits,
    /// and starts a message for a first data frame. (`#[inline(never)]`
    /// here and on `advance_frame` ran 21 instructions fewer per 16-byte
    /// message under callgrind, and took 16 % longer in the codec bench.)
    fn start_frame(&mut self, header: FrameHeader) -> Result<IncomingFrame, ProtocolError> {
        let starts_compressed = self.check_reserved_bits(&header)?;
        check_masking(self.role, &header)?;
        if header.opcode.is_control() {
            check_control_frame(&header)?;
        } else {
            self.check_data_frame_sequence(&header)?;
        }
        if let Some(kind) = data_kind(header.opcode) {
            self.message = Some(Box::new(IncomingMessage {
                kind,
                size: 0,
                utf8: Default::default(),
                parts: BytesMut::new(),
                delivered_any: false,
                #[cfg(feature = "deflate")]
                inflating: starts_compressed.then(Default::default),
            }));
        }
        let _ = starts_compressed;
        let compressed = !header.opcode.is_control() && self.message_is_compressed();
        let len = self.check_size_limits(&header, compressed)?;
        let is_text = !compressed
            && match header.opcode {
                OpCode::Text => true,
                OpCode::Continuation => {
                    matches!(&self.message, Some(message) if message.kind == MessageKind::Text)
                }
                _ => false,
            };
        if let Some(message) = &mut self.message {
            if !header.opcode.is_control() {
                message.size += header.payload_len;
            }
        }
        Ok(IncomingFrame {
            header,
            len,
            received: 0,
            buffered: 0,
            premasked: 0,
            premasked_ascii: true,
            is_text,
            compressed,
            after: BytesMut::new(),
        })
    }

    /// Whether the data message being received is compressed.
    fn message_is_compressed(&self) -> bool {
        #[cfg(feature = "deflate")]
        return matches!(&self.message, Some(message) if message.inflating.is_some());
        #[cfg(not(feature = "deflate"))]
        false
    }

    /// RFC 6455 section 5.2: "RSV1, RSV2, RSV3: MUST be 0 unless an extension
    /// is negotiated that defines meanings for non-zero values". RFC 7692
    /// section 6 gives RSV1 a meaning on the first frame of a data message
    /// ("Per-Message Compressed"), and 6.1 forbids it elsewhere. Returns
    /// whether the frame starts a compressed message.
    fn check_reserved_bits(&self, header: &FrameHeader) -> Result<bool, ProtocolError> {
        #[cfg(feature = "deflate")]
        let allowed = match header.opcode {
            OpCode::Text | OpCode::Binary if self.deflate.is_some() => crate::deflate::RSV1,
            _ => 0,
        };
        #[cfg(not(feature = "deflate"))]
        let allowed = 0;
        match header.rsv & !allowed {
            0 => Ok(header.rsv != 0),
            _ => Err(ProtocolError::ReservedBits(header.rsv)),
        }
    }

    /// RFC 6455 section 5.4: "The fragments of one message MUST NOT be
    /// interleaved between the fragments of another message": a continuation
    /// needs a message in progress, and a text or binary frame needs none.
    fn check_data_frame_sequence(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
        match (header.opcode, &self.message) {
            (OpCode::Continuation, None) => Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Text | OpCode::Binary, Some(_)) => Err(ProtocolError::ExpectedContinuation),
            _ => Ok(()),
        }
    }

    /// Frame and message size limits, checked before any payload is
    /// buffered. Returns the payload length as a `usize`.
    ///
    /// A compressed message's limit applies to its inflated bytes, as they
    /// come out of the inflater; its compressed frames and messages get room
    /// for deflate's growth on incompressible data (see
    /// `with_deflate_growth`), so that what fits uncompressed also fits
    /// compressed.
    fn check_size_limits(
        &self,
        header: &FrameHeader,
        compressed: bool,
    ) -> Result<usize, ProtocolError> {
        let too_big = ProtocolError::FrameTooBig {
            len: header.payload_len,
            max: self.config.max_frame_size,
        };
        let len = usize::try_from(header.payload_len).map_err(|_| too_big.clone())?;
        let max_frame = if compressed {
            with_deflate_growth(self.config.max_frame_size)
        } else {
            self.config.max_frame_size
        };
        if len > max_frame {
            return Err(too_big);
        }
        if !header.opcode.is_control() {
            let before = self.message.as_ref().map_or(0, |message| message.size);
            let total = before.saturating_add(header.payload_len);
            let max = self.config.max_message_size as u64;
            let wire_max = if compressed {
                with_deflate_growth(self.config.max_message_size) as u64
            } else {
                max
            };
            if total > wire_max {
                return Err(ProtocolError::MessageTooBig {
                    len: total,
                    max: self.config.max_message_size,
                });
            }
        }
        Ok(len)
    }

    /// Unmasks and validates the payload bytes that arrived for the current
    /// frame, and produces an event if the frame (or, in streaming mode, a
    /// piece of it) is ready. Clears `self.frame` once the frame is done.
    fn advance_frame(&mut self) -> Result<Option<Event>, ProtocolError> {
        let Some(frame) = &mut self.frame else {
            return Ok(None);
        };
        let arrived = (self.input.len() - frame.buffered).min(frame.len - frame.received);
        if arrived > 0 {
            let fresh = &mut self.input[frame.buffered..frame.buffered + arrived];
            // The bytes `append_input` unmasked come first.
            let done = frame.premasked.min(arrived);
            let rest = &mut fresh[done..];
            let offset = frame.received + done;
            let rest_ascii = match frame.header.mask {
                Some(key) if frame.is_text => apply_mask_is_ascii(rest, key, offset),
                Some(key) => {
                    apply_mask(rest, key, offset);
                    false
                }
                None => false,
            };
            let ascii = rest_ascii && frame.premasked_ascii;
            frame.premasked -= done;
            if frame.premasked == 0 {
                frame.premasked_ascii = true;
            }
            let fresh = &self.input[frame.buffered..frame.buffered + arrived];
            if frame.is_text {
                if let Some(message) = &mut self.message {
                    // ASCII at a code point boundary cannot fail, and the
                    // message's end is checked again anyway (by
                    // `complete_message`): skip the second pass.
                    if !(ascii && message.utf8.is_complete()) {
                        message
                            .utf8
                            .feed(fresh)
                            .map_err(|_| ProtocolError::InvalidUtf8)?;
                    }
                }
            }
            frame.received += arrived;
            frame.buffered += arrived;
        }
        let complete = frame.received == frame.len;
        let header = frame.header;
        #[cfg(feature = "deflate")]
        if frame.compressed {
            return self.advance_compressed();
        }
        if self.config.streaming && !header.opcode.is_control() {
            return self.stream_fragment(complete);
        }
        if !complete {
            return Ok(None);
        }
        let len = frame.len;
        let after = std::mem::take(&mut frame.after);
        self.frame = None;
        let payload = self.take_payload(0, len);
        // The buffer held this frame's bytes only, if any came after.
        self.input.unsplit(after);
        match header.opcode {
            OpCode::Ping => {
                if self.config.auto_pong && !self.close_sent() {
                    self.answer_ping(payload.clone());
                }
                Ok(Some(Event::Ping(payload)))
            }
            OpCode::Pong => Ok(Some(Event::Pong(payload))),
            OpCode::Close => {
                let close = parse_close_payload(payload)?;
                let close_sent = self.close_sent();
                self.stage = Stage::Closed {
                    failed: false,
                    eof: false,
                };
                self.release_receive_buffers();
                if !close_sent {
                    // Section 5.5.1: the endpoint "MUST send a Close frame in
                    // response", typically echoing the status code.
                    let echo = close.as_ref().map(|frame| close_payload(frame.code, ""));
                    self.queue_close(echo.unwrap_or_default());
                }
                Ok(Some(Event::Close(close)))
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                let Some(message) = &mut self.message else {
                    return Ok(None);
                };
                if !header.fin {
                    message.parts.extend_from_slice(&payload);
                    return Ok(None);
                }
                let Some(mut message) = self.message.take() else {
                    return Ok(None);
                };
                let whole = if message.parts.is_empty() {
                    payload
                } else {
                    message.parts.extend_from_slice(&payload);
                    message.parts.freeze()
                };
                complete_message(message.kind, whole).map(|message| Some(Event::Message(message)))
            }
        }
    }

    /// Streaming mode: hands out the data frame's buffered bytes as a
    /// [`Fragment`] as soon as there are any, or when the message ends.
    fn stream_fragment(&mut self, complete: bool) -> Result<Option<Event>, ProtocolError> {
        let (Some(frame), Some(message)) = (&mut self.frame, &mut self.message) else {
            return Ok(None);
        };
        let is_last = complete && frame.header.fin;
        if frame.buffered == 0 && !is_last {
            if complete {
                self.frame = None;
            }
            return Ok(None);
        }
        if is_last && message.kind == MessageKind::Text {
            message
                .utf8
                .finish()
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        let fragment = Fragment {
            kind: message.kind,
            data: self.input.split_to(frame.buffered).freeze(),
            is_first: !message.delivered_any,
            is_last,
        };
        frame.buffered = 0;
        message.delivered_any = true;
        if complete {
            self.frame = None;
        }
        if is_last {
            self.message = None;
        }
        Ok(Some(Event::Fragment(fragment)))
    }

    /// Fails the connection (RFC 6455 section 7.1.7): queue a Close frame
    /// with the error's code unless one was sent, and stop reading.
    fn fail(&mut self, error: &ProtocolError) {
        let close_sent = self.close_sent();
        self.stage = Stage::Closed {
            failed: true,
            eof: false,
        };
        self.release_receive_buffers();
        if !close_sent {
            self.queue_close(close_payload(error.close_code(), &error.close_reason()));
        }
    }

    /// Frees everything the receive side holds once it will read no more.
    pub(super) fn release_receive_buffers(&mut self) {
        self.input = BytesMut::new();
        self.frame = None;
        self.message = None;
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &mut self.deflate {
            deflate.release_receive();
        }
    }
}

/// A received data message of `kind` made of `payload`. Text is checked
/// here, once, whether or not it was validated as it arrived: keeping the
/// check in the constructor of [`Utf8Bytes`] is what lets `as_str` be free
/// without `unsafe`. Messages that arrived whole skip the validator, so
/// their text is read once; text that arrived in pieces was checked as it
/// came (to fail at the first bad byte) and is read again here.
#[inline]
pub(super) fn complete_message(
    kind: MessageKind,
    payload: Bytes,
) -> Result<Message, ProtocolError> {
    Ok(match kind {
        MessageKind::Binary => Message::Binary(payload),
        MessageKind::Text => {
            Message::Text(Utf8Bytes::try_from(payload).map_err(|_| ProtocolError::InvalidUtf8)?)
        }
    })
}

/// A size limit with room for deflate's growth on incompressible data. In
/// stored blocks that is 5 bytes per block, but a compressor may also use
/// fixed Huffman codes, of up to 9 bits per byte (zlib-ng's and zlib-rs's
/// fastest level does): so an eighth, plus a little for the ends. The
/// compressed bytes are inflated as they arrive, not buffered, so this
/// costs no memory.
fn with_deflate_growth(limit: usize) -> usize {
    limit.saturating_add(limit / 8).saturating_add(1024)
}

/// RFC 6455 section 5.1: "The server MUST close the connection upon
/// receiving a frame that is not masked", and "A client MUST close a
/// connection if it detects a masked frame."
fn check_masking(role: Role, header: &FrameHeader) -> Result<(), ProtocolError> {
    match (role, header.mask.is_some()) {
        (Role::Server, false) => Err(ProtocolError::UnmaskedFrame),
        (Role::Client, true) => Err(ProtocolError::MaskedFrame),
        _ => Ok(()),
    }
}

/// RFC 6455 section 5.5: "All control frames MUST have a payload length of
/// 125 bytes or less and MUST NOT be fragmented."
fn check_control_frame(header: &FrameHeader) -> Result<(), ProtocolError> {
    if !header.fin {
        return Err(ProtocolError::FragmentedControlFrame);
    }
    if header.payload_len > 125 {
        return Err(ProtocolError::ControlFrameTooLong(header.payload_len));
    }
    Ok(())
}

/// The message kind a frame opcode starts, if it starts one.
fn data_kind(opcode: OpCode) -> Option<MessageKind> {
    match opcode {
        OpCode::Text => Some(MessageKind::Text),
        OpCode::Binary => Some(MessageKind::Binary),
        _ => None,
    }
}
