//! Echo server for the Autobahn testsuite's fuzzingclient.
//!
//! `cargo run --release -p weir-mio --example autobahn-server -- [PORT]
//! [--tls CERT.pem KEY.pem]` (default 9001): one event loop on
//! 127.0.0.1:PORT that echoes every message, text as text and binary as
//! binary, over TLS (`wss://`) with `--tls`. Messages up to 64 MiB are
//! accepted (section 9 sends up to 16 MiB).

#[path = "common/listen.rs"]
mod listen;

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
    const USAGE: &str = "autobahn-server [PORT] [--tls CERT.pem KEY.pem]";
    let mut args = std::env::args().skip(1).peekable();
    let port: u16 = match args.next_if(|arg| arg != "--tls") {
        Some(arg) => arg.parse().map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("usage: {USAGE}"))
        })?,
        None => 9001,
    };
    let tls = listen::tls_from_args(args, USAGE)?;
    let connection = weir_proto::Config::default()
        .with_max_frame_size(64 << 20)
        .with_max_message_size(64 << 20)
        .with_max_send_queue(128 << 20);
    let mut event_loop = EventLoop::new(Config::default().with_connection(connection))?;
    let (addr, scheme) = match tls {
        Some(tls) => (event_loop.listen_tls(("127.0.0.1", port), tls)?, "wss"),
        None => (event_loop.listen(("127.0.0.1", port))?, "ws"),
    };
    println!("listening on {scheme}://{addr}");
    event_loop.run(&mut Echo)
}
