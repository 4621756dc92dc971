//! The WebSocket opening handshake (RFC 6455 section 4), sans-IO.
//!
//! This module turns handshake bytes into decisions and decisions into bytes;
//! it never touches a socket or a clock. The pieces:
//!
//! - [`ClientHandshake`] (in `client.rs`) builds the client's upgrade request
//!   and validates the server's `101` response (RFC 6455 4.1).
//! - [`ServerHandshake`] (in `server.rs`) reads a request incrementally and
//!   yields either an [`UpgradeRequest`] to accept or reject, or a plain
//!   [`HttpRequest`] so one port can serve both (RFC 6455 1.3, 4.2).
//! - [`WsUri`] (in `uri.rs`) parses `ws://` and `wss://` URIs (RFC 6455 3).
//! - [`ExtensionOffer`] and [`parse_extensions`] (in `extensions.rs`) read and
//!   write `Sec-WebSocket-Extensions` values (RFC 6455 9.1).
//! - `http.rs` holds the small HTTP/1.1 helpers both sides share: the bounded
//!   header-block buffer, token rules, header lookup and response writing.
//!
//! Everything a peer sends is bounded: header blocks by a configurable byte
//! limit ([`DEFAULT_MAX_HEADER_BYTES`]) and header counts by [`MAX_HEADERS`].
//! Bytes that arrive after the header block in the same read (frames sent
//! right after a `101`, a request body, pipelined requests) are never dropped:
//! they are handed back as `leftover`.
//!
//! - `interop.rs` (cargo feature `http`) takes requests and responses as
//!   the `http` crate's types, for hyper, axum and other HTTP stacks, and
//!   gives the answers back in them: the same checks, the same answers.
//! - `handoff.rs` turns a finished handshake into a ready
//!   [`Connection`](crate::Connection): negotiated extensions installed,
//!   leftover bytes fed.

use std::fmt;

use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::rng::EntropyError;

mod answers;
mod client;
mod extensions;
mod handoff;
mod http;
#[cfg(feature = "http")]
mod interop;
#[cfg(feature = "http")]
pub use interop::response_to_http;
mod server;
mod uri;

pub use answers::{internal_error, upgrade_required, Rejection};
pub use client::{ClientHandshake, ClientOptions, Response};
pub use extensions::{format_extensions, parse_extensions, ExtensionOffer};
pub use handoff::{decide, Accepted, Decision, Refusal};
pub use http::{http_response, split_header_list};
pub use server::{AcceptOptions, HttpRequest, Incoming, ServerHandshake, UpgradeRequest};
pub use uri::WsUri;

