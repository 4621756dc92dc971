//! The soak test of the weir-mio server API (see `scripts/soak.sh`).
//!
//! Two binaries share this library:
//! - `soak-server`: an echo [`Server`](weir_mio::server::Server) that keeps
//!   the books on its callbacks and serves them over plain HTTP at
//!   [`STATS_PATH`];
//! - `soak`: the driver, which starts `soak-server` as a child process (so
//!   the memory and descriptors it measures are the server's alone), runs
//!   clients against it and judges the result.
//!
//! What both must agree on, the counters and their text form, lives here.
#![deny(missing_docs)]

pub mod stats;

pub use stats::Stats;

/// The plain-HTTP path where `soak-server` serves its [`Stats`].
pub const STATS_PATH: &str = "/stats";

/// The plain-HTTP path where `soak-server` hands the allocator's free
/// memory back to the system before the driver reads its RSS, so that the
/// reading is of memory in use, not of where freed blocks happened to
/// fall.
pub const TRIM_PATH: &str = "/trim";

/// The WebSocket path `soak-server` echoes on.
pub const ECHO_PATH: &str = "/echo";

/// The WebSocket path where `soak-server` takes messages and answers
/// nothing: a peer can write to it as fast as the server reads.
pub const SINK_PATH: &str = "/sink";
