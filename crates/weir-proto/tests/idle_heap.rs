//! An idle connection holds no heap memory for what it has carried: after
//! messages both ways, read in pieces of several sizes, dropping the
//! connection frees exactly what dropping a fresh one frees. With the
//! `deflate` feature, the same holds with compression negotiated and no
//! context takeover, and a fresh connection that negotiated it holds no
//! more heap than one that did not.
//!
//! The heap is counted by dhat's allocator, so the whole file is one test:
//! nothing else allocates while it measures.

use weir_proto::handshake::{AcceptOptions, ClientOptions};
use weir_proto::{Config, Connection, Event, Message};
use weir_test_support::pair;

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// Message sizes around the frame header's length forms, and one larger
/// than a typical read.
const SIZES: [usize; 6] = [0, 1, 125, 126, 1000, 70_000];
/// Read sizes: one byte short of anything useful, a socket-sized read, and
/// everything at once (which leaves the read buffer with no spare room).
const READS: [usize; 3] = [3, 4096, usize::MAX];

#[test]
fn idle_connections_hold_no_heap_for_past_messages() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let plain = || pair(ClientOptions::default(), AcceptOptions::default());
    check_nothing_left_behind("uncompressed", plain);

    #[cfg(feature = "deflate")]
    {
        use weir_proto::deflate::DeflateConfig;
        let compressed = || {
            pair(
                ClientOptions::default().with_deflate(Some(DeflateConfig::low_memory())),
                AcceptOptions::default().with_deflate(Some(DeflateConfig::low_memory())),
            )
        };
        let (client, server) = compressed();
        assert!(client.deflate().is_some() && server.deflate().is_some());
        let (plain_client, plain_server) = plain();
        assert_eq!(heap_freed_by_drop(client), heap_freed_by_drop(plain_client));
        assert_eq!(heap_freed_by_drop(server), heap_freed_by_drop(plain_server));
        check_nothing_left_behind("compressed, no context takeover", compressed);
    }
}

/// Exchanges every size in every read pattern on a pair from `make`, and
/// checks that each endpoint then frees on drop what a fresh one frees.
fn check_nothing_left_behind(what: &str, make: impl Fn() -> (Connection, Connection)) {
    let (fresh_client, fresh_server) = make();
    let fresh_client = heap_freed_by_drop(fresh_client);
    let fresh_server = heap_freed_by_drop(fresh_server);
    for size in SIZES {
        for read in READS {
            let (mut client, mut server) = make();
            echo(&mut client, &mut server, size, read);
            assert_eq!(
                heap_freed_by_drop(client),
                fresh_client,
                "{what}: client after a {size}-byte echo read {read} bytes at a time"
            );
            assert_eq!(
                heap_freed_by_drop(server),
                fresh_server,
                "{what}: server after a {size}-byte echo read {read} bytes at a time"
            );
        }
    }
}

/// The client sends a text message of `size` bytes, the server echoes it,
/// every byte read `read` bytes at a time; the events are dropped.
fn echo(client: &mut Connection, server: &mut Connection, size: usize, read: usize) {
    // Compressible, but not to nothing.
    let text: String = (0..size)
        .map(|i| char::from(b'a' + (i % 7) as u8))
        .collect();
    client.send(Message::from(text.clone())).unwrap();
    let message = deliver(client, server, read);
    server.send(message).unwrap();
    assert_eq!(deliver(server, client, read), Message::from(text));
}

/// Moves everything `from` has to send into `to`, `read` bytes at a time,
/// and returns the one message that arrives.
fn deliver(from: &mut Connection, to: &mut Connection, read: usize) -> Message {
    let mut wire = Vec::new();
    while let Some(chunk) = from.poll_transmit() {
        wire.extend_from_slice(&chunk);
    }
    let mut events = Vec::new();
    for piece in wire.chunks(read.min(wire.len()).max(1)) {
        to.receive(piece);
        // As the API asks: poll until there is nothing more.
        while let Some(event) = to.poll_event() {
            events.push(event);
        }
    }
    match <[_; 1]>::try_from(events) {
        Ok([Ok(Event::Message(message))]) => message,
        other => panic!("expected one message, got {other:?}"),
    }
}

/// A connected client and server, from a real handshake.
fn pair(client: ClientOptions, server: AcceptOptions) -> (Connection, Connection) {
    pair::connect(client, server, Config::default(), Config::default())
}

/// The heap bytes that dropping `connection` gives back.
fn heap_freed_by_drop(connection: Connection) -> u64 {
    let before = dhat::HeapStats::get().curr_bytes;
    drop(connection);
    before.saturating_sub(dhat::HeapStats::get().curr_bytes) as u64
}
