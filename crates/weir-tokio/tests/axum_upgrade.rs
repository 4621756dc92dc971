//! The `axum-upgrade` example over a real socket: echoes through
//! weir-tokio's client, and the core's refusal for a bad upgrade.

#[allow(dead_code)] // its `main` is not run here
#[path = "../examples/axum-upgrade.rs"]
mod example;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weir_tokio::{connect_async, Message};

async fn start() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, example::app()).await });
    address
}

#[tokio::test]
async fn the_axum_example_echoes_on_ws() {
    let address = start().await;
    let (mut ws, response) = connect_async(&format!("ws://{address}/ws")).await.unwrap();
    assert_eq!(response.status(), 101);
    for text in ["one", "two"] {
        ws.send(Message::from(text)).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::from(text));
    }
    ws.close(weir_tokio::CloseCode::NORMAL, "").await.unwrap();
    assert!(ws.next().await.is_none());
}

#[tokio::test]
async fn a_request_without_a_key_gets_400() {
    let address = start().await;
    let mut tcp = TcpStream::connect(address).await.unwrap();
    let request = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Version: 13\r\n\r\n";
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0; 4096];
    let n = tcp.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
}
