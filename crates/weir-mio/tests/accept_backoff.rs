//! Accepting when the process is out of file descriptors: the clients
//! waiting in the backlog are accepted once descriptors are free again,
//! without another client arriving to wake the listener, and the handler
//! hears of the failure once and of the recovery once.
//!
//! This file is a test binary of its own because it lowers the process's
//! descriptor limit and fills the table, which would break any test running
//! beside it. The loop runs on the test's thread, so that nothing else takes
//! a descriptor between the steps.
#![cfg(unix)]

use std::fs::File;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
use weir_mio::{Config, EventLoop, Handler, Opened, Ws};
use weir_test_support::{tcp::read_head, PATIENCE};

/// What the handler heard.
#[derive(Default)]
struct Heard {
    /// The errors of `on_accept_error`, as OS error numbers.
    accept_errors: Vec<Option<i32>>,
    resumed: usize,
    opened: usize,
}

impl Handler for Heard {
    fn on_accept_error(&mut self, _listener: SocketAddr, error: &io::Error) {
        self.accept_errors.push(error.raw_os_error());
    }

    fn on_accept_resumed(&mut self, _listener: SocketAddr) {
        self.resumed += 1;
    }

    fn on_open(&mut self, _ws: &mut Ws<'_>, _opened: Opened<'_>) {
        self.opened += 1;
    }
}

/// Opens files until the descriptor table is full.
fn fill_descriptor_table() -> Vec<File> {
    let mut fillers = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(file) => fillers.push(file),
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::MFILE.raw_os_error()) => {
                return fillers;
            }
            Err(e) => panic!("opening a filler: {e}"),
        }
    }
}

#[test]
fn clients_waiting_while_out_of_descriptors_are_accepted_once_some_are_free() {
    const WAITING: usize = 3;
    // A low limit makes filling the table quick; the hard limit stays.
    let limit = getrlimit(Resource::Nofile);
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(256),
            maximum: limit.maximum,
        },
    )
    .unwrap();

    let config =
        Config::default().with_accept_backoff(Duration::from_millis(1), Duration::from_millis(4));
    let mut event_loop = EventLoop::new(config).unwrap();
    let addr = event_loop.listen("127.0.0.1:0").unwrap();
    let mut heard = Heard::default();

    // The clients take the last descriptors; their connections complete in
    // the kernel and wait in the listener's backlog.
    let mut fillers = fill_descriptor_table();
    fillers.truncate(fillers.len() - WAITING);
    let mut clients: Vec<TcpStream> = (0..WAITING)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    for client in &mut clients {
        client.set_read_timeout(Some(PATIENCE)).unwrap();
        client
            .write_all(
                b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n",
            )
            .unwrap();
    }

    // The listener is readable, but accepting fails: no descriptor left.
    let deadline = Instant::now() + PATIENCE;
    while heard.accept_errors.is_empty() {
        assert!(Instant::now() < deadline, "accepting never failed");
        event_loop.run_once(&mut heard, Some(PATIENCE)).unwrap();
    }
    assert_eq!(
        heard.accept_errors,
        [Some(rustix::io::Errno::MFILE.raw_os_error())]
    );
    // Tries on the loop's retry timer fail too, and are not reported.
    for _ in 0..3 {
        event_loop.run_once(&mut heard, Some(PATIENCE)).unwrap();
    }
    assert_eq!(heard.accept_errors.len(), 1);
    assert_eq!(heard.opened, 0);

    // Free descriptors; no new client comes, yet the waiting ones get in.
    drop(fillers);
    while heard.opened < WAITING {
        assert!(
            Instant::now() < deadline,
            "only {} of {WAITING} waiting clients accepted",
            heard.opened
        );
        event_loop
            .run_once(&mut heard, Some(Duration::from_secs(1)))
            .unwrap();
    }
    for client in &mut clients {
        let head = read_head(client);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    }
    assert_eq!(heard.accept_errors.len(), 1);
    assert_eq!(heard.resumed, 1, "the recovery is reported once");
}
