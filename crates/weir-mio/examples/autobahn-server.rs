//! Echo server for the Autobahn testsuite's fuzzingclient.
//!
//! `cargo run --release -p weir-mio --example autobahn-server -- [PORT]`
//! (default 9001): one event loop on 127.0.0.1:PORT that echoes every
//! message, text as text and binary as binary. Messages up to 64 MiB are
//! accepted (section 9 sends up to 16 MiB).

use weir_mio::weir_proto;
use weir_mio::{Config, EventLoop, Handler, Message, Ws};

/// Echoes every message back on its connection.
struct Echo;

impl Handler for Echo {
    fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
        // Refused only after close or with a full queue; nothing to do then.
        let _ = ws.send(message);
    }
}

fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        Some(arg) => arg.parse().map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "PORT must be a number")
        })?,
        None => 9001,
    };
    let connection = weir_proto::Config::default()
        .with_max_frame_size(64 << 20)
        .with_max_message_size(64 << 20)
        .with_max_send_queue(128 << 20);
    let mut event_loop = EventLoop::new(Config::default().with_connection(connection))?;
    let addr = event_loop.listen(("127.0.0.1", port))?;
    println!("listening on {addr}");
    event_loop.run(&mut Echo)
}
