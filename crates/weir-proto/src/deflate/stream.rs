//! The connection's permessage-deflate slot: what may carry RSV1, and the
//! compressor and inflater state of the messages in flight.
//!
//! Sending: [`Deflate::compress`] takes a message's payload, or one fragment
//! of it, and returns the bytes to put in the frame. One stream spans every
//! fragment of a message; the last four bytes of output are held back
//! between fragments, so that the end of the message can drop the sync
//! flush's `00 00 ff ff` tail even when the last fragment adds no data.
//!
//! Receiving: [`Deflate::inflate`] inflates a message's payload as its bytes
//! arrive, into an [`Inflating`] buffer that the caller caps at the message
//! size limit (or at a chunk, in streaming mode), and appends the tail once
//! the message's last frame is in.
//!
//! Where this endpoint's side has no context takeover, the compressor (and,
//! where the peer's side has none, the inflater) is borrowed from the
//! per-thread pool for one message and given back reset.

use bytes::Bytes;

use super::codec::{CompressFailed, Compressor, CompressorKey, Inflater, InvalidData, TRAILER};
use super::pool;
use super::{DeflateConfig, DeflateParams};
use crate::config::Role;

/// RSV1, as [`FrameHeader::rsv`](crate::frame::FrameHeader::rsv) holds it:
/// "Per-Message Compressed" (RFC 7692 section 6).
pub(crate) const RSV1: u8 = 0b100;

/// Per-connection permessage-deflate state: the agreed parameters inline,
/// and the streams boxed apart, only while one is held (see [`Streams`]).
#[derive(Debug)]
pub(crate) struct Deflate {
    role: Role,
    params: DeflateParams,
    level: u8,
    threshold: usize,
    /// Compression failed once: later messages go uncompressed, which is
    /// always valid, so the peer's window never misses our history.
    send_disabled: bool,
    /// `None` whenever [`Streams`] would be empty: an idle connection with
    /// no context takeover either way allocates nothing for compression.
    streams: Option<Box<Streams>>,
}

/// The compressor and inflater a connection holds between calls.
#[derive(Debug, Default)]
struct Streams {
    /// The compressor: kept across messages with context takeover, held
    /// only during a fragmented message without.
    compressor: Option<Compressor>,
    /// Output bytes held back while a fragmented message is being sent.
    held: Vec<u8>,
    /// The inflater: kept across messages with context takeover on the
    /// peer's side, held only during a message without.
    inflater: Option<Inflater>,
}

impl Streams {
    fn is_empty(&self) -> bool {
        self.compressor.is_none() && self.inflater.is_none() && self.held.is_empty()
    }
}

/// A compressed message being received.
#[derive(Debug, Default)]
pub(crate) struct Inflating {
    /// Inflated bytes not yet handed out.
    pub(crate) out: Vec<u8>,
    /// Inflated bytes produced so far, handed out or not.
    pub(crate) produced: u64,
    /// How much of [`TRAILER`] the inflater has taken.
    trailer_taken: usize,
    /// The deflate stream ended with a BFINAL block; what follows in the
    /// message is ignored (RFC 7692 section 7.2.3.4).
    stream_ended: bool,
}

/// A message compressed once, by a fresh compressor, for every connection
/// whose own side has no context takeover and the same compressor key.
#[derive(Debug)]
pub(crate) struct SharedCompressed {
    key: CompressorKey,
    payload: Bytes,
}

impl Deflate {
    /// The slot for a connection in `role` that agreed on `params`, with the
    /// local choices of `config`.
    pub(crate) fn new(role: Role, params: DeflateParams, config: &DeflateConfig) -> Self {
        Self {
            role,
            params,
            level: config.level.min(9),
            threshold: config.threshold,
            send_disabled: false,
            streams: None,
        }
    }

    /// The streams, boxed on first use.
    fn streams(&mut self) -> &mut Streams {
        self.streams.get_or_insert_with(Box::default)
    }

    /// Frees the box once it holds nothing.
    fn release_empty_streams(&mut self) {
        if self.streams.as_deref().is_some_and(Streams::is_empty) {
            self.streams = None;
        }
    }

    /// The agreed parameters.
    pub(crate) fn params(&self) -> &DeflateParams {
        &self.params
    }

