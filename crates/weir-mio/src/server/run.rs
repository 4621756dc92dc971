//! Running the workers: the first on the caller's thread, the others on
//! threads of their own, and what happens when one of them ends.
//!
//! A worker ends normally only once a shutdown is over. One that ends
//! otherwise (its OS poller fails, or a bug in the server panics it;
//! callbacks cannot, see `guard.rs`) stops the whole server in order: it
//! starts the graceful shutdown of the others, which close their
//! connections with 1001 and are gone within the close timeout
//! ([`weir_proto::Config::close_timeout`], or the handshake timeout when
//! that is `None`); its command
//! queue is dropped and takes nothing more; its connections get their
//! `on_close` (1006); and [`Server::run`](super::Server::run) returns its
//! error once every worker has ended. No worker thread outlives `run`.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;

use weir_proto::CloseCode;

use super::guard::panic_message;
use super::handle::Shared;
use crate::ConnId;

/// One worker's whole run, as [`run_workers`] takes it.
pub(crate) type Job = Box<dyn FnOnce() -> io::Result<()> + Send>;

/// Runs `jobs[i]` as worker `i`, the first on this thread, until every one
/// has ended; returns the first error (by worker index), or the error of a
/// thread that could not be started.
pub(crate) fn run_workers(shared: &Arc<Shared>, jobs: Vec<Job>) -> io::Result<()> {
    let mut jobs = jobs.into_iter().enumerate();
    let first = jobs.next();
    let mut result = Ok(());
    let mut threads = Vec::new();
    for (index, job) in jobs.by_ref() {
        let server = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(format!("weir-worker-{index}"))
            .spawn(move || run_job(&server, index, job));
        match spawned {
            Ok(thread) => threads.push(thread),
            Err(error) => {
                result = Err(error);
                break;
            }
        }
    }
    // Workers whose thread was not started never run.
    drop(jobs);
    match first {
        Some((index, job)) if result.is_ok() => result = run_job(shared, index, job),
        // A thread failed to start: stop those that did.
        _ => shared.begin_shutdown(shared.config.linger_timeout()),
    }
    for thread in threads {
        // `run_job` catches panics: a failed join would be a panic in the
        // code that handles them.
        let outcome = thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("a server worker thread panicked")));
        if result.is_ok() {
            result = outcome;
        }
    }
    result
}

/// Runs worker `index`'s job on this thread, then [`Shared::worker_ended`]:
/// whether the job returns or panics.
fn run_job(shared: &Arc<Shared>, index: usize, job: Job) -> io::Result<()> {
    shared.enter_worker(index);
    // `AssertUnwindSafe` is sound here: the job owns its worker and event
    // loop, which are dropped by the unwinding and never used again; the
    // shared state it may have left mid-change is locks that recover from
    // poisoning with consistent data (`handle.rs`), and `worker_ended`
    // settles what the worker could not (its queue, its connections).
    let outcome = catch_unwind(AssertUnwindSafe(job)).unwrap_or_else(|payload| {
        let error = match panic_message(payload.as_ref()) {
            Some(message) => format!("server worker {index} panicked: {message}"),
            None => format!("server worker {index} panicked"),
        };
        Err(io::Error::other(error))
    });
    shared.leave_worker();
    shared.worker_ended(index);
    outcome
}

impl Shared {
    /// Worker `index` has ended, however: its queue is dropped and takes
    /// nothing more; its connections not finished (only after a panic: a
    /// worker that returns has finished its own) are, without `on_close`,
    /// as their states went down with the worker; and the
    /// shutdown starts if it had not, so that the other workers end too.
    fn worker_ended(self: &Arc<Self>, index: usize) {
        self.workers[index].end();
        self.begin_shutdown(self.config.linger_timeout());
        let orphans: Vec<ConnId> = self.records[index].iter().map(|(id, _)| id).collect();
        for id in orphans {
            self.finish(id, None, CloseCode::ABNORMAL, "");
        }
    }
}

#[cfg(test)]
mod tests {
    //! A worker that fails, by an error or a panic, injected as worker 0's
    //! job (nothing else can make one fail: callbacks are isolated); worker
    //! 1 is a real one, serving a client over loopback.

    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::mpsc::{self, Receiver, Sender};
    use std::thread;
    use std::time::Duration;

    use super::*;
    use crate::server::worker::Worker;
    use crate::server::{Server, ServerHandle, Socket, WsHandler};
    use crate::Message;

