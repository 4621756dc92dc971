//! tungstenite's echo server, as in its README: blocking, one thread per
//! connection, `read` then `send` (write + flush) for data messages.

use std::net::{TcpListener, TcpStream};
use std::thread;

fn main() -> std::io::Result<()> {
    let port = weir_bench_echo::port_arg();
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    weir_bench_echo::announce("tungstenite", port);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        thread::spawn(move || echo(stream));
    }
    Ok(())
}

fn echo(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = tungstenite::accept(stream) else {
        return;
    };
    // Pongs and the Close reply are queued by `read` and written by the
    // next `read`/`send`/`flush`, as tungstenite documents.
    while let Ok(message) = ws.read() {
        if message.is_binary() || message.is_text() {
            if ws.send(message).is_err() {
                return;
            }
        }
    }
}
