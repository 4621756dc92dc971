//! TLS inside the loop: a connection's rustls session between its socket
//! and the rest of the loop, never blocking.
//!
//! Reads: TLS records from the socket go into rustls, which decrypts them;
//! the plaintext comes out into the loop's shared read buffer and goes on
//! to the handshake reader or the core as for a plain socket. Plaintext
//! still held by rustls when a read stops at the connection's budget is
//! read first next time (the connection is on the pending-read list, see
//! `read.rs`), so edge-triggered readiness strands nothing.
//!
//! Writes: the core's output goes into rustls, which encrypts it into
//! records; the records go to the socket until it would block. rustls
//! holds at most its buffer limit of records, so a peer that reads
//! nothing stops the core's output at the core's own send queue, which
//! the slow-consumer policy bounds, as for a plain socket.
//!
//! Nothing here keeps buffers of its own: an idle session holds rustls's
//! state only.

use std::io::{self, IoSlice, Read, Write};

use mio::net::TcpStream;
use weir_tls::rustls;

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

/// One connection's TLS session.
pub(crate) struct TlsSession {
    conn: Box<rustls::Connection>,
}

impl TlsSession {
    /// A session for a connection accepted by a listener serving `tls`.
    pub(crate) fn accept(tls: &ServerTlsConfig) -> io::Result<Self> {
        let conn = tls.accept().map_err(io::Error::other)?;
        Ok(Self {
            conn: Box::new(conn.into()),
        })
    }

    /// Reads plaintext into `buf`: what rustls holds already, else what
    /// the socket brings. `Ok(0)` is the end of input (the peer's
    /// `close_notify`, or TCP closed without it: the core decides what
    /// that means); `WouldBlock` when the socket has nothing more. A TLS
    /// failure is an `InvalidData` error carrying the rustls error; the
    /// alert rustls queued for the peer goes out with the next write.
    pub(crate) fn read(&mut self, mut socket: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            match self.conn.read_tls(&mut socket) {
                Ok(0) => {
                    // TCP ended: whatever rustls still holds was read above.
                    return Ok(0);
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
            if let Err(error) = self.conn.process_new_packets() {
                // Best effort: tell the peer why.
                let _ = self.write_records(socket);
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    TlsFailure(error),
                ));
            }
        }
    }

    /// Encrypts as much of `slices` as rustls takes and writes records to
    /// the socket until it would block. Returns how many plaintext bytes
    /// were taken; `WouldBlock` if none were and the socket is full.
    pub(crate) fn write(
        &mut self,
        socket: &TcpStream,
        slices: &[IoSlice<'_>],
    ) -> io::Result<usize> {
        self.write_records(socket)?;
        let taken = self.conn.writer().write_vectored(slices)?;
        self.write_records(socket)?;
        if taken == 0 && !slices.iter().all(|s| s.is_empty()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    /// Writes the records rustls holds (handshake messages, alerts,
    /// encrypted data) until there are none or the socket would block.
    pub(crate) fn write_records(&mut self, mut socket: &TcpStream) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut socket) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Whether records wait to be written.
    pub(crate) fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Queues `close_notify` and writes what it can of it, once.
    pub(crate) fn close_notify(&mut self, socket: &TcpStream) {
        self.conn.send_close_notify();
        let _ = self.write_records(socket);
    }
}
