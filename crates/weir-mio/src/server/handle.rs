//! [`ServerHandle`], the server seen from any thread, and [`Shared`], the
//! state behind it that every worker and socket points to.
//!
//! What is shared, and how:
//! - the routes and the configuration: read-only after `build`;
//! - each worker's records of its connections (`records.rs`), from their
//!   accepted upgrade to their `on_close`: read by any thread without a
//!   lock, found by an id's worker and slot, no hash;
//! - the rooms, name to members by worker and connection to names, behind
//!   an `RwLock` (`rooms.rs`);
//! - one command queue per worker, bounded for broadcasts, plus the loop's
//!   [`WakeHandle`](crate::WakeHandle) (`queue.rs`);
//! - the shutdown deadline.
//!
//! No lock is held while a callback runs, and no two are held at once.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use weir_proto::{CloseCode, Message, SendError};

use super::builder::AcceptHooks;
use super::dispatch::State;
use super::guard::guarded;
use super::queue::WorkerLink;
use super::records::{Record, Records};
use super::rooms::Rooms;
use super::route::Routes;
use super::{BroadcastRefused, ReadyState, Room, Socket};
use crate::{Config, ConnId};

/// Locks a mutex, recovering from poisoning.
///
/// No lock of the server is held while application code runs, so a
/// panicking callback cannot poison one; only a panic in the server's own
/// code could. Recovering with `into_inner` is sound all the same, here and
/// in [`read`] and [`write`]: every critical section only inserts, removes
/// or replaces whole entries and values, so whatever interrupted it, the
/// data it leaves is consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Read-locks, recovering from poisoning (see [`lock`]).
pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

/// Write-locks, recovering from poisoning (see [`lock`]).
pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// The state every worker, socket and handle shares.
pub(crate) struct Shared {
    pub(crate) routes: Routes,
    pub(crate) config: Config,
    /// The permessage-deflate terms of every accept.
    #[cfg(feature = "deflate")]
    pub(crate) deflate: Option<weir_proto::deflate::DeflateConfig>,
    pub(crate) local_addr: SocketAddr,
    /// The plain listener's address, beside a TLS one
    /// ([`ServerBuilder::bind_plain`](super::ServerBuilder::bind_plain)).
    pub(crate) plain_addr: Option<SocketAddr>,
    pub(crate) workers: Vec<WorkerLink>,
    /// The most commands a worker's queue holds before it refuses
    /// broadcasts (`queue.rs`).
    pub(crate) command_queue_capacity: usize,
    pub(crate) accept_hooks: AcceptHooks,
    /// By worker.
    pub(crate) records: Vec<Arc<Records>>,
    pub(crate) rooms: RwLock<Rooms>,
    /// This node's side of its cluster, if it is in one.
    #[cfg(feature = "redis")]
    pub(crate) cluster: Option<super::cluster::Link>,
    pub(crate) shutdown: Mutex<Option<Instant>>,
}

impl Shared {
    /// The record of connection `id`. Every id the server hands out names a
    /// record that exists; an id made up by the application may not, and
    /// reads as a record of no connection.
    pub(crate) fn record(&self, id: ConnId) -> &Record {
        static NONE: Record = Record::empty();
        self.records
            .get(id.worker())
            .and_then(|records| records.get(id.slot()))
            .unwrap_or(&NONE)
    }

    /// The socket of connection `id`, if it is accepted and not finished.
    pub(crate) fn socket(self: &Arc<Self>, id: ConnId) -> Option<Socket> {
        let live = self.record(id).state(id) != ReadyState::Closed;
        live.then(|| Socket {
            server: Arc::clone(self),
            id,
        })
    }

    /// The end of a connection: `on_close` with its state (none if it
    /// never opened: no `on_close` then), then out of its rooms and the
    /// records. A panic in `on_close` ends there: the connection is over
    /// and nothing is left to report it on.
    pub(crate) fn finish(
        self: &Arc<Self>,
        id: ConnId,
        state: Option<State>,
        code: CloseCode,
        reason: &str,
    ) {
        let record = self.record(id);
        let Some(meta) = record.meta(id) else {
            return;
        };
        if meta.state == ReadyState::Closed {
            return;
        }
        // Closed first, so that what on_close sends is refused.
        record.set_state(id, ReadyState::Closed);
        if let Some(state) = state {
            let socket = Socket {
                server: Arc::clone(self),
                id,
            };
            let handler = self.routes.handler(meta.route);
            let _ = guarded("on_close", || {
                handler.on_close(&socket, state, code, reason)
            });
        }
        self.leave_all(id);
        if let Some(records) = self.records.get(id.worker()) {
            records.forget(id);
            records.count(false);
        }
    }

