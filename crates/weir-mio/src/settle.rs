//! The write side of the loop: settling connections, and deadlines.
//!
//! Settling a connection writes its pending output (vectored, until empty
//! or `WouldBlock`), keeps `WRITABLE` interest registered only while output
//! remains, closes the socket once the connection is done, and keeps its
//! deadline matching its phase: the handshake timeout until it opens, the
//! keepalive deadlines while open (idle: ping once the connection has been
//! quiet for [`Config::idle_timeout`](crate::Config::idle_timeout); pong:
//! drop it if nothing arrives within
//! [`Config::ping_timeout`](crate::Config::ping_timeout) of the ping), the
//! close timeout once it is closing.
//!
//! The idle deadline is lazy: reads only record the time of the last input,
//! and when the deadline comes due it is pushed back to "last input + idle
//! timeout" if input came meanwhile. So a busy connection costs one timer
//! entry per idle period, not one per read.

use std::net::Shutdown;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;

use mio::Token;

use crate::conn::{DeadlineKind, Phase};
use crate::event_loop::Shared;
use crate::{Error, Handler};

impl Shared {
    /// Writes, closes or re-arms every connection marked dirty.
    pub(crate) fn settle_all<H: Handler>(&mut self, handler: &mut H) {
        while let Some(index) = self.slab.pop_dirty() {
            self.settle(index, handler);
        }
    }

    /// Writes what connection `index` has pending; closes it if it is done;
    /// otherwise keeps its interest and deadline up to date.
    fn settle<H: Handler>(&mut self, index: usize, handler: &mut H) {
        let Some(conn) = self.slab.conn_mut(index) else {
            return;
        };
        if let Err(e) = conn.flush() {
            return self.fail(index, Error::Io(e), handler);
        }
        if let Some(mirror) = &conn.buffered_mirror {
            mirror.store(conn.pending_output(), Ordering::Relaxed);
        }
        if matches!(conn.phase, Phase::Answering) && conn.pending_output() == 0 {
            // The HTTP answer is out: close our side, then wait (bounded by
            // the close timeout) for the peer to close its side.
            if let Some(socket) = &conn.socket {
                let _ = socket.shutdown(Shutdown::Write);
            }
            conn.phase = Phase::Lingering;
        }
        let done = match &conn.phase {
            Phase::Open(core) => {
                core.should_close_transport() || (conn.eof && conn.pending_output() == 0)
            }
            Phase::AwaitingRequest(_) | Phase::Lingering => conn.eof,
            Phase::Resolving(_)
            | Phase::Connecting(_)
            | Phase::AwaitingResponse(_)
            | Phase::Answering => false,
        };
        if done {
            return self.remove(index);
        }
        let wanted = conn.wanted_interest();
        if let Some(socket) = conn.socket.as_mut().filter(|_| wanted != conn.interest) {
            if let Err(e) = self.registry.reregister(socket, Token(index), wanted) {
                return self.fail(index, Error::Io(e), handler);
            }
            conn.interest = wanted;
        }
        let kind = if conn.is_closing() {
            Some(DeadlineKind::Close)
        } else if matches!(conn.phase, Phase::Open(_)) {
            match (self.config.idle_timeout, conn.deadline) {
                (None, _) => None,
                (Some(_), Some((_, DeadlineKind::Pong))) => Some(DeadlineKind::Pong),
                (Some(_), _) => Some(DeadlineKind::Idle),
            }
        } else {
            Some(DeadlineKind::Handshake)
        };
        match (conn.deadline, kind) {
            (Some((_, current)), Some(kind)) if current == kind => {}
            (_, None) => conn.deadline = None,
            (_, Some(kind)) => {
                let now = Instant::now();
                let when = match kind {
                    DeadlineKind::Handshake => now + self.config.handshake_timeout,
                    DeadlineKind::Close => now + self.config.close_timeout,
                    DeadlineKind::Idle => {
                        conn.last_input + self.config.idle_timeout.unwrap_or_default()
                    }
                    DeadlineKind::Pong => now + self.config.ping_timeout,
                };
                conn.deadline = Some((when, kind));
                self.timers.push(when, index, conn.id);
            }
        }
    }

    /// Handles every deadline due at `now` (and the retries of listeners
    /// whose accept failed, `accept.rs`).
    pub(crate) fn expire<H: Handler>(&mut self, now: Instant, handler: &mut H) {
        while let Some((when, index, id)) = self.timers.pop_due(now) {
            let Some(id) = id else {
                self.retry_accept(index, when, handler);
                continue;
            };
            let Some(conn) = self.slab.conn_mut(index) else {
                continue;
            };
            let Some((deadline, kind)) = conn.deadline else {
                continue;
            };
            if conn.id != id || deadline != when {
                continue;
            }
            conn.deadline = None;
            match kind {
                DeadlineKind::Handshake => {
                    let error = Error::HandshakeTimeout(self.config.handshake_timeout);
                    self.fail(index, error, handler);
                }
                DeadlineKind::Idle => {
                    let Some(idle) = self.config.idle_timeout else {
                        continue;
                    };
                    let due = conn.last_input + idle;
                    let when = if due > now {
                        // Input came since the deadline was set: start over.
                        conn.deadline = Some((due, DeadlineKind::Idle));
                        due
                    } else {
                        if let Some(core) = conn.core_mut() {
                            // A full queue refuses the ping; the pong deadline
                            // still applies, and a peer that reads nothing
                            // for that long is as good as gone.
                            let _ = core.ping(Bytes::new());
                        }
                        let when = now + self.config.ping_timeout;
                        conn.deadline = Some((when, DeadlineKind::Pong));
                        when
                    };
                    self.timers.push(when, index, id);
                    self.slab.mark_dirty(index);
                }
                DeadlineKind::Pong => {
                    let error = Error::IdleTimeout(self.config.ping_timeout);
                    self.fail(index, error, handler);
                }
                DeadlineKind::Close => {
                    let opened = matches!(conn.phase, Phase::Open(_));
                    if opened && !conn.close_reported {
                        let error = Error::CloseTimeout(self.config.close_timeout);
                        self.fail(index, error, handler);
                    } else {
                        self.remove(index);
                    }
                }
            }
        }
    }
}
