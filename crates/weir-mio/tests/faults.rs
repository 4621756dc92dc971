//! The server API through a [`FaultProxy`]: the server's real socket reads
//! short and hits `WouldBlock` at many byte boundaries (the client's bytes
//! arrive in pieces of 1 to n bytes, each its own segment), its writes go
//! short and block (the proxy reads the answers slowly through a small
//! window), and a connection can be reset in the middle of a frame.
//!
//! weir-mio owns a `mio::net::TcpStream` and is edge-triggered, so faults
//! are made with real sockets rather than faked. `Interrupted` cannot be
//! injected that way: where the code retries on it is `read.rs` (reads),
//! `conn.rs` (vectored writes), `accept.rs` (accepts) and `event_loop.rs`
//! (the poll itself).
//!
//! What must hold: every message arrives intact and in order; a reset gives
//! its connection one `on_close` with 1006 while the server keeps serving;
//! once every client is gone, no connection is left. Waits block on the
//! handler's notes and on socket reads, each bounded by [`PATIENCE`].

#![cfg(unix)]

use std::io::Write;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;

use weir_mio::server::{Server, Socket, WsHandler};
use weir_mio::{
    AcceptOptions, ClientOptions, CloseCode, Config, ConnId, Error, Message, Rejection,
    UpgradeRequest,
};
use weir_test_support::api_server::ApiServer;
use weir_test_support::client::Client;
use weir_test_support::payloads::{assert_same, binary_pattern, describe, text_pattern};
use weir_test_support::proxy::{FaultProxy, ProxyFaults};
use weir_test_support::PATIENCE;

/// What the echo handler saw.
#[derive(Debug, PartialEq)]
enum Note {
    Open(ConnId),
    Close(ConnId, CloseCode),
    Error(ConnId, String),
}

/// Echoes every message, except `count`, answered with the server's
/// connection count; reports opens, closes and errors.
struct Echo(Mutex<Sender<Note>>);

impl Echo {
    fn note(&self, note: Note) {
        let _ = self.0.lock().unwrap().send(note);
    }
}

impl WsHandler for Echo {
    type State = ();

    fn on_upgrade(
        &self,
        ws: &Socket,
        _request: &UpgradeRequest,
    ) -> Result<AcceptOptions, Rejection> {
        self.note(Note::Open(ws.id()));
        Ok(AcceptOptions::default())
    }

    fn on_message(&self, ws: &Socket, _state: &mut Self::State, message: Message) {
        let answer = match message == Message::from("count") {
            true => Message::from(ws.server().connection_count().to_string()),
            false => message,
        };
        let _ = ws.send(answer);
    }

    fn on_close(&self, ws: &Socket, _state: Self::State, code: CloseCode, _reason: &str) {
        self.note(Note::Close(ws.id(), code));
    }

    fn on_error(&self, ws: &Socket, error: &Error) {
        self.note(Note::Error(ws.id(), error.to_string()));
    }
}

/// An echo server with one worker (so one thread orders every callback),
/// no compression (so sizes on the wire are the sizes sent) and the core's
/// 16 MiB send queue (so a few MiB queue without being refused).
struct Running {
    api: ApiServer,
    notes: Receiver<Note>,
}

impl Running {
    fn start() -> Self {
        let (tx, notes) = mpsc::channel();
        let builder = Server::builder()
            .workers(1)
            .config(Config::default())
            .route("/*", Echo(Mutex::new(tx)));
        #[cfg(feature = "deflate")]
        let builder = builder.deflate(None);
        Self {
            api: ApiServer::start(builder),
            notes,
        }
    }

    fn next_note(&self) -> Note {
        self.notes
            .recv_timeout(PATIENCE)
            .expect("the server saw nothing")
    }

