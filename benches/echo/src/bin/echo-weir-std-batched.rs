//! A variant of echo-weir-std, not one of the compared servers: `write`
//! (queue) instead of `send` (queue and write out). weir-std's `read` writes
//! whatever is queued before it blocks for more input, so the echoes of
//! one read leave in one write instead of one write each.

use std::net::{TcpListener, TcpStream};
use std::thread;

fn main() -> std::io::Result<()> {
    let port = weir_bench_echo::port_arg();
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    weir_bench_echo::announce("weir-std-batched", port);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        thread::spawn(move || echo(stream));
    }
    Ok(())
}

fn echo(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = weir_std::accept(stream) else {
        return;
    };
    while let Ok(message) = ws.read() {
        if ws.write(message).is_err() {
            return;
        }
    }
}
