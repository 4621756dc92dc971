//! The streams this crate opens itself: [`MaybeTls`], what
//! [`connect`](crate::connect) returns (plain TCP for `ws://`, TLS over TCP
//! for `wss://`), and, with the `tls` feature, the rustls stream types of
//! both sides ([`ClientTlsStream`], [`ServerTlsStream`], the latter from
//! [`accept_tls`](crate::accept_tls)).
//!
//! Each knows its TCP socket, so the WebSocket's transport hooks reach it:
//! read timeouts are set on the socket under the TLS session, and a TLS
//! shutdown sends `close_notify` before closing the socket's write side.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::websocket::KnownSocket;

/// A client's stream: plain TCP (`ws://`) or TLS over TCP (`wss://`), as
/// [`connect`](crate::connect) returns it.
///
/// It reads and writes like the stream inside. To change socket options
/// (timeouts, `TCP_NODELAY`), use [`MaybeTls::tcp`] through
/// [`WebSocket::get_mut`](crate::WebSocket::get_mut). The `Tls` variant
/// exists with the `tls` feature (on by default), hence
/// `#[non_exhaustive]`.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTls {
    /// Plain TCP, for `ws://`.
    Plain(TcpStream),
    /// TLS over TCP, for `wss://`: the rustls session (peer certificates,
    /// negotiated protocol) and its socket. Boxed: a TLS session is large.
    #[cfg(feature = "tls")]
    Tls(Box<ClientTlsStream>),
}

/// A client's TLS stream: a rustls client session over TCP.
#[cfg(feature = "tls")]
pub type ClientTlsStream =
    weir_tls::rustls::StreamOwned<weir_tls::rustls::ClientConnection, TcpStream>;

/// A server's TLS stream: a rustls server session over TCP, as
/// [`accept_tls`](crate::accept_tls) uses it.
#[cfg(feature = "tls")]
pub type ServerTlsStream =
    weir_tls::rustls::StreamOwned<weir_tls::rustls::ServerConnection, TcpStream>;

impl MaybeTls {
    /// The TCP socket (under the TLS session, for `wss://`): for its
    /// addresses and options. Reading or writing it directly corrupts the
    /// connection.
    ///
    /// Change the read timeout through
    /// [`WebSocket::get_mut`](crate::WebSocket::get_mut), e.g.
    /// `ws.get_mut().tcp().set_read_timeout(...)`, so the WebSocket learns
    /// it (see there).
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(tcp) => tcp,
            #[cfg(feature = "tls")]
            Self::Tls(tls) => &tls.sock,
        }
    }
}

impl Read for MaybeTls {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.read(buf),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for MaybeTls {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.write(buf),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.write_vectored(bufs),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => tcp.flush(),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.flush(),
        }
    }
}

impl KnownSocket for MaybeTls {
    fn shut_down(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => tcp.shut_down(),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.shut_down(),
        }
    }

    fn swap_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<Option<Duration>> {
        match self {
            Self::Plain(tcp) => tcp.swap_read_timeout(timeout),
            #[cfg(feature = "tls")]
            Self::Tls(tls) => tls.swap_read_timeout(timeout),
        }
    }
}

/// Both sides' rustls streams over TCP: the timeout is the socket's; a
/// shutdown sends `close_notify`, then closes the socket's write side only,
/// so the peer's own `close_notify` can still be read.
#[cfg(feature = "tls")]
impl<C, D> KnownSocket for weir_tls::rustls::StreamOwned<C, TcpStream>
where
    C: std::ops::DerefMut<Target = weir_tls::rustls::ConnectionCommon<D>> + 'static,
    D: weir_tls::rustls::SideData + 'static,
{
    fn shut_down(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        // The socket's write side closes even when the alert cannot leave.
        let notified = self.flush();
        let shut = self.sock.shutdown(std::net::Shutdown::Write);
        notified.and(shut)
    }

    fn swap_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<Option<Duration>> {
        self.sock.swap_read_timeout(timeout)
    }
}
