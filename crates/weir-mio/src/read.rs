//! The read side of the loop: readiness, reads into the loop's read buffer
//! (`read_buf.rs`), and the dispatch of what they produce to the handler.
//!
//! Reads go until `WouldBlock` (mio's readiness is edge-triggered), until a
//! read on a plain socket comes back short of the buffer (the socket was
//! empty then: see [`Shared::read`]), or until
//! the connection has used its turn's budget,
//! [`Config::read_budget`](crate::Config::read_budget) bytes, whichever
//! comes first; `Ok(0)` is end of file and `Interrupted` is retried. A
//! connection whose budget ran out may still have input waiting, for which
//! no new readiness will come, so it goes on the slab's list of pending
//! reads and is read again in the next turn of the loop (which then polls
//! without waiting). One peer sending flat out thus gets one budget per
//! turn, like every other connection with input, instead of holding the
//! loop until it pauses. Each chunk is fed at once to
//! the connection's current reader: the request or response reader during
//! the handshake (which copies what it needs), the core once open (which
//! takes the bytes themselves, no copy; the rest of a frame larger than the
//! buffer is read straight into the room the core reserves for it). Then
//! the core is polled for events until it has none, and each event becomes
//! a callback. Nothing here writes: every connection touched is marked
//! dirty and settled afterwards (`settle.rs`).

use std::io;

use mio::event::Event as Readiness;
use weir_proto::{CloseCode, Event, State};

use crate::conn::{Conn, Phase};
use crate::read_buf::ReadBuf;
use crate::shared::Shared;
use crate::slab::Slot;
use crate::tls::is_tls_failure;
use crate::{Error, Handler};

/// Bytes discarded from a connection that is closing (lingering after an
/// HTTP answer, or after the closing handshake) before it is dropped as a
/// flood.
const MAX_DISCARD: usize = 1 << 20;

impl Shared {
    /// Handles readiness of slot `index`.
    pub(crate) fn ready<H: Handler>(
        &mut self,
        index: usize,
        event: &Readiness,
        scratch: &mut ReadBuf,
        handler: &mut H,
    ) {
        let connecting = match self.slab.get_mut(index) {
            None => return,
            Some(Slot::Listener { .. }) => return self.accept_ready(index, handler),
            Some(Slot::Conn(conn)) => matches!(conn.phase, Phase::Connecting(_)),
            Some(Slot::Vacant { .. }) => return,
        };
        if connecting {
            self.finish_connect(index, handler);
        }
        // A connection with a read pending has had its turn's read; it is
        // read again (whatever the event said) in the next turn.
        let input = event.is_readable() || event.is_read_closed() || event.is_error();
        if input && !self.slab.conn(index).is_some_and(|conn| conn.read_pending) {
            // With the peer's end or an error reported, read on to see it.
            let short_read_drains = !event.is_read_closed() && !event.is_error();
            self.read(index, scratch, short_read_drains, handler);
        }
        self.slab.mark_dirty(index);
    }

    /// Reads again from connections `resuming`, whose last read used up
    /// its budget; see the module docs.
    pub(crate) fn resume_reads<H: Handler>(
        &mut self,
        resuming: Vec<usize>,
        scratch: &mut ReadBuf,
        handler: &mut H,
    ) {
        for index in resuming {
            // The slot may hold another connection by now.
            let Some(conn) = self.slab.conn_mut(index).filter(|conn| conn.read_pending) else {
                continue;
            };
            conn.read_pending = false;
            self.read(index, scratch, false, handler);
            self.slab.mark_dirty(index);
        }
    }

