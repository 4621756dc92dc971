//! The write side of the loop: settling connections, and relaying time.
//!
//! Settling a connection writes its pending output (vectored, until empty
//! or `WouldBlock`), keeps `WRITABLE` interest registered only while output
//! remains, closes the socket once the connection is done, and keeps its
//! timer armed (`timers.rs`). A connection whose core is done but whose
//! peer is still there (it may still be sending, e.g. after its protocol
//! error) is not closed at once: it ends its side after the Close and
//! lingers, discarding input, until the peer ends its side or the linger's
//! deadline, so that a reset never destroys the Close.
//!
//! An open connection's deadlines are the core's: the keepalive ping after
//! [`idle_timeout`](weir_proto::Config::idle_timeout) of quiet, the
//! [`ping_timeout`](weir_proto::Config::ping_timeout) for anything to come
//! back, and the [`close_timeout`](weir_proto::Config::close_timeout) of
//! the closing handshake. Settling tells the core the time
//! ([`Connection::handle_timeout`](weir_proto::Connection::handle_timeout)),
//! with the loop's one reading of the clock for the batch of reads or
//! commands that made the connection dirty (`Shared::now`), and arms the
//! timer at the core's next deadline
//! ([`Connection::poll_timeout`](weir_proto::Connection::poll_timeout)).
//! The timer firing only marks the connection dirty: the settling that
//! follows tells the core the time, and the core decides whether anything
//! expired. A deadline the core reports ([`TimedOut`]) is reported like any
//! failure: `on_error`, then `on_close` with 1006.
//!
//! What stays here is what happens before the core exists or without it:
//! the handshake timeout, and the end of a linger.

use std::io;

use mio::Token;
use weir_proto::TimedOut;

use crate::conn::{Conn, Phase};
use crate::shared::Shared;
use crate::{Error, Handler};

impl Shared {
    /// Writes, closes or re-arms every connection marked dirty.
    pub(crate) fn settle_all<H: Handler>(&mut self, handler: &mut H) {
        while let Some(index) = self.slab.pop_dirty() {
            self.settle(index, handler);
        }
    }

    /// Tells connection `index` the time if it is open; writes what it has
    /// pending; closes it if it is done; otherwise keeps its interest and
    /// timer up to date.
    fn settle<H: Handler>(&mut self, index: usize, handler: &mut H) {
        let now = self.now;
        let Some((conn, mirror)) = self.slab.conn_and_mirror(index) else {
            return;
        };
        if let Phase::Open(core) = &mut conn.phase {
            // First, so that a keepalive ping it queues is written below.
            if let Some(why) = core.handle_timeout(now) {
                let error = timed_out(why, core.config());
                return self.fail(index, error, handler);
            }
        }
        if let Err(e) = conn.flush() {
            return self.fail(index, Error::Io(e), handler);
        }
        if let Some(mirror) = mirror {
            mirror.store(index, conn.pending_output());
        }
        if matches!(conn.phase, Phase::Answering) && conn.pending_output() == 0 {
            // The HTTP answer is out: close our side, then wait (bounded by
            // the linger's deadline, armed with the answer) for the peer to
            // close its side.
            conn.shutdown_write();
            conn.phase = Phase::Lingering;
        }
        let done = match &conn.phase {
            Phase::Open(core) => core.should_close_transport(),
            Phase::AwaitingRequest(_) | Phase::Lingering => conn.eof,
            Phase::Resolving(_)
            | Phase::Connecting(_)
            | Phase::AwaitingResponse(_)
            | Phase::Answering => false,
        };
        if done {
            if !lingers_after_close(conn) {
                return self.remove(index);
            }
            // The Close is written: end our side after it and wait (up to
            // the linger's deadline) for the peer to end its side, reading
            // and discarding what it still sends. Closing at once instead,
            // with its input unread, would send a reset, which can destroy
            // our Close before the peer reads it (after a protocol error,
            // the peer is typically still sending).
            conn.shutdown_write();
            conn.phase = Phase::Lingering;
            let when = now + self.config.linger_timeout();
            conn.deadline = Some(self.timers.push(when, index));
        }
        let wanted = conn.wanted_interest();
        if let Some(socket) = conn.socket.as_mut().filter(|_| wanted != conn.interest) {
            if let Err(e) = self.registry.reregister(socket, Token(index), wanted) {
                return self.fail(index, Error::Io(e), handler);
            }
            conn.interest = wanted;
        }
        // Before it opens, the deadline armed with the phase stands.
        let Phase::Open(core) = &conn.phase else {
            return;
        };
        match (core.poll_timeout(), conn.deadline) {
            (None, _) => conn.deadline = None,
            // The armed entry fires no later: re-armed then, so that input
            // moving the keepalive deadline on pushes nothing.
            (Some(when), Some(armed)) if armed <= self.timers.deadline(when) => {}
            (Some(when), _) => conn.deadline = Some(self.timers.push(when, index)),
        }
    }

