//! Host names resolved off the loop's thread.
//!
//! The system resolver (`getaddrinfo`, behind `ToSocketAddrs`) blocks for
//! as long as DNS takes, and a loop that called it would hold every one of
//! its connections that long. So a client connection to a host name starts
//! in [`Phase::Resolving`](crate::conn::Phase::Resolving), without a socket,
//! and a short-lived thread resolves the name, queues the addresses and
//! wakes the loop; on the waker's event the loop takes the results
//! ([`Resolver::take_done`]) and starts connecting (`client.rs`). The
//! handshake timeout runs from the start, so a name that never resolves
//! fails like a server that never answers, and a result that comes after
//! its connection is gone is dropped. An IP literal needs none of this.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};

use mio::Waker;

use crate::ConnId;

/// How names become addresses: the system resolver, or a test's own.
pub(crate) type Lookup = Arc<dyn Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync>;

/// The results of the lookups that finished, by connection.
type Done = Vec<(ConnId, io::Result<Vec<SocketAddr>>)>;

/// Starts lookups on threads of their own and collects their results.
pub(crate) struct Resolver {
    lookup: Lookup,
    done: Arc<Mutex<Done>>,
    waker: Arc<Waker>,
}

impl Resolver {
    /// A resolver that uses the system's, and wakes the loop through
    /// `waker` when a lookup finishes.
    pub(crate) fn new(waker: Arc<Waker>) -> Self {
        Self {
            lookup: Arc::new(|host, port| (host, port).to_socket_addrs().map(Iterator::collect)),
            done: Arc::default(),
            waker,
        }
    }

    /// Resolves `host` for connection `id` on a new thread. Fails only if
    /// the thread cannot be started.
    pub(crate) fn start(&self, id: ConnId, host: String, port: u16) -> io::Result<()> {
        let lookup = Arc::clone(&self.lookup);
        let done = Arc::clone(&self.done);
        let waker = Arc::clone(&self.waker);
        std::thread::Builder::new()
            .name("weir-resolve".into())
            .spawn(move || {
                let result = lookup(&host, port);
                lock(&done).push((id, result));
                // A failed wake leaves the result for the loop's next wake-up.
                let _ = waker.wake();
            })?;
        Ok(())
    }

    /// The results of the lookups finished since the last call.
    pub(crate) fn take_done(&self) -> Done {
        std::mem::take(&mut *lock(&self.done))
    }

    /// Replaces the system resolver, for tests.
    #[cfg(test)]
    pub(crate) fn set_lookup(&mut self, lookup: Lookup) {
        self.lookup = lookup;
    }
}

