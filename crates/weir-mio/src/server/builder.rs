//! [`ServerBuilder`]: the server's configuration, gathered before
//! anything runs, and `build`, which binds the listening socket and sets up
//! one event loop per worker.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::{Arc, Mutex};

use weir_proto::handshake::HttpRequest;

use super::handle::Shared;
use super::queue::WorkerLink;
use super::records::{Records, MAX_ROUTES};
use super::route::{HttpFn, Route, Routes};
#[cfg(feature = "redis")]
use super::{cluster::Link, Cluster};
use super::{HttpResponse, Server, WsHandler};
use crate::admission::Admissions;
use crate::{Config, ConnId, EventLoop};

/// What the application hears of accepting: [`ServerBuilder::on_accept_error`]
/// and [`ServerBuilder::on_accept_resumed`]. No-ops by default.
pub(crate) struct AcceptHooks {
    pub(crate) error: Box<AcceptErrorFn>,
    pub(crate) resumed: Box<AcceptResumedFn>,
}

/// [`ServerBuilder::on_accept_error`]'s hook.
type AcceptErrorFn = dyn Fn(SocketAddr, &io::Error) + Send + Sync;

/// [`ServerBuilder::on_accept_resumed`]'s hook.
type AcceptResumedFn = dyn Fn(SocketAddr) + Send + Sync;

impl Default for AcceptHooks {
    fn default() -> Self {
        Self {
            error: Box::new(|_, _| {}),
            resumed: Box::new(|_| {}),
        }
    }
}

/// The default of [`ServerBuilder::command_queue_capacity`].
const DEFAULT_COMMAND_QUEUE_CAPACITY: usize = 16_384;

