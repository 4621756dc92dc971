//! The smallest weir server: echoes every message, on every path.
//!
//! `cargo run -p weir-mio --example echo -- [ADDR] [--tls CERT.pem KEY.pem]`
//! (default 127.0.0.1:8080), then connect to `ws://ADDR/anything`, or
//! `wss://ADDR/anything` with `--tls`.

#[path = "common/listen.rs"]
mod listen;

use weir_mio::server::{Socket, WsHandler};
use weir_mio::Message;

/// Sends every message back on its connection.
struct Echo;

impl WsHandler for Echo {
    type State = ();

    fn on_message(&self, ws: &Socket, _state: &mut Self::State, message: Message) {
        // Refused only once the connection is closing: nothing to do then.
        let _ = ws.send(message);
    }
}

fn main() -> std::io::Result<()> {
    let (builder, tls) = listen::from_args()?;
    let server = builder.route("/*", Echo).build()?;
    let scheme = if tls { "wss" } else { "ws" };
    println!("echo server on {scheme}://{}/", server.local_addr());
    server.run()
}
