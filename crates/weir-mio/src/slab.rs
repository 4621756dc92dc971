//! The table of everything registered with the poller: listeners and
//! connections, indexed by their `mio::Token`.
//!
//! Connections are stored inline, in one vector, not boxed: an idle
//! connection costs its slot and no allocation of its own, and reaching it
//! is one bounds check (the hot path reaches a connection a dozen times per
//! message: chunks of slots behind pointers cost about 50 instructions per
//! echoed message more, measured with `benches/callgrind.sh`). The table
//! reserves room for [`FIRST_ROOM`] slots at first, then grows [`CHUNK`]
//! slots at a time and reserves no more (room never written is address
//! space, not memory), so that it writes at most `CHUNK - 1` slots it does
//! not use; growing moves the slots, once per `CHUNK` connections at most
//! beyond the first room. Free slots are linked into a free list
//! through the slots themselves, and the lowest freed slot is taken first.
//!
//! A token is the index of its slot and is reused once the slot is freed,
//! so the application never sees tokens; it sees [`ConnId`]s, which carry
//! the slot, the loop's worker and node indices and the slot's generation (how many
//! connections it has held). Finding a connection by id is an index and a
//! generation check, with no map. When a slot's generation runs out, the
//! slot is retired (never linked into the free list again), so that no id
//! is ever handed out twice by one loop.
//!
//! The table also keeps the "dirty" list: connections whose state changed
//! (bytes read, a message sent from a callback, a timeout) and that the loop
//! must settle (write, close, re-arm deadlines) before it polls again. Any
//! code that touches a connection, including sends to other connections
//! than the one whose callback runs, only has to mark it dirty.
//!
//! Beside the slots, the mirror of the connections' send queues that the
//! server API reads from other threads (`settle.rs` keeps it up to date):
//! one for the loop, indexed by slot on its side, so that a loop used on
//! its own spends nothing on it and a connection holds nothing for it.
//!
//! And the list of pending reads: connections whose last read stopped at
//! its budget rather than at `WouldBlock`, to be read again next turn
//! (`read.rs`).

use std::io;
use std::sync::Arc;

use crate::accept::Listener;
use crate::conn::Conn;
use crate::ConnId;

/// How many slots the table grows by at a time.
const CHUNK: usize = 64;

/// How many slots the table first reserves room for (192 KiB with the
/// default features): room that is never written costs address space,
/// not memory, and a table that starts this large is not moved by its
/// first few hundred connections, each move leaving a hole where it was.
const FIRST_ROOM: usize = 1024;

/// The end of the free list.
const NO_SLOT: u32 = u32::MAX;

/// Where the bytes the loop's connections have queued are mirrored for
/// handles on other threads: the server API's records.
pub(crate) trait Mirror: Send + Sync {
    /// Records that the connection at slot `index` has `bytes` queued.
    fn store(&self, index: usize, bytes: usize);
}

/// One slot of the table.
pub(crate) enum Slot {
    /// Free: its generation is the one its next connection takes;
    /// `next_free` links the free list ([`NO_SLOT`] ends it, and is also
    /// the link of a retired slot).
    Vacant { generation: u32, next_free: u32 },
    /// A listening socket. Boxed: there are few, and connections set the
    /// size of a slot.
    Listener {
        generation: u32,
        listener: Box<Listener>,
    },
    /// A connection, in any phase (its generation is [`Conn::generation`]).
    Conn(Conn),
}

impl Slot {
    fn generation(&self) -> u32 {
        match self {
            Slot::Vacant { generation, .. } | Slot::Listener { generation, .. } => *generation,
            Slot::Conn(conn) => conn.generation,
        }
    }
}

