//! [`Error`]: what can end or trouble a connection of the event loop.
//!
//! The event loop hands errors to [`Handler::on_error`](crate::Handler::on_error)
//! rather than returning them: one connection's failure is never the loop's.
//! Each variant says who caused it: the transport or the OS ([`Error::Io`]),
//! the peer's opening handshake ([`Error::Handshake`]), the peer's frames
//! ([`Error::Protocol`]), or a deadline the peer missed
//! ([`Error::HandshakeTimeout`], [`Error::CloseTimeout`],
//! [`Error::IdleTimeout`]), a queued send that failed ([`Error::Send`]),
//! or the application's own handler ([`Error::HandlerPanicked`], server API).

use std::fmt;
use std::io;
use std::time::Duration;

use weir_proto::handshake::HandshakeError;
use weir_proto::{EntropyError, ProtocolError};

/// Why a connection failed, or why [`EventLoop::connect`](crate::EventLoop::connect)
/// refused to start one.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed: connection refused or reset, a broken pipe, or a
    /// peer that closed TCP in the middle of the opening handshake. Or, for
    /// a client, the operating system's entropy source failed: then the
    /// inner error is an [`EntropyError`], of kind `Other`.
    Io(io::Error),
    /// TLS failed (feature `tls`): a peer that does not speak TLS (plain
    /// HTTP, garbage), a handshake rustls refused (e.g. a server
    /// certificate not trusted or not valid for the host), or a corrupt
    /// record. The inner error is rustls's, inside an `InvalidData` I/O
    /// error; or, from [`EventLoop::connect`](crate::EventLoop::connect), a
    /// host that cannot be a TLS server name, inside an `InvalidInput` one.
    Tls(io::Error),
    /// The opening handshake failed: a malformed request (server side, the
    /// HTTP error answer has been written), or a response that is not an
    /// acceptable `101` (client side; a rejection by the server is
    /// [`HandshakeError::UnexpectedStatus`] with its status and headers).
    Handshake(HandshakeError),
    /// The peer broke RFC 6455 or a configured limit. The Close frame with
    /// [`ProtocolError::close_code`] has been queued and the connection is
    /// closed once it is written.
    Protocol(ProtocolError),
    /// The opening handshake did not finish within
    /// [`Config::handshake_timeout`](crate::Config::handshake_timeout).
    HandshakeTimeout(Duration),
    /// After this endpoint's Close, the peer did not finish the closing
    /// handshake (its Close, then for a client the server's TCP close)
    /// within [`weir_proto::Config::close_timeout`] (the core's
    /// [`TimedOut::Close`](weir_proto::TimedOut::Close)).
    CloseTimeout(Duration),
    /// `wss://` was asked for, and this build has no TLS (the `tls`
    /// feature is off).
    TlsUnsupported,
    /// Keepalive: nothing at all (not even a pong) arrived within
    /// [`weir_proto::Config::ping_timeout`] of the ping sent after
    /// [`weir_proto::Config::idle_timeout`] of quiet (the core's
    /// [`TimedOut::Keepalive`](weir_proto::TimedOut::Keepalive)). The
    /// connection is dropped.
    IdleTimeout(Duration),
    /// A message queued for later (by the server API, from another thread or
    /// after a callback) could not be sent: e.g. the send queue was full
    /// under [`SlowConsumer::Drop`](crate::SlowConsumer::Drop), so the
    /// message was dropped.
    Send(weir_proto::SendError),
    /// A callback of the application's
    /// [`WsHandler`](crate::server::WsHandler) panicked while serving this
    /// connection (server API). The panic was caught: the connection is
    /// closed with 1011 (internal error) and the other connections go on.
    HandlerPanicked {
        /// The callback that panicked, e.g. `"on_message"`.
        callback: &'static str,
        /// The panic's message, when it was a string (as `panic!` with a
        /// message gives).
        message: Option<String>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tls(error) => write!(f, "TLS: {error}"),
            Self::Io(error) => write!(f, "I/O error: {error}"),
            Self::Handshake(error) => write!(f, "opening handshake failed: {error}"),
            Self::Protocol(error) => write!(f, "protocol violation by the peer: {error}"),
            Self::HandshakeTimeout(limit) => {
                write!(f, "opening handshake not finished within {limit:?}")
            }
            Self::CloseTimeout(limit) => {
                write!(f, "closing handshake not finished within {limit:?}")
            }
            Self::TlsUnsupported => {
                f.write_str("wss:// needs TLS: build weir-mio with its `tls` feature")
            }
            Self::IdleTimeout(limit) => {
                write!(f, "no answer to a keepalive ping within {limit:?}")
            }
            Self::Send(error) => write!(f, "a queued message was not sent: {error}"),
            Self::HandlerPanicked { callback, message } => match message {
                Some(message) => write!(f, "the handler panicked in {callback}: {message}"),
                None => write!(f, "the handler panicked in {callback}"),
            },
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(error) | Self::Tls(error) => Some(error),
            Self::Handshake(error) => Some(error),
            Self::Protocol(error) => Some(error),
            Self::Send(error) => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

/// An entropy failure is the OS failing, like I/O: [`Error::Io`].
impl From<EntropyError> for Error {
    fn from(error: EntropyError) -> Self {
        Self::Io(io::Error::other(error))
    }
}

/// [`HandshakeError::Entropy`] (no `Sec-WebSocket-Key`) becomes [`Error::Io`]
/// like any other entropy failure; the rest is [`Error::Handshake`].
impl From<HandshakeError> for Error {
    fn from(error: HandshakeError) -> Self {
        match error {
            HandshakeError::Entropy(entropy) => entropy.into(),
            other => Self::Handshake(other),
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(error: ProtocolError) -> Self {
        Self::Protocol(error)
    }
}