/// The GUID appended to `Sec-WebSocket-Key` before hashing (RFC 6455 1.3).
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Default limit, in bytes, on a request or response header block (request
/// line or status line, headers and the blank line that ends them).
///
/// 8 KiB matches common HTTP servers and is ample for a handshake; a header
/// block that grows past the limit fails with [`HandshakeError::HeadersTooLarge`].
pub const DEFAULT_MAX_HEADER_BYTES: usize = 8 * 1024;

/// The most header fields read from one request or response; more fail with
/// [`HandshakeError::TooManyHeaders`].
pub const MAX_HEADERS: usize = 64;

/// The only protocol version this module speaks (RFC 6455 4.1 step 9).
pub const WEBSOCKET_VERSION: &str = "13";

/// Computes `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`:
/// base64(SHA-1(key ++ [`WEBSOCKET_GUID`])) (RFC 6455 1.3, 4.2.2 step 5.4).
///
/// `key` is the header value as sent, without leading or trailing whitespace;
/// it is not base64-decoded. With the RFC's example key
/// `dGhlIHNhbXBsZSBub25jZQ==` the result is `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`.
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(WEBSOCKET_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// Everything that can go wrong in an opening handshake, on either side.
///
/// Variants fall in three groups:
/// - the peer sent something invalid (a malformed or oversized header block,
///   a request a server must refuse, a response a client must fail);
/// - local misuse (a bad URI or option, an invalid header to send, a
///   subprotocol or extension the client never offered, calling `receive`
///   after the handshake finished);
/// - the system random source failed.
///
/// For errors returned by [`ServerHandshake::receive`], [`status`](Self::status)
/// and [`response`](Self::response) give the HTTP answer to write before
/// closing the connection.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// The header block grew past the configured limit without ending.
    HeadersTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The header block has more header fields than [`MAX_HEADERS`].
    TooManyHeaders {
        /// The most header fields accepted.
        limit: usize,
    },
    /// The bytes are not a valid HTTP/1.x request or response head.
    MalformedHttp {
        /// What the HTTP parser rejected.
        reason: String,
    },
    /// The request or response is not HTTP/1.1 (RFC 6455 4.1 step 2, 4.2.1 step 1).
    UnsupportedHttpVersion {
        /// The version seen, e.g. `HTTP/1.0`.
        version: String,
    },
    /// A header field that may appear only once appeared more than once
    /// (RFC 6455 11.3; `Host` per RFC 7230 5.4).
    DuplicateHeader {
        /// The header name.
        name: &'static str,
    },
    /// A header value does not follow its grammar (RFC 6455 4.3, 9.1).
    InvalidHeaderValue {
        /// The header name.
        name: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A WebSocket upgrade request used a method other than GET (RFC 6455 4.2.1 step 1).
    MethodNotAllowed {
        /// The method received.
        method: String,
    },
    /// The request has no `Host` header field (RFC 6455 4.2.1 step 2).
    MissingHost,
    /// The `Connection` header field lacks the `Upgrade` token
    /// (RFC 6455 4.2.1 step 4 for requests, 4.1 response step 3 for responses).
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Version` is missing or is not 13 (RFC 6455 4.2.1 step 6).
    UnsupportedWebSocketVersion {
        /// The version received, if any.
        version: Option<String>,
    },
    /// The request has no `Sec-WebSocket-Key` (RFC 6455 4.2.1 step 5).
    MissingKey,
    /// `Sec-WebSocket-Key` is not the base64 encoding of 16 bytes (RFC 6455 4.2.1 step 5).
    InvalidKey {
        /// The decoded length, or `None` when the value is not base64.
        decoded_len: Option<usize>,
    },
    /// A WebSocket upgrade request carries a body (`Content-Length` above zero
    /// or `Transfer-Encoding`); a GET upgrade has none.
    UnexpectedBody,
    /// The server answered with a status other than 101 (RFC 6455 4.1 response step 1).
    ///
    /// The handshake failed, but HTTP semantics still apply: `headers` lets
    /// the caller follow a redirect (`Location`) or authenticate
    /// (`WWW-Authenticate`).
    UnexpectedStatus {
        /// The status code.
        status: u16,
        /// The reason phrase.
        reason: String,
        /// The response header fields, in order.
        headers: Vec<(String, Vec<u8>)>,
    },
    /// The response's `Upgrade` header field is missing or is not `websocket`
    /// (RFC 6455 4.1 response step 2).
    UpgradeNotWebSocket {
        /// The value received, if any.
        got: Option<String>,
    },
    /// The response's `Sec-WebSocket-Accept` is missing or wrong (RFC 6455 4.1 response step 4).
    AcceptMismatch {
        /// The value the key calls for.
        expected: String,
        /// The value received, if any.
        got: Option<String>,
    },
    /// The server selected a subprotocol the client did not offer (RFC 6455 4.1 response step 6).
    UnrequestedProtocol {
        /// The subprotocol the server selected.
        protocol: String,
    },
    /// The server selected an extension the client did not offer (RFC 6455 4.1 response step 5).
    UnrequestedExtension {
        /// The extension name.
        name: String,
    },
    /// The URI is not a valid `ws://` or `wss://` URI (RFC 6455 3).
    InvalidUri {
        /// What was wrong.
        reason: &'static str,
    },
    /// A header given to send has an invalid name or value, or one the
    /// handshake sets itself.
    InvalidHeader {
        /// The header name as given.
        name: String,
        /// What was wrong.
        reason: &'static str,
    },
    /// A subprotocol given to send is not a token, or is listed twice (RFC 6455 4.1 step 10).
    InvalidProtocol {
        /// The subprotocol as given.
        protocol: String,
    },
    /// An extension given to send does not follow the RFC 6455 9.1 grammar.
    InvalidExtension {
        /// What was wrong.
        reason: String,
    },
    /// [`UpgradeRequest::accept`] was asked to select a subprotocol the client
    /// did not offer (RFC 6455 4.2.2 step 4).
    ProtocolNotOffered {
        /// The subprotocol asked for.
        protocol: String,
    },
    /// The server's answer to an extension the client offered is not one the
    /// offer allows (RFC 7692 section 7.1: the client "MUST _Fail the
    /// WebSocket Connection_").
    InvalidExtensionResponse {
        /// What was wrong.
        reason: String,
    },
    /// A status code given to send is out of range for its use.
    InvalidStatus {
        /// The status code as given.
        status: u16,
        /// What was wrong.
        reason: &'static str,
    },
    /// `receive` was called after the handshake had already finished, with a
    /// result or an error.
    Finished,
    /// The operating system's entropy source failed while making a
    /// `Sec-WebSocket-Key` (RFC 6455 4.1 step 7).
    Entropy(EntropyError),
}

impl HandshakeError {
    /// The HTTP status a server should answer with when
    /// [`ServerHandshake::receive`] returns this error.
    ///
    /// 400 for a malformed or incomplete upgrade request, 405 for a method
    /// other than GET, 426 for a missing or unsupported
    /// `Sec-WebSocket-Version`, 431 for a header block over the limits and
    /// 505 for a version other than HTTP/1.1. `None` for errors the server
    /// reader never returns (response checks, local misuse, randomness).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::HeadersTooLarge { .. } | Self::TooManyHeaders { .. } => Some(431),
            Self::MalformedHttp { .. }
            | Self::DuplicateHeader { .. }
            | Self::InvalidHeaderValue { .. }
            | Self::MissingHost
            | Self::MissingConnectionUpgrade
            | Self::MissingKey
            | Self::InvalidKey { .. }
            | Self::UnexpectedBody => Some(400),
            Self::MethodNotAllowed { .. } => Some(405),
            Self::UnsupportedWebSocketVersion { .. } => Some(426),
            Self::UnsupportedHttpVersion { .. } => Some(505),
            Self::UnexpectedStatus { .. }
            | Self::UpgradeNotWebSocket { .. }
            | Self::AcceptMismatch { .. }
            | Self::UnrequestedProtocol { .. }
            | Self::UnrequestedExtension { .. }
            | Self::InvalidUri { .. }
            | Self::InvalidHeader { .. }
            | Self::InvalidProtocol { .. }
            | Self::InvalidExtension { .. }
            | Self::ProtocolNotOffered { .. }
            | Self::InvalidExtensionResponse { .. }
            | Self::InvalidStatus { .. }
            | Self::Finished
            | Self::Entropy(_) => None,
        }
    }

    /// A complete HTTP/1.1 response for a server to write before closing the
    /// connection, when [`status`](Self::status) is `Some`.
    ///
    /// It carries `Connection: close`, `Content-Type: text/plain`,
    /// `Content-Length` and a one-line body naming the problem. A 426 also
    /// carries `Sec-WebSocket-Version: 13` (RFC 6455 4.2.2 step 4, /version/)
    /// and `Upgrade: websocket`; a 405 carries `Allow: GET`.
    pub fn response(&self) -> Option<Vec<u8>> {
        let status = self.status()?;
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(4);
        match status {
            426 => {
                headers.push(("Sec-WebSocket-Version", WEBSOCKET_VERSION));
                headers.push(("Upgrade", "websocket"));
            }
            405 => headers.push(("Allow", "GET")),
            _ => {}
        }
        headers.push(("Connection", "close"));
        headers.push(("Content-Type", "text/plain; charset=utf-8"));
        let body = format!("{self}\n");
        http::write_response(status, &headers, body.as_bytes()).ok()
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeadersTooLarge { limit } => {
                write!(f, "header block exceeds the limit of {limit} bytes")
            }
            Self::TooManyHeaders { limit } => {
                write!(f, "more than {limit} header fields")
            }
            Self::MalformedHttp { reason } => write!(f, "malformed HTTP head: {reason}"),
            Self::UnsupportedHttpVersion { version } => {
                write!(
                    f,
                    "HTTP version {version} is not supported, HTTP/1.1 is required"
                )
            }
            Self::DuplicateHeader { name } => {
                write!(f, "header field {name} must appear only once")
            }
            Self::InvalidHeaderValue { name, reason } => {
                write!(f, "invalid {name} header value: {reason}")
            }
            Self::MethodNotAllowed { method } => {
                write!(
                    f,
                    "method {method:?} not allowed, a WebSocket upgrade must be GET"
                )
            }
            Self::MissingHost => f.write_str("missing Host header field"),
            Self::MissingConnectionUpgrade => {
                f.write_str("Connection header field does not contain the \"Upgrade\" token")
            }
            Self::UnsupportedWebSocketVersion { version: Some(v) } => {
                write!(
                    f,
                    "Sec-WebSocket-Version {v:?} is not supported, version 13 is required"
                )
            }
            Self::UnsupportedWebSocketVersion { version: None } => {
                f.write_str("missing Sec-WebSocket-Version, version 13 is required")
            }
            Self::MissingKey => f.write_str("missing Sec-WebSocket-Key header field"),
            Self::InvalidKey {
                decoded_len: Some(n),
            } => write!(
                f,
                "Sec-WebSocket-Key decodes to {n} bytes, it must decode to exactly 16"
            ),
            Self::InvalidKey { decoded_len: None } => {
                f.write_str("Sec-WebSocket-Key is not valid base64")
            }
            Self::UnexpectedBody => {
                f.write_str("a WebSocket upgrade request must not carry a body")
            }
            Self::UnexpectedStatus { status, reason, .. } => {
                write!(f, "server answered {status} {reason:?} instead of 101")
            }
            Self::UpgradeNotWebSocket { got: Some(v) } => {
                write!(
                    f,
                    "response Upgrade header field is {v:?}, expected \"websocket\""
                )
            }
            Self::UpgradeNotWebSocket { got: None } => {
                f.write_str("response lacks an Upgrade: websocket header field")
            }
            Self::AcceptMismatch {
                expected,
                got: Some(got),
            } => write!(f, "Sec-WebSocket-Accept is {got:?}, expected {expected:?}"),
            Self::AcceptMismatch {
                expected,
                got: None,
            } => write!(f, "missing Sec-WebSocket-Accept, expected {expected:?}"),
            Self::UnrequestedProtocol { protocol } => {
                write!(
                    f,
                    "server selected subprotocol {protocol:?}, which was not offered"
                )
            }
            Self::UnrequestedExtension { name } => {
                write!(
                    f,
                    "server selected extension {name:?}, which was not offered"
                )
            }
            Self::InvalidUri { reason } => write!(f, "invalid WebSocket URI: {reason}"),
            Self::InvalidHeader { name, reason } => {
                write!(f, "cannot send header field {name:?}: {reason}")
            }
            Self::InvalidProtocol { protocol } => write!(
                f,
                "subprotocol {protocol:?} is not a token or is listed more than once"
            ),
            Self::InvalidExtension { reason } => write!(f, "invalid extension: {reason}"),
            Self::ProtocolNotOffered { protocol } => {
                write!(f, "subprotocol {protocol:?} was not offered by the client")
            }
            Self::InvalidExtensionResponse { reason } => {
                write!(f, "invalid extension in the server's answer: {reason}")
            }
            Self::InvalidStatus { status, reason } => {
                write!(f, "status {status} cannot be used: {reason}")
            }
            Self::Finished => f.write_str("the handshake has already finished"),
            Self::Entropy(error) => write!(f, "no Sec-WebSocket-Key: {error}"),
        }
    }
}

