//! The server side of the opening handshake (RFC 6455 4.2).
//!
//! [`ServerHandshake`] reads a request head from bytes fed in any pieces,
//! within a byte limit, and classifies it:
//!
//! - no `Upgrade: websocket` → [`Incoming::Http`], a plain request the
//!   application can answer on the same port (RFC 6455 1.3);
//! - otherwise the RFC 6455 4.2.1 checks run in order, and the request either
//!   fails with a [`HandshakeError`] whose [`status`](HandshakeError::status)
//!   and [`response`](HandshakeError::response) say what to answer, or becomes
//!   an [`Incoming::Upgrade`]. The application then calls
//!   [`UpgradeRequest::accept`] for the `101` bytes (RFC 6455 4.2.2) or
//!   [`UpgradeRequest::reject`] for any other answer (401, 403, 404, 3xx...).
//!
//! Bytes that followed the request head are kept as `leftover`: frames from
//! the client, a request body, or a pipelined request.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;

use super::extensions::{format_extensions, parse_extensions, ExtensionOffer};
use super::handoff::{Accepted, Agreed};
use super::http::{
    self, check_header, check_not_reserved, header, header_once, headers_named, list_contains,
    push_header, push_status_line, shown, split_header_list, trim_ows, Head, HeadBuffer,
    HeaderList,
};
use super::{accept_key, HandshakeError, DEFAULT_MAX_HEADER_BYTES, MAX_HEADERS, WEBSOCKET_VERSION};
use crate::config::Config;
use crate::connection::Connection;

/// Reads one client request head, incrementally and within a byte limit.
///
/// Feed bytes with [`receive`](Self::receive) as they arrive; one byte at a
/// time works. The buffer never holds more than the limit.
#[derive(Debug)]
pub struct ServerHandshake {
    head: HeadBuffer,
}

impl Default for ServerHandshake {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerHandshake {
    /// A reader with the default limit, [`DEFAULT_MAX_HEADER_BYTES`].
    pub fn new() -> Self {
        Self::with_max_header_bytes(DEFAULT_MAX_HEADER_BYTES)
    }

    /// A reader whose request head (request line, headers and the blank
    /// line) may be at most `max_header_bytes` long. `0` means the default.
    pub fn with_max_header_bytes(max_header_bytes: usize) -> Self {
        let limit = if max_header_bytes == 0 {
            DEFAULT_MAX_HEADER_BYTES
        } else {
            max_header_bytes
        };
        Self {
            head: HeadBuffer::new(limit),
        }
    }

    /// The request head limit in bytes.
    pub fn max_header_bytes(&self) -> usize {
        self.head.limit()
    }

    /// Feeds bytes as they arrive.
    ///
    /// - `Ok(None)`: the head is not complete yet; feed more.
    /// - `Ok(Some(incoming))`: the head is complete. Bytes after it, from this
    ///   call or earlier ones, are in the request's `leftover`.
    /// - `Err(e)`: the request is invalid or too large; write
    ///   [`e.response()`](HandshakeError::response) and close.
    ///
    /// Once a call has returned `Some` or an error, the reader is done: later
    /// calls return [`HandshakeError::Finished`] and feed nothing.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Option<Incoming>, HandshakeError> {
        let Some((request, leftover)) = self.head.receive(bytes, parse_request)? else {
            return Ok(None);
        };
        let request = HttpRequest {
            leftover,
            ..request
        };
        classify(request).map(Some)
    }

    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.head.buffered()
    }
}

/// Parses a complete request head with `httparse`.
fn parse_request(buf: &[u8]) -> Result<Head<HttpRequest>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf).map_err(http::parse_error)? {
        httparse::Status::Partial => Ok(Head::Partial),
        httparse::Status::Complete(len) => {
            let (path, query) = split_target(req.path.unwrap_or_default());
            Ok(Head::Complete(
                len,
                HttpRequest {
                    method: req.method.unwrap_or_default().to_owned(),
                    path,
                    query,
                    version: req.version.unwrap_or_default(),
                    headers: http::owned_headers(req.headers),
                    leftover: Bytes::new(),
                    peer_addr: None,
                },
            ))
        }
    }
}

/// Splits a request target at its first `?` into path and query.
pub(super) fn split_target(target: &str) -> (String, Option<String>) {
    match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target.to_owned(), None),
    }
}

