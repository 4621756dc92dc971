//! [`Handler`]: the application's callbacks, and the small types they take
//! and return ([`ConnInfo`], [`Opened`]; [`Rejection`] comes from the core).
//!
//! Every method has a default, so a handler implements only what it needs:
//! an echo server is one `on_message`. Callbacks run on the loop's thread,
//! one at a time, and must not block: everything they do on a connection
//! ([`Ws::send`], [`Ws::close`]) is queued and written by the loop after the
//! callback returns. [`Handler`]'s docs give the order of the callbacks.

use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use weir_proto::handshake::{
    upgrade_required, AcceptOptions, HttpRequest, Rejection, Response, UpgradeRequest,
};
use weir_proto::{CloseCode, Fragment, Message};

use crate::{ConnId, Conns, Error, Ws};

/// The application's side of an [`EventLoop`](crate::EventLoop).
///
/// # The life of a connection, as the handler sees it
/// 1. Server side: [`Handler::on_upgrade`] decides on the upgrade request
///    (accept with options, or reject with an HTTP answer).
/// 2. [`Handler::on_open`], with the request (server) or response (client).
/// 3. Any number of [`Handler::on_message`] ([`Handler::on_fragment`] in
///    streaming mode), [`Handler::on_ping`] and [`Handler::on_pong`].
/// 4. Exactly one [`Handler::on_close`] for every connection that opened;
///    nothing follows it.
///
/// [`Handler::on_error`] reports what went wrong along the way. Before
/// `on_open` it is the last callback of a connection that never opened (a
/// failed connect or handshake, a handshake timeout); a rejected upgrade or
/// a plain HTTP request gets no callback at all. After `on_open`,
/// `on_close` follows it.
///
/// Two callbacks concern a listener rather than a connection:
/// [`Handler::on_accept_error`] and [`Handler::on_accept_resumed`].
pub trait Handler {
    /// A client asks to upgrade to WebSocket on one of the loop's listeners.
    ///
    /// Return the [`AcceptOptions`] to accept it (e.g. a subprotocol the
    /// client offered, extra headers), or a [`Rejection`] whose status,
    /// headers and body are written as the HTTP answer before the
    /// connection closes (e.g. 401 to ask for credentials, 404 for an
    /// unknown path). The default accepts every request with no subprotocol.
    fn on_upgrade(
        &mut self,
        request: &UpgradeRequest,
        info: &ConnInfo,
    ) -> Result<AcceptOptions, Rejection> {
        let _ = (request, info);
        Ok(AcceptOptions::default())
    }

    /// A plain HTTP request (no `Upgrade: websocket`) arrived on one of the
    /// loop's listeners: return the complete response bytes (e.g. built with
    /// [`http_response`](weir_proto::handshake::http_response)). The
    /// connection closes once they are written, so include
    /// `Connection: close`. The default answers `426 Upgrade Required`.
    fn on_http(&mut self, request: &HttpRequest, info: &ConnInfo) -> Vec<u8> {
        let _ = (request, info);
        upgrade_required()
    }

    /// A [`WakeHandle`](crate::WakeHandle) (or a [`StopHandle`](crate::StopHandle))
    /// woke the loop: act on connections through `conns`, e.g. drain a
    /// command queue other threads fill. Wake-ups coalesce, and this may run
    /// when nothing was asked, so check the queue rather than count calls.
    fn on_wake(&mut self, conns: &mut Conns<'_>) {
        let _ = conns;
    }

    /// The connection is open: messages may be sent. `opened` carries the
    /// upgrade request (path, query, headers) on the server side and the
    /// `101` response on the client side.
    fn on_open(&mut self, ws: &mut Ws<'_>, opened: Opened<'_>) {
        let _ = (ws, opened);
    }

