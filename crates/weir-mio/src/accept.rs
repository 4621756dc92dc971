//! The server side: accepting TCP connections and answering their opening
//! handshake.
//!
//! An accepted socket starts in [`Phase::AwaitingRequest`] with a
//! [`ServerHandshake`] that reads the request head incrementally, from
//! whatever pieces the reads deliver. Once the head is complete:
//! - an upgrade request goes to [`Handler::on_upgrade`]; accepted, the `101`
//!   is queued ahead of any frame, the core takes over (with the bytes that
//!   followed the head), and [`Handler::on_open`] runs; rejected, the
//!   rejection is written as the HTTP answer;
//! - a plain HTTP request is answered by [`Handler::on_http`] (by default
//!   `426 Upgrade Required`);
//! - an invalid request is answered with the error's own response (400,
//!   405, 426, 431, 505) and reported to [`Handler::on_error`].
//!
//! An answered connection closes once the answer is written
//! ([`Phase::Answering`], then [`Phase::Lingering`]).
//!
//! Beyond [`Config::max_connections`](crate::Config::max_connections)
//! accepted connections (a count shared by the loops of one server), a new
//! client is answered `503 Service Unavailable` at once, without reading its
//! request, and does not count.

use std::io;

use mio::Interest;
use weir_proto::handshake::{
    http_response, internal_error, HandshakeError, Incoming, ServerHandshake, UpgradeRequest,
};
use weir_proto::Role;

use crate::conn::{Conn, Phase};
use crate::event_loop::Shared;
use crate::handler::ConnInfo;
use crate::slab::Slot;
use crate::{Error, Handler, Opened};

impl Shared {
    /// Accepts every pending connection on listener `index`.
    ///
    /// Errors other than an aborted connection (e.g. out of file
    /// descriptors) end this round of accepting; the connections left in the
    /// backlog are accepted at the listener's next readiness.
    pub(crate) fn accept(&mut self, index: usize) {
        loop {
            let Some(Slot::Listener(listener)) = self.slab.get_mut(index) else {
                return;
            };
            let (socket, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(_) => return,
            };
            // Small frames (pongs, short messages) should leave at once.
            let _ = socket.set_nodelay(true);
            let handshake = ServerHandshake::with_max_header_bytes(self.config.max_header_bytes);
            let id = self.next_id();
            let admission = self.admissions.try_admit();
            let full = admission.is_none();
            let mut conn = Conn::new(
                id,
                socket,
                peer,
                Role::Server,
                Phase::AwaitingRequest(handshake),
                Interest::READABLE,
            );
            if full {
                conn.head_out = service_unavailable();
                conn.phase = Phase::Answering;
                conn.interest = Interest::READABLE | Interest::WRITABLE;
            }
            conn.admission = admission;
            // A socket that cannot be registered is dropped (closed).
            if let Ok(index) = self.insert_conn(conn) {
                if full {
                    self.slab.mark_dirty(index);
                }
            }
        }
    }

    /// Acts on what the request reader of connection `index` returned.
    pub(crate) fn on_request<H: Handler>(
        &mut self,
        index: usize,
        result: Result<Option<Incoming>, HandshakeError>,
        handler: &mut H,
    ) {
        match result {
            Ok(None) => {}
            Ok(Some(Incoming::Upgrade(request))) => self.upgrade(index, request, handler),
            Ok(Some(Incoming::Http(request))) => {
                let Some(conn) = self.slab.conn(index) else {
                    return;
                };
                let info = ConnInfo {
                    id: conn.id,
                    peer_addr: conn.peer,
                };
                let answer = handler.on_http(&request, &info);
                self.answer(index, answer);
            }
            Err(error) => {
                self.answer(index, error.response().unwrap_or_else(internal_error));
                let error = Error::Handshake(error);
                self.with_ws(index, |ws| handler.on_error(ws, &error));
            }
        }
    }

    /// Asks the handler about an upgrade request, then accepts or rejects.
    fn upgrade<H: Handler>(&mut self, index: usize, request: UpgradeRequest, handler: &mut H) {
        let Some(conn) = self.slab.conn(index) else {
            return;
        };
        let info = ConnInfo {
            id: conn.id,
            peer_addr: conn.peer,
        };
        let options = match handler.on_upgrade(&request, &info) {
            Ok(options) => options,
            Err(rejection) => return self.answer(index, rejection.response()),
        };
        let accepted = match request.accept(&options, self.config.connection.clone()) {
            Ok(accepted) => accepted,
            Err(error) => {
                // The handler asked for something the client did not offer.
                self.answer(index, internal_error());
                let error = Error::Handshake(error);
                return self.with_ws(index, |ws| handler.on_error(ws, &error));
            }
        };
        let Some(conn) = self.slab.conn_mut(index) else {
            return;
        };
        conn.head_out = accepted.response;
        conn.head_written = 0;
        conn.protocol = options.protocol.map(String::into_boxed_str);
        conn.phase = Phase::Open(Box::new(accepted.connection));
        self.with_ws(index, |ws| handler.on_open(ws, Opened::Accepted(&request)));
        self.drain_events(index, handler);
        self.slab.mark_dirty(index);
    }

    /// Queues `answer` as the last bytes connection `index` writes.
    fn answer(&mut self, index: usize, answer: Vec<u8>) {
        if let Some(conn) = self.slab.conn_mut(index) {
            conn.head_out = answer;
            conn.head_written = 0;
            conn.phase = Phase::Answering;
            self.slab.mark_dirty(index);
        }
    }
}

/// `503 Service Unavailable`, for a client beyond
/// [`Config::max_connections`](crate::Config::max_connections).
fn service_unavailable() -> Vec<u8> {
    let headers = [
        ("Connection", "close"),
        ("Retry-After", "5"),
        ("Content-Type", "text/plain; charset=utf-8"),
    ];
    http_response(503, &headers, b"Too many connections; try again later.\n")
        .unwrap_or_else(|_| internal_error())
}
