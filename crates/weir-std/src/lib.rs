//! weir-std: the blocking adapter of weir, a WebSocket (RFC 6455) stack.
//!
//! It drives the sans-IO core ([`weir_proto`]) over any blocking
//! [`Read`](std::io::Read) + [`Write`](std::io::Write) stream: a
//! [`TcpStream`](std::net::TcpStream), a Unix socket, or a TLS stream. One
//! thread per connection, no runtime.
//!
//! - Client: [`connect`] (`ws://` over TCP, `wss://` over TLS),
//!   [`connect_tls`] (`wss://` trusting your own roots) or [`client`] (any
//!   stream).
//! - Server: [`accept`] or [`accept_with`] (choose a subprotocol, reject),
//!   over TLS [`accept_tls`] or [`accept_tls_with`].
//! - Both give a [`WebSocket`]: [`read`](WebSocket::read) the next message
//!   (pings are answered underneath), [`send`](WebSocket::send) one,
//!   [`close`](WebSocket::close) or [`close_and_wait`](WebSocket::close_and_wait).
//!
//! # Time
//! The deadlines are the core's, set in the [`Config`] given at the
//! handshake ([`connect_with`], [`client`], [`accept_with`]) and run while a
//! thread waits in [`WebSocket::read`] (or [`WebSocket::read_event`],
//! [`WebSocket::close_and_wait`]):
//! - keepalive: after [`Config::idle_timeout`] (30 s) without input a ping
//!   goes out; with nothing back within [`Config::ping_timeout`] (30 s) the
//!   connection is dropped with [`Error::IdleTimeout`];
//! - closing: after this endpoint's Close, the peer has
//!   [`Config::close_timeout`] (5 s; `None`: no bound) to finish the closing
//!   handshake, or the connection is dropped with [`Error::CloseTimeout`].
//!
//! A blocked read is woken for them through the stream's read timeout
//! (built in for `TcpStream`, Unix sockets and the TLS streams of this
//! crate, see [`WebSocket::set_read_timeout_fn`] for other streams); yours is
//! remembered and put back when the connection ends.
//!
//! Your own socket timeouts are harmless: a read that times out returns
//! [`Error::Io`] and the next read continues where it stopped, so one thread
//! can alternate between reading and other work (see `examples/wscat.rs`).
//!
//! # Example: an echo server and a client over loopback
//! ```
//! use std::net::TcpListener;
//! use weir_std::{CloseCode, Error, Message};
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! let server = std::thread::spawn(move || -> Result<(), Error> {
//!     let (stream, _) = listener.accept()?;
//!     let mut ws = weir_std::accept(stream)?;
//!     loop {
//!         match ws.read() {
//!             Ok(message) => ws.send(message)?,
//!             Err(Error::Closed(_)) => return Ok(()), // answered, TCP shut down
//!             Err(error) => return Err(error),
//!         }
//!     }
//! });
//!
//! let (mut ws, _response) = weir_std::connect(&format!("ws://{addr}/echo"))?;
//! ws.send("hello")?;
//! assert_eq!(ws.read()?, Message::from("hello"));
//! ws.send(vec![1u8, 2, 3])?;
//! assert_eq!(ws.read()?, Message::from(vec![1u8, 2, 3]));
//!
//! let answer = ws.close_and_wait(CloseCode::NORMAL, "done")?;
//! assert_eq!(answer.map(|frame| frame.code), Some(CloseCode::NORMAL));
//! server.join().unwrap()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # TLS
//! With the `tls` feature (on by default), TLS comes from rustls, set up
//! as weir-tls decides for every weir adapter (the `ring` provider,
//! Mozilla's roots bundled, ALPN `http/1.1`):
//!
//! - [`connect`] and [`connect_with`] speak TLS for `wss://` URIs: the host
//!   is sent as SNI, and the server's certificate must chain to a bundled
//!   root and be valid for that host. Both return a [`MaybeTls`] stream,
//!   plain or TLS as the URI said.
//! - [`connect_tls`] takes a [`ClientTls`] for other trust: a self-signed
//!   test server's certificate ([`ClientTls::from_ca_file`]), a private CA,
//!   or any rustls `ClientConfig` ([`ClientTls::from_config`]).
//! - [`accept_tls`] and [`accept_tls_with`] run a server's TLS handshake
//!   with a [`ServerTls`] (certificate chain and key from PEM,
//!   [`ServerTls::from_pem_files`]) on an accepted `TcpStream`.
//!
//! A failed TLS handshake is [`Error::Tls`]. Deadlines and your timeouts
//! work over TLS as over TCP (they are set on the socket under the TLS
//! session), and when this endpoint closes the connection it sends TLS
//! `close_notify` before closing the socket. A peer that closes TCP
//! without `close_notify` is a plain EOF: after the closing handshake the
//! normal end, before it [`Error::ConnectionReset`] (1006).
//!
//! ```no_run
//! use std::net::TcpListener;
//! use weir_std::{ClientOptions, ClientTls, Config, ServerTls};
//!
//! // A server: certificate and key from PEM files.
//! let tls = ServerTls::from_pem_files("cert.pem", "key.pem")?;
//! let listener = TcpListener::bind("127.0.0.1:9443")?;
//! std::thread::spawn(move || {
//!     for tcp in listener.incoming().flatten() {
//!         if let Ok(mut ws) = weir_std::accept_tls(tcp, &tls) {
//!             while let Ok(message) = ws.read() {
//!                 let _ = ws.send(message);
//!             }
//!         }
//!     }
//! });
//!
//! // A client trusting that self-signed certificate.
//! let trust = ClientTls::from_ca_file("cert.pem")?;
//! let uri = "wss://127.0.0.1:9443/";
//! let (mut ws, _) = weir_std::connect_tls(uri, &trust, ClientOptions::default(), Config::default())?;
//! ws.send("hello")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Another TLS library works too: connect and run its handshake, then
//! hand the stream to [`client`] with the `wss://` URI (or to [`accept`]),
//! and give the WebSocket its hooks ([`WebSocket::set_shutdown`],
//! [`WebSocket::set_read_timeout_fn`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod client;
mod error;
mod server;
mod stream;
#[cfg(feature = "tls")]
mod tls;
mod websocket;

pub use client::{client, connect, connect_with};
pub use error::Error;
pub use server::{accept, accept_with};
pub use stream::MaybeTls;
#[cfg(feature = "tls")]
pub use stream::{ClientTlsStream, ServerTlsStream};
#[cfg(feature = "tls")]
pub use tls::{accept_tls, accept_tls_with, connect_tls};
pub use websocket::{ReadTimeoutFn, ShutdownFn, WebSocket};
pub use weir_proto::handshake::Rejection;

/// The sans-IO core this crate drives.
pub use weir_proto;
#[cfg(feature = "deflate")]
pub use weir_proto::deflate::{DeflateConfig, DeflateParams};
pub use weir_proto::handshake::{
    AcceptOptions, ClientOptions, HandshakeError, HttpRequest, Response, UpgradeRequest,
};
pub use weir_proto::{
    CloseCode, CloseFrame, Config, Connection, Event, Fragment, Message, MessageKind,
    ProtocolError, Role, SendError, State, Utf8Bytes,
};
/// The TLS choices weir shares (feature `tls`), and rustls through it.
#[cfg(feature = "tls")]
pub use weir_tls;
#[cfg(feature = "tls")]
pub use weir_tls::{ClientTls, ServerTls, TlsError};