/// Listeners and connections by token index.
pub(crate) struct Slab {
    /// The slots, a multiple of [`CHUNK`].
    slots: Vec<Slot>,
    /// The first free slot, or [`NO_SLOT`].
    free: u32,
    /// The loop's index among a server's workers, part of every id.
    worker: usize,
    /// The server's node in a cluster, part of every id.
    node: usize,
    /// Where to mirror the connections' bytes queued, for handles on other
    /// threads (the server API); none for a loop used on its own.
    mirror: Option<Arc<dyn Mirror>>,
    /// Slots to settle before the next poll.
    dirty: Vec<usize>,
    /// Slots to read from again next turn.
    read_pending: Vec<usize>,
    listeners: usize,
    connections: usize,
    /// The loop's slow-consumer policy, which [`Ws`](crate::Ws) applies:
    /// close with 1008 when a send finds the queue full
    /// ([`SlowConsumer::Close`](crate::SlowConsumer::Close)).
    pub(crate) close_when_full: bool,
}

impl Slab {
    /// An empty table for worker `worker`'s loop, with the slow-consumer
    /// policy `close_when_full`.
    pub(crate) fn new(worker: usize, close_when_full: bool) -> Self {
        Self {
            slots: Vec::new(),
            free: NO_SLOT,
            worker,
            node: 0,
            mirror: None,
            dirty: Vec::new(),
            read_pending: Vec::new(),
            listeners: 0,
            connections: 0,
            close_when_full,
        }
    }

    /// Makes this table's ids those of worker `worker` of node `node`;
    /// before any connection exists.
    pub(crate) fn set_home(&mut self, node: usize, worker: usize) {
        self.node = node;
        self.worker = worker;
    }

    /// The slot the next insert will use, so that a source can be
    /// registered under its token before it is stored; adds a chunk of
    /// slots if none is free. Fails once the table holds as many slots as
    /// a [`ConnId`] has room for.
    pub(crate) fn vacancy(&mut self) -> io::Result<usize> {
        if self.free == NO_SLOT {
            let base = self.slots.len();
            if base + CHUNK > ConnId::MAX_SLOTS {
                return Err(io::Error::other("the loop holds all the slots it can"));
            }
            // Linked lowest first, so that the lowest is taken first.
            let room = if self.slots.capacity() == 0 {
                FIRST_ROOM
            } else {
                CHUNK
            };
            self.slots.reserve_exact(room);
            let chunk = (0..CHUNK).map(|offset| Slot::Vacant {
                generation: 1,
                next_free: match offset + 1 {
                    CHUNK => NO_SLOT,
                    next => (base + next) as u32,
                },
            });
            self.slots.extend(chunk);
            self.free = base as u32;
        }
        Ok(self.free as usize)
    }

    /// The id the connection inserted next will have; see
    /// [`Slab::vacancy`].
    pub(crate) fn next_id(&mut self) -> io::Result<ConnId> {
        let index = self.vacancy()?;
        let generation = self.slot(index).map_or(1, Slot::generation);
        Ok(ConnId::new(self.node, self.worker, index, generation))
    }

    /// Stores `conn` in the slot [`Slab::vacancy`] gives, with that slot's
    /// generation, and returns its index.
    pub(crate) fn insert_conn(&mut self, mut conn: Conn) -> io::Result<usize> {
        let (index, generation) = self.take_vacancy()?;
        conn.generation = generation;
        self.connections += 1;
        self.put(index, Slot::Conn(conn));
        Ok(index)
    }

    /// Stores `listener` as [`Slab::insert_conn`] stores a connection.
    pub(crate) fn insert_listener(&mut self, listener: Box<Listener>) -> io::Result<usize> {
        let (index, generation) = self.take_vacancy()?;
        self.listeners += 1;
        self.put(
            index,
            Slot::Listener {
                generation,
                listener,
            },
        );
        Ok(index)
    }

    /// Takes the first free slot off the free list: its index and
    /// generation.
    fn take_vacancy(&mut self) -> io::Result<(usize, u32)> {
        let index = self.vacancy()?;
        match self.slot(index) {
            Some(&Slot::Vacant {
                generation,
                next_free,
            }) => {
                self.free = next_free;
                Ok((index, generation))
            }
            _ => Err(io::Error::other("the slab's free list is broken")),
        }
    }

