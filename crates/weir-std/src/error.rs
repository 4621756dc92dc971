//! [`Error`]: everything a blocking WebSocket call can fail with.
//!
//! One enum for the adapter, wrapping the core's errors by cause: the
//! transport or the OS ([`Error::Io`]), the opening handshake
//! ([`Error::Handshake`]), the peer breaking RFC 6455 ([`Error::Protocol`])
//! and local misuse ([`Error::Send`]), and, with the `tls` feature, TLS
//! ([`Error::Tls`]). The rest describe how a connection
//! ended, among them the deadlines of the core that the peer missed
//! ([`Error::IdleTimeout`], [`Error::CloseTimeout`]).

use std::fmt;
use std::io;
use std::time::Duration;

use weir_proto::handshake::{HandshakeError, HttpRequest};
use weir_proto::{CloseFrame, EntropyError, ProtocolError, SendError};

/// An error from a [`WebSocket`](crate::WebSocket) or a handshake.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The stream failed, or (on a client, before any frame) the operating
    /// system's entropy source did: then the inner error is an
    /// [`EntropyError`], of kind `Other`.
    ///
    /// `WouldBlock` and `TimedOut` (a read or write timeout on the socket)
    /// are harmless: nothing was lost, and the same call can be made again.
    Io(io::Error),
    /// The opening handshake failed. On a client, a non-101 answer is
    /// [`HandshakeError::UnexpectedStatus`] with the response's headers.
    Handshake(HandshakeError),
    /// The peer violated RFC 6455 or a configured limit. The Close frame
    /// with [`ProtocolError::close_code`] was sent (best effort) and the
    /// transport shut down.
    Protocol(ProtocolError),
    /// A send was refused: local misuse such as a control payload over 125
    /// bytes, or sending after this endpoint's Close. Nothing was queued.
    Send(SendError),
    /// The peer's Close frame arrived (`None` if it carried no code). The
    /// answer was sent and, on a server, the transport shut down. Later
    /// reads return [`Error::AlreadyClosed`].
    Closed(Option<CloseFrame>),
    /// The connection is over: a read or send after [`Error::Closed`],
    /// [`Error::Protocol`], [`Error::ConnectionReset`],
    /// [`Error::IdleTimeout`] or [`Error::CloseTimeout`].
    AlreadyClosed,
    /// The transport ended (EOF, or the peer reset it) without a closing
    /// handshake: close code 1006, "abnormal closure", in RFC 6455 terms
    /// (section 7.1.5). The connection is closed.
    ConnectionReset,
    /// A server's accept callback refused the upgrade with this status; the
    /// answer was written to the client.
    Rejected(u16),
    /// A server received a plain HTTP request, not a WebSocket upgrade. It
    /// answered `426 Upgrade Required` (with `Upgrade: websocket`); the
    /// request is here for the caller to look at (path, headers).
    NotWebSocket(Box<HttpRequest>),
    /// The peer did not answer this endpoint's Close within this
    /// [`Config::close_timeout`](weir_proto::Config::close_timeout), while
    /// [`WebSocket::close_and_wait`](crate::WebSocket::close_and_wait) or a
    /// read waited for it. The transport was shut down; the connection is
    /// over.
    CloseTimeout(Duration),
    /// Keepalive: the peer sent nothing at all (not even a pong) within this
    /// [`Config::ping_timeout`](weir_proto::Config::ping_timeout) of the
    /// ping that went out after
    /// [`Config::idle_timeout`](weir_proto::Config::idle_timeout) of quiet.
    /// The transport was shut down; the connection is over.
    IdleTimeout(Duration),
    /// [`connect`](crate::connect) was given a `wss://` URI, and this crate
    /// was built without its `tls` feature.
    TlsUnsupported,
    /// TLS failed: the handshake (a certificate the client does not trust
    /// or that names another host, a peer that does not speak TLS), or its
    /// setup (a host that cannot be a TLS server name).
    #[cfg(feature = "tls")]
    Tls(weir_tls::TlsError),
    /// [`WebSocket::read`](crate::WebSocket::read) was called with
    /// [`Config::streaming`](weir_proto::Config::streaming) on; streaming
    /// mode delivers fragments, read them with
    /// [`WebSocket::read_event`](crate::WebSocket::read_event).
    StreamingMode,
}

impl Error {
    /// Whether this is a read or write timeout (`WouldBlock` or
    /// `TimedOut`), after which the WebSocket is fully usable.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Io(e) if is_timeout(e))
    }
}

