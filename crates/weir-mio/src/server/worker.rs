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
//!
//! Backpressure covers the queue too: a [`Socket::send`] reserves its
//! message's bytes on the socket until the worker has run it, and the
//! worker mirrors the connection's send queue after every send it runs, so
//! [`Socket::buffered_amount`] counts both and `Socket::send` refuses at
//! once when their sum is at the limit, even while the worker is busy.
//!
//! Shutdown: [`ServerHandle::shutdown`](super::ServerHandle::shutdown) sets
//! a deadline and wakes every worker. Between turns of its loop, a worker
//! that sees the deadline drains its queue (so what was queued is sent),
//! then closes its listener and every connection with 1001, and runs until
//! its connections are gone or the deadline has passed.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use weir_proto::handshake::{AcceptOptions, HttpRequest, Rejection, UpgradeRequest};
use weir_proto::{CloseCode, Message, MessageKind, PreparedMessage, SendError};

use super::handle::{lock, write, Shared};
use super::socket::{Inner, Reserved};
use super::{ReadyState, Socket};
use crate::{ConnId, ConnInfo, Conns, Error, EventLoop, Handler, Opened, Ws as LoopWs};

/// Work queued for a worker.
pub(crate) enum Command {
    /// Send a message to one connection (from [`Socket::send`], which
    /// reserved its bytes until the worker has run it), compressed where
    /// permessage-deflate is in use unless the flag is off.
    Send(Reserved, Message, bool),
    /// Send one encoded message to these connections of the worker.
    SendPrepared(Vec<ConnId>, PreparedMessage),
    /// Send one encoded message to every open connection of the worker (of
    /// one route, if given), except one.
    Broadcast {
        message: PreparedMessage,
        route: Option<usize>,
        except: Option<ConnId>,
    },
    /// Close one connection.
    Close(ConnId, CloseCode, String),
}

/// What can hand out a low-level handle on a connection of the loop by id:
/// a callback's handle, or the loop's connections in `on_wake`.
trait Reach {
    fn reach(&mut self, id: ConnId) -> Option<LoopWs<'_>>;
}

impl Reach for LoopWs<'_> {
    fn reach(&mut self, id: ConnId) -> Option<LoopWs<'_>> {
        self.other(id)
    }
}

impl Reach for Conns<'_> {
    fn reach(&mut self, id: ConnId) -> Option<LoopWs<'_>> {
        self.ws(id)
    }
}

/// The most rounds of draining after one callback: commands that callbacks
/// run by the drain (`on_error`) queue again are taken in the next rounds;
/// beyond this the worker wakes itself and goes on at its next turn.
const MAX_DRAIN_ROUNDS: usize = 64;

/// One worker's handler and state.
pub(crate) struct Worker {
    index: usize,
    server: Arc<Shared>,
    /// The connections this worker accepted, until their `on_close`.
    sockets: HashMap<ConnId, Socket>,
    /// The shutdown has started on this worker.
    shutting_down: bool,
}

impl Worker {
    pub(crate) fn new(index: usize, server: Arc<Shared>) -> Self {
        Self {
            index,
            server,
            sockets: HashMap::new(),
            shutting_down: false,
        }
    }

