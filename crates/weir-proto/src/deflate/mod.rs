//! permessage-deflate (RFC 7692): negotiation and the per-message codec.
//!
//! Compression is an extension of the handshake and of the frame path, and
//! both halves live here so that every adapter gets them the same way:
//!
//! - [`DeflateConfig`] is what one endpoint wants; the handshake turns it into
//!   an offer (client) or an answer (server) in `negotiate.rs`, and the agreed
//!   [`DeflateParams`] configure the [`Connection`](crate::Connection) that the
//!   handshake hands over. Nobody plumbs parameters by hand.
//! - `codec.rs` wraps zlib-rs (through `flate2`): a compressor that strips the
//!   `00 00 ff ff` tail and a bounded inflater that never writes past the
//!   message size limit.
//! - `pool.rs` keeps reset compressors and inflaters per thread, so that with
//!   no context takeover an idle connection holds no compression state at all.
//! - `stream.rs` is the connection's slot: which frames may carry RSV1, and
//!   the state of the message being compressed or inflated.
//!
//! # Memory, measured
//! zlib-rs allocates a deflater of about `4 × 2^bits` bytes plus a fixed
//! 128 KiB hash table and a 64 KiB symbol buffer (about 320 KiB at 15 bits),
//! and an inflater of `2^bits` bytes plus about 7 KiB of state. With context
//! takeover a connection keeps both for its lifetime; with no context
//! takeover it borrows them per message from a per-thread pool. That is why
//! servers default to [`DeflateConfig::low_memory`]; see the README for the
//! measured figures.

mod codec;
mod negotiate;
mod pool;
mod stream;

pub(crate) use negotiate::{accept_offer, check_answer, offer};
pub(crate) use stream::{Deflate, Inflating, SharedCompressed, RSV1};

/// The extension token (RFC 7692 section 7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The smallest and largest LZ77 window sizes, as powers of two (RFC 7692
/// section 7.1.2).
pub const WINDOW_BITS: std::ops::RangeInclusive<u8> = 8..=15;

/// What one endpoint wants from permessage-deflate, and how it compresses.
///
/// The four protocol parameters mean slightly different things by role (RFC
/// 7692 section 7.1):
///
/// | field | as a client (offer) | as a server (answer) |
/// | --- | --- | --- |
/// | `server_no_context_takeover` | ask the server to reset its compressor after each message | reset ours after each message, and say so |
/// | `client_no_context_takeover` | promise to reset our compressor after each message | require the client to reset its compressor |
/// | `server_max_window_bits` | ask the server to use at most this window (when below 15) | use at most this window, and say so |
/// | `client_max_window_bits` | offer the parameter (with this value when below 15) | limit the client's window, when it offered the parameter |
///
/// The remaining fields are local: they shape what this endpoint sends and
/// are never negotiated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// See the table above. Default off.
    pub server_no_context_takeover: bool,
    /// See the table above. Default off.
    pub client_no_context_takeover: bool,
    /// See the table above; 8 to 15. Default 15 (no limit).
    pub server_max_window_bits: u8,
    /// See the table above; 8 to 15. Default 15 (no limit).
    pub client_max_window_bits: u8,
    /// The zlib compression level, 0 (store) to 9 (smallest). Default 1,
    /// zlib-rs's fastest: on chat-like JSON of 1 KiB it gave 42% of the input
    /// against level 6's 32%, for about a third of the time (the
    /// `deflate-levels` example of this crate measures it). Its fixed
    /// Huffman codes can grow incompressible data by up to an eighth; such a
    /// message then goes uncompressed where the sender has no context
    /// takeover.
    pub level: u8,
    /// Messages shorter than this many bytes are sent uncompressed. Default
    /// 128: on chat-like JSON, deflate saved nothing at 64 bytes and 21% at
    /// 128 (`deflate-levels` example), while costing as much CPU as for a
    /// longer message. Empty messages are always sent uncompressed.
    pub threshold: usize,
}

impl Default for DeflateConfig {
    /// The RFC's plain offer: context takeover both ways, full windows.
    /// Clients use it; see [`DeflateConfig::low_memory`] for servers.
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            level: 1,
            threshold: 128,
        }
    }
}

impl DeflateConfig {
    /// No context takeover in either direction: compression state exists
    /// only while a message is compressed or inflated, so an idle connection
    /// holds none of it. The default of weir's servers, which hold many
    /// connections; broadcasts are then compressed once for every recipient.
    pub fn low_memory() -> Self {
        Self {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..Self::default()
        }
    }

    /// Sets both `*_no_context_takeover` fields.
    pub fn with_no_context_takeover(mut self, server: bool, client: bool) -> Self {
        self.server_no_context_takeover = server;
        self.client_no_context_takeover = client;
        self
    }

    /// Sets both window sizes (each clamped to 8..=15).
    pub fn with_max_window_bits(mut self, server: u8, client: u8) -> Self {
        self.server_max_window_bits = server.clamp(8, 15);
        self.client_max_window_bits = client.clamp(8, 15);
        self
    }

    /// Sets [`DeflateConfig::level`] (clamped to 0..=9).
    pub fn with_level(mut self, level: u8) -> Self {
        self.level = level.min(9);
        self
    }

    /// Sets [`DeflateConfig::threshold`].
    pub fn with_threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }
}

/// The permessage-deflate parameters both endpoints agreed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with (15 when not limited).
    pub server_max_window_bits: u8,
    /// The largest window the client compresses with (15 when not limited).
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    /// No parameters: context takeover both ways, full windows.
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}
