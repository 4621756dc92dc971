//! TLS inside the loop: a connection's rustls session between its socket
//! and the rest of the loop, never blocking. Servers' sessions start at
//! accept ([`TlsSession::accept`]), clients' when `wss://` is dialled
//! ([`TlsSession::connect`]); after that both roles are driven alike.
//!
//! Reads: TLS records from the socket go into rustls, which decrypts them;
//! the plaintext is copied out of rustls into the loop's read buffer
//! (`read_buf.rs`) and goes on to the handshake reader or the core as for a
//! plain socket. Plaintext
//! still held by rustls when a read stops at the connection's budget is
//! read first next time (the connection is on the pending-read list, see
//! `read.rs`), so edge-triggered readiness strands nothing.
//!
//! Writes: plaintext is handed to rustls only once the TLS handshake is
//! done and every earlier record is on the socket, and then at most
//! [`BATCH`] bytes at a time. Until then it stays where it was queued (the
//! HTTP head, the core's send queue). So rustls never holds more than one
//! batch of ours, and that batch is counted ([`TlsSession::pending`]) in
//! the connection's pending output: the send queue's limit and the
//! slow-consumer policy see every byte not yet on the socket, as for a
//! plain socket.
//!
//! Nothing here keeps buffers of its own: an idle session holds rustls's
//! state only (its keys and a 4 KiB record buffer, which rustls keeps).

use std::io::{self, BufRead, IoSlice, Write};

use bytes::BytesMut;

use mio::net::TcpStream;
use weir_tls::rustls;

/// The most plaintext handed to rustls at once: one TLS record's worth.
const BATCH: usize = 16 * 1024;

/// A TLS failure, inside the `InvalidData` I/O error that reads return, so
/// that the loop can tell it from a socket's failure ([`is_tls_failure`]).
#[derive(Debug)]
struct TlsFailure(rustls::Error);

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TlsFailure {}

/// Whether `error`, from [`TlsSession::read`], is TLS failing rather than
/// the socket.
pub(crate) fn is_tls_failure(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.is::<TlsFailure>())
}

/// What a TLS listener serves with.
pub(crate) type ServerTlsConfig = weir_tls::ServerTls;

/// What a `wss://` client trusts.
pub(crate) type ClientTlsConfig = weir_tls::ClientTls;

/// The session of a `wss://` client to `host`, trusting `trust`, or
/// Mozilla's roots ([`ClientTls::bundled_roots`](weir_tls::ClientTls::bundled_roots))
/// when `None`. Fails for a host that cannot be a TLS server name.
pub(crate) fn client_session(
    trust: Option<&ClientTlsConfig>,
    host: &str,
) -> Result<TlsSession, crate::Error> {
    let bundled;
    let trust = match trust {
        Some(trust) => trust,
        None => {
            bundled = weir_tls::ClientTls::bundled_roots();
            &bundled
        }
    };
    TlsSession::connect(trust, host)
        .map_err(|e| crate::Error::Tls(io::Error::new(io::ErrorKind::InvalidInput, e)))
}

/// One connection's TLS session: one pointer, so that the connection's
/// `Option<TlsSession>` costs a plain connection one word.
pub(crate) struct TlsSession {
    inner: Box<Session>,
}

/// What [`TlsSession`] points to.
struct Session {
    conn: rustls::Connection,
    /// Plaintext bytes handed to rustls whose records are not all on the
    /// socket yet.
    held: usize,
}

impl TlsSession {
    /// A session for a connection accepted by a listener serving `tls`.
    pub(crate) fn accept(tls: &ServerTlsConfig) -> io::Result<Self> {
        let conn = tls.accept().map_err(io::Error::other)?;
        Ok(Self::new(conn.into()))
    }

    /// A client session to `host` (sent as SNI, and checked against the
    /// server's certificate), trusting what `tls` trusts.
    pub(crate) fn connect(tls: &ClientTlsConfig, host: &str) -> Result<Self, weir_tls::TlsError> {
        Ok(Self::new(tls.connect(host)?.into()))
    }

