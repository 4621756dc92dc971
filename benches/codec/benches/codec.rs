//! Codec micro-benchmarks: weir-proto beside tungstenite and fastwebsockets.
//!
//! Groups are named by workload (`decode/binary/16384`, `unmask/65536`, ...)
//! and hold one function per implementation, so each report puts them side by
//! side. Everything runs in memory: the peers read from a stream that yields
//! pre-built bytes (at most `READ_CHUNK` per read) and write to a sink.
//!
//! Quick check: `cargo bench -p weir-bench-codec -- --test` runs every
//! benchmark once, including the sanity checks (message counts, byte counts).

use std::future::Future;
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use weir_bench_codec::{
    ascii_text, batch_count, header_len, masked_wire, message, mixed_text, payload, random_bytes,
    weir_decode, Entry, Kind, READ_CHUNK, SIZES,
};
use weir_proto::handshake::{AcceptOptions, Incoming, ServerHandshake};
use weir_proto::mask::apply_mask;
use weir_proto::utf8::Utf8Validator;
use weir_proto::{Config, Connection, Message, Role};

// ---------------------------------------------------------------------------
// In-memory transports
// ---------------------------------------------------------------------------

/// A stream that reads pre-built bytes (at most `READ_CHUNK` per read, then
/// `WouldBlock`, or EOF for the async version) and swallows every write.
struct MemStream {
    input: Arc<[u8]>,
    pos: usize,
    written: usize,
}

impl MemStream {
    fn new(input: Arc<[u8]>) -> Self {
        Self {
            input,
            pos: 0,
            written: 0,
        }
    }

    /// Copies the next bytes into `buf`; 0 when exhausted.
    fn take_into(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(READ_CHUNK).min(self.input.len() - self.pos);
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        n
    }
}

impl Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.input.len() && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(self.take_into(buf))
    }
}