    /// Writes `slot` at `index`.
    fn put(&mut self, index: usize, slot: Slot) {
        if let Some(place) = self.slots.get_mut(index) {
            *place = slot;
        }
    }

    /// Frees slot `index` and returns what it held: its next connection
    /// takes the next generation, unless the generations ran out (then the
    /// slot is retired).
    pub(crate) fn remove(&mut self, index: usize) -> Option<Slot> {
        let place = self.slots.get_mut(index)?;
        if let Slot::Vacant { .. } = place {
            return None;
        }
        // Past the last generation an id can carry: 0, retired.
        let generation = (place.generation() + 1) & ConnId::MAX_GENERATION;
        let retired = generation == 0;
        let next_free = if retired { NO_SLOT } else { self.free };
        let slot = std::mem::replace(
            place,
            Slot::Vacant {
                generation,
                next_free,
            },
        );
        if !retired {
            self.free = index as u32;
        }
        if let Some(mirror) = &self.mirror {
            mirror.store(index, 0);
        }
        match &slot {
            Slot::Listener { .. } => self.listeners -= 1,
            _ => self.connections -= 1,
        }
        Some(slot)
    }

    /// The slot at `index`, free or not.
    #[inline]
    fn slot(&self, index: usize) -> Option<&Slot> {
        self.slots.get(index)
    }