/// Decides whether a complete request is a WebSocket upgrade, and checks it
/// if so (RFC 6455 4.2.1). Requests parsed from bytes and requests built
/// from `http` types (`interop.rs`) both come through here.
pub(super) fn classify(request: HttpRequest) -> Result<Incoming, HandshakeError> {
    // 4.2.1 step 3: "An |Upgrade| header field containing the value
    // "websocket", treated as an ASCII case-insensitive value." Without it
    // this is not a WebSocket handshake at all, but plain HTTP.
    if !list_contains(&request.headers, "Upgrade", "websocket") {
        return Ok(Incoming::Http(request));
    }
    // 4.2.1 step 1: "An HTTP/1.1 or higher GET request".
    if request.method != "GET" {
        return Err(HandshakeError::MethodNotAllowed {
            method: shown(request.method.as_bytes()),
        });
    }
    if request.version != 1 {
        return Err(HandshakeError::UnsupportedHttpVersion {
            version: http::version_name(request.version),
        });
    }
    // 4.2.1 step 2: "A |Host| header field containing the server's authority."
    // RFC 7230 5.4: more than one Host is a 400.
    match header_once(&request.headers, "Host")? {
        Some(host) if !host.is_empty() => {}
        _ => return Err(HandshakeError::MissingHost),
    }
    // 4.2.1 step 4: "A |Connection| header field that includes the token
    // "Upgrade", treated as an ASCII case-insensitive value."
    if !list_contains(&request.headers, "Connection", "upgrade") {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    // 4.2.1 step 6: "A |Sec-WebSocket-Version| header field, with a value of
    // 13." 11.3.5: it "MUST NOT appear more than once in an HTTP request".
    match header_once(&request.headers, "Sec-WebSocket-Version")? {
        Some(v) if v == WEBSOCKET_VERSION.as_bytes() => {}
        other => {
            return Err(HandshakeError::UnsupportedWebSocketVersion {
                version: other.map(shown),
            })
        }
    }
    // 4.2.1 step 5 and 11.3.1: one key, base64 of 16 bytes.
    let key = check_key(header_once(&request.headers, "Sec-WebSocket-Key")?)?;
    // A GET upgrade carries no body; bytes after the head are frames.
    if has_body(&request.headers) {
        return Err(HandshakeError::UnexpectedBody);
    }
    // 4.2.1 step 8: optional subprotocols, 1#token, over any number of fields.
    let mut protocols = Vec::new();
    for value in headers_named(&request.headers, "Sec-WebSocket-Protocol") {
        for p in split_header_list(value) {
            if !http::is_token(p) {
                return Err(HandshakeError::InvalidHeaderValue {
                    name: "Sec-WebSocket-Protocol",
                    reason: format!("{:?} is not a token", shown(p)),
                });
            }
            protocols.push(shown(p));
        }
    }
    // 4.2.1 step 9 and 9.1: optional extensions, over any number of fields.
    let mut extensions = Vec::new();
    for value in headers_named(&request.headers, "Sec-WebSocket-Extensions") {
        extensions.extend(parse_extensions(value)?);
    }
    Ok(Incoming::Upgrade(UpgradeRequest {
        request,
        key,
        protocols,
        extensions,
    }))
}

/// Checks `Sec-WebSocket-Key` and returns it trimmed.
fn check_key(value: Option<&[u8]>) -> Result<String, HandshakeError> {
    let key = value.ok_or(HandshakeError::MissingKey)?;
    // Lenient about non-zero trailing bits: the RFC's own 4.1 example,
    // "AQIDBAUGBwgJCgsMDQ4PEC==", has them.
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    // A 16-byte nonce is 24 characters; anything much longer is not one, so
    // do not spend time decoding it.
    if key.len() > 64 {
        return Err(HandshakeError::InvalidKey { decoded_len: None });
    }
    let decoded = engine
        .decode(key)
        .map_err(|_| HandshakeError::InvalidKey { decoded_len: None })?;
    if decoded.len() != 16 {
        return Err(HandshakeError::InvalidKey {
            decoded_len: Some(decoded.len()),
        });
    }
    // Valid base64 is ASCII.
    Ok(String::from_utf8_lossy(key).into_owned())
}

/// Whether the request announces a body.
fn has_body(headers: &[(String, Vec<u8>)]) -> bool {
    if header(headers, "Transfer-Encoding").is_some() {
        return true;
    }
    headers_named(headers, "Content-Length").any(|v| trim_ows(v).iter().any(|&b| b != b'0'))
}

/// What a complete request head turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A valid WebSocket upgrade request: answer it with
    /// [`UpgradeRequest::accept`] or [`UpgradeRequest::reject`].
    Upgrade(UpgradeRequest),
    /// A complete HTTP request that is not a WebSocket upgrade (no
    /// `Upgrade: websocket`), so a server can answer it on the same port.
    /// Its body, if any, starts in [`HttpRequest::leftover`].
    Http(HttpRequest),
}

impl Incoming {
    /// The same request, from `peer_addr`: what an adapter that owns the
    /// socket tells the application ([`HttpRequest::peer_addr`]).
    pub fn with_peer_addr(mut self, peer_addr: Option<SocketAddr>) -> Self {
        match &mut self {
            Self::Upgrade(upgrade) => upgrade.request.peer_addr = peer_addr,
            Self::Http(request) => request.peer_addr = peer_addr,
        }
        self
    }
}

