//! The client side: resolving the host, a non-blocking TCP connect to each
//! of its addresses in turn, then the opening handshake.
//!
//! [`Shared::connect`] builds the request with a [`ClientHandshake`]. An IP
//! literal is connected to at once; a host name is resolved first, off the
//! loop's thread ([`Phase::Resolving`], `resolve.rs`), and
//! [`Shared::take_resolved`] picks the addresses up. Connecting
//! ([`Phase::Connecting`], request waiting in `head_out`) registers the
//! socket for both readiness kinds; the first readiness tells whether the
//! connect worked (mio's recipe: `take_error`, then `peer_addr`, where
//! `NotConnected` means "not yet"). A failed connect moves on to the next
//! address, as the blocking adapter's `TcpStream::connect` does, and only
//! the last failure is reported. Then the request is written like any
//! output and the response is read incrementally
//! ([`Phase::AwaitingResponse`]); a `101` hands over to the core, with the
//! bytes that followed the head, and [`Handler::on_open`] runs. Any failure
//! goes to [`Handler::on_error`] and drops the connection.
//!
//! For `wss://`, the TLS session (`tls.rs`) is made with the connection,
//! before the host is even resolved, so that a name unfit for TLS fails
//! at once; its handshake starts when the TCP connect is done, and the
//! request goes out once it has finished. The handshake timeout covers it.
//!
//! A client connection closes like RFC 6455 section 7.1.1 says: after the
//! closing handshake it waits for the server to close TCP (bounded by the
//! close timeout) rather than closing first.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use mio::net::TcpStream;
use mio::{Interest, Token};
use weir_proto::handshake::{ClientHandshake, ClientOptions, HandshakeError, Response};
use weir_proto::Role;

use crate::conn::{Conn, Dialing, Phase};
use crate::shared::Shared;
use crate::tls::{client_session, ClientTlsConfig};
use crate::{ConnId, Error, Handler, Opened};

