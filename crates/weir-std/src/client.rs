//! The client side: [`connect`] over TCP (and TLS, see `tls.rs`), or
//! [`client`] over any stream.

use std::io::{self, Read, Write};
use std::net::TcpStream;

use weir_proto::handshake::{ClientHandshake, ClientOptions, Response, WsUri};
use weir_proto::Config;

use crate::error::Error;
use crate::stream::MaybeTls;
use crate::websocket::{read_some, write_all, TransportFns, WebSocket, READ_BUF_SIZE};

/// Connects to a `ws://` or `wss://` URI with default options and
/// configuration.
///
/// Resolves the host, connects over TCP (trying each address in turn), sets
/// `TCP_NODELAY`, runs TLS for `wss://` and the opening handshake. Returns
/// the WebSocket and the server's `101` response (its subprotocol,
/// extensions and headers).
///
/// For `wss://` (feature `tls`, on by default) the server's certificate
/// must chain to one of Mozilla's roots (bundled) and be valid for the
/// URI's host, which is also sent as SNI; ALPN offers `http/1.1`. To trust
/// a self-signed test server or a private CA instead, use
/// [`connect_tls`](crate::connect_tls). Without the `tls` feature, a
/// `wss://` URI fails with [`Error::TlsUnsupported`].
pub fn connect(uri: &str) -> Result<(WebSocket<MaybeTls>, Response), Error> {
    connect_with(uri, ClientOptions::default(), Config::default())
}

/// [`connect`] with handshake options (subprotocols, extra headers, origin)
/// and a connection configuration (limits, streaming mode, deadlines).
///
/// TLS settings (custom roots for `wss://`) go to
/// [`connect_tls`](crate::connect_tls), which takes these two as well.
pub fn connect_with(
    uri: &str,
    options: ClientOptions,
    config: Config,
) -> Result<(WebSocket<MaybeTls>, Response), Error> {
    let stream = open(&WsUri::parse(uri)?)?;
    client(stream, uri, options, config)
}

/// A TCP connection to `uri`'s host, with TLS trusting the bundled roots
/// for `wss://`.
#[cfg(feature = "tls")]
fn open(uri: &WsUri) -> Result<MaybeTls, Error> {
    crate::tls::open(uri, &weir_tls::ClientTls::bundled_roots())
}

/// A TCP connection to `uri`'s host; `wss://` needs the `tls` feature.
#[cfg(not(feature = "tls"))]
fn open(uri: &WsUri) -> Result<MaybeTls, Error> {
    if uri.secure {
        return Err(Error::TlsUnsupported);
    }
    Ok(MaybeTls::Plain(tcp_connect(uri)?))
}

/// Connects over TCP to `uri`'s host and port (each resolved address in
/// turn) and sets `TCP_NODELAY`: a WebSocket writes whole frames, and
/// small ones (pongs, Close) must not wait.
pub(crate) fn tcp_connect(uri: &WsUri) -> io::Result<TcpStream> {
    let stream = TcpStream::connect((uri.host.as_str(), uri.port))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Runs the client's opening handshake for `uri` over `stream`, which is
/// already connected (and, for `wss://`, already speaking TLS).
///
/// Writes the upgrade request, reads the response and checks it (RFC 6455
/// section 4.1). Bytes the server sent after its response are kept for the
/// WebSocket. A non-101 answer fails with [`Error::Handshake`] holding
/// [`HandshakeError::UnexpectedStatus`](weir_proto::handshake::HandshakeError::UnexpectedStatus)
/// and the response's headers. A read timeout on `stream` bounds the wait.
pub fn client<S: Read + Write + 'static>(
    mut stream: S,
    uri: &str,
    options: ClientOptions,
    config: Config,
) -> Result<(WebSocket<S>, Response), Error> {
    let (mut handshake, request) = ClientHandshake::new(uri, options)?;
    write_all(&mut stream, &request)?;
    let mut buf = vec![0; READ_BUF_SIZE];
    let response = loop {
        let n = read_some(&mut stream, &mut buf)?;
        if n == 0 {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection during the opening handshake",
            )));
        }
        if let Some(response) = handshake.receive(&buf[..n])? {
            break response;
        }
    };
    let conn = response.connection(config)?;
    let ws = WebSocket::from_parts(stream, conn, buf, TransportFns::for_known_socket());
    Ok((ws, response))
}
