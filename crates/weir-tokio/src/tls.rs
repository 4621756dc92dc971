//! TLS for `wss://` clients (feature `tls`): tokio-rustls sessions with
//! weir-tls's configuration (provider, roots, ALPN), the TLS handshake run
//! to the end before the WebSocket handshake, so a certificate problem is
//! [`Error::Tls`] and not an I/O error in the middle of the upgrade.
//!
//! A server runs its own `tokio_rustls::TlsAcceptor` (with
//! `weir_tls::ServerTls::config()`) and passes the TLS stream to
//! [`accept_async`](crate::accept_async).

use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use weir_tls::ClientTls;

use crate::client::MaybeTlsStream;
use crate::error::Error;

/// Runs TLS as `tls` says over `tcp`, for `host` (SNI and the name the
/// certificate must carry).
pub(crate) async fn connect(
    tcp: TcpStream,
    host: &str,
    tls: &ClientTls,
) -> Result<MaybeTlsStream, Error> {
    let name = weir_tls::server_name(host).map_err(Error::Tls)?;
    let connector = TlsConnector::from(Arc::clone(tls.config()));
    let stream = connector.connect(name, tcp).await?;
    Ok(MaybeTlsStream::Tls(Box::new(stream)))
}
