//! [`WebSocket`]: a [`Connection`] driven over a blocking stream.
//!
//! The type owns the stream, the core [`Connection`] and one read buffer,
//! allocated once. Reads move bytes from the stream into the connection
//! until it has an event; writes queue frames in the connection and drain
//! its output with vectored writes. Every byte read is handed to the core
//! before anything else happens, so a read or write timeout loses nothing:
//! the next call continues where the last one stopped. Time (the core's
//! keepalive and close deadlines, beside the user's read timeout) lives in
//! `deadlines.rs`, the closing handshake in `closing.rs`, the hooks that
//! shut the transport down and set its read timeout in `transport.rs`.

mod closing;
mod deadlines;
mod transport;

use std::io::{self, IoSlice, Read, Write};
#[cfg(doc)]
use std::net::TcpStream;
use std::time::Instant;

use bytes::Bytes;
use weir_proto::{CloseCode, CloseFrame, Connection, Event, Message, MessageKind, SendError};

use crate::error::Error;
use deadlines::{Input, ReadTimer, Wait};
pub(crate) use transport::{KnownSocket, TransportFns};
pub use transport::{ReadTimeoutFn, ShutdownFn};

/// Size of the read buffer, allocated once per WebSocket (and used for the
/// opening handshake before it).
pub(crate) const READ_BUF_SIZE: usize = 16 * 1024;

/// The most slices gathered into one vectored write.
const MAX_SLICES: usize = 64;

/// A WebSocket connection over a blocking stream `S`.
///
/// `S` is any [`Read`] + [`Write`] stream: a [`TcpStream`], a Unix socket,
/// a TLS stream ([`MaybeTls`](crate::MaybeTls) from
/// [`connect`](crate::connect), rustls's `StreamOwned` from
/// [`accept_tls`](crate::accept_tls)). Build one with
/// [`connect`](crate::connect), [`client`](crate::client),
/// [`accept`](crate::accept) or [`accept_tls`](crate::accept_tls) and their
/// variants.
///
/// Socket timeouts are respected and harmless: when a read or write times
/// out, the call returns [`Error::Io`] (see [`Error::is_timeout`]) and the
/// next call continues exactly where it stopped.
///
/// When this endpoint must close the transport (a server after the closing
/// handshake, either side after a protocol error), the WebSocket calls its
/// shutdown hook: built in for the streams this crate knows ([`TcpStream`],
/// Unix sockets, and rustls's `StreamOwned` over `TcpStream`, alone or in
/// [`MaybeTls`](crate::MaybeTls)), settable with
/// [`WebSocket::set_shutdown`] for any other stream.
#[derive(Debug)]
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    /// Reused for every read; never reallocated.
    read_buf: Box<[u8]>,
    shutdown: Option<ShutdownFn<S>>,
    /// Bounds reads by the core's deadlines.
    timer: ReadTimer<S>,
    /// The latest time told to the core: when the latest read returned.
    told: Instant,
    /// The connection is over (closing handshake done, protocol error, EOF
    /// or a deadline passed): reads and sends return [`Error::AlreadyClosed`].
    finished: bool,
    /// The peer's Close frame, once it arrived: `Some(None)` for a Close
    /// without a code. It is delivered, and `finished` set, once the answer
    /// is written.
    peer_close: Option<Option<CloseFrame>>,
}

impl<S: Read + Write> WebSocket<S> {
    /// Wraps a stream whose opening handshake is already done, with the
    /// connection that continues it (feed it any bytes read past the
    /// handshake first).
    ///
    /// No shutdown hook or read-timeout function is set: see
    /// [`WebSocket::set_shutdown`] and [`WebSocket::set_read_timeout_fn`].
    pub fn from_connection(stream: S, conn: Connection) -> Self {
        Self::from_parts(stream, conn, vec![0; READ_BUF_SIZE], TransportFns::none())
    }

