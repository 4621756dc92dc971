//! Limits, switches and deadlines of a [`Connection`](crate::Connection).
//!
//! Every limit has a default that is safe for a public server; each field's
//! doc says the default and why. The deadlines apply only when the adapter
//! passes the time in ([`Connection::handle_timeout`](crate::Connection::handle_timeout)).

use std::time::Duration;

/// The role of an endpoint: it decides masking (RFC 6455 section 5.1) and
/// which side closes TCP first (section 7.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The endpoint that opened the connection: masks every frame it sends.
    Client,
    /// The endpoint that accepted it: sends unmasked frames, closes TCP first.
    Server,
}

/// Configuration of a [`Connection`](crate::Connection).
///
/// Build it from [`Config::default`] and the `with_*` methods, or set fields
/// on a default value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The largest frame payload accepted, in bytes. Default 16 MiB.
    ///
    /// Checked as soon as a header arrives, before any of the payload is
    /// buffered; a larger frame fails the connection with 1009. Frames of a
    /// compressed message may exceed it by deflate's growth on incompressible
    /// data (an eighth): they are inflated as they arrive, not buffered.
    pub max_frame_size: usize,
    /// The largest message accepted, in bytes, summed over its fragments.
    /// Default 64 MiB.
    ///
    /// Checked at each frame header, before the frame's payload is buffered;
    /// a larger message fails the connection with 1009. A compressed message
    /// (permessage-deflate) is held to it by its inflated bytes, while they
    /// are inflated: the inflater never writes more than this plus one byte.
    /// In streaming mode nothing is buffered, so this can be raised freely.
    pub max_message_size: usize,
    /// How much room, at most, is made at once for the rest of a frame
    /// whose payload arrives in several reads, in bytes. Default 256 KiB.
    ///
    /// Once part of a frame's payload has arrived, the read buffer grows
    /// to hold the rest of the announced frame (up to this much more) in
    /// one step, so that a large frame is not copied again each time the
    /// buffer would double. A peer can thus make a connection reserve this
    /// much memory ahead of the bytes it actually sends (address space: the
    /// pages are only used as bytes arrive, for allocations this large), so
    /// the default stays well below the frame limit; 0 turns the
    /// reservation off (the buffer then grows as bytes arrive).
    pub frame_reserve: usize,
    /// Answer pings with pongs automatically. Default on.
    ///
    /// Every ping is answered while the send queue is below
    /// [`Config::max_send_queue`]; beyond it, only the latest ping is, as RFC
    /// 6455 section 5.5.3 allows, so a peer flooding pings without reading
    /// cannot grow the queue.
    pub auto_pong: bool,
    /// Deliver data messages as [`Fragment`](crate::Fragment)s as soon as bytes
    /// arrive, instead of whole [`Message`](crate::Message)s. Default off.
    ///
    /// In streaming mode a message of any size passes through a buffer no
    /// larger than one read; a compressed one is inflated in pieces of at
    /// most 16 KiB.
    pub streaming: bool,
    /// The send queue's high-water mark in bytes. Default 16 MiB.
    ///
    /// Data frames, pings and pongs are refused with
    /// [`SendError::QueueFull`](crate::SendError::QueueFull) while this many
    /// bytes or more wait to be written; a Close frame is always accepted.
    pub max_send_queue: usize,
    /// How long the closing handshake may take once this endpoint has
    /// queued its Close frame: the peer's Close, the output drained, and
    /// for a client the server's TCP close. `None` waits forever. Default
    /// 5 s: a peer that never answers, or never reads, costs its memory for
    /// that long at most.
    pub close_timeout: Option<Duration>,
    /// Keepalive: after this long without any input from the peer, an open
    /// connection sends a ping; `None` turns keepalive off. Default 30 s: it
    /// keeps the connection alive through NATs and proxies that cut idle
    /// TCP after 60 s (a common default), at the cost of one small frame per
    /// quiet half minute.
    pub idle_timeout: Option<Duration>,
    /// Keepalive: once the ping is sent, how long to wait for anything at
    /// all from the peer (a pong, a message, any frame) before giving up on
    /// it ([`TimedOut::Keepalive`](crate::TimedOut::Keepalive)). Default
    /// 30 s: a dead peer (unplugged, suspended, behind a dropped NAT entry)
    /// costs its memory for at most a minute.
    pub ping_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            frame_reserve: 256 << 10,
            auto_pong: true,
            streaming: false,
            max_send_queue: 16 << 20,
            close_timeout: Some(Duration::from_secs(5)),
            idle_timeout: Some(Duration::from_secs(30)),
            ping_timeout: Duration::from_secs(30),
        }
    }
}

impl Config {
    /// Sets [`Config::max_frame_size`].
    pub fn with_max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Sets [`Config::frame_reserve`].
    pub fn with_frame_reserve(mut self, bytes: usize) -> Self {
        self.frame_reserve = bytes;
        self
    }

    /// Sets [`Config::max_message_size`].
    pub fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets [`Config::auto_pong`].
    pub fn with_auto_pong(mut self, on: bool) -> Self {
        self.auto_pong = on;
        self
    }

    /// Sets [`Config::streaming`].
    pub fn with_streaming(mut self, on: bool) -> Self {
        self.streaming = on;
        self
    }

    /// Sets [`Config::max_send_queue`].
    pub fn with_max_send_queue(mut self, bytes: usize) -> Self {
        self.max_send_queue = bytes;
        self
    }

    /// Sets [`Config::close_timeout`].
    pub fn with_close_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Sets [`Config::idle_timeout`].
    pub fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`Config::ping_timeout`].
    pub fn with_ping_timeout(mut self, timeout: Duration) -> Self {
        self.ping_timeout = timeout;
        self
    }
}
