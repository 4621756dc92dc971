//! Test helpers for weir, written once and used by the tests of every crate
//! in the workspace (and the cross-crate tests in the root `tests/`).
//!
//! - [`pair`]: two core endpoints on a simulated network and clock;
//! - [`frames`]: frames built and read by hand, for peers that break rules;
//! - [`payloads`]: deterministic messages and byte-exact comparisons;
//! - [`tcp`]: raw TCP peers and hand-written HTTP upgrades;
//! - [`client`]: a blocking client made of the core and a `TcpStream`;
//! - [`faulty`]: a stream wrapper that injects short reads and writes,
//!   `WouldBlock`, `Interrupted` and resets on a seeded schedule;
//! - `proxy` (Unix): a TCP proxy that makes a server's real socket read and
//!   write short, block, and reset;
//! - `recorder` (feature `mio`): an event loop whose handler reports every
//!   callback over a channel;
//! - `api_server` (feature `mio`): a server of weir-mio's server API on its
//!   own thread;
//! - [`peers`]: the real peers of the interop tests (Python `websockets`,
//!   Node `ws`) and their launchers;
//! - `echo` and `script` (features `std` and `mio`): echo servers on both
//!   adapters and a scripted event-loop client, for the root tests.
//!
//! Synchronization is by channels, joins and blocking reads only:
//! [`PATIENCE`] is the safety net that turns a hang into a failure, never a
//! wait.
//!
//! This crate depends on weir-proto (and, behind features, the adapters), so
//! only integration tests may use it: a `#[cfg(test)]` module inside one of
//! those crates would see a second copy of the crate under test.
#![deny(missing_docs)]

use std::thread::JoinHandle;
use std::time::Duration;

pub mod client;
pub mod faulty;
pub mod frames;
pub mod pair;
pub mod payloads;
pub mod peers;
#[cfg(unix)]
pub mod proxy;
pub mod tcp;

#[cfg(feature = "mio")]
pub mod api_server;
#[cfg(all(feature = "std", feature = "mio"))]
pub mod echo;
#[cfg(feature = "mio")]
pub mod recorder;
#[cfg(all(feature = "std", feature = "mio"))]
pub mod script;

/// The longest any single wait (a socket read, a channel receive, a join)
/// may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Joins a thread and re-raises its panic, so a failed assertion on another
/// thread fails the test with its own message.
pub fn join<T>(handle: JoinHandle<T>) -> T {
    match handle.join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