    /// How long any wait may take before the test fails.
    const PATIENCE: Duration = Duration::from_secs(20);

    struct Echo;

    impl WsHandler for Echo {
        type State = ();

        fn on_message(&self, ws: &Socket, _: &mut (), message: Message) {
            let _ = ws.send(message);
        }
    }

    /// How the injected worker ends.
    #[derive(Clone, Copy, Debug)]
    enum Failure {
        Error,
        Panic,
    }

    /// What the test holds of a server whose worker 0 fails on a trigger.
    struct Failing {
        addr: SocketAddr,
        handle: ServerHandle,
        trigger: Sender<()>,
        /// What `run_workers` returned, or its panic.
        outcome: Receiver<thread::Result<io::Result<()>>>,
    }

    /// Two workers: 0 never runs its loop (its listener closed, so worker 1
    /// takes every client) and ends as `failure` says once triggered; 1 is
    /// a real worker. Each queue takes one broadcast at most.
    fn two_workers_one_failing(failure: Failure) -> Failing {
        let server = Server::builder()
            .bind("127.0.0.1:0")
            .route("/*", Echo)
            .workers(2)
            .command_queue_capacity(1)
            .build()
            .unwrap();
        let (addr, handle) = (server.local_addr(), server.handle());
        let Server { shared, loops } = server;
        let mut loops = loops.into_iter();
        let (first, second) = (loops.next().unwrap(), loops.next().unwrap());
        let (trigger, triggered) = mpsc::channel::<()>();
        let failing: Job = Box::new(move || {
            drop(first);
            let _ = triggered.recv_timeout(PATIENCE);
            match failure {
                Failure::Error => Err(io::Error::other("injected poller failure")),
                Failure::Panic => panic!("injected worker panic"),
            }
        });
        let worker = Worker::new(1, Arc::clone(&shared));
        let real: Job = Box::new(move || worker.run(second));
        let (done, outcome) = mpsc::channel();
        thread::spawn(move || {
            let jobs = vec![failing, real];
            let result = catch_unwind(AssertUnwindSafe(|| run_workers(&shared, jobs)));
            let _ = done.send(result);
        });
        Failing {
            addr,
            handle,
            trigger,
            outcome,
        }
    }

    /// A WebSocket client's stream to `addr`, after the `101`.
    fn upgrade(addr: SocketAddr) -> TcpStream {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream
            .write_all(
                b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            )
            .unwrap();
        let mut head = Vec::new();
        let mut byte = [0];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(stream.read(&mut byte).unwrap(), 1, "eof in the response");
            head.push(byte[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 101 "));
        stream
    }

    /// A client frame (FIN, a zero masking key, so the payload reads as is).
    fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
        assert!(payload.len() < 126);
        let mut frame = vec![0x80 | opcode, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        frame.extend_from_slice(payload);
        frame
    }

    /// A short server frame: its first byte and payload.
    fn read_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
        let mut head = [0; 2];
        stream.read_exact(&mut head).unwrap();
        let mut payload = vec![0; usize::from(head[1])];
        stream.read_exact(&mut payload).unwrap();
        (head[0], payload)
    }

    #[test]
    fn a_failed_worker_stops_the_others_in_order_and_run_returns_its_error() {
        for failure in [Failure::Error, Failure::Panic] {
            let server = two_workers_one_failing(failure);
            let mut client = upgrade(server.addr);
            client.write_all(&masked(0x1, b"hi")).unwrap();
            assert_eq!(read_frame(&mut client), (0x81, b"hi".to_vec()));

            server.trigger.send(()).unwrap();
            // Worker 1 shuts down as a graceful shutdown would: a Close with
            // 1001, then, once answered, the end of the connection.
            let (opcode, payload) = read_frame(&mut client);
            assert_eq!(opcode, 0x88, "{failure:?}");
            assert_eq!(payload[..2], 1001u16.to_be_bytes(), "{failure:?}");
            client.write_all(&masked(0x8, &payload[..2])).unwrap();
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).unwrap();
            assert!(rest.is_empty());

            // Every worker has ended by the time run returns the failure.
            let outcome = server.outcome.recv_timeout(PATIENCE);
            let result = outcome.expect("run did not return").expect("run panicked");
            let error = result.unwrap_err().to_string();
            assert!(error.contains("injected"), "{failure:?}: {error}");
            // The queues of ended workers take nothing: they cannot grow.
            for _ in 0..2 {
                assert_eq!(server.handle.broadcast("to nobody"), Ok(()));
            }
        }
    }
}
