//! weir-std's echo server: blocking, one thread per connection, `read` then
//! `send` (which writes the message out at once).

use std::net::{TcpListener, TcpStream};
use std::thread;

fn main() -> std::io::Result<()> {
    let port = weir_bench_echo::port_arg();
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    weir_bench_echo::announce("weir-std", port);
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
        if ws.send(message).is_err() {
            return;
        }
    }
}