/// A parsed HTTP/1.x request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) query: Option<String>,
    /// The HTTP minor version (HTTP/1.x).
    pub(super) version: u8,
    pub(super) headers: HeaderList,
    pub(super) leftover: Bytes,
    /// Where the request came from, when the adapter that read it says so.
    pub(super) peer_addr: Option<SocketAddr>,
}

impl HttpRequest {
    /// The method, e.g. `GET`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target before any `?`, as sent (not percent-decoded).
    /// Usually a path such as `/chat`; may be an absolute URI.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The part of the request target after the first `?`, if there is one.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The HTTP minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        header(&self.headers, name)
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        headers_named(&self.headers, name)
    }

    /// All header fields in order: name as sent and raw value.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The address the request came from, as the adapter that read it
    /// set it ([`Incoming::with_peer_addr`]); `None` where it did not (a
    /// request built from the `http` crate's types, whose address the
    /// HTTP server keeps), or could not (a peer already gone).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }

    /// Bytes received after the request head: a body, a pipelined request or,
    /// for an upgrade, the first WebSocket frames. Never dropped.
    pub fn leftover(&self) -> &Bytes {
        &self.leftover
    }
}

/// A WebSocket upgrade request that passed every RFC 6455 4.2.1 check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    request: HttpRequest,
    key: String,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
}

/// Options for [`UpgradeRequest::accept`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptOptions {
    /// The subprotocol to select; must be one the client offered
    /// (RFC 6455 4.2.2 step 4, /subprotocol/). `None` selects none.
    pub protocol: Option<String>,
    /// Extra header fields for the `101` response, e.g. `Set-Cookie`.
    pub headers: Vec<(String, String)>,
    /// permessage-deflate (RFC 7692): accept the first valid offer on these
    /// terms, or `None` to decline compression. Default
    /// [`DeflateConfig::low_memory`](crate::deflate::DeflateConfig::low_memory):
    /// no context takeover either way, so idle connections hold no
    /// compression state.
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
}

// Not derived: with the `deflate` feature, compression is accepted by default.
#[cfg_attr(not(feature = "deflate"), allow(clippy::derivable_impls))]
impl Default for AcceptOptions {
    fn default() -> Self {
        Self {
            protocol: None,
            headers: Vec::new(),
            #[cfg(feature = "deflate")]
            deflate: Some(crate::deflate::DeflateConfig::low_memory()),
        }
    }
}

impl AcceptOptions {
    /// Selects `protocol`, builder style.
    pub fn with_protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = Some(protocol.into());
        self
    }

    /// Adds a header field to the `101` response, builder style.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets [`AcceptOptions::deflate`], builder style.
    #[cfg(feature = "deflate")]
    pub fn with_deflate(mut self, deflate: Option<crate::deflate::DeflateConfig>) -> Self {
        self.deflate = deflate;
        self
    }
}

/// Headers that [`UpgradeRequest::accept`] writes itself.
const ACCEPT_RESERVED: [&str; 7] = [
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Content-Length",
    "Transfer-Encoding",
];

impl UpgradeRequest {
    /// The request head: method, path, query, headers, leftover.
    pub fn request(&self) -> &HttpRequest {
        &self.request
    }

    /// Takes the request head out, e.g. to keep its leftover bytes.
    pub fn into_request(self) -> HttpRequest {
        self.request
    }

    /// The `Sec-WebSocket-Key` value, trimmed.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The offered subprotocols in order of preference, from every
    /// `Sec-WebSocket-Protocol` field.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The offered extensions in order, from every `Sec-WebSocket-Extensions`
    /// field.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// Frame bytes that followed the request in the same reads; feed them to
    /// the frame parser before anything read later.
    pub fn leftover(&self) -> &Bytes {
        &self.request.leftover
    }