    /// Reads until `WouldBlock` or until the connection has used its
    /// budget, feeding each chunk on as it comes. With
    /// `short_read_drains`, a plain socket's read that did not fill the
    /// buffer also ends it: the socket was empty then, and any byte that
    /// comes later raises a new readiness event (epoll's edge-triggered
    /// mode reports every arrival), so the read that would only have said
    /// `WouldBlock` is saved: one system call per message at one in flight.
    fn read<H: Handler>(
        &mut self,
        index: usize,
        scratch: &mut ReadBuf,
        short_read_drains: bool,
        handler: &mut H,
    ) {
        let mut budget = self.config.read_budget.max(1);
        loop {
            let Some(conn) = self.slab.conn_mut(index) else {
                return;
            };
            if budget == 0 {
                // More may be waiting: read it next turn.
                conn.read_pending = true;
                return self.slab.mark_read_pending(index);
            }
            if conn.eof || matches!(conn.phase, Phase::Resolving(_) | Phase::Connecting(_)) {
                return;
            }
            if conn.socket.is_none() {
                return;
            }
            let discarding = match &conn.phase {
                Phase::Answering | Phase::Lingering => true,
                Phase::Open(core) => core.state() == State::Closed,
                _ => false,
            };
            // The rest of a frame larger than a block goes straight into
            // the room the core reserved for it.
            let in_place = conn.read_in_place(self.config.read_buffer_size);
            let read_in_place = in_place.is_some();
            let (n, full) = match in_place.unwrap_or_else(|| scratch.read(conn)) {
                Ok((0, _)) => return self.on_eof(index, handler),
                Ok(read) => read,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if is_tls_failure(&e) => return self.fail(index, Error::Tls(e), handler),
                Err(e) => return self.fail(index, Error::Io(e), handler),
            };
            budget = budget.saturating_sub(n);
            let drained = short_read_drains && !full && conn.tls.is_none();
            if discarding {
                if conn.discard(n) > MAX_DISCARD {
                    return self.remove(index);
                }
                if drained {
                    return;
                }
                continue;
            }
            if read_in_place {
                self.drain_events(index, handler);
                self.slab.mark_dirty(index);
            } else {
                self.input(index, scratch, handler);
            }
            if drained {
                return;
            }
        }
    }

    /// Feeds the bytes of the last read from connection `index` to its
    /// phase's reader: the core takes them, the handshake readers copy
    /// what they need.
    fn input<H: Handler>(&mut self, index: usize, scratch: &mut ReadBuf, handler: &mut H) {
        let Some(conn) = self.slab.conn_mut(index) else {
            return;
        };
        match &mut conn.phase {
            Phase::Open(core) => {
                core.receive_buf(&mut scratch.take());
                self.drain_events(index, handler);
            }
            Phase::AwaitingRequest(handshake) => {
                let result = handshake.receive(scratch.filled());
                self.on_request(index, result, handler);
            }
            Phase::AwaitingResponse(handshake) => {
                let result = handshake.receive(scratch.filled());
                self.on_response(index, result, handler);
            }
            Phase::Resolving(_) | Phase::Connecting(_) | Phase::Answering | Phase::Lingering => {}
        }
        self.slab.mark_dirty(index);
    }

    /// Polls the core of connection `index` for events until there are no
    /// more (it returns `None`, or has no input left to parse), and hands
    /// each to the handler.
    pub(crate) fn drain_events<H: Handler>(&mut self, index: usize, handler: &mut H) {
        let mut more = true;
        while more {
            let Some(core) = self.slab.conn_mut(index).and_then(Conn::core_mut) else {
                return;
            };
            let Some(event) = core.poll_event() else {
                return;
            };
            more = core.has_unparsed_input();
            match event {
                Ok(Event::Message(message)) => {
                    self.with_ws(index, |ws| handler.on_message(ws, message));
                }
                Ok(Event::Fragment(fragment)) => {
                    self.with_ws(index, |ws| handler.on_fragment(ws, fragment));
                }
                Ok(Event::Ping(payload)) => {
                    self.with_ws(index, |ws| handler.on_ping(ws, payload));
                }
                Ok(Event::Pong(payload)) => {
                    self.with_ws(index, |ws| handler.on_pong(ws, payload));
                }
                Ok(Event::Close(frame)) => {
                    let (code, reason) = match &frame {
                        Some(frame) => (frame.code, frame.reason.as_str()),
                        None => (CloseCode::NO_STATUS, ""),
                    };
                    self.report_close(index, code, reason, handler);
                }
                Err(error) => {
                    // The core queued a Close with this code and the error's
                    // text as its reason; report the same.
                    let code = error.close_code();
                    let reason = error.close_reason();
                    let error = Error::Protocol(error);
                    self.with_ws(index, |ws| handler.on_error(ws, &error));
                    self.report_close(index, code, &reason, handler);
                }
            }
        }
    }

    /// The peer closed its side of connection `index`.
    fn on_eof<H: Handler>(&mut self, index: usize, handler: &mut H) {
        let Some(conn) = self.slab.conn_mut(index) else {
            return;
        };
        conn.eof = true;
        match &mut conn.phase {
            // Every event of the input before was polled as it came: the
            // core may now tell whether the end was abnormal.
            Phase::Open(core) => {
                if let Some(code) = core.receive_eof() {
                    self.report_close(index, code, "", handler);
                }
            }
            Phase::Resolving(_) | Phase::Connecting(_) | Phase::AwaitingResponse(_) => {
                let error = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection during the opening handshake",
                );
                return self.fail(index, Error::Io(error), handler);
            }
            Phase::AwaitingRequest(_) | Phase::Answering | Phase::Lingering => {}
        }
        self.slab.mark_dirty(index);
    }
}
