//! The `hyper-upgrade` example, driven over a real socket: its page, an
//! upgrade and echoes through weir-tokio's client, and a refusal.

#[allow(dead_code)] // its `main` is not run here
#[path = "../examples/hyper-upgrade.rs"]
mod example;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use weir_tokio::{connect_async, Message};

async fn start() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(example::serve(listener));
    address
}

/// One request on a fresh connection; the whole answer.
async fn get(address: std::net::SocketAddr, request: &str) -> String {
    let mut tcp = TcpStream::connect(address).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0; 4096];
    let n = tcp.read(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

#[tokio::test]
async fn the_example_serves_its_page_and_echoes_on_ws() {
    let address = start().await;
    let page = get(
        address,
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert!(page.contains("new WebSocket"), "{page}");

    let (mut ws, response) = connect_async(&format!("ws://{address}/ws")).await.unwrap();
    assert_eq!(response.status(), 101);
    for text in ["one", "two", &"long ".repeat(10_000)] {
        ws.send(Message::from(text)).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::from(text));
    }
    ws.close(weir_tokio::CloseCode::NORMAL, "").await.unwrap();
    assert!(ws.next().await.is_none());
}

#[tokio::test]
async fn a_bad_upgrade_gets_the_cores_answer_through_hyper() {
    let address = start().await;
    let request = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let answer = get(address, request).await;
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{answer}"
    );
}
