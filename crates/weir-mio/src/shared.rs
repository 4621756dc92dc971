//! [`Shared`]: the part of an event loop that reading, settling, accepting
//! and the application's callbacks all reach (registration, the slab of
//! connections, timers, admissions), and the bookkeeping every one of
//! them needs: inserting and removing connections, and reporting a failed
//! or closed connection to the [`Handler`] exactly once.
//!
//! The loop itself (poll, dispatch, the order of a turn) is in
//! `event_loop.rs`; it owns a `Shared` beside the poller and read buffer.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use mio::{Registry, Token};
use weir_proto::CloseCode;

use crate::admission::Admissions;
use crate::conn::{Conn, Phase};
use crate::resolve::Resolver;
use crate::slab::{Slab, Slot};
use crate::timers::Timers;
use crate::{Config, ConnId, Error, Handler, Ws};

/// The part of the loop that callbacks reach, apart from the poller and the
/// read buffer.
pub(crate) struct Shared {
    pub(crate) registry: Registry,
    pub(crate) slab: Slab,
    pub(crate) timers: Timers,
    pub(crate) config: Config,
    /// `config.connection`, shared by every connection's core: each holds
    /// a pointer to it rather than a copy.
    pub(crate) core_config: Arc<weir_proto::Config>,
    /// The time, read once per stage of a turn of the loop (before
    /// settling what is pending, after the poll, before expiring timers)
    /// rather than per read: what the cores are told (`settle.rs`), to
    /// the precision their deadlines of seconds need.
    pub(crate) now: Instant,
    /// The places for accepted connections ([`Config::max_connections`]);
    /// shared by the loops of one server.
    pub(crate) admissions: Admissions,
    /// Host names being resolved for client connections, off this thread.
    pub(crate) resolver: Resolver,
}

impl Shared {
    /// The id of the connection inserted next ([`Shared::insert_conn`]).
    pub(crate) fn next_id(&mut self) -> io::Result<ConnId> {
        self.slab.next_id()
    }

    /// Stops listening, starts the closing handshake with `code` on every
    /// open connection, and drops those still in their opening handshake
    /// or done with their HTTP answer.
    pub(crate) fn shutdown(&mut self, code: CloseCode, reason: &str) {
        for index in self.slab.indices() {
            match self.slab.get_mut(index) {
                Some(Slot::Listener { .. }) => {
                    if let Some(Slot::Listener { mut listener, .. }) = self.slab.remove(index) {
                        let _ = self.registry.deregister(&mut listener.socket);
                    }
                }
                Some(Slot::Conn(conn)) => match &mut conn.phase {
                    Phase::Open(core) => {
                        if !conn.close_reported && core.state() == weir_proto::State::Open {
                            let _ = core.close(code, reason);
                        }
                        self.slab.mark_dirty(index);
                    }
                    // The HTTP answer is still being written.
                    Phase::Answering => {}
                    // The answer is out; the peer's side no longer matters.
                    Phase::Lingering
                    | Phase::AwaitingRequest(_)
                    | Phase::Resolving(_)
                    | Phase::Connecting(_)
                    | Phase::AwaitingResponse(_) => self.remove(index),
                },
                Some(Slot::Vacant { .. }) | None => {}
            }
        }
    }

    /// Registers a new connection (with `conn.interest`), starts its
    /// handshake deadline and returns its slot.
    pub(crate) fn insert_conn(&mut self, mut conn: Conn) -> io::Result<usize> {
        let index = self.slab.vacancy()?;
        // A connection that cannot be registered is dropped, and gives back
        // its place under the connection limit with it.
        if let Some(socket) = &mut conn.socket {
            self.registry
                .register(socket, Token(index), conn.interest)?;
        }
        let when = Instant::now() + self.config.handshake_timeout;
        conn.deadline = Some(self.timers.push(when, index));
        self.slab.insert_conn(conn)
    }