    /// Starts the graceful shutdown, unless it has started: every worker
    /// stops within `deadline` ([`ServerHandle::shutdown`]).
    pub(crate) fn begin_shutdown(&self, deadline: Duration) {
        {
            let mut shutdown = lock(&self.shutdown);
            if shutdown.is_none() {
                *shutdown = Some(Instant::now() + deadline);
            }
        }
        for worker in &self.workers {
            // Always wake, even from a worker's own callback: the loop checks
            // the deadline between turns.
            worker.wake();
        }
    }

    /// The shutdown deadline, once asked for.
    pub(crate) fn shutdown_deadline(&self) -> Option<Instant> {
        *lock(&self.shutdown)
    }
}

/// A handle on a running (or built) [`Server`](super::Server), for any
/// thread: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct ServerHandle {
    pub(crate) shared: Arc<Shared>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Sends `message` to every open connection of every handler, encoded
    /// once ([`PreparedMessage`](weir_proto::PreparedMessage)) and shared by
    /// all recipients.
    ///
    /// Fails with [`BroadcastRefused`] when one or more workers refused it,
    /// their command queue being full
    /// ([`ServerBuilder::command_queue_capacity`](super::ServerBuilder::command_queue_capacity)):
    /// then the connections of those workers do not get the message, and the
    /// others do.
    pub fn broadcast(&self, message: impl Into<Message>) -> Result<(), BroadcastRefused> {
        self.shared.broadcast(None, None, message.into())
    }

    /// Like [`ServerHandle::broadcast`], skipping connection `except`
    /// (typically the sender).
    pub fn broadcast_except(
        &self,
        except: ConnId,
        message: impl Into<Message>,
    ) -> Result<(), BroadcastRefused> {
        self.shared.broadcast(None, Some(except), message.into())
    }

    /// Sends `message` to connection `id`; [`SendError::Closed`] if there is
    /// no such open connection. See [`Socket::send`].
    ///
    /// In a cluster, an id of another node ([`ConnId::node`]) is published
    /// for that node, and `Ok` means only that: delivery across nodes is at
    /// most once (see [`Cluster`](super::Cluster)).
    pub fn send_to(&self, id: ConnId, message: impl Into<Message>) -> Result<(), SendError> {
        #[cfg(feature = "redis")]
        if let Some(cluster) = self.shared.cluster.as_ref().filter(|c| c.is_remote(id)) {
            cluster.one(id, &message.into());
            return Ok(());
        }
        self.socket(id).ok_or(SendError::Closed)?.send(message)
    }

    /// What this node's cluster has done, if the server is in one.
    #[cfg(feature = "redis")]
    pub fn cluster_stats(&self) -> Option<super::ClusterStats> {
        self.shared
            .cluster
            .as_ref()
            .map(super::cluster::Link::stats)
    }

    /// Closes connection `id`; see [`Socket::close`].
    pub fn close(&self, id: ConnId, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.socket(id)
            .ok_or(SendError::Closed)?
            .close(code, reason)
    }

    /// The socket of connection `id`, while it is accepted and not closed.
    pub fn socket(&self, id: ConnId) -> Option<Socket> {
        self.shared.socket(id)
    }

    /// How many WebSocket connections are accepted and not yet closed,
    /// across all workers.
    pub fn connection_count(&self) -> usize {
        self.shared
            .records
            .iter()
            .map(|records| records.live())
            .sum()
    }

    /// The ids of those connections, in no particular order.
    pub fn connections(&self) -> Vec<ConnId> {
        let records = self.shared.records.iter();
        records
            .flat_map(|records| records.iter().map(|(id, _)| id))
            .collect()
    }

    /// Room `name` (it exists while it has members).
    pub fn room(&self, name: &str) -> Room {
        Room {
            shared: Arc::clone(&self.shared),
            name: name.into(),
        }
    }

    /// The names of every room with members.
    pub fn rooms(&self) -> Vec<String> {
        read(&self.shared.rooms).names()
    }

    /// Starts a graceful shutdown, from any thread: stop accepting, close
    /// every connection with 1001 (going away) after what is already queued
    /// for it, and let [`Server::run`](super::Server::run) return once every
    /// connection is closed, or when `deadline` has passed: connections
    /// still open then are dropped (their `on_close` gets 1006). Asking
    /// again keeps the first deadline.
    pub fn shutdown(&self, deadline: Duration) {
        self.shared.begin_shutdown(deadline);
    }

    /// Whether [`ServerHandle::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.shutdown_deadline().is_some()
    }
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("local_addr", &self.shared.local_addr)
            .field("workers", &self.shared.workers.len())
            .finish_non_exhaustive()
    }
}
