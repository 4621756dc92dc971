//! The workers' command queues: how anything outside a worker's own
//! callbacks reaches its connections ([`Command`]s are posted here and run
//! by the worker, in `worker.rs`), the bound that keeps broadcasts from
//! growing a queue without limit, and [`BroadcastRefused`], what a broadcast
//! returns when that bound refused it.
//!
//! The bound: a broadcast or a room send is refused by a worker whose queue
//! already holds [`ServerBuilder::command_queue_capacity`](super::ServerBuilder::command_queue_capacity)
//! commands. Sends to one socket and closes are never refused by it, as each
//! is bounded already: a send by its connection's send-queue limit (its
//! bytes are reserved until the worker runs it, see `socket.rs`), a close by
//! coming at most once per connection. So a worker's queue holds at most the
//! capacity in broadcasts, plus those.
//!
//! A worker that has ended (after a shutdown, or because it failed) takes
//! nothing more: its queue is dropped, and so is anything posted to it.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use weir_proto::{Message, PreparedMessage};

use super::commands::Command;
use super::handle::{lock, Shared};
use crate::{ConnId, WakeHandle};

thread_local! {
    /// The worker this thread runs, as (server address, worker index):
    /// commands for it need no wake-up, as it drains its queue after every
    /// callback.
    static CURRENT_WORKER: Cell<(usize, usize)> = const { Cell::new((0, usize::MAX)) };
}

/// One worker as the rest of the server reaches it: its command queue and
/// its loop's [`WakeHandle`].
pub(crate) struct WorkerLink {
    /// The commands not yet run; `None` once the worker has ended.
    queue: Mutex<Option<Vec<Command>>>,
    /// Whether `queue` may hold commands: set under the lock by every post,
    /// cleared under it by [`WorkerLink::take`], so that the worker, which
    /// looks after every callback, takes the lock only when there is
    /// something to take. (A post from another thread that the worker's
    /// look misses also wakes the worker, which looks again.)
    posted: AtomicBool,
    wake: WakeHandle,
}

impl WorkerLink {
    pub(crate) fn new(wake: WakeHandle) -> Self {
        Self {
            queue: Mutex::new(Some(Vec::new())),
            posted: AtomicBool::new(false),
            wake,
        }
    }

    /// Takes every queued command, to run them: swaps them with `empty`
    /// (an empty vector, whose storage the queue keeps).
    pub(crate) fn take_into(&self, empty: &mut Vec<Command>) {
        if self.is_empty() {
            return;
        }
        let mut queue = lock(&self.queue);
        self.posted.store(false, Ordering::Release);
        if let Some(commands) = queue.as_mut() {
            std::mem::swap(commands, empty);
        }
    }

    /// Whether no command is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        !self.posted.load(Ordering::Acquire)
    }

    /// The worker has ended: drops what is queued, and refuses what comes.
    pub(crate) fn end(&self) {
        let left = lock(&self.queue).take();
        // Dropped outside the lock: a send's reservation is released then.
        drop(left);
    }

    /// Wakes the worker's loop.
    pub(crate) fn wake(&self) {
        self.wake.wake();
    }
}

/// What became of a command posted to a worker.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Posted {
    Queued,
    /// The queue was at the capacity asked for.
    Refused,
    /// The worker has ended (its connections are gone).
    Ended,
}

impl Shared {
    fn key(&self) -> usize {
        self as *const Self as usize
    }

    /// Marks this thread as running worker `index`.
    pub(crate) fn enter_worker(&self, index: usize) {
        CURRENT_WORKER.with(|current| current.set((self.key(), index)));
    }

    /// Marks this thread as running no worker.
    pub(crate) fn leave_worker(&self) {
        CURRENT_WORKER.with(|current| current.set((0, usize::MAX)));
    }

    /// Queues `command` on worker `index` whatever its queue holds (for the
    /// commands bounded otherwise: see the module docs).
    pub(crate) fn post(&self, index: usize, command: Command) {
        self.post_within(index, command, usize::MAX);
    }

