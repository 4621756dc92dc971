//! permessage-deflate in the server API over real loopback sockets: what the
//! socket reports, the builder's terms, and room broadcasts to members that
//! negotiated every kind of compression (or none), which must all receive
//! exactly what was sent.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;

use weir_mio::server::{Server, ServerBuilder, Socket, WsHandler};
use weir_mio::{ClientOptions, DeflateConfig, DeflateParams, Message};
use weir_test_support::{api_server::ApiServer, client::Client, PATIENCE};

/// Joins every connection to the room "all" and reports its socket once it
/// is open (its first message, "ready", says so).
struct Joiner(Mutex<Sender<Socket>>);

impl WsHandler for Joiner {
    type State = ();

    fn on_message(&self, ws: &Socket, _state: &mut Self::State, message: Message) {
        if message == Message::from("ready") {
            ws.join("all");
            let _ = self.0.lock().unwrap().send(ws.clone());
        }
    }
}

/// A server of [`Joiner`]s, and the sockets it reports.
struct Running {
    api: ApiServer,
    sockets: Receiver<Socket>,
}

impl Running {
    fn start(builder: ServerBuilder) -> Self {
        let (tx, sockets) = mpsc::channel();
        let api = ApiServer::start(builder.route("/*", Joiner(Mutex::new(tx))));
        Self { api, sockets }
    }

    /// Connects with `deflate` offered (or not), and returns the client and
    /// the server's socket for it.
    fn join(&self, deflate: Option<DeflateConfig>) -> (Client, Socket) {
        let options = ClientOptions::default().with_deflate(deflate);
        let mut client = Client::try_connect(self.api.addr, "/", options).unwrap();
        client.send("ready");
        let socket = self.sockets.recv_timeout(PATIENCE).expect("no socket");
        (client, socket)
    }
}

#[test]
fn the_socket_reports_what_was_negotiated() {
    let server = Running::start(Server::builder());
    let (client, socket) = server.join(Some(DeflateConfig::default()));
    let low_memory = DeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflateParams::default()
    };
    assert_eq!(socket.deflate(), Some(low_memory));
    assert_eq!(client.conn.deflate(), Some(&low_memory));
    let (client, socket) = server.join(None);
    assert_eq!(socket.deflate(), None);
    assert_eq!(client.conn.deflate(), None);
}

#[test]
fn the_builder_sets_the_terms_or_declines() {
    let declining = Running::start(Server::builder().deflate(None));
    let (client, socket) = declining.join(Some(DeflateConfig::default()));
    assert_eq!((socket.deflate(), client.conn.deflate()), (None, None));

    let takeover = DeflateConfig::default().with_max_window_bits(10, 15);
    let server = Running::start(Server::builder().deflate(Some(takeover)));
    let (_client, socket) = server.join(Some(DeflateConfig::default()));
    let params = socket.deflate().expect("negotiated");
    assert!(!params.server_no_context_takeover);
    assert_eq!(params.server_max_window_bits, 10);
}

/// Members with no compression, the default offer, a narrower window, and
/// context takeover on the server's side: a broadcast compressed once where
/// that is valid must still reach each of them intact, many times over.
#[test]
fn room_broadcasts_reach_every_mix_of_compression() {
    for terms in [DeflateConfig::low_memory(), DeflateConfig::default()] {
        let server = Running::start(Server::builder().deflate(Some(terms)));
        let offers = [
            None,
            Some(DeflateConfig::default()),
            Some(DeflateConfig::default()),
            Some(DeflateConfig::default().with_max_window_bits(9, 15)),
            Some(DeflateConfig::default().with_no_context_takeover(true, true)),
        ];
        let mut members: Vec<(Client, Socket)> =
            offers.into_iter().map(|offer| server.join(offer)).collect();
        let room = server.api.handle.room("all");
        let mut sent = Vec::new();
        for i in 0..20u32 {
            let message = if i % 2 == 0 {
                Message::from(format!(
                    "{{\"n\":{i},\"text\":\"{}\"}}",
                    "hello ".repeat(100 + i as usize)
                ))
            } else {
                let noise = (0..5000u32).map(|j| (j.wrapping_mul(2_654_435_761 + i) >> 9) as u8);
                Message::from(noise.collect::<Vec<u8>>())
            };
            room.broadcast(message.clone()).unwrap();
            sent.push(message);
        }
        for (client, socket) in &mut members {
            for message in &sent {
                assert_eq!(&client.next_message(), message, "{:?}", socket.deflate());
            }
        }
    }
}
