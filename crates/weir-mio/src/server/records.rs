//! [`Records`]: what any thread may know of a worker's connections, read
//! without a lock, one small [`Record`] per slot of the worker's loop.
//!
//! A [`Socket`](super::Socket) is only the server and an id; everything it
//! answers comes from here (or from the rooms, `rooms.rs`, and the details
//! few connections have, [`Details`]). A record holds the connection's
//! generation, ready state, route and compression terms in one word, so
//! that a socket whose connection is gone, whose slot may already serve
//! another connection, sees the generation differ and reads `Closed`; and
//! the two byte counts of its backpressure in the other. 16 bytes, where a socket used
//! to be an `Arc` of 176: issue 12's idle-memory target is per connection.
//!
//! Records never move and are never freed while the server lives (other
//! threads hold references into them without a lock): they come in leaves
//! of 256, under a two-level index of 256 by 256 (a slot's 24 bits, 8 per
//! level), each leaf and each part of the index made the first time a slot
//! under it is used. A worker with N connections holds N records rounded
//! up to 256, plus 4 KiB of index per 65,536 slots, and nothing is ever
//! copied to grow. (Buckets of doubling size, tried first, held up to
//! twice the records needed, all written: 33 bytes per connection at
//! 3,000 rather than 24 for a record of 24 then.)
//!
//! The worker that owns the slot is the only one to change a record's
//! generation, route or terms; any thread may move its state from open
//! (or connecting) to closing ([`Record::close`]) and reserve bytes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use super::assemble::Assembly;
use super::ReadyState;
use crate::ConnId;

/// Bits of a slot per level: the top index, the middle one, the leaf.
const LEVEL_BITS: u32 = 8;

/// Entries per level.
const FANOUT: usize = 1 << LEVEL_BITS;

/// One leaf of records.
type Leaf = [Record; FANOUT];

/// One part of the index: leaves by the middle bits of a slot.
type Middle = [OnceLock<Box<Leaf>>; FANOUT];

/// One connection's record (see the module docs).
pub(crate) struct Record {
    /// [`Meta`], packed.
    meta: AtomicU64,
    /// Two byte counts, each saturating at 4 GiB (a send queue limit above
    /// that is treated as 4 GiB): in the high half, the bytes of the sends
    /// posted to the worker that it has not run yet, each held by a
    /// [`Reserved`](super::socket::Reserved) and never reset (every
    /// reservation is given back, whichever connection holds the slot by
    /// then); in the low half, the bytes queued in the connection and not
    /// yet written, mirrored by the worker at every write and after every
    /// send it runs. One word, so that a sender reads both at once. (Two
    /// `usize`s made the record 24 bytes and the server API's idle
    /// connection 251-259 B, against the 256 B target.)
    bytes: AtomicU64,
}

/// The two halves of [`Record::bytes`].
const HALF: u32 = 32;

/// A record's first word, unpacked: which connection holds the slot, and
/// what any thread may ask of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) generation: u32,
    pub(crate) state: ReadyState,
    pub(crate) route: usize,
    /// The permessage-deflate terms agreed, as [`pack_deflate`] packs them
    /// (0: none).
    deflate: u16,
}

/// Bits of the packed word: generation (32), state (3), deflate terms (9),
/// route (20).
const STATE_SHIFT: u32 = 29;
const DEFLATE_SHIFT: u32 = 20;
const ROUTE_BITS: u32 = 20;

/// The most routes a server may have, so that a route fits its record.
pub(crate) const MAX_ROUTES: usize = 1 << ROUTE_BITS;

impl Meta {
    fn pack(self) -> u64 {
        // 0 is a slot never used, or its connection finished: closed.
        let state = match self.state {
            ReadyState::Closed => 0,
            ReadyState::Connecting => 1,
            ReadyState::Open => 2,
            ReadyState::Closing => 3,
        };
        (u64::from(self.generation) << 32)
            | (state << STATE_SHIFT)
            | (u64::from(self.deflate) << DEFLATE_SHIFT)
            | (self.route as u64 & ((1 << ROUTE_BITS) - 1))
    }

    fn unpack(word: u64) -> Self {
        let state = match (word >> STATE_SHIFT) & 0b111 {
            1 => ReadyState::Connecting,
            2 => ReadyState::Open,
            3 => ReadyState::Closing,
            _ => ReadyState::Closed,
        };
        Self {
            generation: (word >> 32) as u32,
            state,
            route: (word & ((1 << ROUTE_BITS) - 1)) as usize,
            deflate: ((word >> DEFLATE_SHIFT) & 0x1FF) as u16,
        }
    }
}

