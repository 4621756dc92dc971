//! [`Config`]: the event loop's limits and deadlines.
//!
//! The WebSocket limits themselves (frame and message sizes, the send queue)
//! belong to the core and sit in [`Config::connection`]; this adds what only
//! an adapter with sockets and a clock can enforce. Every default is safe for
//! a public server and documented on its field.

use std::time::Duration;

use weir_proto::handshake::DEFAULT_MAX_HEADER_BYTES;

/// Configuration of an [`EventLoop`](crate::EventLoop).
///
/// Start from [`Config::default`] and change what you need with the `with_*`
/// methods.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The core's configuration, used for every connection (both roles):
    /// frame and message size limits, automatic pongs, the send queue.
    /// Default [`weir_proto::Config::default`].
    pub connection: weir_proto::Config,
    /// How long the opening handshake may take, from accept (or from the
    /// start of a TCP connect) to the end of the `101` exchange. Default
    /// 10 s: long enough for a slow network, short enough that idle sockets
    /// that never send a request cannot pile up.
    pub handshake_timeout: Duration,
    /// How long to wait, once this endpoint has sent its Close frame, for
    /// the peer to finish the closing handshake (its Close frame, and for a
    /// client the server's TCP close) before dropping the connection.
    /// Default 5 s. It also bounds how long an HTTP error answer lingers.
    pub close_timeout: Duration,
    /// The most bytes a request or response head may take. Default
    /// [`DEFAULT_MAX_HEADER_BYTES`] (8 KiB).
    pub max_header_bytes: usize,
    /// The size of the one read buffer the loop owns and shares between all
    /// connections. Default 64 KiB. Idle connections hold no read buffer of
    /// their own.
    pub read_buffer_size: usize,
    /// How many readiness events one call to the OS poller may return.
    /// Default 1024.
    pub events_capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connection: weir_proto::Config::default(),
            handshake_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            read_buffer_size: 64 * 1024,
            events_capacity: 1024,
        }
    }
}

impl Config {
    /// Sets [`Config::connection`].
    pub fn with_connection(mut self, connection: weir_proto::Config) -> Self {
        self.connection = connection;
        self
    }

    /// Sets [`Config::handshake_timeout`].
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`Config::close_timeout`].
    pub fn with_close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Sets [`Config::max_header_bytes`].
    pub fn with_max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Sets [`Config::read_buffer_size`] (at least 1 byte is used).
    pub fn with_read_buffer_size(mut self, bytes: usize) -> Self {
        self.read_buffer_size = bytes;
        self
    }

    /// Sets [`Config::events_capacity`] (at least 1 is used).
    pub fn with_events_capacity(mut self, capacity: usize) -> Self {
        self.events_capacity = capacity;
        self
    }
}
