//! The server side: [`accept`] and [`accept_with`] over any stream.

use std::io::{self, Read, Write};

use weir_proto::handshake::{
    decide, AcceptOptions, Decision, Refusal, Rejection, ServerHandshake, UpgradeRequest,
};
use weir_proto::Config;

use crate::error::Error;
use crate::websocket::{read_some, write_all, TransportFns, WebSocket, READ_BUF_SIZE};

/// Accepts a WebSocket upgrade on `stream` with default configuration,
/// selecting no subprotocol or extension. See [`accept_with`].
pub fn accept<S: Read + Write + 'static>(stream: S) -> Result<WebSocket<S>, Error> {
    accept_with(stream, Config::default(), |_| Ok(AcceptOptions::default()))
}

/// Reads the client's opening handshake on `stream` and answers it.
///
/// `callback` sees the valid upgrade request (path, query, headers, offered
/// subprotocols) and returns the [`AcceptOptions`] to accept with, or a
/// [`Rejection`] to refuse. Bytes the client sent after its request are kept
/// for the WebSocket.
///
/// Errors (each after writing the HTTP answer, best effort):
/// - an invalid upgrade request: its
///   [`HandshakeError::response`](weir_proto::handshake::HandshakeError::response)
///   (400, 405, 426, 431 or 505), then [`Error::Handshake`];
/// - a plain HTTP request without `Upgrade: websocket`: `426 Upgrade
///   Required` with `Upgrade: websocket`, then [`Error::NotWebSocket`]
///   carrying the request;
/// - a rejection: its answer, then [`Error::Rejected`] with its status;
/// - accept options the request does not allow (a subprotocol the client
///   did not offer) or an invalid rejection: 500, then [`Error::Handshake`];
/// - EOF before the request ended: [`Error::Io`] (`UnexpectedEof`).
///
/// Set a read timeout on `stream` first to bound how long a client may take
/// to send its request.
pub fn accept_with<S, F>(mut stream: S, config: Config, callback: F) -> Result<WebSocket<S>, Error>
where
    S: Read + Write + 'static,
    F: FnOnce(&UpgradeRequest) -> Result<AcceptOptions, Rejection>,
{
    let mut handshake = ServerHandshake::new();
    let mut buf = vec![0; READ_BUF_SIZE];
    let incoming = loop {
        let n = read_some(&mut stream, &mut buf)?;
        if n == 0 {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the client closed the connection during the opening handshake",
            )));
        }
        match handshake.receive(&buf[..n]) {
            Ok(None) => {}
            Ok(Some(incoming)) => break Ok(incoming),
            Err(error) => break Err(error),
        }
    };
    let accepted = match decide(incoming, config, callback) {
        Decision::Accept { accepted, .. } => accepted,
        Decision::Refuse { response, refusal } => {
            let _ = write_all(&mut stream, &response);
            return Err(match refusal {
                Refusal::NotWebSocket(request) => Error::NotWebSocket(request),
                Refusal::Invalid(error) => Error::Handshake(error),
                Refusal::Rejected(status) => Error::Rejected(status),
            });
        }
    };
    write_all(&mut stream, &accepted.response)?;
    Ok(WebSocket::from_parts(
        stream,
        accepted.connection,
        buf,
        TransportFns::for_known_socket(),
    ))
}