    pub(crate) fn from_parts(
        stream: S,
        conn: Connection,
        read_buf: Vec<u8>,
        transport: TransportFns<S>,
    ) -> Self {
        Self {
            stream,
            conn,
            read_buf: read_buf.into_boxed_slice(),
            shutdown: transport.shutdown,
            timer: ReadTimer::new(transport.read_timeout),
            told: Instant::now(),
            finished: false,
            peer_close: None,
        }
    }

    /// Sets the function that shuts the transport down when this endpoint
    /// must close it (a server after the closing handshake, either side
    /// after a protocol error); `None` leaves that to dropping the stream.
    ///
    /// The streams this crate knows have one already (see [`WebSocket`];
    /// over TLS it sends `close_notify`, then closes the socket's write
    /// side). For another TLS stream, send the TLS close and shut the
    /// socket, e.g.
    /// `ws.set_shutdown(Some(|s| { s.send_close_notify(); s.flush()?; s.socket().shutdown(Shutdown::Write) }))`.
    pub fn set_shutdown(&mut self, shutdown: Option<ShutdownFn<S>>) {
        self.shutdown = shutdown;
    }

    /// Reads the next data message.
    ///
    /// Pings are answered underneath (the pong is written before this
    /// returns or blocks again) and pongs are skipped. When the peer's Close
    /// arrives, the answer is written, a server shuts the transport down, and
    /// this returns [`Error::Closed`]; afterwards [`Error::AlreadyClosed`].
    ///
    /// While it waits, the connection's deadlines
    /// ([`Config`](weir_proto::Config), given at the handshake) run: after
    /// [`idle_timeout`](weir_proto::Config::idle_timeout) without input a
    /// ping goes out, and a peer silent for
    /// [`ping_timeout`](weir_proto::Config::ping_timeout) after it is given
    /// up on; after this endpoint's Close, the peer has
    /// [`close_timeout`](weir_proto::Config::close_timeout) to answer. Reads
    /// are bounded by the next deadline through the stream's read timeout
    /// (see [`WebSocket::set_read_timeout_fn`]); your own read timeout
    /// still ends the call as before.
    ///
    /// Errors:
    /// - [`Error::Io`] from the stream; after a timeout (`WouldBlock` or
    ///   `TimedOut`: your read timeout passed without a message) the
    ///   WebSocket is intact and the next call continues;
    /// - [`Error::Protocol`] when the peer broke RFC 6455: the Close frame
    ///   was sent (best effort) and the transport shut down;
    /// - [`Error::ConnectionReset`] on EOF or a reset without a Close
    ///   frame: the connection is closed;
    /// - [`Error::IdleTimeout`] or [`Error::CloseTimeout`] when the peer
    ///   missed a deadline: the transport was shut down;
    /// - [`Error::StreamingMode`] with [`Config::streaming`](weir_proto::Config::streaming) on.
    pub fn read(&mut self) -> Result<Message, Error> {
        if self.conn.config().streaming {
            return Err(Error::StreamingMode);
        }
        loop {
            match self.read_event()? {
                Event::Message(message) => return Ok(message),
                Event::Close(frame) => return Err(Error::Closed(frame)),
                Event::Ping(_) | Event::Pong(_) | Event::Fragment(_) => {}
            }
        }
    }

    /// Reads the next event of any kind: messages, fragments (streaming
    /// mode), pings, pongs and the peer's Close.
    ///
    /// Behaves like [`WebSocket::read`], except that the peer's Close is
    /// returned as [`Event::Close`] (the answer already written, a server's
    /// transport already shut down); later calls return
    /// [`Error::AlreadyClosed`].
    pub fn read_event(&mut self) -> Result<Event, Error> {
        self.next_event(Wait::reading())
    }