impl Record {
    /// A record no connection has held.
    pub(crate) const fn empty() -> Self {
        Self {
            meta: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// The bytes reserved by posted sends, and those queued in the
    /// connection (see [`Record::bytes`]).
    pub(crate) fn pending(&self) -> (usize, usize) {
        let word = self.bytes.load(Ordering::Acquire);
        ((word >> HALF) as usize, (word as u32) as usize)
    }

    /// The worker's: the connection has `bytes` queued.
    pub(crate) fn set_buffered(&self, bytes: usize) {
        let low = u64::from(u32::try_from(bytes).unwrap_or(u32::MAX));
        let _ = self
            .bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                Some(word & !u64::from(u32::MAX) | low)
            });
    }

    /// Reserves `bytes` for a posted send: returns what was actually added
    /// (less only at the 4 GiB saturation), to give back, and the two
    /// counts as they were before.
    pub(crate) fn reserve(&self, bytes: usize) -> (u32, (usize, usize)) {
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
        let before = self
            .bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                let queued = ((word >> HALF) as u32).saturating_add(bytes);
                Some(u64::from(queued) << HALF | word & u64::from(u32::MAX))
            })
            .unwrap_or_else(|word| word);
        let queued = (before >> HALF) as u32;
        let added = queued.saturating_add(bytes) - queued;
        (added, (queued as usize, (before as u32) as usize))
    }

    /// Gives back `added` bytes that [`Record::reserve`] added.
    pub(crate) fn release(&self, added: u32) {
        let _ = self
            .bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                let queued = ((word >> HALF) as u32).saturating_sub(added);
                Some(u64::from(queued) << HALF | word & u64::from(u32::MAX))
            });
    }

    /// The record as it is, if it is `id`'s: `None` once its slot has
    /// passed to another connection.
    pub(crate) fn meta(&self, id: ConnId) -> Option<Meta> {
        let meta = Meta::unpack(self.meta.load(Ordering::Acquire));
        (meta.generation == id.generation()).then_some(meta)
    }

    /// `id`'s ready state: closed once its slot has passed on.
    pub(crate) fn state(&self, id: ConnId) -> ReadyState {
        self.meta(id).map_or(ReadyState::Closed, |meta| meta.state)
    }

    /// Changes `id`'s word with `change`, atomically; `false` if the slot
    /// is another connection's, or `change` declined.
    fn update(&self, id: ConnId, change: impl Fn(Meta) -> Option<Meta>) -> bool {
        self.meta
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                let meta = Meta::unpack(word);
                let own = meta.generation == id.generation();
                own.then(|| change(meta)).flatten().map(Meta::pack)
            })
            .is_ok()
    }

    /// Moves `id` from connecting or open to closing; `false` if it was
    /// neither (closing already, closed, or gone).
    pub(crate) fn close(&self, id: ConnId) -> bool {
        self.update(id, |meta| {
            let live = matches!(meta.state, ReadyState::Connecting | ReadyState::Open);
            live.then_some(Meta {
                state: ReadyState::Closing,
                ..meta
            })
        })
    }

    /// The word as it is, whichever connection it is of (the worker's, to
    /// find a connection that left its slot without finishing).
    pub(crate) fn load(&self) -> Meta {
        Meta::unpack(self.meta.load(Ordering::Acquire))
    }

    /// The worker's: slot taken by `id`, connecting on `route`.
    pub(crate) fn begin(&self, id: ConnId, route: usize) {
        let meta = Meta {
            generation: id.generation(),
            state: ReadyState::Connecting,
            route,
            deflate: 0,
        };
        self.set_buffered(0);
        self.meta.store(meta.pack(), Ordering::Release);
    }

    /// The worker's: `id` is open, with compression on `deflate`'s terms
    /// (unless a close has already moved it on).
    pub(crate) fn open(&self, id: ConnId, deflate: u16) {
        self.update(id, |meta| {
            let state = match meta.state {
                ReadyState::Connecting => ReadyState::Open,
                other => other,
            };
            Some(Meta {
                state,
                deflate,
                ..meta
            })
        });
    }

    /// The worker's: `id` is now in `state` (closing, at a shutdown;
    /// closed, at its end).
    pub(crate) fn set_state(&self, id: ConnId, state: ReadyState) {
        self.update(id, |meta| Some(Meta { state, ..meta }));
    }
}

