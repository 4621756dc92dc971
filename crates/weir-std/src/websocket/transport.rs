//! What the WebSocket does to its transport besides reading and writing:
//! shut it down, and change its read timeout. Both are plain function
//! pointers, built in for the stream types this crate knows (`TcpStream`,
//! Unix sockets and, with the `tls` feature, the TLS streams of
//! `stream.rs`) and settable for any other stream, so the WebSocket stays
//! generic over `Read + Write` alone.

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

/// A stream type whose transport hooks are built in.
pub(crate) trait KnownSocket: Any {
    /// Ends the connection from this side (for TLS: `close_notify` first).
    fn shut_down(&mut self) -> io::Result<()>;

    /// Sets the socket's read timeout, returning the one it replaced.
    fn swap_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<Option<Duration>>;
}

/// The hooks of a socket type with `shutdown`, `read_timeout` and
/// `set_read_timeout` of its own: the OS does it all.
macro_rules! socket_hooks {
    ($socket:ty) => {
        impl KnownSocket for $socket {
            fn shut_down(&mut self) -> io::Result<()> {
                self.shutdown(Shutdown::Both)
            }

            fn swap_read_timeout(
                &mut self,
                timeout: Option<Duration>,
            ) -> io::Result<Option<Duration>> {
                let before = self.read_timeout()?;
                self.set_read_timeout(timeout)?;
                Ok(before)
            }
        }
    };
}

socket_hooks!(TcpStream);
#[cfg(unix)]
socket_hooks!(std::os::unix::net::UnixStream);

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
    /// Built in for the [`KnownSocket`] types; nothing for other streams.
    pub(crate) fn for_known_socket() -> Self {
        let known = Self::known::<TcpStream>();
        #[cfg(unix)]
        let known = known.or_else(Self::known::<std::os::unix::net::UnixStream>);
        let known = known.or_else(Self::known::<crate::MaybeTls>);
        #[cfg(feature = "tls")]
        let known = known
            .or_else(Self::known::<crate::ClientTlsStream>)
            .or_else(Self::known::<crate::ServerTlsStream>);
        known.unwrap_or_else(Self::none)
    }

    /// The hooks of `T`, if `S` is `T`.
    fn known<T: KnownSocket>() -> Option<Self> {
        (TypeId::of::<S>() == TypeId::of::<T>()).then_some(Self {
            shutdown: Some(shut_down_as::<T, S>),
            read_timeout: Some(swap_read_timeout_as::<T, S>),
        })
    }
}

/// [`KnownSocket::shut_down`] for a stream known to be a `T`.
fn shut_down_as<T: KnownSocket, S: 'static>(stream: &mut S) -> io::Result<()> {
    let any: &mut dyn Any = stream;
    any.downcast_mut::<T>().map_or(Ok(()), T::shut_down)
}

/// [`KnownSocket::swap_read_timeout`] for a stream known to be a `T`.
fn swap_read_timeout_as<T: KnownSocket, S: 'static>(
    stream: &mut S,
    timeout: Option<Duration>,
) -> io::Result<Option<Duration>> {
    let any: &mut dyn Any = stream;
    match any.downcast_mut::<T>() {
        Some(socket) => socket.swap_read_timeout(timeout),
        None => Ok(None),
    }
}
