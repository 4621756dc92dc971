//! Isolation of the application's code: every call into a
//! [`WsHandler`](super::WsHandler) (and into the HTTP fallback) runs under
//! [`catch_unwind`], so that a panic costs the connection it was serving,
//! not its worker with every other connection on it. What happens to that
//! connection is the worker's business (`worker.rs`); the rules are on
//! [`WsHandler`](super::WsHandler).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::Error;

/// Runs `call`, a call into the application's `callback`, catching a panic
/// as [`Error::HandlerPanicked`].
pub(crate) fn guarded<R>(callback: &'static str, call: impl FnOnce() -> R) -> Result<R, Error> {
    // `AssertUnwindSafe` is sound here: what the call can reach of the
    // server's own state (sockets, rooms, the directory, the command
    // queues) is atomics and locks whose users recover from poisoning,
    // and every critical section of theirs leaves its data consistent and
    // runs no application code (see `handle.rs`). The worker's own state
    // is not touched during the call. What the application's state looks
    // like after its own panic is its concern, as the trait's docs say.
    catch_unwind(AssertUnwindSafe(call)).map_err(|payload| Error::HandlerPanicked {
        callback,
        message: panic_message(payload.as_ref()),
    })
}

/// The message of a panic, when its payload is a string (`panic!("...")`
/// gives a `&'static str`, `panic!("{x}")` a `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}