    /// Accepts this request (RFC 6455 4.2.2 step 5): the `101 Switching
    /// Protocols` response (`Upgrade`, `Connection`, `Sec-WebSocket-Accept`,
    /// the chosen subprotocol and extensions, then the extra headers), and
    /// the server's [`Connection`](crate::Connection) built with `config`,
    /// speaking the negotiated extensions, with the bytes that followed the
    /// request already fed. A server never masks, so this draws no entropy.
    ///
    /// Fails with [`HandshakeError::ProtocolNotOffered`] if asked to select a
    /// subprotocol the client did not offer, and with
    /// [`HandshakeError::InvalidHeader`] for an extra header with a bad name
    /// or value or one set here.
    pub fn accept(
        &self,
        options: &AcceptOptions,
        config: impl Into<Arc<Config>>,
    ) -> Result<Accepted, HandshakeError> {
        if let Some(p) = &options.protocol {
            if !self.protocols.iter().any(|offered| offered == p) {
                return Err(HandshakeError::ProtocolNotOffered {
                    protocol: p.clone(),
                });
            }
        }
        for (name, value) in &options.headers {
            check_header(name, value)?;
            check_not_reserved(name, &ACCEPT_RESERVED)?;
        }
        let (agreed, answer) = Agreed::from_offers(&self.extensions, options);
        let mut out = Vec::with_capacity(256);
        push_status_line(&mut out, 101);
        push_header(&mut out, "Upgrade", b"websocket");
        push_header(&mut out, "Connection", b"Upgrade");
        push_header(
            &mut out,
            "Sec-WebSocket-Accept",
            accept_key(self.key.as_bytes()).as_bytes(),
        );
        if let Some(p) = &options.protocol {
            push_header(&mut out, "Sec-WebSocket-Protocol", p.as_bytes());
        }
        if !answer.is_empty() {
            push_header(
                &mut out,
                "Sec-WebSocket-Extensions",
                format_extensions(&answer).as_bytes(),
            );
        }
        for (name, value) in &options.headers {
            push_header(&mut out, name, value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        let connection = agreed.set_up(Connection::server(config.into()), self.leftover());
        Ok(Accepted {
            response: out,
            protocol: options.protocol.clone(),
            connection,
        })
    }

    /// A response that refuses the upgrade, e.g. 401 with
    /// `WWW-Authenticate` (RFC 6455 4.2.2 step 2), a 3xx redirect (step 3),
    /// 403 for an unwanted origin or 404 for an unknown resource (step 4).
    ///
    /// `status` must be in 300..=599. `Connection: close` is added unless
    /// `headers` has a `Connection` field; `Content-Length` is always added.
    /// Fails like [`http_response`](super::http_response).
    pub fn reject(
        &self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Vec<u8>, HandshakeError> {
        super::answers::rejection_response(status, headers, body)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Role;

    /// The client handshake from RFC 6455 1.2 / 1.3.
    pub(crate) const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\
\r\n";

    /// A masked text frame "Hi" and the start of another, to follow a head.
    pub(crate) const FRAMES: &[u8] = b"\x81\x82\x01\x02\x03\x04\x49\x6b\x81";

    fn receive_all(bytes: &[u8]) -> Result<Option<Incoming>, HandshakeError> {
        ServerHandshake::new().receive(bytes)
    }

    fn upgrade(bytes: &[u8]) -> UpgradeRequest {
        match receive_all(bytes) {
            Ok(Some(Incoming::Upgrade(u))) => u,
            other => panic!("expected an upgrade, got {other:?}"),
        }
    }

    #[test]
    fn a_request_carries_the_address_its_adapter_gives_it() {
        let peer: std::net::SocketAddr = "192.0.2.7:5150".parse().unwrap();
        let upgrade = upgrade(RFC_REQUEST);
        assert_eq!(upgrade.request().peer_addr(), None);
        let given = Incoming::Upgrade(upgrade).with_peer_addr(Some(peer));
        let Incoming::Upgrade(upgrade) = given else {
            panic!("still an upgrade")
        };
        assert_eq!(upgrade.request().peer_addr(), Some(peer));
        let plain = receive_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap()
            .unwrap();
        let Incoming::Http(request) = plain.with_peer_addr(Some(peer)) else {
            panic!("still plain HTTP")
        };
        assert_eq!(request.peer_addr(), Some(peer));
    }

    fn error_of(bytes: &[u8]) -> HandshakeError {
        match receive_all(bytes) {
            Err(e) => e,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    /// The RFC request with `name` lines removed and `extra` lines added.
    fn request_with(remove: &[&str], extra: &[&str]) -> Vec<u8> {
        let text = std::str::from_utf8(RFC_REQUEST).expect("ascii");
        let mut lines: Vec<String> = text
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .filter(|l| {
                !remove
                    .iter()
                    .any(|r| l.to_ascii_lowercase().starts_with(&r.to_ascii_lowercase()))
            })
            .map(str::to_owned)
            .collect();
        lines.extend(extra.iter().map(|s| s.to_string()));
        let mut out = lines.join("\r\n").into_bytes();
        out.extend_from_slice(b"\r\n\r\n");
        out
    }

    #[test]
    fn rfc6455_1_3_sample_request_parsed() {
        let u = upgrade(RFC_REQUEST);
        assert_eq!(u.request().method(), "GET");
        assert_eq!(u.request().path(), "/chat");
        assert_eq!(u.request().query(), None);
        assert_eq!(u.request().version(), 1);
        assert_eq!(u.key(), "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(u.protocols(), ["chat", "superchat"]);
        assert!(u.extensions().is_empty());
        assert_eq!(
            u.request().header("origin"),
            Some(&b"http://example.com"[..])
        );
        assert_eq!(u.request().headers().count(), 7);
        assert!(u.leftover().is_empty());
    }

    /// The response bytes of an accept, or its error.
    fn accept_bytes(
        u: &UpgradeRequest,
        options: &AcceptOptions,
    ) -> Result<Vec<u8>, HandshakeError> {
        u.accept(options, Config::default())
            .map(|accepted| accepted.response)
    }

    #[test]
    fn rfc6455_4_2_2_accept_response() {
        let u = upgrade(RFC_REQUEST);
        let out =
            accept_bytes(&u, &AcceptOptions::default().with_protocol("chat")).expect("accept");
        assert_eq!(
            out,
            b"HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\
\r\n"
        );
    }

    #[test]
    fn rfc6455_4_2_2_accept_hands_over_a_connection_with_the_leftover() {
        let mut request = RFC_REQUEST.to_vec();
        request.extend_from_slice(FRAMES);
        let u = upgrade(&request);
        let mut accepted = u
            .accept(&AcceptOptions::default(), Config::default())
            .expect("accept");
        let event = accepted
            .connection
            .poll_event()
            .expect("an event")
            .expect("valid");
        assert_eq!(event, crate::Event::Message("Hi".into()));
        assert_eq!(accepted.connection.role(), Role::Server);
    }

    #[test]
    fn rfc6455_4_2_2_accept_only_what_was_offered() {
        let u = upgrade(&request_with(
            &[],
            &["Sec-WebSocket-Extensions: x-unknown, permessage-deflate; client_max_window_bits"],
        ));
        assert_eq!(
            accept_bytes(&u, &AcceptOptions::default().with_protocol("mqtt")),
            Err(HandshakeError::ProtocolNotOffered {
                protocol: "mqtt".into()
            })
        );
        let out =
            accept_bytes(&u, &AcceptOptions::default().with_protocol("superchat")).expect("accept");
        let text = String::from_utf8(out).expect("ascii");
        assert!(text.contains("\r\nSec-WebSocket-Protocol: superchat\r\n"));
        // The unknown extension is never answered.
        assert!(!text.contains("x-unknown"));
    }

    #[test]
    fn accept_extra_headers_validated() {
        let u = upgrade(RFC_REQUEST);
        let with = |n: &str, v: &str| AcceptOptions::default().with_header(n, v);
        let out = accept_bytes(&u, &with("Set-Cookie", "a=b")).expect("accept");
        assert!(out.ends_with(b"\r\nSet-Cookie: a=b\r\n\r\n"));
        for (n, v) in [
            ("X", "a\r\nInjected: 1"),
            ("X", "a\nb"),
            ("X:Y", "a"),
            ("", "a"),
            ("sec-websocket-accept", "forged"),
            ("Connection", "close"),
        ] {
            assert!(
                matches!(
                    accept_bytes(&u, &with(n, v)),
                    Err(HandshakeError::InvalidHeader { .. })
                ),
                "{n:?}: {v:?}"
            );
        }
    }

    #[test]
    fn rfc6455_4_2_2_reject_with_status() {
        let u = upgrade(RFC_REQUEST);
        let out = u
            .reject(401, &[("WWW-Authenticate", "Basic realm=\"x\"")], b"who?")
            .expect("reject");
        assert_eq!(
            out,
            b"HTTP/1.1 401 Unauthorized\r\n\
WWW-Authenticate: Basic realm=\"x\"\r\n\
Connection: close\r\n\
Content-Length: 4\r\n\r\nwho?"
        );
        let out = u
            .reject(
                302,
                &[("Location", "/b"), ("connection", "keep-alive")],
                b"",
            )
            .expect("reject");
        assert!(!String::from_utf8_lossy(&out).contains("close"));
        assert!(matches!(
            u.reject(101, &[], b""),
            Err(HandshakeError::InvalidStatus { .. })
        ));
        assert!(matches!(
            u.reject(403, &[("X", "\r\n")], b""),
            Err(HandshakeError::InvalidHeader { .. })
        ));
    }

    #[test]
    fn rfc6455_4_2_1_method_must_be_get() {
        let req = String::from_utf8_lossy(RFC_REQUEST).replacen("GET", "POST", 1);
        let err = error_of(req.as_bytes());
        assert_eq!(
            err,
            HandshakeError::MethodNotAllowed {
                method: "POST".into()
            }
        );
        assert_eq!(err.status(), Some(405));
    }

    #[test]
    fn rfc6455_4_2_1_http_1_1_required() {
        let req = String::from_utf8_lossy(RFC_REQUEST).replacen("HTTP/1.1", "HTTP/1.0", 1);
        let err = error_of(req.as_bytes());
        assert_eq!(
            err,
            HandshakeError::UnsupportedHttpVersion {
                version: "HTTP/1.0".into()
            }
        );
        assert_eq!(err.status(), Some(505));
        let req = String::from_utf8_lossy(RFC_REQUEST).replacen("HTTP/1.1", "HTTP/2.0", 1);
        assert_eq!(error_of(req.as_bytes()).status(), Some(505));
    }

    #[test]
    fn rfc6455_4_2_1_host_required() {
        let err = error_of(&request_with(&["Host:"], &[]));
        assert_eq!(err, HandshakeError::MissingHost);
        assert_eq!(err.status(), Some(400));
        assert_eq!(
            error_of(&request_with(&["Host:"], &["Host: "])),
            HandshakeError::MissingHost
        );
        assert_eq!(
            error_of(&request_with(&[], &["Host: other"])),
            HandshakeError::DuplicateHeader { name: "Host" }
        );
    }

    #[test]
    fn rfc6455_4_2_1_upgrade_websocket_case_insensitive() {
        let u = upgrade(&request_with(&["Upgrade:"], &["upgrade: WebSocket"]));
        assert_eq!(u.key(), "dGhlIHNhbXBsZSBub25jZQ==");
        upgrade(&request_with(&["Upgrade:"], &["UPGRADE: foo/2, websocket"]));
    }

    #[test]
    fn rfc6455_1_3_plain_http_on_same_port() {
        let req = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
        match receive_all(req) {
            Ok(Some(Incoming::Http(r))) => {
                assert_eq!(r.method(), "GET");
                assert_eq!(r.path(), "/index.html");
                assert_eq!(r.header("accept"), Some(&b"*/*"[..]));
            }
            other => panic!("{other:?}"),
        }
        // Without Upgrade: websocket, even an HTTP/1.0 POST with a body is
        // plain HTTP, and its body is kept.
        let req = b"POST /f?x=1 HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc";
        match receive_all(req) {
            Ok(Some(Incoming::Http(r))) => {
                assert_eq!(r.method(), "POST");
                assert_eq!(r.query(), Some("x=1"));
                assert_eq!(r.version(), 0);
                assert_eq!(&r.leftover()[..], b"abc");
            }
            other => panic!("{other:?}"),
        }
        // Another upgrade protocol is not ours to judge either.
        let req = request_with(&["Upgrade:"], &["Upgrade: h2c"]);
        assert!(matches!(receive_all(&req), Ok(Some(Incoming::Http(_)))));
    }

    #[test]
    fn rfc6455_4_2_1_connection_must_include_upgrade() {
        let err = error_of(&request_with(&["Connection:"], &[]));
        assert_eq!(err, HandshakeError::MissingConnectionUpgrade);
        assert_eq!(err.status(), Some(400));
        assert_eq!(
            error_of(&request_with(&["Connection:"], &["Connection: keep-alive"])),
            HandshakeError::MissingConnectionUpgrade
        );
        upgrade(&request_with(
            &["Connection:"],
            &["connection: keep-alive, Upgrade"],
        ));
        upgrade(&request_with(
            &["Connection:"],
            &["Connection: keep-alive", "Connection: UPGRADE"],
        ));
    }

    #[test]
    fn rfc6455_4_2_1_version_must_be_13() {
        let err = error_of(&request_with(&["Sec-WebSocket-Version"], &[]));
        assert_eq!(
            err,
            HandshakeError::UnsupportedWebSocketVersion { version: None }
        );
        assert_eq!(err.status(), Some(426));
        let err = error_of(&request_with(
            &["Sec-WebSocket-Version"],
            &["Sec-WebSocket-Version: 8"],
        ));
        assert_eq!(
            err,
            HandshakeError::UnsupportedWebSocketVersion {
                version: Some("8".into())
            }
        );
        let text = String::from_utf8(err.response().expect("response")).expect("ascii");
        assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"));
        // 11.3.5: it must not appear more than once in a request.
        assert_eq!(
            error_of(&request_with(&[], &["Sec-WebSocket-Version: 13"])),
            HandshakeError::DuplicateHeader {
                name: "Sec-WebSocket-Version"
            }
        );
        upgrade(&request_with(
            &["Sec-WebSocket-Version"],
            &["sec-websocket-version:  13 "],
        ));
    }

    #[test]
    fn rfc6455_4_2_1_key_must_decode_to_16_bytes() {
        let with_key = |k: &str| {
            request_with(
                &["Sec-WebSocket-Key"],
                &[&format!("Sec-WebSocket-Key: {k}")],
            )
        };
        assert_eq!(
            error_of(&request_with(&["Sec-WebSocket-Key"], &[])),
            HandshakeError::MissingKey
        );
        assert_eq!(
            error_of(&with_key("AQID")),
            HandshakeError::InvalidKey {
                decoded_len: Some(3)
            }
        );
        assert_eq!(
            error_of(&with_key("AQIDBAUGBwgJCgsMDQ4PEBES")),
            HandshakeError::InvalidKey {
                decoded_len: Some(18)
            }
        );
        for bad in ["not base64!!", "dGhlIHNhbXBsZSBub25jZQ", &"A".repeat(200)] {
            let err = error_of(&with_key(bad));
            assert_eq!(
                err,
                HandshakeError::InvalidKey { decoded_len: None },
                "{bad}"
            );
            assert_eq!(err.status(), Some(400));
        }
        // The RFC 4.1 example key has non-zero trailing bits; accept it.
        assert_eq!(
            upgrade(&with_key("AQIDBAUGBwgJCgsMDQ4PEC==")).key(),
            "AQIDBAUGBwgJCgsMDQ4PEC=="
        );
        assert_eq!(
            upgrade(&with_key("AQIDBAUGBwgJCgsMDQ4PEA==")).key(),
            "AQIDBAUGBwgJCgsMDQ4PEA=="
        );
    }

    #[test]
    fn rfc6455_11_3_1_key_must_not_repeat() {
        let err = error_of(&request_with(
            &[],
            &["Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA=="],
        ));
        assert_eq!(
            err,
            HandshakeError::DuplicateHeader {
                name: "Sec-WebSocket-Key"
            }
        );
        assert_eq!(err.status(), Some(400));
    }

    #[test]
    fn upgrade_with_body_rejected() {
        let err = error_of(&request_with(&[], &["Content-Length: 5"]));
        assert_eq!(err, HandshakeError::UnexpectedBody);
        assert_eq!(err.status(), Some(400));
        assert_eq!(
            error_of(&request_with(&[], &["Transfer-Encoding: chunked"])),
            HandshakeError::UnexpectedBody
        );
        upgrade(&request_with(&[], &["Content-Length: 0"]));
    }

    #[test]
    fn rfc6455_11_3_4_protocols_merged_across_fields() {
        let u = upgrade(&request_with(
            &[],
            &[
                "Sec-WebSocket-Protocol: a,, b ",
                "sec-websocket-protocol: c",
            ],
        ));
        assert_eq!(u.protocols(), ["chat", "superchat", "a", "b", "c"]);
        let err = error_of(&request_with(&[], &["Sec-WebSocket-Protocol: a b"]));
        assert!(matches!(
            err,
            HandshakeError::InvalidHeaderValue {
                name: "Sec-WebSocket-Protocol",
                ..
            }
        ));
        assert_eq!(err.status(), Some(400));
    }

    #[test]
    fn rfc6455_9_1_extensions_merged_and_malformed_rejected() {
        let u = upgrade(&request_with(
            &[],
            &[
                "Sec-WebSocket-Extensions: foo",
                "Sec-WebSocket-Extensions: bar; baz=2",
            ],
        ));
        assert_eq!(
            u.extensions(),
            [
                ExtensionOffer::new("foo"),
                ExtensionOffer::new("bar").with_param("baz", Some("2"))
            ]
        );
        let err = error_of(&request_with(&[], &["Sec-WebSocket-Extensions: foo;;"]));
        assert_eq!(err.status(), Some(400));
    }

    #[test]
    fn rfc6455_4_2_1_malformed_request_is_400() {
        let err = error_of(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n");
        assert!(matches!(err, HandshakeError::MalformedHttp { .. }), "{err}");
        assert_eq!(err.status(), Some(400));
        let err = error_of(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n");
        assert_eq!(err.status(), Some(400));
    }

    #[test]
    fn rfc6455_10_4_headers_over_limit_431_with_bounded_buffer() {
        let limit = 1024;
        let mut server = ServerHandshake::with_max_header_bytes(limit);
        let mut big = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
        let filler = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        while big.len() < 3 * limit {
            big.extend_from_slice(filler);
        }
        let mut result = Ok(None);
        for chunk in big.chunks(100) {
            result = server.receive(chunk);
            assert!(server.buffered() <= limit, "{}", server.buffered());
            if !matches!(result, Ok(None)) {
                break;
            }
        }
        let err = result.expect_err("too large");
        assert_eq!(err, HandshakeError::HeadersTooLarge { limit });
        assert_eq!(err.status(), Some(431));
        assert!(err.to_string().contains("1024"));
        assert_eq!(server.receive(b"x"), Err(HandshakeError::Finished));

        // The same in one call: nothing past the limit is copied in.
        let mut server = ServerHandshake::with_max_header_bytes(limit);
        assert_eq!(
            server.receive(&big),
            Err(HandshakeError::HeadersTooLarge { limit })
        );
    }

    #[test]
    fn head_exactly_at_limit_fits_and_leftover_may_exceed_it() {
        let limit = RFC_REQUEST.len();
        let mut input = RFC_REQUEST.to_vec();
        input.extend(std::iter::repeat_n(0x81, 5 * limit));
        let mut server = ServerHandshake::with_max_header_bytes(limit);
        match server.receive(&input) {
            Ok(Some(Incoming::Upgrade(u))) => assert_eq!(u.leftover().len(), 5 * limit),
            other => panic!("{other:?}"),
        }
        let mut server = ServerHandshake::with_max_header_bytes(limit - 1);
        assert_eq!(
            server.receive(&input),
            Err(HandshakeError::HeadersTooLarge { limit: limit - 1 })
        );
    }

    #[test]
    fn too_many_headers_is_431() {
        let extra: Vec<String> = (0..MAX_HEADERS).map(|i| format!("X-{i}: v")).collect();
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let err = error_of(&request_with(&[], &extra));
        assert_eq!(err, HandshakeError::TooManyHeaders { limit: MAX_HEADERS });
        assert_eq!(err.status(), Some(431));
    }

    #[test]
    fn receive_after_completion_is_an_error() {
        let mut server = ServerHandshake::new();
        assert!(matches!(server.receive(RFC_REQUEST), Ok(Some(_))));
        assert_eq!(server.receive(b""), Err(HandshakeError::Finished));
        let mut server = ServerHandshake::new();
        assert!(server.receive(b"\x00\r\n\r\n").is_err());
        assert_eq!(server.receive(RFC_REQUEST), Err(HandshakeError::Finished));
    }

    #[test]
    fn blank_lines_before_request_line_tolerated() {
        let mut input = b"\r\n\r\n".to_vec();
        input.extend_from_slice(RFC_REQUEST);
        let mut server = ServerHandshake::new();
        let mut out = None;
        for b in &input {
            if let Some(x) = server.receive(std::slice::from_ref(b)).expect("ok") {
                out = Some(x);
            }
        }
        assert!(matches!(out, Some(Incoming::Upgrade(_))));
    }

    /// Feeds the pieces to a fresh server as a caller would: once a request
    /// is complete, the pieces after it go to the frame layer, so they are
    /// appended to the leftover (which is what the frame parser would see).
    pub(crate) fn feed_server(pieces: &[&[u8]]) -> Result<Option<Incoming>, HandshakeError> {
        let mut server = ServerHandshake::new();
        for (i, piece) in pieces.iter().enumerate() {
            match server.receive(piece) {
                Ok(None) => {}
                Ok(Some(mut incoming)) => {
                    let request = match &mut incoming {
                        Incoming::Upgrade(u) => &mut u.request,
                        Incoming::Http(r) => r,
                    };
                    let mut all = request.leftover.to_vec();
                    for later in pieces.iter().skip(i + 1) {
                        all.extend_from_slice(later);
                    }
                    request.leftover = Bytes::from(all);
                    return Ok(Some(incoming));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    #[test]
    fn split_anywhere_same_request_and_leftover() {
        let mut input = RFC_REQUEST.to_vec();
        input.extend_from_slice(FRAMES);
        let whole = feed_server(&[&input]);
        let Ok(Some(Incoming::Upgrade(u))) = &whole else {
            panic!("{whole:?}");
        };
        assert_eq!(&u.leftover()[..], FRAMES);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(feed_server(&bytes), whole);
        for at in 0..=input.len() {
            let (a, b) = input.split_at(at);
            assert_eq!(feed_server(&[a, b]), whole, "split at {at}");
        }
        // Same for a plain request with a body.
        let plain = b"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody";
        let whole = feed_server(&[plain]);
        for at in 0..=plain.len() {
            let (a, b) = plain.split_at(at);
            assert_eq!(feed_server(&[a, b]), whole, "split at {at}");
        }
    }

    #[test]
    fn split_anywhere_same_error() {
        let inputs: [&[u8]; 3] = [
            b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
            b"\r\n\r\nGET / HTTP/1.1\n\n",
        ];
        for input in inputs {
            let whole = feed_server(&[input]);
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(feed_server(&bytes), whole);
            for at in 0..=input.len() {
                let (a, b) = input.split_at(at);
                assert_eq!(feed_server(&[a, b]), whole, "split at {at}");
            }
        }
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic_and_split_is_same(
                bytes in proptest::collection::vec(any::<u8>(), 0..600),
                at in any::<proptest::sample::Index>(),
            ) {
                let whole = feed_server(&[&bytes]);
                let (a, b) = bytes.split_at(at.index(bytes.len() + 1));
                prop_assert_eq!(feed_server(&[a, b]), whole);
            }

            #[test]
            fn request_like_bytes_split_is_same(
                lines in proptest::collection::vec(
                    prop_oneof![
                        Just("Upgrade: websocket".to_owned()),
                        Just("Connection: Upgrade".to_owned()),
                        Just("Host: h".to_owned()),
                        Just("Sec-WebSocket-Version: 13".to_owned()),
                        Just("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==".to_owned()),
                        "[ -~]{0,20}",
                        "Sec-WebSocket-Extensions: [ -~]{0,20}",
                        "Sec-WebSocket-Protocol: [ -~]{0,20}",
                    ],
                    0..10,
                ),
                eol in prop_oneof![Just("\r\n"), Just("\n")],
                tail in proptest::collection::vec(any::<u8>(), 0..20),
                at in any::<proptest::sample::Index>(),
            ) {
                let mut input = format!("GET /p HTTP/1.1{eol}").into_bytes();
                for l in &lines {
                    input.extend_from_slice(l.as_bytes());
                    input.extend_from_slice(eol.as_bytes());
                }
                input.extend_from_slice(eol.as_bytes());
                input.extend_from_slice(&tail);
                let whole = feed_server(&[&input]);
                let (a, b) = input.split_at(at.index(input.len() + 1));
                prop_assert_eq!(feed_server(&[a, b]), whole.clone());
                let bytes: Vec<&[u8]> = input.chunks(1).collect();
                prop_assert_eq!(feed_server(&bytes), whole);
            }
        }
    }
}
