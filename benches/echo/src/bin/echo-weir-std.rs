//! weir-std's echo server: blocking, one thread per connection, `read` then
//! `send` (which writes the message out at once).

use std::net::TcpStream;

fn main() -> std::io::Result<()> {
    weir_bench_echo::serve_thread_per_connection("weir-std", echo)
}

fn echo(stream: TcpStream) {
    let Ok(mut ws) = weir_std::accept(stream) else {
        return;
    };
    while let Ok(message) = ws.read() {
        if ws.send(message).is_err() {
            return;
        }
    }
}
