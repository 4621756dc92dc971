//! A counting global allocator: [`live`] is the number of heap bytes
//! currently allocated by the whole process (the fuzzer is single-threaded).
//!
//! The targets measure what an object holds as the drop in [`live`] when it
//! is dropped: exact for memory it owns alone, and conservative (an
//! undercount, never a false alarm) for memory it shares with values handed
//! out, such as `Bytes` payloads sliced from a read buffer.
//!
//! [`largest_allocation`] measures something [`live`] cannot: the largest
//! single block a call asks for, even one freed before the call returns (a
//! decompression bomb's output buffer, grown and then dropped on error).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The largest block asked for since [`largest_allocation`] last reset it.
static LARGEST: AtomicUsize = AtomicUsize::new(0);
/// A block size [`largest_allocation`] does not count (0: none).
static IGNORED: AtomicUsize = AtomicUsize::new(0);

fn note(size: usize) {
    if size != IGNORED.load(Ordering::Relaxed) {
        LARGEST.fetch_max(size, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap bytes currently allocated.
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Heap bytes that dropping `value` gives back.
pub fn held_by<T>(value: T) -> usize {
    let before = live();
    drop(value);
    before.saturating_sub(live())
}

/// Runs `f`, and returns its result and the size of the largest single block
/// it allocated (a reallocation counts its new size), blocks of exactly
/// `ignored` bytes aside (0 ignores nothing).
pub fn largest_allocation<R>(ignored: usize, f: impl FnOnce() -> R) -> (R, usize) {
    IGNORED.store(ignored, Ordering::Relaxed);
    LARGEST.store(0, Ordering::Relaxed);
    let result = f();
    let largest = LARGEST.load(Ordering::Relaxed);
    IGNORED.store(0, Ordering::Relaxed);
    (result, largest)
}
