//! One waker for a transport that two tasks wait on.
//!
//! A tokio transport keeps one waker per direction, so when the reading
//! half must write (a pong, the answer to a Close) and the writing half
//! waits to write too, one registration would replace the other and a task
//! would never wake. So every poll of the transport, timer included, is
//! made with [`Wakers`]' waker, which wakes whichever half is waiting. A
//! wake-up can reach a half with nothing to do; it then polls and waits
//! again.
//!
//! A half leaves its own waker in its slot only when its poll returns
//! `Pending` (a half that got an answer needs no wake-up), which saves
//! a lock per poll that is answered (most are). The joint waker can fire
//! during that poll, before the half's waker is in its slot: each wake-up
//! is counted, and a half that sees the count move between the start of
//! its poll and its registration wakes itself (see [`Wakers::register`]).
//!
//! Both slots and the count are behind one lock: a wake-up takes it once,
//! a registration once, and the lock orders the two (no fences).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Wake, Waker};

/// The two halves' wakers, woken together.
#[derive(Debug, Default)]
pub(crate) struct Wakers {
    slots: Mutex<Slots>,
    /// Joint wake-ups so far (wrapping). Changed only with `slots` locked,
    /// so that a registration, which reads it with `slots` locked, sees
    /// every wake-up whose look into the slots came before its own.
    wake_ups: AtomicUsize,
}

/// What waits for the joint waker.
#[derive(Debug, Default)]
struct Slots {
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// Which half polls.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Half {
    Reader,
    Writer,
}

impl Wakers {
    /// A waker that wakes both halves, to poll the transport with.
    pub(crate) fn joint(self: &Arc<Self>) -> Waker {
        Waker::from(Arc::clone(self))
    }

    /// The count of joint wake-ups so far: read before a poll, for
    /// [`Wakers::register`].
    pub(crate) fn wake_ups(&self) -> usize {
        // Acquire: the poll that follows, which hands the joint waker
        // out, stays after this read, so no wake-up that waker makes is
        // counted here already.
        self.wake_ups.load(Ordering::Acquire)
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// After a poll for `half` that returned `Pending`: leaves `waker` as
    /// `half`'s, to be woken by the joint waker. `seen` is
    /// [`Wakers::wake_ups`] from before the poll; if a wake-up came since,
    /// it may have found the slot empty, so `waker` is woken now.
    pub(crate) fn register(&self, half: Half, waker: &Waker, seen: usize) {
        let woken_since = {
            let mut slots = self.lock();
            let slot = match half {
                Half::Reader => &mut slots.reader,
                Half::Writer => &mut slots.writer,
            };
            if !slot
                .as_ref()
                .is_some_and(|current| current.will_wake(waker))
            {
                *slot = Some(waker.clone());
            }
            // Any wake-up that looked into the slots before this lock
            // counted itself before releasing it; any later one finds
            // `waker` in its slot.
            self.wake_ups.load(Ordering::Relaxed) != seen
        };
        if woken_since {
            waker.wake_by_ref();
        }
    }
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let Slots { reader, writer } = {
            let mut slots = self.lock();
            // Only changed with the lock held: a load and a store, not a
            // read-modify-write.
            let count = self.wake_ups.load(Ordering::Relaxed).wrapping_add(1);
            self.wake_ups.store(count, Ordering::Release);
            std::mem::take(&mut *slots)
        };
        // One task often holds both halves (a forward loop): wake it once.
        if let (Some(reader), Some(writer)) = (&reader, &writer) {
            if reader.will_wake(writer) {
                return reader.wake_by_ref();
            }
        }
        reader.into_iter().chain(writer).for_each(Waker::wake);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_joint_waker_wakes_both_halves_once() {
        let wakers = Arc::new(Wakers::default());
        let reader = Arc::new(Count(AtomicUsize::new(0)));
        let writer = Arc::new(Count(AtomicUsize::new(0)));
        wakers.register(Half::Reader, &Waker::from(Arc::clone(&reader)), 0);
        wakers.register(Half::Writer, &Waker::from(Arc::clone(&writer)), 0);
        let joint = wakers.joint();
        joint.wake_by_ref();
        joint.wake_by_ref(); // nobody registered again: nobody to wake
        assert_eq!(reader.0.load(Ordering::SeqCst), 1);
        assert_eq!(writer.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn one_task_holding_both_halves_is_woken_once() {
        let wakers = Arc::new(Wakers::default());
        let task = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&task));
        wakers.register(Half::Reader, &waker, 0);
        wakers.register(Half::Writer, &waker, 0);
        wakers.joint().wake_by_ref();
        assert_eq!(task.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_wake_up_before_the_registration_is_not_lost() {
        let wakers = Arc::new(Wakers::default());
        let task = Arc::new(Count(AtomicUsize::new(0)));
        let seen = wakers.wake_ups();
        // The poll handed the joint waker out, and it fired before the
        // half's waker was in its slot: nobody to wake then.
        wakers.joint().wake_by_ref();
        assert_eq!(task.0.load(Ordering::SeqCst), 0);
        wakers.register(Half::Reader, &Waker::from(Arc::clone(&task)), seen);
        assert_eq!(task.0.load(Ordering::SeqCst), 1, "woken at registration");
        // With no wake-up in between, registering wakes nobody.
        let seen = wakers.wake_ups();
        wakers.register(Half::Reader, &Waker::from(Arc::clone(&task)), seen);
        assert_eq!(task.0.load(Ordering::SeqCst), 1);
    }
}
