//! [`Error`]: everything a WebSocket stream, sink or handshake can fail
//! with, sorted by cause: the transport, the handshake, the peer breaking
//! RFC 6455, local misuse, and how a connection ended.

use std::fmt;
use std::io;
use std::time::Duration;

use weir_proto::handshake::{HandshakeError, HttpRequest, Refusal};
use weir_proto::{ProtocolError, SendError, TimedOut};

/// An error from a [`WebSocketStream`](crate::WebSocketStream), one of its
/// halves, or a handshake.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed (or, on a client, the operating system's
    /// entropy source did, as an error of kind `Other`).
    Io(io::Error),
    /// The opening handshake failed. On a client, a non-101 answer is
    /// [`HandshakeError::UnexpectedStatus`] with the response's headers.
    Handshake(HandshakeError),
    /// The peer violated RFC 6455 or a configured limit. The Close frame
    /// with [`ProtocolError::close_code`] was written first (best effort).
    Protocol(ProtocolError),
    /// A send was refused: a control payload over 125 bytes, or a send
    /// after this endpoint's Close. Nothing was queued.
    Send(SendError),
    /// The connection is over: a send after the stream ended, or after an
    /// error that ended it.
    AlreadyClosed,
    /// The transport ended without a closing handshake: 1006, "abnormal
    /// closure" (RFC 6455 section 7.1.5).
    ConnectionReset,
    /// Keepalive: nothing came back within this
    /// [`Config::ping_timeout`](weir_proto::Config::ping_timeout) of a
    /// ping. The transport was shut down.
    IdleTimeout(Duration),
    /// The closing handshake did not finish within this
    /// [`Config::close_timeout`](weir_proto::Config::close_timeout). The
    /// transport was shut down.
    CloseTimeout(Duration),
    /// A server's accept callback refused the upgrade with this status; the
    /// answer was written.
    Rejected(u16),
    /// A server received a plain HTTP request, not an upgrade, and answered
    /// `426 Upgrade Required`; the request is here to look at.
    NotWebSocket(Box<HttpRequest>),
    /// [`Config::streaming`](weir_proto::Config::streaming) is on: this
    /// crate delivers whole messages only.
    StreamingMode,
    /// [`connect_async`](crate::connect_async) was given a `wss://` URI,
    /// and this crate was built without its `tls` feature.
    TlsUnsupported,
    /// TLS failed: an untrusted certificate, a host that cannot be a TLS
    /// server name, a peer that does not speak TLS.
    #[cfg(feature = "tls")]
    Tls(weir_tls::TlsError),
}

impl Error {
    /// The error for a deadline the peer missed, under `config`.
    pub(crate) fn timed_out(timed_out: TimedOut, config: &weir_proto::Config) -> Self {
        match timed_out {
            TimedOut::Keepalive => Self::IdleTimeout(config.ping_timeout),
            // `TimedOut::Close`, and any deadline added later: the
            // connection ended while closing.
            _ => Self::CloseTimeout(config.close_timeout.unwrap_or_default()),
        }
    }

    /// The error for a server's refusal of a request.
    pub(crate) fn refused(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotWebSocket(request) => Self::NotWebSocket(request),
            Refusal::Invalid(error) => Self::Handshake(error),
            Refusal::Rejected(status) => Self::Rejected(status),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::Handshake(e) => write!(f, "WebSocket handshake failed: {e}"),
            Self::Protocol(e) => write!(f, "WebSocket protocol error by the peer: {e}"),
            Self::Send(e) => write!(f, "send refused: {e}"),
            Self::AlreadyClosed => f.write_str("the WebSocket connection is already closed"),
            Self::ConnectionReset => {
                f.write_str("the connection ended without a closing handshake (1006)")
            }
            Self::IdleTimeout(limit) => write!(f, "no answer to a keepalive ping within {limit:?}"),
            Self::CloseTimeout(limit) => {
                write!(f, "the peer did not finish closing within {limit:?}")
            }
            Self::Rejected(status) => write!(f, "upgrade rejected with HTTP status {status}"),
            Self::NotWebSocket(request) => write!(
                f,
                "not a WebSocket upgrade: {} {} (answered 426 Upgrade Required)",
                request.method(),
                request.path()
            ),
            Self::StreamingMode => {
                f.write_str("weir-tokio delivers whole messages; turn Config::streaming off")
            }
            Self::TlsUnsupported => {
                f.write_str("wss:// needs TLS: weir-tokio was built without its `tls` feature")
            }
            #[cfg(feature = "tls")]
            Self::Tls(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Handshake(e) => Some(e),
            Self::Protocol(e) => Some(e),
            Self::Send(e) => Some(e),
            #[cfg(feature = "tls")]
            Self::Tls(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

impl From<HandshakeError> for Error {
    fn from(error: HandshakeError) -> Self {
        Self::Handshake(error)
    }
}

impl From<SendError> for Error {
    fn from(error: SendError) -> Self {
        Self::Send(error)
    }
}
