//! One worker: an [`EventLoop`] on its own thread, the low-level
//! [`Handler`] that routes its connections to the application's
//! [`WsHandler`]s, and its command queue.
//!
//! Every connection belongs to the worker whose loop accepted it. Anything
//! that acts on a connection from outside a callback of that loop (a send
//! from another thread, a broadcast, a room message) becomes a [`Command`]
//! in the worker's queue. The worker drains the queue after every callback
//! (so a send from a callback on the same worker needs no wake-up) and when
//! its loop is woken (a send from anywhere else).
//! (`commands.rs` has the commands and how they run.)
//!
//! Shutdown: [`ServerHandle::shutdown`](super::ServerHandle::shutdown) sets
//! a deadline and wakes every worker. Between turns of its loop, a worker
//! that sees the deadline drains its queue (so what was queued is sent),
//! then closes its listener and every connection with 1001, and runs until
//! its connections are gone or the deadline has passed.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use weir_proto::handshake::{
    internal_error, AcceptOptions, HttpRequest, Rejection, UpgradeRequest,
};
use weir_proto::{CloseCode, Fragment, Message, MessageKind};

use super::dispatch::{Dispatch, State};
use super::guard::guarded;
use super::handle::Shared;
use super::records::Records;
use super::states::States;
use super::{ReadyState, Socket};
use crate::{ConnId, ConnInfo, Conns, Error, EventLoop, Handler, Opened, Ws as LoopWs};

/// The reason of the Close frame sent when a callback panicked (1011): the
/// panic's message stays on the server.
const PANIC_CLOSE_REASON: &str = "internal error";

/// One worker's handler and state.
pub(crate) struct Worker {
    pub(super) index: usize,
    pub(super) server: Arc<Shared>,
    /// This worker's records (`records.rs`), which say which of its
    /// connections are accepted and not finished.
    records: Arc<Records>,
    /// The states of those connections that opened.
    states: States,
    /// The socket lent to callbacks, its id set for each: so that a
    /// callback costs no reference count.
    socket: Socket,
    /// Storage for the commands being run, traded with the queue's
    /// (`commands.rs`).
    pub(super) spare_commands: Vec<super::commands::Command>,
    /// The shutdown has started on this worker.
    shutting_down: bool,
}

impl Worker {
    pub(crate) fn new(index: usize, server: Arc<Shared>) -> Self {
        Self {
            index,
            records: Arc::clone(&server.records[index]),
            states: States::default(),
            socket: Socket {
                server: Arc::clone(&server),
                id: ConnId::new(0, index, 0, 0),
            },
            server,
            spare_commands: Vec::new(),
            shutting_down: false,
        }
    }

    /// Runs `event_loop` until the shutdown is over.
    pub(crate) fn run(mut self, mut event_loop: EventLoop) -> io::Result<()> {
        event_loop.set_mirror(Arc::clone(&self.records) as _);
        let result = self.run_loop(&mut event_loop);
        // At the deadline (or on a poller failure): what is left is dropped.
        let left: Vec<ConnId> = self.records.iter().map(|(id, _)| id).collect();
        for id in left {
            self.finish(id, CloseCode::ABNORMAL, "");
        }
        result
    }

    /// The end of connection `id`, with its state (`Shared::finish`).
    fn finish(&mut self, id: ConnId, code: CloseCode, reason: &str) {
        let state = self.states.take(id.slot());
        self.server.finish(id, state, code, reason);
    }

    /// A socket of connection `id` of its own (for a callback that may
    /// finish the connection, which takes the worker's).
    fn socket_of(&self, id: ConnId) -> Socket {
        Socket {
            server: Arc::clone(&self.server),
            id,
        }
    }

    fn run_loop(&mut self, event_loop: &mut EventLoop) -> io::Result<()> {
        loop {
            let mut timeout = None;
            if let Some(deadline) = self.server.shutdown_deadline() {
                if !self.shutting_down {
                    self.shutting_down = true;
                    self.drain(&mut event_loop.conns());
                    event_loop.shutdown(CloseCode::GOING_AWAY, "server shutting down");
                    for (id, _) in self.records.iter() {
                        self.server.record(id).set_state(id, ReadyState::Closing);
                    }
                }
                let now = Instant::now();
                if now >= deadline || event_loop.connection_count() == 0 {
                    return Ok(());
                }
                timeout = Some(deadline - now);
            }
            event_loop.run_once(self, timeout)?;
        }
    }