    fn new(conn: rustls::Connection) -> Self {
        Self {
            inner: Box::new(Session { conn, held: 0 }),
        }
    }

    /// Reads plaintext into the spare capacity of `buf` (at least one
    /// byte), adding it to `buf`: what rustls holds already, else what the
    /// socket brings, at most one record's worth at a time. `Ok(0)` is the
    /// end of input (the peer's `close_notify`, or TCP closed without it:
    /// the core decides what that means); `WouldBlock` when the socket has
    /// nothing more. A TLS failure is an `InvalidData` error carrying the
    /// rustls error; the alert rustls queued for the peer goes out with the
    /// next write.
    pub(crate) fn read(&mut self, mut socket: &TcpStream, buf: &mut BytesMut) -> io::Result<usize> {
        loop {
            let mut reader = self.inner.conn.reader();
            match reader.fill_buf() {
                Ok(plaintext) => {
                    // Empty at the peer's close_notify.
                    let n = plaintext.len().min(buf.capacity() - buf.len());
                    buf.extend_from_slice(&plaintext[..n]);
                    reader.consume(n);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            match self.inner.conn.read_tls(&mut socket) {
                Ok(0) => {
                    // TCP ended: whatever rustls still holds was read above.
                    return Ok(0);
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
            if let Err(error) = self.inner.conn.process_new_packets() {
                // Best effort: tell the peer why.
                let _ = self.write_records(socket);
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    TlsFailure(error),
                ));
            }
        }
    }

    /// Writes the records waiting, then, if all of them went out and the
    /// handshake is done, encrypts up to [`BATCH`] bytes of `slices` and
    /// writes what it can of them. Returns how many plaintext bytes rustls
    /// took; `WouldBlock` if it took none.
    pub(crate) fn write(
        &mut self,
        socket: &TcpStream,
        slices: &[IoSlice<'_>],
    ) -> io::Result<usize> {
        self.write_records(socket)?;
        if self.inner.conn.wants_write() || self.inner.conn.is_handshaking() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut batch = [IoSlice::new(&[]); 8];
        let count = first_bytes(slices, BATCH, &mut batch);
        let taken = self.inner.conn.writer().write_vectored(&batch[..count])?;
        self.inner.held = taken;
        self.write_records(socket)?;
        if taken == 0 && count > 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    /// Writes the records rustls holds (handshake messages, alerts,
    /// encrypted data) until there are none or the socket would block.
    pub(crate) fn write_records(&mut self, mut socket: &TcpStream) -> io::Result<()> {
        while self.inner.conn.wants_write() {
            match self.inner.conn.write_tls(&mut socket) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.inner.held = 0;
        Ok(())
    }

    /// What waits in rustls to be written, for the connection's pending
    /// output: the plaintext of the batch whose records are not all
    /// written, and at least 1 while any record (a handshake message, an
    /// alert) waits, so that the loop keeps watching for writability.
    pub(crate) fn pending(&self) -> usize {
        if self.inner.conn.wants_write() {
            self.inner.held.max(1)
        } else {
            0
        }
    }

    /// Queues `close_notify` and writes what it can of it, once.
    pub(crate) fn close_notify(&mut self, socket: &TcpStream) {
        self.inner.conn.send_close_notify();
        let _ = self.write_records(socket);
    }
}

/// Fills `out` with the first `limit` bytes of `slices` (fewer if they hold
/// fewer, or if `out` is too short for their pieces); returns how many
/// entries of `out` it used.
fn first_bytes<'s>(slices: &'s [IoSlice<'_>], limit: usize, out: &mut [IoSlice<'s>]) -> usize {
    let mut left = limit;
    let mut count = 0;
    for (slice, place) in slices.iter().zip(out.iter_mut()) {
        if left == 0 {
            break;
        }
        let bytes: &'s [u8] = slice;
        let piece = &bytes[..bytes.len().min(left)];
        *place = IoSlice::new(piece);
        left -= piece.len();
        count += 1;
    }
    count
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
