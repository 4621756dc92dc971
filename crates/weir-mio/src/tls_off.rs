//! Without the `tls` feature: a TLS session that cannot exist, so that the
//! rest of the loop handles "no TLS" with the same code (`Option::None`)
//! and no `cfg` of its own.

use std::io::{self, IoSlice};

use bytes::BytesMut;
use mio::net::TcpStream;

/// Never true: without the feature nothing fails at TLS.
pub(crate) fn is_tls_failure(_error: &io::Error) -> bool {
    false
}

/// No TLS listener can be made without the feature.
pub(crate) enum ServerTlsConfig {}

/// No client trust can be made without the feature.
pub(crate) enum ClientTlsConfig {}

/// `wss://` without the feature: [`Error::TlsUnsupported`](crate::Error::TlsUnsupported).
pub(crate) fn client_session(
    _trust: Option<&ClientTlsConfig>,
    _host: &str,
) -> Result<TlsSession, crate::Error> {
    Err(crate::Error::TlsUnsupported)
}

/// No TLS session can be made without the feature.
pub(crate) enum TlsSession {}

impl TlsSession {
    /// Never called: there is no listener configuration.
    pub(crate) fn accept(tls: &ServerTlsConfig) -> io::Result<Self> {
        match *tls {}
    }

    /// Never called: there is no session.
    pub(crate) fn read(&mut self, _socket: &TcpStream, _buf: &mut BytesMut) -> io::Result<usize> {
        match *self {}
    }

    /// Never called: there is no session.
    pub(crate) fn write(
        &mut self,
        _socket: &TcpStream,
        _slices: &[IoSlice<'_>],
    ) -> io::Result<usize> {
        match *self {}
    }

    /// Never called: there is no session.
    pub(crate) fn write_records(&mut self, _socket: &TcpStream) -> io::Result<()> {
        match *self {}
    }

    /// Never called: there is no session.
    pub(crate) fn pending(&self) -> usize {
        match *self {}
    }

    /// Never called: there is no session.
    pub(crate) fn close_notify(&mut self, _socket: &TcpStream) {
        match *self {}
    }
}