impl Shared {
    /// Starts a client connection; see [`EventLoop::connect`](crate::EventLoop::connect).
    /// A `wss://` connection trusts `trust`, or Mozilla's roots when
    /// `None`.
    pub(crate) fn connect(
        &mut self,
        uri: &str,
        mut options: ClientOptions,
        trust: Option<&ClientTlsConfig>,
    ) -> Result<ConnId, Error> {
        if options.max_header_bytes == 0 {
            options.max_header_bytes = self.config.max_header_bytes;
        }
        let (handshake, request) = ClientHandshake::new(uri, options)?;
        let target = handshake.uri();
        let tls = match target.secure {
            true => Some(client_session(trust, &target.host)?),
            false => None,
        };
        let (host, port) = (target.host.clone(), target.port);
        let literal = host.parse::<IpAddr>().ok();
        let mut dialing = Box::new(Dialing {
            handshake,
            untried: Vec::new().into_iter(),
            trying: SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port),
        });
        let id = self.next_id()?;
        let interest = Interest::READABLE | Interest::WRITABLE;
        let mut conn = match literal {
            Some(ip) => {
                let (socket, peer) = connect_first([SocketAddr::new(ip, port)])?;
                dialing.trying = peer;
                let phase = Phase::Connecting(dialing);
                Conn::new(Some(socket), Role::Client, phase, interest)
            }
            None => Conn::new(None, Role::Client, Phase::Resolving(dialing), interest),
        };
        conn.set_head_out(request);
        conn.tls = tls;
        let index = self.insert_conn(conn)?;
        if literal.is_none() {
            if let Err(e) = self.resolver.start(id, host, port) {
                self.remove(index);
                return Err(e.into());
            }
        }
        Ok(id)
    }

    /// Moves the connections whose host name resolved on to connecting,
    /// and fails those whose name did not.
    pub(crate) fn take_resolved<H: Handler>(&mut self, handler: &mut H) {
        for (id, result) in self.resolver.take_done() {
            let Some(index) = self.slab.index_of(id) else {
                continue; // Gone meanwhile (timed out, shut down).
            };
            let Some(Phase::Resolving(dialing)) = self.slab.conn_mut(index).map(|c| &mut c.phase)
            else {
                continue;
            };
            match result {
                Ok(addrs) => {
                    dialing.untried = addrs.into_iter();
                    self.dial(index, handler);
                }
                Err(e) => self.fail(index, Error::Io(e), handler),
            }
        }
    }

    /// Starts the TCP connect of connection `index` to the first of its
    /// untried addresses that takes it (a connect can fail at once, e.g.
    /// for an unreachable network), replacing any socket of an earlier
    /// try; fails the connection if none is left.
    fn dial<H: Handler>(&mut self, index: usize, handler: &mut H) {
        let Some(conn) = self.slab.conn_mut(index) else {
            return;
        };
        let (Phase::Resolving(dialing) | Phase::Connecting(dialing)) = &mut conn.phase else {
            return;
        };
        let (mut socket, peer) = match connect_first(dialing.untried.by_ref()) {
            Ok(connecting) => connecting,
            Err(e) => return self.fail(index, Error::Io(e), handler),
        };
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self.registry.register(&mut socket, Token(index), interest) {
            return self.fail(index, Error::Io(e), handler);
        }
        dialing.trying = peer;
        if let Some(mut earlier) = conn.socket.replace(socket) {
            let _ = self.registry.deregister(&mut earlier);
        }
        conn.interest = interest;
        conn.phase = match std::mem::replace(&mut conn.phase, Phase::Lingering) {
            Phase::Resolving(dialing) => Phase::Connecting(dialing),
            phase => phase,
        };
    }

    /// Checks whether the TCP connect of connection `index` has finished,
    /// and moves on to the handshake if it has, or to the next address if
    /// it failed.
    pub(crate) fn finish_connect<H: Handler>(&mut self, index: usize, handler: &mut H) {
        let Some(conn) = self.slab.conn_mut(index) else {
            return;
        };
        let Some(socket) = &conn.socket else {
            return;
        };
        let outcome = match socket.take_error() {
            Ok(Some(e)) | Err(e) => Err(e),
            Ok(None) => match socket.peer_addr() {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
                Err(e) => Err(e),
            },
        };
        match outcome {
            Ok(false) => {}
            Err(e) => {
                let more = matches!(&conn.phase, Phase::Connecting(d) if d.untried.len() > 0);
                if more {
                    self.dial(index, handler);
                } else {
                    self.fail(index, Error::Io(e), handler);
                }
            }
            Ok(true) => {
                let _ = socket.set_nodelay(true);
                if let Phase::Connecting(dialing) =
                    std::mem::replace(&mut conn.phase, Phase::Lingering)
                {
                    conn.phase = Phase::AwaitingResponse(Box::new(dialing.handshake));
                }
                self.slab.mark_dirty(index);
            }
        }
    }

    /// Acts on what the response reader of connection `index` returned.
    pub(crate) fn on_response<H: Handler>(
        &mut self,
        index: usize,
        result: Result<Option<Response>, HandshakeError>,
        handler: &mut H,
    ) {
        let response = match result {
            Ok(None) => return,
            Ok(Some(response)) => response,
            Err(error) => return self.fail(index, Error::Handshake(error), handler),
        };
        let core = match response.connection(Arc::clone(&self.core_config)) {
            Ok(core) => core,
            Err(error) => return self.fail(index, error.into(), handler),
        };
        let Some(conn) = self.slab.conn_mut(index) else {
            return;
        };
        conn.set_protocol(response.protocol().map(Into::into));
        conn.phase = Phase::Open(core);
        self.with_ws(index, |ws| {
            handler.on_open(ws, Opened::Connected(&response))
        });
        self.drain_events(index, handler);
        self.slab.mark_dirty(index);
    }
}

/// Starts a non-blocking connect to the first of `addrs` that does not fail
/// at once; the error of the last one if all do.
fn connect_first(
    addrs: impl IntoIterator<Item = SocketAddr>,
) -> io::Result<(TcpStream, SocketAddr)> {
    let mut last_error = None;
    for addr in addrs {
        match TcpStream::connect(addr) {
            Ok(socket) => return Ok((socket, addr)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, "the host resolved to no address")
    }))
}
