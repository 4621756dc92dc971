//! weir-tokio over real loopback sockets and in-memory pipes: messages both
//! ways, the closing handshake, split halves in two tasks, cancelled
//! receives, backpressure, keepalive on tokio's paused clock, the Close
//! before the end after a protocol error, and a stream carried inside
//! another's messages.

use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, TcpStream};
use weir_proto::handshake::{ClientHandshake, ClientOptions};
use weir_tokio::{
    accept_async, accept_with, connect_async, Config, Error, Message, WebSocketStream,
};

/// A server on a loopback port that echoes every message of every
/// connection; its address.
async fn echo_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut ws = accept_async(tcp).await.unwrap();
                while let Some(Ok(message)) = ws.next().await {
                    if ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    format!("ws://{address}/")
}

#[tokio::test]
async fn messages_both_ways_then_the_closing_handshake() {
    let url = echo_server().await;
    let (mut ws, response) = connect_async(&url).await.unwrap();
    assert_eq!(response.status(), 101);
    #[cfg(feature = "deflate")]
    assert!(
        response.deflate().is_some(),
        "compression is negotiated by default"
    );
    for message in [
        Message::from("hello"),
        Message::from(vec![0u8, 1, 2, 255]),
        Message::from("x".repeat(100_000)),
    ] {
        ws.send(message.clone()).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), message);
    }
    ws.close(weir_tokio::CloseCode::NORMAL, "bye")
        .await
        .unwrap();
    // The server answers the Close and closes TCP: the stream ends cleanly.
    assert!(ws.next().await.is_none());
    assert!(matches!(
        ws.send(Message::from("late")).await,
        Err(Error::AlreadyClosed)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_halves_work_from_two_tasks() {
    let url = echo_server().await;
    let (ws, _) = connect_async(&url).await.unwrap();
    let (mut read, mut write) = ws.split();
    const COUNT: usize = 2_000;
    let writer = tokio::spawn(async move {
        for i in 0..COUNT {
            write
                .send(Message::from(format!("message {i}")))
                .await
                .unwrap();
        }
        write
    });
    let reader = tokio::spawn(async move {
        for i in 0..COUNT {
            let message = read.next().await.unwrap().unwrap();
            assert_eq!(message, Message::from(format!("message {i}")));
        }
        read
    });
    let (write, read) = (writer.await.unwrap(), reader.await.unwrap());
    let mut ws = read.reunite(write).ok().expect("halves of one stream");
    ws.send(Message::from("again whole")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::from("again whole")
    );
}

#[tokio::test]
async fn a_cancelled_receive_loses_no_message() {
    let url = echo_server().await;
    let (mut ws, _) = connect_async(&url).await.unwrap();
    const COUNT: usize = 500;
    for i in 0..COUNT {
        ws.feed(Message::from(format!("{i}"))).await.unwrap();
    }
    ws.flush().await.unwrap();
    let mut received = Vec::new();
    let mut cancelled = 0;
    while received.len() < COUNT {
        // Poll `next()` once and drop it if it is not ready: a cancelled
        // receive, as in a `select!` that another branch won.
        match ws.next().now_or_never() {
            Some(message) => received.push(message.unwrap().unwrap()),
            None => {
                cancelled += 1;
                tokio::task::yield_now().await;
            }
        }
    }
    let expected: Vec<Message> = (0..COUNT).map(|i| Message::from(format!("{i}"))).collect();
    assert_eq!(received, expected);
    assert!(
        cancelled > 0,
        "no receive was ever cancelled: the test proved nothing"
    );
}

#[tokio::test]
async fn a_slow_reader_holds_the_sender_back() {
    const QUEUE: usize = 64 * 1024;
    const SIZE: usize = 16 * 1024;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let config = Config::default().with_max_send_queue(QUEUE);
        accept_with(tcp, config, |_| Ok(Default::default()))
            .await
            .unwrap()
    });
    let (mut client, _) = connect_async(&url).await.unwrap();
    let mut server = server.await.unwrap();
    // The client reads nothing: the server sends until a send must wait.
    let message = Message::from(vec![7u8; SIZE]);
    let mut sent = 0;
    loop {
        assert!(sent < 100_000, "the sender was never held back");
        match server.send(message.clone()).now_or_never() {
            Some(result) => {
                result.unwrap();
                sent += 1;
            }
            None => break,
        }
        let queued = server.with_connection(|core| core.buffered_amount());
        assert!(queued <= QUEUE + SIZE + 16, "{queued} bytes queued");
    }
    // Once the client reads, everything arrives, in order.
    let drain = tokio::spawn(async move {
        for _ in 0..sent {
            assert_eq!(client.next().await.unwrap().unwrap().len(), SIZE);
        }
        client
    });
    server.flush().await.unwrap();
    drain.await.unwrap();
}

