//! A chat server: the page at `/` and its socket at `/chat`, on one port.
//!
//! `cargo run -p weir-mio --example chat -- [ADDR] [--tls CERT.pem KEY.pem]`
//! (default 127.0.0.1:8080), then open `http://ADDR/` (`https://ADDR/` with
//! `--tls`) in two browser windows.
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
    let (builder, tls) = listen::from_args()?;
    let server = builder
        .route("/chat", handler::Chat)
        .http(handler::page)
        .build()?;
    let scheme = if tls { "https" } else { "http" };
    println!("chat on {scheme}://{}/", server.local_addr());
    server.run()
}
