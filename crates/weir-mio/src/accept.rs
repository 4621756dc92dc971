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
//! When accepting fails for want of resources (file descriptors, kernel
//! memory) the clients waiting in the backlog are not lost: the listener
//! retries on a timer with a doubling backoff ([`Listener`],
//! [`Shared::accept`]), and the handler hears once when accepting stops and
//! once when it works again.
//!
//! An answered connection closes once the answer is written
//! ([`Phase::Answering`], then [`Phase::Lingering`]).
//!
//! Beyond [`Config::max_connections`](crate::Config::max_connections)
//! accepted connections (a count shared by the loops of one server), a new
//! client is answered `503 Service Unavailable` at once, without reading its
//! request, and does not count.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::Interest;
use weir_proto::handshake::{
    decide, http_response, internal_error, Decision, HandshakeError, Incoming, Refusal,
    ServerHandshake,
};
use weir_proto::Role;

use crate::conn::{Conn, Phase};
use crate::handler::ConnInfo;
use crate::shared::Shared;
use crate::slab::Slot;
use crate::timers::Deadline;
use crate::tls::{ServerTlsConfig, TlsSession};
use crate::{Error, Handler, Opened};

/// The shortest delay between two tries of a failing accept, whatever
/// [`Config::accept_backoff`](crate::Config::accept_backoff) says: a
/// zero delay would spin.
const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(1);

/// A listening socket, and its retry schedule while accepting fails.
pub(crate) struct Listener {
    pub(crate) socket: TcpListener,
    /// The bound address, for reports.
    addr: SocketAddr,
    /// Set while accepting fails: the delay before the next try, and when
    /// that try is due (its timer entry).
    retry: Option<(Duration, Instant)>,
    /// Set for a TLS listener: how its connections do TLS.
    tls: Option<ServerTlsConfig>,
}

impl Listener {
    /// A listener bound to `addr`, accepting; over TLS if `tls` is given.
    pub(crate) fn new(socket: TcpListener, addr: SocketAddr, tls: Option<ServerTlsConfig>) -> Self {
        Self {
            socket,
            addr,
            retry: None,
            tls,
        }
    }
}

impl Shared {
    /// The listener in slot `index` is readable: accepts every pending
    /// connection, unless accepting is failing and a retry is scheduled
    /// (then the retry's timer accepts).
    pub(crate) fn accept_ready<H: Handler>(&mut self, index: usize, handler: &mut H) {
        if let Some(Slot::Listener { listener, .. }) = self.slab.get_mut(index) {
            if listener.retry.is_none() {
                self.accept(index, handler);
            }
        }
    }

    /// The retry of the listener in slot `index` scheduled for `when` is
    /// due: accepts again, unless that retry was superseded.
    pub(crate) fn retry_accept<H: Handler>(
        &mut self,
        index: usize,
        when: Deadline,
        handler: &mut H,
    ) {
        if let Some(Slot::Listener { listener, .. }) = self.slab.get_mut(index) {
            if listener
                .retry
                .is_some_and(|(_, due)| self.timers.deadline(due) == when)
            {
                self.accept(index, handler);
            }
        }
    }

    /// Accepts every pending connection on listener `index`.
    ///
    /// An aborted connection is skipped. Any other error (out of file
    /// descriptors, EMFILE or ENFILE, or of kernel memory, ENOBUFS or
    /// ENOMEM) leaves the connections waiting in the backlog, and readiness
    /// is edge-triggered, so no event would come for them until yet another
    /// client arrives: accepting is retried on a timer instead, after
    /// [`Config::accept_backoff`](crate::Config::accept_backoff), doubling
    /// up to [`Config::accept_backoff_max`](crate::Config::accept_backoff_max).
    /// [`Handler::on_accept_error`] hears of the first failure and
    /// [`Handler::on_accept_resumed`] of the recovery.
    fn accept<H: Handler>(&mut self, index: usize, handler: &mut H) {
        loop {
            let Some(Slot::Listener { listener, .. }) = self.slab.get_mut(index) else {
                return;
            };
            let accepted = match listener.socket.accept() {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => {
                    return self.back_off(index, &e, handler);
                }
                other => other,
            };
            if listener.retry.take().is_some() {
                handler.on_accept_resumed(listener.addr);
            }
            let Ok((socket, _peer)) = accepted else {
                return; // WouldBlock: the backlog is empty.
            };
            let tls = match listener.tls.as_ref().map(TlsSession::accept).transpose() {
                Ok(tls) => tls,
                Err(_) => continue, // rustls refused its own configuration: drop it.
            };
            self.admit(socket, tls);
        }
    }