/// The permessage-deflate terms agreed on a connection, in 9 bits: 0 for
/// none; else a presence bit, the two no-context-takeover flags, and each
/// window's bits less 8 (RFC 7692 allows 8 to 15).
#[cfg(feature = "deflate")]
pub(crate) fn pack_deflate(params: Option<weir_proto::deflate::DeflateParams>) -> u16 {
    let Some(params) = params else {
        return 0;
    };
    let window = |bits: u8| u16::from(bits.clamp(8, 15) - 8);
    1 | (u16::from(params.server_no_context_takeover) << 1)
        | (u16::from(params.client_no_context_takeover) << 2)
        | (window(params.server_max_window_bits) << 3)
        | (window(params.client_max_window_bits) << 6)
}

/// The terms [`pack_deflate`] packed.
#[cfg(feature = "deflate")]
pub(crate) fn unpack_deflate(packed: u16) -> Option<weir_proto::deflate::DeflateParams> {
    if packed & 1 == 0 {
        return None;
    }
    Some(weir_proto::deflate::DeflateParams {
        server_no_context_takeover: packed & 0b10 != 0,
        client_no_context_takeover: packed & 0b100 != 0,
        server_max_window_bits: ((packed >> 3) & 0b111) as u8 + 8,
        client_max_window_bits: ((packed >> 6) & 0b111) as u8 + 8,
    })
}

impl Meta {
    /// The compression terms, packed ([`pack_deflate`]).
    #[cfg(feature = "deflate")]
    pub(crate) fn deflate(&self) -> u16 {
        self.deflate
    }
}

/// What only some connections have, kept apart from their records, by id:
/// the subprotocol agreed, and the message being put back together in
/// streaming mode (`assemble.rs`).
#[derive(Default)]
pub(crate) struct Details {
    pub(crate) protocol: Option<Box<str>>,
    pub(crate) assembly: Option<Box<Assembly>>,
}

impl Details {
    fn is_empty(&self) -> bool {
        self.protocol.is_none() && self.assembly.is_none()
    }
}

/// One worker's records, the count of its accepted connections, and their
/// [`Details`].
pub(crate) struct Records {
    node: usize,
    worker: usize,
    /// By the top bits of a slot.
    top: Box<[OnceLock<Box<Middle>>; FANOUT]>,
    /// Connections accepted and not yet finished.
    live: AtomicUsize,
    details: Mutex<HashMap<ConnId, Details>>,
}

/// The loop mirrors its connections' bytes queued here (`slab.rs`).
impl crate::slab::Mirror for Records {
    fn store(&self, index: usize, bytes: usize) {
        if let Some(record) = self.get(index) {
            record.set_buffered(bytes);
        }
    }
}

/// Where slot `slot` is: its top index, middle index and place in its leaf.
fn locate(slot: usize) -> (usize, usize, usize) {
    let mask = FANOUT - 1;
    let level = LEVEL_BITS as usize;
    (
        (slot >> (2 * level)) & mask,
        (slot >> level) & mask,
        slot & mask,
    )
}

impl Records {
    /// Those of worker `worker` of node `node`, empty.
    pub(crate) fn new(node: usize, worker: usize) -> Self {
        Self {
            node,
            worker,
            top: Box::new(std::array::from_fn(|_| OnceLock::new())),
            live: AtomicUsize::new(0),
            details: Mutex::default(),
        }
    }

    /// The record of `slot`, if its leaf exists.
    pub(crate) fn get(&self, slot: usize) -> Option<&Record> {
        let (top, middle, index) = locate(slot);
        let leaf = self.top.get(top)?.get()?[middle].get()?;
        Some(&leaf[index])
    }

    /// The record of `slot`, its leaf made if need be (the worker's, when
    /// it accepts a connection there).
    pub(crate) fn make(&self, slot: usize) -> &Record {
        let (top, middle, index) = locate(slot);
        let middles =
            self.top[top].get_or_init(|| Box::new(std::array::from_fn(|_| OnceLock::new())));
        let leaf =
            middles[middle].get_or_init(|| Box::new(std::array::from_fn(|_| Record::empty())));
        &leaf[index]
    }

