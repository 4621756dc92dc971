//! [`EventLoop`]: one `mio::Poll`, many connections, both roles.
//!
//! One turn of the loop ([`EventLoop::run_once`]):
//! 1. settle every connection marked dirty (see below);
//! 2. poll, with a timeout that ends at the earliest deadline, or with no
//!    wait at all if some connection has input left from the last turn;
//! 3. for each readiness event: accept until `WouldBlock` (listeners; a
//!    listener whose accept fails for want of resources retries on a timer
//!    instead, see `accept.rs`), or read until `WouldBlock` or until the
//!    connection's budget for the turn ([`Config::read_budget`]) is spent,
//!    into the loop's one read buffer (`read_buf.rs`), feed the handshake
//!    reader or the core (which takes the bytes read, without a copy), and
//!    dispatch the resulting events to the [`Handler`]; then settle what
//!    changed;
//! 4. read again, one budget each, from the connections whose read in an
//!    earlier turn stopped at the budget rather than at `WouldBlock`
//!    (edge-triggered readiness will not report their input again);
//! 5. expire timers (the handshake timeout, the end of a linger, accept
//!    retries; for an open connection, the core's deadlines, which the
//!    settling after it checks), and settle again.
//!
//! *Settling* a connection writes its pending output with vectored writes
//! until it is empty or the socket would block, keeps `WRITABLE` interest
//! registered only while output remains, closes the socket when the
//! connection is done, tells an open connection's core the time (its
//! keepalive and close deadlines are the core's), and re-arms its timer.
//! Anything that changes a connection only marks it dirty, so a callback
//! may act on any connection and the writes happen in one place, after the
//! callback.
//!
//! This file holds the loop itself; the bookkeeping shared by the rest
//! ([`Shared`]: ids, registration, removal, reporting failures) is in
//! `shared.rs`. Reading and
//! dispatch live in `read.rs`, writing and time in `settle.rs`; the
//! parts specific to one side in `accept.rs` (accept, answer upgrade
//! requests) and `client.rs` (connect, read the response).
//!
//! The loop's waker serves three purposes: [`StopHandle`], [`WakeHandle`],
//! and the threads that resolve host names for client connections
//! (`resolve.rs`). A wake-up first takes the names resolved, then calls
//! [`Handler::on_wake`] with [`Conns`], which is how an application's own
//! command queue (the server API's, in `server/worker.rs`) reaches the
//! connections from other threads.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use weir_proto::handshake::ClientOptions;
use weir_proto::CloseCode;

use crate::accept::Listener;
use crate::admission::Admissions;
use crate::read_buf::ReadBuf;
use crate::resolve::Resolver;
use crate::shared::Shared;
use crate::slab::Slab;
use crate::timers::Timers;
use crate::tls::ServerTlsConfig;
use crate::ws::Conns;
use crate::{Config, ConnId, Error, Handler, Ws};

/// The token of the loop's waker. Slot indices never reach it.
const WAKER: Token = Token(usize::MAX);

/// An event loop running WebSocket connections, accepted and started, on one
/// thread.
///
/// Create it with [`EventLoop::new`], add listeners with
/// [`EventLoop::listen`] and client connections with
/// [`EventLoop::connect`], then drive it with [`EventLoop::run`],
/// [`EventLoop::run_until_idle`] or [`EventLoop::run_once`]. See the
/// [crate documentation](crate) for an example.
pub struct EventLoop {
    poll: Poll,
    events: Events,
    /// The one read buffer, shared by every connection.
    scratch: ReadBuf,
    shared: Shared,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

/// A handle that stops a running [`EventLoop`] from any thread.
///
/// [`StopHandle::stop`] makes [`EventLoop::run`] (or
/// [`EventLoop::run_until_idle`]) return after the callback or poll in
/// progress. Connections are left as they are: run the loop again to go on.
/// A stop asked while the loop is not running makes the next run return at
/// once.
#[derive(Clone)]
pub struct StopHandle {
    flag: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl StopHandle {
    /// Asks the loop to stop, and wakes it if it is waiting.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::Release);
        // A failed wake only delays the stop until the loop's next wake-up.
        let _ = self.waker.wake();
    }
}

/// A handle that wakes a waiting [`EventLoop`] from any thread, so that
/// [`Handler::on_wake`] runs on the loop's thread: the way to hand work to
/// the loop (queue it somewhere both threads see, then wake).
#[derive(Clone)]
pub struct WakeHandle {
    waker: Arc<Waker>,
}

impl WakeHandle {
    /// Wakes the loop. Wake-ups asked while the loop is busy coalesce into
    /// one [`Handler::on_wake`]; one asked while the loop is not running is
    /// delivered when it next polls.
    pub fn wake(&self) {
        // A failed wake leaves the work for the loop's next wake-up.
        let _ = self.waker.wake();
    }
}

impl std::fmt::Debug for WakeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakeHandle").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopHandle")
            .field("stopping", &self.flag.load(Ordering::Relaxed))
            .finish()
    }
}

