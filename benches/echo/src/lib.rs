//! The echo load test: a load generator (`loadgen`) on weir-proto + mio, and
//! one echo server per implementation measured (`echo-*`). Every server takes
//! a PORT argument, listens on 127.0.0.1:PORT, echoes text as text and
//! binary as binary, and sets TCP_NODELAY on its sockets (as the load
//! generator does), so Nagle's algorithm does not skew anyone's latency.
//!
//! The servers that compress (weir-mio, yawc) also take a second argument,
//! `takeover`: permessage-deflate with context takeover both ways instead of
//! their no-context-takeover default for many connections.
//!
//! With the arguments `PORT tls CERT.pem KEY.pem`, weir-mio,
//! tokio-tungstenite and fastwebsockets serve `wss://` instead (see [`tls`]).
//!
//! `bash benches/echo.sh` builds and runs the whole comparison.

pub mod tls;

/// The port from the first argument (default 9001).
pub fn port_arg() -> u16 {
    match std::env::args().nth(1) {
        Some(arg) => arg.parse().unwrap_or_else(|_| {
            eprintln!(
                "usage: {} PORT",
                std::env::args().next().unwrap_or_default()
            );
            std::process::exit(2)
        }),
        None => 9001,
    }
}

/// Whether the second argument is `takeover` (permessage-deflate with
/// context takeover instead of the server's low-memory default).
pub fn takeover_arg() -> bool {
    std::env::args().nth(2).as_deref() == Some("takeover")
}

/// Tells the driver script that the server is listening.
pub fn announce(name: &str, port: u16) {
    println!("{name} listening on 127.0.0.1:{port}");
}

/// Runs a blocking server: takes the port from the arguments, listens on
/// 127.0.0.1, announces itself as `name`, and hands each accepted socket,
/// with TCP_NODELAY set, to `serve` on a thread of its own.
pub fn serve_thread_per_connection(
    name: &str,
    serve: fn(std::net::TcpStream),
) -> std::io::Result<()> {
    let port = port_arg();
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    announce(name, port);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        std::thread::spawn(move || serve(stream));
    }
    Ok(())
}