    /// How many connections are accepted and not finished.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// The worker's: one more connection (`true`) or one fewer.
    pub(crate) fn count(&self, more: bool) {
        if more {
            self.live.fetch_add(1, Ordering::AcqRel);
        } else {
            self.live.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Every connection whose record is not closed, with its record's
    /// word: slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (ConnId, Meta)> + '_ {
        let (node, worker) = (self.node, self.worker);
        let leaves = self.top.iter().enumerate().flat_map(|(top, middles)| {
            let middles = middles.get().into_iter().flat_map(|middles| middles.iter());
            middles.enumerate().filter_map(move |(middle, leaf)| {
                Some(((top * FANOUT + middle) * FANOUT, leaf.get()?))
            })
        });
        leaves.flat_map(move |(first, leaf)| {
            leaf.iter().enumerate().filter_map(move |(index, record)| {
                let meta = record.load();
                let id = ConnId::new(node, worker, first + index, meta.generation);
                (meta.state != ReadyState::Closed).then_some((id, meta))
            })
        })
    }

    /// Runs `change` on `id`'s details (made empty if there were none),
    /// dropping them if that leaves them empty.
    pub(crate) fn details<R>(&self, id: ConnId, change: impl FnOnce(&mut Details) -> R) -> R {
        let mut all = super::handle::lock(&self.details);
        let details = all.entry(id).or_default();
        let result = change(details);
        if details.is_empty() {
            all.remove(&id);
        }
        result
    }

    /// Drops `id`'s details, at its end.
    pub(crate) fn forget(&self, id: ConnId) {
        super::handle::lock(&self.details).remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_an_id_can_name_has_its_own_place() {
        assert_eq!(locate(0), (0, 0, 0));
        assert_eq!(locate(255), (0, 0, 255));
        assert_eq!(locate(256), (0, 1, 0));
        assert_eq!(locate(65_536 + 257), (1, 1, 1));
        assert_eq!(locate(ConnId::MAX_SLOTS - 1), (255, 255, 255));
        let records = Records::new(0, 0);
        assert!(records.get(70_000).is_none());
        let made: *const Record = records.make(70_000);
        assert!(std::ptr::eq(made, records.get(70_000).unwrap()));
        assert!(records.get(70_000 - 256).is_none(), "a leaf apart");
    }

    #[test]
    fn the_two_byte_counts_share_a_word_and_saturate() {
        let record = Record::empty();
        record.set_buffered(700);
        let (added, before) = record.reserve(300);
        assert_eq!((added, before), (300, (0, 700)));
        record.set_buffered(5);
        assert_eq!(
            record.pending(),
            (300, 5),
            "the mirror keeps the reservations"
        );
        let (big, _) = record.reserve(usize::MAX);
        assert_eq!(big, u32::MAX - 300, "saturated at 4 GiB");
        assert_eq!(record.pending(), (u32::MAX as usize, 5));
        record.release(big);
        record.release(added);
        assert_eq!(
            record.pending(),
            (0, 5),
            "every reservation given back exactly"
        );
        record.set_buffered(usize::MAX);
        assert_eq!(record.pending(), (0, u32::MAX as usize));
    }

    #[test]
    fn a_word_packs_and_unpacks() {
        for state in [
            ReadyState::Connecting,
            ReadyState::Open,
            ReadyState::Closing,
            ReadyState::Closed,
        ] {
            let meta = Meta {
                generation: ConnId::MAX_GENERATION,
                state,
                route: MAX_ROUTES - 1,
                deflate: 0x1FF,
            };
            assert_eq!(Meta::unpack(meta.pack()), meta);
        }
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn compression_terms_pack_and_unpack() {
        use weir_proto::deflate::DeflateParams;
        assert_eq!(unpack_deflate(pack_deflate(None)), None);
        for (server, client) in [(8, 15), (15, 8), (9, 12)] {
            let params = DeflateParams {
                server_no_context_takeover: server % 2 == 0,
                client_no_context_takeover: client % 2 == 1,
                server_max_window_bits: server,
                client_max_window_bits: client,
            };
            assert_eq!(unpack_deflate(pack_deflate(Some(params))), Some(params));
        }
    }

    #[test]
    fn a_record_reads_closed_for_an_id_whose_slot_has_passed_on() {
        let records = Records::new(1, 3);
        let old = ConnId::new(1, 3, 70, 1);
        let new = ConnId::new(1, 3, 70, 2);
        let record = records.make(70);
        record.begin(old, 5);
        assert_eq!(record.state(old), ReadyState::Connecting);
        record.open(old, 0);
        assert!(record.close(old));
        assert!(!record.close(old), "closing twice");
        record.set_state(old, ReadyState::Closed);
        record.begin(new, 6);
        assert_eq!(record.state(old), ReadyState::Closed);
        assert!(!record.close(old));
        assert_eq!(record.meta(new).map(|meta| meta.route), Some(6));
        let live: Vec<_> = records.iter().map(|(id, _)| id).collect();
        assert_eq!(live, [new]);
    }
}
