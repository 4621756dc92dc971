//! The broadcast workload's weir server (`bash benches/broadcast.sh`):
//! weir-mio's server API with one worker thread. Every connection joins
//! room `all` as it opens; every message received is broadcast to the
//! room (the sender included) with [`Room::broadcast`], which encodes it
//! once for all members.
//!
//! `broadcast-weir-mio PORT [--redis URL]`. The route is `/`; the default
//! limits and protections of `Server::builder()` apply. With `--redis`, the
//! server is a node of a cluster on that Redis (`benches/fanout.sh`), a
//! room broadcast reaches the members on every node, and `GET /stats`
//! answers the cluster's counters (`published=N received=N dropped=N`). The room handle is taken from
//! the first socket's server handle and kept, so a message costs one
//! `Room::broadcast` call and no lookup of the room by name.

use std::sync::OnceLock;

use weir_mio::server::{Cluster, HttpResponse, Room, Server, ServerHandle, Socket, WsHandler};
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
    let redis = match std::env::args().skip(2).collect::<Vec<_>>().as_slice() {
        [] => None,
        [flag, url] if flag == "--redis" => Some(url.clone()),
        _ => {
            eprintln!("usage: broadcast-weir-mio PORT [--redis URL]");
            std::process::exit(2)
        }
    };
    let mut builder = Server::builder();
    if let Some(url) = redis {
        builder = builder.cluster(Cluster::redis(&url));
    }
    let handle: std::sync::Arc<OnceLock<ServerHandle>> = Default::default();
    let stats_handle = std::sync::Arc::clone(&handle);
    builder = builder.http(move |_request| {
        let stats = stats_handle.get().and_then(ServerHandle::cluster_stats);
        let text = stats.map_or_else(String::new, |stats| {
            let (published, received, dropped) = (stats.published, stats.received, stats.dropped);
            format!("published={published} received={received} dropped={dropped}\n")
        });
        HttpResponse::text(200, text)
    });
    let server = builder
        .bind(("127.0.0.1", port))
        .route(
            "/",
            Broadcast {
                room: OnceLock::new(),
            },
        )
        .workers(1)
        .build()?;
    let _ = handle.set(server.handle());
    weir_bench_echo::announce("broadcast-weir-mio", port);
    server.run()
}
