//! Per-thread spares of reset compressors and inflaters.
//!
//! With no context takeover, a compressor or inflater is needed only while
//! one message passes through it. Building one costs about as much as
//! compressing a few KiB (zlib-rs zeroes a 128 KiB hash table), so instead of
//! building one per message a connection borrows one here and gives it back
//! reset when the message ends. An idle connection then holds no compression
//! state at all; a thread holds at most [`SPARES`] of each kind.
//!
//! A thread-local cache keeps the core free of locks and of I/O; a
//! connection that moves between threads (a work-stealing runtime) simply
//! gives its borrowed state back to another thread's spares.

use std::cell::RefCell;

use super::codec::{zlib_window_bits, Compressor, CompressorKey, Inflater};

/// The most spares of each kind one thread keeps.
const SPARES: usize = 4;

#[derive(Default)]
struct Spares {
    compressors: Vec<Compressor>,
    inflaters: Vec<Inflater>,
}

thread_local! {
    static SPARES_OF_THIS_THREAD: RefCell<Spares> = RefCell::new(Spares::default());
}

/// A reset compressor for `key`: a spare if this thread has one, else new.
pub(crate) fn take_compressor(key: CompressorKey) -> Compressor {
    take(|spares| &mut spares.compressors, |c| c.key() == key)
        .unwrap_or_else(|| Compressor::new(key))
}

/// Resets `compressor` and keeps it as a spare if there is room.
pub(crate) fn give_compressor(mut compressor: Compressor) {
    compressor.reset();
    give(|spares| &mut spares.compressors, compressor);
}

/// A reset inflater for a peer window of `bits`.
pub(crate) fn take_inflater(bits: u8) -> Inflater {
    let wanted = zlib_window_bits(bits);
    take(
        |spares| &mut spares.inflaters,
        |i| i.window_bits() == wanted,
    )
    .unwrap_or_else(|| Inflater::new(bits))
}

/// Resets `inflater` and keeps it as a spare if there is room.
pub(crate) fn give_inflater(mut inflater: Inflater) {
    inflater.reset();
    give(|spares| &mut spares.inflaters, inflater);
}

/// The first spare of a kind that `fits`, if this thread has one.
fn take<T>(kind: fn(&mut Spares) -> &mut Vec<T>, fits: impl Fn(&T) -> bool) -> Option<T> {
    SPARES_OF_THIS_THREAD
        .try_with(|spares| {
            let mut spares = spares.borrow_mut();
            let list = kind(&mut spares);
            let index = list.iter().position(fits)?;
            Some(list.swap_remove(index))
        })
        .ok()
        .flatten()
}

/// Keeps `item` as a spare of its kind if there is room (and the thread is
/// not exiting).
fn give<T>(kind: fn(&mut Spares) -> &mut Vec<T>, item: T) {
    let _ = SPARES_OF_THIS_THREAD.try_with(|spares| {
        let mut spares = spares.borrow_mut();
        let list = kind(&mut spares);
        if list.len() < SPARES {
            list.push(item);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spares_are_reused_reset_and_bounded() {
        let key = CompressorKey {
            window_bits: 11,
            level: 3,
        };
        let mut first = take_compressor(key);
        let mut out = Vec::new();
        first.compress_sync(b"Hello", &mut out).unwrap();
        give_compressor(first);
        // Reset on return: the same message compresses as in a new stream.
        let mut again = take_compressor(key);
        let mut second = Vec::new();
        again.compress_sync(b"Hello", &mut second).unwrap();
        assert_eq!(out, second);
        for _ in 0..SPARES + 3 {
            give_compressor(Compressor::new(key));
        }
        let held = SPARES_OF_THIS_THREAD.with(|s| s.borrow().compressors.len());
        assert_eq!(held, SPARES);

        let inflater = take_inflater(8);
        assert_eq!(inflater.window_bits(), 9);
        give_inflater(inflater);
        assert_eq!(take_inflater(9).window_bits(), 9);
    }
}