impl std::error::Error for HandshakeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Entropy(error) => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_1_3_accept_key_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    fn split_response(bytes: &[u8]) -> (String, String) {
        let text = String::from_utf8(bytes.to_vec()).expect("utf-8 response");
        let (head, body) = text.split_once("\r\n\r\n").expect("blank line");
        (head.to_string(), body.to_string())
    }

    #[test]
    fn rfc6455_4_2_2_version_error_response_advertises_13() {
        let err = HandshakeError::UnsupportedWebSocketVersion {
            version: Some("8".into()),
        };
        assert_eq!(err.status(), Some(426));
        let (head, body) = split_response(&err.response().expect("response"));
        assert!(head.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(head.contains("\r\nSec-WebSocket-Version: 13"));
        assert!(head.contains("\r\nConnection: close"));
        assert!(head.contains(&format!("\r\nContent-Length: {}", body.len())));
        assert!(body.contains("version 13"));
    }

    #[test]
    fn rfc6455_4_2_1_error_statuses() {
        let cases = [
            (HandshakeError::HeadersTooLarge { limit: 10 }, 431),
            (HandshakeError::TooManyHeaders { limit: 64 }, 431),
            (HandshakeError::MissingHost, 400),
            (HandshakeError::MissingKey, 400),
            (
                HandshakeError::InvalidKey {
                    decoded_len: Some(3),
                },
                400,
            ),
            (
                HandshakeError::MethodNotAllowed {
                    method: "POST".into(),
                },
                405,
            ),
            (
                HandshakeError::UnsupportedHttpVersion {
                    version: "HTTP/1.0".into(),
                },
                505,
            ),
        ];
        for (err, status) in cases {
            assert_eq!(err.status(), Some(status), "{err}");
            let bytes = err.response().expect("response");
            let (head, body) = split_response(&bytes);
            assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
            assert!(head.contains("\r\nConnection: close"));
            assert!(head.contains(&format!("\r\nContent-Length: {}", body.len())));
            assert_eq!(body.trim_end(), err.to_string());
        }
        let (head, _) = split_response(
            &HandshakeError::MethodNotAllowed {
                method: "PUT".into(),
            }
            .response()
            .expect("response"),
        );
        assert!(head.contains("\r\nAllow: GET"));
    }

    #[test]
    fn client_side_errors_have_no_response() {
        let err = HandshakeError::AcceptMismatch {
            expected: "a".into(),
            got: None,
        };
        assert_eq!(err.status(), None);
        assert_eq!(err.response(), None);
        assert!(err.to_string().contains("missing Sec-WebSocket-Accept"));
    }

    #[test]
    fn entropy_failure_names_its_cause() {
        let entropy = crate::rng::failing_entropy(&mut [0; 16]).unwrap_err();
        let err = HandshakeError::Entropy(entropy);
        assert_eq!(err.response(), None);
        assert!(err.to_string().contains("entropy source failed"), "{err}");
        let source = std::error::Error::source(&err).expect("a source");
        assert_eq!(source.to_string(), entropy.to_string());
    }

    #[test]
    fn headers_too_large_message_names_limit() {
        let err = HandshakeError::HeadersTooLarge { limit: 8192 };
        assert!(err.to_string().contains("8192"));
    }
}