    /// Queues `command` on worker `index` unless its queue holds `capacity`
    /// commands or more, waking the worker unless this thread is that worker
    /// (which drains its queue after the running callback).
    fn post_within(&self, index: usize, command: Command, capacity: usize) -> Posted {
        let Some(worker) = self.workers.get(index) else {
            return Posted::Ended;
        };
        {
            let mut queue = lock(&worker.queue);
            let Some(commands) = queue.as_mut() else {
                return Posted::Ended;
            };
            if commands.len() >= capacity {
                return Posted::Refused;
            }
            commands.push(command);
            worker.posted.store(true, Ordering::Release);
        }
        if CURRENT_WORKER.with(Cell::get) != (self.key(), index) {
            worker.wake();
        }
        Posted::Queued
    }

    /// Sends `message` to every open connection (of route `route` if
    /// given), except `except`: here, and on the cluster's other nodes if
    /// there is a cluster and no route.
    pub(crate) fn broadcast(
        &self,
        route: Option<usize>,
        except: Option<ConnId>,
        message: Message,
    ) -> Result<(), BroadcastRefused> {
        // A route is this node's: only a server-wide broadcast crosses.
        #[cfg(feature = "redis")]
        if let (Some(cluster), None) = (&self.cluster, route) {
            cluster.everyone(except, &message);
        }
        self.broadcast_here(route, except, message)
    }

    /// Sends `message`, encoded once, to every open connection of this node
    /// (of one route, if given) but `except`.
    pub(crate) fn broadcast_here(
        &self,
        route: Option<usize>,
        except: Option<ConnId>,
        message: Message,
    ) -> Result<(), BroadcastRefused> {
        let message = PreparedMessage::new(message);
        self.post_to_workers(0..self.workers.len(), || Command::Broadcast {
            message: message.clone(),
            route,
            except,
        })
    }

    /// Posts a broadcast's command to each of `workers`, within the queue
    /// capacity; fails if any refused it.
    pub(crate) fn post_to_workers(
        &self,
        workers: impl IntoIterator<Item = usize>,
        command: impl Fn() -> Command,
    ) -> Result<(), BroadcastRefused> {
        let mut tally = Tally::new(self.command_queue_capacity);
        for index in workers {
            tally.add(self.post_within(index, command(), self.command_queue_capacity));
        }
        tally.result()
    }
}

/// Counts the workers a broadcast was for and those that refused it.
struct Tally {
    refusal: BroadcastRefused,
}

impl Tally {
    fn new(capacity: usize) -> Self {
        Self {
            refusal: BroadcastRefused {
                refused: 0,
                workers: 0,
                capacity,
            },
        }
    }

    fn add(&mut self, posted: Posted) {
        match posted {
            Posted::Queued => self.refusal.workers += 1,
            Posted::Refused => {
                self.refusal.workers += 1;
                self.refusal.refused += 1;
            }
            Posted::Ended => {}
        }
    }

    fn result(self) -> Result<(), BroadcastRefused> {
        match self.refusal.refused {
            0 => Ok(()),
            _ => Err(self.refusal),
        }
    }
}

/// A broadcast or room send that one or more workers refused because their
/// command queue already held
/// [`ServerBuilder::command_queue_capacity`](super::ServerBuilder::command_queue_capacity)
/// commands: the application broadcasts faster than they run them, or a
/// callback keeps a worker busy.
///
/// The recipients on the workers that took the message get it; those on
/// the refusing workers do not. Retrying later (or dropping the update) is
/// the application's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BroadcastRefused {
    refused: usize,
    workers: usize,
    capacity: usize,
}

impl BroadcastRefused {
    /// How many workers refused the message.
    pub fn refused(&self) -> usize {
        self.refused
    }

    /// How many workers the message was for (those with recipients, or
    /// every running worker for a server or route broadcast).
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The capacity of each worker's command queue.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl fmt::Display for BroadcastRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} workers refused the broadcast: their command queues were full \
             ({} commands, ServerBuilder::command_queue_capacity)",
            self.refused, self.workers, self.capacity
        )
    }
}

impl std::error::Error for BroadcastRefused {}