    /// Handles every timer due at `self.now`: a connection's (see the
    /// module docs), or a listener's retry of a failed accept
    /// (`accept.rs`). The caller settles afterwards.
    pub(crate) fn expire<H: Handler>(&mut self, handler: &mut H) {
        while let Some((when, index, listener)) = self.timers.pop_due(self.now) {
            if listener {
                self.retry_accept(index, when, handler);
                continue;
            }
            let Some(conn) = self.slab.conn_mut(index) else {
                continue;
            };
            if conn.deadline != Some(when) {
                continue; // Stale: the slot's connection has another deadline.
            }
            conn.deadline = None;
            match conn.phase {
                // Settling tells the core the time; it decides.
                Phase::Open(_) => self.slab.mark_dirty(index),
                Phase::Answering | Phase::Lingering => self.remove(index),
                Phase::Resolving(_)
                | Phase::Connecting(_)
                | Phase::AwaitingRequest(_)
                | Phase::AwaitingResponse(_) => {
                    let error = Error::HandshakeTimeout(self.config.handshake_timeout);
                    self.fail(index, error, handler);
                }
            }
        }
    }
}

/// The error a deadline of the core is reported as, with the limit that
/// expired.
fn timed_out(why: TimedOut, config: &weir_proto::Config) -> Error {
    match why {
        TimedOut::Keepalive => Error::IdleTimeout(config.ping_timeout),
        TimedOut::Close => Error::CloseTimeout(config.close_timeout.unwrap_or_default()),
        // A deadline added to the core later: still a timeout, and still
        // the end of the connection.
        other => Error::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the connection timed out: {other:?}"),
        )),
    }
}

/// Whether connection `conn`, whose core is done, should linger rather
/// than close at once: it sent its Close, the application has had
/// `on_close`, and the peer has not ended its side yet (then there is
/// nothing left to wait for).
fn lingers_after_close(conn: &Conn) -> bool {
    matches!(conn.phase, Phase::Open(_)) && conn.close_reported && !conn.eof
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::{ClientOptions, Config, EventLoop, Handler, Message, Opened, Role, Ws};

    /// The client sends one message at a time, `left` in all, each once
    /// the server's echo of the one before has come back.
    struct Volley {
        left: usize,
    }

    impl Handler for Volley {
        fn on_open(&mut self, ws: &mut Ws<'_>, opened: Opened<'_>) {
            if let Opened::Connected(_) = opened {
                ws.send("volley").unwrap();
            }
        }

        fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
            if ws.role() == Role::Server || self.left > 0 {
                self.left -= usize::from(ws.role() == Role::Client);
                ws.send(message).unwrap();
            }
        }
    }

    #[test]
    fn reads_and_sends_push_no_timer_entries() {
        let mut event_loop = EventLoop::new(Config::default()).unwrap();
        let addr = event_loop.listen("127.0.0.1:0").unwrap();
        let uri = format!("ws://{addr}/");
        event_loop.connect(&uri, ClientOptions::default()).unwrap();
        let mut volley = Volley { left: 500 };
        let give_up = Instant::now() + Duration::from_secs(20);
        while volley.left > 0 {
            assert!(Instant::now() < give_up, "{} messages left", volley.left);
            let turn = Some(Duration::from_millis(100));
            event_loop.run_once(&mut volley, turn).unwrap();
        }
        // Each side's handshake entry, still armed: it comes due before the
        // keepalive deadline, which moved on with every message and is
        // pushed only once that entry fires.
        assert_eq!(event_loop.timer_entries(), 2);
    }
}