    /// [`WebSocket::read_event`], its reads ended by what `wait` allows.
    fn next_event(&mut self, mut wait: Wait) -> Result<Event, Error> {
        if self.finished {
            return Err(Error::AlreadyClosed);
        }
        loop {
            if let Some(frame) = self.peer_close.clone() {
                // The peer's Close is delivered once its answer is written:
                // after a write timeout the next call tries again.
                match self.flush() {
                    Err(e) if e.is_timeout() => return Err(e),
                    _ => {}
                }
                self.finish_close();
                return Ok(Event::Close(frame));
            }
            match self.conn.poll_event() {
                Some(Ok(Event::Ping(payload))) => {
                    // The pong is queued; write it now. A write timeout only
                    // delays it: it leaves with the next flush.
                    match self.flush() {
                        Err(e) if !e.is_timeout() => return Err(e),
                        _ => return Ok(Event::Ping(payload)),
                    }
                }
                Some(Ok(Event::Close(frame))) => {
                    self.peer_close = Some(frame);
                    continue;
                }
                Some(Ok(event)) => return Ok(event),
                Some(Err(error)) => {
                    self.fail();
                    return Err(Error::Protocol(error));
                }
                None => {}
            }
            // Nothing to deliver: read more.
            if let Input::Eof = self.read_input(&mut wait)? {
                return Err(self.transport_ended());
            }
        }
    }

    /// The stream ended (EOF, or the peer reset it or stopped reading):
    /// the core says what that means. Before the closing handshake, the
    /// connection ended abnormally (1006), and what was queued for the peer
    /// is dropped.
    fn transport_ended(&mut self) -> Error {
        let abnormal = self.conn.receive_eof();
        if self.conn.should_close_transport() {
            self.shutdown_transport();
        }
        self.end();
        match abnormal {
            Some(_) => Error::ConnectionReset,
            None => Error::AlreadyClosed,
        }
    }

