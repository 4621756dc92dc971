//! weir-proto: the sans-IO core of weir, a WebSocket (RFC 6455) implementation.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod close;
mod config;
mod connection;
mod error;
pub mod frame;
pub mod mask;
mod message;
mod rng;
pub mod utf8;

pub use close::{CloseCode, CloseFrame, MAX_CLOSE_REASON};
pub use config::{Config, Role};
pub use connection::{Connection, State};
pub use error::{ProtocolError, SendError};
pub use message::{Event, Fragment, Message, MessageKind, Utf8Bytes};