/// The lock, even if a lookup thread panicked while holding it (the list
/// is valid at every step).
fn lock(done: &Mutex<Done>) -> std::sync::MutexGuard<'_, Done> {
    done.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use weir_proto::Role;

    use super::*;
    use crate::{Config, Error, EventLoop, Handler, Opened, Ws};

    /// How long any wait may take before the test fails.
    const PATIENCE: Duration = Duration::from_secs(20);

    /// What the client side heard: opens (with the peer address) and
    /// errors, by connection.
    #[derive(Default)]
    struct Heard {
        opened: Vec<(ConnId, SocketAddr)>,
        errors: Vec<(ConnId, String)>,
    }

    impl Handler for Heard {
        fn on_open(&mut self, ws: &mut Ws<'_>, _opened: Opened<'_>) {
            if ws.role() == Role::Client {
                self.opened.push((
                    ws.id(),
                    ws.peer_addr().expect("an open connection has a peer"),
                ));
            }
        }

        fn on_error(&mut self, ws: &mut Ws<'_>, error: &Error) {
            let text = match error {
                Error::HandshakeTimeout(_) => "handshake timeout".to_owned(),
                other => other.to_string(),
            };
            self.errors.push((ws.id(), text));
        }
    }

    /// Runs `event_loop` until `done` holds, failing after [`PATIENCE`].
    fn run_until(event_loop: &mut EventLoop, heard: &mut Heard, done: impl Fn(&Heard) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(heard) {
            assert!(
                Instant::now() < deadline,
                "gave up; errors: {:?}",
                heard.errors
            );
            event_loop.run_once(heard, Some(PATIENCE)).unwrap();
        }
    }

    /// An address where nothing listens: connecting to it is refused.
    fn refusing_addr() -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    }

    #[test]
    fn each_address_of_a_name_is_tried_until_one_connects() {
        let mut event_loop = EventLoop::new(Config::default()).unwrap();
        let listening = event_loop.listen("127.0.0.1:0").unwrap();
        let refusing = refusing_addr();
        event_loop.set_lookup(Arc::new(move |host, port| {
            assert_eq!((host, port), ("two.test", 80));
            Ok(vec![refusing, listening])
        }));
        let id = event_loop
            .connect("ws://two.test/", Default::default())
            .unwrap();
        let mut heard = Heard::default();
        run_until(&mut event_loop, &mut heard, |heard| {
            !heard.opened.is_empty() || !heard.errors.is_empty()
        });
        assert_eq!(heard.errors, []);
        assert_eq!(heard.opened, [(id, listening)]);
    }

    #[test]
    fn a_name_whose_addresses_all_refuse_reports_the_last_failure() {
        let mut event_loop = EventLoop::new(Config::default()).unwrap();
        let refusing = [refusing_addr(), refusing_addr()];
        event_loop.set_lookup(Arc::new(move |_, _| Ok(refusing.to_vec())));
        let id = event_loop
            .connect("ws://none.test/", Default::default())
            .unwrap();
        let mut heard = Heard::default();
        event_loop.run_until_idle(&mut heard).unwrap();
        assert_eq!(heard.opened, []);
        assert_eq!(heard.errors.len(), 1, "{:?}", heard.errors);
        assert_eq!(heard.errors[0].0, id);
        assert!(heard.errors[0].1.contains("refused"), "{:?}", heard.errors);
    }

    #[test]
    fn a_name_that_does_not_resolve_is_reported_to_on_error() {
        let mut event_loop = EventLoop::new(Config::default()).unwrap();
        event_loop.set_lookup(Arc::new(|_, _| Err(io::Error::other("no such host"))));
        let id = event_loop
            .connect("ws://nowhere.test/", Default::default())
            .unwrap();
        let mut heard = Heard::default();
        event_loop.run_until_idle(&mut heard).unwrap();
        assert_eq!(heard.errors, [(id, "I/O error: no such host".to_owned())]);
    }

    /// A lookup that hangs until released: meanwhile the loop serves its
    /// other connections, and the handshake timeout still ends the stuck
    /// one. (Resolving on the loop's thread, `connect` itself would hang.)
    #[test]
    fn a_name_that_hangs_in_the_resolver_holds_up_no_other_connection() {
        let config = Config::default().with_handshake_timeout(Duration::from_secs(1));
        let mut event_loop = EventLoop::new(config).unwrap();
        let listening = event_loop.listen("127.0.0.1:0").unwrap();
        let (release, released) = mpsc::channel::<()>();
        let released = Mutex::new(released);
        let returned = Arc::new(AtomicBool::new(false));
        let lookup_returned = Arc::clone(&returned);
        event_loop.set_lookup(Arc::new(move |_, _| {
            let _ = lock_ignoring_poison(&released).recv_timeout(PATIENCE);
            lookup_returned.store(true, Ordering::SeqCst);
            Err(io::Error::other("released"))
        }));

        let stuck = event_loop
            .connect("ws://stuck.test/", Default::default())
            .unwrap();
        let quick = event_loop
            .connect(&format!("ws://{listening}/"), Default::default())
            .unwrap();
        let mut heard = Heard::default();
        run_until(&mut event_loop, &mut heard, |heard| {
            !heard.opened.is_empty()
        });
        assert_eq!(heard.opened, [(quick, listening)]);
        assert!(
            !returned.load(Ordering::SeqCst),
            "the lookup finished first"
        );

        // The stuck one fails when its handshake deadline passes, though
        // its lookup has not returned.
        run_until(&mut event_loop, &mut heard, |heard| {
            !heard.errors.is_empty()
        });
        assert_eq!(heard.errors, [(stuck, "handshake timeout".to_owned())]);
        assert!(!returned.load(Ordering::SeqCst));

        // Its late result finds the connection gone and is dropped.
        release.send(()).unwrap();
        let deadline = Instant::now() + PATIENCE;
        while !returned.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the lookup never returned");
            std::thread::yield_now();
        }
        event_loop.run_once(&mut heard, Some(PATIENCE)).unwrap();
        assert_eq!(heard.errors.len(), 1, "{:?}", heard.errors);
    }

    fn lock_ignoring_poison<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        mutex.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
