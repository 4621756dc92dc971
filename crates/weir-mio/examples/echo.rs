//! The smallest weir server: echoes every message, on every path.
//!
//! `cargo run -p weir-mio --example echo -- [ADDR]` (default
//! 127.0.0.1:8080), then connect to `ws://ADDR/anything`.

use weir_mio::server::{Server, Socket, WsHandler};
use weir_mio::Message;

/// Sends every message back on its connection.
struct Echo;

impl WsHandler for Echo {
    fn on_message(&self, ws: &Socket, message: Message) {
        // Refused only once the connection is closing: nothing to do then.
        let _ = ws.send(message);
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let server = Server::builder().bind(addr).route("/*", Echo).build()?;
    println!("echo server on ws://{}/", server.local_addr());
    server.run()
}
