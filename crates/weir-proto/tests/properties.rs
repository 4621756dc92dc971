//! Properties of the whole connection, checked through the public API with
//! proptest: what one role sends, the other receives exactly, however the
//! bytes are cut into reads; and no input makes it panic. With the `deflate`
//! feature, the same round trips with permessage-deflate negotiated in every
//! combination of parameters must give the same events.

use bytes::Bytes;
use proptest::prelude::*;
use weir_proto::{
    CloseCode, Config, Connection, Event, Message, MessageKind, ProtocolError, Role, State,
};

/// One thing the sending side does.
#[derive(Clone, Debug)]
enum Op {
    Whole(Message),
    /// A whole message sent with `send_uncompressed`.
    Uncompressed(Message),
    /// A message sent in pieces; text may be cut inside a character.
    Fragmented(MessageKind, Vec<Vec<u8>>),
    Ping(Vec<u8>),
}

fn cut(bytes: Vec<u8>, mut points: Vec<usize>) -> Vec<Vec<u8>> {
    points.iter_mut().for_each(|p| *p %= bytes.len() + 1);
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for point in points {
        pieces.push(bytes[start..point].to_vec());
        start = point;
    }
    pieces.push(bytes[start..].to_vec());
    pieces
}

/// Random bytes, or a short random pattern repeated (which compresses).
fn payload() -> impl Strategy<Value = Vec<u8>> + Clone {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        (prop::collection::vec(any::<u8>(), 1..12), 0..400usize)
            .prop_map(|(unit, times)| unit.repeat(times)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let payload = payload();
    prop_oneof![
        ".{0,40}".prop_map(|s: String| Op::Whole(Message::from(s))),
        ("[a-z{}\":, ]{1,12}", 0..60usize).prop_map(|(s, n)| Op::Whole(Message::from(s.repeat(n)))),
        payload.clone().prop_map(|b| Op::Whole(Message::from(b))),
        payload
            .clone()
            .prop_map(|b| Op::Uncompressed(Message::from(b))),
        (".{0,40}", prop::collection::vec(any::<usize>(), 0..4)).prop_map(|(s, points)| {
            Op::Fragmented(MessageKind::Text, cut(s.into_bytes(), points))
        }),
        (payload, prop::collection::vec(any::<usize>(), 0..4))
            .prop_map(|(b, points)| Op::Fragmented(MessageKind::Binary, cut(b, points))),
        prop::collection::vec(any::<u8>(), 0..=125).prop_map(Op::Ping),
    ]
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Client), Just(Role::Server)]
}

fn peer(role: Role) -> Role {
    match role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    }
}

/// Sends `ops` from a `role` endpoint, then a Close, and returns the bytes
/// and the events the peer should report for the ops.
fn encode(role: Role, ops: &[Op]) -> (Vec<u8>, Vec<Event>) {
    let mut conn = Connection::with_mask_seed(role, Config::default(), [1; 32]);
    let expected = send_ops(&mut conn, ops);
    conn.close(CloseCode::NORMAL, "done").unwrap();
    (drain(&mut conn), expected)
}

/// Queues `ops` on `conn`; returns the events the peer should report.
fn send_ops(conn: &mut Connection, ops: &[Op]) -> Vec<Event> {
    let mut expected = Vec::new();
    for op in ops {
        match op {
            Op::Whole(message) => {
                conn.send(message.clone()).unwrap();
                expected.push(Event::Message(message.clone()));
            }
            Op::Uncompressed(message) => {
                conn.send_uncompressed(message.clone()).unwrap();
                expected.push(Event::Message(message.clone()));
            }
            Op::Fragmented(kind, pieces) => {
                for (i, piece) in pieces.iter().enumerate() {
                    let last = i + 1 == pieces.len();
                    conn.send_fragment(*kind, piece.clone(), last).unwrap();
                }
                let whole: Vec<u8> = pieces.concat();
                expected.push(Event::Message(match kind {
                    MessageKind::Text => Message::from(String::from_utf8(whole).unwrap()),
                    MessageKind::Binary => Message::from(whole),
                }));
            }
            Op::Ping(payload) => {
                conn.ping(payload.clone()).unwrap();
                expected.push(Event::Ping(Bytes::from(payload.clone())));
            }
        }
    }
    expected
}

/// Everything `conn` has queued to write.
fn drain(conn: &mut Connection) -> Vec<u8> {
    let mut bytes = Vec::new();
    while let Some(chunk) = conn.poll_transmit() {
        bytes.extend_from_slice(&chunk);
    }
    bytes
}

/// Feeds `bytes` to a fresh `role` endpoint in reads of the given sizes
/// (cycled), collecting every event.
fn receive(
    role: Role,
    config: Config,
    bytes: &[u8],
    reads: &[usize],
) -> (Vec<Result<Event, ProtocolError>>, Connection) {
    let mut conn = Connection::with_mask_seed(role, config, [2; 32]);
    let events = feed(&mut conn, bytes, reads);
    (events, conn)
}

/// Feeds `bytes` to `conn` in reads of the given sizes (cycled).
fn feed(conn: &mut Connection, bytes: &[u8], reads: &[usize]) -> Vec<Result<Event, ProtocolError>> {
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
        conn.receive(read);
        while let Some(event) = conn.poll_event() {
            events.push(event);
        }
    }
    events
}

