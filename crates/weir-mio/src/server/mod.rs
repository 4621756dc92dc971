//! The server API: a WebSocket server built once and run, with handlers
//! routed by path, a plain-HTTP fallback on the same port, rooms,
//! broadcasts encoded once, sends from any thread, protections with safe
//! defaults, and graceful shutdown.
//!
//! ```no_run
//! use std::time::Duration;
//! use weir_mio::server::{HttpResponse, Server, Socket, WsHandler};
//! use weir_mio::Message;
//!
//! struct Echo;
//!
//! impl WsHandler for Echo {
//!     type State = ();
//!
//!     fn on_message(&self, ws: &Socket, _state: &mut (), message: Message) {
//!         let _ = ws.send(message);
//!     }
//! }
//!
//! let server = Server::builder()
//!     .bind("127.0.0.1:8080")
//!     .route("/echo", Echo)
//!     .http(|_request| HttpResponse::html("<p>try ws://host/echo</p>"))
//!     .build()?;
//! let handle = server.handle();
//! std::thread::spawn(move || {
//!     let _ = handle.broadcast("hello, everyone");
//!     handle.shutdown(Duration::from_secs(2));
//! });
//! server.run()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # What lives where
//! - `mod.rs`: [`WsHandler`], [`ServerBuilder`], [`Server`] (`build`, `run`);
//!   `dispatch.rs`: the routes' handlers with their state types erased.
//! - `route.rs`: path patterns, [`HttpResponse`] for the fallback.
//! - `socket.rs`: [`Socket`], the connection handle, and [`ReadyState`];
//!   `records.rs`: what any thread may know of each connection, without a
//!   lock; `states.rs`: a worker's connections' states, by slot.
//! - `handle.rs`: [`ServerHandle`] and the state all threads share.
//! - `queue.rs`: the workers' command queues, their bound on broadcasts,
//!   and [`BroadcastRefused`].
//! - `rooms.rs`: [`Room`] and membership.
//! - `cluster/` (feature `redis`): [`Cluster`], rooms, broadcasts and sends
//!   across servers over Redis pub/sub.
//! - `assemble.rs`: streaming mode, and [`Socket::reassemble`].
//! - `run.rs`: the worker threads, and how one failed worker stops them all.
//! - `worker.rs`: one event loop per thread and the glue from the
//!   low-level [`Handler`](crate::Handler) to [`WsHandler`]; `commands.rs`:
//!   what other threads queue for a worker, and how it runs them;
//!   `guard.rs`: every call into the application under `catch_unwind`.
//!
//! # Design
//! - N workers, each an [`EventLoop`] on its own thread with a clone of the
//!   one listening socket; the kernel spreads clients between them. An id
//!   carries its worker's index and its slot in that worker's loop, so it
//!   is unique across workers and handlers, never reused, and says which
//!   worker to post to without a lookup; [`Config::max_connections`](crate::Config::max_connections) counts across
//!   workers too.
//! - One [`WsHandler`] instance per route, shared by all workers (`&self`);
//!   each connection's own state ([`WsHandler::State`]) stays on its
//!   worker, beside its socket, and is lent to its callbacks: no lock.
//!   State shared by connections goes behind a `Mutex`, or in rooms.
//! - A [`Socket`] never touches its connection: commands go to the owning
//!   worker's queue, drained after every callback (no wake-up needed from
//!   the same worker) or on a wake-up (from anywhere else).
//! - Broadcasts (server, route, room) are encoded once into a
//!   [`PreparedMessage`](weir_proto::PreparedMessage) whose bytes every
//!   recipient's queue shares. A worker whose command queue is full
//!   ([`ServerBuilder::command_queue_capacity`]) refuses them
//!   ([`BroadcastRefused`]).
//!
//! # Failures
//! - A worker that fails (its OS poller fails) stops the whole server in
//!   order: the others shut down gracefully and [`Server::run`] returns the
//!   error.
//! - A panic in a [`WsHandler`] callback costs only its connection (closed
//!   with 1011, reported as [`Error::HandlerPanicked`]), never the worker:
//!   see the trait's docs. A panic in the HTTP fallback is answered `500`.
//!
//! # Protections and their defaults
//! All in [`Config`](crate::Config) (see each field): handshake timeout 10 s; keepalive
//! ping after 30 s of quiet and drop after 30 s more without input; at most
//! 10 000 connections (503 beyond); a send queue of 1 MiB per connection
//! (the builder's default, lower than the core's 16 MiB so that 10 000 slow
//! clients hold at most about 10 GiB rather than 160) with
//! [`SlowConsumer::Close`](crate::SlowConsumer::Close) beyond it (close
//! with 1008 "slow consumer"); frames up to 16 MiB and messages up to 64
//! MiB (the core's limits, in [`Config::connection`](crate::Config::connection)); a close timeout of
//! 5 s.

