//! The client side of the opening handshake (RFC 6455 4.1).
//!
//! [`ClientHandshake::new`] parses the URI, picks a random 16-byte nonce and
//! returns the upgrade request bytes to write. [`ClientHandshake::receive`]
//! then reads the server's response head from bytes fed in any pieces,
//! within a byte limit, and checks it in RFC order: status 101, `Upgrade`,
//! `Connection`, `Sec-WebSocket-Accept`, extensions, subprotocol. Each
//! failure has its own [`HandshakeError`] variant. On success, [`Response`]
//! carries the negotiated subprotocol and extensions, and the bytes the server
//! sent after its head (its first frames), which belong to the frame parser.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;

use super::extensions::{format_extensions, parse_extensions, ExtensionOffer};
use super::handoff::Agreed;
use super::http::{
    self, check_header, check_not_reserved, header, header_once, headers_named, list_contains,
    push_header, shown, Head, HeadBuffer, HeaderList,
};
use super::uri::WsUri;
use super::{accept_key, HandshakeError, DEFAULT_MAX_HEADER_BYTES, MAX_HEADERS, WEBSOCKET_VERSION};
use crate::config::{Config, Role};
use crate::connection::Connection;
use crate::rng::{os_entropy, EntropyError};

/// What the client offers and sends besides the required fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Subprotocols to offer, by preference (RFC 6455 4.1 step 10). Each must
    /// be a token and appear once.
    pub protocols: Vec<String>,
    /// permessage-deflate (RFC 7692) to offer, or `None` to offer no
    /// compression. Default [`DeflateConfig::default`](crate::deflate::DeflateConfig):
    /// the offer `permessage-deflate; client_max_window_bits`, as browsers
    /// send it.
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
    /// Extra header fields, e.g. `Authorization` or `Cookie`. Names must be
    /// tokens, values free of CR/LF, and none may be a field the handshake
    /// sets itself.
    pub headers: Vec<(String, String)>,
    /// The most bytes the response head may take; 0 means
    /// [`DEFAULT_MAX_HEADER_BYTES`].
    pub max_header_bytes: usize,
    /// The `Origin` to send (RFC 6455 4.1 step 8), if any.
    pub origin: Option<String>,
}

// Not derived: with the `deflate` feature, compression is offered by default.
#[cfg_attr(not(feature = "deflate"), allow(clippy::derivable_impls))]
impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            protocols: Vec::new(),
            #[cfg(feature = "deflate")]
            deflate: Some(crate::deflate::DeflateConfig::default()),
            headers: Vec::new(),
            max_header_bytes: 0,
            origin: None,
        }
    }
}

impl ClientOptions {
    /// Offers `protocols`, builder style.
    pub fn with_protocols<P: Into<String>>(
        mut self,
        protocols: impl IntoIterator<Item = P>,
    ) -> Self {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a header field to the request, builder style.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets [`ClientOptions::origin`], builder style.
    pub fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Sets [`ClientOptions::max_header_bytes`], builder style.
    pub fn with_max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Sets [`ClientOptions::deflate`], builder style.
    #[cfg(feature = "deflate")]
    pub fn with_deflate(mut self, deflate: Option<crate::deflate::DeflateConfig>) -> Self {
        self.deflate = deflate;
        self
    }
}

/// Headers the request writes itself.
const REQUEST_RESERVED: [&str; 10] = [
    "Host",
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Origin",
    "Content-Length",
    "Transfer-Encoding",
];

/// A client handshake in progress: the request has been built; the response
/// is read with [`receive`](Self::receive).
#[derive(Debug)]
pub struct ClientHandshake {
    uri: WsUri,
    key: String,
    expected_accept: String,
    options: ClientOptions,
    head: HeadBuffer,
}

impl ClientHandshake {
    /// Starts a handshake for `uri` with a fresh random 16-byte key from the
    /// operating system (RFC 6455 4.1 step 7: "MUST be selected randomly for
    /// each connection"). Returns the handshake and the request bytes to write.
    ///
    /// Fails on an invalid URI or option (see [`with_key`](Self::with_key)),
    /// or with [`HandshakeError::Entropy`] if the OS entropy source fails.
    pub fn new(uri: &str, options: ClientOptions) -> Result<(Self, Vec<u8>), HandshakeError> {
        let mut nonce = [0u8; 16];
        os_entropy(&mut nonce).map_err(HandshakeError::Entropy)?;
        Self::with_key(uri, options, nonce)
    }