    /// Sends a whole message (text or binary) and writes it out.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.write(message)?;
        self.flush()
    }

    /// Like [`WebSocket::send`], but never compressed, even where
    /// permessage-deflate is in use: for secrets; see
    /// [`Connection::send_uncompressed`](weir_proto::Connection::send_uncompressed).
    pub fn send_uncompressed(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.check_not_finished()?;
        self.conn
            .send_uncompressed(message)
            .map_err(map_send_error)?;
        self.flush()
    }

    /// Queues a whole message without writing it; [`WebSocket::flush`]
    /// writes everything queued. For batching many small messages into few
    /// writes.
    pub fn write(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        self.check_not_finished()?;
        self.conn.send(message).map_err(map_send_error)
    }

    /// Sends one fragment of a message and writes it out: the first call
    /// starts a message of `kind`, the call with `is_last` ends it (RFC 6455
    /// section 5.4). Text fragments may split a character; the message as a
    /// whole must be UTF-8.
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: impl Into<Bytes>,
        is_last: bool,
    ) -> Result<(), Error> {
        self.check_not_finished()?;
        self.conn
            .send_fragment(kind, data, is_last)
            .map_err(map_send_error)?;
        self.flush()
    }

    /// Sends a ping (payload at most 125 bytes) and writes it out. The pong
    /// comes back as [`Event::Pong`] from [`WebSocket::read_event`].
    pub fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        self.check_not_finished()?;
        self.conn.ping(payload).map_err(map_send_error)?;
        self.flush()
    }

    /// Sends a pong (payload at most 125 bytes) and writes it out; pings are
    /// answered automatically, so this is for unsolicited heartbeats.
    pub fn pong(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        self.check_not_finished()?;
        self.conn.pong(payload).map_err(map_send_error)?;
        self.flush()
    }

    /// Starts the closing handshake: sends a Close frame with `code` and
    /// `reason` (at most 123 bytes) and writes it out.
    ///
    /// Keep calling [`WebSocket::read`]: it returns the peer's remaining
    /// messages, then [`Error::Closed`] with the peer's answer. Or use
    /// [`WebSocket::close_and_wait`].
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.check_not_finished()?;
        self.conn.close(code, reason).map_err(map_send_error)?;
        // The close timeout runs from now.
        self.tick(Instant::now())?;
        self.flush()
    }

    /// Writes everything queued (messages from [`WebSocket::write`], pongs,
    /// Close frames) with vectored writes, then flushes the stream.
    ///
    /// After a write timeout the rest stays queued for the next call.
    pub fn flush(&mut self) -> Result<(), Error> {
        loop {
            let written = {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let filled = self.conn.transmit_slices(&mut slices);
                if filled == 0 {
                    break;
                }
                match self.stream.write_vectored(&slices[..filled]) {
                    Ok(0) => return Err(Error::Io(io::ErrorKind::WriteZero.into())),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                    Err(e) if is_reset(&e) => return Err(self.transport_ended()),
                    Err(e) => return Err(Error::Io(e)),
                }
            };
            self.conn.advance_transmit(written);
        }
        loop {
            match self.stream.flush() {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Io(e)),
            }
        }
    }

    /// The stream. While the connection is open, its read timeout may be
    /// one the WebSocket set to bound a read by a deadline.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, e.g. to change its timeouts. Reading or writing it
    /// directly corrupts the WebSocket.
    ///
    /// Your own read timeout is put back on it first, if the WebSocket had
    /// set its own to bound a read by a deadline: read or change yours here.
    /// (A change made through [`WebSocket::get_ref`] while the WebSocket's
    /// own is set goes unnoticed, and is lost when the WebSocket puts yours
    /// back.)
    pub fn get_mut(&mut self) -> &mut S {
        self.timer.restore(&mut self.stream);
        &mut self.stream
    }

    /// Gives the stream back, with your own read timeout on it. Bytes read
    /// but not yet delivered and output not yet written are lost.
    pub fn into_inner(mut self) -> S {
        self.timer.restore(&mut self.stream);
        self.stream
    }

    /// The core connection: [`Connection::state`],
    /// [`Connection::buffered_amount`], [`Connection::role`] and the rest.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn check_not_finished(&self) -> Result<(), Error> {
        if self.finished {
            Err(Error::AlreadyClosed)
        } else {
            Ok(())
        }
    }

    /// The peer's Close arrived and its answer was written (or the peer is
    /// gone): close the transport if this endpoint closes first (a server).
    fn finish_close(&mut self) {
        if self.conn.should_close_transport() {
            self.shutdown_transport();
        }
        self.end();
    }

    /// The peer broke the protocol: write the Close the core queued (best
    /// effort) and close the transport (RFC 6455 section 7.1.7).
    fn fail(&mut self) {
        let _ = self.flush();
        self.shutdown_transport();
        self.end();
    }

    /// The connection is over: later reads and sends are refused, and the
    /// stream gets the user's read timeout back.
    fn end(&mut self) {
        self.finished = true;
        self.timer.restore(&mut self.stream);
    }

    fn shutdown_transport(&mut self) {
        if let Some(shutdown) = self.shutdown {
            let _ = shutdown(&mut self.stream);
        }
    }
}

/// Whether an I/O error means the connection is gone: reset or aborted by
/// the peer, or (on a write) a pipe the peer no longer reads.
pub(crate) fn is_reset(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// A send after this endpoint's Close is [`Error::AlreadyClosed`]; other
/// refusals keep their cause.
fn map_send_error(error: SendError) -> Error {
    match error {
        SendError::Closed => Error::AlreadyClosed,
        other => Error::Send(other),
    }
}

/// Reads once, retrying on `Interrupted`.
pub(crate) fn read_some<S: Read>(stream: &mut S, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// Writes a whole buffer and flushes.
pub(crate) fn write_all<S: Write>(stream: &mut S, bytes: &[u8]) -> io::Result<()> {
    stream.write_all(bytes)?;
    stream.flush()
}
