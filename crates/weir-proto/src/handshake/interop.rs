//! The handshake in the `http` crate's types (cargo feature `http`), for
//! HTTP stacks that parse requests themselves: hyper, axum, and anything
//! else built on `http`.
//!
//! Nothing here decides anything. A request given as `http::Request` (or
//! its `Parts`) is turned into the same [`HttpRequest`] the byte parser
//! produces and checked by the same function (`server.rs`'s `classify`), so
//! both entry points accept and refuse exactly the same requests; a
//! response given as `http::Response` goes through the client's one check
//! (`ClientHandshake::check`). In the other direction, the answers
//! ([`Accepted::http_response`], [`HandshakeError::http_response`],
//! [`Rejection::http_response`], [`ClientHandshake::http_request`]) are
//! read back from the bytes the byte-level API writes, so the two forms
//! cannot drift apart: one writer decides every header.
//!
//! The `http` types carry no bytes beyond the head, so requests and
//! responses built from them have no leftover: the HTTP stack keeps what it
//! read past the head (hyper hands it over with the upgraded I/O).
//!
//! Only HTTP/1.x upgrades exist in RFC 6455: an `http::Request` of another
//! version (HTTP/2's extended CONNECT, RFC 8441, is not supported) fails
//! with [`HandshakeError::UnsupportedHttpVersion`].

use bytes::Bytes;

use super::client::ResponseHead;
use super::http::HeaderList;
use super::server::{classify, split_target};
use super::{
    Accepted, ClientHandshake, HandshakeError, HttpRequest, Incoming, Rejection, Response,
    MAX_HEADERS,
};

impl Incoming {
    /// Classifies and checks a request that an HTTP stack has already
    /// parsed, by the same RFC 6455 section 4.2.1 rules as
    /// [`ServerHandshake::receive`](super::ServerHandshake::receive): the
    /// same requests are upgrades, plain HTTP, or errors (with the same
    /// [`status`](HandshakeError::status)). The body is not looked at.
    pub fn from_http<B>(request: &http::Request<B>) -> Result<Self, HandshakeError> {
        from_head(
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
        )
    }

    /// [`Incoming::from_http`] for a request already split into its parts.
    pub fn from_http_parts(parts: &http::request::Parts) -> Result<Self, HandshakeError> {
        from_head(&parts.method, &parts.uri, parts.version, &parts.headers)
    }
}

/// Builds the [`HttpRequest`] the byte parser would have made of this head,
/// and classifies it.
fn from_head(
    method: &http::Method,
    uri: &http::Uri,
    version: http::Version,
    headers: &http::HeaderMap,
) -> Result<Incoming, HandshakeError> {
    // The request target as it was sent: origin form (`/chat?room=1`), or
    // absolute form when the URI has a scheme.
    let target = if uri.scheme().is_some() {
        uri.to_string()
    } else {
        uri.path_and_query().map_or_else(
            || uri.path().to_owned(),
            |target| target.as_str().to_owned(),
        )
    };
    let (path, query) = split_target(&target);
    let request = HttpRequest {
        method: method.as_str().to_owned(),
        path,
        query,
        version: minor_version(version)?,
        headers: header_list(headers),
        leftover: Bytes::new(),
        peer_addr: None,
    };
    classify(request)
}

/// The minor version of an HTTP/1.x `version`.
fn minor_version(version: http::Version) -> Result<u8, HandshakeError> {
    match version {
        http::Version::HTTP_10 => Ok(0),
        http::Version::HTTP_11 => Ok(1),
        other => Err(HandshakeError::UnsupportedHttpVersion {
            version: format!("{other:?}"),
        }),
    }
}

/// The header fields of `headers`, in its order (which keeps the order of
/// the values of each name).
fn header_list(headers: &http::HeaderMap) -> HeaderList {
    headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect()
}

impl Accepted {
    /// The `101 Switching Protocols` answer as an `http::Response`, with
    /// the same header fields as [`Accepted::response`], for an HTTP stack
    /// that writes responses itself (hyper: return it from the service,
    /// then take the upgraded I/O).
    pub fn http_response(&self) -> http::Response<()> {
        let (parts, _) = response_to_http(&self.response).into_parts();
        http::Response::from_parts(parts, ())
    }
}

impl HandshakeError {
    /// [`HandshakeError::response`] as an `http::Response` with its body, for
    /// a server on an HTTP stack; `None` where that is `None`.
    pub fn http_response(&self) -> Option<http::Response<Vec<u8>>> {
        self.response().map(|bytes| response_to_http(&bytes))
    }
}

impl Rejection {
    /// [`Rejection::response`] as an `http::Response` with its body.
    pub fn http_response(&self) -> http::Response<Vec<u8>> {
        response_to_http(&self.response())
    }
}

impl ClientHandshake {
    /// The upgrade request as an `http::Request`: the same request line and
    /// header fields as the bytes [`ClientHandshake::new`] returned, for an
    /// HTTP client that writes requests itself.
    pub fn http_request(&self) -> http::Request<()> {
        let bytes = self.request_bytes();
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        // Our own request, written by `build_request` from checked parts.
        let _ = parsed.parse(&bytes);
        let mut request = http::Request::builder()
            .method(parsed.method.unwrap_or("GET"))
            .uri(parsed.path.unwrap_or("/"));
        for header in parsed.headers.iter() {
            request = request.header(header.name, header.value);
        }
        request.body(()).unwrap_or_default()
    }

    /// Checks a server's answer given as an `http::Response`, by the same
    /// RFC 6455 section 4.1 rules as [`ClientHandshake::receive`]. Unlike
    /// `receive`, this does not finish the handshake: it can be called
    /// again. The response has no leftover bytes (the HTTP stack keeps
    /// them).
    pub fn check_http<B>(&self, response: &http::Response<B>) -> Result<Response, HandshakeError> {
        let status = response.status();
        let head = ResponseHead {
            version: minor_version(response.version())?,
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or_default().to_owned(),
            headers: header_list(response.headers()),
        };
        self.check(head, Bytes::new())
    }
}

/// An answer this crate wrote as bytes (the `response` of a
/// [`Decision::Refuse`](super::Decision::Refuse), [`upgrade_required`],
/// [`http_response`](super::http_response)'s output) as an
/// `http::Response` with its body, for a server on an HTTP stack.
///
/// The writers only emit well-formed heads with checked names and values,
/// so every step here succeeds for them; for bytes that are not a complete
/// response, the answer is a bare `500`.
///
/// [`upgrade_required`]: super::upgrade_required
pub fn response_to_http(bytes: &[u8]) -> http::Response<Vec<u8>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut headers);
    let head_len = match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        _ => return internal_error(),
    };
    let mut response = http::Response::builder().status(parsed.code.unwrap_or(500));
    for header in parsed.headers.iter() {
        response = response.header(header.name, header.value);
    }
    let body = bytes.get(head_len..).unwrap_or_default().to_vec();
    response.body(body).unwrap_or_else(|_| internal_error())
}

/// A bare `500`, with no headers.
fn internal_error() -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response
}

#[cfg(test)]
mod tests;