    /// Whether this endpoint resets its compressor after each message.
    fn own_no_context_takeover(&self) -> bool {
        match self.role {
            Role::Server => self.params.server_no_context_takeover,
            Role::Client => self.params.client_no_context_takeover,
        }
    }

    /// Whether the peer resets its compressor after each message.
    fn peer_no_context_takeover(&self) -> bool {
        match self.role {
            Role::Server => self.params.client_no_context_takeover,
            Role::Client => self.params.server_no_context_takeover,
        }
    }

    fn compressor_key(&self) -> CompressorKey {
        let window_bits = match self.role {
            Role::Server => self.params.server_max_window_bits,
            Role::Client => self.params.client_max_window_bits,
        };
        CompressorKey {
            window_bits,
            level: self.level,
        }
    }

    fn peer_window_bits(&self) -> u8 {
        match self.role {
            Role::Server => self.params.client_max_window_bits,
            Role::Client => self.params.server_max_window_bits,
        }
    }

    /// Whether a whole message of `len` bytes should go compressed.
    pub(crate) fn compresses(&self, len: usize) -> bool {
        !self.send_disabled && len > 0 && len >= self.threshold
    }

    /// Whether a fragmented message starting now should go compressed: the
    /// threshold cannot apply, as its length is unknown.
    pub(crate) fn compresses_fragments(&self) -> bool {
        !self.send_disabled
    }

    /// The frame payload for `data`, the next piece of a compressed message
    /// (the whole message when `is_last` and nothing came before).
    pub(crate) fn compress(&mut self, data: &[u8], is_last: bool) -> Result<Bytes, CompressFailed> {
        let key = self.compressor_key();
        let (kept, mut out) = match self.streams.as_deref_mut() {
            Some(streams) => (streams.compressor.take(), std::mem::take(&mut streams.held)),
            None => (None, Vec::new()),
        };
        let mut compressor = match kept {
            Some(compressor) => compressor,
            None if self.own_no_context_takeover() => pool::take_compressor(key),
            None => Compressor::new(key),
        };
        let result = if data.is_empty() {
            Ok(())
        } else {
            compressor.compress_sync(data, &mut out)
        };
        if let Err(failed) = result {
            self.send_disabled = true;
            self.release_empty_streams();
            return Err(failed);
        }
        if !is_last {
            let keep = out.len().saturating_sub(TRAILER.len());
            let streams = self.streams();
            streams.held = out.split_off(keep);
            streams.compressor = Some(compressor);
            return Ok(out.into());
        }
        if self.own_no_context_takeover() {
            pool::give_compressor(compressor);
            self.release_empty_streams();
        } else {
            self.streams().compressor = Some(compressor);
        }
        Ok(end_of_message(out))
    }

    /// A whole message's payload, compressed; or `None` when compression
    /// did not make it smaller and this side resets its compressor after
    /// every message, so that it can go uncompressed at no cost to the
    /// peer's window (with context takeover, the compressed form must go:
    /// the compressor's history already holds the message). Incompressible
    /// data then never grows past a size limit the peer set for it.
    pub(crate) fn compress_message(
        &mut self,
        data: &[u8],
    ) -> Result<Option<Bytes>, CompressFailed> {
        let out = self.compress(data, true)?;
        Ok(self.worth_sending(out, data.len()))
    }

    fn worth_sending(&self, compressed: Bytes, original: usize) -> Option<Bytes> {
        (compressed.len() < original || !self.own_no_context_takeover()).then_some(compressed)
    }

    /// The payload of `prepared` compressed for this connection, from
    /// `shared` when a fresh compressor with this connection's key made it,
    /// or by this connection's own compressor otherwise; `None` to send it
    /// uncompressed, as for [`Deflate::compress_message`].
    pub(crate) fn compress_shared(
        &mut self,
        payload: &Bytes,
        shared: &std::sync::OnceLock<SharedCompressed>,
    ) -> Result<Option<Bytes>, CompressFailed> {
        if !self.own_no_context_takeover() {
            return self.compress_message(payload);
        }
        let key = self.compressor_key();
        let made = shared.get_or_init(|| {
            let mut compressor = pool::take_compressor(key);
            let mut out = Vec::new();
            let done = compressor.compress_sync(payload, &mut out);
            pool::give_compressor(compressor);
            // On failure nothing matches the key, and each connection
            // compresses for itself (and meets the same failure).
            let key = if done.is_ok() { key } else { invalid_key() };
            SharedCompressed {
                key,
                payload: end_of_message(out),
            }
        });
        if made.key == key {
            Ok(self.worth_sending(made.payload.clone(), payload.len()))
        } else {
            self.compress_message(payload)
        }
    }

