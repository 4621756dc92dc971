//! [`States`]: a worker's connections' states, by their slot in its loop.
//!
//! The state a route's `on_open` made for a connection lives here, on the
//! one thread that runs the connection's callbacks, with no lock, until
//! `on_close` takes it back. Indexed by slot (which every id carries), not
//! hashed: every callback finds its connection's state here. Which
//! connection a slot's state is of is the records' business
//! (`records.rs`): a state is put in only for the connection that holds
//! the slot, and taken out when it finishes, before its slot can pass on.
//!
//! Kept in chunks of 256 slots, made as slots are first used: growing
//! never copies the table, so it leaves no freed copies behind in memory
//! (a plain `Vec` doubling its way to 3,000 connections held about 20
//! bytes per connection more than its contents).

use super::dispatch::State;

/// Slots per chunk.
const CHUNK: usize = 256;

/// One worker's connections' states.
#[derive(Default)]
pub(crate) struct States {
    /// Chunk `c` holds slots `c * CHUNK ..`.
    chunks: Vec<Box<[Option<State>]>>,
}

impl States {
    /// Keeps `state` at `slot`.
    pub(crate) fn put(&mut self, slot: usize, state: State) {
        let chunk = slot / CHUNK;
        while self.chunks.len() <= chunk {
            self.chunks
                .push(std::iter::repeat_with(|| None).take(CHUNK).collect());
        }
        self.chunks[chunk][slot % CHUNK] = Some(state);
    }

    /// The state at `slot`, to lend to a callback.
    pub(crate) fn get_mut(&mut self, slot: usize) -> Option<&mut State> {
        self.chunks.get_mut(slot / CHUNK)?[slot % CHUNK].as_mut()
    }

    /// Takes out the state at `slot`, at its connection's end.
    pub(crate) fn take(&mut self, slot: usize) -> Option<State> {
        self.chunks.get_mut(slot / CHUNK)?[slot % CHUNK].take()
    }
}
