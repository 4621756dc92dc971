//! The client side: a non-blocking TCP connect, then the opening handshake.
//!
//! [`Shared::connect`] builds the request with a [`ClientHandshake`],
//! starts a non-blocking connect and registers the socket for both
//! readiness kinds ([`Phase::Connecting`], request waiting in `head_out`).
//! The first readiness tells whether the connect worked (mio's recipe:
//! `take_error`, then `peer_addr`, where `NotConnected` means "not yet").
//! Then the request is written like any output and the response is read
//! incrementally ([`Phase::AwaitingResponse`]); a `101` hands over to the
//! core, with the bytes that followed the head, and [`Handler::on_open`]
//! runs. Any failure goes to [`Handler::on_error`] and drops the connection.
//!
//! A client connection closes like RFC 6455 section 7.1.1 says: after the
//! closing handshake it waits for the server to close TCP (bounded by the
//! close timeout) rather than closing first.

use std::io;
use std::net::ToSocketAddrs;

use mio::net::TcpStream;
use mio::Interest;
use weir_proto::handshake::{ClientHandshake, ClientOptions, HandshakeError, Response};
use weir_proto::Role;

use crate::conn::{Conn, Phase};
use crate::event_loop::Shared;
use crate::{ConnId, Error, Handler, Opened};

impl Shared {
    /// Starts a client connection; see [`EventLoop::connect`](crate::EventLoop::connect).
    pub(crate) fn connect(
        &mut self,
        uri: &str,
        mut options: ClientOptions,
    ) -> Result<ConnId, Error> {
        if options.max_header_bytes == 0 {
            options.max_header_bytes = self.config.max_header_bytes;
        }
        let (handshake, request) = ClientHandshake::new(uri, options)?;
        let target = handshake.uri();
        if target.secure {
            return Err(Error::TlsUnsupported);
        }
        let addr = (target.host.as_str(), target.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "the host resolved to no address")
            })?;
        let socket = TcpStream::connect(addr)?;
        let id = self.next_id();
        let mut conn = Conn::new(
            id,
            socket,
            addr,
            Role::Client,
            Phase::Connecting(Box::new(handshake)),
            Interest::READABLE | Interest::WRITABLE,
        );
        conn.head_out = request;
        self.insert_conn(conn)?;
        Ok(id)
    }

    /// Checks whether the TCP connect of connection `index` has finished,
    /// and moves on to the handshake if it has.
    pub(crate) fn finish_connect<H: Handler>(&mut self, index: usize, handler: &mut H) {
        let Some(conn) = self.slab.conn_mut(index) else {
            return;
        };
        let outcome = match conn.socket.take_error() {
            Ok(Some(e)) | Err(e) => Err(e),
            Ok(None) => match conn.socket.peer_addr() {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
                Err(e) => Err(e),
            },
        };
        match outcome {
            Ok(false) => {}
            Err(e) => self.fail(index, Error::Io(e), handler),
            Ok(true) => {
                let _ = conn.socket.set_nodelay(true);
                if let Phase::Connecting(handshake) =
                    std::mem::replace(&mut conn.phase, Phase::Lingering)
                {
                    conn.phase = Phase::AwaitingResponse(handshake);
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
        let core = match response.connection(self.config.connection.clone()) {
            Ok(core) => core,
            Err(error) => return self.fail(index, error.into(), handler),
        };
        let Some(conn) = self.slab.conn_mut(index) else {
            return;
        };
        conn.protocol = response.protocol().map(Into::into);
        conn.phase = Phase::Open(Box::new(core));
        self.with_ws(index, |ws| {
            handler.on_open(ws, Opened::Connected(&response))
        });
        self.drain_events(index, handler);
        self.slab.mark_dirty(index);
    }
}