    /// Deregisters and drops connection `index`, closing its socket.
    pub(crate) fn remove(&mut self, index: usize) {
        if let Some(Slot::Conn(mut conn)) = self.slab.remove(index) {
            if conn.admitted {
                self.admissions.release(1);
            }
            conn.say_goodbye();
            if let Some(socket) = &mut conn.socket {
                let _ = self.registry.deregister(socket);
            }
        }
    }

    /// Calls `f` with a handle on connection `index`, if it is there.
    pub(crate) fn with_ws(&mut self, index: usize, f: impl FnOnce(&mut Ws<'_>)) {
        if let Some(mut ws) = Ws::new(&mut self.slab, index) {
            f(&mut ws);
        }
    }

    /// Delivers `on_close` unless it was delivered already; after it, the
    /// connection gets no more callbacks.
    pub(crate) fn report_close<H: Handler>(
        &mut self,
        index: usize,
        code: CloseCode,
        reason: &str,
        handler: &mut H,
    ) {
        let Some(conn) = self.slab.conn_mut(index) else {
            return;
        };
        if conn.close_reported {
            return;
        }
        conn.close_reported = true;
        self.with_ws(index, |ws| handler.on_close(ws, code, reason));
    }

    /// Reports `error` and drops the connection: `on_error`, then
    /// `on_close` (1006) if the connection had opened. Nothing is reported
    /// once `on_close` was delivered, or for a connection that was only
    /// answering an HTTP request.
    pub(crate) fn fail<H: Handler>(&mut self, index: usize, error: Error, handler: &mut H) {
        let Some(conn) = self.slab.conn(index) else {
            return;
        };
        let quiet =
            conn.close_reported || matches!(conn.phase, Phase::Answering | Phase::Lingering);
        let opened = matches!(conn.phase, Phase::Open(_));
        if !quiet {
            self.with_ws(index, |ws| handler.on_error(ws, &error));
            if opened {
                self.report_close(index, CloseCode::ABNORMAL, "", handler);
            }
        }
        self.remove(index);
    }
}

impl Drop for Shared {
    /// Gives back the places under
    /// [`Config::max_connections`] that the loop's connections still hold,
    /// as removing each would.
    fn drop(&mut self) {
        let admitted = self
            .slab
            .indices()
            .into_iter()
            .filter(|&index| self.slab.conn(index).is_some_and(|conn| conn.admitted))
            .count();
        self.admissions.release(admitted);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::admission::Admissions;
    use crate::{Config, EventLoop};

    struct Quiet;
    impl crate::Handler for Quiet {}

    /// An accepted connection takes a place under `max_connections`; the
    /// loop gives it back when the connection goes and when the loop is
    /// dropped with the connection still in it.
    #[test]
    fn places_come_back_when_a_connection_goes_and_when_the_loop_is_dropped() {
        let mut event_loop = EventLoop::new(Config::default()).unwrap();
        let admissions = Admissions::new(10);
        event_loop.join_server(0, 0, admissions.clone());
        let addr = event_loop.listen("127.0.0.1:0").unwrap();
        let leaving = std::net::TcpStream::connect(addr).unwrap();
        let _staying = std::net::TcpStream::connect(addr).unwrap();
        run_until(&mut event_loop, |event_loop| {
            event_loop.connection_count() == 2
        });
        assert_eq!(admissions.taken(), 2);
        drop(leaving);
        run_until(&mut event_loop, |event_loop| {
            event_loop.connection_count() == 1
        });
        assert_eq!(admissions.taken(), 1);
        drop(event_loop);
        assert_eq!(admissions.taken(), 0);
    }

    /// Runs `event_loop` until `done` holds, failing after 20 s.
    fn run_until(event_loop: &mut EventLoop, done: impl Fn(&EventLoop) -> bool) {
        let give_up = Instant::now() + Duration::from_secs(20);
        while !done(event_loop) {
            assert!(Instant::now() < give_up, "gave up waiting");
            let turn = Some(Duration::from_millis(50));
            event_loop.run_once(&mut Quiet, turn).unwrap();
        }
    }
}
