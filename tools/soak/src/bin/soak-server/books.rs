//! [`Books`]: the echo handler, which keeps the books on its callbacks so
//! the driver can check that every `on_open` is paired with one `on_close`.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use weir_mio::server::{Socket, WsHandler};
use weir_mio::weir_proto::handshake::UpgradeRequest;
use weir_mio::{CloseCode, ConnId, Error, Message};
use weir_soak::Stats;

/// How many closed ids are remembered to tell a double close from a close
/// of an id never opened. Bounded so that the server's memory stays flat
/// over a long soak, which is one of the things measured.
const RECENT_CLOSES: usize = 4096;

/// Echoes every message and counts callbacks. Cheap to clone: the route and
/// the HTTP fallback share one ledger.
#[derive(Clone, Default)]
pub struct Books {
    ledger: Arc<Ledger>,
}

/// The counters behind [`Books`].
#[derive(Default)]
struct Ledger {
    pairing: Mutex<Pairing>,
    messages: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
    refused_echoes: AtomicU64,
    accept_errors: AtomicU64,
    accept_resumes: AtomicU64,
}

/// Which connections are open, and what the callbacks did to that set.
#[derive(Default)]
struct Pairing {
    open: HashSet<ConnId>,
    recently_closed: VecDeque<ConnId>,
    opens: u64,
    closes: u64,
    double_closes: u64,
    unpaired_closes: u64,
}

impl Books {
    /// The counters as they are now.
    pub fn stats(&self) -> Stats {
        let ledger = &self.ledger;
        let pairing = ledger.pairing();
        Stats {
            opens: pairing.opens,
            closes: pairing.closes,
            open_now: pairing.open.len() as u64,
            double_closes: pairing.double_closes,
            unpaired_closes: pairing.unpaired_closes,
            messages: ledger.messages.load(Ordering::Relaxed),
            bytes: ledger.bytes.load(Ordering::Relaxed),
            errors: ledger.errors.load(Ordering::Relaxed),
            refused_echoes: ledger.refused_echoes.load(Ordering::Relaxed),
            accept_errors: ledger.accept_errors.load(Ordering::Relaxed),
            accept_resumes: ledger.accept_resumes.load(Ordering::Relaxed),
        }
    }
}

impl Books {
    /// Counts a report of accepting failing (`on_accept_error`).
    pub fn accept_failed(&self) {
        self.ledger.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a report of accepting working again (`on_accept_resumed`).
    pub fn accept_resumed(&self) {
        self.ledger.accept_resumes.fetch_add(1, Ordering::Relaxed);
    }
}

impl Ledger {
    /// The pairing books. A panic while they were held cannot leave them
    /// half-updated in a way that matters (each update is one counter and
    /// one set operation), so a poisoned lock is taken over.
    fn pairing(&self) -> MutexGuard<'_, Pairing> {
        self.pairing.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Pairing {
    /// `on_close` for `id`: true if it was open.
    fn end(&mut self, id: ConnId) -> bool {
        if self.open.remove(&id) {
            if self.recently_closed.len() == RECENT_CLOSES {
                self.recently_closed.pop_front();
            }
            self.recently_closed.push_back(id);
            true
        } else {
            false
        }
    }
}

impl WsHandler for Books {
    type State = ();

    fn on_open(&self, ws: &Socket, _request: &UpgradeRequest) {
        let mut pairing = self.ledger.pairing();
        pairing.opens += 1;
        pairing.open.insert(ws.id());
    }

    fn on_message(&self, ws: &Socket, _state: &mut Self::State, message: Message) {
        let ledger = &self.ledger;
        ledger.messages.fetch_add(1, Ordering::Relaxed);
        ledger
            .bytes
            .fetch_add(message.len() as u64, Ordering::Relaxed);
        if ws.send(message).is_err() {
            ledger.refused_echoes.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_close(&self, ws: &Socket, _state: Self::State, _code: CloseCode, _reason: &str) {
        let mut pairing = self.ledger.pairing();
        let id = ws.id();
        if pairing.end(id) {
            pairing.closes += 1;
        } else if pairing.recently_closed.contains(&id) {
            pairing.double_closes += 1;
        } else {
            pairing.unpaired_closes += 1;
        }
    }

    fn on_error(&self, _ws: &Socket, _error: &Error) {
        self.ledger.errors.fetch_add(1, Ordering::Relaxed);
    }
}