    /// A complete text or binary message arrived.
    ///
    /// Its payload is a slice of the loop's read buffer, not a copy: a
    /// message kept long after the callback (a history, a cache) keeps
    /// the whole block it was read into allocated
    /// ([`Config::read_buffer_size`](crate::Config::read_buffer_size),
    /// 64 KiB by default). Copy what you keep for long
    /// (`Bytes::copy_from_slice`).
    fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
        let _ = (ws, message);
    }

    /// A piece of a message arrived; only when
    /// [`weir_proto::Config::streaming`] is on in
    /// [`Config::connection`](crate::Config::connection), in which case
    /// `on_message` is never called. The default drops it.
    fn on_fragment(&mut self, ws: &mut Ws<'_>, fragment: Fragment) {
        let _ = (ws, fragment);
    }

    /// A ping arrived. With [`weir_proto::Config::auto_pong`] on (the
    /// default) the pong is already queued.
    fn on_ping(&mut self, ws: &mut Ws<'_>, payload: Bytes) {
        let _ = (ws, payload);
    }

    /// A pong arrived, answering a [`Ws::ping`] or unsolicited.
    fn on_pong(&mut self, ws: &mut Ws<'_>, payload: Bytes) {
        let _ = (ws, payload);
    }

    /// The connection closed, or is closing and can no longer be used; the
    /// last callback for this connection. Called once for every connection
    /// that opened.
    ///
    /// `code` and `reason` are:
    /// - the peer's Close frame, when the peer sent one (starting the
    ///   closing handshake or answering ours); [`CloseCode::NO_STATUS`] when
    ///   it carried no code;
    /// - the code and reason this endpoint sent, when it failed the
    ///   connection for a protocol violation (after `on_error`);
    /// - [`CloseCode::ABNORMAL`] (1006) and no reason when TCP ended without
    ///   a closing handshake: the peer vanished, the socket failed, or the
    ///   close timeout ran out.
    fn on_close(&mut self, ws: &mut Ws<'_>, code: CloseCode, reason: &str) {
        let _ = (ws, code, reason);
    }

    /// Something went wrong with this connection. See [`Error`] for the
    /// causes; the module docs say which callback follows.
    fn on_error(&mut self, ws: &mut Ws<'_>, error: &Error) {
        let _ = (ws, error);
    }

    /// Accepting clients on the listener bound to `listener` failed with
    /// `error`, typically for want of resources: out of file descriptors
    /// (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM). The clients
    /// waiting in the backlog stay there, and the loop tries again after
    /// [`Config::accept_backoff`](crate::Config::accept_backoff), waiting
    /// twice as long after each failure in a row (up to
    /// [`Config::accept_backoff_max`](crate::Config::accept_backoff_max)).
    ///
    /// Called once when accepting starts failing, not at every try;
    /// [`Handler::on_accept_resumed`] follows once it works again. A
    /// server would log it, and perhaps shed load.
    fn on_accept_error(&mut self, listener: SocketAddr, error: &io::Error) {
        let _ = (listener, error);
    }

    /// Accepting on the listener bound to `listener` works again after the
    /// failure [`Handler::on_accept_error`] reported.
    fn on_accept_resumed(&mut self, listener: SocketAddr) {
        let _ = listener;
    }
}

/// What is known about a connection before it opens: given to
/// [`Handler::on_upgrade`].
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub(crate) id: ConnId,
    pub(crate) peer_addr: Option<SocketAddr>,
}

impl ConnInfo {
    /// The id the connection keeps if it is accepted.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The remote address, asked of the socket when the request came;
    /// `None` if the peer was gone by then (reset).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }
}

/// How a connection opened: given to [`Handler::on_open`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Opened<'a> {
    /// A client connected to one of the loop's listeners with this request.
    Accepted(&'a UpgradeRequest),
    /// [`EventLoop::connect`](crate::EventLoop::connect) succeeded; the
    /// server answered with this response.
    Connected(&'a Response),
}

impl<'a> Opened<'a> {
    /// The upgrade request, on the server side.
    pub fn request(&self) -> Option<&'a HttpRequest> {
        match self {
            Self::Accepted(upgrade) => Some(upgrade.request()),
            Self::Connected(_) => None,
        }
    }

    /// The `101` response, on the client side.
    pub fn response(&self) -> Option<&'a Response> {
        match self {
            Self::Accepted(_) => None,
            Self::Connected(response) => Some(response),
        }
    }

    /// The request path (server side), e.g. `/chat`, for routing.
    pub fn path(&self) -> Option<&'a str> {
        self.request().map(HttpRequest::path)
    }
}
