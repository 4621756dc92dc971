//! weir-mio: WebSocket (RFC 6455) connections, server and client, on one
//! [`mio`] event loop.
//!
//! The protocol lives in the sans-IO core, [`weir_proto`]; this crate moves
//! bytes between it and non-blocking sockets, tells it the time (its close
//! and keepalive deadlines are the core's; the handshake timeout is this
//! crate's), and calls the application's [`Handler`].
//!
//! Two levels of API:
//! - [`server`]: a server built once and run: handlers routed by path, a
//!   plain-HTTP fallback, [`server::Socket`] handles usable from any thread,
//!   rooms and broadcasts, N worker threads, graceful shutdown. Start here
//!   for a server (`examples/echo.rs`, `examples/chat/`).
//! - [`EventLoop`] and [`Handler`]: one loop, one thread, `&mut` callbacks,
//!   both roles: what the server is built on, and what benchmarks and the
//!   Autobahn examples use.
//!
//! # Layout
//! - [`EventLoop`], [`StopHandle`] and [`WakeHandle`] (`event_loop.rs`): the
//!   poller and the turn of the loop; `read.rs`: reads and dispatch to the
//!   handler; `settle.rs`: writes, closing sockets, the time told to the
//!   cores, the handshake timeout.
//! - `accept.rs`: accepting (up to [`Config::max_connections`], whose
//!   places `admission.rs` counts) and answering upgrade and plain HTTP
//!   requests; `client.rs`: non-blocking connects (to each address in
//!   turn) and the client handshake; `resolve.rs`: host names resolved off
//!   the loop's thread.
//! - [`Handler`], [`Opened`], [`ConnInfo`] (`handler.rs`), and the core's [`Rejection`]:
//!   the callbacks and what they take and return.
//! - [`Ws`], [`ConnId`] and [`Conns`] (`ws.rs`): the handle a callback acts
//!   through, the connection's never-reused id, and the loop's connections
//!   as [`Handler::on_wake`] sees them.
//! - `conn.rs`: one connection's state, through its phases; `slab.rs`: the
//!   token-indexed table of connections; `timers.rs`: the heap of timers.
//! - [`Config`] (with [`SlowConsumer`]), [`Error`].
//! - `server/`: the server API (its module docs say what lives where).
//!
//! # Design
//! - One thread, one `mio::Poll`, connections indexed by token in a table
//!   with a free list, stored inline. Every connection has a [`ConnId`],
//!   never reused, which is what the application sees: it carries the
//!   slot and the slot's generation, so finding a connection by id is an
//!   index and a check.
//! - One read buffer for the whole loop, read into straight from the
//!   socket; the core takes the bytes read as they are, without a copy
//!   (messages are slices of them). An idle connection holds only its
//!   socket, the core's state and a few words.
//! - Writes are vectored, straight from the core's queue; `WRITABLE`
//!   interest is registered only while output is pending, so a slow reader
//!   holds its own queue and nobody else's time.
//! - Callbacks get a [`Ws`] that borrows the loop's connection table, and all
//!   writing happens after they return.
//!
//! # Example: a server and a client on one loop
//! ```
//! use weir_mio::{CloseCode, Config, EventLoop, Handler, Message, Opened, Role, StopHandle, Ws};
//!
//! struct App {
//!     stop: StopHandle,
//!     echoed: Option<Message>,
//! }
//!
//! impl Handler for App {
//!     fn on_open(&mut self, ws: &mut Ws<'_>, opened: Opened<'_>) {
//!         if let Opened::Connected(_) = opened {
//!             ws.send("hello").unwrap();
//!         }
//!     }
//!
//!     fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
//!         match ws.role() {
//!             Role::Server => ws.send(message).unwrap(), // echo
//!             Role::Client => {
//!                 self.echoed = Some(message);
//!                 ws.close(CloseCode::NORMAL, "done").unwrap();
//!             }
//!         }
//!     }
//!
//!     fn on_close(&mut self, ws: &mut Ws<'_>, code: CloseCode, _reason: &str) {
//!         if ws.role() == Role::Client {
//!             // The server's answer to our Close echoes the code.
//!             assert_eq!(code, CloseCode::NORMAL);
//!             self.stop.stop();
//!         }
//!     }
//! }
//!
//! let mut event_loop = EventLoop::new(Config::default())?;
//! let addr = event_loop.listen("127.0.0.1:0")?;
//! event_loop.connect(&format!("ws://{addr}/echo"), Default::default())?;
//! let mut app = App { stop: event_loop.stop_handle(), echoed: None };
//! event_loop.run(&mut app)?;
//! assert_eq!(app.echoed, Some(Message::from("hello")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code, clippy::undocumented_unsafe_blocks)]

mod accept;
mod admission;
mod client;
mod config;
mod conn;
mod error;
mod event_loop;
mod handler;
mod read;
mod read_buf;
mod resolve;
pub mod server;
mod settle;
mod shared;
mod slab;
mod timers;
#[cfg(feature = "tls")]
mod tls;
#[cfg(not(feature = "tls"))]
#[path = "tls_off.rs"]
mod tls;
mod ws;

pub use config::{Config, SlowConsumer};
pub use error::Error;
pub use event_loop::{EventLoop, StopHandle, WakeHandle};
pub use handler::{ConnInfo, Handler, Opened};
pub use weir_proto::handshake::Rejection;
pub use ws::{ConnId, Conns, Ws};

/// TLS set-up, shared with the other adapters (feature `tls`): what a
/// client trusts and what a server presents.
#[cfg(feature = "tls")]
pub use weir_tls::{self, ClientTls, ServerTls, TlsError};

/// The sans-IO core, for its types: configuration, messages, handshake
/// options.
pub use weir_proto;
#[cfg(feature = "deflate")]
pub use weir_proto::deflate::{DeflateConfig, DeflateParams};
pub use weir_proto::handshake::{AcceptOptions, ClientOptions, HttpRequest, UpgradeRequest};
pub use weir_proto::{CloseCode, Fragment, Message, MessageKind, PreparedMessage, Role, SendError};
