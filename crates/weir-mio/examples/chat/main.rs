//! A chat server: the page at `/` and its socket at `/chat`, on one port.
//!
//! `cargo run -p weir-mio --example chat -- [ADDR] [--tls CERT.pem KEY.pem]
//! [--redis URL]` (default 127.0.0.1:8080), then open `http://ADDR/`
//! (`https://ADDR/` with `--tls`) in two browser windows. With `--redis
//! redis://HOST:PORT` (and the `redis` feature) the server joins a cluster
//! on that Redis: chat servers on other ports (or machines) with the same
//! `--redis` share their rooms.
//!
//! The protocol (text messages, each a flat JSON object):
//! - client to server: `{"type":"join","room":R,"name":N}`,
//!   `{"type":"message","room":R,"text":T}`, `{"type":"leave","room":R}`;
//! - server to every member of the room, the sender included:
//!   `{"type":"joined","room":R,"name":N,"id":I,"count":C}` after a join,
//!   `{"type":"left",...same fields}` after a leave or a disconnect,
//!   `{"type":"message","room":R,"name":N,"id":I,"text":T}`;
//! - server to the sender only, for a bad request: `{"type":"error","text":E}`.
//!
//! A connection may be in several rooms, under a name per room. Binary
//! messages close the connection with 1003.

mod handler;
#[path = "../common/listen.rs"]
mod listen;
mod protocol;

fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let redis = match args.iter().position(|arg| arg == "--redis") {
        Some(at) if at + 1 < args.len() => Some(args.drain(at..at + 2).nth(1)),
        Some(_) => return Err(usage("--redis needs a URL")),
        None => None,
    };
    let (builder, tls) = listen::from_arg_list(args)?;
    let builder = match redis.flatten() {
        #[cfg(feature = "redis")]
        Some(url) => builder.cluster(weir_mio::server::Cluster::redis(&url)),
        #[cfg(not(feature = "redis"))]
        Some(_) => {
            return Err(usage(
                "--redis needs the example built with --features redis",
            ))
        }
        None => builder,
    };
    let server = builder
        .route("/chat", handler::Chat)
        .http(handler::page)
        .build()?;
    let scheme = if tls { "https" } else { "http" };
    println!("chat on {scheme}://{}/", server.local_addr());
    server.run()
}

/// A command-line error.
fn usage(problem: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, problem)
}
