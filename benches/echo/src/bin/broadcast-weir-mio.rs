//! The broadcast workload's weir server (`bash benches/broadcast.sh`):
//! weir-mio's server API with one worker thread. Every connection joins
//! room `all` as it opens; every message received is broadcast to the
//! room (the sender included) with [`Room::broadcast`], which encodes it
//! once for all members.
//!
//! `broadcast-weir-mio PORT`. The route is `/`; the default limits and
//! protections of `Server::builder()` apply. The room handle is taken from
//! the first socket's server handle and kept, so a message costs one
//! `Room::broadcast` call and no lookup of the room by name.

use std::sync::OnceLock;

use weir_mio::server::{Room, Server, Socket, WsHandler};
use weir_mio::{AcceptOptions, Message, Rejection, UpgradeRequest};

/// The room every connection joins.
const ROOM: &str = "all";

struct Broadcast {
    /// The room, once the first connection has opened.
    room: OnceLock<Room>,
}

impl WsHandler for Broadcast {
    type State = ();

    fn on_upgrade(
        &self,
        ws: &Socket,
        _request: &UpgradeRequest,
    ) -> Result<AcceptOptions, Rejection> {
        ws.join(ROOM);
        Ok(AcceptOptions::default())
    }

    fn on_message(&self, ws: &Socket, _state: &mut Self::State, message: Message) {
        let room = self.room.get_or_init(|| ws.server().room(ROOM));
        // Refused only when the worker's command queue is full; the
        // generator then reports the missing messages.
        let _ = room.broadcast(message);
    }
}

fn main() -> std::io::Result<()> {
    let port = weir_bench_echo::port_arg();
    let server = Server::builder()
        .bind(("127.0.0.1", port))
        .route(
            "/",
            Broadcast {
                room: OnceLock::new(),
            },
        )
        .workers(1)
        .build()?;
    weir_bench_echo::announce("broadcast-weir-mio", port);
    server.run()
}
