//! [`Conn`]: the state of one connection of the event loop, whatever its
//! role and phase, and its socket writes.
//!
//! A connection goes through phases ([`Phase`]):
//!
//! ```text
//! client: (Resolving ──>) Connecting ──> AwaitingResponse ──┐
//! server: AwaitingRequest ──────────────────────────────────┼──> Open (the core: open, closing, closed) ──> Lingering
//!                        └──> Answering ──> Lingering   (an HTTP answer, then close)
//! ```
//!
//! What a connection holds while idle is its [`Conn`], stored inline in the
//! loop's table (`slab.rs`), with no allocation of its own: the socket, the
//! core [`Connection`] inline (or the handshake reader) and a few words of
//! bookkeeping. The peer's address is not kept: it is asked of the socket
//! when wanted ([`Conn::peer_addr`]). Reads go into the loop's one read buffer
//! (`read_buf.rs`), and the only bytes kept are those the core or the
//! handshake still needs (the core's are a piece of that buffer, see
//! [`Connection::receive_buf`]),
//! plus the HTTP head being written (in [`Extras`], boxed), freed as soon
//! as it is sent. What only some connections have is boxed too: a TLS
//! session, a subprotocol (in [`Extras`]), a client's dialing state. `size_of::<Conn>()` is checked
//! by a test (`conn_size` below).
//!
//! A connection has at most one live deadline (`deadline`), whose meaning
//! follows from its phase: before it opens, the handshake timeout; while it
//! answers with plain HTTP and lingers, the linger's end; once open,
//! whatever the core's [`Connection::poll_timeout`] asked for (keepalive,
//! closing handshake: the core decides those, `settle.rs` only relays the
//! time).

use std::io::{self, IoSlice, Write};
use std::net::SocketAddr;

use bytes::BytesMut;
use mio::net::TcpStream;
use mio::Interest;
use weir_proto::handshake::{ClientHandshake, ServerHandshake};
use weir_proto::{Connection, Role, State};

use crate::read_buf::recv_into;
use crate::timers::Deadline;
use crate::tls::TlsSession;

/// Reads from `socket` (through `tls`, if any) into the spare capacity of
/// `buf`, adding the bytes read to it.
fn read_into(
    socket: &TcpStream,
    tls: &mut Option<TlsSession>,
    buf: &mut BytesMut,
) -> io::Result<usize> {
    match tls {
        Some(tls) => tls.read(socket, buf),
        None => recv_into(socket, buf),
    }
}

/// The most slices handed to one vectored write. Small frames share one
/// slice (the core stages them together), so a few are plenty; more would
/// only cost filling them on every write.
const MAX_SLICES: usize = 16;

/// Where a connection is in its life.
pub(crate) enum Phase {
    /// Client: the host name is being resolved off the loop's thread
    /// (`resolve.rs`); there is no socket yet.
    Resolving(Box<Dialing>),
    /// Client: the TCP connect to [`Dialing::trying`] is in progress; the
    /// request waits in `head_out`.
    Connecting(Box<Dialing>),
    /// Client: connected; the request is being written and the response read.
    AwaitingResponse(Box<ClientHandshake>),
    /// Server: reading the request head.
    AwaitingRequest(ServerHandshake),
    /// Both roles: the handshake is done and the core runs, through the
    /// closing handshake. Inline: this is where an idle connection spends
    /// its life, and a box would cost an allocation's overhead and a
    /// pointer.
    Open(Connection),
    /// Server: writing an HTTP answer (`426`, a rejection, a handshake
    /// error) that ends the connection.
    Answering,
    /// Our side is shut down for writing, after an HTTP answer or after
    /// the core's Close (when the core is done and the peer has not ended
    /// its side); input is discarded until the peer closes too, or the
    /// linger's deadline (`Config::linger_timeout`). Closing this way,
    /// rather than at once, keeps unread input from turning our close into
    /// a reset that could destroy the answer or the Close before the peer
    /// reads it.
    Lingering,
}

/// A client's way to its server: the handshake to run once connected, and
/// the resolved addresses not tried yet, each tried in turn when the
/// connect to the one before fails.
pub(crate) struct Dialing {
    pub(crate) handshake: ClientHandshake,
    pub(crate) untried: std::vec::IntoIter<SocketAddr>,
    /// The address being connected to (meaningless while resolving).
    pub(crate) trying: SocketAddr,
}

/// What only some connections have, or have only for a while, boxed
/// apart: the HTTP head to write, the subprotocol, and the count of bytes
/// discarded while closing. Dropped once it holds none of them.
#[derive(Default)]
pub(crate) struct Extras {
    /// HTTP bytes to write before any frame: the client's request, the
    /// server's `101`, or an HTTP answer. Empty (and unallocated) once
    /// written.
    head: Vec<u8>,
    /// How much of `head` has been written.
    written: usize,
    /// The subprotocol agreed in the handshake.
    protocol: Option<Box<str>>,
    /// Bytes read and thrown away since the connection started closing
    /// (bounded by `read.rs`'s `MAX_DISCARD`).
    discarded: usize,
}

