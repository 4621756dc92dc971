//! TLS for the blocking adapter (feature `tls`): [`connect_tls`] for
//! clients with their own trust ([`ClientTls`]), [`accept_tls`] and
//! [`accept_tls_with`] for servers ([`ServerTls`]).
//!
//! What TLS to speak (provider, roots, ALPN, PEM loading) is decided in
//! weir-tls; this module only drives its rustls sessions over a blocking
//! `TcpStream`: it runs the TLS handshake to the end before the WebSocket
//! handshake starts, so a certificate problem surfaces as [`Error::Tls`]
//! and not as an I/O error in the middle of the upgrade.

use std::io;
use std::net::TcpStream;

use weir_proto::handshake::{
    AcceptOptions, ClientOptions, Rejection, Response, UpgradeRequest, WsUri,
};
use weir_proto::Config;
use weir_tls::rustls::{ConnectionCommon, SideData, StreamOwned};
use weir_tls::{ClientTls, ServerTls, TlsError};

use crate::client::{client, tcp_connect};
use crate::error::Error;
use crate::server::accept_with;
use crate::stream::{ClientTlsStream, MaybeTls, ServerTlsStream};
use crate::websocket::WebSocket;

/// [`connect_with`](crate::connect_with) with your own TLS settings for
/// `wss://`: which roots to trust (e.g. a self-signed test server's
/// certificate, [`ClientTls::from_ca_file`]) or a whole rustls
/// configuration ([`ClientTls::from_config`]).
///
/// The URI decides: `wss://` runs TLS with `tls` (SNI and the certificate
/// checked for the URI's host, ALPN `http/1.1`), `ws://` stays plain TCP
/// and `tls` is not used.
///
/// ```no_run
/// use weir_std::{ClientOptions, ClientTls, Config};
///
/// let tls = ClientTls::from_ca_file("cert.pem")?;
/// let (mut ws, _response) = weir_std::connect_tls(
///     "wss://127.0.0.1:9001/",
///     &tls,
///     ClientOptions::default(),
///     Config::default(),
/// )?;
/// ws.send("hello")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Errors as [`connect_with`](crate::connect_with); a failed TLS handshake
/// (an untrusted certificate, one for another host) is [`Error::Tls`].
pub fn connect_tls(
    uri: &str,
    tls: &ClientTls,
    options: ClientOptions,
    config: Config,
) -> Result<(WebSocket<MaybeTls>, Response), Error> {
    let stream = open(&WsUri::parse(uri)?, tls)?;
    client(stream, uri, options, config)
}

/// A TCP connection to `uri`'s host, with TLS for `wss://`.
pub(crate) fn open(uri: &WsUri, tls: &ClientTls) -> Result<MaybeTls, Error> {
    let tcp = tcp_connect(uri)?;
    if !uri.secure {
        return Ok(MaybeTls::Plain(tcp));
    }
    let mut stream = ClientTlsStream::new(tls.connect(&uri.host)?, tcp);
    handshake(&mut stream)?;
    Ok(MaybeTls::Tls(Box::new(stream)))
}

/// [`accept`](crate::accept) over TLS: runs the TLS handshake on `tcp` as
/// `tls` says, then the WebSocket handshake, with default configuration
/// and no subprotocol or extension. See [`accept_tls_with`].
pub fn accept_tls(tcp: TcpStream, tls: &ServerTls) -> Result<WebSocket<ServerTlsStream>, Error> {
    accept_tls_with(
        tcp,
        tls,
        Config::default(),
        |_| Ok(AcceptOptions::default()),
    )
}

/// [`accept_with`] over TLS: runs the TLS handshake on `tcp` as `tls` says
/// (its certificate, ALPN `http/1.1`), then reads and answers the upgrade
/// request, `callback` choosing how.
///
/// Set a read timeout on `tcp` first to bound how long a client may take
/// over both handshakes. A failed TLS handshake (a client that does not
/// trust the certificate, or does not speak TLS) is [`Error::Tls`]; the
/// rest as [`accept_with`].
///
/// The WebSocket's transport hooks are built in: reads are bounded
/// through the socket's read timeout, and when the server closes the
/// connection it sends TLS `close_notify`, then closes the socket's write
/// side.
pub fn accept_tls_with<F>(
    tcp: TcpStream,
    tls: &ServerTls,
    config: Config,
    callback: F,
) -> Result<WebSocket<ServerTlsStream>, Error>
where
    F: FnOnce(&UpgradeRequest) -> Result<AcceptOptions, Rejection>,
{
    let mut stream = ServerTlsStream::new(tls.accept()?, tcp);
    handshake(&mut stream)?;
    accept_with(stream, config, callback)
}

/// Runs the TLS handshake to its end. A rustls failure (sent to the peer
/// as an alert) becomes [`Error::Tls`], anything else [`Error::Io`].
fn handshake<C, D>(stream: &mut StreamOwned<C, TcpStream>) -> Result<(), Error>
where
    C: std::ops::DerefMut<Target = ConnectionCommon<D>>,
    D: SideData,
{
    while stream.conn.is_handshaking() {
        if let Err(error) = stream.conn.complete_io(&mut stream.sock) {
            return Err(tls_failure(error));
        }
    }
    Ok(())
}

/// The rustls error inside `error`, if it is one, as [`Error::Tls`].
fn tls_failure(error: io::Error) -> Error {
    let rustls = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<weir_tls::rustls::Error>());
    match rustls {
        Some(rustls) => Error::Tls(TlsError::Rustls(rustls.clone())),
        None => Error::Io(error),
    }
}
