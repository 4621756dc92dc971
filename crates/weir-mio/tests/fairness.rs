//! Fairness between the connections of one loop: a peer with a large
//! stream of input waiting does not hold the loop until all of it is read;
//! another connection's message is handled after at most one read budget
//! of it.
//!
//! The loop runs on the test's thread, turn by turn, so that both peers'
//! bytes are waiting in the server's sockets before it reads any.

use std::io::Write;
use std::net::TcpStream;
use std::time::Instant;

use weir_mio::{Config, ConnId, EventLoop, Handler, Message, Opened, Ws};
use weir_test_support::{
    frames::frame,
    tcp::{read_head, tcp},
    PATIENCE,
};

/// Records the connections that opened and every message, in order.
#[derive(Default)]
struct Order {
    opened: Vec<ConnId>,
    messages: Vec<(ConnId, usize)>,
}

impl Handler for Order {
    fn on_open(&mut self, ws: &mut Ws<'_>, _opened: Opened<'_>) {
        self.opened.push(ws.id());
    }

    fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
        self.messages.push((ws.id(), message.len()));
    }
}

const UPGRADE: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

#[test]
fn a_small_message_is_not_held_behind_a_large_stream_on_the_same_loop() {
    const CHUNK: usize = 4 << 10;
    const FLOOD: usize = 32;
    const SIZE: usize = 1 << 10;
    let config = Config::default()
        .with_read_buffer_size(CHUNK)
        .with_read_budget(CHUNK);
    let mut event_loop = EventLoop::new(config).unwrap();
    let addr = event_loop.listen("127.0.0.1:0").unwrap();
    let mut order = Order::default();
    let deadline = Instant::now() + PATIENCE;

    let mut flooder: TcpStream = tcp(addr);
    flooder.write_all(UPGRADE).unwrap();
    while order.opened.is_empty() {
        assert!(Instant::now() < deadline, "the flooder never opened");
        event_loop.run_once(&mut order, Some(PATIENCE)).unwrap();
    }
    let mut small: TcpStream = tcp(addr);
    small.write_all(UPGRADE).unwrap();
    while order.opened.len() < 2 {
        assert!(Instant::now() < deadline, "the small client never opened");
        event_loop.run_once(&mut order, Some(PATIENCE)).unwrap();
    }
    let (flooder_id, small_id) = (order.opened[0], order.opened[1]);
    assert!(read_head(&mut flooder).starts_with("HTTP/1.1 101"));
    assert!(read_head(&mut small).starts_with("HTTP/1.1 101"));

    // 32 KiB from the flooder, then a few bytes from the other: all of it
    // waits in the server's sockets (loopback buffers hold far more).
    let mask = Some([1, 2, 3, 4]);
    let flood: Vec<u8> = (0..FLOOD)
        .flat_map(|_| frame(0x2, &[0xab; SIZE], mask))
        .collect();
    flooder.write_all(&flood).unwrap();
    small.write_all(&frame(0x1, b"me too", mask)).unwrap();

    while order.messages.len() < FLOOD + 1 {
        assert!(
            Instant::now() < deadline,
            "messages missing: {:?}",
            order.messages
        );
        event_loop.run_once(&mut order, Some(PATIENCE)).unwrap();
    }
    let small_at = order
        .messages
        .iter()
        .position(|&(id, _)| id == small_id)
        .unwrap();
    let flooded = order
        .messages
        .iter()
        .filter(|&&(id, len)| id == flooder_id && len == SIZE)
        .count();
    assert_eq!(flooded, FLOOD);
    // One budget of the flood holds four of its messages; the small one
    // comes in the first turn or the next, well before the flood's end.
    assert!(
        small_at <= 2 * CHUNK / SIZE,
        "the small message came {small_at}th of {}",
        FLOOD + 1
    );
}