impl Extras {
    /// Whether it holds nothing, and may be dropped.
    fn is_empty(&self) -> bool {
        self.head.is_empty() && self.protocol.is_none() && self.discarded == 0
    }
}

/// One connection.
pub(crate) struct Conn {
    /// The generation of the slot this connection holds, part of its
    /// [`ConnId`](crate::ConnId); set by the slab.
    pub(crate) generation: u32,
    /// The socket; `None` only while [`Phase::Resolving`].
    pub(crate) socket: Option<TcpStream>,
    /// The TLS session over the socket, for `wss://` (`tls.rs`).
    pub(crate) tls: Option<TlsSession>,
    pub(crate) role: Role,
    pub(crate) phase: Phase,
    /// The HTTP head to write before any frame and the subprotocol: `None`
    /// (unallocated) for most connections once the head is written. Set
    /// with [`Conn::set_head_out`] and [`Conn::set_protocol`].
    extras: Option<Box<Extras>>,
    /// The interest registered with the poller.
    pub(crate) interest: Interest,
    /// When the live timer entry of this connection is due, if one is
    /// armed (`timers.rs`; any other entry for it is stale).
    pub(crate) deadline: Option<Deadline>,
    /// The peer shut down its side: reads return end-of-file.
    pub(crate) eof: bool,
    /// `on_close` was delivered: the application is done with it.
    pub(crate) close_reported: bool,
    /// In the loop's dirty list.
    pub(crate) dirty: bool,
    /// In the loop's list of pending reads: the last read used up its
    /// budget with input possibly left.
    pub(crate) read_pending: bool,
    /// This accepted connection holds a place under
    /// [`Config::max_connections`](crate::Config::max_connections), given
    /// back when it is removed (`Shared::remove`), or with the loop.
    pub(crate) admitted: bool,
}

impl Conn {
    /// A connection in `phase`, to be registered with `interest`.
    pub(crate) fn new(
        socket: Option<TcpStream>,
        role: Role,
        phase: Phase,
        interest: Interest,
    ) -> Self {
        Self {
            generation: 0,
            socket,
            tls: None,
            role,
            phase,
            extras: None,
            interest,
            deadline: None,
            eof: false,
            close_reported: false,
            dirty: false,
            read_pending: false,
            admitted: false,
        }
    }

    /// The core, once open.
    pub(crate) fn core(&self) -> Option<&Connection> {
        match &self.phase {
            Phase::Open(core) => Some(core),
            _ => None,
        }
    }

    /// The core, once open.
    pub(crate) fn core_mut(&mut self) -> Option<&mut Connection> {
        match &mut self.phase {
            Phase::Open(core) => Some(core),
            _ => None,
        }
    }

    /// The remote address: the one being connected to while a client
    /// connects, otherwise asked of the socket (a system call, so that
    /// idle connections do not keep it). `None` while a client resolves
    /// its host name, and once the socket has lost its peer.
    pub(crate) fn peer_addr(&self) -> Option<SocketAddr> {
        match &self.phase {
            Phase::Resolving(_) => None,
            Phase::Connecting(dialing) => Some(dialing.trying),
            _ => self.socket.as_ref()?.peer_addr().ok(),
        }
    }

    /// Whether the application may still send: open, not closing, and
    /// `on_close` not delivered.
    pub(crate) fn is_open(&self) -> bool {
        !self.close_reported && self.core().is_some_and(|core| core.state() == State::Open)
    }

    /// Queues `bytes` as the HTTP head to write before any frame, in place
    /// of any head not written yet.
    pub(crate) fn set_head_out(&mut self, head: Vec<u8>) {
        let extras = self.extras.get_or_insert_with(Default::default);
        extras.head = head;
        extras.written = 0;
        self.release_extras();
    }

    /// Records the subprotocol agreed in the handshake.
    pub(crate) fn set_protocol(&mut self, protocol: Option<Box<str>>) {
        self.extras.get_or_insert_with(Default::default).protocol = protocol;
        self.release_extras();
    }

    /// The subprotocol agreed in the handshake, if any.
    pub(crate) fn protocol(&self) -> Option<&str> {
        self.extras.as_ref()?.protocol.as_deref()
    }

    /// Drops [`Extras`] once it holds nothing.
    fn release_extras(&mut self) {
        if self.extras.as_ref().is_some_and(|extras| extras.is_empty()) {
            self.extras = None;
        }
    }

    /// Counts `bytes` more read and thrown away while closing, and returns
    /// the total so far. Only closing connections count: the count is
    /// kept in [`Extras`], not in every connection.
    pub(crate) fn discard(&mut self, bytes: usize) -> usize {
        let extras = self.extras.get_or_insert_with(Default::default);
        extras.discarded = extras.discarded.saturating_add(bytes);
        extras.discarded
    }

    /// Bytes of the HTTP head not written yet.
    fn head_pending(&self) -> usize {
        self.extras
            .as_ref()
            .map_or(0, |extras| extras.head.len() - extras.written)
    }