    /// Reports `error` to the handler's `on_error`. If that panics, the
    /// connection is closed with 1011 and the panic is not reported again.
    pub(super) fn report(&self, handler: &dyn Dispatch, socket: &Socket, error: &Error) {
        if guarded("on_error", || handler.on_error(socket, error)).is_err() {
            let _ = socket.close(CloseCode::INTERNAL_ERROR, PANIC_CLOSE_REASON);
        }
    }

    /// A callback for `socket` panicked (`panic` is the
    /// [`Error::HandlerPanicked`]): reports it, then closes the connection
    /// with 1011; the other connections go on.
    fn contain(&self, handler: &dyn Dispatch, socket: &Socket, panic: Error) {
        self.report(handler, socket, &panic);
        let _ = socket.close(CloseCode::INTERNAL_ERROR, PANIC_CLOSE_REASON);
    }

    /// Hands data of `kind` (a message, or a piece of one) to the handler's
    /// `callback` through `deliver`, with the connection's state, unless
    /// the handler takes only the other kind (then the connection is closed
    /// with 1003) or the connection has no state (its `on_open` panicked);
    /// a panic is contained.
    fn hand_over(
        &mut self,
        ws: &mut LoopWs<'_>,
        kind: MessageKind,
        callback: &'static str,
        deliver: impl FnOnce(&dyn Dispatch, &Socket, &mut State),
    ) {
        let id = ws.id();
        let server = &self.server;
        let record = self
            .records
            .get(id.slot())
            .and_then(|record| record.meta(id));
        if let (Some(meta), Some(state)) = (record, self.states.get_mut(id.slot())) {
            self.socket.id = id;
            let socket = &self.socket;
            let handler = server.routes.handler(meta.route);
            let delivered = guarded(callback, || match handler.message_kind() {
                Some(accepted) if accepted != kind => {
                    let reason = match accepted {
                        MessageKind::Text => "only text messages are accepted",
                        MessageKind::Binary => "only binary messages are accepted",
                    };
                    let _ = socket.close(CloseCode::UNSUPPORTED_DATA, reason);
                }
                _ => deliver(handler, socket, state),
            });
            if let Err(panic) = delivered {
                self.contain(handler, socket, panic);
            }
        }
        self.drain(ws);
    }

    /// After a callback that cannot drain (no connection to reach through:
    /// `on_upgrade`, `on_http`): if it queued commands, wake this worker so
    /// that its next turn runs them.
    fn wake_if_pending(&self) {
        let link = &self.server.workers[self.index];
        if !link.is_empty() {
            link.wake();
        }
    }
}

impl Handler for Worker {
    fn on_upgrade(
        &mut self,
        request: &UpgradeRequest,
        info: &ConnInfo,
    ) -> Result<AcceptOptions, Rejection> {
        if self.shutting_down {
            return Err(Rejection::new(503).with_body("The server is shutting down.\n"));
        }
        let path = request.request().path();
        let Some(route) = self.server.routes.find(path) else {
            return Err(Rejection::new(404)
                .with_header("Content-Type", "text/plain; charset=utf-8")
                .with_body("No WebSocket endpoint at this path.\n"));
        };
        let id = info.id();
        let held = self.records.make(id.slot()).load();
        if held.state != ReadyState::Closed && held.generation != id.generation() {
            // A connection that left the slot without its end reaching the
            // worker: finished now, with its state.
            let stale = ConnId::new(id.node(), self.index, id.slot(), held.generation);
            self.finish(stale, CloseCode::ABNORMAL, "");
        }
        self.records.make(id.slot()).begin(id, route);
        self.records.count(true);
        let socket = self.socket_of(id);
        let handler = self.server.routes.handler(route);
        let decision = guarded("on_upgrade", || handler.on_upgrade(&socket, request))
            .map_err(|panic| {
                // No connection to close yet: the upgrade is refused.
                self.report(handler, &socket, &panic);
                Rejection::new(500).with_body("The server failed to answer.\n")
            })
            .and_then(|decision| decision);
        match decision {
            #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
            Ok(mut options) => {
                #[cfg(feature = "deflate")]
                {
                    options.deflate = self.server.deflate.clone();
                }
                if let Some(protocol) = &options.protocol {
                    self.records.details(id, |details| {
                        details.protocol = Some(protocol.as_str().into());
                    });
                }
                Ok(options)
            }
            Err(rejection) => {
                self.server.finish(id, None, CloseCode::ABNORMAL, "");
                self.wake_if_pending();
                Err(rejection)
            }
        }
    }

