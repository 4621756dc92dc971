//! Echo server for the Autobahn testsuite's fuzzingclient.
//!
//! `cargo run --release -p weir-tokio --example autobahn-server -- [PORT]`
//! (default 9001): listens on 127.0.0.1:PORT, one task per connection on
//! tokio's multi-threaded runtime, echoes every message (text as text,
//! binary as binary). permessage-deflate is accepted on the default terms
//! (no context takeover).

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use weir_tokio::Config;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        Some(arg) => arg.parse().expect("usage: autobahn-server [PORT]"),
        None => 9001,
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on ws://{}", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        tokio::spawn(echo(tcp));
    }
}

/// Echoes until the closing handshake or any error.
async fn echo(tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    // Section 9 sends messages up to 16 MiB, in frames of up to 16 MiB.
    let config = Config::default()
        .with_max_frame_size(64 << 20)
        .with_max_message_size(64 << 20)
        .with_max_send_queue(64 << 20);
    let Ok(mut ws) = weir_tokio::accept_with(tcp, config, |_| Ok(Default::default())).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if ws.send(message).await.is_err() {
            return;
        }
    }
}
