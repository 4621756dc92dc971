//! tungstenite's echo server, as in its README: blocking, one thread per
//! connection, `read` then `send` (write + flush) for data messages.

use std::net::TcpStream;

fn main() -> std::io::Result<()> {
    weir_bench_echo::serve_thread_per_connection("tungstenite", echo)
}

fn echo(stream: TcpStream) {
    let Ok(mut ws) = tungstenite::accept(stream) else {
        return;
    };
    // Pongs and the Close reply are queued by `read` and written by the
    // next `read`/`send`/`flush`, as tungstenite documents.
    while let Ok(message) = ws.read() {
        let is_data = message.is_binary() || message.is_text();
        if is_data && ws.send(message).is_err() {
            return;
        }
    }
}