    /// Bytes waiting to be written: the HTTP head, the core's output, and
    /// what TLS holds of them ([`TlsSession::pending`]).
    pub(crate) fn pending_output(&self) -> usize {
        let head = self.head_pending();
        let tls = self.tls.as_ref().map_or(0, TlsSession::pending);
        head + self.core().map_or(0, Connection::buffered_amount) + tls
    }

    /// Reads from the socket (through TLS, if any) into the spare capacity
    /// of `buf`, adding the bytes read to it: `Ok(0)` at the end of input.
    /// Never allocates.
    pub(crate) fn read_input(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        match &self.socket {
            None => Err(io::ErrorKind::WouldBlock.into()),
            Some(socket) => read_into(socket, &mut self.tls, buf),
        }
    }

    /// Once open, while the core receives a frame that still misses at
    /// least `min` bytes: reads straight into the room the core reserved
    /// for it ([`Connection::receive_in_place`]), so the rest of a large
    /// frame is not copied. The bytes read (`Ok(0)` at the end of input)
    /// and whether they filled the room; `None` when there is no such
    /// frame (read into the loop's buffer then).
    #[inline]
    pub(crate) fn read_in_place(&mut self, min: usize) -> Option<io::Result<(usize, bool)>> {
        let Self {
            socket: Some(socket),
            tls,
            phase: Phase::Open(core),
            ..
        } = self
        else {
            return None;
        };
        core.receive_in_place(min, |room| {
            let room_len = room.capacity();
            let n = read_into(socket, tls, room)?;
            Ok((n, n == room_len))
        })
    }

    /// Ends this side's output: TLS `close_notify` (best effort) if any,
    /// then the socket's write side.
    pub(crate) fn shutdown_write(&mut self) {
        self.say_goodbye();
        if let Some(socket) = &self.socket {
            let _ = socket.shutdown(std::net::Shutdown::Write);
        }
    }

    /// Before the socket is closed: TLS `close_notify` (best effort).
    pub(crate) fn say_goodbye(&mut self) {
        if let (Some(tls), Some(socket)) = (&mut self.tls, &self.socket) {
            tls.close_notify(socket);
        }
    }

    /// The interest the connection needs now: always readable, and writable
    /// while output is pending (or the TCP connect is in progress, or about
    /// to start).
    pub(crate) fn wanted_interest(&self) -> Interest {
        let writing = matches!(self.phase, Phase::Resolving(_) | Phase::Connecting(_))
            || (!matches!(self.phase, Phase::Lingering) && self.pending_output() > 0);
        if writing {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        }
    }

    /// Writes pending output until all of it is written or the socket would
    /// block. Unwritten bytes stay queued (in `head_out` or in the core).
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        if matches!(self.phase, Phase::Connecting(_) | Phase::Lingering) {
            return Ok(());
        }
        let Self {
            socket: Some(socket),
            tls,
            extras,
            phase,
            ..
        } = self
        else {
            return Ok(()); // Resolving: nothing to write to yet.
        };
        loop {
            let head_len = extras
                .as_ref()
                .map_or(0, |extras| extras.head.len() - extras.written);
            let core_len = match phase {
                Phase::Open(core) => core.buffered_amount(),
                _ => 0,
            };
            if head_len + core_len == 0 {
                return match tls {
                    Some(tls) => tls.write_records(socket),
                    None => Ok(()),
                };
            }
            let written = {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let mut count = 0;
                if let Some(extras) = extras.as_ref().filter(|_| head_len > 0) {
                    slices[0] = IoSlice::new(&extras.head[extras.written..]);
                    count = 1;
                }
                if let Phase::Open(core) = phase {
                    count += core.transmit_slices(&mut slices[count..]);
                }
                let result = match tls {
                    Some(tls) if count == 0 => return tls.write_records(socket),
                    Some(tls) => tls.write(socket, &slices[..count]),
                    None if count == 0 => return Ok(()),
                    None => (&*socket).write_vectored(&slices[..count]),
                };
                match result {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            let from_head = written.min(head_len);
            if let Some(head) = extras.as_mut().filter(|_| from_head > 0) {
                head.written += from_head;
                if head.written == head.head.len() {
                    head.head = Vec::new();
                    head.written = 0;
                    if head.is_empty() {
                        *extras = None;
                    }
                }
            }
            if let Phase::Open(core) = phase {
                core.advance_transmit(written - from_head);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What every connection of the loop costs while idle, beside its timer
    /// entry (issue 12): its slot in the loop's table, which is this size
    /// (the table stores connections inline). Everything that only some
    /// connections need is boxed or kept apart; this bound fails if a
    /// field grows it again. Today (with the default features, in a release
    /// build): 192 bytes, the core ([`Connection`], 152, its own bound in
    /// weir-proto), three words (deadline, extras, TLS) and 16 bytes of
    /// socket, generation and flags; a debug build adds 16 for mio's
    /// registration check in the socket.
    #[test]
    fn conn_size() {
        let size = std::mem::size_of::<Conn>();
        eprintln!(
            "size_of::<Conn>() = {size}, of Connection {}",
            std::mem::size_of::<Connection>()
        );
        let bound = if cfg!(debug_assertions) { 208 } else { 192 };
        assert!(size <= bound, "Conn grew to {size} bytes");
    }
}