/// Whether an I/O error is a socket timeout.
pub(crate) fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Handshake(e) => write!(f, "WebSocket handshake failed: {e}"),
            Error::Protocol(e) => write!(f, "WebSocket protocol error by the peer: {e}"),
            Error::Send(e) => write!(f, "send refused: {e}"),
            Error::Closed(Some(frame)) => {
                write!(f, "closed by the peer with code {}", frame.code)?;
                if !frame.reason.is_empty() {
                    write!(f, " ({:?})", frame.reason.as_str())?;
                }
                Ok(())
            }
            Error::Closed(None) => f.write_str("closed by the peer without a code"),
            Error::AlreadyClosed => f.write_str("the WebSocket connection is already closed"),
            Error::ConnectionReset => {
                f.write_str("the connection ended without a closing handshake (1006)")
            }
            Error::CloseTimeout(limit) => {
                write!(
                    f,
                    "the peer did not answer the Close frame within {limit:?}"
                )
            }
            Error::IdleTimeout(limit) => {
                write!(f, "no answer to a keepalive ping within {limit:?}")
            }
            Error::Rejected(status) => write!(f, "upgrade rejected with HTTP status {status}"),
            Error::NotWebSocket(request) => write!(
                f,
                "not a WebSocket upgrade: {} {} (answered 426 Upgrade Required)",
                request.method(),
                request.path()
            ),
            Error::TlsUnsupported => f.write_str(
                "wss:// needs TLS: weir-std was built without its `tls` feature \
                 (or open a TLS stream yourself and pass it to weir_std::client)",
            ),
            #[cfg(feature = "tls")]
            Error::Tls(e) => {
                write!(f, "{e}")?;
                if is_unknown_issuer(e) {
                    f.write_str(
                        " (the server's certificate does not chain to a trusted root; \
                         for a self-signed server or a private CA, trust it with \
                         weir_std::connect_tls and ClientTls::from_ca_file)",
                    )?;
                }
                Ok(())
            }
            Error::StreamingMode => f.write_str(
                "read() returns whole messages but Config::streaming is on: use read_event()",
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Send(e) => Some(e),
            #[cfg(feature = "tls")]
            Error::Tls(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

/// An entropy failure is the OS failing, like I/O: [`Error::Io`].
impl From<EntropyError> for Error {
    fn from(e: EntropyError) -> Self {
        Error::Io(io::Error::other(e))
    }
}

/// [`HandshakeError::Entropy`] (no `Sec-WebSocket-Key`) becomes [`Error::Io`]
/// like any other entropy failure; the rest is [`Error::Handshake`].
impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        match e {
            HandshakeError::Entropy(entropy) => entropy.into(),
            other => Error::Handshake(other),
        }
    }
}

/// Whether TLS failed because the server's certificate chains to no
/// trusted root: the usual mistake with a self-signed test server.
#[cfg(feature = "tls")]
fn is_unknown_issuer(error: &weir_tls::TlsError) -> bool {
    use weir_tls::rustls::{CertificateError, Error as Rustls};
    matches!(
        error,
        weir_tls::TlsError::Rustls(Rustls::InvalidCertificate(CertificateError::UnknownIssuer))
    )
}

#[cfg(feature = "tls")]
impl From<weir_tls::TlsError> for Error {
    fn from(e: weir_tls::TlsError) -> Self {
        Error::Tls(e)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        Error::Send(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_proto::CloseCode;

    #[test]
    fn timeouts_are_recognised() {
        assert!(Error::Io(io::ErrorKind::WouldBlock.into()).is_timeout());
        assert!(Error::Io(io::ErrorKind::TimedOut.into()).is_timeout());
        assert!(!Error::Io(io::ErrorKind::BrokenPipe.into()).is_timeout());
        assert!(!Error::ConnectionReset.is_timeout());
    }

    #[test]
    fn messages_say_what_happened() {
        let closed = Error::Closed(Some(CloseFrame {
            code: CloseCode::GOING_AWAY,
            reason: "bye".into(),
        }));
        assert_eq!(
            closed.to_string(),
            "closed by the peer with code 1001 (\"bye\")"
        );
        assert!(Error::ConnectionReset.to_string().contains("1006"));
        assert!(Error::Rejected(403).to_string().contains("403"));
        let close_timeout = Error::CloseTimeout(Duration::from_millis(200));
        assert!(
            close_timeout.to_string().contains("200ms"),
            "{close_timeout}"
        );
        assert!(!close_timeout.is_timeout(), "the connection is over");
        let idle = Error::IdleTimeout(Duration::from_secs(30));
        assert!(
            idle.to_string().contains("keepalive ping within 30s"),
            "{idle}"
        );
        assert!(!idle.is_timeout(), "the connection is over");
        let protocol = Error::from(ProtocolError::UnmaskedFrame);
        assert!(protocol.to_string().contains("unmasked"));
        assert!(std::error::Error::source(&protocol).is_some());
        assert!(std::error::Error::source(&Error::AlreadyClosed).is_none());
    }
}
