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
//!     fn on_message(&self, ws: &Socket, message: Message) {
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
//!     handle.broadcast("hello, everyone");
//!     handle.shutdown(Duration::from_secs(2));
//! });
//! server.run()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # What lives where
//! - `mod.rs`: [`WsHandler`], [`ServerBuilder`], [`Server`] (`build`, `run`).
//! - `route.rs`: path patterns, [`HttpResponse`] for the fallback.
//! - `socket.rs`: [`Socket`], the connection handle, and [`ReadyState`].
//! - `handle.rs`: [`ServerHandle`] and the state all threads share.
//! - `rooms.rs`: [`Room`] and membership.
//! - `worker.rs`: one event loop per thread, its command queue, and the
//!   glue from the low-level [`Handler`](crate::Handler) to [`WsHandler`].
//!
//! # Design
//! - N workers, each an [`EventLoop`] on its own thread with a clone of the
//!   one listening socket; the kernel spreads clients between them. Ids
//!   come from one shared counter, so they are unique across workers and
//!   handlers and never reused; [`Config::max_connections`] counts across
//!   workers too.
//! - One [`WsHandler`] instance per route, shared by all workers (`&self`):
//!   keep mutable state behind a `Mutex`, or in rooms.
//! - A [`Socket`] never touches its connection: commands go to the owning
//!   worker's queue, drained after every callback (no wake-up needed from
//!   the same worker) or on a wake-up (from anywhere else).
//! - Broadcasts (server, route, room) are encoded once into a
//!   [`PreparedMessage`](weir_proto::PreparedMessage) whose bytes every
//!   recipient's queue shares.
//!
//! # Protections and their defaults
//! All in [`Config`] (see each field): handshake timeout 10 s; keepalive
//! ping after 30 s of quiet and drop after 30 s more without input; at most
//! 10 000 connections (503 beyond); a send queue of 1 MiB per connection
//! (the builder's default, lower than the core's 16 MiB so that 10 000 slow
//! clients hold at most about 10 GiB rather than 160) with
//! [`SlowConsumer::Close`](crate::SlowConsumer::Close) beyond it (close
//! with 1008 "slow consumer"); frames up to 16 MiB and messages up to 64
//! MiB (the core's limits, in [`Config::connection`]); a close timeout of
//! 5 s.

mod handle;
mod rooms;
mod route;
mod socket;
mod worker;

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use weir_proto::handshake::{AcceptOptions, HttpRequest, Rejection, UpgradeRequest};
use weir_proto::{CloseCode, Message, MessageKind};

pub use handle::ServerHandle;
pub use rooms::Room;
pub use route::HttpResponse;
pub use socket::{ReadyState, Socket};

use handle::{Shared, WorkerLink};
use route::{HttpFn, Route, Routes};
use worker::Worker;

use crate::admission::Admissions;
use crate::{Config, Error, EventLoop};

/// The application's handler for one route (path) of a [`Server`].
///
/// One instance serves every connection of its route on every worker, so
/// methods take `&self` and the type must be `Send + Sync`. Callbacks run on
/// the connection's worker thread and must not block. For each connection:
/// `on_open`, then (if it accepted) any number of `on_message`, then exactly
/// one `on_close`; `on_error` may come before `on_close`.
pub trait WsHandler: Send + Sync + 'static {
    /// An upgrade request for this route: accept it (`Ok`, with a
    /// subprotocol from `request.protocols()` or extra headers if wanted) or
    /// reject it with an HTTP answer (e.g. `Rejection::new(401)` for a
    /// missing token). `request.request()` has the path, query and headers.
    ///
    /// `ws` is in [`ReadyState::Connecting`]: what it sends (or closes) is
    /// queued and goes out right after the `101`. The default accepts.
    fn on_open(&self, ws: &Socket, request: &UpgradeRequest) -> Result<AcceptOptions, Rejection> {
        let _ = (ws, request);
        Ok(AcceptOptions::default())
    }

    /// A whole text or binary message arrived.
    fn on_message(&self, ws: &Socket, message: Message) {
        let _ = (ws, message);
    }

    /// The connection is over: the peer's Close code and reason, the code
    /// this side failed the connection with, or 1006 without a closing
    /// handshake (see [`Handler::on_close`](crate::Handler::on_close)). The
    /// socket is still in its rooms during this call.
    fn on_close(&self, ws: &Socket, code: CloseCode, reason: &str) {
        let _ = (ws, code, reason);
    }

    /// Something went wrong on the connection: a protocol violation by the
    /// peer, an I/O error, a timeout, a queued send that failed.
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

/// Builds a [`Server`]: [`Server::builder`], then the methods below, then
/// [`ServerBuilder::build`].
pub struct ServerBuilder {
    addr: io::Result<Vec<SocketAddr>>,
    routes: Vec<Route>,
    http: Box<HttpFn>,
    workers: usize,
    config: Config,
    #[cfg(feature = "deflate")]
    deflate: Option<weir_proto::deflate::DeflateConfig>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        let connection = weir_proto::Config::default().with_max_send_queue(1 << 20);
        Self {
            addr: Ok(vec![SocketAddr::from(([127, 0, 0, 1], 8080))]),
            routes: Vec::new(),
            http: Box::new(|_| HttpResponse::not_found()),
            workers: 1,
            config: Config::default().with_connection(connection),
            #[cfg(feature = "deflate")]
            deflate: Some(weir_proto::deflate::DeflateConfig::low_memory()),
        }
    }
}

