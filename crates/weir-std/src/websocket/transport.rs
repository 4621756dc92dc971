//! What the WebSocket does to its transport besides reading and writing:
//! shut it down, and change its read timeout. Both are plain function
//! pointers, built in for the socket types this crate knows (`TcpStream`,
//! Unix sockets) and settable for any other stream (a TLS stream), so the
//! WebSocket stays generic over `Read + Write` alone.

use std::any::{Any, TypeId};
use std::io;
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// Shuts the transport down (both directions): called when this endpoint
/// must close the connection (see
/// [`WebSocket::set_shutdown`](super::WebSocket::set_shutdown)).
pub type ShutdownFn<S> = fn(&mut S) -> io::Result<()>;

/// Sets the transport's read timeout and returns the one it replaced, as
/// [`TcpStream::set_read_timeout`](std::net::TcpStream::set_read_timeout)
/// and [`TcpStream::read_timeout`](std::net::TcpStream::read_timeout) do
/// together. See
/// [`WebSocket::set_read_timeout_fn`](super::WebSocket::set_read_timeout_fn).
pub type ReadTimeoutFn<S> = fn(&mut S, Option<Duration>) -> io::Result<Option<Duration>>;

/// What the WebSocket does to its transport besides reading and writing.
pub(crate) struct TransportFns<S> {
    pub(super) shutdown: Option<ShutdownFn<S>>,
    pub(super) read_timeout: Option<ReadTimeoutFn<S>>,
}

impl<S> TransportFns<S> {
    /// For a stream of unknown type: nothing.
    pub(super) fn none() -> Self {
        Self {
            shutdown: None,
            read_timeout: None,
        }
    }
}

impl<S: 'static> TransportFns<S> {
    /// Built in for [`TcpStream`] and, on Unix, `UnixStream`; nothing for
    /// other streams.
    pub(crate) fn for_known_socket() -> Self {
        Self {
            shutdown: default_shutdown(),
            read_timeout: default_read_timeout_fn(),
        }
    }
}

/// Whether `S` is [`TcpStream`] or, on Unix, `UnixStream`.
fn is_known_socket<S: 'static>() -> bool {
    let id = TypeId::of::<S>();
    #[cfg(unix)]
    let unix = id == TypeId::of::<std::os::unix::net::UnixStream>();
    #[cfg(not(unix))]
    let unix = false;
    id == TypeId::of::<TcpStream>() || unix
}

/// The shutdown hook for streams whose type is known here: [`TcpStream`]
/// and, on Unix, `UnixStream`. Other streams are left alone.
fn default_shutdown<S: 'static>() -> Option<ShutdownFn<S>> {
    fn known<S: 'static>(stream: &mut S) -> io::Result<()> {
        let any: &mut dyn Any = stream;
        if let Some(tcp) = any.downcast_mut::<TcpStream>() {
            return tcp.shutdown(Shutdown::Both);
        }
        #[cfg(unix)]
        if let Some(unix) = any.downcast_mut::<std::os::unix::net::UnixStream>() {
            return unix.shutdown(Shutdown::Both);
        }
        Ok(())
    }
    is_known_socket::<S>().then_some(known::<S> as ShutdownFn<S>)
}

/// The read-timeout function for streams whose type is known here:
/// [`TcpStream`](std::net::TcpStream) and, on Unix, `UnixStream`.
fn default_read_timeout_fn<S: 'static>() -> Option<ReadTimeoutFn<S>> {
    fn known<S: 'static>(
        stream: &mut S,
        timeout: Option<Duration>,
    ) -> io::Result<Option<Duration>> {
        let any: &mut dyn Any = stream;
        if let Some(tcp) = any.downcast_mut::<std::net::TcpStream>() {
            let before = tcp.read_timeout()?;
            tcp.set_read_timeout(timeout)?;
            return Ok(before);
        }
        #[cfg(unix)]
        if let Some(unix) = any.downcast_mut::<std::os::unix::net::UnixStream>() {
            let before = unix.read_timeout()?;
            unix.set_read_timeout(timeout)?;
            return Ok(before);
        }
        Ok(None)
    }
    is_known_socket::<S>().then_some(known::<S> as ReadTimeoutFn<S>)
}
