//! The closing handshake over a blocking stream, bounded in time.
//!
//! [`WebSocket::close_and_wait`] blocks until the peer answers this
//! endpoint's Close (and, on a client, until the server closes TCP). A peer
//! that never answers must not hold the caller forever, so the whole wait
//! runs against one deadline, [`WebSocket::close_timeout`] from the start:
//! before every read, the stream's read timeout is set to the time left
//! (through a [`ReadTimeoutFn`], built in for [`TcpStream`] and Unix
//! sockets), and the timeout it replaced is put back at the end.
//!
//! [`TcpStream`]: std::net::TcpStream

use std::any::Any;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use weir_proto::{CloseCode, CloseFrame, Role, State};

use super::{is_known_socket, map_send_error, WebSocket};
use crate::error::{is_timeout, Error};

/// How long [`WebSocket::close_and_wait`] waits for the peer by default:
/// 5 seconds, as the core's `weir_proto::Config::close_timeout`.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Sets the transport's read timeout and returns the one it replaced, as
/// [`TcpStream::set_read_timeout`](std::net::TcpStream::set_read_timeout)
/// and [`TcpStream::read_timeout`](std::net::TcpStream::read_timeout) do
/// together. See [`WebSocket::set_read_timeout_fn`].
pub type ReadTimeoutFn<S> = fn(&mut S, Option<Duration>) -> io::Result<Option<Duration>>;

impl<S: Read + Write> WebSocket<S> {
    /// Completes the closing handshake from wherever it is, discarding
    /// incoming messages: sends a Close with `code` and `reason` unless one
    /// was sent, reads until the peer's Close unless it already arrived, and
    /// returns the peer's Close frame (`None` if it carried no code).
    ///
    /// A client then waits for the server to close the transport (RFC 6455
    /// section 7.1.1), until EOF or an error.
    ///
    /// The whole wait is bounded by [`WebSocket::close_timeout`] (default
    /// [`DEFAULT_CLOSE_TIMEOUT`]): while it lasts, the stream's read timeout
    /// is the time left, and afterwards it is what it was before. If the
    /// peer's Close has not arrived in time, this fails with
    /// [`Error::CloseTimeout`], shuts the transport down (see
    /// [`WebSocket::set_shutdown`]) and the WebSocket is over; if only the
    /// server's TCP close is late, the peer's Close frame is returned anyway.
    /// The bound needs a [`ReadTimeoutFn`]: built in for [`TcpStream`] and
    /// Unix sockets from [`connect`](crate::connect),
    /// [`client`](crate::client) and [`accept`](crate::accept); for other
    /// streams set one with [`WebSocket::set_read_timeout_fn`], or the wait
    /// is only bounded when the stream's own read timeout fires.
    ///
    /// Returns [`Error::AlreadyClosed`] if the connection ended without a
    /// closing handshake (a protocol error or EOF reported earlier).
    ///
    /// [`TcpStream`]: std::net::TcpStream
    pub fn close_and_wait(
        &mut self,
        code: CloseCode,
        reason: &str,
    ) -> Result<Option<CloseFrame>, Error> {
        let mut deadline = CloseDeadline::new(self.close_timeout);
        let result = self.close_until(code, reason, &mut deadline);
        let restored = deadline.restore(&mut self.stream, self.read_timeout_fn);
        if let Err(Error::CloseTimeout(_)) = result {
            self.finished = true;
            self.shutdown_transport();
        }
        let frame = result?;
        restored.map_err(Error::Io)?;
        Ok(frame)
    }

    /// How long [`WebSocket::close_and_wait`] waits for the peer.
    pub fn close_timeout(&self) -> Duration {
        self.close_timeout
    }

    /// Sets [`WebSocket::close_timeout`] (default [`DEFAULT_CLOSE_TIMEOUT`]).
    pub fn set_close_timeout(&mut self, timeout: Duration) {
        self.close_timeout = timeout;
    }

    /// Sets the function through which [`WebSocket::close_and_wait`] bounds
    /// its reads; `None` leaves the stream's read timeout alone, so the wait
    /// is bounded only when that fires.
    ///
    /// [`TcpStream`](std::net::TcpStream) and Unix sockets have one already
    /// (except through [`WebSocket::from_connection`]). For a TLS stream, set
    /// the socket's timeout, e.g. for rustls:
    /// `ws.set_read_timeout_fn(Some(|s, t| { let old = s.sock.read_timeout()?; s.sock.set_read_timeout(t)?; Ok(old) }))`.
    pub fn set_read_timeout_fn(&mut self, read_timeout_fn: Option<ReadTimeoutFn<S>>) {
        self.read_timeout_fn = read_timeout_fn;
    }

    /// [`WebSocket::close_and_wait`] up to `deadline`.
    fn close_until(
        &mut self,
        code: CloseCode,
        reason: &str,
        deadline: &mut CloseDeadline,
    ) -> Result<Option<CloseFrame>, Error> {
        if !self.finished {
            if self.conn.state() == State::Open {
                self.conn.close(code, reason).map_err(map_send_error)?;
            }
            self.flush()?;
            while !self.finished {
                self.next_event(Some(deadline))?;
            }
        }
        let Some(frame) = self.peer_close.clone() else {
            return Err(Error::AlreadyClosed);
        };
        if self.conn.role() == Role::Client {
            self.wait_for_eof(deadline);
        }
        Ok(frame)
    }

    /// Reads and discards until EOF, an error other than a timeout, or
    /// `deadline`.
    fn wait_for_eof(&mut self, deadline: &mut CloseDeadline) {
        loop {
            if deadline
                .arm(&mut self.stream, self.read_timeout_fn)
                .is_err()
            {
                return;
            }
            match self.stream.read(&mut self.read_buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted || is_timeout(&e) => {}
                Err(_) => return,
            }
        }
    }
}

/// The end of a [`WebSocket::close_and_wait`], and the read timeout it
/// replaced on the stream.
pub(super) struct CloseDeadline {
    /// `None` if the timeout reaches past what the clock can represent.
    at: Option<Instant>,
    limit: Duration,
    /// The stream's read timeout before the first [`CloseDeadline::arm`].
    replaced: Option<Option<Duration>>,
}

impl CloseDeadline {
    fn new(limit: Duration) -> Self {
        Self {
            at: Instant::now().checked_add(limit),
            limit,
            replaced: None,
        }
    }

    /// Called before each read: [`Error::CloseTimeout`] once the deadline
    /// has passed, else sets the stream's read timeout to the time left.
    pub(super) fn arm<S>(
        &mut self,
        stream: &mut S,
        read_timeout_fn: Option<ReadTimeoutFn<S>>,
    ) -> Result<(), Error> {
        let Some(at) = self.at else {
            return Ok(());
        };
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::CloseTimeout(self.limit));
        }
        if let Some(set) = read_timeout_fn {
            let before = set(stream, Some(left))?;
            self.replaced.get_or_insert(before);
        }
        Ok(())
    }

    /// Puts back the read timeout that the first [`CloseDeadline::arm`]
    /// replaced.
    fn restore<S>(
        self,
        stream: &mut S,
        read_timeout_fn: Option<ReadTimeoutFn<S>>,
    ) -> io::Result<()> {
        match (self.replaced, read_timeout_fn) {
            (Some(before), Some(set)) => set(stream, before).map(drop),
            _ => Ok(()),
        }
    }
}

/// The read-timeout function for streams whose type is known here:
/// [`TcpStream`](std::net::TcpStream) and, on Unix, `UnixStream`.
pub(crate) fn default_read_timeout_fn<S: 'static>() -> Option<ReadTimeoutFn<S>> {
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
