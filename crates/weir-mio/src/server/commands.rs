//! [`Command`]s, the work other threads (and callbacks that cannot reach
//! a connection themselves) queue for a worker, and how the worker runs
//! them: after every callback, and when its loop is woken.
//!
//! Backpressure covers the queue too: a [`Socket::send`] reserves its
//! message's bytes on the socket until the worker has run it, and the
//! worker mirrors the connection's send queue after every send it runs, so
//! [`Socket::buffered_amount`] counts both and `Socket::send` refuses at
//! once when their sum is at the limit, even while the worker is busy.

use std::sync::Arc;

use weir_proto::{CloseCode, Message, PreparedMessage, SendError};

use super::handle::read;
use super::socket::Reserved;
use super::worker::Worker;
use super::{ReadyState, Socket};
use crate::{ConnId, Conns, Error, Ws as LoopWs};

/// Work queued for a worker.
pub(crate) enum Command {
    /// Send a message to one connection (from [`Socket::send`], which
    /// reserved its bytes until the worker has run it), compressed where
    /// permessage-deflate is in use unless the flag is off.
    Send(Reserved, Message, bool),
    /// Send one encoded message to the worker's members of a room, except
    /// one (`rooms.rs`).
    Room {
        name: Arc<str>,
        message: PreparedMessage,
        except: Option<ConnId>,
    },
    /// Send one encoded message to every open connection of the worker (of
    /// one route, if given), except one.
    Broadcast {
        message: PreparedMessage,
        route: Option<usize>,
        except: Option<ConnId>,
    },
    /// Close one connection.
    Close(ConnId, CloseCode, String),
}

/// What can hand out a low-level handle on a connection of the loop by its
/// id (which says where it is: no lookup): a callback's handle, or the
/// loop's connections in `on_wake`.
pub(crate) trait Reach {
    fn reach(&mut self, id: ConnId) -> Option<LoopWs<'_>>;
}

impl Reach for LoopWs<'_> {
    fn reach(&mut self, id: ConnId) -> Option<LoopWs<'_>> {
        self.other(id)
    }
}

impl Reach for Conns<'_> {
    fn reach(&mut self, id: ConnId) -> Option<LoopWs<'_>> {
        self.ws(id)
    }
}

/// The most rounds of draining after one callback: commands that callbacks
/// run by the drain (`on_error`) queue again are taken in the next rounds;
/// beyond this the worker wakes itself and goes on at its next turn.
const MAX_DRAIN_ROUNDS: usize = 64;

impl Worker {
    /// Runs the queued commands.
    pub(super) fn drain(&mut self, reach: &mut impl Reach) {
        for _ in 0..MAX_DRAIN_ROUNDS {
            // The queue's storage and this one trade places, so that neither
            // is allocated afresh for each batch.
            let mut commands = std::mem::take(&mut self.spare_commands);
            self.server.workers[self.index].take_into(&mut commands);
            if commands.is_empty() {
                self.spare_commands = commands;
                return;
            }
            let mut failures = Vec::new();
            for command in commands.drain(..) {
                self.execute(command, reach, &mut failures);
            }
            self.spare_commands = commands;
            for (id, error) in failures {
                let Some(meta) = self.server.record(id).meta(id) else {
                    continue;
                };
                let handler = self.server.routes.handler(meta.route);
                let socket = Socket {
                    server: Arc::clone(&self.server),
                    id,
                };
                self.report(handler, &socket, &Error::Send(error));
            }
        }
        self.server.workers[self.index].wake();
    }

    fn execute(
        &mut self,
        command: Command,
        reach: &mut impl Reach,
        failures: &mut Vec<(ConnId, SendError)>,
    ) {
        match command {
            Command::Send(reserved, message, may_compress) => {
                self.deliver(reach, reserved.socket().id(), failures, |ws| {
                    if may_compress {
                        ws.send(message)
                    } else {
                        ws.send_uncompressed(message)
                    }
                });
                // Only now: the mirror already counts the message.
                drop(reserved);
            }
            Command::Room {
                name,
                message,
                except,
            } => {
                let rooms = read(&self.server.rooms);
                let Some(members) = rooms.get(&name) else {
                    return;
                };
                for &id in members.on_worker(self.index) {
                    let open = self.server.record(id).state(id) == ReadyState::Open;
                    if Some(id) != except && open {
                        self.deliver(reach, id, failures, |ws| ws.send_prepared(&message));
                    }
                }
            }
            Command::Broadcast {
                message,
                route,
                except,
            } => {
                let server = Arc::clone(&self.server);
                let recipients = server.records[self.index]
                    .iter()
                    .filter(|(_, meta)| route.is_none_or(|route| meta.route == route))
                    .filter(|(id, meta)| Some(*id) != except && meta.state == ReadyState::Open);
                for (id, _) in recipients {
                    self.deliver(reach, id, failures, |ws| ws.send_prepared(&message));
                }
            }
            Command::Close(id, code, reason) => {
                if let Some(mut ws) = reach.reach(id) {
                    let _ = ws.close(code, &reason);
                }
            }
        }
    }

    /// Runs a send on connection `id`, and keeps its record's state in
    /// step when the slow-consumer policy closed it.
    fn deliver(
        &self,
        reach: &mut impl Reach,
        id: ConnId,
        failures: &mut Vec<(ConnId, SendError)>,
        send: impl FnOnce(&mut LoopWs<'_>) -> Result<(), SendError>,
    ) {
        let Some(mut ws) = reach.reach(id) else {
            return;
        };
        let result = send(&mut ws);
        let record = self.server.record(id);
        // Keep the mirror current while the worker runs commands, not only
        // at its next write, so that `Socket::send` sees the queue fill.
        record.set_buffered(ws.buffered_amount());
        match result {
            Ok(()) | Err(SendError::Closed) => {}
            Err(error) if ws.is_open() => failures.push((id, error)),
            // Closed with 1008 by the slow-consumer policy.
            Err(_) => {
                let _ = record.close(id);
            }
        }
    }
}
