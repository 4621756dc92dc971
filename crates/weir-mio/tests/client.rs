//! The client side: non-blocking connects, the client handshake, and the
//! client's closing rules, against the loop's own listener and against a
//! server on another thread.

use std::time::Duration;

use weir_mio::{weir_proto, ClientOptions, CloseCode, Config, Error, EventLoop, Message, Role};
use weir_test_support::recorder::*;
use weir_test_support::PATIENCE;

/// A long close timeout: a client loop that finishes before it did so
/// because the server closed TCP, not because it gave up.
fn patient() -> Config {
    let connection =
        weir_proto::Config::default().with_close_timeout(Some(Duration::from_secs(60)));
    Config::default().with_connection(connection)
}

/// Runs a [`patient`] client loop with a [`Recorder`] that connects to
/// `uri`, until it is idle; returns what the recorder saw.
fn run_client(uri: &str) -> Vec<Note> {
    let mut event_loop = EventLoop::new(patient()).unwrap();
    event_loop.connect(uri, ClientOptions::default()).unwrap();
    let (mut recorder, notes) = Recorder::new();
    event_loop.run_until_idle(&mut recorder).unwrap();
    notes.try_iter().collect()
}

#[test]
fn client_connects_to_its_own_loops_listener() {
    let mut event_loop = EventLoop::new(patient()).unwrap();
    let addr = event_loop.listen("127.0.0.1:0").unwrap();
    let id = event_loop
        .connect(&format!("ws://{addr}/self"), ClientOptions::default())
        .unwrap();
    let (mut recorder, notes) = Recorder::new();
    recorder.stop_on_client_close = Some(event_loop.stop_handle());
    event_loop.run(&mut recorder).unwrap();
    // Let the server side finish closing TCP, and the client see it.
    for _ in 0..100 {
        if event_loop.connection_count() == 0 {
            break;
        }
        event_loop.run_once(&mut recorder, Some(PATIENCE)).unwrap();
    }
    assert_eq!(event_loop.connection_count(), 0);

    let notes: Vec<Note> = notes.try_iter().collect();
    let client_open = notes
        .iter()
        .find(|n| {
            matches!(
                n,
                Note::Open {
                    role: Role::Client,
                    ..
                }
            )
        })
        .unwrap();
    assert!(matches!(client_open, Note::Open { id: i, path: None, .. } if *i == id));
    let Some(Note::Open { id: server_id, .. }) = notes.iter().find(|n| {
        matches!(
            n,
            Note::Open {
                role: Role::Server,
                ..
            }
        )
    }) else {
        panic!("no server open in {notes:?}")
    };
    assert_ne!(*server_id, id);
    let expected = [
        Note::Message {
            id: *server_id,
            message: Message::from("hello from the client"),
        },
        Note::Message {
            id,
            message: Message::from("hello from the client"),
        },
        Note::Close {
            id: *server_id,
            code: CloseCode::NORMAL,
            reason: "client done".into(),
        },
        Note::Close {
            id,
            code: CloseCode::NORMAL,
            reason: String::new(),
        },
    ];
    for note in &expected {
        assert!(notes.contains(note), "missing {note:?} in {notes:?}");
    }
}

#[test]
fn run_until_idle_returns_once_the_server_closed_tcp() {
    let (server, server_notes) = recording_server(Config::default());
    let notes = run_client(&format!("ws://{}/idle", server.addr));
    assert!(
        notes
            .iter()
            .any(|n| matches!(n, Note::Close { code, .. } if *code == CloseCode::NORMAL)),
        "{notes:?}"
    );
    wait_for(
        &server_notes,
        |n| matches!(n, Note::Close { reason, .. } if reason == "client done"),
    );
}