/// A server stream over an in-memory pipe, and the raw client end, after
/// a handshake made by hand (the raw end speaks frames itself).
async fn server_and_raw_client(config: Config) -> (WebSocketStream<DuplexStream>, DuplexStream) {
    server_over_and_raw_client(config, |io| io).await
}

/// [`server_and_raw_client`], with the server's end of the pipe wrapped
/// by `wrap`.
async fn server_over_and_raw_client<S>(
    config: Config,
    wrap: impl FnOnce(DuplexStream) -> S,
) -> (WebSocketStream<S>, DuplexStream)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (server_io, mut raw) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(accept_with(wrap(server_io), config, |_| {
        Ok(Default::default())
    }));
    let (mut handshake, request) =
        ClientHandshake::new("ws://test/", ClientOptions::default()).unwrap();
    raw.write_all(&request).await.unwrap();
    let mut buf = vec![0; 4096];
    loop {
        let n = raw.read(&mut buf).await.unwrap();
        if handshake.receive(&buf[..n]).unwrap().is_some() {
            break;
        }
    }
    (server.await.unwrap().unwrap(), raw)
}

/// A ping after 30 s of silence, and the end 10 s later without an answer.
fn keepalive_config() -> Config {
    Config::default()
        .with_idle_timeout(Some(Duration::from_secs(30)))
        .with_ping_timeout(Duration::from_secs(10))
}

