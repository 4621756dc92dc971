//! [`Admissions`]: the count of accepted connections held against
//! [`Config::max_connections`](crate::Config::max_connections), shared by
//! the loops (workers) of one server.
//!
//! A place is reserved with one atomic read-modify-write that only counts
//! up below the limit, so concurrent accepts on several threads can never
//! take more places than there are (a separate check and increment could:
//! two loops see `limit - 1`, both add). The connection that took a place
//! only has a flag set (`Conn::admitted`: a guard holding the counter's
//! `Arc` would cost every connection a word), and its loop gives the place
//! back when it removes the connection, or when it is dropped with the
//! connection still in it: exactly once, whichever way the connection
//! ends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The places for accepted connections: a limit and the count of places
/// taken, shared by clones.
#[derive(Clone, Debug)]
pub(crate) struct Admissions {
    taken: Arc<AtomicUsize>,
    limit: usize,
}

impl Admissions {
    /// `limit` places, none taken.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            taken: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// Takes a place; `false` if all `limit` are taken.
    pub(crate) fn try_admit(&self) -> bool {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
                (taken < self.limit).then_some(taken + 1)
            })
            .is_ok()
    }

    /// Gives back `places` places taken by [`Admissions::try_admit`].
    pub(crate) fn release(&self, places: usize) {
        self.taken.fetch_sub(places, Ordering::AcqRel);
    }

    /// How many places are taken.
    #[cfg(test)]
    pub(crate) fn taken(&self) -> usize {
        self.taken.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_run_out_at_the_limit_and_come_back_when_released() {
        let admissions = Admissions::new(2);
        assert!(admissions.try_admit(), "a place");
        assert!(admissions.clone().try_admit(), "a place");
        assert!(!admissions.try_admit());
        admissions.release(1);
        assert!(admissions.try_admit(), "the place given back");
        assert!(!admissions.try_admit());
        admissions.release(2);
        assert_eq!(admissions.taken(), 0);
    }

    #[test]
    fn a_limit_of_zero_admits_nobody() {
        assert!(!Admissions::new(0).try_admit());
    }

    /// Threads race for few places, each holding a place only while it
    /// counts itself in `inside`: with a check-then-add reservation two
    /// threads that both see one free place both get in, and `inside`
    /// passes the limit.
    #[test]
    fn racing_threads_never_hold_more_places_than_the_limit() {
        const LIMIT: usize = 2;
        const THREADS: usize = 8;
        const ROUNDS: usize = 1_000_000;
        let admissions = Admissions::new(LIMIT);
        let inside = Arc::new(AtomicUsize::new(0));
        let most_inside = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let admissions = admissions.clone();
                let inside = Arc::clone(&inside);
                let most_inside = Arc::clone(&most_inside);
                std::thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        if admissions.try_admit() {
                            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                            most_inside.fetch_max(now, Ordering::SeqCst);
                            inside.fetch_sub(1, Ordering::SeqCst);
                            admissions.release(1);
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let most_inside = most_inside.load(Ordering::SeqCst);
        assert!(most_inside <= LIMIT, "{most_inside} held places at once");
        assert_eq!(admissions.taken(), 0);
    }
}
