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
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use weir_proto::handshake::{
    internal_error, AcceptOptions, HttpRequest, Rejection, UpgradeRequest,
};
use weir_proto::{CloseCode, Fragment, Message, MessageKind};

use super::guard::guarded;
use super::handle::{lock, write, Shared};
use super::socket::Inner;
use super::sockets::Sockets;
use super::{ReadyState, Socket, WsHandler};
use crate::{ConnInfo, Conns, Error, EventLoop, Handler, Opened, Ws as LoopWs};

/// The reason of the Close frame sent when a callback panicked (1011): the
/// panic's message stays on the server.
const PANIC_CLOSE_REASON: &str = "internal error";

/// One worker's handler and state.
pub(crate) struct Worker {
    pub(super) index: usize,
    pub(super) server: Arc<Shared>,
    /// The connections this worker accepted, until their `on_close`.
    pub(super) sockets: Sockets,
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
            server,
            sockets: Sockets::default(),
            spare_commands: Vec::new(),
            shutting_down: false,
        }
    }

    /// Runs `event_loop` until the shutdown is over.
    pub(crate) fn run(mut self, mut event_loop: EventLoop) -> io::Result<()> {
        let result = self.run_loop(&mut event_loop);
        // At the deadline (or on a poller failure): what is left is dropped.
        let left = self.sockets.take_all();
        for socket in left {
            self.server.finish(&socket, CloseCode::ABNORMAL, "");
        }
        result
    }

    fn run_loop(&mut self, event_loop: &mut EventLoop) -> io::Result<()> {
        loop {
            let mut timeout = None;
            if let Some(deadline) = self.server.shutdown_deadline() {
                if !self.shutting_down {
                    self.shutting_down = true;
                    self.drain(&mut event_loop.conns());
                    event_loop.shutdown(CloseCode::GOING_AWAY, "server shutting down");
                    for socket in self.sockets.iter() {
                        socket.set_state(ReadyState::Closing);
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
    pub(super) fn report(&self, handler: &dyn WsHandler, socket: &Socket, error: &Error) {
        if guarded("on_error", || handler.on_error(socket, error)).is_err() {
            let _ = socket.close(CloseCode::INTERNAL_ERROR, PANIC_CLOSE_REASON);
        }
    }

    /// A callback for `socket` panicked (`panic` is the
    /// [`Error::HandlerPanicked`]): reports it, then closes the connection
    /// with 1011; the other connections go on.
    fn contain(&self, handler: &dyn WsHandler, socket: &Socket, panic: Error) {
        self.report(handler, socket, &panic);
        let _ = socket.close(CloseCode::INTERNAL_ERROR, PANIC_CLOSE_REASON);
    }

    /// Hands data of `kind` (a message, or a piece of one) to the handler's
    /// `callback` through `deliver`, unless the handler takes only the
    /// other kind (then the connection is closed with 1003); a panic is
    /// contained.
    fn hand_over(
        &mut self,
        ws: &mut LoopWs<'_>,
        kind: MessageKind,
        callback: &'static str,
        deliver: impl FnOnce(&dyn WsHandler, &Socket),
    ) {
        if let Some(socket) = self.sockets.get(ws.id()) {
            let handler = self.server.routes.handler(socket.inner.route);
            let delivered = guarded(callback, || match handler.message_kind() {
                Some(accepted) if accepted != kind => {
                    let reason = match accepted {
                        MessageKind::Text => "only text messages are accepted",
                        MessageKind::Binary => "only binary messages are accepted",
                    };
                    let _ = socket.close(CloseCode::UNSUPPORTED_DATA, reason);
                }
                _ => deliver(handler, socket),
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
        // The peer reset its connection before its request was answered.
        let Some(peer_addr) = info.peer_addr() else {
            return Err(Rejection::new(400).with_body("The connection was reset.\n"));
        };
        let socket = Socket {
            inner: Arc::new(Inner {
                id: info.id(),
                peer_addr,
                path: (path != self.server.routes.pattern(route)).then(|| path.into()),
                route,
                state: (ReadyState::Connecting as u8).into(),
                buffered: Default::default(),
                queued: Default::default(),
                protocol: Default::default(),
                #[cfg(feature = "deflate")]
                deflate: Default::default(),
                rooms: Default::default(),
                assembly: Default::default(),
                server: Arc::clone(&self.server),
            }),
        };
        // A socket left in the slot is finished below, with the worker's own.
        let _ = write(&self.server.directory[self.index]).insert(socket.clone());
        let handler = self.server.routes.handler(route);
        let decision = guarded("on_open", || handler.on_open(&socket, request))
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
                let _ = socket
                    .inner
                    .protocol
                    .set(options.protocol.as_deref().map(Box::from));
                if let Some(stale) = self.sockets.insert(socket) {
                    self.server.finish(&stale, CloseCode::ABNORMAL, "");
                }
                Ok(options)
            }
            Err(rejection) => {
                socket.set_state(ReadyState::Closed);
                self.server.forget(&socket);
                self.wake_if_pending();
                Err(rejection)
            }
        }
    }

    fn on_open(&mut self, ws: &mut LoopWs<'_>, _opened: Opened<'_>) {
        if let Some(socket) = self.sockets.get(ws.id()) {
            let _ = socket.inner.state.compare_exchange(
                ReadyState::Connecting as u8,
                ReadyState::Open as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            ws.set_buffered_mirror(socket.inner.clone());
            #[cfg(feature = "deflate")]
            {
                *lock(&socket.inner.deflate) = ws.deflate();
            }
        }
        self.drain(ws);
    }

    fn on_message(&mut self, ws: &mut LoopWs<'_>, message: Message) {
        self.hand_over(ws, message.kind(), "on_message", |handler, socket| {
            handler.on_message(socket, message)
        });
    }

    fn on_fragment(&mut self, ws: &mut LoopWs<'_>, fragment: Fragment) {
        self.hand_over(ws, fragment.kind, "on_fragment", |handler, socket| {
            handler.on_fragment(socket, fragment)
        });
    }

    fn on_close(&mut self, ws: &mut LoopWs<'_>, code: CloseCode, reason: &str) {
        if let Some(socket) = self.sockets.remove(ws.id()) {
            self.server.finish(&socket, code, reason);
        }
        self.drain(ws);
    }

    fn on_error(&mut self, ws: &mut LoopWs<'_>, error: &Error) {
        if let Some(socket) = self.sockets.get(ws.id()).cloned() {
            let handler = self.server.routes.handler(socket.inner.route);
            self.report(handler, &socket, error);
            if socket.state() == ReadyState::Connecting {
                // The upgrade failed after on_open accepted it (e.g. a
                // subprotocol the client did not offer). The handler took
                // the socket as live, so it hears the end as for any
                // connection that ends before a closing handshake: 1006.
                self.sockets.remove(socket.id());
                self.server.finish(&socket, CloseCode::ABNORMAL, "");
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