    /// Inflates what has arrived of the current message: `input` holds its
    /// compressed bytes not yet taken, and `input_complete` says the
    /// message's last frame is in, so the tail may follow. Appends to
    /// `progress.out` up to `cap` bytes in all.
    ///
    /// Returns how many bytes of `input` were taken (all of them once the
    /// stream ended), and whether everything that has arrived is out. On
    /// invalid data, what was inflated before the error is still in
    /// `progress.out` (and counted), so that the caller can check it first.
    pub(crate) fn inflate(
        &mut self,
        progress: &mut Inflating,
        input: &[u8],
        input_complete: bool,
        cap: usize,
    ) -> Result<(usize, bool), InvalidData> {
        if progress.stream_ended {
            return Ok((input.len(), true));
        }
        let peer_bits = self.peer_window_bits();
        let peer_resets = self.peer_no_context_takeover();
        let inflater = self.streams().inflater.get_or_insert_with(|| {
            if peer_resets {
                pool::take_inflater(peer_bits)
            } else {
                Inflater::new(peer_bits)
            }
        });
        let before = progress.out.len();
        let result = (|| {
            let step = inflater.inflate(input, &mut progress.out, cap)?;
            let mut consumed = step.consumed;
            let mut drained = consumed == input.len() && progress.out.len() < cap;
            if step.stream_end {
                progress.stream_ended = true;
                consumed = input.len();
                drained = progress.out.len() < cap;
            } else if drained && input_complete && progress.trailer_taken < TRAILER.len() {
                let rest = &TRAILER[progress.trailer_taken..];
                let step = inflater.inflate(rest, &mut progress.out, cap)?;
                progress.trailer_taken += step.consumed;
                progress.stream_ended = step.stream_end;
                drained = progress.out.len() < cap
                    && (step.stream_end || progress.trailer_taken == TRAILER.len());
            }
            Ok((consumed, drained))
        })();
        progress.produced += (progress.out.len() - before) as u64;
        result
    }

    /// The message being inflated is over: reset or give back the inflater
    /// as the agreed parameters say.
    pub(crate) fn end_inflate(&mut self, progress: &Inflating) {
        let peer_resets = self.peer_no_context_takeover();
        let Some(streams) = self.streams.as_deref_mut() else {
            return;
        };
        if peer_resets {
            if let Some(inflater) = streams.inflater.take() {
                pool::give_inflater(inflater);
            }
            self.release_empty_streams();
        } else if progress.stream_ended {
            // The peer ended its stream; its next message starts a new one.
            if let Some(inflater) = &mut streams.inflater {
                inflater.reset();
            }
        }
    }

    /// Whether a compressor or an inflater is held right now, and with it
    /// any allocation at all.
    pub(crate) fn holds_state(&self) -> bool {
        self.streams.is_some()
    }

    /// The receive side is done (close or failure): drop the inflater.
    pub(crate) fn release_receive(&mut self) {
        if let Some(streams) = self.streams.as_deref_mut() {
            streams.inflater = None;
        }
        self.release_empty_streams();
    }
}

/// The last piece of a message: the output without the sync flush's tail.
/// An empty message is the single byte `00` (RFC 7692 section 7.2.3.6).
fn end_of_message(mut out: Vec<u8>) -> Bytes {
    if out.ends_with(&TRAILER) {
        out.truncate(out.len() - TRAILER.len());
        return out.into();
    }
    if out.is_empty() {
        return Bytes::from_static(&[0x00]);
    }
    out.into()
}

/// A key no compressor has.
fn invalid_key() -> CompressorKey {
    CompressorKey {
        window_bits: 0,
        level: u8::MAX,
    }
}

impl Inflating {
    /// Takes the inflated bytes not yet handed out.
    pub(crate) fn take_out(&mut self) -> Bytes {
        std::mem::take(&mut self.out).into()
    }
}