impl Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len();
        Ok(buf.len())
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = bufs.iter().map(|b| b.len()).sum();
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for MemStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let n = buf
            .remaining()
            .min(READ_CHUNK)
            .min(this.input.len() - this.pos);
        buf.put_slice(&this.input[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for MemStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Write::write(self.get_mut(), buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Write::write_vectored(self.get_mut(), bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs a future that never waits (its I/O is in memory) to completion with
/// a no-op waker: no runtime in the measurement.
fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory future returned Pending"),
    }
}

// ---------------------------------------------------------------------------
// Decode: what a server receives (masked frames)
// ---------------------------------------------------------------------------

fn weir_server() -> Connection {
    Connection::new(Role::Server, Config::default()).expect("a server draws no entropy")
}

fn tungstenite_config() -> tungstenite::protocol::WebSocketConfig {
    tungstenite::protocol::WebSocketConfig::default()
}

fn tungstenite_server(input: Arc<[u8]>) -> tungstenite::WebSocket<MemStream> {
    tungstenite::WebSocket::from_raw_socket(
        MemStream::new(input),
        tungstenite::protocol::Role::Server,
        Some(tungstenite_config()),
    )
}

/// tungstenite: read messages until the stream would block.
fn tungstenite_decode(ws: &mut tungstenite::WebSocket<MemStream>) -> usize {
    let mut messages = 0;
    loop {
        match ws.read() {
            Ok(message @ (tungstenite::Message::Text(_) | tungstenite::Message::Binary(_))) => {
                black_box(message);
                messages += 1;
            }
            Err(tungstenite::Error::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                return messages
            }
            other => panic!("tungstenite: unexpected {other:?}"),
        }
    }
}

fn fastwebsockets_server(input: Arc<[u8]>) -> fastwebsockets::WebSocket<MemStream> {
    fastwebsockets::WebSocket::after_handshake(MemStream::new(input), fastwebsockets::Role::Server)
}

/// fastwebsockets: read frames (unmasked, text validated; every message is
/// one frame) until the stream ends.
fn fastwebsockets_decode(ws: &mut fastwebsockets::WebSocket<MemStream>) -> usize {
    run_ready(async {
        let mut messages = 0;
        loop {
            match ws.read_frame().await {
                Ok(frame) => {
                    assert!(matches!(
                        frame.opcode,
                        fastwebsockets::OpCode::Text | fastwebsockets::OpCode::Binary
                    ));
                    black_box(frame);
                    messages += 1;
                }
                Err(fastwebsockets::WebSocketError::UnexpectedEOF) => return messages,
                Err(e) => panic!("fastwebsockets: unexpected {e:?}"),
            }
        }
    })
}

fn bench_decode(c: &mut Criterion) {
    for kind in [Kind::Binary, Kind::Text] {
        for len in SIZES {
            let count = batch_count(len);
            let message = message(kind, len);
            let wire: Arc<[u8]> = masked_wire(&message, count).into();

            // Sanity: every implementation decodes every message, once.
            assert_eq!(
                weir_decode(&mut weir_server(), &wire, Entry::Slice),
                count,
                "weir decode"
            );
            assert_eq!(
                weir_decode(&mut weir_server(), &wire, Entry::OwnedBuffer),
                count,
                "weir decode (owned buffer)"
            );
            assert_eq!(
                tungstenite_decode(&mut tungstenite_server(wire.clone())),
                count,
                "tungstenite decode"
            );
            assert_eq!(
                fastwebsockets_decode(&mut fastwebsockets_server(wire.clone())),
                count,
                "fastwebsockets decode"
            );

            let mut group = c.benchmark_group(format!("decode/{}/{len}", kind.name()));
            group.throughput(Throughput::Bytes(wire.len() as u64));
            group.bench_function("weir", |b| {
                b.iter_batched_ref(
                    weir_server,
                    |conn| weir_decode(conn, &wire, Entry::Slice),
                    BatchSize::PerIteration,
                )
            });
            group.bench_function("weir (owned buffer)", |b| {
                b.iter_batched_ref(
                    weir_server,
                    |conn| weir_decode(conn, &wire, Entry::OwnedBuffer),
                    BatchSize::PerIteration,
                )
            });
            group.bench_function("tungstenite", |b| {
                b.iter_batched_ref(
                    || tungstenite_server(wire.clone()),
                    tungstenite_decode,
                    BatchSize::PerIteration,
                )
            });
            group.bench_function("fastwebsockets", |b| {
                b.iter_batched_ref(
                    || fastwebsockets_server(wire.clone()),
                    fastwebsockets_decode,
                    BatchSize::PerIteration,
                )
            });
            group.finish();
        }
    }
}

// ---------------------------------------------------------------------------
// Encode: what a server sends (unmasked frames)
// ---------------------------------------------------------------------------

/// weir: queue `count` messages, then drain the output (the chunks are what
/// a transport would write; dropping them is the sink).
fn weir_encode(conn: &mut Connection, message: &Message, count: usize) -> usize {
    for _ in 0..count {
        conn.send(message.clone()).expect("weir send");
    }
    let mut written = 0;
    while let Some(chunk) = conn.poll_transmit() {
        written += chunk.len();
        black_box(chunk);
    }
    written
}

fn tungstenite_encode(
    ws: &mut tungstenite::WebSocket<MemStream>,
    message: &tungstenite::Message,
    count: usize,
) -> usize {
    let before = ws.get_ref().written;
    for _ in 0..count {
        ws.write(message.clone()).expect("tungstenite write");
    }
    ws.flush().expect("tungstenite flush");
    ws.get_ref().written - before
}

fn fastwebsockets_encode(
    ws: &mut fastwebsockets::WebSocket<MemStream>,
    kind: Kind,
    payload: &[u8],
    count: usize,
) {
    run_ready(async {
        for _ in 0..count {
            let data = fastwebsockets::Payload::Borrowed(payload);
            let frame = match kind {
                Kind::Text => fastwebsockets::Frame::text(data),
                Kind::Binary => fastwebsockets::Frame::binary(data),
            };
            ws.write_frame(frame).await.expect("fastwebsockets write");
        }
    })
}

fn bench_encode(c: &mut Criterion) {
    let empty: Arc<[u8]> = Arc::from(&[][..]);
    for kind in [Kind::Binary, Kind::Text] {
        for len in SIZES {
            let count = batch_count(len);
            let message = message(kind, len);
            let expected = count * (header_len(len, false) + len);
            let bytes: Bytes = payload(&message);
            let peer_message = match kind {
                Kind::Text => tungstenite::Message::Text(
                    tungstenite::Utf8Bytes::try_from(bytes.clone()).expect("text"),
                ),
                Kind::Binary => tungstenite::Message::Binary(bytes.clone()),
            };
            let weir_conn = || {
                Connection::new(
                    Role::Server,
                    Config::default().with_max_send_queue(usize::MAX),
                )
                .expect("a server draws no entropy")
            };
            let tungstenite_ws = || {
                tungstenite::WebSocket::from_raw_socket(
                    MemStream::new(empty.clone()),
                    tungstenite::protocol::Role::Server,
                    Some(tungstenite_config()),
                )
            };
            let fast_ws = || fastwebsockets_server(empty.clone());

            // Sanity: every implementation writes the same number of bytes.
            assert_eq!(
                weir_encode(&mut weir_conn(), &message, count),
                expected,
                "weir encode"
            );
            assert_eq!(
                tungstenite_encode(&mut tungstenite_ws(), &peer_message, count),
                expected,
                "tungstenite encode"
            );
            let mut ws = fast_ws();
            fastwebsockets_encode(&mut ws, kind, &bytes, count);
            assert_eq!(ws.into_inner().written, expected, "fastwebsockets encode");

            let mut group = c.benchmark_group(format!("encode/{}/{len}", kind.name()));
            group.throughput(Throughput::Bytes(expected as u64));
            group.bench_function("weir", |b| {
                b.iter_batched_ref(
                    weir_conn,
                    |conn| weir_encode(conn, &message, count),
                    BatchSize::PerIteration,
                )
            });
            group.bench_function("tungstenite", |b| {
                b.iter_batched_ref(
                    tungstenite_ws,
                    |ws| tungstenite_encode(ws, &peer_message, count),
                    BatchSize::PerIteration,
                )
            });
            group.bench_function("fastwebsockets", |b| {
                b.iter_batched_ref(
                    fast_ws,
                    |ws| fastwebsockets_encode(ws, kind, &bytes, count),
                    BatchSize::PerIteration,
                )
            });
            group.finish();
        }
    }
}

// ---------------------------------------------------------------------------
// Unmasking beside memcpy
// ---------------------------------------------------------------------------

fn bench_unmask(c: &mut Criterion) {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    for len in [16 << 10, 64 << 10, 1 << 20] {
        let src = random_bytes(len, 99);
        let mut dst = vec![0u8; len];
        // The copy's destination sits half a page away from the source
        // (mod 4096): on this machine's glibc 2.36 + AMD CPU, `rep movsb`
        // (which glibc's memcpy uses from 2 KiB up) runs at ~1.5 GiB/s
        // instead of ~40 GiB/s when the distance is a few bytes mod 4096, and
        // two fresh allocations of the same size land exactly there. The
        // physical limit is the unaliased copy.
        let mut copy_storage = vec![0u8; len + 4096];
        let distance = (src.as_ptr() as usize + 2048).wrapping_sub(copy_storage.as_ptr() as usize);
        let copy_dst = &mut copy_storage[distance % 4096..][..len];
        let mut group = c.benchmark_group(format!("unmask/{len}"));
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function("weir_apply_mask", |b| {
            b.iter(|| apply_mask(black_box(&mut dst[..]), black_box(key), 0))
        });
        group.bench_function("fastwebsockets_unmask", |b| {
            b.iter(|| fastwebsockets::unmask(black_box(&mut dst[..]), black_box(key)))
        });
        group.bench_function("memcpy", |b| {
            b.iter(|| black_box(&mut *copy_dst).copy_from_slice(black_box(&src[..])))
        });
        group.finish();
    }
}

// ---------------------------------------------------------------------------
// UTF-8 validation beside std
// ---------------------------------------------------------------------------

fn bench_utf8(c: &mut Criterion) {
    let len = 64 << 10;
    for (name, text) in [("ascii", ascii_text(len)), ("mixed", mixed_text(len))] {
        assert_eq!(text.len(), len);
        let bytes = text.as_bytes();
        let mut group = c.benchmark_group(format!("utf8/{name}/{len}"));
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function("weir_feed_finish", |b| {
            b.iter(|| {
                let mut validator = Utf8Validator::new();
                validator.feed(black_box(bytes)).expect("valid");
                validator.finish().expect("complete");
            })
        });
        group.bench_function("std_from_utf8", |b| {
            b.iter(|| std::str::from_utf8(black_box(bytes)).expect("valid").len())
        });
        group.finish();
    }
}

// ---------------------------------------------------------------------------
// Server handshake
// ---------------------------------------------------------------------------

/// A request as Chrome sends it.
const BROWSER_REQUEST: &str = "GET /chat HTTP/1.1\r\n\
Host: example.com:8080\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: https://example.com\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
\r\n";

fn weir_handshake(request: &[u8], options: &AcceptOptions) -> Vec<u8> {
    let mut handshake = ServerHandshake::new();
    match handshake.receive(request).expect("valid request") {
        // `accept` also builds the server's Connection (and, when the
        // request offers permessage-deflate and `options` accept it, its
        // compression slot), as a server needs it anyway.
        Some(Incoming::Upgrade(upgrade)) => {
            upgrade
                .accept(options, Config::default())
                .expect("accept")
                .response
        }
        other => panic!("weir: unexpected {other:?}"),
    }
}

fn tungstenite_handshake(stream: MemStream) -> usize {
    let ws = tungstenite::accept(stream).expect("tungstenite accept");
    ws.get_ref().written
}

fn bench_handshake(c: &mut Criterion) {
    let request = BROWSER_REQUEST.as_bytes();
    let input: Arc<[u8]> = Arc::from(request);
    let options = AcceptOptions::default();

    // Sanity: both answer 101 with the RFC's example accept key.
    let answer = String::from_utf8(weir_handshake(request, &options)).expect("ascii");
    assert!(answer.starts_with("HTTP/1.1 101"), "{answer}");
    assert!(answer.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{answer}");
    assert!(tungstenite_handshake(MemStream::new(input.clone())) > 0);

    let mut group = c.benchmark_group("handshake/server");
    group.throughput(Throughput::Elements(1));
    group.bench_function("weir", |b| {
        b.iter(|| weir_handshake(black_box(request), &options))
    });
    group.bench_function("tungstenite", |b| {
        b.iter_batched(
            || MemStream::new(input.clone()),
            tungstenite_handshake,
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_decode,
    bench_encode,
    bench_unmask,
    bench_utf8,
    bench_handshake
);
criterion_main!(benches);