#[tokio::test(start_paused = true)]
async fn keepalive_pings_then_gives_up_on_a_silent_peer() {
    let (mut server, mut raw) = server_and_raw_client(keepalive_config()).await;
    let started = tokio::time::Instant::now();
    // The peer says nothing: a ping after 30 s, the end 10 s later.
    match server.next().await {
        Some(Err(Error::IdleTimeout(limit))) => assert_eq!(limit, Duration::from_secs(10)),
        other => panic!("expected the keepalive timeout, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_secs(40));
    let mut received = Vec::new();
    raw.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, [0x89, 0x00], "one empty ping, then the end");
    assert!(server.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn the_keepalive_follows_the_stream_into_its_halves_in_another_task() {
    let (mut server, _raw) = server_and_raw_client(keepalive_config()).await;
    let started = tokio::time::Instant::now();
    // One poll with a waker that wakes nobody arms the timer with it.
    assert!(server.next().now_or_never().is_none());
    let (mut read, _write) = server.split();
    let reader =
        tokio::spawn(
            async move { tokio::time::timeout(Duration::from_secs(100), read.next()).await },
        );
    match reader.await.unwrap() {
        Ok(Some(Err(Error::IdleTimeout(_)))) => {}
        other => panic!("expected the keepalive timeout, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_secs(40));
}

#[tokio::test(start_paused = true)]
async fn the_keepalive_runs_from_the_latest_input() {
    let (mut server, mut raw) = server_and_raw_client(keepalive_config()).await;
    let started = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(25)).await;
    raw.write_all(&[0x81, 0x81, 0, 0, 0, 0, b'x'])
        .await
        .unwrap();
    assert_eq!(server.next().await.unwrap().unwrap(), Message::from("x"));
    // Silence from 25 s: the ping at 55 s, the end at 65 s.
    match server.next().await {
        Some(Err(Error::IdleTimeout(_))) => {}
        other => panic!("expected the keepalive timeout, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_secs(65));
    let mut received = Vec::new();
    raw.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, [0x89, 0x00], "one empty ping, then the end");
}

#[tokio::test(start_paused = true)]
async fn the_close_timeout_runs_from_the_close_not_from_older_input() {
    let config = Config::default()
        .with_idle_timeout(None)
        .with_close_timeout(Some(Duration::from_secs(5)));
    let (mut server, mut raw) = server_and_raw_client(config).await;
    let started = tokio::time::Instant::now();
    raw.write_all(&[0x81, 0x81, 0, 0, 0, 0, b'x'])
        .await
        .unwrap();
    assert_eq!(server.next().await.unwrap().unwrap(), Message::from("x"));
    tokio::time::sleep(Duration::from_secs(100)).await;
    server
        .close(weir_tokio::CloseCode::NORMAL, "")
        .await
        .unwrap();
    // The peer never answers: the end 5 s after the Close.
    match server.next().await {
        Some(Err(Error::CloseTimeout(_))) => {}
        other => panic!("expected the close timeout, got {other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_secs(105));
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_talks_is_never_pinged() {
    let (mut server, mut raw) = server_and_raw_client(keepalive_config()).await;
    // A masked one-byte text frame every 20 s, for 200 s: the keepalive
    // deadline keeps moving, so no ping ever goes out.
    let talker = tokio::spawn(async move {
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_secs(20)).await;
            raw.write_all(&[0x81, 0x81, 0, 0, 0, 0, b'x'])
                .await
                .unwrap();
        }
        raw
    });
    for _ in 0..10 {
        assert_eq!(server.next().await.unwrap().unwrap(), Message::from("x"));
    }
    let mut raw = talker.await.unwrap();
    drop(server);
    let mut received = Vec::new();
    raw.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, [0u8; 0], "no ping");
}

#[tokio::test]
async fn the_answer_to_a_ping_is_flushed_over_a_buffered_transport() {
    let (mut server, mut raw) =
        server_over_and_raw_client(Config::default(), tokio::io::BufWriter::new).await;
    // A masked ping, "hi"; the server only waits for messages: nobody
    // flushes its sink.
    raw.write_all(&[0x89, 0x82, 0, 0, 0, 0, b'h', b'i'])
        .await
        .unwrap();
    tokio::spawn(async move { server.next().await.is_none() });
    let mut pong = [0; 4];
    tokio::time::timeout(Duration::from_secs(5), raw.read_exact(&mut pong))
        .await
        .expect("the pong arrives")
        .unwrap();
    assert_eq!(pong, [0x8a, 0x02, b'h', b'i']);
}

#[tokio::test]
async fn a_protocol_error_sends_the_close_before_the_end() {
    let (mut server, mut raw) = server_and_raw_client(Config::default()).await;
    // A client frame without a mask: 1002 (RFC 6455 section 5.1).
    raw.write_all(&[0x81, 0x02, b'h', b'i']).await.unwrap();
    match server.next().await {
        Some(Err(Error::Protocol(error))) => {
            assert_eq!(error.close_code(), weir_tokio::CloseCode::PROTOCOL_ERROR)
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    assert!(server.next().await.is_none());
    let mut received = Vec::new();
    raw.read_to_end(&mut received).await.unwrap();
    assert_eq!(&received[..4], [0x88, received[1], 0x03, 0xEA]);
}

#[tokio::test]
async fn plain_http_gets_426() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        accept_async(tcp).await
    });
    let mut tcp = TcpStream::connect(address).await.unwrap();
    tcp.write_all(b"GET /page HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
    match server.await.unwrap() {
        Err(Error::NotWebSocket(request)) => assert_eq!(request.path(), "/page"),
        other => panic!("expected NotWebSocket, got {:?}", other.map(|_| ())),
    }
}

/// Received messages are slices of the thread's read buffer: those kept
/// must stay intact while later reads, of this connection and of others
/// polled on the same thread, fill and renew it.
#[tokio::test]
async fn kept_messages_survive_the_reads_after_them() {
    const CONNECTIONS: usize = 2;
    let messages: Vec<Message> = (0..80u32)
        .map(|i| Message::from(vec![i as u8; (i as usize * 7919) % 40_000 + 1]))
        .collect();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    for _ in 0..CONNECTIONS {
        let (url, messages) = (url.clone(), messages.clone());
        tokio::spawn(async move {
            let (mut client, _) = connect_async(&url).await.unwrap();
            for message in messages {
                client.feed(message).await.unwrap();
            }
            client
                .close(weir_tokio::CloseCode::NORMAL, "")
                .await
                .unwrap();
            while client.next().await.is_some() {}
        });
    }
    let mut servers = Vec::new();
    for _ in 0..CONNECTIONS {
        let (tcp, _) = listener.accept().await.unwrap();
        // Uncompressed, so messages come straight from the read buffer.
        servers.push(
            accept_with(tcp, Config::default(), |_| Ok(uncompressed()))
                .await
                .unwrap(),
        );
    }
    // Both connections read in one task, so on one thread, interleaved.
    let kept = futures_util::future::join_all(
        servers
            .into_iter()
            .map(|server| server.map(Result::unwrap).collect::<Vec<_>>()),
    )
    .await;
    for received in kept {
        assert!(received == messages, "a kept message changed");
    }
}

/// Accept options that decline permessage-deflate.
fn uncompressed() -> weir_proto::handshake::AcceptOptions {
    weir_proto::handshake::AcceptOptions {
        #[cfg(feature = "deflate")]
        deflate: None,
        ..Default::default()
    }
}

/// A byte stream carried in the binary messages of a WebSocket stream: its
/// reads poll that stream, on the same thread, from inside `poll_read`.
struct Tunnel {
    inner: WebSocketStream<DuplexStream>,
    pending: bytes::Bytes,
}

impl tokio::io::AsyncRead for Tunnel {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        if self.pending.is_empty() {
            match std::task::ready!(self.inner.poll_next_unpin(cx)) {
                Some(Ok(message)) => self.pending = message.payload().clone(),
                Some(Err(error)) => return Poll::Ready(Err(std::io::Error::other(error))),
                None => return Poll::Ready(Ok(())),
            }
        }
        let n = buf.remaining().min(self.pending.len());
        buf.put_slice(&self.pending.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Tunnel {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::ready!(self.inner.poll_ready_unpin(cx)).map_err(std::io::Error::other)?;
        let message = Message::from(buf.to_vec());
        self.inner
            .start_send_unpin(message)
            .map_err(std::io::Error::other)?;
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.inner
            .poll_flush_unpin(cx)
            .map_err(std::io::Error::other)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.inner
            .poll_close_unpin(cx)
            .map_err(std::io::Error::other)
    }
}

/// The wire bytes of `message` as a client sends it (masked).
fn client_frame(message: Message) -> Vec<u8> {
    let mut client =
        weir_proto::Connection::new(weir_proto::Role::Client, Config::default()).unwrap();
    client.send(message).unwrap();
    let mut wire = Vec::new();
    while let Some(chunk) = client.poll_transmit() {
        wire.extend_from_slice(&chunk);
    }
    wire
}

/// A stream whose transport reads through another stream on the same
/// thread (a WebSocket inside another's messages) gets its messages: the
/// inner read does not find the per-thread read buffer in use and panic.
#[tokio::test]
async fn a_stream_carried_inside_another_reads_on_the_same_thread() {
    let (inner, mut raw) = server_over_and_raw_client(Config::default(), |io| io).await;
    let tunnel = Tunnel {
        inner,
        pending: bytes::Bytes::new(),
    };
    let core = weir_proto::Connection::new(weir_proto::Role::Server, Config::default()).unwrap();
    let mut outer = WebSocketStream::from_connection(tunnel, core);
    let carried = client_frame(Message::from("carried"));
    raw.write_all(&client_frame(Message::from(carried)))
        .await
        .unwrap();
    let received = outer.next().await.unwrap().unwrap();
    assert_eq!(received, Message::from("carried"));
}
