//! The client side: [`connect_async`] over TCP (and TLS, `tls.rs`), or
//! [`client_async`] over any async transport.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use weir_proto::handshake::{ClientHandshake, ClientOptions, Response, WsUri};
use weir_proto::Config;

use crate::error::Error;
use crate::stream::WebSocketStream;

/// Bytes read at a time while reading the response.
const HANDSHAKE_READ_SIZE: usize = 4096;

/// Connects to a `ws://` or `wss://` URI with default options and
/// configuration: resolves the host, connects over TCP with
/// `TCP_NODELAY`, runs TLS for `wss://` (feature `tls`: the server's
/// certificate must chain to Mozilla's roots, bundled, and name the URI's
/// host) and the opening handshake. Returns the stream and the server's
/// `101` response (subprotocol, extensions, headers).
pub async fn connect_async(
    uri: &str,
) -> Result<(WebSocketStream<MaybeTlsStream>, Response), Error> {
    connect_async_with(uri, ClientOptions::default(), Config::default()).await
}

/// [`connect_async`] with handshake options (subprotocols, headers,
/// origin, compression) and a connection configuration (limits,
/// deadlines).
pub async fn connect_async_with(
    uri: &str,
    options: ClientOptions,
    config: Config,
) -> Result<(WebSocketStream<MaybeTlsStream>, Response), Error> {
    let parsed = WsUri::parse(uri)?;
    let tcp = TcpStream::connect((parsed.host.as_str(), parsed.port)).await?;
    tcp.set_nodelay(true)?;
    let io = if parsed.secure {
        secure(tcp, &parsed.host).await?
    } else {
        MaybeTlsStream::Plain(tcp)
    };
    client_async(io, uri, options, config).await
}

#[cfg(feature = "tls")]
async fn secure(tcp: TcpStream, host: &str) -> Result<MaybeTlsStream, Error> {
    crate::tls::connect(tcp, host, &weir_tls::ClientTls::bundled_roots()).await
}

#[cfg(not(feature = "tls"))]
async fn secure(_: TcpStream, _: &str) -> Result<MaybeTlsStream, Error> {
    Err(Error::TlsUnsupported)
}

/// Runs the client's opening handshake for `uri` over `io`, already
/// connected (and speaking TLS for `wss://`): writes the request, reads and
/// checks the response (RFC 6455 section 4.1). Bytes the server sent after
/// its response go to the connection. A non-101 answer is
/// [`Error::Handshake`] with the response's status and headers.
pub async fn client_async<S>(
    mut io: S,
    uri: &str,
    options: ClientOptions,
    config: Config,
) -> Result<(WebSocketStream<S>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut handshake, request) = ClientHandshake::new(uri, options)?;
    io.write_all(&request).await?;
    io.flush().await?;
    let mut buf = vec![0; HANDSHAKE_READ_SIZE];
    let response = loop {
        let n = io.read(&mut buf).await?;
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
    let connection = response.connection(config).map_err(io::Error::other)?;
    Ok((WebSocketStream::from_connection(io, connection), response))
}

/// A client's transport from [`connect_async`]: plain TCP, or TLS over it.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl MaybeTlsStream {
    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(tcp) => tcp,
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.get_ref().0,
        }
    }
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => Pin::new(tls).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => Pin::new(tls).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => Pin::new(tls).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(tcp) => tcp.is_write_vectored(),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => Pin::new(tls).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => Pin::new(tls).poll_shutdown(cx),
        }
    }
}