impl ServerBuilder {
    /// The address to listen on (the first it resolves to that binds).
    /// Default `127.0.0.1:8080`; port 0 lets the system choose (see
    /// [`Server::local_addr`]).
    pub fn bind(mut self, addr: impl ToSocketAddrs) -> Self {
        self.addr = addr.to_socket_addrs().map(Iterator::collect);
        self
    }

    /// Serves WebSocket upgrades to `pattern` with `handler`: an exact path
    /// (`/chat`) or a prefix ending in `/*` (`/*` takes every path). Exact
    /// patterns win, then the longest prefix. An upgrade to a path no route
    /// matches is answered 404.
    pub fn route(mut self, pattern: &str, handler: impl WsHandler) -> Self {
        self.routes.push(Route {
            pattern: pattern.to_owned(),
            handler: Arc::new(handler),
        });
        self
    }

    /// Answers plain HTTP requests (no upgrade) on the same port, e.g. the
    /// page that opens the socket. Default: 404 for everything.
    pub fn http(
        mut self,
        fallback: impl Fn(&HttpRequest) -> HttpResponse + Send + Sync + 'static,
    ) -> Self {
        self.http = Box::new(fallback);
        self
    }

    /// How many worker threads (each its own event loop) share the
    /// listening socket. Default 1; 0 means one per core.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// The limits and timeouts ([`Config`]; every default is documented on
    /// its field). The builder's default is [`Config::default`] with a send
    /// queue of 1 MiB per connection.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The terms on which permessage-deflate (RFC 7692) is accepted, or
    /// `None` to decline compression. They replace
    /// [`AcceptOptions::deflate`] from [`WsHandler::on_open`]. Default
    /// [`DeflateConfig::low_memory`](weir_proto::deflate::DeflateConfig::low_memory):
    /// no context takeover either way, so an idle connection holds no
    /// compression state, and a room broadcast is compressed once for all
    /// its members.
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, deflate: Option<weir_proto::deflate::DeflateConfig>) -> Self {
        self.deflate = deflate;
        self
    }

    /// Binds the listening socket and sets up the workers. Nothing runs
    /// until [`Server::run`].
    pub fn build(self) -> io::Result<Server> {
        let addrs = self.addr?;
        let listener = TcpListener::bind(&addrs[..])?;
        let local_addr = listener.local_addr()?;
        let workers = match self.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let ids = Arc::new(AtomicU64::new(1));
        let admissions = Admissions::new(self.config.max_connections);
        let mut loops = Vec::with_capacity(workers);
        let mut links = Vec::with_capacity(workers);
        for _ in 0..workers {
            let mut event_loop = EventLoop::new(self.config.clone())?;
            event_loop.share_counters(Arc::clone(&ids), admissions.clone());
            event_loop.listen_on(listener.try_clone()?)?;
            links.push(WorkerLink {
                queue: Mutex::new(Vec::new()),
                wake: event_loop.wake_handle(),
            });
            loops.push(event_loop);
        }
        let shared = Arc::new(Shared {
            routes: Routes {
                routes: self.routes,
                http: self.http,
            },
            config: self.config,
            #[cfg(feature = "deflate")]
            deflate: self.deflate,
            local_addr,
            workers: links,
            directory: Default::default(),
            rooms: Default::default(),
            shutdown: Mutex::new(None),
        });
        Ok(Server { shared, loops })
    }
}

impl ServerBuilder {
    /// The deflate terms, for `Debug`, with or without the feature.
    fn deflate_terms(&self) -> &dyn fmt::Debug {
        #[cfg(feature = "deflate")]
        return &self.deflate;
        #[cfg(not(feature = "deflate"))]
        &"off"
    }
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("addr", &self.addr.as_ref().ok())
            .field("routes", &self.routes)
            .field("workers", &self.workers)
            .field("config", &self.config)
            .field("deflate", &self.deflate_terms())
            .finish_non_exhaustive()
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

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// A handle for other threads: broadcast, rooms, sends, shutdown.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Runs the workers (the first on this thread, the others on threads
    /// of their own) until [`ServerHandle::shutdown`] has finished. Fails
    /// only if an OS poller fails, or a worker thread panics (a panicking
    /// callback).
    pub fn run(self) -> io::Result<()> {
        let Self { shared, loops } = self;
        let mut loops = loops.into_iter().enumerate();
        let first = loops.next();
        let threads: Vec<_> = loops
            .map(|(index, event_loop)| {
                let worker = Worker::new(index, Arc::clone(&shared));
                std::thread::Builder::new()
                    .name(format!("weir-worker-{index}"))
                    .spawn(move || worker.run(event_loop))
            })
            .collect::<io::Result<_>>()?;
        let mut result = match first {
            Some((index, event_loop)) => Worker::new(index, Arc::clone(&shared)).run(event_loop),
            None => Ok(()),
        };
        for thread in threads {
            let outcome = thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a server worker panicked")));
            if result.is_ok() {
                result = outcome;
            }
        }
        // Sockets kept by the application no longer reach anything.
        handle::write(&shared.directory).clear();
        handle::write(&shared.rooms).clear();
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
