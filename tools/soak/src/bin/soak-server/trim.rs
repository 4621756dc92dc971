//! Handing the allocator's free memory back to the system, so that the
//! driver's RSS readings track memory in use.
//!
//! Without it, the soak's leak check compared where glibc's arenas happened
//! to keep free pages: identical 60 s runs ended anywhere from 7 % below to
//! 13 % above their START, and the 10 % bound failed a run with no leak.
//! `malloc_trim(0)` returns every whole free page of every arena (glibc
//! 2.8 and later), after which RSS differs between runs only by what is
//! allocated.

/// Releases the heap's free pages; `true` if any memory was released.
/// Elsewhere than on glibc there is nothing to call, and nothing is
/// released.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_memory() -> bool {
    // SAFETY: `malloc_trim` takes a plain integer, touches only the
    // allocator's own bookkeeping under the allocator's locks, and may be
    // called from any thread at any time; no Rust invariant is involved.
    // The soak runs it on every RSS reading (`soak.rs`), so a fault here
    // would fail the soak in CI.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Releases the heap's free pages: nothing to do without glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() -> bool {
    false
}

#[cfg(test)]
mod tests {
    /// Freed memory in the middle of the heap, which glibc keeps without a
    /// trim, is released by one.
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn a_trim_releases_freed_pages() {
        // Below the mmap threshold, so from the heap; the last block stays
        // allocated so that the freed ones are not at the heap's top.
        let blocks: Vec<Vec<u8>> = (0..64).map(|_| vec![1u8; 64 << 10]).collect();
        let keep = vec![1u8; 64 << 10];
        drop(blocks);
        assert!(super::release_free_memory());
        assert_eq!(keep.len(), 64 << 10);
    }
}
