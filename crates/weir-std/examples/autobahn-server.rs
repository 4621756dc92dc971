//! Echo server for the Autobahn testsuite's fuzzingclient.
//!
//! `cargo run --release -p weir-std --example autobahn-server -- [PORT]`
//! (default 9001): listens on 127.0.0.1:PORT, one thread per connection,
//! echoes every message (text as text, binary as binary). permessage-deflate
//! is accepted with context takeover both ways.

use std::net::{TcpListener, TcpStream};
use std::thread;

use weir_std::{AcceptOptions, Config, DeflateConfig};

fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        Some(arg) => arg.parse().expect("usage: autobahn-server [PORT]"),
        None => 9001,
    };
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    println!("listening on ws://{}", listener.local_addr()?);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        thread::spawn(move || echo(stream));
    }
    Ok(())
}

/// Echoes until the closing handshake or any error.
fn echo(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    // Section 9 sends messages up to 16 MiB, in frames of up to 16 MiB.
    let config = Config::default()
        .with_max_frame_size(64 << 20)
        .with_max_message_size(64 << 20)
        .with_max_send_queue(64 << 20);
    // Context takeover both ways (the weir-mio testee runs the servers'
    // default, no context takeover), so Autobahn covers both.
    let options = AcceptOptions::default().with_deflate(Some(DeflateConfig::default()));
    let Ok(mut ws) = weir_std::accept_with(stream, config, |_| Ok(options)) else {
        return;
    };
    while let Ok(message) = ws.read() {
        if ws.send(message).is_err() {
            return;
        }
    }
}
