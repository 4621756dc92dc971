//! The HTTP answers a server writes when it does not upgrade: a rejection
//! chosen by the application, `426` for a plain HTTP request on a
//! WebSocket-only endpoint, and `500` when the application's own answer
//! cannot be built. Every adapter writes the same bytes, so they live here.

use super::http::write_response;
use super::{HandshakeError, WEBSOCKET_VERSION};

/// An application's refusal of an upgrade request: `401` for a missing
/// token, `403` for an unwanted `Origin`, `404` for an unknown path, a `3xx`
/// redirect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Rejection {
    /// A rejection with `status` (300..=599), no extra headers and an empty
    /// body.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header field, e.g. `WWW-Authenticate` for a 401 or `Location`
    /// for a redirect.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The extra header fields, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The response bytes: the status, the headers, `Content-Length`, and
    /// `Connection: close` unless a `Connection` header was given. A status
    /// outside 300..=599 or an invalid header gives [`internal_error`]
    /// instead, so the client always gets a well-formed answer.
    pub fn response(&self) -> Vec<u8> {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        rejection_response(self.status, &headers, &self.body).unwrap_or_else(|_| internal_error())
    }
}

/// Builds a rejection answer; see [`UpgradeRequest::reject`](super::UpgradeRequest::reject).
pub(crate) fn rejection_response(
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<u8>, HandshakeError> {
    if !(300..=599).contains(&status) {
        return Err(HandshakeError::InvalidStatus {
            status,
            reason: "a rejection must be a 3xx, 4xx or 5xx status",
        });
    }
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("Connection"))
    {
        all.push(("Connection", "close"));
    }
    write_response(status, &all, body)
}

/// `426 Upgrade Required`, the answer to a plain HTTP request on an endpoint
/// that only speaks WebSocket. RFC 7231 section 6.5.15: a 426 "MUST send an
/// Upgrade header field".
pub fn upgrade_required() -> Vec<u8> {
    let headers = [
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", WEBSOCKET_VERSION),
        ("Connection", "close"),
        ("Content-Type", "text/plain; charset=utf-8"),
    ];
    let body = b"This endpoint speaks WebSocket only (RFC 6455).\n";
    write_response(426, &headers, body).unwrap_or_else(|_| internal_error())
}

/// A bare `500 Internal Server Error`, for when the application's accept
/// options or rejection cannot be turned into a valid answer.
pub fn internal_error() -> Vec<u8> {
    b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn rejection_carries_status_headers_and_body() {
        let answer = Rejection::new(401)
            .with_header("WWW-Authenticate", "Bearer")
            .with_body("no token")
            .response();
        let answer = text(&answer);
        assert!(answer.starts_with("HTTP/1.1 401 "), "{answer}");
        assert!(
            answer.contains("\r\nWWW-Authenticate: Bearer\r\n"),
            "{answer}"
        );
        assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nno token"), "{answer}");
    }

    #[test]
    fn invalid_rejection_becomes_500() {
        assert_eq!(Rejection::new(200).response(), internal_error());
        let bad_header = Rejection::new(403).with_header("X-Bad", "a\r\nb");
        assert_eq!(bad_header.response(), internal_error());
    }

    #[test]
    fn rfc7231_6_5_15_upgrade_required_names_the_protocol() {
        let answer = upgrade_required();
        let answer = text(&answer);
        assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
        assert!(answer.contains("\r\nUpgrade: websocket\r\n"), "{answer}");
        assert!(
            answer.contains("\r\nSec-WebSocket-Version: 13\r\n"),
            "{answer}"
        );
    }
}