/// Builds a [`Server`]: [`Server::builder`], then the methods below, then
/// [`ServerBuilder::build`].
pub struct ServerBuilder {
    addr: io::Result<Vec<SocketAddr>>,
    /// A second, plain listener beside a TLS one.
    plain_addr: Option<io::Result<Vec<SocketAddr>>>,
    /// TLS on `addr`.
    #[cfg(feature = "tls")]
    tls: Option<weir_tls::ServerTls>,
    routes: Vec<Route>,
    http: Box<HttpFn>,
    workers: usize,
    /// This server's node in a cluster (part of every id), 0 outside one.
    node: usize,
    #[cfg(feature = "redis")]
    cluster: Option<Cluster>,
    config: Config,
    command_queue_capacity: usize,
    accept_hooks: AcceptHooks,
    #[cfg(feature = "deflate")]
    deflate: Option<weir_proto::deflate::DeflateConfig>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        let connection = weir_proto::Config::default().with_max_send_queue(1 << 20);
        Self {
            addr: Ok(vec![SocketAddr::from(([127, 0, 0, 1], 8080))]),
            plain_addr: None,
            #[cfg(feature = "tls")]
            tls: None,
            routes: Vec::new(),
            http: Box::new(|_| HttpResponse::not_found()),
            workers: 1,
            node: 0,
            #[cfg(feature = "redis")]
            cluster: None,
            config: Config::default().with_connection(connection),
            command_queue_capacity: DEFAULT_COMMAND_QUEUE_CAPACITY,
            accept_hooks: AcceptHooks::default(),
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

    /// Serves TLS on the address of [`ServerBuilder::bind`]: `wss://` for
    /// WebSocket clients and `https://` for the HTTP fallback, with the
    /// certificate chain and key of `tls` (from PEM files with
    /// [`ServerTls::from_pem_files`](weir_tls::ServerTls::from_pem_files),
    /// or rustls types with
    /// [`ServerTls::from_config`](weir_tls::ServerTls::from_config)). The
    /// TLS handshake counts against
    /// [`Config::handshake_timeout`](crate::Config::handshake_timeout); a
    /// client whose TLS fails is reported to [`WsHandler::on_error`] and
    /// costs only its own connection. Add a plain listener beside it with
    /// [`ServerBuilder::bind_plain`].
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: weir_tls::ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Also listens on `addr` without TLS (e.g. port 80 beside a TLS port
    /// 443), with the same routes and workers; see [`Server::plain_addr`].
    pub fn bind_plain(mut self, addr: impl ToSocketAddrs) -> Self {
        self.plain_addr = Some(addr.to_socket_addrs().map(Iterator::collect));
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

    /// Called when accepting clients fails for want of resources (out of
    /// file descriptors, EMFILE or ENFILE, or of kernel memory), with the
    /// listening address and the error. The clients waiting in the backlog
    /// stay there and are accepted once accepting works again, retried on a
    /// timer ([`Config::accept_backoff`]); the server needs no restart.
    ///
    /// Each worker tries on its own, so this comes once per worker per
    /// spell of failures, not at every try; [`ServerBuilder::on_accept_resumed`]
    /// follows when that worker accepts again. It runs on the worker's
    /// thread and must not block; a panic in it is caught and ignored.
    /// Default: nothing.
    pub fn on_accept_error(
        mut self,
        hook: impl Fn(SocketAddr, &io::Error) + Send + Sync + 'static,
    ) -> Self {
        self.accept_hooks.error = Box::new(hook);
        self
    }

    /// Called when a worker accepts again after the failure
    /// [`ServerBuilder::on_accept_error`] reported. Default: nothing.
    pub fn on_accept_resumed(mut self, hook: impl Fn(SocketAddr) + Send + Sync + 'static) -> Self {
        self.accept_hooks.resumed = Box::new(hook);
        self
    }

    /// Joins `cluster`: rooms, server-wide broadcasts and sends to ids
    /// reach the cluster's other nodes too (see [`Cluster`]). This server's
    /// ids carry its node number, given or claimed from Redis by `build`.
    #[cfg(feature = "redis")]
    pub fn cluster(mut self, cluster: Cluster) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// How many worker threads (each its own event loop) share the
    /// listening socket. Default 1; 0 means one per core. At most 256
    /// (connection ids have room for that many): more fails
    /// [`ServerBuilder::build`].
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// The limits and timeouts ([`Config`]; every default is documented on
    /// its field). The builder's default is [`Config::default`] with a send
    /// queue of 1 MiB per connection.
    ///
    /// Streaming mode ([`weir_proto::Config::streaming`]) is supported:
    /// messages then reach [`WsHandler::on_fragment`] piece by piece, whose
    /// default puts them back together for `on_message`.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// How many commands each worker's queue holds before the worker refuses
    /// broadcasts and room sends ([`BroadcastRefused`](super::BroadcastRefused)); sends to one socket
    /// and closes are bounded otherwise and never refused by it. Default
    /// 16 384: room for bursts of thousands of broadcasts between two turns
    /// of a busy worker, while a flood (or a worker stuck in a callback)
    /// holds at most that many messages per worker. 0 refuses every
    /// broadcast.
    pub fn command_queue_capacity(mut self, commands: usize) -> Self {
        self.command_queue_capacity = commands;
        self
    }

    /// The terms on which permessage-deflate (RFC 7692) is accepted, or
    /// `None` to decline compression. They replace
    /// [`AcceptOptions::deflate`](weir_proto::handshake::AcceptOptions::deflate) from [`WsHandler::on_upgrade`]. Default
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
    pub fn build(
        #[cfg_attr(not(feature = "redis"), allow(unused_mut))] mut self,
    ) -> io::Result<Server> {
        #[cfg(feature = "redis")]
        if let Some(cluster) = &mut self.cluster {
            self.node = usize::from(cluster.settle_node()?);
        }
        let addrs = self.addr?;
        let listener = TcpListener::bind(&addrs[..])?;
        let local_addr = listener.local_addr()?;
        let plain = match self.plain_addr {
            Some(addrs) => Some(TcpListener::bind(&addrs?[..])?),
            None => None,
        };
        let plain_addr = plain.as_ref().map(TcpListener::local_addr).transpose()?;
        let workers = match self.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        if workers > ConnId::MAX_WORKERS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("at most {} workers", ConnId::MAX_WORKERS),
            ));
        }
        if self.routes.len() > MAX_ROUTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("at most {MAX_ROUTES} routes"),
            ));
        }
        let admissions = Admissions::new(self.config.max_connections);
        let mut loops = Vec::with_capacity(workers);
        let mut links = Vec::with_capacity(workers);
        for worker in 0..workers {
            let mut event_loop = EventLoop::new(self.config.clone())?;
            event_loop.join_server(self.node, worker, admissions.clone());
            #[cfg(feature = "tls")]
            match &self.tls {
                Some(tls) => event_loop.listen_on_tls(listener.try_clone()?, tls.clone())?,
                None => event_loop.listen_on(listener.try_clone()?)?,
            };
            #[cfg(not(feature = "tls"))]
            event_loop.listen_on(listener.try_clone()?)?;
            if let Some(plain) = &plain {
                event_loop.listen_on(plain.try_clone()?)?;
            }
            links.push(WorkerLink::new(event_loop.wake_handle()));
            loops.push(event_loop);
        }
        #[cfg(feature = "redis")]
        let (cluster, starter) = self.cluster.map(Link::new).unzip();
        let shared = Arc::new(Shared {
            routes: Routes {
                routes: self.routes,
                http: self.http,
            },
            config: self.config,
            #[cfg(feature = "deflate")]
            deflate: self.deflate,
            local_addr,
            plain_addr,
            workers: links,
            command_queue_capacity: self.command_queue_capacity,
            accept_hooks: self.accept_hooks,
            records: (0..workers)
                .map(|index| Arc::new(Records::new(self.node, index)))
                .collect(),
            rooms: Default::default(),
            #[cfg(feature = "redis")]
            cluster,
            shutdown: Mutex::new(None),
        });
        #[cfg(feature = "redis")]
        if let Some(starter) = starter {
            starter.start(Arc::downgrade(&shared))?;
        }
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
            .field("command_queue_capacity", &self.command_queue_capacity)
            .field("deflate", &self.deflate_terms())
            .finish_non_exhaustive()
    }
}
