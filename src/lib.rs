//! weir: the WebSocket protocol (RFC 6455) for Rust.
//!
//! This facade re-exports the crates of the workspace so that an application
//! depends on one package:
//!
//! - [`proto`]: the sans-IO core ([`weir_proto`]), a pure state machine that
//!   turns received bytes into events and sends into bytes to write.
//! - [`blocking`] (feature `std`, on by default): the blocking adapter
//!   ([`weir_std`]) over any `Read + Write` stream.
//! - [`event_loop`] (feature `mio`, on by default): the event-loop adapter
//!   ([`weir_mio`]), many connections on one `mio::Poll`.
//! - [`asynchronous`] (feature `tokio`): the tokio adapter
//!   ([`weir_tokio`]), a `Stream` + `Sink` over any `AsyncRead +
//!   AsyncWrite`, with `upgrade` for hyper and axum services.
//!
//! Feature `deflate` (on by default) adds permessage-deflate (RFC 7692) to
//! the core and to every adapter: clients offer it and servers accept it
//! unless told otherwise (`weir::proto::deflate`).
#![deny(missing_docs)]

pub use weir_proto as proto;

#[cfg(feature = "std")]
pub use weir_std as blocking;

#[cfg(feature = "mio")]
pub use weir_mio as event_loop;

#[cfg(feature = "tokio")]
pub use weir_tokio as asynchronous;
