//! weir: the WebSocket protocol (RFC 6455) for Rust.
//!
//! This facade re-exports the crates of the workspace so that an application
//! depends on one package:
//!
//! - [`proto`]: the sans-IO core ([`weir_proto`]), a pure state machine that
//!   turns received bytes into events and sends into bytes to write.
//!
//! The I/O adapters (blocking `std::net` and a `mio` event loop) will join
//! here behind cargo features.
#![deny(missing_docs)]

pub use weir_proto as proto;