    /// Like [`new`](Self::new) with a caller-chosen nonce, for deterministic
    /// tests or a caller-provided random source. Never reuse a nonce.
    ///
    /// Fails with [`HandshakeError::InvalidUri`], [`HandshakeError::InvalidProtocol`]
    /// (a subprotocol that is not a token or is listed twice) or
    /// [`HandshakeError::InvalidHeader`] (including a bad `Origin`).
    pub fn with_key(
        uri: &str,
        options: ClientOptions,
        nonce: [u8; 16],
    ) -> Result<(Self, Vec<u8>), HandshakeError> {
        let uri = WsUri::parse(uri)?;
        for (i, p) in options.protocols.iter().enumerate() {
            let repeated = options.protocols.iter().take(i).any(|q| q == p);
            if !http::is_token(p.as_bytes()) || repeated {
                return Err(HandshakeError::InvalidProtocol {
                    protocol: p.clone(),
                });
            }
        }
        if let Some(origin) = &options.origin {
            check_header("Origin", origin)?;
        }
        for (name, value) in &options.headers {
            check_header(name, value)?;
            check_not_reserved(name, &REQUEST_RESERVED)?;
        }
        let key = base64::engine::general_purpose::STANDARD.encode(nonce);
        let request = build_request(&uri, &key, &options);
        let limit = if options.max_header_bytes == 0 {
            DEFAULT_MAX_HEADER_BYTES
        } else {
            options.max_header_bytes
        };
        let handshake = Self {
            expected_accept: accept_key(key.as_bytes()),
            uri,
            key,
            options,
            head: HeadBuffer::new(limit),
        };
        Ok((handshake, request))
    }

    /// The parsed URI.
    pub fn uri(&self) -> &WsUri {
        &self.uri
    }

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The `Sec-WebSocket-Accept` value the server must answer with.
    pub fn expected_accept(&self) -> &str {
        &self.expected_accept
    }

    /// Feeds response bytes as they arrive.
    ///
    /// - `Ok(None)`: the response head is not complete yet; feed more.
    /// - `Ok(Some(response))`: the server accepted; bytes after its head are
    ///   in [`Response::leftover`].
    /// - `Err(e)`: the handshake failed (RFC 6455 4.1: _Fail the WebSocket
    ///   Connection_). A non-101 answer is
    ///   [`HandshakeError::UnexpectedStatus`], with its headers.
    ///
    /// Once a call has returned `Some` or an error, later calls return
    /// [`HandshakeError::Finished`].
    pub fn receive(&mut self, bytes: &[u8]) -> Result<Option<Response>, HandshakeError> {
        let Some((head, leftover)) = self.head.receive(bytes, parse_response)? else {
            return Ok(None);
        };
        self.check(head, leftover).map(Some)
    }

    /// The request bytes [`ClientHandshake::new`] returned, written again.
    #[cfg(feature = "http")]
    pub(super) fn request_bytes(&self) -> Vec<u8> {
        build_request(&self.uri, &self.key, &self.options)
    }

