//! `Config::max_connections` across the workers of one server: clients
//! racing in from many threads at once never hold more places than the
//! limit, and the rest are answered 503.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use weir_mio::server::{Server, Socket, WsHandler};
use weir_mio::weir_proto::handshake::HandshakeError;
use weir_mio::{AcceptOptions, ClientOptions, CloseCode, Config, Rejection, UpgradeRequest};
use weir_test_support::{client::Client, PATIENCE};

/// The connections open at once, and the most ever open.
#[derive(Default)]
struct OpenCount {
    open: AtomicUsize,
    most: AtomicUsize,
}

/// Keeps an [`OpenCount`] up to date.
struct Counter(Arc<OpenCount>);

impl WsHandler for Counter {
    type State = ();

    fn on_upgrade(
        &self,
        _ws: &Socket,
        _request: &UpgradeRequest,
    ) -> Result<AcceptOptions, Rejection> {
        let open = self.0.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.most.fetch_max(open, Ordering::SeqCst);
        Ok(AcceptOptions::default())
    }

    fn on_close(&self, _ws: &Socket, _state: Self::State, _code: CloseCode, _reason: &str) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn racing_clients_on_several_workers_never_exceed_max_connections() {
    const LIMIT: usize = 6;
    const THREADS: usize = 8;
    const PER_THREAD: usize = 3;
    const ROUNDS: usize = 10;
    let count = Arc::new(OpenCount::default());
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .route("/*", Counter(Arc::clone(&count)))
        .workers(4)
        .config(Config::default().with_max_connections(LIMIT))
        .build()
        .unwrap();
    let addr = server.local_addr();
    let handle = server.handle();
    let running = std::thread::spawn(move || server.run());

    for round in 0..ROUNDS {
        let start = Arc::new(Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    (0..PER_THREAD)
                        .map(|_| Client::try_connect(addr, "/", ClientOptions::default()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let outcomes: Vec<_> = threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect();
        let admitted = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
        let refused = outcomes
            .iter()
            .filter(|outcome| {
                matches!(
                    outcome,
                    Err(HandshakeError::UnexpectedStatus { status: 503, .. })
                )
            })
            .count();
        assert!(admitted <= LIMIT, "round {round}: {admitted} admitted");
        assert_eq!(admitted + refused, THREADS * PER_THREAD, "round {round}");
        assert_eq!(handle.connection_count(), admitted, "round {round}");
        if round == 0 {
            // Nobody has left yet, so every place was free: all are taken.
            assert_eq!(admitted, LIMIT);
        }
        drop(outcomes);
        let deadline = Instant::now() + PATIENCE;
        while handle.connection_count() > 0 || count.open.load(Ordering::SeqCst) > 0 {
            assert!(Instant::now() < deadline, "the clients never left");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    assert!(count.most.load(Ordering::SeqCst) <= LIMIT);
    handle.shutdown(std::time::Duration::from_secs(1));
    running.join().unwrap().unwrap();
}