fn reads() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        Just(vec![1]),
        prop::collection::vec(1usize..64, 1..8),
        prop::collection::vec(1usize..4096, 1..4),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn what_one_role_sends_the_other_receives(
        sender in role(),
        ops in prop::collection::vec(op(), 0..12),
        reads in reads(),
    ) {
        let (bytes, mut expected) = encode(sender, &ops);
        let (events, conn) = receive(peer(sender), Config::default(), &bytes, &reads);
        let events: Vec<Event> = events.into_iter().map(Result::unwrap).collect();
        let close = events.last().cloned();
        expected.push(close.clone().unwrap());
        prop_assert_eq!(events, expected);
        match close {
            Some(Event::Close(Some(frame))) => {
                prop_assert_eq!(frame.code, CloseCode::NORMAL);
                prop_assert_eq!(frame.reason, "done");
            }
            other => prop_assert!(false, "expected a close, got {:?}", other),
        }
        prop_assert_eq!(conn.state(), State::Closed);
    }

    #[test]
    fn events_do_not_depend_on_how_reads_are_cut(
        sender in role(),
        ops in prop::collection::vec(op(), 0..8),
        tail in prop::collection::vec(any::<u8>(), 0..64),
        streaming: bool,
        reads in reads(),
    ) {
        let (mut bytes, _) = encode(sender, &ops);
        // Drop the close so the garbage tail is parsed too.
        let close_len = 2 + 6 + if sender == Role::Client { 4 } else { 0 };
        bytes.truncate(bytes.len() - close_len);
        bytes.extend_from_slice(&tail);
        let config = Config::default().with_streaming(streaming);
        let receiver = peer(sender);
        let (whole, _) = receive(receiver, config.clone(), &bytes, &[bytes.len().max(1)]);
        let (split, _) = receive(receiver, config, &bytes, &reads);
        if streaming {
            prop_assert_eq!(joined(whole), joined(split));
        } else {
            prop_assert_eq!(whole, split);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(
        receiver in role(),
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        streaming: bool,
        reads in reads(),
    ) {
        let config = Config::default()
            .with_streaming(streaming)
            .with_max_frame_size(256)
            .with_max_message_size(512)
            .with_max_send_queue(64);
        let (events, conn) = receive(receiver, config, &bytes, &reads);
        let errors = events.iter().filter(|event| event.is_err()).count();
        prop_assert!(errors <= 1, "at most one error is reported");
        if errors == 1 {
            prop_assert!(events.last().unwrap().is_err(), "the error is the last event");
            prop_assert_eq!(conn.state(), State::Closed);
        }
        // Output never grows beyond the queue limit plus one pong, the pong
        // slot and a close.
        prop_assert!(conn.buffered_amount() <= 64 + 3 * (14 + 125));
    }
}

/// Streaming events with the pieces of each message joined. How much of a
/// message that then fails went out before the error depends on where reads
/// were cut, so an unfinished message before an error is dropped.
fn joined(events: Vec<Result<Event, ProtocolError>>) -> Vec<Result<Event, ProtocolError>> {
    let mut out: Vec<Result<Event, ProtocolError>> = Vec::new();
    for event in events {
        if event.is_err() && matches!(out.last(), Some(Ok(Event::Fragment(last))) if !last.is_last)
        {
            out.pop();
        }
        if let (Ok(Event::Fragment(next)), Some(Ok(Event::Fragment(last)))) =
            (&event, out.last_mut())
        {
            if !last.is_last {
                let mut data = last.data.to_vec();
                data.extend_from_slice(&next.data);
                last.data = data.into();
                last.is_last = next.is_last;
                continue;
            }
        }
        out.push(event);
    }
    out
}

/// The same round trips with permessage-deflate negotiated through the real
/// handshake, in every combination of the four parameters, levels and
/// thresholds: the events must be those of a pair without compression.
#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use weir_proto::deflate::DeflateConfig;
    use weir_proto::handshake::{
        AcceptOptions, ClientHandshake, ClientOptions, Incoming, ServerHandshake,
    };

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

    /// A client and a server connected through the handshake, with
    /// compression as the two configurations negotiate it (`None`: off).
    fn pair(
        client: Option<DeflateConfig>,
        server: Option<DeflateConfig>,
    ) -> (Connection, Connection) {
        let both = client.is_some() && server.is_some();
        let options = ClientOptions::default().with_deflate(client);
        let (mut handshake, request) =
            ClientHandshake::with_key("ws://example.com/", options, [9; 16]).unwrap();
        let Some(Incoming::Upgrade(upgrade)) = ServerHandshake::new().receive(&request).unwrap()
        else {
            panic!("not an upgrade");
        };
        let accept = AcceptOptions::default().with_deflate(server);
        let accepted = upgrade.accept(&accept, Config::default()).unwrap();
        let response = handshake.receive(&accepted.response).unwrap().unwrap();
        let client = response.connection_with_mask_seed(Config::default(), [4; 32]);
        assert_eq!(client.deflate(), accepted.connection.deflate());
        assert_eq!(client.deflate().is_some(), both);
        (client, accepted.connection)
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
            // Several rounds: context takeover carries history across them.
            for ops in &rounds {
                let ((sender, receiver), (plain_sender, plain_receiver)) = if from_client {
                    ((&mut c, &mut s), (&mut plain_c, &mut plain_s))
                } else {
                    ((&mut s, &mut c), (&mut plain_s, &mut plain_c))
                };
                let expected: Vec<Result<Event, ProtocolError>> =
                    send_ops(sender, ops).into_iter().map(Ok).collect();
                let events = feed(receiver, &drain(sender), &reads);
                prop_assert_eq!(&events, &expected);
                send_ops(plain_sender, ops);
                let plain_events = feed(plain_receiver, &drain(plain_sender), &reads);
                prop_assert_eq!(events, plain_events);
            }
        }
    }
}