    /// The RFC 6455 4.1 response checks, in order. Responses parsed from
    /// bytes and responses given as `http` types (`interop.rs`) both come
    /// through here.
    pub(super) fn check(
        &self,
        head: ResponseHead,
        leftover: Bytes,
    ) -> Result<Response, HandshakeError> {
        let headers = head.headers;
        // Step 1: "If the status code received from the server is not 101,
        // the client handles the response per HTTP [RFC2616] procedures."
        if head.status != 101 {
            return Err(HandshakeError::UnexpectedStatus {
                status: head.status,
                reason: head.reason,
                headers,
            });
        }
        if head.version != 1 {
            return Err(HandshakeError::UnsupportedHttpVersion {
                version: http::version_name(head.version),
            });
        }
        // Step 2: |Upgrade| must be an ASCII case-insensitive match for
        // "websocket".
        match header_once(&headers, "Upgrade")? {
            Some(v) if v.eq_ignore_ascii_case(b"websocket") => {}
            other => {
                return Err(HandshakeError::UpgradeNotWebSocket {
                    got: other.map(shown),
                })
            }
        }
        // Step 3: |Connection| must contain the token "Upgrade".
        if !list_contains(&headers, "Connection", "upgrade") {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        // Step 4: |Sec-WebSocket-Accept| must be the expected value, ignoring
        // leading and trailing whitespace. 11.3.3: at most once.
        let accept = header_once(&headers, "Sec-WebSocket-Accept")?;
        if accept != Some(self.expected_accept.as_bytes()) {
            return Err(HandshakeError::AcceptMismatch {
                expected: self.expected_accept.clone(),
                got: accept.map(shown),
            });
        }
        // Step 5: no extension the client did not offer. 4.2.2 step 5.6 lets
        // the server split the list over several fields (11.3.2 says once;
        // accepting both is the safe reading).
        let mut extensions = Vec::new();
        for value in headers_named(&headers, "Sec-WebSocket-Extensions") {
            extensions.extend(parse_extensions(value)?);
        }
        let agreed = Agreed::from_answer(&extensions, &self.options)?;
        // Step 6: no subprotocol the client did not offer; the server selects
        // exactly one (4.2.2 step 4: a single token; 11.3.4: one field).
        let protocol = match header_once(&headers, "Sec-WebSocket-Protocol")? {
            None => None,
            Some(p) if !http::is_token(p) => {
                return Err(HandshakeError::InvalidHeaderValue {
                    name: "Sec-WebSocket-Protocol",
                    reason: format!("{:?} is not a single token", shown(p)),
                })
            }
            Some(p) => {
                let p = shown(p);
                if !self.options.protocols.contains(&p) {
                    return Err(HandshakeError::UnrequestedProtocol { protocol: p });
                }
                Some(p)
            }
        };
        Ok(Response {
            status: head.status,
            reason: head.reason,
            headers,
            protocol,
            extensions,
            agreed,
            leftover,
        })
    }
}

/// Writes the upgrade request (RFC 6455 4.1 steps 1-12).
fn build_request(uri: &WsUri, key: &str, options: &ClientOptions) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(uri.resource.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    push_header(&mut out, "Host", uri.host_header().as_bytes());
    push_header(&mut out, "Upgrade", b"websocket");
    push_header(&mut out, "Connection", b"Upgrade");
    push_header(&mut out, "Sec-WebSocket-Key", key.as_bytes());
    push_header(
        &mut out,
        "Sec-WebSocket-Version",
        WEBSOCKET_VERSION.as_bytes(),
    );
    if let Some(origin) = &options.origin {
        push_header(&mut out, "Origin", origin.as_bytes());
    }
    if !options.protocols.is_empty() {
        push_header(
            &mut out,
            "Sec-WebSocket-Protocol",
            options.protocols.join(", ").as_bytes(),
        );
    }
    let offers = Agreed::offers(options);
    if !offers.is_empty() {
        push_header(
            &mut out,
            "Sec-WebSocket-Extensions",
            format_extensions(&offers).as_bytes(),
        );
    }
    for (name, value) in &options.headers {
        push_header(&mut out, name, value.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A parsed response head, before the checks.
pub(super) struct ResponseHead {
    /// The HTTP minor version (HTTP/1.x).
    pub(super) version: u8,
    pub(super) status: u16,
    pub(super) reason: String,
    pub(super) headers: HeaderList,
}

fn parse_response(buf: &[u8]) -> Result<Head<ResponseHead>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(buf).map_err(http::parse_error)? {
        httparse::Status::Partial => Ok(Head::Partial),
        httparse::Status::Complete(len) => Ok(Head::Complete(
            len,
            ResponseHead {
                version: resp.version.unwrap_or_default(),
                status: resp.code.unwrap_or_default(),
                reason: resp.reason.unwrap_or_default().to_owned(),
                headers: http::owned_headers(resp.headers),
            },
        )),
    }
}

/// A server's accepting `101` response, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    reason: String,
    headers: HeaderList,
    protocol: Option<String>,
    extensions: Vec<ExtensionOffer>,
    agreed: Agreed,
    leftover: Bytes,
}

impl Response {
    /// The status code, always 101.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase as sent.
    pub fn reason(&self) -> &str {
        &self.reason
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

    /// The subprotocol the server selected (the _Subprotocol In Use_), if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The extensions the server selected, in order (the _Extensions In Use_).
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// The agreed permessage-deflate parameters, if the server accepted the
    /// offer.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&crate::deflate::DeflateParams> {
        self.agreed.deflate()
    }

    /// Bytes the server sent after its response head, typically its first
    /// frames. [`Response::connection`] feeds them to the connection.
    pub fn leftover(&self) -> &Bytes {
        &self.leftover
    }

    /// The client's [`Connection`](crate::Connection), built with `config`,
    /// speaking the negotiated extensions, with [`Response::leftover`]
    /// already fed. Its masking keys come from the operating system's
    /// entropy source; fails with [`EntropyError`] if that fails.
    pub fn connection(&self, config: impl Into<Arc<Config>>) -> Result<Connection, EntropyError> {
        let connection = Connection::new(Role::Client, config)?;
        Ok(self.agreed.set_up(connection, &self.leftover))
    }

    /// Like [`Response::connection`], with masking keys from `seed`
    /// (deterministic: for tests, fuzzing, or a caller's own entropy).
    pub fn connection_with_mask_seed(
        &self,
        config: impl Into<Arc<Config>>,
        seed: [u8; 32],
    ) -> Connection {
        let connection = Connection::with_mask_seed(Role::Client, config, seed);
        self.agreed.set_up(connection, &self.leftover)
    }
}

#[cfg(test)]
mod tests {
    use super::super::server::tests::{feed_server, FRAMES};
    use super::super::{AcceptOptions, Incoming};
    use super::*;

    /// The nonce of RFC 6455 4.1 step 7's example.
    const NONCE: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

    fn client(options: ClientOptions) -> (ClientHandshake, String) {
        let (c, req) =
            ClientHandshake::with_key("ws://example.com/chat", options, NONCE).expect("handshake");
        (c, String::from_utf8(req).expect("ascii"))
    }

    /// Two subprotocols, and (with the `deflate` feature) the default offer
    /// of permessage-deflate.
    fn chat_options() -> ClientOptions {
        ClientOptions::default().with_protocols(["chat", "superchat"])
    }

    /// Options that offer no extension.
    fn plain_options() -> ClientOptions {
        #[cfg(feature = "deflate")]
        return ClientOptions::default().with_deflate(None);
        #[cfg(not(feature = "deflate"))]
        ClientOptions::default()
    }

    /// The request line that offers permessage-deflate by default.
    const DEFAULT_OFFER: &str = if cfg!(feature = "deflate") {
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    } else {
        ""
    };

    /// A valid 101 for `NONCE` plus `extra` header lines.
    fn response_with(remove: &[&str], extra: &[&str]) -> Vec<u8> {
        let accept = accept_key(b"AQIDBAUGBwgJCgsMDQ4PEA==");
        let mut lines = vec![
            "HTTP/1.1 101 Switching Protocols".to_owned(),
            "Upgrade: websocket".to_owned(),
            "Connection: Upgrade".to_owned(),
            format!("Sec-WebSocket-Accept: {accept}"),
        ];
        lines.retain(|l| !remove.iter().any(|r| l.starts_with(r)));
        lines.extend(extra.iter().map(|s| s.to_string()));
        let mut out = lines.join("\r\n").into_bytes();
        out.extend_from_slice(b"\r\n\r\n");
        out
    }

    fn error_of(options: ClientOptions, response: &[u8]) -> HandshakeError {
        let (mut c, _) = client(options);
        match c.receive(response) {
            Err(e) => e,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn rfc6455_4_1_request_lines() {
        let (c, req) = client(ClientOptions {
            origin: Some("http://example.com".into()),
            headers: vec![("Authorization".into(), "Bearer t".into())],
            ..chat_options()
        });
        assert_eq!(c.key(), "AQIDBAUGBwgJCgsMDQ4PEA==");
        assert_eq!(c.uri().host, "example.com");
        assert_eq!(
            req,
            format!(
                "GET /chat HTTP/1.1\r\n\
Host: example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\
Sec-WebSocket-Version: 13\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
{DEFAULT_OFFER}\
Authorization: Bearer t\r\n\
\r\n"
            )
        );
        let (_, req) = client(plain_options());
        assert!(!req.contains("Sec-WebSocket-Protocol"));
        assert!(!req.contains("Sec-WebSocket-Extensions"));
        assert!(!req.contains("Origin"));
    }

    #[test]
    fn rfc6455_4_1_host_and_resource_from_uri() {
        let (_, req) =
            ClientHandshake::with_key("wss://[::1]:9001/a?b=c", ClientOptions::default(), NONCE)
                .expect("ok");
        let req = String::from_utf8(req).expect("ascii");
        assert!(req.starts_with("GET /a?b=c HTTP/1.1\r\nHost: [::1]:9001\r\n"));
        assert!(matches!(
            ClientHandshake::with_key("http://h/", ClientOptions::default(), NONCE),
            Err(HandshakeError::InvalidUri { .. })
        ));
    }

    #[test]
    fn rfc6455_4_1_key_is_random_16_bytes() {
        let (a, _) = ClientHandshake::new("ws://h/", ClientOptions::default()).expect("ok");
        let (b, _) = ClientHandshake::new("ws://h/", ClientOptions::default()).expect("ok");
        assert_ne!(a.key(), b.key());
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(a.key())
            .expect("base64");
        assert_eq!(decoded.len(), 16);
        assert_eq!(a.expected_accept(), accept_key(a.key().as_bytes()));
    }

    #[test]
    fn rfc6455_4_1_protocols_must_be_unique_tokens() {
        for bad in [
            vec!["a b"],
            vec![""],
            vec!["a,b"],
            vec!["x", "x"],
            vec!["\u{e9}"],
        ] {
            let options = ClientOptions {
                protocols: bad.iter().map(|s| s.to_string()).collect(),
                ..ClientOptions::default()
            };
            assert!(
                matches!(
                    ClientHandshake::with_key("ws://h/", options, NONCE),
                    Err(HandshakeError::InvalidProtocol { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn request_options_validated() {
        let try_with =
            |options: ClientOptions| ClientHandshake::with_key("ws://h/", options, NONCE);
        let header = |n: &str, v: &str| ClientOptions {
            headers: vec![(n.into(), v.into())],
            ..ClientOptions::default()
        };
        for (n, v) in [
            ("X", "a\r\nb"),
            ("X Y", "a"),
            ("Sec-WebSocket-Key", "x"),
            ("host", "x"),
            ("origin", "x"),
        ] {
            assert!(
                matches!(
                    try_with(header(n, v)),
                    Err(HandshakeError::InvalidHeader { .. })
                ),
                "{n}"
            );
        }
        assert!(matches!(
            try_with(ClientOptions {
                origin: Some("a\nb".into()),
                ..ClientOptions::default()
            }),
            Err(HandshakeError::InvalidHeader { .. })
        ));
    }

    #[test]
    fn rfc6455_4_1_valid_response_accepted() {
        let (mut c, _) = client(chat_options());
        let resp = c
            .receive(&response_with(
                &[],
                &["Sec-WebSocket-Protocol: chat", "Set-Cookie: a=b"],
            ))
            .expect("ok")
            .expect("complete");
        assert_eq!(resp.status(), 101);
        assert_eq!(resp.reason(), "Switching Protocols");
        assert_eq!(resp.protocol(), Some("chat"));
        assert!(resp.extensions().is_empty());
        assert_eq!(resp.header("set-cookie"), Some(&b"a=b"[..]));
        assert_eq!(resp.headers().count(), 5);
        assert!(resp.leftover().is_empty());
        assert_eq!(c.receive(b""), Err(HandshakeError::Finished));
    }

    #[test]
    fn rfc6455_4_1_case_and_whitespace_tolerated() {
        let (mut c, _) = client(ClientOptions::default());
        let accept = accept_key(b"AQIDBAUGBwgJCgsMDQ4PEA==");
        let resp = format!(
            "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n\
sec-websocket-accept:   {accept}  \r\n\r\n"
        );
        assert!(c.receive(resp.as_bytes()).expect("ok").is_some());
    }

    #[test]
    fn rfc6455_4_1_status_must_be_101() {
        let resp =
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n";
        match error_of(ClientOptions::default(), resp) {
            HandshakeError::UnexpectedStatus {
                status,
                reason,
                headers,
            } => {
                assert_eq!(status, 401);
                assert_eq!(reason, "Unauthorized");
                assert_eq!(
                    http::header(&headers, "www-authenticate"),
                    Some(&b"Basic"[..])
                );
            }
            other => panic!("{other:?}"),
        }
        let resp = b"HTTP/1.1 200 OK\r\nUpgrade: websocket\r\n\r\n";
        assert!(matches!(
            error_of(ClientOptions::default(), resp),
            HandshakeError::UnexpectedStatus { status: 200, .. }
        ));
        let resp = String::from_utf8(response_with(&[], &[]))
            .expect("ascii")
            .replacen("HTTP/1.1", "HTTP/1.0", 1);
        assert_eq!(
            error_of(ClientOptions::default(), resp.as_bytes()),
            HandshakeError::UnsupportedHttpVersion {
                version: "HTTP/1.0".into()
            }
        );
    }

    #[test]
    fn rfc6455_4_1_upgrade_must_be_websocket() {
        assert_eq!(
            error_of(ClientOptions::default(), &response_with(&["Upgrade"], &[])),
            HandshakeError::UpgradeNotWebSocket { got: None }
        );
        assert_eq!(
            error_of(
                ClientOptions::default(),
                &response_with(&["Upgrade"], &["Upgrade: h2c"])
            ),
            HandshakeError::UpgradeNotWebSocket {
                got: Some("h2c".into())
            }
        );
        assert_eq!(
            error_of(
                ClientOptions::default(),
                &response_with(&[], &["Upgrade: websocket"])
            ),
            HandshakeError::DuplicateHeader { name: "Upgrade" }
        );
        assert_eq!(
            error_of(
                ClientOptions::default(),
                &response_with(&["Upgrade"], &["Upgrade: websocket, h2c"])
            ),
            HandshakeError::UpgradeNotWebSocket {
                got: Some("websocket, h2c".into())
            }
        );
    }

    #[test]
    fn rfc6455_4_1_connection_must_contain_upgrade() {
        assert_eq!(
            error_of(
                ClientOptions::default(),
                &response_with(&["Connection"], &[])
            ),
            HandshakeError::MissingConnectionUpgrade
        );
        assert_eq!(
            error_of(
                ClientOptions::default(),
                &response_with(&["Connection"], &["Connection: close"])
            ),
            HandshakeError::MissingConnectionUpgrade
        );
    }

    #[test]
    fn rfc6455_4_1_accept_must_match() {
        let expected = accept_key(b"AQIDBAUGBwgJCgsMDQ4PEA==");
        assert_eq!(
            error_of(
                ClientOptions::default(),
                &response_with(&["Sec-WebSocket-Accept"], &[])
            ),
            HandshakeError::AcceptMismatch {
                expected: expected.clone(),
                got: None
            }
        );
        assert_eq!(
            error_of(
                ClientOptions::default(),
                &response_with(
                    &["Sec-WebSocket-Accept"],
                    &["Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]
                )
            ),
            HandshakeError::AcceptMismatch {
                expected: expected.clone(),
                got: Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into())
            }
        );
        // Exact: case matters in base64.
        let lower = format!("Sec-WebSocket-Accept: {}", expected.to_ascii_lowercase());
        assert!(matches!(
            error_of(
                ClientOptions::default(),
                &response_with(&["Sec-WebSocket-Accept"], &[&lower])
            ),
            HandshakeError::AcceptMismatch { .. }
        ));
        // 11.3.3: at most once.
        let again = format!("Sec-WebSocket-Accept: {expected}");
        assert_eq!(
            error_of(ClientOptions::default(), &response_with(&[], &[&again])),
            HandshakeError::DuplicateHeader {
                name: "Sec-WebSocket-Accept"
            }
        );
    }

    #[test]
    fn rfc6455_4_1_extension_must_have_been_offered() {
        assert_eq!(
            error_of(
                chat_options(),
                &response_with(&[], &["Sec-WebSocket-Extensions: x-webkit-deflate-frame"])
            ),
            HandshakeError::UnrequestedExtension {
                name: "x-webkit-deflate-frame".into()
            }
        );
        assert!(matches!(
            error_of(
                plain_options(),
                &response_with(&[], &["Sec-WebSocket-Extensions: permessage-deflate"])
            ),
            HandshakeError::UnrequestedExtension { .. }
        ));
        assert!(matches!(
            error_of(
                chat_options(),
                &response_with(&[], &["Sec-WebSocket-Extensions: permessage-deflate;"])
            ),
            HandshakeError::InvalidHeaderValue {
                name: "Sec-WebSocket-Extensions",
                ..
            }
        ));
    }

    #[test]
    fn rfc6455_4_1_protocol_must_have_been_offered_and_single() {
        assert_eq!(
            error_of(
                chat_options(),
                &response_with(&[], &["Sec-WebSocket-Protocol: mqtt"])
            ),
            HandshakeError::UnrequestedProtocol {
                protocol: "mqtt".into()
            }
        );
        assert_eq!(
            error_of(
                ClientOptions::default(),
                &response_with(&[], &["Sec-WebSocket-Protocol: chat"])
            ),
            HandshakeError::UnrequestedProtocol {
                protocol: "chat".into()
            }
        );
        assert!(matches!(
            error_of(
                chat_options(),
                &response_with(&[], &["Sec-WebSocket-Protocol: chat, superchat"])
            ),
            HandshakeError::InvalidHeaderValue {
                name: "Sec-WebSocket-Protocol",
                ..
            }
        ));
        assert!(matches!(
            error_of(
                chat_options(),
                &response_with(&[], &["Sec-WebSocket-Protocol:"])
            ),
            HandshakeError::InvalidHeaderValue { .. }
        ));
        assert_eq!(
            error_of(
                chat_options(),
                &response_with(
                    &[],
                    &[
                        "Sec-WebSocket-Protocol: chat",
                        "Sec-WebSocket-Protocol: chat"
                    ]
                )
            ),
            HandshakeError::DuplicateHeader {
                name: "Sec-WebSocket-Protocol"
            }
        );
    }

    #[test]
    fn response_over_limit_is_an_error() {
        let limit = 256;
        let (mut c, _) = client(ClientOptions {
            max_header_bytes: limit,
            ..ClientOptions::default()
        });
        let mut resp = response_with(&[], &[]);
        resp.truncate(resp.len() - 2);
        while resp.len() < 2 * limit {
            resp.extend_from_slice(b"X-Pad: 0123456789\r\n");
        }
        let mut result = Ok(None);
        for chunk in resp.chunks(7) {
            result = c.receive(chunk);
            assert!(c.head.buffered() <= limit);
            if !matches!(result, Ok(None)) {
                break;
            }
        }
        assert_eq!(result, Err(HandshakeError::HeadersTooLarge { limit }));
        let extra: Vec<String> = (0..MAX_HEADERS).map(|i| format!("X-{i}: v")).collect();
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        assert_eq!(
            error_of(ClientOptions::default(), &response_with(&[], &extra)),
            HandshakeError::TooManyHeaders { limit: MAX_HEADERS }
        );
    }

    /// Feeds a fresh client (NONCE, chat options) the given pieces, like
    /// `feed_server`.
    fn feed_client(pieces: &[&[u8]]) -> Result<Option<Response>, HandshakeError> {
        let (mut c, _) = client(chat_options());
        for (i, piece) in pieces.iter().enumerate() {
            match c.receive(piece) {
                Ok(None) => {}
                Ok(Some(mut resp)) => {
                    // Later pieces go to the frame layer, after the leftover.
                    let mut all = resp.leftover.to_vec();
                    for later in pieces.iter().skip(i + 1) {
                        all.extend_from_slice(later);
                    }
                    resp.leftover = Bytes::from(all);
                    return Ok(Some(resp));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Empty lines before the status line are skipped, never taken for the
    /// end of the head, wherever the bytes are split: the parser must not
    /// run on whatever part of the status line had come by then.
    #[test]
    fn leading_empty_lines_split_anywhere_same() {
        let mut good = b"\r\n\n".to_vec();
        good.extend_from_slice(&response_with(&[], &[]));
        // What proptest found: the head never ends, and the bytes after the
        // zeros make the parser fail, but only once they have come.
        let mut bad = b"\n\n".to_vec();
        bad.extend_from_slice(&[0; 118]);
        bad.extend_from_slice(&[104, 147, 153, 156, 239, 244, 136, 80, 62, 109, 223]);
        for input in [good, bad] {
            let whole = feed_client(&[&input]);
            for at in 0..=input.len() {
                let (a, b) = input.split_at(at);
                assert_eq!(feed_client(&[a, b]), whole, "split at {at}");
            }
        }
        let mut good = b"\r\n\n".to_vec();
        good.extend_from_slice(&response_with(&[], &[]));
        assert!(matches!(feed_client(&[&good]), Ok(Some(_))));
    }

    #[test]
    fn split_anywhere_same_response_and_leftover() {
        let mut input = response_with(&[], &["Sec-WebSocket-Protocol: superchat"]);
        input.extend_from_slice(FRAMES);
        let whole = feed_client(&[&input]);
        let resp = whole.clone().expect("ok").expect("complete");
        assert_eq!(&resp.leftover()[..], FRAMES);
        assert_eq!(resp.protocol(), Some("superchat"));
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(feed_client(&bytes), whole);
        for at in 0..=input.len() {
            let (a, b) = input.split_at(at);
            assert_eq!(feed_client(&[a, b]), whole, "split at {at}");
        }
    }

    #[test]
    fn rfc6455_4_round_trip_with_own_server() {
        let (mut c, request) = ClientHandshake::new(
            "ws://localhost:9001/echo?x=1",
            ClientOptions {
                origin: Some("http://localhost".into()),
                ..chat_options()
            },
        )
        .expect("client");
        let Ok(Some(Incoming::Upgrade(up))) = feed_server(&[&request]) else {
            panic!("server did not see an upgrade");
        };
        assert_eq!(up.request().path(), "/echo");
        assert_eq!(up.request().query(), Some("x=1"));
        assert_eq!(up.request().header("host"), Some(&b"localhost:9001"[..]));
        assert_eq!(up.key(), c.key());
        assert_eq!(up.protocols(), ["chat", "superchat"]);
        let options = AcceptOptions::default()
            .with_protocol("superchat")
            .with_header("X-Server", "weir");
        let mut answer = up
            .accept(&options, Config::default())
            .expect("accept")
            .response;
        answer.extend_from_slice(b"\x81\x02hi");
        let resp = c.receive(&answer).expect("valid").expect("complete");
        assert_eq!(resp.protocol(), Some("superchat"));
        assert_eq!(resp.header("x-server"), Some(&b"weir"[..]));
        assert_eq!(&resp.leftover()[..], b"\x81\x02hi");
        #[cfg(feature = "deflate")]
        {
            assert_eq!(
                format_extensions(up.extensions()),
                "permessage-deflate; client_max_window_bits"
            );
            assert_eq!(
                format_extensions(resp.extensions()),
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
            );
            let params = resp.deflate().expect("negotiated");
            assert!(params.server_no_context_takeover && params.client_no_context_takeover);
        }
        let mut conn = resp.connection_with_mask_seed(Config::default(), [3; 32]);
        let event = conn.poll_event().expect("an event").expect("valid");
        assert_eq!(event, crate::Event::Message("hi".into()));
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
                let whole = feed_client(&[&bytes]);
                let (a, b) = bytes.split_at(at.index(bytes.len() + 1));
                prop_assert_eq!(feed_client(&[a, b]), whole);
            }

            #[test]
            fn response_like_bytes_split_is_same(
                status in prop_oneof![Just("101".to_owned()), "[0-9]{3}"],
                lines in proptest::collection::vec(
                    prop_oneof![
                        Just("Upgrade: websocket".to_owned()),
                        Just("Connection: Upgrade".to_owned()),
                        Just(format!("Sec-WebSocket-Accept: {}", accept_key(b"AQIDBAUGBwgJCgsMDQ4PEA=="))),
                        Just("Sec-WebSocket-Protocol: chat".to_owned()),
                        "[ -~]{0,20}",
                        "Sec-WebSocket-Extensions: [ -~]{0,20}",
                        "Sec-WebSocket-Protocol: [ -~]{0,12}",
                    ],
                    0..8,
                ),
                tail in proptest::collection::vec(any::<u8>(), 0..20),
                at in any::<proptest::sample::Index>(),
            ) {
                let mut input = format!("HTTP/1.1 {status} X\r\n").into_bytes();
                for l in &lines {
                    input.extend_from_slice(l.as_bytes());
                    input.extend_from_slice(b"\r\n");
                }
                input.extend_from_slice(b"\r\n");
                input.extend_from_slice(&tail);
                let whole = feed_client(&[&input]);
                let (a, b) = input.split_at(at.index(input.len() + 1));
                prop_assert_eq!(feed_client(&[a, b]), whole.clone());
                let bytes: Vec<&[u8]> = input.chunks(1).collect();
                prop_assert_eq!(feed_client(&bytes), whole);
            }
        }
    }
}
