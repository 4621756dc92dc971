//! weir-std: the blocking adapter of weir, a WebSocket (RFC 6455) stack.
//!
//! It drives the sans-IO core ([`weir_proto`]) over any blocking
//! [`Read`](std::io::Read) + [`Write`](std::io::Write) stream: a
//! [`TcpStream`](std::net::TcpStream), a Unix socket, or a TLS stream such as
//! rustls's `StreamOwned` (this crate has no TLS of its own). One thread per
//! connection, no runtime.
//!
//! - Client: [`connect`] (`ws://` over TCP) or [`client`] (any stream).
//! - Server: [`accept`] or [`accept_with`] (choose a subprotocol, reject).
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
//! (built in for `TcpStream` and Unix sockets, see
//! [`WebSocket::set_read_timeout_fn`] for other streams); yours is
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
//! Connect and run the TLS handshake yourself, then hand the stream to
//! [`client`] with the `wss://` URI (or to [`accept`] on a server). Set
//! [`WebSocket::set_shutdown`] so the WebSocket can close the TLS session
//! and the socket when the protocol says this endpoint closes first.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod client;
mod error;
mod server;
mod websocket;

pub use client::{client, connect, connect_with};
pub use error::Error;
pub use server::{accept, accept_with};
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
