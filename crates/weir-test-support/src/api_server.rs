//! A server of weir-mio's server API ([`weir_mio::server::Server`]) on its
//! own thread, stopped on drop. The recorder's `Server` runs a bare
//! `EventLoop`; this runs what `Server::builder()` builds, so the tests of
//! the server API (and the root tests that serve through it) share one way
//! to start, reach and stop it.

use std::io;
use std::net::SocketAddr;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use weir_mio::server::{ServerBuilder, ServerHandle};

use crate::join;

/// A built server, listening on 127.0.0.1, run by its own thread. Dropping
/// it shuts the server down with a 100 ms deadline and waits for `run` to
/// return, whatever it returned.
pub struct ApiServer {
    /// The server's handle, for broadcasts, rooms and counts.
    pub handle: ServerHandle,
    /// Where it listens.
    pub addr: SocketAddr,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl ApiServer {
    /// Binds `builder` to an ephemeral port on 127.0.0.1, builds it and
    /// runs it on a new thread.
    pub fn start(builder: ServerBuilder) -> Self {
        let server = builder.bind("127.0.0.1:0").build().unwrap();
        let (handle, addr) = (server.handle(), server.local_addr());
        let thread = thread::spawn(move || server.run());
        Self {
            handle,
            addr,
            thread: Some(thread),
        }
    }

    /// Shuts down with `deadline` and waits for `run` to return, which must
    /// be `Ok`; returns how long that took.
    pub fn shutdown(mut self, deadline: Duration) -> Duration {
        let start = Instant::now();
        self.handle.shutdown(deadline);
        join(self.thread.take().unwrap()).unwrap();
        start.elapsed()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.handle.shutdown(Duration::from_millis(100));
            let _ = thread.join();
        }
    }
}