    fn on_open(&mut self, ws: &mut LoopWs<'_>, opened: Opened<'_>) {
        let Opened::Accepted(request) = opened else {
            return; // a client connection: the server makes none
        };
        let id = ws.id();
        let Some(meta) = self
            .records
            .get(id.slot())
            .and_then(|record| record.meta(id))
        else {
            return self.drain(ws);
        };
        #[cfg(feature = "deflate")]
        let deflate = super::records::pack_deflate(ws.deflate());
        #[cfg(not(feature = "deflate"))]
        let deflate = 0;
        self.server.record(id).open(id, deflate);
        self.socket.id = id;
        let socket = &self.socket;
        let handler = self.server.routes.handler(meta.route);
        match guarded("on_open", || handler.on_open(socket, request)) {
            Ok(state) => self.states.put(id.slot(), state),
            // No state: no other callback follows.
            Err(panic) => {
                let socket = socket.clone();
                self.contain(handler, &socket, panic);
            }
        }
        self.drain(ws);
    }

    fn on_message(&mut self, ws: &mut LoopWs<'_>, message: Message) {
        self.hand_over(
            ws,
            message.kind(),
            "on_message",
            |handler, socket, state| handler.on_message(socket, state, message),
        );
    }

    fn on_fragment(&mut self, ws: &mut LoopWs<'_>, fragment: Fragment) {
        self.hand_over(
            ws,
            fragment.kind,
            "on_fragment",
            |handler, socket, state| handler.on_fragment(socket, state, fragment),
        );
    }

    fn on_close(&mut self, ws: &mut LoopWs<'_>, code: CloseCode, reason: &str) {
        self.finish(ws.id(), code, reason);
        self.drain(ws);
    }

    fn on_error(&mut self, ws: &mut LoopWs<'_>, error: &Error) {
        let id = ws.id();
        if let Some(meta) = self
            .records
            .get(id.slot())
            .and_then(|record| record.meta(id))
        {
            let socket = self.socket_of(id);
            let handler = self.server.routes.handler(meta.route);
            self.report(handler, &socket, error);
            if socket.state() == ReadyState::Connecting {
                // The upgrade failed after on_upgrade accepted it (e.g. a
                // subprotocol the client did not offer): it never opened,
                // so there is no state and no on_close.
                self.finish(id, CloseCode::ABNORMAL, "");
            }
        }
        self.drain(ws);
    }

    fn on_http(&mut self, request: &HttpRequest, _info: &ConnInfo) -> Vec<u8> {
        // A panicking fallback is answered 500, as a failed handler would
        // be by any HTTP server.
        let answer = guarded("the HTTP fallback", || {
            (self.server.routes.http)(request).to_bytes()
        })
        .unwrap_or_else(|_| internal_error());
        self.wake_if_pending();
        answer
    }

    fn on_accept_error(&mut self, listener: SocketAddr, error: &io::Error) {
        let _ = guarded("on_accept_error", || {
            (self.server.accept_hooks.error)(listener, error)
        });
    }

    fn on_accept_resumed(&mut self, listener: SocketAddr) {
        let _ = guarded("on_accept_resumed", || {
            (self.server.accept_hooks.resumed)(listener)
        });
    }

    fn on_wake(&mut self, conns: &mut Conns<'_>) {
        self.drain(conns);
    }
}
