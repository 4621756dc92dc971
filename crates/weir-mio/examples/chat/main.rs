//! A chat server: the page at `/` and its socket at `/chat`, on one port.
//!
//! `cargo run -p weir-mio --example chat -- [ADDR]` (default
//! 127.0.0.1:8080), then open `http://ADDR/` in two browser windows.
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
mod json;

use weir_mio::server::Server;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let server = Server::builder()
        .bind(addr)
        .route("/chat", handler::Chat::default())
        .http(handler::page)
        .build()?;
    println!("chat on http://{}/", server.local_addr());
    server.run()
}