#[test]
fn client_answers_the_servers_close_and_waits_for_eof() {
    let (server, _server_notes) = recording_server(Config::default());
    let mut event_loop = EventLoop::new(patient()).unwrap();
    let id = event_loop
        .connect(&format!("ws://{}/", server.addr), ClientOptions::default())
        .unwrap();
    // A handler that asks the server to close, instead of closing itself.
    struct AskClose(Vec<(CloseCode, String)>);
    impl weir_mio::Handler for AskClose {
        fn on_open(&mut self, ws: &mut weir_mio::Ws<'_>, _: weir_mio::Opened<'_>) {
            ws.send("close 4001 server closes").unwrap();
        }
        fn on_close(&mut self, _: &mut weir_mio::Ws<'_>, code: CloseCode, reason: &str) {
            self.0.push((code, reason.to_owned()));
        }
    }
    let mut handler = AskClose(Vec::new());
    event_loop.run_until_idle(&mut handler).unwrap();
    assert_eq!(
        handler.0,
        [(CloseCode::new(4001), "server closes".to_owned())]
    );
    assert!(event_loop.ws(id).is_none());
}

#[test]
fn a_host_name_is_resolved_by_the_system_and_connected_to() {
    let (server, server_notes) = recording_server(Config::default());
    let notes = run_client(&format!("ws://localhost:{}/by-name", server.addr.port()));
    assert!(
        notes.iter().any(|n| matches!(
            n,
            Note::Open {
                role: Role::Client,
                ..
            }
        )),
        "{notes:?}"
    );
    wait_for(
        &server_notes,
        |n| matches!(n, Note::Open { path: Some(path), .. } if path == "/by-name"),
    );
}

#[test]
fn refused_connect_is_reported_to_on_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut event_loop = EventLoop::new(Config::default()).unwrap();
    let id = event_loop
        .connect(&format!("ws://127.0.0.1:{port}/"), ClientOptions::default())
        .unwrap();
    let (mut recorder, notes) = Recorder::new();
    event_loop.run_until_idle(&mut recorder).unwrap();
    let notes: Vec<Note> = notes.try_iter().collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(matches!(&notes[0], Note::Error { id: i, error } if *i == id && error.contains("I/O")));
}

#[test]
fn rejected_client_sees_the_status() {
    let (server, _server_notes) = recording_server(Config::default());
    let mut event_loop = EventLoop::new(Config::default()).unwrap();
    event_loop
        .connect(
            &format!("ws://{}/private", server.addr),
            ClientOptions::default(),
        )
        .unwrap();
    struct Errors(Vec<String>);
    impl weir_mio::Handler for Errors {
        fn on_error(&mut self, _: &mut weir_mio::Ws<'_>, error: &Error) {
            match error {
                Error::Handshake(
                    weir_mio::weir_proto::handshake::HandshakeError::UnexpectedStatus {
                        status,
                        ..
                    },
                ) => self.0.push(format!("status {status}")),
                other => self.0.push(other.to_string()),
            }
        }
    }
    let mut handler = Errors(Vec::new());
    event_loop.run_until_idle(&mut handler).unwrap();
    assert_eq!(handler.0, ["status 401"]);
}

#[test]
fn connect_refuses_bad_uris_at_once() {
    let mut event_loop = EventLoop::new(Config::default()).unwrap();
    #[cfg(not(feature = "tls"))]
    assert!(matches!(
        event_loop.connect("wss://127.0.0.1:1/", ClientOptions::default()),
        Err(Error::TlsUnsupported)
    ));
    assert!(matches!(
        event_loop.connect("http://127.0.0.1/", ClientOptions::default()),
        Err(Error::Handshake(_))
    ));
    assert_eq!(event_loop.connection_count(), 0);
}

#[test]
fn stop_handle_stops_a_loop_from_another_thread() {
    let mut event_loop = EventLoop::new(Config::default()).unwrap();
    event_loop.listen("127.0.0.1:0").unwrap();
    let stop = event_loop.stop_handle();
    let stopper = std::thread::spawn(move || stop.stop());
    let (mut recorder, _notes) = Recorder::new();
    event_loop.run(&mut recorder).unwrap();
    stopper.join().unwrap();
}
