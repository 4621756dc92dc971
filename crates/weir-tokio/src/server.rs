//! The server side of the opening handshake over an async transport:
//! [`accept_async`] and [`accept_with`]. The answer is the core's
//! ([`weir_proto::handshake::decide`]); this file reads the request and
//! writes the answer.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use weir_proto::handshake::{
    decide, AcceptOptions, Decision, Rejection, ServerHandshake, UpgradeRequest,
};
use weir_proto::Config;

use crate::error::Error;
use crate::stream::WebSocketStream;

/// Bytes read at a time while reading the request.
const HANDSHAKE_READ_SIZE: usize = 4096;

/// Accepts a WebSocket upgrade on `io` with the default configuration and
/// accept options (permessage-deflate accepted if offered, no
/// subprotocol). See [`accept_with`].
pub async fn accept_async<S>(io: S) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with(io, Config::default(), |_| Ok(AcceptOptions::default())).await
}

/// Reads the client's request on `io` and answers it.
///
/// `callback` sees a valid upgrade request (path, query, headers, offered
/// subprotocols) and returns the [`AcceptOptions`] to accept with, or a
/// [`Rejection`] to refuse. Bytes the client sent after its request go to
/// the connection.
///
/// Errors, each after the HTTP answer is written (best effort):
/// [`Error::Handshake`] for an invalid request (400, 405, 426, 431, 505)
/// or options the request does not allow (500); [`Error::NotWebSocket`]
/// for a plain HTTP request (426); [`Error::Rejected`] for a rejection;
/// [`Error::Io`] if the transport fails or ends first. Bound the time a
/// client may take with `tokio::time::timeout`.
pub async fn accept_with<S, F>(
    mut io: S,
    config: Config,
    callback: F,
) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&UpgradeRequest) -> Result<AcceptOptions, Rejection>,
{
    let mut handshake = ServerHandshake::new();
    let mut buf = vec![0; HANDSHAKE_READ_SIZE];
    let incoming = loop {
        let n = io.read(&mut buf).await?;
        if n == 0 {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the client closed the connection during the opening handshake",
            )));
        }
        match handshake.receive(&buf[..n]) {
            Ok(None) => {}
            Ok(Some(incoming)) => break Ok(incoming),
            Err(error) => break Err(error),
        }
    };
    match decide(incoming, config, callback) {
        Decision::Accept { accepted, .. } => {
            io.write_all(&accepted.response).await?;
            io.flush().await?;
            Ok(WebSocketStream::from_connection(io, accepted.connection))
        }
        Decision::Refuse { response, refusal } => {
            // Best effort: the refusal is the error either way.
            let _ = io.write_all(&response).await;
            let _ = io.shutdown().await;
            Err(Error::refused(refusal))
        }
    }
}
