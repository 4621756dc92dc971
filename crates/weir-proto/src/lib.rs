//! weir-proto: the sans-IO core of weir, a WebSocket (RFC 6455) implementation.
//!
//! This crate is a pure state machine. It never touches a socket, never reads
//! a clock, never spawns and never blocks: bytes go in, events come out, and
//! bytes to send are drained. Adapters (blocking `std::net`, a `mio` event
//! loop, or your own runtime) move bytes between it and a transport.
//!
//! # Layout
//! - [`handshake`]: the opening handshake, client side
//!   ([`handshake::ClientHandshake`]) and server side
//!   ([`handshake::ServerHandshake`]), read incrementally.
//! - [`Connection`]: everything after the handshake: frames, masking,
//!   fragmentation, UTF-8 validation as bytes arrive, ping/pong, the closing
//!   handshake and size limits ([`Config`]).
//! - `deflate` (cargo feature `deflate`): permessage-deflate (RFC 7692),
//!   negotiated by the handshake and run by the connection it hands over.
//! - [`frame`], [`mask`], [`utf8`]: the building blocks, public for those who
//!   build their own framing on top.
//!
//! # The contract
//! - Input never fails: a peer's violation of RFC 6455 is reported once by
//!   [`Connection::poll_event`] as a [`ProtocolError`], after the connection
//!   has queued the Close frame with the RFC's code (1002, 1007 or 1009).
//!   Nothing a peer sends panics or allocates beyond the configured limits.
//! - Commands return [`SendError`] only for local misuse (sending after
//!   close, a full send queue), and change nothing when they do.
//! - Output is polled: after every input or command, call
//!   [`Connection::poll_event`] until `None`, then drain
//!   [`Connection::poll_transmit`] (or [`Connection::transmit_slices`]).
//!
//! # Example: a client and a server, in memory
//! ```
//! use weir_proto::handshake::{AcceptOptions, ClientHandshake, ClientOptions, Incoming, ServerHandshake};
//! use weir_proto::{CloseCode, Config, Connection, Event, Message};
//!
//! // Opening handshake: the client writes a request, the server answers it.
//! let options = ClientOptions::default().with_protocols(["chat"]);
//! let (mut client_hs, request) = ClientHandshake::new("ws://example.com/chat", options)?;
//! let mut server_hs = ServerHandshake::new();
//! let Some(Incoming::Upgrade(upgrade)) = server_hs.receive(&request)? else {
//!     panic!("expected an upgrade request");
//! };
//! assert_eq!(upgrade.request().path(), "/chat");
//! // Accepting yields the 101 bytes and the server's ready Connection, which
//! // speaks whatever extensions were agreed (permessage-deflate, with the
//! // `deflate` feature) and has taken any bytes that followed the request.
//! let accepted = upgrade.accept(&AcceptOptions::default().with_protocol("chat"), Config::default())?;
//! let mut server = accepted.connection;
//! let response = client_hs.receive(&accepted.response)?.expect("a complete response");
//! assert_eq!(response.protocol(), Some("chat"));
//! let mut client = response.connection(Config::default())?;
//!
//! // Both sides now run a Connection; bytes move by hand between them.
//! fn pump(from: &mut Connection, to: &mut Connection) -> Vec<Event> {
//!     while let Some(bytes) = from.poll_transmit() {
//!         to.receive(&bytes);
//!     }
//!     std::iter::from_fn(|| to.poll_event()).map(|event| event.unwrap()).collect()
//! }
//!
//! client.send("hello")?;
//! let events = pump(&mut client, &mut server);
//! assert_eq!(events, [Event::Message(Message::from("hello"))]);
//!
//! // The server echoes, then closes; the client answers the close.
//! server.send(Message::from("hello back"))?;
//! server.close(CloseCode::NORMAL, "bye")?;
//! let events = pump(&mut server, &mut client);
//! assert_eq!(events[0], Event::Message(Message::from("hello back")));
//! assert!(matches!(&events[1], Event::Close(Some(close)) if close.code == CloseCode::NORMAL));
//! pump(&mut client, &mut server);
//! assert!(server.should_close_transport(), "the server closes TCP first");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod close;
mod config;
mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
mod error;
pub mod frame;
pub mod handshake;
pub mod mask;
mod message;
mod prepared;
mod rng;
pub mod utf8;

pub use close::{CloseCode, CloseFrame, MAX_CLOSE_REASON};
pub use config::{Config, Role};
pub use connection::{Connection, State, TimedOut};
pub use error::{ProtocolError, SendError};
pub use message::{Event, Fragment, Message, MessageKind, Utf8Bytes};
pub use prepared::PreparedMessage;
pub use rng::EntropyError;
