//! A variant of echo-weir-std, not one of the compared servers: `write`
//! (queue) instead of `send` (queue and write out). weir-std's `read` writes
//! whatever is queued before it blocks for more input, so the echoes of
//! one read leave in one write instead of one write each.

use std::net::TcpStream;

fn main() -> std::io::Result<()> {
    weir_bench_echo::serve_thread_per_connection("weir-std-batched", echo)
}

fn echo(stream: TcpStream) {
    let Ok(mut ws) = weir_std::accept(stream) else {
        return;
    };
    while let Ok(message) = ws.read() {
        if ws.write(message).is_err() {
            return;
        }
    }
}