    /// The indices of every occupied slot.
    pub(crate) fn indices(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&index| !matches!(self.slot(index), Some(Slot::Vacant { .. }) | None))
            .collect()
    }

    /// The ids of every connection, in no particular order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = ConnId> + '_ {
        (0..self.slots.len()).filter_map(|index| self.id_at(index))
    }

    /// The id of the connection at `index`, if that slot holds one.
    #[inline]
    pub(crate) fn id_at(&self, index: usize) -> Option<ConnId> {
        self.id_and_conn(index).map(|(id, _)| id)
    }

    /// The id of the connection at `index` and the connection, if that
    /// slot holds one.
    #[inline]
    pub(crate) fn id_and_conn(&self, index: usize) -> Option<(ConnId, &Conn)> {
        let conn = self.conn(index)?;
        Some((
            ConnId::new(self.node, self.worker, index, conn.generation),
            conn,
        ))
    }

    /// The slot at `index`, if occupied.
    #[inline]
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut Slot> {
        match self.slots.get_mut(index)? {
            Slot::Vacant { .. } => None,
            slot => Some(slot),
        }
    }

    /// The connection at `index`, if that slot holds one.
    #[inline]
    pub(crate) fn conn(&self, index: usize) -> Option<&Conn> {
        match self.slot(index)? {
            Slot::Conn(conn) => Some(conn),
            _ => None,
        }
    }

    /// The connection at `index`, if that slot holds one.
    #[inline]
    pub(crate) fn conn_mut(&mut self, index: usize) -> Option<&mut Conn> {
        match self.get_mut(index)? {
            Slot::Conn(conn) => Some(conn),
            _ => None,
        }
    }

    /// Mirrors the bytes queued of every connection into `mirror` from now
    /// on.
    pub(crate) fn set_mirror(&mut self, mirror: Arc<dyn Mirror>) {
        self.mirror = Some(mirror);
    }

    /// The connection at `index`, if that slot holds one, and the loop's
    /// mirror, if it has one.
    #[inline]
    pub(crate) fn conn_and_mirror(
        &mut self,
        index: usize,
    ) -> Option<(&mut Conn, Option<&dyn Mirror>)> {
        let mirror = self.mirror.as_deref();
        match self.slots.get_mut(index)? {
            Slot::Conn(conn) => Some((conn, mirror)),
            _ => None,
        }
    }

    /// The slot index of connection `id`, if it is still there: its slot,
    /// if that holds a connection of its generation (and the id is this
    /// loop's).
    #[inline]
    pub(crate) fn index_of(&self, id: ConnId) -> Option<usize> {
        let index = id.slot();
        let conn = self.conn(index)?;
        let home = id.worker() == self.worker && id.node() == self.node;
        (conn.generation == id.generation() && home).then_some(index)
    }

    /// Asks the loop to settle connection `index` before it polls again.
    #[inline]
    pub(crate) fn mark_dirty(&mut self, index: usize) {
        if let Some(conn) = self.conn_mut(index) {
            if !conn.dirty {
                conn.dirty = true;
                self.dirty.push(index);
            }
        }
    }

    /// The next connection to settle, its dirty flag cleared.
    pub(crate) fn pop_dirty(&mut self) -> Option<usize> {
        while let Some(index) = self.dirty.pop() {
            if let Some(conn) = self.conn_mut(index) {
                conn.dirty = false;
                return Some(index);
            }
        }
        None
    }

    /// Asks the loop to read from connection `index` again next turn; its
    /// `read_pending` flag is set by the caller.
    pub(crate) fn mark_read_pending(&mut self, index: usize) {
        self.read_pending.push(index);
    }

    /// The connections to read from again, their list emptied. Each is
    /// listed once: only a read that sets its flag lists it, and only a
    /// resumed read clears the flag (a readiness event does not read a
    /// connection whose flag is set).
    pub(crate) fn take_read_pending(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.read_pending)
    }

    /// How many connections there are, in any phase.
    pub(crate) fn connections(&self) -> usize {
        self.connections
    }

    /// Whether nothing is registered: no listener and no connection.
    pub(crate) fn is_empty(&self) -> bool {
        self.listeners == 0 && self.connections == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Occupies `slab`'s next slot with a listener (the slab treats every
    /// occupant alike for ids and generations).
    fn occupy(slab: &mut Slab) -> usize {
        let listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        slab.insert_listener(Box::new(Listener::new(listener, addr, None)))
            .unwrap()
    }

    #[test]
    fn freed_slots_come_back_lowest_first_with_the_next_generation() {
        let mut slab = Slab::new(3, true);
        let first = slab.next_id().unwrap();
        assert_eq!(
            (first.slot(), first.worker(), first.generation()),
            (0, 3, 1)
        );
        assert_eq!(occupy(&mut slab), 0);
        assert_eq!(occupy(&mut slab), 1);
        assert!(slab.remove(0).is_some());
        assert!(slab.remove(0).is_none(), "freed once");
        let again = slab.next_id().unwrap();
        assert_eq!((again.slot(), again.generation()), (0, 2));
        assert_ne!(again, first);
        assert_eq!(occupy(&mut slab), 0);
        assert_eq!(occupy(&mut slab), 2);
    }

    #[test]
    fn a_slot_whose_generations_ran_out_is_retired() {
        let mut slab = Slab::new(0, true);
        slab.vacancy().unwrap();
        let last = Slot::Vacant {
            generation: ConnId::MAX_GENERATION,
            next_free: 1,
        };
        slab.put(0, last);
        assert_eq!(slab.next_id().unwrap().generation(), ConnId::MAX_GENERATION);
        assert_eq!(occupy(&mut slab), 0);
        slab.remove(0);
        // Slot 0 is not free again: its ids are all used.
        assert_eq!(slab.next_id().unwrap().slot(), 1);
        assert_eq!(occupy(&mut slab), 1);
    }

    #[test]
    fn the_table_grows_a_chunk_at_a_time() {
        let mut slab = Slab::new(0, true);
        for expected in 0..CHUNK + 1 {
            assert_eq!(occupy(&mut slab), expected);
        }
        assert_eq!(slab.slots.len(), 2 * CHUNK);
        assert_eq!(slab.slots.capacity(), FIRST_ROOM);
        assert_eq!(slab.indices().len(), CHUNK + 1);
    }
}
