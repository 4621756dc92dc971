//! Round trips with permessage-deflate negotiated, checked with proptest
//! through the public API: for every combination of the four parameters
//! (and of levels and thresholds), what one side sends the other receives
//! exactly, as the same events a connection without compression would
//! report, however messages are fragmented and however reads are cut.
#![cfg(feature = "deflate")]

use bytes::Bytes;
use proptest::prelude::*;
use weir_proto::deflate::DeflateConfig;
use weir_proto::handshake::{
    AcceptOptions, ClientHandshake, ClientOptions, Incoming, ServerHandshake,
};
use weir_proto::{Config, Connection, Event, Message, MessageKind};

/// What the sending side does.
#[derive(Clone, Debug)]
enum Op {
    Whole(Message),
    Uncompressed(Message),
    Fragmented(MessageKind, Vec<Vec<u8>>),
    Ping(Vec<u8>),
}

/// Bytes that compress: a short random pattern repeated, or random bytes.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        (prop::collection::vec(any::<u8>(), 1..12), 0..600usize)
            .prop_map(|(unit, times)| unit.repeat(times)),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,60}",
        ("[a-z{}\":, ]{1,12}", 0..80usize).prop_map(|(s, n)| s.repeat(n))
    ]
}

fn pieces(bytes: Vec<u8>, mut points: Vec<usize>) -> Vec<Vec<u8>> {
    points.iter_mut().for_each(|p| *p %= bytes.len() + 1);
    points.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for point in points {
        out.push(bytes[start..point].to_vec());
        start = point;
    }
    out.push(bytes[start..].to_vec());
    out
}

fn op() -> impl Strategy<Value = Op> {
    let points = prop::collection::vec(any::<usize>(), 0..4);
    prop_oneof![
        text().prop_map(|s| Op::Whole(Message::from(s))),
        payload().prop_map(|b| Op::Whole(Message::from(b))),
        payload().prop_map(|b| Op::Uncompressed(Message::from(b))),
        (text(), points.clone())
            .prop_map(|(s, p)| Op::Fragmented(MessageKind::Text, pieces(s.into_bytes(), p))),
        (payload(), points).prop_map(|(b, p)| Op::Fragmented(MessageKind::Binary, pieces(b, p))),
        prop::collection::vec(any::<u8>(), 0..=125).prop_map(Op::Ping),
    ]
}

fn deflate_config() -> impl Strategy<Value = DeflateConfig> {
    (
        any::<bool>(),
        any::<bool>(),
        8u8..=15,
        8u8..=15,
        0u8..=9,
        0usize..200,
    )
        .prop_map(
            |(server_nct, client_nct, server_bits, client_bits, level, threshold)| {
                DeflateConfig::default()
                    .with_no_context_takeover(server_nct, client_nct)
                    .with_max_window_bits(server_bits, client_bits)
                    .with_level(level)
                    .with_threshold(threshold)
            },
        )
}

/// A client and a server connected through the real handshake, with
/// compression as the two configurations negotiate it (`None`: off).
fn pair(client: Option<DeflateConfig>, server: Option<DeflateConfig>) -> (Connection, Connection) {
    let options = ClientOptions::default().with_deflate(client.clone());
    let (mut handshake, request) =
        ClientHandshake::with_key("ws://example.com/", options, [9; 16]).unwrap();
    let Some(Incoming::Upgrade(upgrade)) = ServerHandshake::new().receive(&request).unwrap() else {
        panic!("not an upgrade");
    };
    let accept = AcceptOptions::default().with_deflate(server.clone());
    let accepted = upgrade.accept(&accept, Config::default()).unwrap();
    let response = handshake.receive(&accepted.response).unwrap().unwrap();
    let client_conn = response
        .connection_with_mask_seed(Config::default(), [4; 32])
        .unwrap();
    assert_eq!(client_conn.deflate(), accepted.connection.deflate());
    assert_eq!(
        client_conn.deflate().is_some(),
        client.is_some() && server.is_some()
    );
    (client_conn, accepted.connection)
}

/// Sends `ops` from `sender`; returns the bytes and the events they mean.
fn send(sender: &mut Connection, ops: &[Op]) -> (Vec<u8>, Vec<Event>) {
    let mut expected = Vec::new();
    for op in ops {
        match op {
            Op::Whole(message) => {
                sender.send(message.clone()).unwrap();
                expected.push(Event::Message(message.clone()));
            }
            Op::Uncompressed(message) => {
                sender.send_uncompressed(message.clone()).unwrap();
                expected.push(Event::Message(message.clone()));
            }
            Op::Fragmented(kind, parts) => {
                for (i, part) in parts.iter().enumerate() {
                    sender
                        .send_fragment(*kind, Bytes::from(part.clone()), i + 1 == parts.len())
                        .unwrap();
                }
                let whole = parts.concat();
                expected.push(Event::Message(match kind {
                    MessageKind::Text => Message::from(String::from_utf8(whole).unwrap()),
                    MessageKind::Binary => Message::from(whole),
                }));
            }
            Op::Ping(payload) => {
                sender.ping(payload.clone()).unwrap();
                expected.push(Event::Ping(Bytes::from(payload.clone())));
            }
        }
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = sender.poll_transmit() {
        bytes.extend_from_slice(&chunk);
    }
    (bytes, expected)
}

/// Feeds `bytes` to `receiver` in reads of the given sizes (cycled).
fn receive(receiver: &mut Connection, bytes: &[u8], reads: &[usize]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut rest = bytes;
    let mut sizes = reads.iter().cycle();
    while !rest.is_empty() {
        let size = sizes
            .next()
            .copied()
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        let (read, tail) = rest.split_at(size);
        rest = tail;
        receiver.receive(read);
        while let Some(event) = receiver.poll_event() {
            events.push(event.expect("no protocol error"));
        }
    }
    events
}

fn reads() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        Just(vec![usize::MAX]),
        Just(vec![1]),
        prop::collection::vec(1usize..64, 1..8),
        prop::collection::vec(1usize..4096, 1..4),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn compressed_round_trips_give_the_events_of_uncompressed_ones(
        client in deflate_config(),
        server in deflate_config(),
        from_client: bool,
        rounds in prop::collection::vec(prop::collection::vec(op(), 0..6), 1..4),
        reads in reads(),
    ) {
        let (mut c, mut s) = pair(Some(client), Some(server));
        let (mut plain_c, mut plain_s) = pair(None, None);
        // Several rounds, so that context takeover carries history across
        // messages and across reads.
        for ops in &rounds {
            let ((sender, receiver), (plain_sender, plain_receiver)) = if from_client {
                ((&mut c, &mut s), (&mut plain_c, &mut plain_s))
            } else {
                ((&mut s, &mut c), (&mut plain_s, &mut plain_c))
            };
            let (bytes, expected) = send(sender, ops);
            let events = receive(receiver, &bytes, &reads);
            prop_assert_eq!(&events, &expected);
            let (plain_bytes, _) = send(plain_sender, ops);
            let plain_events = receive(plain_receiver, &plain_bytes, &reads);
            prop_assert_eq!(events, plain_events);
        }
    }
}