mod assemble;
mod builder;
#[cfg(feature = "redis")]
mod cluster;
mod commands;
mod dispatch;
mod guard;
mod handle;
mod queue;
mod records;
mod rooms;
mod route;
mod run;
mod socket;
mod states;
mod worker;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use weir_proto::handshake::{AcceptOptions, Rejection, UpgradeRequest};
use weir_proto::{CloseCode, Fragment, Message, MessageKind};

pub use builder::ServerBuilder;
#[cfg(feature = "redis")]
pub use cluster::{Cluster, ClusterStats, ClusterStatus};
pub use handle::ServerHandle;
pub use queue::BroadcastRefused;
pub use rooms::Room;
pub use route::HttpResponse;
pub use socket::{ReadyState, Socket};

use handle::Shared;
use worker::Worker;

use crate::{Error, EventLoop};

/// The application's handler for one route (path) of a [`Server`].
///
/// One instance serves every connection of its route on every worker, so
/// methods take `&self` and the type must be `Send + Sync`. What belongs to
/// one connection lives in its [`WsHandler::State`]: made by `on_open`,
/// lent `&mut` to every callback of that connection, and given back to
/// `on_close`; no `Mutex<HashMap<ConnId, _>>` is needed for it. Callbacks
/// run on the connection's worker thread and must not block.
///
/// For each connection: `on_upgrade` decides; if it accepts, `on_open`
/// makes the state once the `101` is on its way, then any number of
/// `on_message` (or `on_fragment` in streaming mode), then exactly one
/// `on_close`; `on_error` may come at any point before `on_close`. An
/// upgrade that `on_upgrade` accepted but that fails all the same (a
/// subprotocol the client did not offer is answered 500) gets `on_error`
/// only: it never opened.
///
/// # Panics
/// A panic in a callback is caught and costs only the connection it was
/// serving; the worker and its other connections go on:
/// - in `on_message`, `on_fragment` (or `message_kind`): `on_error` gets
///   [`Error::HandlerPanicked`], then the connection is closed with 1011
///   (internal error) by the closing handshake, and `on_close` follows as
///   usual;
/// - in `on_upgrade`: `on_error` gets [`Error::HandlerPanicked`] and the
///   upgrade is refused with `500`;
/// - in `on_open`: `on_error` gets [`Error::HandlerPanicked`] and the
///   connection is closed with 1011; with no state made, no other callback
///   follows;
/// - in `on_error`: the connection is closed with 1011; the panic is not
///   reported again;
/// - in `on_close`: nothing more; the connection is over and leaves its
///   rooms all the same.
///
/// The panic hook runs as usual (by default it prints the message). The
/// server's own state is never left poisoned: no lock of its is held while
/// a callback runs. A connection's state is dropped with it; state shared
/// between connections (in the handler, behind a `Mutex`) is the
/// application's: a `Mutex` it held while panicking is poisoned, and
/// recovering with
/// [`PoisonError::into_inner`](std::sync::PoisonError::into_inner) is right
/// only where a half-done update cannot break its data.
pub trait WsHandler: Send + Sync + 'static {
    /// What the handler keeps for each connection (a user id, the rooms it
    /// joined under which names): `()` for nothing. `Default` makes the
    /// state of a connection whose `on_open` is not overridden; a state
    /// with no sensible default can be an `Option`.
    type State: Default + Send + 'static;

    /// An upgrade request for this route: accept it (`Ok`, with a
    /// subprotocol from `request.protocols()` or extra headers if wanted) or
    /// reject it with an HTTP answer (e.g. `Rejection::new(401)` for a
    /// missing token). `request.request()` has the path, query and headers.
    ///
    /// `ws` is in [`ReadyState::Connecting`]: what it sends (or closes) is
    /// queued and goes out right after the `101`. The default accepts.
    fn on_upgrade(
        &self,
        ws: &Socket,
        request: &UpgradeRequest,
    ) -> Result<AcceptOptions, Rejection> {
        let _ = (ws, request);
        Ok(AcceptOptions::default())
    }

    /// The upgrade was accepted and the `101` is on its way: make the
    /// connection's state, from the request if need be. `ws` is open:
    /// messages may be sent. The default makes `State::default()`.
    fn on_open(&self, ws: &Socket, request: &UpgradeRequest) -> Self::State {
        let _ = (ws, request);
        Self::State::default()
    }

    /// A whole text or binary message arrived.
    fn on_message(&self, ws: &Socket, state: &mut Self::State, message: Message) {
        let _ = (ws, state, message);
    }

    /// A piece of a message arrived: only in streaming mode
    /// ([`weir_proto::Config::streaming`] in
    /// [`Config::connection`](crate::Config::connection)), where messages
    /// come this way instead of to `on_message`. A message's pieces come in
    /// order, the first with `is_first` and the last with `is_last`.
    ///
    /// The default puts them back together ([`Socket::reassemble`], held
    /// to [`weir_proto::Config::max_message_size`]) and passes each whole
    /// message to `on_message`, so routes that want whole messages work
    /// unchanged on a streaming server. Override it to take pieces as they
    /// come, e.g. to write an upload to disk without holding all of it.
    fn on_fragment(&self, ws: &Socket, state: &mut Self::State, fragment: Fragment) {
        if let Some(message) = ws.reassemble(fragment) {
            self.on_message(ws, state, message);
        }
    }

    /// The connection is over: the peer's Close code and reason, the code
    /// this side failed the connection with, or 1006 without a closing
    /// handshake (see [`Handler::on_close`](crate::Handler::on_close)). The
    /// state comes back, to be dropped or kept. The socket is still in its
    /// rooms during this call.
    fn on_close(&self, ws: &Socket, state: Self::State, code: CloseCode, reason: &str) {
        let _ = (ws, state, code, reason);
    }

    /// Something went wrong on the connection: a protocol violation by the
    /// peer, an I/O error, a timeout, a queued send that failed, a failed
    /// upgrade.
    fn on_error(&self, ws: &Socket, error: &Error) {
        let _ = (ws, error);
    }

    /// The only kind of message this handler takes, if it fixes one: a
    /// message of the other kind closes the connection with 1003
    /// (unsupported data) instead of reaching `on_message`. Default: both.
    fn message_kind(&self) -> Option<MessageKind> {
        None
    }
}

