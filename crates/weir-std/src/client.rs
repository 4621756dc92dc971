//! The client side: [`connect`] over TCP, or [`client`] over any stream.

use std::io::{self, Read, Write};
use std::net::TcpStream;

use weir_proto::handshake::{ClientHandshake, ClientOptions, Response, WsUri};
use weir_proto::Config;

use crate::error::Error;
use crate::websocket::{read_some, write_all, TransportFns, WebSocket, READ_BUF_SIZE};

/// Connects to a `ws://` URI with default options and configuration.
///
/// Resolves the host, connects over TCP (trying each address in turn), sets
/// `TCP_NODELAY` and runs the opening handshake. Returns the WebSocket and
/// the server's `101` response (its subprotocol, extensions and headers).
///
/// A `wss://` URI fails with [`Error::TlsUnsupported`]: open the TLS stream
/// yourself and pass it to [`client`].
pub fn connect(uri: &str) -> Result<(WebSocket<TcpStream>, Response), Error> {
    connect_with(uri, ClientOptions::default(), Config::default())
}

/// [`connect`] with handshake options (subprotocols, extra headers, origin)
/// and a connection configuration (limits, streaming mode).
pub fn connect_with(
    uri: &str,
    options: ClientOptions,
    config: Config,
) -> Result<(WebSocket<TcpStream>, Response), Error> {
    let parsed = WsUri::parse(uri)?;
    if parsed.secure {
        return Err(Error::TlsUnsupported);
    }
    let stream = TcpStream::connect((parsed.host.as_str(), parsed.port))?;
    stream.set_nodelay(true)?;
    client(stream, uri, options, config)
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
