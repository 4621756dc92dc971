//! Deadlines in the core, on a simulated clock: keepalive pings and their
//! deadline, the closing handshake's timeout, and the end of input. No test
//! sleeps; each runs simulated minutes in microseconds.

use std::time::Duration;

use weir_proto::{
    CloseCode, CloseFrame, Config, Connection, Event, Message, Role, State, TimedOut,
};
use weir_test_support::pair::{Pair, Seen};

const SECOND: Duration = Duration::from_secs(1);

fn config() -> Config {
    Config::default()
        .with_idle_timeout(Some(30 * SECOND))
        .with_ping_timeout(10 * SECOND)
        .with_close_timeout(Some(5 * SECOND))
}

fn pongs(seen: &[Seen]) -> usize {
    seen.iter()
        .filter(|s| matches!(s, Seen::Event(Event::Pong(_))))
        .count()
}

fn pings(seen: &[Seen]) -> usize {
    seen.iter()
        .filter(|s| matches!(s, Seen::Event(Event::Ping(_))))
        .count()
}

#[test]
fn a_connection_never_told_the_time_has_no_deadlines() {
    let conn = Connection::with_mask_seed(Role::Server, config(), [0; 32]);
    assert_eq!(conn.poll_timeout(), None);
}

#[test]
fn keepalive_pings_a_quiet_peer_and_a_live_one_answers() {
    let mut pair = Pair::with(config());
    pair.advance(30 * SECOND - Duration::from_millis(1));
    assert_eq!(
        pings(&pair.client_saw()),
        0,
        "no ping before the idle timeout"
    );
    pair.advance(Duration::from_millis(1));
    // Both sides keep alive: each pings the other once, each gets a pong.
    let client = pair.client_saw();
    let server = pair.server_saw();
    assert_eq!((pings(&client), pongs(&client)), (1, 1), "{client:?}");
    assert_eq!((pings(&server), pongs(&server)), (1, 1), "{server:?}");
    // Ten minutes of quiet: one ping each per idle period, never a timeout.
    pair.advance(600 * SECOND);
    let client = pair.client_saw();
    assert_eq!(pongs(&client), 20, "{client:?}");
    assert!(!client.iter().any(|s| matches!(s, Seen::TimedOut(_))));
    assert!(!pair
        .server_saw()
        .iter()
        .any(|s| matches!(s, Seen::TimedOut(_))));
    assert_eq!(pair.server.conn.state(), State::Open);
}

#[test]
fn input_defers_the_keepalive_ping() {
    let mut pair = Pair::new(config().with_idle_timeout(None), config());
    for _ in 0..10 {
        pair.advance(29 * SECOND);
        pair.client.conn.send(Message::from("still here")).unwrap();
        pair.drive();
    }
    assert_eq!(pings(&pair.client_saw()), 0, "the server never pinged");
    assert_eq!(pair.server_saw().len(), 10);
}

#[test]
fn a_dead_peer_times_out_after_idle_plus_ping_timeout() {
    let mut pair = Pair::with(config());
    // The client vanishes: nothing it sends arrives, and it never reads.
    pair.up.drop = true;
    pair.down.stalled = true;
    pair.advance(40 * SECOND - Duration::from_millis(1));
    assert!(pair.server_saw().is_empty());
    assert!(!pair.server.conn.should_close_transport());
    pair.advance(Duration::from_millis(1));
    assert_eq!(
        pair.server_saw(),
        [Seen::TimedOut(TimedOut::Keepalive), Seen::ClosedTransport]
    );
    assert_eq!(pair.server.conn.state(), State::Closed);
    assert_eq!(pair.server.conn.buffered_amount(), 0, "output dropped");
    assert!(pair.server.conn.send(Message::from("late")).is_err());
}

#[test]
fn keepalive_off_means_no_pings() {
    let quiet = config().with_idle_timeout(None);
    let mut pair = Pair::with(quiet);
    pair.advance(3600 * SECOND);
    assert!(pair.client_saw().is_empty());
    assert!(pair.server_saw().is_empty());
    assert_eq!(pair.server.conn.poll_timeout(), None);
}

#[test]
fn closing_handshake_completes_and_the_server_closes_first() {
    let mut pair = Pair::with(config());
    pair.client.conn.close(CloseCode::NORMAL, "bye").unwrap();
    pair.drive();
    let close = CloseFrame {
        code: CloseCode::NORMAL,
        reason: "bye".into(),
    };
    assert_eq!(
        pair.server_saw(),
        [
            Seen::Event(Event::Close(Some(close))),
            Seen::ClosedTransport
        ]
    );
    // The client saw the reply, then the server's TCP close, and closes.
    let client = pair.client_saw();
    assert!(matches!(client[0], Seen::Event(Event::Close(Some(_)))));
    assert_eq!(client[1..], [Seen::Eof(None), Seen::ClosedTransport]);
}