/// A WebSocket server, bound and ready to [`run`](Server::run).
pub struct Server {
    shared: Arc<Shared>,
    loops: Vec<EventLoop>,
}

impl Server {
    /// A builder with the defaults: `127.0.0.1:8080`, no route, 404 for
    /// plain HTTP, one worker.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// The bound address (useful with port 0); TLS if
    /// [`ServerBuilder::tls`] was given.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// The address of the plain listener added by
    /// [`ServerBuilder::bind_plain`], if any.
    pub fn plain_addr(&self) -> Option<SocketAddr> {
        self.shared.plain_addr
    }

    /// A handle for other threads: broadcast, rooms, sends, shutdown.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Runs the workers (the first on this thread, the others on threads
    /// of their own) until [`ServerHandle::shutdown`] has finished.
    ///
    /// Fails if a worker fails (its OS poller fails, or a bug panics it: a
    /// panicking callback does not, see [`WsHandler`]) or a worker thread
    /// cannot be started. Then the other workers shut down as
    /// [`ServerHandle::shutdown`] makes them, with the close timeout
    /// ([`weir_proto::Config::close_timeout`], or
    /// [`Config::handshake_timeout`](crate::Config::handshake_timeout) when
    /// that is `None`) as the deadline, and this returns the error once
    /// every worker has ended: no worker thread outlives it.
    pub fn run(self) -> io::Result<()> {
        let Self { shared, loops } = self;
        let jobs = loops
            .into_iter()
            .enumerate()
            .map(|(index, event_loop)| {
                let worker = Worker::new(index, Arc::clone(&shared));
                Box::new(move || worker.run(event_loop)) as run::Job
            })
            .collect();
        let result = run::run_workers(&shared, jobs);
        // Sockets kept by the application no longer reach anything (every
        // worker has finished its connections; one that panicked had them
        // finished for it).
        for records in &shared.records {
            for (id, _) in records.iter() {
                shared.record(id).set_state(id, ReadyState::Closed);
            }
        }
        handle::write(&shared.rooms).clear();
        #[cfg(feature = "redis")]
        if let Some(cluster) = &shared.cluster {
            cluster.stop();
        }
        result
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.shared.local_addr)
            .field("workers", &self.loops.len())
            .finish_non_exhaustive()
    }
}