    /// Schedules the next try of listener `index`, whose accept failed with
    /// `error`, and reports the first failure of a spell.
    fn back_off<H: Handler>(&mut self, index: usize, error: &io::Error, handler: &mut H) {
        let Some(Slot::Listener { listener, .. }) = self.slab.get_mut(index) else {
            return;
        };
        let first = self.config.accept_backoff.max(MIN_ACCEPT_BACKOFF);
        let delay = match listener.retry {
            None => {
                handler.on_accept_error(listener.addr, error);
                first
            }
            Some((delay, _)) => (delay * 2).min(self.config.accept_backoff_max).max(first),
        };
        let when = Instant::now() + delay;
        listener.retry = Some((delay, when));
        self.timers.push_listener(when, index);
    }

    /// Registers a newly accepted connection, or answers it `503` at once
    /// if [`Config::max_connections`](crate::Config::max_connections) are
    /// held already.
    fn admit(&mut self, socket: TcpStream, tls: Option<TlsSession>) {
        // Small frames (pongs, short messages) should leave at once.
        let _ = socket.set_nodelay(true);
        let handshake = ServerHandshake::with_max_header_bytes(self.config.max_header_bytes);
        let admitted = self.admissions.try_admit();
        let full = !admitted;
        let mut conn = Conn::new(
            Some(socket),
            Role::Server,
            Phase::AwaitingRequest(handshake),
            Interest::READABLE,
        );
        conn.admitted = admitted;
        conn.tls = tls;
        // A socket that cannot be registered (or stored: the loop holds
        // all the slots it can) is dropped (closed), and its place given
        // back.
        match self.insert_conn(conn) {
            Ok(index) if full => self.answer(index, service_unavailable()),
            Ok(_) => {}
            Err(_) if admitted => self.admissions.release(1),
            Err(_) => {}
        }
    }

    /// Acts on what the request reader of connection `index` returned.
    pub(crate) fn on_request<H: Handler>(
        &mut self,
        index: usize,
        result: Result<Option<Incoming>, HandshakeError>,
        handler: &mut H,
    ) {
        let incoming = match result {
            Ok(None) => return,
            Ok(Some(incoming)) => Ok(incoming),
            Err(error) => Err(error),
        };
        let Some(info) = self.conn_info(index) else {
            return;
        };
        let incoming = incoming.map(|incoming| incoming.with_peer_addr(info.peer_addr));
        let config = Arc::clone(&self.core_config);
        match decide(incoming, config, |request| {
            handler.on_upgrade(request, &info)
        }) {
            Decision::Accept { accepted, request } => {
                let Some(conn) = self.slab.conn_mut(index) else {
                    return;
                };
                conn.set_head_out(accepted.response);
                conn.set_protocol(accepted.protocol.map(String::into_boxed_str));
                conn.phase = Phase::Open(accepted.connection);
                self.with_ws(index, |ws| handler.on_open(ws, Opened::Accepted(&request)));
                self.drain_events(index, handler);
                self.slab.mark_dirty(index);
            }
            // A plain HTTP request: the handler answers it.
            Decision::Refuse {
                refusal: Refusal::NotWebSocket(request),
                ..
            } => {
                let answer = handler.on_http(&request, &info);
                self.answer(index, answer);
            }
            Decision::Refuse { response, refusal } => {
                self.answer(index, response);
                // An invalid request, or accept options the request does not
                // allow (the handler asked for a subprotocol the client did
                // not offer); a rejection is the handler's own doing.
                if let Refusal::Invalid(error) = refusal {
                    let error = Error::Handshake(error);
                    self.with_ws(index, |ws| handler.on_error(ws, &error));
                }
            }
        }
    }

    /// What the handler is told of connection `index` before it opens.
    fn conn_info(&self, index: usize) -> Option<ConnInfo> {
        Some(ConnInfo {
            id: self.slab.id_at(index)?,
            peer_addr: self.slab.conn(index)?.peer_addr(),
        })
    }

    /// Queues `answer` as the last bytes connection `index` writes, and
    /// bounds the rest of its life, the answer's writing and the linger
    /// after it, by `Config::linger_timeout`.
    fn answer(&mut self, index: usize, answer: Vec<u8>) {
        let when = self.now + self.config.linger_timeout();
        if let Some(conn) = self.slab.conn_mut(index) {
            conn.set_head_out(answer);
            conn.phase = Phase::Answering;
            conn.deadline = Some(self.timers.push(when, index));
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