#[test]
fn a_peer_that_never_answers_the_close_times_out() {
    let mut pair = Pair::with(config());
    pair.up.drop = true; // the server never sees the client's Close
    pair.client.conn.close(CloseCode::GOING_AWAY, "").unwrap();
    pair.advance(5 * SECOND - Duration::from_millis(1));
    assert!(pair.client_saw().is_empty());
    pair.advance(Duration::from_millis(1));
    assert_eq!(
        pair.client_saw(),
        [Seen::TimedOut(TimedOut::Close), Seen::ClosedTransport]
    );
}

#[test]
fn a_client_waits_for_the_servers_tcp_close_for_the_close_timeout() {
    let mut pair = Pair::with(config());
    // The server completes the closing handshake and closes TCP, but its
    // FIN never reaches the client.
    pair.down.hold_eof = true;
    pair.client.conn.close(CloseCode::NORMAL, "").unwrap();
    pair.drive();
    let client = pair.client_saw();
    assert!(
        matches!(client[..], [Seen::Event(Event::Close(_))]),
        "{client:?}"
    );
    assert!(pair.server.closed);
    pair.advance(5 * SECOND - Duration::from_millis(1));
    assert!(
        !pair.client.conn.should_close_transport(),
        "waits for the server"
    );
    pair.advance(Duration::from_millis(1));
    assert_eq!(
        pair.client_saw(),
        [Seen::TimedOut(TimedOut::Close), Seen::ClosedTransport]
    );
}

#[test]
fn a_close_reply_that_cannot_drain_times_out() {
    let mut pair = Pair::with(config());
    pair.down.stalled = true; // the client reads nothing
    pair.client.conn.close(CloseCode::NORMAL, "").unwrap();
    pair.drive();
    assert!(matches!(
        pair.server_saw()[..],
        [Seen::Event(Event::Close(_))]
    ));
    assert!(
        !pair.server.conn.should_close_transport(),
        "reply still queued"
    );
    pair.advance(5 * SECOND);
    assert_eq!(
        pair.server_saw(),
        [Seen::TimedOut(TimedOut::Close), Seen::ClosedTransport]
    );
}

#[test]
fn a_protocol_error_closes_after_the_close_frame_drains() {
    let mut pair = Pair::with(config());
    // An unmasked frame from the client is a protocol error (1002).
    pair.server.conn.receive(&[0x81, 0x00]);
    pair.drive();
    let server = pair.server_saw();
    assert!(matches!(server[0], Seen::Error(_)), "{server:?}");
    assert_eq!(server[1..], [Seen::ClosedTransport]);
    let client = pair.client_saw();
    let Seen::Event(Event::Close(Some(frame))) = &client[0] else {
        panic!("{client:?}");
    };
    assert_eq!(frame.code, CloseCode::PROTOCOL_ERROR);
}

#[test]
fn end_of_input_before_the_close_is_abnormal() {
    let mut pair = Pair::with(config());
    // Half a frame, then the client's transport ends.
    let mut client = Connection::with_mask_seed(Role::Client, config(), [5; 32]);
    client.send(Message::from("cut short")).unwrap();
    let frame = client.poll_transmit().unwrap();
    pair.server.conn.receive(&frame[..4]);
    pair.client.closed = true;
    pair.drive();
    assert_eq!(
        pair.server_saw(),
        [Seen::Eof(Some(CloseCode::ABNORMAL)), Seen::ClosedTransport]
    );
    assert_eq!(pair.server.conn.state(), State::Closed);
    assert_eq!(pair.server.conn.poll_timeout(), None);
}

#[test]
fn messages_before_the_end_of_input_still_arrive() {
    let mut pair = Pair::with(config());
    pair.up.piece = 1;
    pair.up.delay = SECOND;
    pair.client.conn.send(Message::from("last words")).unwrap();
    pair.drive();
    // The client's transport ends while its message is in flight.
    pair.client.closed = true;
    pair.advance(SECOND);
    assert_eq!(
        pair.server_saw(),
        [
            Seen::Event(Event::Message(Message::from("last words"))),
            Seen::Eof(Some(CloseCode::ABNORMAL)),
            Seen::ClosedTransport
        ]
    );
}

#[test]
fn slow_links_and_split_reads_change_nothing() {
    for piece in [1, 3, 0] {
        let mut pair = Pair::with(config());
        pair.up.delay = 2 * SECOND;
        pair.down.delay = 2 * SECOND;
        pair.up.piece = piece;
        pair.down.piece = piece;
        // Round trips of 4 s keep each side's input fresh well within 30 s.
        for _ in 0..20 {
            pair.client.conn.send(Message::from("ping-pong")).unwrap();
            pair.advance(10 * SECOND);
            let saw = pair.server_saw();
            assert_eq!(
                saw,
                [Seen::Event(Event::Message(Message::from("ping-pong")))]
            );
            pair.server.conn.send(Message::from("back")).unwrap();
        }
        pair.advance(SECOND);
        assert!(!pair
            .client_saw()
            .iter()
            .any(|s| matches!(s, Seen::TimedOut(_))));
    }
}