    /// Runs `event_loop` until the shutdown is over.
    pub(crate) fn run(mut self, mut event_loop: EventLoop) -> io::Result<()> {
        self.server.enter_worker(self.index);
        let result = self.run_loop(&mut event_loop);
        // At the deadline (or on a poller failure): what is left is dropped.
        let left: Vec<Socket> = self.sockets.drain().map(|(_, socket)| socket).collect();
        for socket in left {
            self.finish(&socket, CloseCode::ABNORMAL, "");
        }
        self.server.leave_worker();
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
                    for socket in self.sockets.values() {
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

    /// The end of a connection: `on_close`, then out of its rooms and the
    /// directory.
    fn finish(&self, socket: &Socket, code: CloseCode, reason: &str) {
        socket.set_state(ReadyState::Closed);
        let handler = self.server.routes.handler(socket.inner.route);
        handler.on_close(socket, code, reason);
        self.forget(socket);
    }

    /// Takes a closed socket out of its rooms and the directory.
    fn forget(&self, socket: &Socket) {
        self.server.leave_all(socket);
        write(&self.server.directory).remove(&socket.id());
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

    /// Runs the queued commands.
    fn drain(&mut self, reach: &mut impl Reach) {
        let server = Arc::clone(&self.server);
        let link = &server.workers[self.index];
        for _ in 0..MAX_DRAIN_ROUNDS {
            let commands = link.take();
            if commands.is_empty() {
                return;
            }
            let mut failures = Vec::new();
            for command in commands {
                self.execute(command, reach, &mut failures);
            }
            for (socket, error) in failures {
                let handler = self.server.routes.handler(socket.inner.route);
                handler.on_error(&socket, &Error::Send(error));
            }
        }
        link.wake();
    }

    fn execute(
        &mut self,
        command: Command,
        reach: &mut impl Reach,
        failures: &mut Vec<(Socket, SendError)>,
    ) {
        match command {
            Command::Send(reserved, message, may_compress) => {
                self.deliver(reach, reserved.id(), failures, |ws| {
                    if may_compress {
                        ws.send(message)
                    } else {
                        ws.send_uncompressed(message)
                    }
                });
                // Only now: the mirror already counts the message.
                drop(reserved);
            }
            Command::SendPrepared(ids, message) => {
                for id in ids {
                    self.deliver(reach, id, failures, |ws| ws.send_prepared(&message));
                }
            }
            Command::Broadcast {
                message,
                route,
                except,
            } => {
                let ids: Vec<ConnId> = self
                    .sockets
                    .values()
                    .filter(|socket| route.map_or(true, |route| socket.inner.route == route))
                    .filter(|socket| Some(socket.id()) != except)
                    .filter(|socket| socket.state() == ReadyState::Open)
                    .map(Socket::id)
                    .collect();
                for id in ids {
                    self.deliver(reach, id, failures, |ws| ws.send_prepared(&message));
                }
            }
            Command::Close(id, code, reason) => {
                if let Some(mut ws) = reach.reach(id) {
                    let _ = ws.close(code, &reason);
                }
            }
        }
    }

    /// Runs a send on connection `id`, and keeps its socket's state in step
    /// when the slow-consumer policy closed it.
    fn deliver(
        &self,
        reach: &mut impl Reach,
        id: ConnId,
        failures: &mut Vec<(Socket, SendError)>,
        send: impl FnOnce(&mut LoopWs<'_>) -> Result<(), SendError>,
    ) {
        let Some(socket) = self.sockets.get(&id) else {
            return;
        };
        let Some(mut ws) = reach.reach(id) else {
            return;
        };
        let result = send(&mut ws);
        // Keep the mirror current while the worker runs commands, not only
        // at its next write, so that `Socket::send` sees the queue fill.
        socket
            .inner
            .buffered
            .store(ws.buffered_amount(), Ordering::Release);
        match result {
            Ok(()) | Err(SendError::Closed) => {}
            Err(error) => {
                if ws.is_open() {
                    failures.push((socket.clone(), error));
                } else {
                    // Closed with 1008 by the slow-consumer policy.
                    let _ = socket.inner.state.compare_exchange(
                        ReadyState::Open as u8,
                        ReadyState::Closing as u8,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                }
            }
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
        let socket = Socket {
            inner: Arc::new(Inner {
                id: info.id(),
                peer_addr: info.peer_addr(),
                path: path.to_owned(),
                route,
                worker: self.index,
                state: (ReadyState::Connecting as u8).into(),
                buffered: Default::default(),
                queued: Default::default(),
                protocol: Default::default(),
                #[cfg(feature = "deflate")]
                deflate: Default::default(),
                rooms: Default::default(),
                server: Arc::clone(&self.server),
            }),
        };
        write(&self.server.directory).insert(socket.id(), socket.clone());
        let handler = self.server.routes.handler(route);
        match handler.on_open(&socket, request) {
            #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
            Ok(mut options) => {
                #[cfg(feature = "deflate")]
                {
                    options.deflate = self.server.deflate.clone();
                }
                *lock(&socket.inner.protocol) = options.protocol.clone();
                self.sockets.insert(socket.id(), socket);
                Ok(options)
            }
            Err(rejection) => {
                socket.set_state(ReadyState::Closed);
                self.forget(&socket);
                self.wake_if_pending();
                Err(rejection)
            }
        }
    }

    fn on_open(&mut self, ws: &mut LoopWs<'_>, _opened: Opened<'_>) {
        if let Some(socket) = self.sockets.get(&ws.id()) {
            let _ = socket.inner.state.compare_exchange(
                ReadyState::Connecting as u8,
                ReadyState::Open as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            ws.set_buffered_mirror(Arc::clone(&socket.inner.buffered));
            #[cfg(feature = "deflate")]
            {
                *lock(&socket.inner.deflate) = ws.deflate();
            }
        }
        self.drain(ws);
    }

    fn on_message(&mut self, ws: &mut LoopWs<'_>, message: Message) {
        if let Some(socket) = self.sockets.get(&ws.id()).cloned() {
            let handler = self.server.routes.handler(socket.inner.route);
            match handler.message_kind() {
                Some(kind) if kind != message.kind() => {
                    let reason = match kind {
                        MessageKind::Text => "only text messages are accepted",
                        MessageKind::Binary => "only binary messages are accepted",
                    };
                    let _ = socket.close(CloseCode::UNSUPPORTED_DATA, reason);
                }
                _ => handler.on_message(&socket, message),
            }
        }
        self.drain(ws);
    }

    fn on_close(&mut self, ws: &mut LoopWs<'_>, code: CloseCode, reason: &str) {
        if let Some(socket) = self.sockets.remove(&ws.id()) {
            self.finish(&socket, code, reason);
        }
        self.drain(ws);
    }

    fn on_error(&mut self, ws: &mut LoopWs<'_>, error: &Error) {
        if let Some(socket) = self.sockets.get(&ws.id()).cloned() {
            let handler = self.server.routes.handler(socket.inner.route);
            handler.on_error(&socket, error);
            if socket.state() == ReadyState::Connecting {
                // The upgrade failed after on_open accepted it (e.g. a
                // subprotocol the client did not offer): no on_close follows.
                self.sockets.remove(&socket.id());
                socket.set_state(ReadyState::Closed);
                self.forget(&socket);
            }
        }
        self.drain(ws);
    }

    fn on_http(&mut self, request: &HttpRequest, _info: &ConnInfo) -> Vec<u8> {
        let answer = (self.server.routes.http)(request).to_bytes();
        self.wake_if_pending();
        answer
    }

    fn on_wake(&mut self, conns: &mut Conns<'_>) {
        self.drain(conns);
    }
}