    /// A client through a fresh proxy, and its connection's id.
    fn connect(&self, faults: ProxyFaults) -> (Client, ConnId) {
        let proxy = FaultProxy::start(self.api.addr, faults);
        let client = Client::try_connect(proxy.addr(), "/", ClientOptions::default()).unwrap();
        match self.next_note() {
            Note::Open(id) => (client, id),
            other => panic!("expected an open, got {other:?}"),
        }
    }

    /// Closes `client` normally and waits for the server's `on_close`.
    fn close(&self, mut client: Client, id: ConnId) {
        client.close(CloseCode::NORMAL, "done");
        let answer = client.expect_close_then_eof();
        assert_eq!(answer.map(|(code, _)| code), Some(CloseCode::NORMAL));
        assert_eq!(self.next_note(), Note::Close(id, CloseCode::NORMAL));
    }

    /// Asserts that no connection is left, as the worker itself sees it: a
    /// probe's `count` runs on the worker after every earlier close.
    fn assert_only_the_probe_is_left(&self) {
        let mut probe = Client::connect(self.api.addr, "/");
        let Note::Open(id) = self.next_note() else {
            panic!("expected the probe to open");
        };
        probe.send("count");
        assert_eq!(probe.next_message(), Message::from("1"));
        self.close(probe, id);
    }
}

/// Piece sizes and the message sizes sent through each: single bytes for
/// small messages, larger pieces for megabytes.
const CASES: [(usize, &[usize]); 4] = [
    (1, &[0, 1, 125, 126, 1000]),
    (13, &[65_535, 65_537]),
    (1500, &[200_000, 1 << 20]),
    (16_384, &[3 << 20]),
];

#[test]
fn messages_of_every_size_arrive_whole_through_short_reads_and_writes() {
    let server = Running::start();
    for seed in 0..2u64 {
        for (piece, sizes) in CASES {
            let (mut client, id) = server.connect(ProxyFaults::dribble(seed, piece));
            let messages: Vec<Message> = sizes
                .iter()
                .flat_map(|&len| [text_pattern(len).into(), binary_pattern(len).into()])
                .collect();
            for message in &messages {
                client.send(message.clone());
            }
            for message in &messages {
                let what = format!("seed {seed}, pieces of {piece}: {}", describe(message));
                assert_same(&client.next_message(), message, &what);
            }
            server.close(client, id);
        }
    }
    server.assert_only_the_probe_is_left();
}

#[test]
fn a_reset_in_the_middle_of_a_frame_is_1006_once_and_the_server_serves_on() {
    let server = Running::start();
    for seed in 0..4u64 {
        // The handshake is a few hundred bytes; the frame is 1 MiB.
        let reset_after = 1000 + seed * 200_000;
        let faults = ProxyFaults {
            reset_after: Some(reset_after),
            ..ProxyFaults::dribble(seed, 1500)
        };
        let (mut doomed, doomed_id) = server.connect(faults);
        doomed.conn.send(binary_pattern(1 << 20)).unwrap();
        while let Some(bytes) = doomed.conn.poll_transmit() {
            // The proxy closes the client's side at the reset.
            if doomed.stream.write_all(&bytes).is_err() {
                break;
            }
        }

        // Its end comes as errors, if any, then one close with 1006.
        loop {
            match server.next_note() {
                Note::Error(id, _) if id == doomed_id => {}
                Note::Close(id, code) if id == doomed_id => {
                    assert_eq!(code, CloseCode::ABNORMAL, "seed {seed}");
                    break;
                }
                other => panic!("seed {seed}: expected the reset's close, got {other:?}"),
            }
        }

        // Another client is served; a second close of the reset connection
        // would come before this one's (one worker orders every callback).
        let (mut other, other_id) = server.connect(ProxyFaults::dribble(seed, 100));
        let message = Message::from(text_pattern(10_000));
        other.send(message.clone());
        assert_same(&other.next_message(), &message, "the other client's echo");
        server.close(other, other_id);
        drop(doomed);
    }
    server.assert_only_the_probe_is_left();
    assert!(server.notes.try_recv().is_err(), "a note after the probe");
}