impl std::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop")
            .field("connections", &self.shared.slab.connections())
            .field("config", &self.shared.config)
            .finish()
    }
}

impl EventLoop {
    /// A loop with no listener and no connection.
    ///
    /// The read buffer ([`Config::read_buffer_size`]) is allocated at the
    /// first read.
    pub fn new(config: Config) -> io::Result<Self> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let admissions = Admissions::new(config.max_connections);
        Ok(Self {
            events: Events::with_capacity(config.events_capacity.max(1)),
            scratch: ReadBuf::new(config.read_buffer_size),
            poll,
            shared: Shared {
                registry,
                slab: Slab::new(0, config.slow_consumer == crate::SlowConsumer::Close),
                timers: Timers::new(Instant::now()),
                core_config: Arc::new(config.connection.clone()),
                config,
                now: Instant::now(),
                admissions,
                resolver: Resolver::new(Arc::clone(&waker)),
            },
            stop: Arc::new(AtomicBool::new(false)),
            waker,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Listens for WebSocket clients on `addr` (the first address it
    /// resolves to) and returns the bound address: with port 0 the system
    /// picks a free port, which the result tells.
    ///
    /// Requests on this port are answered by [`Handler::on_upgrade`]; plain
    /// HTTP requests (no `Upgrade: websocket`) get `426 Upgrade Required`.
    /// A loop may listen on several addresses.
    pub fn listen(&mut self, addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no address to listen on")
        })?;
        self.add_listener(TcpListener::bind(addr)?, None)
    }

    /// [`EventLoop::listen`] over TLS: every connection accepted runs the
    /// TLS handshake as `tls` says (its certificate chain and key, ALPN
    /// `http/1.1`) before the WebSocket or HTTP request, all within
    /// [`Config::handshake_timeout`]; WebSocket clients connect with
    /// `wss://`, plain HTTP requests are `https://`. A failed TLS handshake
    /// is reported to [`Handler::on_error`] and costs only that connection;
    /// a connection that ends sends TLS `close_notify` first.
    #[cfg(feature = "tls")]
    pub fn listen_tls(
        &mut self,
        addr: impl ToSocketAddrs,
        tls: weir_tls::ServerTls,
    ) -> io::Result<SocketAddr> {
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no address to listen on")
        })?;
        self.add_listener(TcpListener::bind(addr)?, Some(tls))
    }

    /// [`EventLoop::listen_on`] over TLS, as [`EventLoop::listen_tls`].
    #[cfg(feature = "tls")]
    pub fn listen_on_tls(
        &mut self,
        listener: std::net::TcpListener,
        tls: weir_tls::ServerTls,
    ) -> io::Result<SocketAddr> {
        listener.set_nonblocking(true)?;
        self.add_listener(TcpListener::from_std(listener), Some(tls))
    }

    /// Listens on a socket that is bound and listening already, e.g. one
    /// [`std::net::TcpListener`] cloned ([`try_clone`](std::net::TcpListener::try_clone))
    /// into the loops of several threads, which then share its clients.
    /// Returns the bound address. Requests are answered as for
    /// [`EventLoop::listen`].
    pub fn listen_on(&mut self, listener: std::net::TcpListener) -> io::Result<SocketAddr> {
        listener.set_nonblocking(true)?;
        self.add_listener(TcpListener::from_std(listener), None)
    }

    fn add_listener(
        &mut self,
        mut listener: TcpListener,
        tls: Option<ServerTlsConfig>,
    ) -> io::Result<SocketAddr> {
        let local = listener.local_addr()?;
        let shared = &mut self.shared;
        let index = shared.slab.vacancy()?;
        shared
            .registry
            .register(&mut listener, Token(index), Interest::READABLE)?;
        let listener = Box::new(Listener::new(listener, local, tls));
        shared.slab.insert_listener(listener)?;
        Ok(local)
    }

    /// Starts a client connection to `uri` (`ws://host[:port]/path`, or
    /// `wss://` over TLS) and returns its id at once; resolving the host,
    /// the TCP connect, the TLS handshake and the opening handshake run in
    /// the loop. [`Handler::on_open`] reports success, with
    /// [`Opened::Connected`](crate::Opened::Connected);
    /// [`Handler::on_error`] reports failure.
    ///
    /// A host name is resolved with the system resolver on a short-lived
    /// thread of its own, so a slow DNS answer holds up no other
    /// connection of the loop; the address of an IP literal is used as it
    /// is. Each address the name resolves to is tried in turn until a TCP
    /// connect succeeds (the failure reported is the last one's). All of
    /// it, through the `101`, is bounded by [`Config::handshake_timeout`].
    ///
    /// `wss://` (feature `tls`) sends the host as SNI, offers ALPN
    /// `http/1.1`, and accepts only a certificate valid for the host that
    /// one of Mozilla's root authorities vouches for (bundled,
    /// [`ClientTls::bundled_roots`](weir_tls::ClientTls::bundled_roots));
    /// [`EventLoop::connect_tls`] trusts others. A certificate refused is
    /// an [`Error::Tls`] for [`Handler::on_error`].
    ///
    /// Fails at once for an invalid URI or option, `wss://` without the
    /// `tls` feature ([`Error::TlsUnsupported`]), a host that cannot be a
    /// TLS server name ([`Error::Tls`]), or a socket (or resolver thread)
    /// that cannot be created; a host that does not resolve is reported to
    /// [`Handler::on_error`]. [`ClientOptions::max_header_bytes`] of 0
    /// means [`Config::max_header_bytes`].
    pub fn connect(&mut self, uri: &str, options: ClientOptions) -> Result<ConnId, Error> {
        self.shared.connect(uri, options, None)
    }

    /// [`EventLoop::connect`], trusting what `tls` trusts for `wss://`: a
    /// self-signed server's certificate
    /// ([`ClientTls::from_ca_file`](weir_tls::ClientTls::from_ca_file)), a
    /// private CA, or any rustls client configuration
    /// ([`ClientTls::from_config`](weir_tls::ClientTls::from_config)). A
    /// `ws://` URI ignores it.
    #[cfg(feature = "tls")]
    pub fn connect_tls(
        &mut self,
        uri: &str,
        options: ClientOptions,
        tls: &weir_tls::ClientTls,
    ) -> Result<ConnId, Error> {
        self.shared.connect(uri, options, Some(tls))
    }

    /// A handle on connection `id`, to act on it outside a callback (e.g.
    /// send from the code that drives the loop). What it queues is written
    /// by the next turn of the loop. `None` once the connection is gone.
    pub fn ws(&mut self, id: ConnId) -> Option<Ws<'_>> {
        let index = self.shared.slab.index_of(id)?;
        Ws::new(&mut self.shared.slab, index)
    }

    /// How many connections the loop holds, in any phase (connecting,
    /// handshaking, open, closing).
    pub fn connection_count(&self) -> usize {
        self.shared.slab.connections()
    }

    /// A handle that stops [`EventLoop::run`] from another thread (or from
    /// a callback).
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            flag: Arc::clone(&self.stop),
            waker: Arc::clone(&self.waker),
        }
    }

    /// A handle that wakes the loop from another thread, so that
    /// [`Handler::on_wake`] runs.
    pub fn wake_handle(&self) -> WakeHandle {
        WakeHandle {
            waker: Arc::clone(&self.waker),
        }
    }

    /// Starts a graceful shutdown; see [`Conns::shutdown`]. Keep running the
    /// loop (e.g. [`EventLoop::run_until_idle`]) to write what is queued and
    /// finish the closing handshakes.
    pub fn shutdown(&mut self, code: CloseCode, reason: &str) {
        self.shared.shutdown(code, reason);
    }

    /// Mirrors every connection's bytes queued into `mirror` at each write
    /// (the server API's records, read by other threads).
    pub(crate) fn set_mirror(&mut self, mirror: std::sync::Arc<dyn crate::slab::Mirror>) {
        self.shared.slab.set_mirror(mirror);
    }

    /// Replaces the system resolver used for client connections, for tests.
    #[cfg(test)]
    pub(crate) fn set_lookup(&mut self, lookup: crate::resolve::Lookup) {
        self.shared.resolver.set_lookup(lookup);
    }

    /// How many entries the timer heap holds, stale ones included, for
    /// tests.
    #[cfg(test)]
    pub(crate) fn timer_entries(&self) -> usize {
        self.shared.timers.len()
    }

    /// The loop's connections, to act on outside a callback.
    pub(crate) fn conns(&mut self) -> Conns<'_> {
        Conns::new(&mut self.shared)
    }

    /// Makes this loop worker `worker` of a server, before it has any
    /// connection: its ids carry that index, so that they are unique
    /// across the workers, and it shares the places for accepted
    /// connections with the others, so that one limit bounds them all.
    pub(crate) fn join_server(&mut self, node: usize, worker: usize, admissions: Admissions) {
        self.shared.slab.set_home(node, worker);
        self.shared.admissions = admissions;
    }

    /// Runs until a [`StopHandle`] stops it. Fails only if the OS poller
    /// fails; a connection's failure goes to [`Handler::on_error`].
    pub fn run<H: Handler>(&mut self, handler: &mut H) -> io::Result<()> {
        self.run_inner(handler, false)
    }

    /// Runs until nothing is left (no listener and no connection) or a
    /// [`StopHandle`] stops it: for clients, e.g. one connection after
    /// another.
    pub fn run_until_idle<H: Handler>(&mut self, handler: &mut H) -> io::Result<()> {
        self.run_inner(handler, true)
    }

    fn run_inner<H: Handler>(&mut self, handler: &mut H, until_idle: bool) -> io::Result<()> {
        loop {
            if self.stop.swap(false, Ordering::AcqRel) {
                return Ok(());
            }
            if until_idle && self.shared.slab.is_empty() {
                return Ok(());
            }
            self.run_once(handler, None)?;
        }
    }

    /// One turn of the loop: write what is pending, wait for readiness (at
    /// most `timeout`, or until the next deadline), handle it, expire
    /// deadlines, then write. `Some(Duration::ZERO)` does not wait, and
    /// neither does a turn after one that left input unread
    /// ([`Config::read_budget`]).
    ///
    /// Writing waits for the end of the turn: what the callbacks of every
    /// event of the turn queued for a connection goes out in one vectored
    /// write. A broadcast to a room of N, for each of the N members'
    /// messages read in one turn, is then N writes, not N².
    pub fn run_once<H: Handler>(
        &mut self,
        handler: &mut H,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        self.shared.now = Instant::now();
        self.shared.settle_all(handler);
        // Taken now, so that a connection whose budget runs out during this
        // turn's events waits for the next turn.
        let resuming = self.shared.slab.take_read_pending();
        let next_deadline = self.shared.timers.next_timeout(self.shared.now);
        let timeout = match (timeout, next_deadline) {
            _ if !resuming.is_empty() => Some(Duration::ZERO),
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        self.shared.now = Instant::now();
        for event in self.events.iter() {
            if event.token() == WAKER {
                self.shared.take_resolved(handler);
                handler.on_wake(&mut Conns::new(&mut self.shared));
                continue;
            }
            self.shared
                .ready(event.token().0, event, &mut self.scratch, handler);
        }
        self.shared
            .resume_reads(resuming, &mut self.scratch, handler);
        self.shared.now = Instant::now();
        self.shared.expire(handler);
        self.shared.settle_all(handler);
        Ok(())
    }
}
