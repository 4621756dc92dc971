//! weir on tokio: a WebSocket connection as a [`futures_core::Stream`] of
//! messages and a [`futures_sink::Sink`] for them, over any
//! `AsyncRead + AsyncWrite` transport (a `TcpStream`, a TLS stream,
//! hyper's upgraded connection).
//!
//! The protocol is weir-proto's sans-IO [`Connection`]; this crate only
//! moves bytes and time between it and tokio. What lives where:
//!
//! - [`WebSocketStream`], its halves [`ReadHalf`] and [`WriteHalf`]
//!   (`stream.rs`): the public face. The halves share one connection and
//!   can be used from two tasks.
//! - `buffers.rs`: the per-thread read and send buffers the connections
//!   of a thread share: no copy of what is read, no allocation per message
//!   sent, no buffer held by an idle connection.
//! - `driver.rs`: the connection and its transport, and the three things
//!   every poll does with them: read and hand bytes to the core, write
//!   what the core queued, run the core's deadlines on a tokio timer.
//! - `wakers.rs`: the waker that lets both halves wait on one transport.
//! - [`accept_async`], [`accept_with`] (`server.rs`) and [`client_async`],
//!   [`connect_async`] (`client.rs`): the opening handshake, decided by the
//!   core ([`weir_proto::handshake::decide`]).
//! - `upgrade` (feature `hyper`, on by default): WebSocket endpoints in
//!   hyper and axum services, `upgrade(&mut request, config, options,
//!   serve)`; the `hyper-upgrade` and `axum-upgrade` examples use it.
//!   Underneath, the handshake works on `http` types (`weir_proto::
//!   handshake`'s `Incoming::from_http`, `Accepted::http_response`), which
//!   any other HTTP stack can use the same way.
//! - [`Error`] (`error.rs`).
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//!
//! # async fn run() -> Result<(), weir_tokio::Error> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     tokio::spawn(async move {
//!         let mut ws = weir_tokio::accept_async(tcp).await?;
//!         while let Some(message) = ws.next().await {
//!             ws.send(message?).await?;
//!         }
//!         Ok::<_, weir_tokio::Error>(())
//!     });
//! }
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod buffers;
mod client;
mod driver;
mod error;
mod server;
mod stream;
#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "hyper")]
mod upgrade;
mod wakers;

pub use client::{client_async, connect_async, connect_async_with, MaybeTlsStream};
pub use error::Error;
pub use server::{accept_async, accept_with};
pub use stream::{ReadHalf, WebSocketStream, WriteHalf};
#[cfg(feature = "hyper")]
pub use upgrade::{upgrade, Upgraded};
pub use weir_proto;
pub use weir_proto::{CloseCode, CloseFrame, Config, Connection, Message, Utf8Bytes};
